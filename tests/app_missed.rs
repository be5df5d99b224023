//! End to end with the real app under Xvfb and the real notification daemon: calls
//! missed while Duet was not running are told of at sign-in, one notification per
//! caller ("2 missed calls from bob"), with the count on the history button; opening
//! the notification opens the history. Signing in again tells of them no more.

mod support;

use std::time::Duration;

use support::{
    App, bob_calls_alice, display_available, dunstctl, eventually, server_with_alice_and_bob, tauri_driver_available,
};

/// Bob calls Alice, who is not signed in anywhere, and hangs up once the call is placed.
async fn missed_call_from_bob(server: &duet_server::ServerHandle, url: &str, missed_before: usize) {
    let store = server.hub().store.clone();
    let (controls, bob, _invite) = bob_calls_alice(server, url, Duration::from_secs(5)).await;
    controls.send(duet_call::Command::Hangup).expect("bob runs");
    let _ = tokio::time::timeout(Duration::from_secs(10), bob).await.expect("bob stops");
    eventually("Alice's history has the missed call", Duration::from_secs(10), || {
        store.history("alice", 50, None).is_ok_and(|calls| calls.len() == missed_before + 1)
    })
    .await;
}

#[tokio::test]
async fn calls_missed_while_closed_are_told_of_at_sign_in_once_and_open_the_history() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    // scripts/test.sh starts dunst with a menu script that presses the action named here
    // and keeps what dunst offered.
    if !duet_testkit::dunst_menu() {
        return;
    }
    let server_dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = server_with_alice_and_bob(server_dir.path()).await;
    missed_call_from_bob(&server, &url, 0).await;
    missed_call_from_bob(&server, &url, 1).await;

    dunstctl(&["close-all"]);
    let profile = tempfile::tempdir().expect("tempdir");
    let data_home = profile.path().to_str().expect("utf-8 path");
    let env = [("DUET_SOURCES", "synthetic"), ("XDG_DATA_HOME", data_home)];
    let app = App::start(&env).await;
    app.sign_in(&url, "alice", false).await;
    eventually("one notification for Bob's two calls", Duration::from_secs(10), || {
        dunstctl(&["count", "displayed"]) == "1"
    })
    .await;
    app.wait_for("#missed-badge:not([hidden])", Duration::from_secs(10)).await;
    assert_eq!(app.text("#missed-badge").await, "2");

    // What a user does with the mouse: open the notification.
    let runtime = std::path::PathBuf::from(std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()));
    std::fs::write(runtime.join("duet-dunst-pick"), "default").expect("the pick file");
    dunstctl(&["context"]);
    app.wait_for("#history li.record[data-peer='bob'][data-outcome='missed']", Duration::from_secs(10)).await;
    let offered = std::fs::read_to_string(runtime.join("duet-dunst-menu")).expect("what dunst offered");
    assert!(offered.contains("(2 missed calls from bob)"), "the notification's text: {offered}");
    eventually("the opened notification goes away", Duration::from_secs(10), || {
        dunstctl(&["count", "displayed"]) == "0"
    })
    .await;
    app.quit().await;

    // Signed in again on this computer: nothing new was missed, nothing is told.
    dunstctl(&["close-all"]);
    let app = App::start(&env).await;
    app.sign_in(&url, "alice", false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(dunstctl(&["count", "displayed"]), "0", "the same missed calls are not told of twice");
    app.quit().await;
    let _ = server.shutdown().await;
}
