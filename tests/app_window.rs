//! The desktop app starts and opens its main window with the web UI (WebKitGTK)
//! on a real X display (Xvfb in CI).

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a test that needs an X display must run: always under CI, otherwise when one exists.
fn display_available() -> bool {
    let has_display = std::env::var_os("DISPLAY").is_some();
    if !has_display && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but no DISPLAY: .ci/run must start Xvfb");
    }
    has_display
}

fn window_ids(name: &str) -> Vec<String> {
    Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect())
        .unwrap_or_default()
}

#[test]
fn the_app_opens_its_main_window() {
    if !display_available() {
        eprintln!("skipped: no X display (run under Xvfb, see scripts/test.sh)");
        return;
    }
    let mut app = Command::new(env!("CARGO_BIN_EXE_duet"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the app starts");
    let started = Instant::now();
    let mut found = Vec::new();
    while started.elapsed() < Duration::from_secs(30) && found.is_empty() {
        if let Ok(Some(status)) = app.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(app.stderr.as_mut().expect("stderr"), &mut err).ok();
            panic!("the app exited early with {status}: {err}");
        }
        std::thread::sleep(Duration::from_millis(200));
        found = window_ids("^Duet$");
    }
    let _ = app.kill();
    let _ = app.wait();
    assert!(!found.is_empty(), "no visible window named Duet within 30 s");
}

/// A free local TCP port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Whether tauri-driver is installed; required under CI.
fn tauri_driver_available() -> bool {
    let found = Command::new("tauri-driver").arg("--help").output().is_ok();
    if !found && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but tauri-driver is missing: scripts/setup.sh installs it");
    }
    found
}

/// tauri-driver in a process group of its own: it starts WebKitWebDriver, which
/// would outlive a kill of tauri-driver alone, so the whole group is killed.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_web_ui_renders_in_the_webview() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    let port = free_port();
    let _driver = Driver(
        Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &free_port().to_string()])
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let request = http.request(method, format!("{base}{path}"));
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(body.to_string()),
            None => request,
        };
        async move {
            let response = request.send().await?;
            let text = response.text().await?;
            Ok::<serde_json::Value, reqwest::Error>(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
        }
    };
    let started = Instant::now();
    while call(reqwest::Method::GET, "/status".into(), None).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "tauri-driver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = serde_json::json!({
        "capabilities": {"alwaysMatch": {"tauri:options": {"application": env!("CARGO_BIN_EXE_duet")}}}
    });
    let session = call(reqwest::Method::POST, "/session".into(), Some(capabilities)).await.expect("new session");
    let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_string();

    // The placeholder page marks itself ready once its script ran.
    let find = serde_json::json!({"using": "css selector", "value": "#app[data-ready='true'] h1"});
    let element = loop {
        let found = call(reqwest::Method::POST, format!("/session/{id}/element"), Some(find.clone())).await;
        if let Some(element) =
            found.ok().and_then(|v| v["value"]["element-6066-11e4-a52e-4f735466cecf"].as_str().map(String::from))
        {
            break element;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the UI did not render within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = call(reqwest::Method::GET, format!("/session/{id}/element/{element}/text"), None).await.expect("text");
    assert_eq!(text["value"], "Duet");
    let title = call(reqwest::Method::GET, format!("/session/{id}/title"), None).await.expect("title");
    assert_eq!(title["value"], "Duet");
    let _ = call(reqwest::Method::DELETE, format!("/session/{id}"), None).await;
}
