//! The desktop around the calls: one running instance, the tray icon, closing
//! to the tray, `duet://` links, and the incoming-call window and notification
//! when the main window is not in front.

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_specta::Event;

use crate::state::AppState;

pub const MAIN: &str = "main";
/// The small always-on-top window that rings.
pub const INCOMING: &str = "incoming";

/// Whether the tray icon is up: only then does closing the main window hide it.
static TRAY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A `duet://invite/<id>` link was opened (from an offline push, or clicked):
/// the UI lands on that invitation if it still rings, else shows it as missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct InviteLinkOpened {
    pub invite_id: String,
}

/// The invitation id of a `duet://invite/<id>` link.
pub fn invite_id(url: &str) -> Option<String> {
    let rest = url.strip_prefix("duet://invite/")?;
    let id = rest.trim_end_matches('/');
    let valid = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then(|| id.to_owned())
}

/// Which running Duet a second launch talks to (its D-Bus name on Linux): one
/// per data directory, so a second profile (its own `XDG_DATA_HOME`) runs beside the first.
pub fn instance_id() -> String {
    use std::hash::{Hash, Hasher};
    match std::env::var("XDG_DATA_HOME") {
        Ok(dir) if !dir.is_empty() => {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            dir.hash(&mut hasher);
            format!("app.duet.desktop.p{:016x}", hasher.finish())
        }
        _ => "app.duet.desktop".to_owned(),
    }
}

/// Brings the main window to the front (from the tray, a second launch, a link, an accepted call).
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Links opened by the OS (at start, or forwarded by a second launch).
pub fn open_links<R: Runtime>(app: &AppHandle<R>, urls: impl IntoIterator<Item = String>) {
    for url in urls {
        let Some(invite_id) = invite_id(&url) else {
            tracing::warn!("ignoring the link {url}: Duet opens duet://invite/<id> links");
            continue;
        };
        *app.state::<AppState>().invite_link.lock().unwrap_or_else(|e| e.into_inner()) = Some(invite_id.clone());
        if let Err(error) = (InviteLinkOpened { invite_id }).emit(app) {
            tracing::warn!("cannot reach the UI: {error}");
        }
        show_main(app);
    }
}

/// The tray icon: click to show Duet; its menu shows or quits.
pub fn tray<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let texts = app.state::<AppState>().texts();
    let show = MenuItem::with_id(app, "show", texts.show_duet(), true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", texts.quit_duet(), true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit])?;
    let mut tray = TrayIconBuilder::with_id("duet").tooltip("Duet").menu(&menu).show_menu_on_left_click(false);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| match event.id().as_ref() {
        "show" => show_main(app),
        "quit" => app.exit(0),
        _ => {}
    })
    .on_tray_icon_event(|tray, event| {
        if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
            show_main(tray.app_handle());
        }
    })
    .build(app)?;
    TRAY.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Closing the main window hides it: Duet keeps running in the tray, so calls
/// still ring. Without a tray icon closing quits, as nothing could bring it back.
pub fn on_window_event<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event
        && window.label() == MAIN
        && TRAY.load(std::sync::atomic::Ordering::Relaxed)
    {
        api.prevent_close();
        let _ = window.hide();
    }
}

/// A call rings: if the main window is not in front, the incoming-call window
/// comes up on top of everything. Returns whether it did (then a notification goes with it).
pub fn open_incoming<R: Runtime>(app: &AppHandle<R>) -> bool {
    let in_front = app.get_webview_window(MAIN).is_some_and(|w| {
        w.is_visible().unwrap_or(false) && !w.is_minimized().unwrap_or(false) && w.is_focused().unwrap_or(false)
    });
    if in_front || app.get_webview_window(INCOMING).is_some() {
        return false;
    }
    let built = WebviewWindowBuilder::new(app, INCOMING, WebviewUrl::App("index.html#incoming".into()))
        .title(app.state::<AppState>().texts().incoming_window_title())
        .inner_size(340.0, 420.0)
        .resizable(false)
        .always_on_top(true)
        .center()
        .focused(true)
        .build();
    match built {
        Ok(window) => gpu_compositing(&window, false),
        Err(error) => {
            tracing::warn!("the incoming-call window did not open: {error}");
            show_main(app);
        }
    }
    true
}

/// The call stopped ringing (answered, declined, cancelled or timed out): its window closes.
pub fn close_incoming<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(INCOMING) {
        let _ = window.destroy();
    }
}

/// Whether the webview composites its page on the GPU (WebKit's "accelerated
/// compositing"). Off, the page is drawn on the CPU and WebGL's pictures are
/// copied into it: on Linux that idles about 70 MB lighter, and with a software
/// GL driver (no GPU) it also draws video faster (BENCHMARKS.md, "Video on
/// screen"). Windows start with it off; a call turns it on where the webview
/// has a real GPU. Other systems' webviews decide for themselves.
pub fn gpu_compositing<R: Runtime>(window: &tauri::WebviewWindow<R>, on: bool) {
    #[cfg(target_os = "linux")]
    if let Err(error) = window.with_webview(move |webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = webview.inner().settings() {
            let policy = if on { HardwareAccelerationPolicy::Always } else { HardwareAccelerationPolicy::Never };
            settings.set_hardware_acceleration_policy(policy);
        }
    }) {
        tracing::warn!("cannot change how the window draws: {error}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, on);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_links_name_an_invitation() {
        assert_eq!(invite_id("duet://invite/inv-42_a.b"), Some("inv-42_a.b".into()));
        assert_eq!(invite_id("duet://invite/inv-42/"), Some("inv-42".into()));
        assert_eq!(invite_id("duet://invite/"), None);
        assert_eq!(invite_id("duet://invite/../../etc"), None);
        assert_eq!(invite_id("duet://call/bob"), None);
        assert_eq!(invite_id("https://invite/x"), None);
    }
}
