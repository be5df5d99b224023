//! The desktop app starts and opens its main window with the web UI (WebKitGTK)
//! on a real X display (Xvfb in CI).

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{App, display_available, tauri_driver_available, wait_until_ui_is_up, weston_available, x_windows};

#[test]
fn the_app_opens_its_main_window() {
    if !display_available() {
        eprintln!("skipped: no X display (run under Xvfb, see scripts/test.sh)");
        return;
    }
    let (app, _data) = started_until_ui_is_up(Command::new(env!("CARGO_BIN_EXE_duet")), "on X");
    let started = Instant::now();
    let mut found = x_windows("^Duet$");
    while started.elapsed() < Duration::from_secs(10) && found.is_empty() {
        std::thread::sleep(Duration::from_millis(200));
        found = x_windows("^Duet$");
    }
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", app.0.id())).unwrap_or_default();
    drop(app);
    assert!(!found.is_empty(), "no visible window named Duet 10 s after the UI was up");
    if !duet_app::graphics::gpu_render_node() {
        // Without a GPU the app's own process loads no GL driver: GTK draws with cairo
        // (no GLX), and WebKit does not open EGL (Mesa's `*_dri.so`, LLVM) to ask it.
        let gl = maps.lines().find(|line| ["/libGLX_", "_dri.so", "/libLLVM"].iter().any(|lib| line.contains(lib)));
        assert!(gl.is_none(), "the app loaded a GL driver without a GPU: {gl:?}");
    }
}

#[tokio::test]
async fn the_web_ui_renders_in_the_webview() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    let app = App::start(&[]).await;
    assert_eq!(app.text("#app h1").await, "Duet");
    assert_eq!(app.title().await, "Duet");
    app.quit().await;
}

/// The app asks its own binary which GL renderer the webview's GL would draw with
/// (`graphics::has_gpu`): it names one, and without a GPU render node it is software.
#[test]
fn the_app_names_the_gl_renderer_it_would_draw_with() {
    let probe = Command::new(env!("CARGO_BIN_EXE_duet"))
        .env(duet_app::graphics::PROBE_ENV, "1")
        .stdin(Stdio::null())
        .output()
        .expect("start the app's binary");
    let stderr = String::from_utf8_lossy(&probe.stderr);
    assert!(probe.status.success(), "no renderer: {stderr}");
    let stdout = String::from_utf8_lossy(&probe.stdout);
    let renderer = stdout.trim();
    assert!(!renderer.is_empty() && renderer.lines().count() == 1, "printed {stdout:?}");
    if !duet_app::graphics::gpu_render_node() {
        assert!(duet_app::graphics::is_software_renderer(renderer), "{renderer} without a GPU render node");
    }
}

/// Kills a child process when dropped, so a failing assertion leaves nothing running.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `app` with a profile of its own (another Duet running, from another test,
/// is not the one asked to show itself) and waits until its UI is up; fails after
/// 30 s with what it logged. The process is killed when the returned guard drops.
fn started_until_ui_is_up(mut app: Command, on: &str) -> (Running, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("tempdir");
    let child = app.env("XDG_DATA_HOME", data.path()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let mut app = Running(child.expect("the app starts"));
    if let Err(said) = wait_until_ui_is_up(&mut app.0, Duration::from_secs(30)) {
        panic!("the UI did not come up {on} within 30 s; the app said:\n{}", said.join("\n"));
    }
    (app, data)
}

/// On a Wayland desktop without a GPU (weston drawing with pixman) the window comes up
/// and the page's script runs. With GTK's GL on llvmpipe there, WebKit's web process
/// died and the UI never came up; without a GPU the app starts GTK without GL.
#[test]
fn the_app_comes_up_on_a_wayland_desktop_without_a_gpu() {
    if !weston_available() {
        eprintln!("skipped: weston is not installed (scripts/setup.sh installs it)");
        return;
    }
    if duet_app::graphics::gpu_render_node() {
        eprintln!("skipped: this machine has a GPU render node, and GTK keeps its GL");
        return;
    }
    let runtime = tempfile::tempdir().expect("tempdir");
    let socket = "wayland-duet-test";
    let _weston = Running(
        Command::new("weston")
            .args(["--backend=headless-backend.so", "--use-pixman", "--width=1280", "--height=800"])
            .arg(format!("--socket={socket}"))
            .env("XDG_RUNTIME_DIR", runtime.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weston starts"),
    );
    let started = Instant::now();
    while !runtime.path().join(socket).exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "weston opened no socket within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut app = Command::new(env!("CARGO_BIN_EXE_duet"));
    app.env_remove("DISPLAY")
        .env("WAYLAND_DISPLAY", socket)
        .env("GDK_BACKEND", "wayland")
        .env("XDG_RUNTIME_DIR", runtime.path());
    started_until_ui_is_up(app, "on Wayland");
}
