//! End to end with the real app under Xvfb, on a desktop that lacks what Duet
//! relies on: a D-Bus session of its own with no keyring and no notification
//! daemon on it. Signing in with "remember me" still works and says, in
//! words, why the sign-in is not remembered and that incoming calls cannot be
//! announced, with the libraries' own words behind "Details".

mod support;

use std::time::Duration;

use support::{App, display_available, server_with_alice_and_bob, tauri_driver_available};

#[tokio::test]
async fn without_a_keyring_or_notifications_the_app_says_so_in_words() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    let server_dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = server_with_alice_and_bob(server_dir.path()).await;
    let Some(bus) = duet_testkit::EmptyBus::start() else { return };
    let app = App::start(&[("DUET_SOURCES", "synthetic"), ("DBUS_SESSION_BUS_ADDRESS", &bus.address)]).await;
    app.sign_in(&url, "alice", true).await;

    app.wait_for("#sign-in-warning[data-code='keyring']", Duration::from_secs(10)).await;
    let warning = app.text("#sign-in-warning p").await;
    assert!(
        warning.starts_with("Duet cannot reach the system keyring, so it cannot remember your sign-in."),
        "{warning}"
    );
    let detail = app
        .execute("return document.querySelector('#sign-in-warning .detail').textContent", serde_json::json!([]))
        .await;
    let detail = detail.as_str().unwrap_or_default();
    assert!(!detail.is_empty() && !warning.contains(detail), "the library's words are kept apart: {detail:?}");

    app.wait_for("#system-notices .notice[data-code='notifications']", Duration::from_secs(10)).await;
    let notice = app.text("#system-notices .notice[data-code='notifications'] p").await;
    assert!(notice.starts_with("This desktop shows no notifications"), "{notice}");
    app.quit().await;
    let _ = server.shutdown().await;
}
