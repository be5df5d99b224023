//! End to end with the real app under Xvfb and D-Bus: its tray icon, used the
//! way a desktop panel uses it (the StatusNotifierItem and its menu over
//! D-Bus): the menu reads "Show Duet" and "Quit Duet"; "Show Duet" brings the
//! window back from behind another program; "Quit Duet" ends the app.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{App, display_available, eventually, focus_elsewhere, tauri_driver_available};

const ITEM: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_duet";

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
        let status =
            gdbus(name, ITEM, "org.freedesktop.DBus.Properties.Get", &["org.kde.StatusNotifierItem", "Status"]);
        (comm.trim() == "duet" && status.is_ok()).then(|| name.to_owned())
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

#[tokio::test]
async fn the_tray_menu_shows_the_window_and_quits() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but no D-Bus session: scripts/test.sh starts it"
        );
        eprintln!("skipped: no D-Bus session for the tray icon");
        return;
    }
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
