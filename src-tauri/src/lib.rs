//! The Duet desktop shell. It only wires the crates to the web UI; the logic lives in `crates/*`.
//!
//! Commands and events are typed with tauri-specta: `bindings()` describes them,
//! and `ui/src/bindings.ts` is generated from it (a test keeps the file current).

mod checks;
mod commands;
pub mod error;
mod events;
mod forward;
pub mod graphics;
mod local;
mod missed;
mod notify;
pub mod policy;
mod secrets;
pub mod session;
pub mod settings;
pub mod shell;
mod state;
mod system;
mod texts;
pub mod update;
pub mod video;

use tauri::Manager;
use tauri_specta::{collect_commands, collect_events};

/// Every command and event the UI may use.
pub fn bindings() -> tauri_specta::Builder<tauri::Wry> {
    use commands::{account, call, checks, contacts, settings};
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            account::app_info,
            account::login,
            account::resume,
            account::logout,
            account::use_local_server,
            account::system_notices,
            contacts::contacts,
            contacts::add_contact,
            contacts::remove_contact,
            contacts::history,
            call::call,
            call::accept,
            call::decline,
            call::hang_up,
            call::set_switch,
            call::send_chat,
            call::devices,
            call::use_device,
            call::video_endpoint,
            call::current_call,
            call::take_invite_link,
            settings::settings,
            settings::save_settings,
            settings::set_beauty,
            settings::preview_ringtone,
            settings::set_gpu_compositing,
            settings::check_for_update,
            settings::install_update,
            checks::start_checks,
            checks::stop_checks,
            checks::check_camera,
            checks::check_microphone,
            checks::record_and_play_back,
            checks::check_speaker,
            checks::finish_check,
            checks::test_network,
            checks::save_check_report,
        ])
        .events(collect_events![
            session::PresenceChanged,
            session::ConnectionChanged,
            session::SignedOut,
            crate::events::CallChanged,
            crate::events::CallStats,
            crate::events::PeerMedia,
            crate::events::PeerConnection,
            crate::events::LocalMedia,
            crate::events::ChatReceived,
            crate::events::ChatDelivered,
            crate::events::Verification,
            crate::events::MediaChanged,
            crate::events::ChatFailed,
            crate::events::CallProblem,
            shell::InviteLinkOpened,
            crate::missed::HistoryRequested,
            crate::checks::CheckDevicesChanged,
            crate::checks::MicLevel,
            crate::checks::SpeakerLevel,
            crate::checks::CheckFailed,
            crate::checks::SpeedTestProgressed,
        ])
        // One shape per type: nothing here reads differently in each direction.
        .disable_serde_phases()
}

/// `duet://` links: the one Duet was started with, and those opened while it runs.
fn links(app: &tauri::AppHandle) {
    use tauri_plugin_deep_link::DeepLinkExt;
    // Installed packages register the scheme in their desktop entry; a development build registers itself.
    #[cfg(any(target_os = "linux", windows))]
    if cfg!(debug_assertions)
        && let Err(error) = app.deep_link().register_all()
    {
        tracing::warn!("duet:// links are not registered: {error}");
    }
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| shell::open_links(&handle, event.urls().iter().map(|u| u.to_string())));
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        shell::open_links(app, urls.iter().map(|u| u.to_string()));
    }
}

/// Started by the render-path benchmark (`benches/render.rs`).
fn render_bench() -> bool {
    std::env::var("DUET_RENDER_BENCH").is_ok_and(|v| v == "1")
}

/// When the process started, for the start-up figure (BENCHMARKS.md).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Milliseconds since the app started.
pub fn since_start_ms() -> u128 {
    STARTED.get().map_or(0, |at| at.elapsed().as_millis())
}

/// Starts the desktop app and blocks until it exits.
pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    // Worked out beside the start-up, so the login screen's `app_info` finds it done.
    std::thread::spawn(graphics::has_gpu);
    let bindings = bindings();
    tauri::Builder::default()
        // First: a second launch (a `duet://` link, or the user starting Duet again) hands its
        // arguments to this one, whose deep-link plugin reads the links; the window comes to the front.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .callback(|app, _argv, _cwd| shell::show_main(app))
                .dbus_id(shell::instance_id())
                .build(),
        )
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, None))
        .invoke_handler(bindings.invoke_handler())
        .on_window_event(shell::on_window_event)
        .setup(move |app| {
            bindings.mount_events(app);
            let state = state::AppState::new(app.path().app_data_dir()?, app.path().app_config_dir()?);
            if render_bench() {
                video::start_render_bench(state.video.clone());
            }
            app.manage(state);
            let handle = app.handle().clone();
            if let Err(error) = shell::tray(&handle) {
                tracing::warn!("no tray icon ({error}): closing the window quits Duet");
            }
            links(&handle);
            if let Some(main) = handle.get_webview_window(shell::MAIN) {
                shell::gpu_compositing(&main, false);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("error while building the Duet desktop app")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                let state = app.state::<state::AppState>();
                // Quitting during a call hangs up, so the peer is not left waiting.
                let session = tauri::async_runtime::block_on(state.session.lock()).take();
                if let Some(session) = session {
                    tauri::async_runtime::block_on(session.close());
                }
                // The embedded server closes its database cleanly.
                let local = tauri::async_runtime::block_on(state.local.lock()).take();
                if let Some(local) = local {
                    tauri::async_runtime::block_on(local.stop());
                }
            }
        });
}
