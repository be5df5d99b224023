//! End to end with the real app under Xvfb: the "Check devices" page on the
//! synthetic camera and PulseAudio's virtual microphone and speaker
//! (`scripts/pulse.sh`), signed out from the login screen, then signed in to
//! the built-in server from the settings for the network test; each time a
//! saved report.

mod support;

use std::time::Duration;

use duet_media::audio::{Mixer, Speaker};
use serde_json::{Value, json};
use support::{App, display_available, tauri_driver_available};

/// The preview canvas shrunk to 32x18: the brightness of each sample.
const SAMPLE: &str = "
    const small = document.createElement('canvas');
    small.width = 32; small.height = 18;
    const ctx = small.getContext('2d');
    ctx.drawImage(document.querySelector('#camera-preview'), 0, 0, 32, 18);
    const data = ctx.getImageData(0, 0, 32, 18).data;
    const luma = [];
    for (let i = 0; i < data.length; i += 4) luma.push((data[i] + data[i + 1] + data[i + 2]) / 3);
    return luma;";

const SELECT: &str = "
    const select = document.querySelector(arguments[0]);
    select.value = arguments[1];
    select.dispatchEvent(new Event('change'));
    return select.value;";

const WAIT: Duration = Duration::from_secs(20);

async fn preview(app: &App) -> Vec<f64> {
    let value = app.execute(SAMPLE, json!([])).await;
    value.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

async fn choose(app: &App, css: &str, device: &str) {
    let chosen = app.execute(SELECT, json!([css, device])).await;
    assert_eq!(chosen, json!(device), "{css} offers {device}");
}

async fn attribute(app: &App, css: &str, script: &str) -> Value {
    app.execute(&format!("return document.querySelector('{css}').{script}"), json!([])).await
}

/// Plays a 440 Hz tone into the virtual microphone until dropped.
fn tone_into_vmic() -> Speaker {
    let step = std::f32::consts::TAU * 440.0 / 48_000.0;
    let tone: Vec<f32> = (0..48_000 * 6).map(|i| (i as f32 * step).sin() * 0.5).collect();
    let mixer = Mixer::new();
    mixer.play_clip(tone.into());
    Speaker::open(Some("vmic_feed"), mixer, Box::new(|e| panic!("vmic_feed: {e}"))).expect("vmic_feed opens")
}

/// The saved report's JSON, from the path the page shows.
async fn saved_report(app: &App) -> Value {
    app.click("#checks-save").await;
    app.wait_for("#report-saved[data-path]", WAIT).await;
    let html = attribute(app, "#report-saved", "dataset.path").await;
    let html = std::path::PathBuf::from(html.as_str().expect("a path"));
    let page = std::fs::read_to_string(&html).expect("the HTML report exists");
    assert!(page.contains("<html") && page.contains("Camera"), "a readable page");
    let json = std::fs::read_to_string(html.with_extension("json")).expect("the JSON report is next to it");
    serde_json::from_str(&json).expect("the JSON report parses")
}

fn statuses(report: &Value) -> Vec<&str> {
    report["checks"].as_array().expect("checks").iter().map(|c| c["status"].as_str().unwrap_or("?")).collect()
}

#[tokio::test]
async fn every_device_and_the_network_are_checked_and_reported() {
    if !display_available() || !tauri_driver_available() || !duet_testkit::pulse_virtual_devices() {
        eprintln!("skipped: needs an X display, tauri-driver and PulseAudio's virtual devices");
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let app =
        App::start(&[("XDG_DATA_HOME", data.path().to_str().expect("utf-8")), ("DUET_SOURCES", "synthetic")]).await;

    // Signed out, from the login screen. Camera: the moving pattern on the preview, with its size and rate.
    app.click("#login-check-devices").await;
    app.wait_until(
        "the camera agreed",
        "return document.querySelector('#camera-info').textContent.includes('960×540')",
        WAIT,
    )
    .await;
    app.wait_until("the preview draws", "return window.__duetVideo.local.frames >= 10", WAIT).await;
    let first = preview(&app).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = preview(&app).await;
    let changed = first.iter().zip(&later).filter(|(a, b)| (*a - *b).abs() > 8.0).count();
    assert!(changed > 20, "the preview moves: {changed} of {} samples changed", first.len());
    app.click("#camera-yes").await;

    // Microphone: the meter follows a tone played into it, then falls back when it stops.
    app.wait_for("#check-microphone", WAIT).await;
    choose(&app, "#check-microphone", "vmic").await;
    app.wait_until(
        "listening to vmic",
        "return document.querySelector('#mic-status').textContent.includes('Listening')",
        WAIT,
    )
    .await;
    let tone = tone_into_vmic();
    app.wait_until("the meter rises", "return Number(document.querySelector('#mic-level').dataset.level) >= 50", WAIT)
        .await;
    drop(tone);
    app.wait_until("the meter falls", "return Number(document.querySelector('#mic-level').dataset.level) <= 5", WAIT)
        .await;
    // 3 s recorded, then played back to the end.
    choose(&app, "#check-playback-speaker", "vspeaker").await;
    app.click("#mic-record").await;
    app.wait_until(
        "played back",
        "return document.querySelector('#mic-status').textContent.startsWith('Played back')",
        WAIT,
    )
    .await;
    app.click("#microphone-yes").await;

    // Speaker: a speaker plugged in while the page is open joins the menu, and leaves it when unplugged.
    app.wait_for("#check-speaker", WAIT).await;
    let offered =
        "return [...document.querySelectorAll('#check-speaker option')].some(o => o.value === 'duet_plugged')";
    let plugged = duet_testkit::pactl(&["load-module", "module-null-sink", "sink_name=duet_plugged", "rate=48000"]);
    app.wait_until("the plugged speaker is offered", offered, WAIT).await;
    duet_testkit::pactl(&["unload-module", &plugged]);
    app.wait_until("the unplugged speaker is gone", &format!("return !(() => {{ {offered} }})()"), WAIT).await;
    // The test tune plays to the end on the chosen speaker.
    choose(&app, "#check-speaker", "vspeaker").await;
    app.wait_for("#speaker-status[data-finished='true']", WAIT).await;
    let tune = app.text("#speaker-status").await;
    assert_eq!(tune, "The tune has finished.");
    app.click("#speaker-yes").await;

    // Signed out there is no server to measure.
    app.wait_for("#network-run[disabled]", WAIT).await;
    app.click("#network-skip").await;
    app.wait_for("#report-outcomes", WAIT).await;
    let report = saved_report(&app).await;
    assert_eq!(statuses(&report), ["ok", "ok", "ok", "skipped"], "{report:#}");
    assert_eq!(report["checks"][0]["details"]["camera"], "synthetic pattern");
    assert!(report["checks"][1]["details"]["loudest_level"].as_u64() >= Some(50), "{report:#}");
    assert!(report["devices"]["speakers"].to_string().contains("vspeaker"), "the report lists the devices");

    // Signed in to the built-in server, from the settings: the network test.
    app.click("#checks-back").await;
    app.click("#use-local").await;
    app.click("#open-settings").await;
    app.click("#settings-check-devices").await;
    for step in ["camera", "microphone", "speaker"] {
        app.click(&format!("#{step}-skip")).await;
    }
    app.click("#network-run").await;
    app.wait_for("#network-figures dd", Duration::from_secs(40)).await;
    let figures = app.text("#network-figures").await;
    assert!(figures.contains("Delay (round trip)") && figures.contains("kbps"), "{figures}");
    app.click("#network-next").await;
    app.wait_for("#report-outcomes", WAIT).await;
    let report = saved_report(&app).await;
    assert_eq!(statuses(&report), ["skipped", "skipped", "skipped", "ok"], "{report:#}");
    assert_eq!(report["network"]["success"], true);
    assert_eq!(report["network"]["up_lost_rate"], 0.0, "loopback loses nothing: {report:#}");
    app.quit().await;
}
