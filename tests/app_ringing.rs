//! End to end with the real app under Xvfb, signed in and in the background
//! (another window has the focus): a call from a headless peer opens the
//! always-on-top incoming-call window and a notification, and the
//! notification's Decline button (pressed through dunst's menu) declines it.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{
    AliceSignedIn, display_available, dunstctl, eventually, focus_elsewhere, tauri_driver_available, x_windows,
};

#[tokio::test]
async fn in_the_background_a_call_rings_in_its_own_window_and_the_notification_declines_it() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    // scripts/test.sh starts dunst with a menu script that presses the button named here.
    if !duet_testkit::dunst_menu() {
        return;
    }
    let scene = AliceSignedIn::start(false).await;
    let app = &scene.app;

    // Another program takes the focus: Duet is in the background.
    let mut other = focus_elsewhere("duet-focus-thief").await;
    app.wait_until("Duet lost the focus", "return !document.hasFocus()", Duration::from_secs(5)).await;
    dunstctl(&["close-all"]);

    // Bob calls from a headless client.
    let options = scene.bob(Duration::from_secs(20));
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
        !x_windows("^Incoming call — Duet$").is_empty()
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
        x_windows("^Incoming call — Duet$").is_empty()
    })
    .await;
    eventually("the notification goes away", Duration::from_secs(10), || dunstctl(&["count", "displayed"]) == "0")
        .await;

    let _ = other.kill();
    let _ = other.wait();
    scene.finish().await;
}
