//! One Duet per profile, and `duet://` links: starting Duet again with a link
//! hands the link to the running app (over D-Bus) and exits; the running app
//! lands on the invitation. A link opened while Duet is not running (an offline
//! push) starts it, signs in with the remembered account and rings for exactly
//! that call; once the call is over the same link shows it as missed, with its time.

mod support;

use std::time::{Duration, Instant};

use support::{App, display_available, eventually, headless_peer, server_with_alice_and_bob, tauri_driver_available};

/// An X display, tauri-driver and a D-Bus session (one instance per profile, the keyring);
/// outside CI a test without them is skipped, under CI it fails.
fn desktop_session() -> bool {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return false;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no D-Bus session: scripts/test.sh starts one"
        );
        eprintln!("skipped: needs a D-Bus session (one instance per profile, the keyring)");
        return false;
    }
    true
}

#[tokio::test]
async fn a_second_launch_with_an_invite_link_goes_to_the_running_app() {
    if !desktop_session() {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let data_home = data.path().to_str().expect("utf-8 path");
    let app = App::start(&[("XDG_DATA_HOME", data_home)]).await;
    app.click("#use-local").await;
    app.wait_for("li.contact[data-user='echo']", Duration::from_secs(20)).await;

    let started = Instant::now();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg("duet://invite/inv-gone")
        .env("XDG_DATA_HOME", data_home)
        .status()
        .expect("the second launch runs");
    assert!(second.success(), "the second launch hands over and exits cleanly: {second}");
    assert!(started.elapsed() < Duration::from_secs(10), "it exits at once, without a window");

    // The invitation is not ringing (nobody called): the history says so.
    app.wait_for("#history-notice:not([hidden])", Duration::from_secs(10)).await;
    assert_eq!(app.text("#history-notice").await, "That call is no longer ringing.");
    app.quit().await;
}

#[tokio::test]
async fn a_link_opened_while_duet_is_closed_signs_in_and_rings_for_that_call_then_shows_it_missed() {
    if !desktop_session() {
        return;
    }
    let server_dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = server_with_alice_and_bob(server_dir.path()).await;
    let profile = tempfile::tempdir().expect("tempdir");
    let data_home = profile.path().to_str().expect("utf-8 path");
    let env = [("DUET_SOURCES", "synthetic"), ("XDG_DATA_HOME", data_home)];

    // Alice signed in once on this computer with "remember me", then closed Duet.
    let app = App::start(&env).await;
    app.sign_in(&url, "alice", true).await;
    app.quit().await;

    // Bob calls her: she is offline, the invitation waits (and her push would carry its link).
    let store = server.hub().store.clone();
    let (controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let options = headless_peer(&server, &url, "bob", Duration::from_secs(30));
    let bob = tokio::spawn(duet_cli::run(options, duet_cli::Mode::Call { peer: "alice".into() }, controls_rx, |_| {}));
    eventually("the invitation is stored for Alice", Duration::from_secs(10), || {
        store.open_invitations().is_ok_and(|open| !open.is_empty())
    })
    .await;
    let invite_id = store.open_invitations().expect("open invitations")[0].id.clone();
    let link = format!("duet://invite/{invite_id}");

    // Opening the link starts Duet, which signs in by itself and rings for that call.
    let app = App::start_with_args(&env, &[&link]).await;
    app.wait_for(&format!("#call[data-phase='ringing'][data-invite='{invite_id}']"), Duration::from_secs(20)).await;
    assert_eq!(app.text("#call-peer").await.to_lowercase(), "bob");

    // Bob gives up; the same link, opened again with Duet running, says it was missed and when.
    controls.send(duet_call::Command::Hangup).expect("bob runs");
    let _ = tokio::time::timeout(Duration::from_secs(10), bob).await.expect("bob stops");
    app.wait_for("#open-history", Duration::from_secs(15)).await;
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg(&link)
        .env("XDG_DATA_HOME", data_home)
        .status()
        .expect("the second launch runs");
    assert!(second.success(), "the second launch hands over and exits: {second}");
    app.wait_for("#history-notice:not([hidden])", Duration::from_secs(10)).await;
    let notice = app.text("#history-notice").await;
    assert!(notice.to_lowercase().starts_with("missed call from bob at "), "the notice: {notice}");
    app.wait_for(&format!("li.record.highlight[data-invite='{invite_id}']"), Duration::from_secs(5)).await;
    app.quit().await;
    let _ = server.shutdown().await;
}
