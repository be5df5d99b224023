//! One Duet per profile, and `duet://` links: starting Duet again with a link
//! hands the link to the running app (over D-Bus) and exits; the running app
//! lands on the invitation, here one that no longer rings.

mod support;

use std::time::{Duration, Instant};

use support::{App, display_available, tauri_driver_available};

#[tokio::test]
async fn a_second_launch_with_an_invite_link_goes_to_the_running_app() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no D-Bus session: scripts/test.sh starts one"
        );
        eprintln!("skipped: one instance per profile needs a D-Bus session");
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
