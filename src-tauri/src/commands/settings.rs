//! Settings: devices, video quality, beauty, start at login.

use duet_cli::Control;
use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::settings::{Beauty, Settings};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub fn settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Checks, saves and applies `settings`: the beauty filter at once, devices
/// and quality from the next call on, start at login with the OS.
#[tauri::command]
#[specta::specta]
pub async fn save_settings(app: AppHandle, state: State<'_, AppState>, settings: Settings) -> AppResult<Settings> {
    let filter = settings.beauty.to_filter()?;
    let autostart = app.autolaunch();
    let started = if settings.start_at_login { autostart.enable() } else { autostart.disable() };
    // Turning it off when it was never on is fine.
    if let Err(error) = started {
        if settings.start_at_login {
            return Err(AppError::new(ErrorCode::Internal, format!("Duet cannot start at login here: {error}.")));
        }
        tracing::debug!("start at login was not on: {error}");
    }
    settings.save(&state.config_dir)?;
    state.beauty.set(filter);
    *state.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings.clone();
    // Signed out: the next sign-in reads them.
    let _ = state.with_session(|s| s.control(Control::UseSources(settings.sources()))).await;
    Ok(settings)
}

/// Changes the beauty filter live (the in-call sliders), without saving.
#[tauri::command]
#[specta::specta]
pub fn set_beauty(state: State<'_, AppState>, beauty: Beauty) -> AppResult<()> {
    state.beauty.set(beauty.to_filter()?);
    Ok(())
}
