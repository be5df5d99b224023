//! End to end with the real app under Xvfb: sign in with the login form to a
//! real `duet-server`, get called by a headless peer (`duet-cli`'s engine),
//! accept, see its video, and have the peer hang up; the call is in history.

mod support;

use std::time::Duration;

use support::{AliceSignedIn, display_available, tauri_driver_available};

#[tokio::test]
async fn an_incoming_call_rings_is_accepted_and_ended_by_the_peer() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    let scene = AliceSignedIn::start(true).await;
    let app = &scene.app;
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        // CI runs D-Bus and an unlocked gnome-keyring: "remember me" must work there.
        assert_eq!(app.text("#sign-in-warning").await, "", "the keyring remembered the sign-in");
    }

    // Bob calls from a headless client and hangs up 4 s after the call connects.
    let options = scene.bob(Duration::from_secs(4));
    let (_controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let bob = tokio::spawn(duet_cli::run(options, duet_cli::Mode::Call { peer: "alice".into() }, controls_rx, |_| {}));

    app.wait_for("#call[data-phase='ringing']", Duration::from_secs(20)).await;
    assert_eq!(app.text("#call-status").await, "Incoming video call");
    app.click("#accept-video").await;
    app.wait_for("#call[data-phase='connected']", Duration::from_secs(20)).await;
    app.wait_until("Bob's video is drawn", "return window.__duetVideo.remote.frames >= 5", Duration::from_secs(20))
        .await;

    app.wait_for("#call-result", Duration::from_secs(20)).await;
    let result = app.text("#call-result").await;
    assert!(result.starts_with("bob hung up (00:0"), "{result}");
    let code = tokio::time::timeout(Duration::from_secs(10), bob).await.expect("bob finishes").expect("bob ran");
    assert_eq!(code, 0, "bob's call connected and was hung up");

    // The call is in the history, completed.
    app.click("#back").await;
    app.click("#open-history").await;
    app.wait_for("li.record[data-outcome='completed'][data-peer='bob']", Duration::from_secs(10)).await;
    // Logging out forgets the sign-in (the keyring entry would otherwise outlive the test).
    app.click("#history-back").await;
    app.click("#logout").await;
    app.wait_for("#login-form", Duration::from_secs(10)).await;
    scene.finish().await;
}
