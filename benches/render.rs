//! Render-path benchmark ("Video on screen" in BENCHMARKS.md): the real app in
//! WebKitGTK draws two 1280x720 streams at 30 fps (local and remote video, fed
//! by `DUET_RENDER_BENCH=1`) through the path calls use (binary WebSocket →
//! WebGL) on the in-call stage's layout. In the default window: at the size
//! they are shown, then the remote at its full 1280x720, then both at full size
//! (the worst case). In a 1920x1080 window (maximised on a 1080p screen): as the
//! app draws without a GPU, then with the remote at 1280x720. All of these with
//! the page composited on the CPU; last, at the size shown composited on the GPU.
//! Prints the frames each feed drew per second and the added latency (the app
//! hands the frame over → the webview has drawn it), p50 and p95.
//!
//! Needs an X display of at least 1920x1080 and tauri-driver:
//! `xvfb-run -a -s "-screen 0 1920x1080x24" cargo bench --bench render`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{App, display_available, tauri_driver_available};

const WARM_UP: Duration = Duration::from_secs(3);
const MEASURE: Duration = Duration::from_secs(10);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("render bench skipped: needs an X display and tauri-driver (run under xvfb-run)");
        return;
    }
    let app = App::start(&[("DUET_RENDER_BENCH", "1")]).await;
    app.wait_until("frames drawn", "return window.__duetVideo.remote.frames > 0", Duration::from_secs(20)).await;
    tokio::time::sleep(WARM_UP).await;
    println!("two 1280x720 streams offered at 30 fps, {} s each", MEASURE.as_secs());
    let size = "const c = document.querySelector(arguments[0]); return `${c.width}x${c.height}`;";
    let (remote, local) =
        (app.execute(size, json!(["#bench-remote"])).await, app.execute(size, json!(["#bench-local"])).await);
    println!("the in-call stage of the default 960x640 window draws the remote feed at {remote}, the local at {local}");
    let gl = "const gl = document.createElement('canvas').getContext('webgl'); \
              const info = gl && gl.getExtension('WEBGL_debug_renderer_info'); \
              return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : 'unknown';";
    println!("WebGL renderer: {}", app.execute(gl, json!([])).await);
    measure(&app, "transport only (WebSocket, no drawing)", false).await;
    measure(&app, "transport + WebGL drawing at the size shown, page composited on the CPU (the default)", true).await;
    app.execute("window.__benchFullSize = 'remote'; return true;", json!([])).await;
    measure(&app, "transport + WebGL drawing, the remote at 1280x720 (its box in the default window), CPU", true).await;
    app.execute("window.__benchFullSize = true; return true;", json!([])).await;
    measure(&app, "transport + WebGL drawing at 1280x720 each (a window showing both at full size), CPU", true).await;
    app.execute("window.__benchFullSize = false; return true;", json!([])).await;
    // A maximised window on a 1080p screen: the page is laid out, drawn and
    // composited at that size. First as the app draws without a GPU, then with
    // the remote feed drawn at its full 1280x720.
    let (width, height) = app.resize_window(1920, 1080).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let remote = app.execute(size, json!(["#bench-remote"])).await;
    measure(
        &app,
        &format!(
            "transport + WebGL drawing in a {width}x{height} window, the remote at {remote} (the app's choice), CPU"
        ),
        true,
    )
    .await;
    app.execute("window.__benchMaxPixels = Infinity; return true;", json!([])).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let remote = app.execute(size, json!(["#bench-remote"])).await;
    measure(
        &app,
        &format!("transport + WebGL drawing in a {width}x{height} window, the remote at {remote}, CPU"),
        true,
    )
    .await;
    app.resize_window(960, 640).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Last: switching compositing over leaves WebKit slower for the rest of the run.
    let on_gpu = "window.__TAURI_INTERNALS__.invoke('set_gpu_compositing', { on: true }); return true;";
    app.execute(on_gpu, json!([])).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    measure(
        &app,
        "transport + WebGL drawing at the size shown, page composited on the GPU (calls with a real GPU)",
        true,
    )
    .await;
    app.quit().await;
}

/// Runs for `MEASURE` (drawing or not) and prints each feed's figures.
async fn measure(app: &App, label: &str, draw: bool) {
    app.execute("window.__benchDraw = arguments[0]; return true;", json!([draw])).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reset = "for (const f of Object.values(window.__duetVideo)) { f.frames = 0; f.latenciesMs = []; } return true;";
    app.execute(reset, json!([])).await;
    let started = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let stats = app.execute("return window.__duetVideo", json!([])).await;
    let seconds = started.elapsed().as_secs_f64();
    println!("{label}:");
    for feed in ["remote", "local"] {
        let frames = stats[feed]["frames"].as_f64().unwrap_or(0.0);
        let mut latencies: Vec<f64> = stats[feed]["latenciesMs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        latencies.sort_by(f64::total_cmp);
        println!(
            "  {feed:>6}: {:.1} fps, added latency p50 {:.1} ms, p95 {:.1} ms",
            frames / seconds,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
        );
    }
}
