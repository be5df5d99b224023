//! Native notifications: an incoming call (with Accept and Decline buttons on
//! Linux desktops), and missed calls. Without a notification service the
//! failure is logged and the incoming-call window rings alone.

use duet_call::Command;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;

#[cfg(all(unix, not(target_os = "macos")))]
mod platform {
    use std::sync::Mutex;

    use duet_call::Command;
    use notify_rust::{Hint, Notification, Timeout, Urgency};

    use crate::texts::Texts;

    /// The id of the incoming-call notification on screen, to withdraw it when the ringing stops.
    static RINGING: Mutex<Option<u32>> = Mutex::new(None);

    pub fn incoming(texts: Texts, peer: &str, video: bool, on_answer: impl FnOnce(Command) + Send + 'static) {
        let summary = texts.is_calling(peer);
        let body = texts.call_kind(video);
        // Showing and waiting for a button both block on D-Bus: a thread of their own.
        std::thread::spawn(move || {
            let shown = Notification::new()
                .appname("Duet")
                .summary(&summary)
                .body(body)
                .action("accept", texts.accept())
                .action("decline", texts.decline())
                .hint(Hint::Category("call.incoming".into()))
                .urgency(Urgency::Critical)
                .timeout(Timeout::Never)
                .show();
            let handle = match shown {
                Ok(handle) => handle,
                Err(error) => {
                    tracing::warn!("no incoming-call notification ({error}); the incoming-call window rings alone");
                    return;
                }
            };
            *RINGING.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.id());
            // Until a button is pressed or the notification closes (withdrawn when the
            // ringing stops), on the connection that showed it: daemons such as dunst
            // send the pressed button only to the program that sent the notification.
            let mut chosen = None;
            handle.wait_for_action(|action| {
                chosen = match action {
                    "accept" => Some(Command::Accept { audio_only: false }),
                    "decline" => Some(Command::Decline),
                    _ => None,
                }
            });
            if let Some(control) = chosen {
                // Some daemons (dunst) keep a pressed notification up.
                withdraw();
                on_answer(control);
            }
        });
    }

    pub fn withdraw() {
        if let Some(id) = RINGING.lock().unwrap_or_else(|e| e.into_inner()).take()
            && let Err(error) = close(id)
        {
            tracing::warn!("the incoming-call notification stays up: {error}");
        }
    }

    fn close(id: u32) -> zbus::Result<()> {
        zbus::blocking::Connection::session().and_then(|bus| {
            bus.call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.Notifications"),
                "CloseNotification",
                &(id,),
            )
            .map(drop)
        })
    }

    pub fn missed(texts: Texts, peer: &str, count: usize, on_open: impl FnOnce() + Send + 'static) {
        let summary = texts.missed_calls_from(peer, count);
        std::thread::spawn(move || {
            let shown = Notification::new()
                .appname("Duet")
                .summary(&summary)
                .action("default", texts.open_history())
                .hint(Hint::Category("call.unanswered".into()))
                .show();
            let handle = match shown {
                Ok(handle) => handle,
                Err(error) => {
                    tracing::warn!("no missed-call notification: {error}");
                    return;
                }
            };
            // Until it is opened or closed (it times out as the daemon decides).
            let id = handle.id();
            let mut opened = false;
            handle.wait_for_action(|action| opened = action == "default");
            if opened {
                // Some daemons (dunst) keep an opened notification up.
                if let Err(error) = close(id) {
                    tracing::warn!("the missed-call notification stays up: {error}");
                }
                on_open();
            }
        });
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
mod platform {
    use duet_call::Command;
    use notify_rust::Notification;

    use crate::texts::Texts;

    /// Without buttons here: the incoming-call window answers.
    pub fn incoming(texts: Texts, peer: &str, video: bool, _on_answer: impl FnOnce(Command) + Send + 'static) {
        let body = texts.call_kind(video);
        if let Err(error) = Notification::new().appname("Duet").summary(&texts.is_calling(peer)).body(body).show() {
            tracing::warn!("no incoming-call notification: {error}");
        }
    }

    pub fn withdraw() {}

    /// Without an action here: the history's badge leads there.
    pub fn missed(texts: Texts, peer: &str, count: usize, _on_open: impl FnOnce() + Send + 'static) {
        let summary = texts.missed_calls_from(peer, count);
        if let Err(error) = Notification::new().appname("Duet").summary(&summary).show() {
            tracing::warn!("no missed-call notification: {error}");
        }
    }
}

/// `peer` is calling (the main window is not in front). A button pressed on the
/// notification answers the call.
pub fn incoming<R: Runtime>(app: &AppHandle<R>, peer: &str, video: bool) {
    let texts = app.state::<AppState>().texts();
    let app = app.clone();
    platform::incoming(texts, peer, video, move |control| answer(&app, control));
}

/// Hands a notification button's answer to the call.
fn answer<R: Runtime>(app: &AppHandle<R>, control: Command) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if matches!(control, Command::Accept { .. }) {
            crate::shell::show_main(&app);
        }
        let state = app.state::<AppState>();
        if let Err(error) = state.with_session(|s| s.control(control)).await {
            tracing::warn!("{error}");
        }
    });
}

/// The call stopped ringing: its notification goes away.
pub fn withdraw() {
    platform::withdraw();
}

/// `count` calls from `peer` went unanswered. Opening the notification opens the history.
pub fn missed<R: Runtime>(app: &AppHandle<R>, peer: &str, count: usize) {
    let (app, caller) = (app.clone(), peer.to_owned());
    let texts = app.state::<AppState>().texts();
    platform::missed(texts, peer, count, move || crate::missed::open_history(&app, caller));
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use std::time::{Duration, Instant};

    use duet_call::Command;

    use crate::settings::Language;
    use crate::texts::Texts;

    /// A notification daemon on the session bus (dunst in CI); required under CI.
    fn dunst_running() -> bool {
        let running =
            std::process::Command::new("dunstctl").arg("is-paused").output().is_ok_and(|o| o.status.success());
        if !running && std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but no dunst on the session bus: scripts/test.sh starts it");
        }
        running
    }

    fn dunstctl(args: &[&str]) -> String {
        let out = std::process::Command::new("dunstctl").args(args).output().expect("dunstctl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The daemon's notifications are shared: one test at a time uses them.
    static DAEMON: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn eventually(what: &str, check: impl Fn() -> bool) {
        let started = Instant::now();
        while !check() {
            assert!(started.elapsed() < Duration::from_secs(5), "{what}: not within 5 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_missed_call_and_a_withdrawn_ringing_reach_the_notification_daemon() {
        if !dunst_running() {
            eprintln!("skipped: no notification daemon (dunst) on the session bus");
            return;
        }
        let _daemon = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
        // In the language of the settings.
        super::platform::missed(Texts::new(Some(Language::Chinese)), "zoe-missed-test", 2, || {});
        eventually("the missed calls are shown", || {
            dunstctl(&["history"]).contains("zoe-missed-test 的 2 个未接来电")
                || dunstctl(&["count", "displayed"]).trim() != "0"
        });

        // The ringing notification stays until the call stops ringing, then goes away.
        dunstctl(&["close-all"]);
        super::platform::incoming(Texts::new(Some(Language::English)), "zoe-ringing-test", true, |_| {});
        eventually("the incoming call is on screen", || dunstctl(&["count", "displayed"]).trim() == "1");
        super::withdraw();
        eventually("it is withdrawn", || dunstctl(&["count", "displayed"]).trim() == "0");
    }

    #[test]
    fn the_incoming_call_notification_buttons_accept_and_decline() {
        if !dunst_running() {
            eprintln!("skipped: no notification daemon (dunst) on the session bus");
            return;
        }
        // scripts/test.sh starts dunst with scripts/dunst-menu.sh as its menu, which presses
        // the button this test names; another dunst would open a menu nobody answers.
        if !duet_testkit::dunst_menu() {
            return;
        }
        let _daemon = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
        let pick = std::path::Path::new(&std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
            .join("duet-dunst-pick");
        for (button, expected) in [("decline", Command::Decline), ("accept", Command::Accept { audio_only: false })] {
            dunstctl(&["close-all"]);
            std::fs::write(&pick, button).expect("the pick file");
            let (answered, answer) = std::sync::mpsc::channel();
            super::platform::incoming(Texts::new(Some(Language::English)), "zoe-buttons-test", true, move |control| {
                let _ = answered.send(control);
            });
            eventually("the incoming call is on screen", || dunstctl(&["count", "displayed"]).trim() == "1");
            // What a user does with the mouse: open the notification's buttons and press one.
            dunstctl(&["action", "0"]);
            assert_eq!(answer.recv_timeout(Duration::from_secs(5)), Ok(expected), "pressing {button}");
            eventually("the answered notification goes away", || dunstctl(&["count", "displayed"]).trim() == "0");
        }
        let _ = std::fs::remove_file(&pick);
    }
}
