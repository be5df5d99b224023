//! End to end with the real app under Xvfb, signed in and in the background
//! (another window has the focus): a call from a headless peer opens the
//! always-on-top incoming-call window and a notification, and the
//! notification's Decline button (pressed through dunst's menu) declines it.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet_server::{Config, Server};
use serde_json::Value;
use support::{App, display_available, tauri_driver_available};

/// X windows whose title matches `name` (a regular expression).
fn windows(name: &str) -> Vec<String> {
    let out = Command::new("xdotool").args(["search", "--onlyvisible", "--name", name]).output().expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

fn dunstctl(args: &[&str]) -> String {
    let out = Command::new("dunstctl").args(args).output().expect("dunstctl runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn eventually(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn in_the_background_a_call_rings_in_its_own_window_and_the_notification_declines_it() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    // scripts/test.sh starts dunst with a menu script that presses the button named here.
    if std::env::var_os("DUET_DUNST_MENU").is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but dunst runs without scripts/dunst-menu.sh"
        );
        eprintln!("skipped: dunst was not started by scripts/test.sh");
        return;
    }
    let server_dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(server_dir.path());
    config.listen = ([127, 0, 0, 1], 0).into();
    let server = Server::bind(config).await.expect("the server starts");
    for (user, name) in [("alice", "Alice"), ("bob", "Bob")] {
        duet_server::create_user(&*server.hub().store, user, name, "long enough password").expect("a user");
    }
    let url = format!("http://{}", server.local_addr());
    let server = server.spawn();

    let data = tempfile::tempdir().expect("tempdir");
    let app =
        App::start(&[("XDG_DATA_HOME", data.path().to_str().expect("utf-8")), ("DUET_SOURCES", "synthetic")]).await;
    app.fill("#server", &url).await;
    app.fill("#user", "alice").await;
    app.fill("#password", "long enough password").await;
    app.click("#remember").await;
    app.click("#login-form button.primary").await;
    app.wait_for("li.empty", Duration::from_secs(20)).await;

    // Another program takes the focus: Duet is in the background.
    let mut other =
        Command::new("xmessage").args(["-title", "duet-focus-thief", "another program"]).spawn().expect("xmessage");
    eventually("the other window is up", Duration::from_secs(5), || !windows("^duet-focus-thief$").is_empty()).await;
    let thief = windows("^duet-focus-thief$").remove(0);
    Command::new("xdotool").args(["windowfocus", "--sync", &thief]).status().expect("xdotool focuses");
    app.wait_until("Duet lost the focus", "return !document.hasFocus()", Duration::from_secs(5)).await;
    dunstctl(&["close-all"]);

    // Bob calls from a headless client.
    let token = server.hub().signer.issue_token("bob", duet_server::now_ms() + 3_600_000);
    let options = duet_cli::Options {
        server: url.clone(),
        user: "bob".into(),
        token,
        udp_addrs: vec!["127.0.0.1:0".into()],
        audio_only: false,
        duration: Some(Duration::from_secs(20)),
        sources: duet_cli::Sources::SYNTHETIC,
        video_out: None,
        processing: None,
    };
    let lines = Arc::new(Mutex::new(Vec::<Value>::new()));
    let (_controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let bob = tokio::spawn({
        let lines = lines.clone();
        duet_cli::run(options, duet_cli::Mode::Call { peer: "alice".into() }, controls_rx, move |line| {
            lines.lock().unwrap().push(line)
        })
    });

    // The ringing window comes up on its own, and so does the notification.
    eventually("the incoming-call window opens", Duration::from_secs(20), || {
        !windows("^Incoming call — Duet$").is_empty()
    })
    .await;
    eventually("the notification shows", Duration::from_secs(10), || dunstctl(&["count", "displayed"]) == "1").await;

    // Alice presses Decline on the notification.
    let pick = std::path::Path::new(&std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .join("duet-dunst-pick");
    std::fs::write(&pick, "decline").expect("the pick file");
    dunstctl(&["action", "0"]);

    let _ = tokio::time::timeout(Duration::from_secs(15), bob).await.expect("bob's call ends");
    let _ = std::fs::remove_file(&pick);
    let ended = lines.lock().unwrap().iter().find(|l| l["event"] == "state" && l["state"] == "ended").cloned();
    assert_eq!(
        ended.as_ref().map(|l| l["reason"].clone()),
        Some(Value::from("rejected")),
        "bob's call was declined: {:?}",
        lines.lock().unwrap()
    );
    // Both the window and the notification go away.
    eventually("the incoming-call window closes", Duration::from_secs(10), || {
        windows("^Incoming call — Duet$").is_empty()
    })
    .await;
    eventually("the notification goes away", Duration::from_secs(10), || dunstctl(&["count", "displayed"]) == "0")
        .await;

    let _ = other.kill();
    let _ = other.wait();
    app.quit().await;
    let _ = server.shutdown().await;
}
