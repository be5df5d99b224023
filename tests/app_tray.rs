//! End to end with the real app under Xvfb and D-Bus: its tray icon, used the
//! way a desktop panel uses it (the StatusNotifierItem and its menu over
//! D-Bus): the menu reads "Show Duet" and "Quit Duet"; "Show Duet" brings the
//! window back from behind another program; "Quit Duet" ends the app, and
//! during a call it hangs up first, so the peer is not left waiting.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{AliceSignedIn, App, desktop_session_available, eventually, focus_elsewhere};

const ITEM: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_duet";

/// One app at a time: the tests find the tray icon by the program's name, and a
/// second window would take the focus the first test watches.
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `gdbus call` on the session bus; the reply as text, or the error.
fn gdbus(dest: &str, path: &str, method: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("gdbus")
        .args(["call", "--session", "--timeout", "5", "--dest", dest, "--object-path", path, "--method", method, "--"])
        .args(args)
        .output()
        .map_err(|e| format!("gdbus: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The bus connection of a `duet` process that shows the tray icon.
fn tray_owner() -> Option<String> {
    let bus = |method: &str, args: &[&str]| gdbus("org.freedesktop.DBus", "/org/freedesktop/DBus", method, args);
    let names = bus("org.freedesktop.DBus.ListNames", &[]).ok()?;
    names.split('\'').filter(|n| n.starts_with(':')).find_map(|name| {
        // `(uint32 1234,)`
        let pid = bus("org.freedesktop.DBus.GetConnectionUnixProcessID", &[name]).ok()?;
        let pid = pid.trim_start_matches("(uint32 ").trim_end_matches(",)");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        // Only a duet is asked: a connection that serves no calls answers after gdbus's timeout.
        if comm.trim() != "duet" {
            return None;
        }
        let status =
            gdbus(name, ITEM, "org.freedesktop.DBus.Properties.Get", &["org.kde.StatusNotifierItem", "Status"]);
        status.is_ok().then(|| name.to_owned())
    })
}

/// The menu's entries: (id, label), in order.
fn menu(owner: &str) -> Vec<(String, String)> {
    let layout = gdbus(owner, &format!("{ITEM}/Menu"), "com.canonical.dbusmenu.GetLayout", &["0", "-1", "[]"])
        .expect("the tray menu's layout");
    // `<(1, {'label': <'Show Duet'>, …}, @av [])>` for each entry.
    layout
        .split("<(")
        .skip(1)
        .filter_map(|entry| {
            let id = entry.split(',').next()?.trim().to_owned();
            let label = entry.split("'label': <'").nth(1)?.split('\'').next()?.to_owned();
            Some((id, label))
        })
        .collect()
}

fn click(owner: &str, id: &str) {
    gdbus(owner, &format!("{ITEM}/Menu"), "com.canonical.dbusmenu.Event", &[id, "clicked", "<0>", "0"])
        .expect("the menu takes the click");
}

/// Whether the tray can be tested here; outside CI a missing piece skips.
fn tray_testable() -> bool {
    desktop_session_available("the tray icon talks to the panel over it")
}

#[tokio::test]
async fn the_tray_menu_shows_the_window_and_quits() {
    if !tray_testable() {
        return;
    }
    let _one_app = ONE_APP.lock().await;
    let app = App::start(&[]).await;
    app.wait_for("#login-form", Duration::from_secs(20)).await;
    eventually("the tray icon is on the bus", Duration::from_secs(10), || tray_owner().is_some()).await;
    let owner = tray_owner().expect("the tray icon's owner");
    let status = gdbus(&owner, ITEM, "org.freedesktop.DBus.Properties.Get", &["org.kde.StatusNotifierItem", "Status"]);
    assert_eq!(status.as_deref(), Ok("(<'Active'>,)"));
    let entries = menu(&owner);
    let labels: Vec<&str> = entries.iter().map(|(_, label)| label.as_str()).collect();
    assert_eq!(labels, ["Show Duet", "Quit Duet"], "{entries:?}");

    // Behind another program, "Show Duet" brings the window back to the front.
    let mut other = focus_elsewhere("duet-tray-test").await;
    app.wait_until("Duet lost the focus", "return !document.hasFocus()", Duration::from_secs(5)).await;
    click(&owner, &entries[0].0);
    app.wait_until("Duet is in front again", "return document.hasFocus()", Duration::from_secs(5)).await;

    // "Quit Duet" ends the app: its tray icon leaves the bus.
    click(&owner, &entries[1].0);
    eventually("the app quit", Duration::from_secs(10), || tray_owner().is_none()).await;
    let _ = other.kill();
    let _ = other.wait();
}

#[tokio::test]
async fn quitting_from_the_tray_during_a_call_hangs_up_for_the_peer() {
    if !tray_testable() {
        return;
    }
    let _one_app = ONE_APP.lock().await;
    let scene = AliceSignedIn::start(false).await;
    let app = &scene.app;

    // Bob calls from a headless client and would stay in the call for a minute.
    let options = scene.bob(Duration::from_secs(60));
    let (_controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let bob =
        tokio::spawn(duet_cli::run(options, duet_cli::Mode::Call { peer: "alice".into() }, controls_rx, move |l| {
            let _ = lines_tx.send(l);
        }));
    app.wait_for("#call[data-phase='ringing']", Duration::from_secs(20)).await;
    app.click("#accept-video").await;
    app.wait_for("#call[data-phase='connected']", Duration::from_secs(20)).await;

    eventually("the tray icon is on the bus", Duration::from_secs(10), || tray_owner().is_some()).await;
    let owner = tray_owner().expect("the tray icon's owner");
    let quit = menu(&owner).into_iter().find(|(_, label)| label == "Quit Duet").expect("a Quit entry");
    click(&owner, &quit.0);

    // Without a hangup Bob would wait for the server's 30 s watchdog.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let line = lines.recv().await.expect("bob is running");
            if line["event"] == "state" && line["state"] == "ended" {
                return line;
            }
        }
    })
    .await
    .expect("bob's call ends within 10 s of alice quitting");
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    let code = tokio::time::timeout(Duration::from_secs(10), bob).await.expect("bob finishes").expect("bob ran");
    assert_eq!(code, 0, "bob's call connected and was hung up");
    eventually("the app quit", Duration::from_secs(10), || tray_owner().is_none()).await;
}
