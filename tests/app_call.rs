//! End to end with the real app under Xvfb: sign in to the built-in server,
//! place a test call to its echo user, see the echo's video drawn in the
//! webview, swap the views, mute, see a chat message delivered, hang up.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{App, display_available, tauri_driver_available};

/// The remote canvas shrunk to 32x18: its brightness and how much it varies.
const SAMPLE: &str = "
    const source = document.querySelector(arguments[0]);
    const small = document.createElement('canvas');
    small.width = 32; small.height = 18;
    const ctx = small.getContext('2d');
    ctx.drawImage(source, 0, 0, 32, 18);
    const data = ctx.getImageData(0, 0, 32, 18).data;
    const luma = [];
    for (let i = 0; i < data.length; i += 4) luma.push((data[i] + data[i + 1] + data[i + 2]) / 3);
    return luma;";

fn spread(luma: &[f64]) -> f64 {
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    (luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64).sqrt()
}

async fn sample(app: &App, css: &str) -> Vec<f64> {
    let value = app.execute(SAMPLE, json!([css])).await;
    value.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

/// A video canvas's drawn width and its shown width in device pixels.
async fn drawn_and_shown(app: &App, css: &str) -> (f64, f64) {
    let script = "const c = document.querySelector(arguments[0]);
        return [c.width, Math.round(c.clientWidth * (window.devicePixelRatio || 1))];";
    let value = app.execute(script, json!([css])).await;
    let number = |i: usize| value[i].as_f64().unwrap_or(f64::NAN);
    (number(0), number(1))
}

#[tokio::test]
async fn a_test_call_to_the_echo_user_shows_its_video_and_hangs_up() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    // A fresh data directory: the built-in server starts empty, with its echo user.
    let data = tempfile::tempdir().expect("tempdir");
    let data_home = data.path().to_str().expect("utf-8 path");
    let app = App::start(&[("XDG_DATA_HOME", data_home), ("DUET_SOURCES", "synthetic")]).await;
    app.click("#use-local").await;
    app.click("li[data-user='echo'] button.call.video").await;
    app.wait_for("#call[data-phase='connected']", Duration::from_secs(30)).await;

    // The echo sends our moving pattern back, and the webview draws it.
    app.wait_until("remote frames drawn", "return window.__duetVideo.remote.frames >= 15", Duration::from_secs(30))
        .await;
    let first = sample(&app, "#video-remote").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = sample(&app, "#video-remote").await;
    assert_eq!(first.len(), 32 * 18, "the canvas could be read: {first:?}");
    assert!(spread(&later) > 10.0, "the remote view shows a picture, not a flat colour: spread {}", spread(&later));
    let changed = first.iter().zip(&later).filter(|(a, b)| (*a - *b).abs() > 8.0).count();
    assert!(changed > 20, "the picture moves: {changed} of {} samples changed", first.len());
    assert!(spread(&sample(&app, "#video-local").await) > 10.0, "the local preview shows our pattern");

    // Each view is drawn at the size it is shown, not the frame's 960x540; without
    // a GPU with at most 640x360 pixels (`SOFTWARE_PIXEL_BUDGET` in ui/src/video.ts).
    let gpu = app.execute("return window.__TAURI_INTERNALS__.invoke('app_info').then((i) => i.gpu)", json!([])).await;
    let widest = if gpu.as_bool().unwrap_or_else(|| panic!("app_info.gpu: {gpu}")) { f64::INFINITY } else { 640.0 };
    let (big, small) = (drawn_and_shown(&app, "#video-remote").await, drawn_and_shown(&app, "#video-local").await);
    assert!(
        big.0 < 960.0 && (big.0 - big.1.min(widest)).abs() <= 1.0,
        "the big view: drawn {} px wide, shown {} (gpu: {gpu})",
        big.0,
        big.1
    );
    assert!((small.0 - small.1).abs() <= 1.0 && small.0 < big.0 / 2.0, "the small view: {small:?}, big {big:?}");

    // Swap: the local view becomes the big one, and is drawn bigger.
    app.click("#video-local").await;
    app.wait_for("#video-local.big", Duration::from_secs(5)).await;
    let local_frames = "return window.__duetVideo.local.frames";
    let before = app.execute(local_frames, json!([])).await.as_f64().unwrap_or(0.0);
    app.wait_until(
        "the local view drawn again",
        &format!("return window.__duetVideo.local.frames > {before} + 3"),
        Duration::from_secs(10),
    )
    .await;
    let swapped = drawn_and_shown(&app, "#video-local").await;
    assert!(
        (swapped.0 - big.0).abs() <= 1.0,
        "the local view, now big, is drawn {swapped:?}, as the big one was {big:?}"
    );
    app.click("#toggle-microphone").await;
    app.wait_until(
        "the microphone shows as off",
        "return document.querySelector('#toggle-microphone').textContent === 'Mic off'",
        Duration::from_secs(5),
    )
    .await;

    // A chat message shows as delivered once the echo's side acknowledges it.
    app.fill("#chat-input", "hello echo").await;
    app.click("#chat-form button").await;
    app.wait_for("#chat-log li.me.delivered", Duration::from_secs(10)).await;

    app.click("#hang-up").await;
    app.wait_for("#call-result", Duration::from_secs(10)).await;
    let result = app.text("#call-result").await;
    assert!(result.starts_with("Call ended ("), "{result}");
    // Back at the contacts after the result.
    app.wait_for("li.contact[data-user='echo']", Duration::from_secs(10)).await;
    app.quit().await;
}
