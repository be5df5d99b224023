//! Settings: devices, video quality, beauty, start at login.

use duet_call::Command;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_autostart::ManagerExt;

use crate::error::{AppError, AppResult, ErrorCode};
use std::time::Duration;

use duet_devices::SpeakerTest;
use duet_media::audio::{Cue, CuePlayer, cue_amplitude};

use crate::settings::{Beauty, Ringtone, Settings};
use crate::state::AppState;
use crate::update::UpdateInfo;

/// Composites the calling window on the GPU (`on`, during a call where the
/// webview has a real GPU) or on the CPU (the default, lighter at idle).
#[tauri::command]
#[specta::specta]
pub fn set_gpu_compositing(window: tauri::WebviewWindow, on: bool) {
    crate::shell::gpu_compositing(&window, on);
}

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
    settings.ring()?;
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
    let relay_only = state.relay_only();
    let sources = state.sources();
    let _ = state
        .with_session(|s| {
            s.control(Command::UseSources(sources))?;
            s.control(Command::RelayOnly(relay_only))
        })
        .await;
    Ok(settings)
}

/// Plays a few seconds of `ringtone` at `volume` (0–100) on `speaker` (`None`: the default one).
#[tauri::command]
#[specta::specta]
pub async fn preview_ringtone(
    app: AppHandle,
    ringtone: Ringtone,
    volume: u8,
    speaker: Option<String>,
) -> AppResult<()> {
    let ring = Settings { ringtone, ringtone_volume: volume, ..Settings::default() }.ring()?;
    tauri::async_runtime::spawn_blocking(move || {
        let sound =
            CuePlayer::new(Cue::Ringtone(ring.tone), cue_amplitude(f32::from(ring.volume) / 100.0)).take(PREVIEW_MS);
        let playing = SpeakerTest::start(speaker.as_deref(), sound, Duration::from_millis(200), |_| {})
            .map_err(|e| AppError::new(ErrorCode::Device, format!("The ringtone cannot play: {e}.")))?;
        // A new preview replaces the one playing.
        *app.state::<AppState>().ring_preview.lock().unwrap_or_else(|e| e.into_inner()) = Some(playing);
        Ok(())
    })
    .await
    .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
}

/// How much of a ringtone a preview plays.
const PREVIEW_MS: u32 = 3000;

/// Changes the beauty filter live (the in-call sliders), without saving.
#[tauri::command]
#[specta::specta]
pub fn set_beauty(state: State<'_, AppState>, beauty: Beauty) -> AppResult<()> {
    state.beauty.set(beauty.to_filter()?);
    Ok(())
}

/// Asks the release server for a newer version (the channel of the administrator's policy).
#[tauri::command]
#[specta::specta]
pub async fn check_for_update(app: AppHandle, state: State<'_, AppState>) -> AppResult<Option<UpdateInfo>> {
    let channel = state.policy()?.update_channel;
    let update = crate::update::check(&app, channel).await?;
    let info = update.as_ref().map(UpdateInfo::from);
    *state.update.lock().await = update;
    Ok(info)
}

/// Downloads the version the last check found, verifies it, installs it and restarts Duet.
#[tauri::command]
#[specta::specta]
pub async fn install_update(app: AppHandle, state: State<'_, AppState>) -> AppResult<()> {
    let update = state.update.lock().await.clone();
    let update = update.ok_or_else(|| AppError::new(ErrorCode::BadInput, "Check for updates first."))?;
    let package = crate::update::download(&update).await?;
    update.install(package).map_err(|e| {
        AppError::new(ErrorCode::Update, format!("Version {} could not be installed: {e}.", update.version))
    })?;
    app.restart()
}
