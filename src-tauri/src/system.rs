//! What the desktop lacks that Duet relies on, said once after signing in in
//! words a person can act on: no notification service (calls would ring
//! unseen while Duet is in the background), no sound server (calls without
//! sound). The keyring's absence is said where it matters, when signing in.

use crate::error::{AppError, ErrorCode};

/// Each missing service, as a notice with the technical detail behind it.
pub fn notices() -> Vec<AppError> {
    let mut notices = Vec::new();
    if let Err(detail) = notification_service() {
        let notice = AppError::new(
            ErrorCode::Notifications,
            "This desktop shows no notifications, so an incoming call cannot be announced while Duet is in \
             the background. Start your desktop's notification service (or install one, such as dunst); \
             until then keep Duet's window open.",
        );
        notices.push(notice.with_detail(detail.to_string()));
    }
    if let Err(detail) = duet_media::audio::sound_server() {
        let notice = AppError::new(
            ErrorCode::Audio,
            "No sound server is running, so calls will have no sound. Start your desktop's sound service \
             (PipeWire or PulseAudio) or log in to a full desktop session, then call again.",
        );
        notices.push(notice.with_detail(detail.to_string()));
    }
    notices
}

/// Whether a notification daemon owns (or can be started for) the freedesktop
/// notifications name on the session bus.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn notification_service() -> Result<(), NoNotifications> {
    const NAME: &str = "org.freedesktop.Notifications";
    let bus = zbus::blocking::Connection::session().map_err(|e| NoNotifications::NoBus(e.to_string()))?;
    let owned: bool = ask_bus(&bus, "NameHasOwner", &(NAME,))?;
    if owned || ask_bus::<Vec<String>, _>(&bus, "ListActivatableNames", &())?.iter().any(|n| n == NAME) {
        Ok(())
    } else {
        Err(NoNotifications::NoService(NAME))
    }
}

/// The bus's own `method`, answered.
#[cfg(all(unix, not(target_os = "macos")))]
fn ask_bus<T, B>(bus: &zbus::blocking::Connection, method: &'static str, body: &B) -> Result<T, NoNotifications>
where
    T: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    let (dbus, path) = ("org.freedesktop.DBus", "/org/freedesktop/DBus");
    let failed = |e: &dyn std::fmt::Display| NoNotifications::Asking { method, why: e.to_string() };
    let reply = bus.call_method(Some(dbus), path, Some(dbus), method, body).map_err(|e| failed(&e))?;
    reply.body().deserialize().map_err(|e| failed(&e))
}

/// Windows and macOS always have their notification centre.
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn notification_service() -> Result<(), NoNotifications> {
    Ok(())
}

/// Why notifications cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoNotifications {
    #[error("no D-Bus session bus: {0}")]
    NoBus(String),
    #[error("{method}: {why}")]
    Asking { method: &'static str, why: String },
    #[error("nothing owns or can start {0} on the session bus")]
    NoService(&'static str),
}

#[cfg(all(test, all(unix, not(target_os = "macos"))))]
mod tests {
    use super::*;

    /// A session bus of its own with no notification daemon on it (nor one it could start).
    #[test]
    fn a_bus_without_a_notification_daemon_is_named_as_the_problem() {
        const PROBE: &str = "DUET_NOTIFICATIONS_PROBE";
        if std::env::var_os(PROBE).is_some() {
            let said = notification_service().err().map(|e| e.to_string());
            return println!("probe: {}", said.unwrap_or_default());
        }
        let Some(bus) = duet_testkit::EmptyBus::start() else { return };
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "system::tests::a_bus_without_a_notification_daemon_is_named_as_the_problem"])
            .args(["--nocapture", "--test-threads=1"])
            .env(PROBE, "1")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .output()
            .expect("the probe runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("probe: nothing owns or can start org.freedesktop.Notifications"), "{stdout}");
    }

    /// Under `scripts/test.sh` dunst runs on the session bus.
    #[test]
    fn a_running_notification_daemon_is_found() {
        if !duet_testkit::dunst_menu() {
            return;
        }
        assert_eq!(notification_service(), Ok(()));
    }
}
