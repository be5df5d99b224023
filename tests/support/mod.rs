//! Driving the real app under Xvfb: tauri-driver (WebKitWebDriver) over the
//! W3C WebDriver protocol, with plain HTTP requests.

#![allow(dead_code)] // Each test binary uses its own part of it.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Whether a test that needs an X display must run: always under CI, otherwise when one exists.
pub fn display_available() -> bool {
    let has_display = std::env::var_os("DISPLAY").is_some();
    if !has_display && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but no DISPLAY: .ci/run must start Xvfb");
    }
    has_display
}

/// Whether tauri-driver is installed; required under CI.
pub fn tauri_driver_available() -> bool {
    let found = Command::new("tauri-driver").arg("--help").output().is_ok();
    if !found && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but tauri-driver is missing: scripts/setup.sh installs it");
    }
    found
}

/// Whether the app's desktop tests can run: an X display, tauri-driver and a D-Bus session
/// (`needs` says what the test needs the session for). Outside CI a missing piece skips the
/// test with a line saying so; under CI it fails.
pub fn desktop_session_available(needs: &str) -> bool {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return false;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no D-Bus session: scripts/test.sh starts one"
        );
        eprintln!("skipped: no D-Bus session ({needs})");
        return false;
    }
    true
}

/// Whether weston (a Wayland compositor) is installed; required under CI.
pub fn weston_available() -> bool {
    let found = Command::new("weston").arg("--version").output().is_ok();
    if !found && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but weston is missing: scripts/setup.sh installs it");
    }
    found
}

/// Waits until the app, started with its stderr piped, logs that its UI is up (the
/// page's script runs), and returns the milliseconds since start that line gives
/// (NaN when its log is coloured). `Err` holds what the app logged instead, when it
/// exits or `timeout` passes first.
pub fn wait_until_ui_is_up(app: &mut std::process::Child, timeout: Duration) -> Result<f64, Vec<String>> {
    use std::io::{BufRead, BufReader};
    let stderr = app.stderr.take().expect("the app's stderr is piped");
    let (lines, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while let Ok(line) = log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains("the UI is up") {
            let ms = line.split("ms=").nth(1).and_then(|v| v.split_whitespace().next()?.parse().ok());
            return Ok(ms.unwrap_or(f64::NAN));
        }
        seen.push(line);
    }
    Err(seen)
}

/// Polls `check` every 100 ms until it holds; fails after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The visible X windows whose title matches `name` (a regular expression).
pub fn x_windows(name: &str) -> Vec<String> {
    let out = Command::new("xdotool").args(["search", "--onlyvisible", "--name", name]).output().expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

/// Another program's window (xmessage), given the keyboard focus: Duet is in
/// the background until the returned process is killed.
pub async fn focus_elsewhere(title: &str) -> std::process::Child {
    let other = Command::new("xmessage").args(["-title", title, "another program"]).spawn().expect("xmessage starts");
    let name = format!("^{title}$");
    eventually("the other window is up", Duration::from_secs(5), || !x_windows(&name).is_empty()).await;
    let window = x_windows(&name).remove(0);
    Command::new("xdotool").args(["windowfocus", "--sync", &window]).status().expect("xdotool focuses it");
    other
}

/// The password of the accounts [`server_with_alice_and_bob`] creates.
pub const PASSWORD: &str = "long enough password";

/// A `duet-server` on 127.0.0.1 (data in `dir`) with the accounts alice and bob, and its URL.
pub async fn server_with_alice_and_bob(dir: &std::path::Path) -> (duet_server::ServerHandle, String) {
    let mut config = duet_server::Config::new(dir);
    config.listen = ([127, 0, 0, 1], 0).into();
    let server = duet_server::Server::bind(config).await.expect("the server starts");
    for (user, name) in [("alice", "Alice"), ("bob", "Bob")] {
        duet_server::create_user(&*server.hub().store, user, name, PASSWORD).expect("a user");
    }
    let url = format!("http://{}", server.local_addr());
    (server.spawn(), url)
}

/// The app (synthetic camera and microphone) signed in as alice to a server of
/// its own that also knows bob.
pub struct AliceSignedIn {
    pub app: App,
    pub server: duet_server::ServerHandle,
    pub url: String,
    _server_dir: tempfile::TempDir,
}

impl AliceSignedIn {
    pub async fn start(remember: bool) -> AliceSignedIn {
        let server_dir = tempfile::tempdir().expect("tempdir");
        let (server, url) = server_with_alice_and_bob(server_dir.path()).await;
        let app = App::start(&[("DUET_SOURCES", "synthetic")]).await;
        app.sign_in(&url, "alice", remember).await;
        AliceSignedIn { app, server, url, _server_dir: server_dir }
    }

    /// Quits the app, then stops the server.
    pub async fn finish(self) {
        self.app.quit().await;
        let _ = self.server.shutdown().await;
    }

    /// Bob on a headless client ([`headless_peer`]).
    pub fn bob(&self, duration: Duration) -> duet_cli::Options {
        headless_peer(&self.server, &self.url, "bob", duration)
    }
}

/// A headless `duet-cli` client signed in to `server` as `user`, with synthetic
/// media on loopback, whose calls end after `duration`.
pub fn headless_peer(
    server: &duet_server::ServerHandle,
    url: &str,
    user: &str,
    duration: Duration,
) -> duet_cli::Options {
    duet_cli::Options {
        server: url.to_owned(),
        user: user.to_owned(),
        token: server.hub().signer.issue_token(user, duet_server::now_ms() + 3_600_000),
        udp_addrs: vec!["127.0.0.1:0".into()],
        audio_only: false,
        duration: Some(duration),
        sources: duet_cli::Sources::SYNTHETIC,
        video_out: None,
        processing: None,
        relay_only: false,
        ca_file: None,
    }
}

/// Bob (a [`headless_peer`] whose call ends after `duration`) calls Alice, who is not
/// signed in anywhere; returns once the server has stored the invitation, with Bob's
/// controls, his run, and the invitation's id.
pub async fn bob_calls_alice(
    server: &duet_server::ServerHandle,
    url: &str,
    duration: Duration,
) -> (tokio::sync::mpsc::UnboundedSender<duet_call::Command>, tokio::task::JoinHandle<i32>, String) {
    let store = server.hub().store.clone();
    let (controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let options = headless_peer(server, url, "bob", duration);
    let bob = tokio::spawn(duet_cli::run(options, duet_cli::Mode::Call { peer: "alice".into() }, controls_rx, |_| {}));
    eventually("the invitation is stored for Alice", Duration::from_secs(10), || {
        store.open_invitations().is_ok_and(|open| !open.is_empty())
    })
    .await;
    let invite_id = store.open_invitations().expect("open invitations")[0].id.clone();
    (controls, bob, invite_id)
}

/// `dunstctl ARGS` (the notification daemon scripts/test.sh starts): its output, trimmed.
pub fn dunstctl(args: &[&str]) -> String {
    let out = Command::new("dunstctl").args(args).output().expect("dunstctl runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A free local TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// tauri-driver with one session of the app. tauri-driver runs in a process
/// group of its own: it starts WebKitWebDriver, which would outlive a kill of
/// tauri-driver alone, so the whole group is killed at the end.
pub struct App {
    driver: std::process::Child,
    /// The app's data directory when the test gave none: each app is its own
    /// profile (its own single-instance name, its own built-in server).
    _data: Option<tempfile::TempDir>,
    http: reqwest::Client,
    base: String,
    session: String,
}

impl Drop for App {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

impl App {
    /// Starts the app (with `env` added to its environment) and waits until its UI is ready.
    pub async fn start(env: &[(&str, &str)]) -> App {
        App::start_with_args(env, &[]).await
    }

    /// [`App::start`] with command-line arguments (a `duet://` link, as the desktop passes it).
    pub async fn start_with_args(env: &[(&str, &str)], args: &[&str]) -> App {
        let port = free_port();
        let data = (!env.iter().any(|(k, _)| *k == "XDG_DATA_HOME")).then(|| tempfile::tempdir().expect("tempdir"));
        let driver = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &free_port().to_string()])
            .envs(env.iter().copied())
            .envs(data.iter().map(|d| ("XDG_DATA_HOME", d.path())))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts");
        let mut app = App {
            driver,
            _data: data,
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
        };
        let started = Instant::now();
        while app.request(reqwest::Method::GET, "/status", None).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "tauri-driver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {"tauri:options": {"application": env!("CARGO_BIN_EXE_duet"), "args": args}}}
        });
        let session = app.request(reqwest::Method::POST, "/session", Some(capabilities)).await.expect("new session");
        app.session = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).into();
        app.wait_for("#app[data-ready='true']", Duration::from_secs(30)).await;
        app
    }

    async fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Result<Value> {
        let request = self.http.request(method, format!("{}{path}", self.base));
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(body.to_string()),
            None => request,
        };
        let text = request.send().await?.text().await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn session_request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.request(method, &path, body).await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// The element matching `css` once it exists, or a failure after `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let found = self
                .session_request(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(element) = found["value"][ELEMENT].as_str() {
                return element.to_owned();
            }
            assert!(
                started.elapsed() < timeout,
                "no {css} within {timeout:?}; the page says: {}",
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css, Duration::from_secs(20)).await;
        let reply =
            self.session_request(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
        assert!(reply["value"]["error"].is_null(), "clicking {css} failed: {reply}");
    }

    /// Types `text` into the input matching `css`, replacing what it held.
    /// Signs in with the login form as `user` (password [`PASSWORD`]), "remember me" as
    /// given, and waits for the (empty) contact list.
    pub async fn sign_in(&self, server: &str, user: &str, remember: bool) {
        self.fill("#server", server).await;
        self.fill("#user", user).await;
        self.fill("#password", PASSWORD).await;
        // Ticked by default.
        if !remember {
            self.click("#remember").await;
        }
        self.click("#login-form button.primary").await;
        self.wait_for("li.empty", Duration::from_secs(20)).await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css, Duration::from_secs(20)).await;
        self.session_request(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
        let reply = self
            .session_request(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text})))
            .await;
        assert!(reply["value"]["error"].is_null(), "typing into {css} failed: {reply}");
    }

    /// The text of the first element matching `css` (empty when there is none).
    pub async fn text(&self, css: &str) -> String {
        let script = "const el = document.querySelector(arguments[0]); return el ? el.innerText : '';";
        self.execute(script, json!([css])).await.as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` in the page with `args` and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        let reply = self
            .session_request(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args})))
            .await;
        reply["value"].clone()
    }

    /// Polls `script` until it returns true.
    pub async fn wait_until(&self, what: &str, script: &str, timeout: Duration) {
        let started = Instant::now();
        while self.execute(script, json!([])).await != Value::Bool(true) {
            assert!(
                started.elapsed() < timeout,
                "{what}: not within {timeout:?}; the page says: {}",
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Resizes the app's window (WebDriver's window rect); returns the size it took.
    pub async fn resize_window(&self, width: u32, height: u32) -> (u64, u64) {
        let body = json!({"x": 0, "y": 0, "width": width, "height": height});
        let rect = self.session_request(reqwest::Method::POST, "/window/rect", Some(body)).await;
        (rect["value"]["width"].as_u64().unwrap_or(0), rect["value"]["height"].as_u64().unwrap_or(0))
    }

    pub async fn title(&self) -> Value {
        self.session_request(reqwest::Method::GET, "/title", None).await["value"].clone()
    }

    pub async fn quit(self) {
        let _ = self.request(reqwest::Method::DELETE, &format!("/session/{}", self.session), None).await;
    }
}
