//! One Duet per profile, and `duet://` links: starting Duet again with a link
//! hands the link to the running app (over D-Bus) and exits; the running app
//! lands on the invitation. A link opened while Duet is not running (an offline
//! push) starts it, signs in with the remembered account and rings for exactly
//! that call; once the call is over the same link shows it as missed, with its time.

mod support;

use std::time::{Duration, Instant};

use support::{App, bob_calls_alice, desktop_session_available, server_with_alice_and_bob};

/// Starts Duet again with `link`, as the desktop does when a link is opened while it runs:
/// the second launch hands the link over and exits.
fn open_link_again(data_home: &str, link: &str) -> std::process::ExitStatus {
    std::process::Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg(link)
        .env("XDG_DATA_HOME", data_home)
        .status()
        .expect("the second launch runs")
}

#[tokio::test]
async fn a_second_launch_with_an_invite_link_goes_to_the_running_app() {
    if !desktop_session_available("one instance per profile, and the keyring") {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let data_home = data.path().to_str().expect("utf-8 path");
    let app = App::start(&[("XDG_DATA_HOME", data_home)]).await;
    app.click("#use-local").await;
    app.wait_for("li.contact[data-user='echo']", Duration::from_secs(20)).await;

    let started = Instant::now();
    let second = open_link_again(data_home, "duet://invite/inv-gone");
    assert!(second.success(), "the second launch hands over and exits cleanly: {second}");
    assert!(started.elapsed() < Duration::from_secs(10), "it exits at once, without a window");

    // The invitation is not ringing (nobody called): the history says so.
    app.wait_for("#history-notice:not([hidden])", Duration::from_secs(10)).await;
    assert_eq!(app.text("#history-notice").await, "That call is no longer ringing.");
    app.quit().await;
}

#[tokio::test]
async fn a_link_opened_while_duet_is_closed_signs_in_and_rings_for_that_call_then_shows_it_missed() {
    if !desktop_session_available("one instance per profile, and the keyring") {
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
    let (controls, bob, invite_id) = bob_calls_alice(&server, &url, Duration::from_secs(30)).await;
    let link = format!("duet://invite/{invite_id}");

    // Opening the link starts Duet, which signs in by itself and rings for that call.
    let app = App::start_with_args(&env, &[&link]).await;
    app.wait_for(&format!("#call[data-phase='ringing'][data-invite='{invite_id}']"), Duration::from_secs(20)).await;
    assert_eq!(app.text("#call-peer").await.to_lowercase(), "bob");

    // Bob gives up; the same link, opened again with Duet running, says it was missed and when.
    controls.send(duet_call::Command::Hangup).expect("bob runs");
    let _ = tokio::time::timeout(Duration::from_secs(10), bob).await.expect("bob stops");
    app.wait_for("#open-history", Duration::from_secs(15)).await;
    let second = open_link_again(data_home, &link);
    assert!(second.success(), "the second launch hands over and exits: {second}");
    app.wait_for("#history-notice:not([hidden])", Duration::from_secs(10)).await;
    let notice = app.text("#history-notice").await;
    assert!(notice.to_lowercase().starts_with("missed call from bob at "), "the notice: {notice}");
    app.wait_for(&format!("li.record.highlight[data-invite='{invite_id}']"), Duration::from_secs(5)).await;
    app.quit().await;
    let _ = server.shutdown().await;
}
