//! The "Check devices" page: camera → microphone → speaker → network → report.
//! Levels arrive as `MicLevel` and `SpeakerLevel` events, the network test's
//! progress as `SpeedTestProgressed`, device changes as `CheckDevicesChanged`.

use duet_devices::{SpeedTestParams, SpeedTestProgress, speed_test, test_sound};
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event;

use crate::checks::Devices;
use crate::checks::{CameraStarted, CheckOutcome, CheckStep, NetworkOutcome, SavedReport, SpeedTestProgressed};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::settings::VideoQuality;
use crate::state::{AppState, signed_out};

/// The expected bandwidth each way the network test goes up to, kbps (a 720p call with room to spare).
const EXPECTED_KBPS: u32 = 3000;

/// Opens the page: forgets earlier outcomes and starts watching for plugged and unplugged devices.
#[tauri::command]
#[specta::specta]
pub async fn start_checks(app: AppHandle) -> AppResult<Devices> {
    blocking(move || Ok(app.state::<AppState>().checks.start(&app))).await
}

/// Leaves the page: every device it opened closes.
#[tauri::command]
#[specta::specta]
pub fn stop_checks(state: State<'_, AppState>) {
    state.checks.stop();
}

/// Shows `camera` (`None`: the first one) on the preview, at the video quality of the settings.
#[tauri::command]
#[specta::specta]
pub async fn check_camera(app: AppHandle, camera: Option<String>) -> AppResult<CameraStarted> {
    blocking(move || {
        let state = app.state::<AppState>();
        let format = match state.settings().quality {
            VideoQuality::Standard => duet_media::VideoFormat::DEFAULT,
            VideoQuality::Hd => duet_media::VideoFormat::HD,
        };
        state.checks.start_camera(camera, format)
    })
    .await
}

/// Listens to `microphone` (`None`: the default one); its level arrives as `MicLevel`.
#[tauri::command]
#[specta::specta]
pub async fn check_microphone(app: AppHandle, microphone: Option<String>) -> AppResult<String> {
    blocking(move || {
        let state = app.state::<AppState>();
        state.checks.start_microphone(&app, microphone.as_deref(), state.sources().voice)
    })
    .await
}

/// Records 3 s from the microphone being checked, then plays it on `speaker`.
#[tauri::command]
#[specta::specta]
pub async fn record_and_play_back(app: AppHandle, speaker: Option<String>) -> AppResult<()> {
    blocking(move || {
        let checks = &app.state::<AppState>().checks;
        let recording = checks.record()?;
        checks.play(&app, speaker.as_deref(), recording).map(drop)
    })
    .await
}

/// Plays the test sound on `speaker` (`None`: the default one); its level arrives as `SpeakerLevel`.
#[tauri::command]
#[specta::specta]
pub async fn check_speaker(app: AppHandle, speaker: Option<String>) -> AppResult<String> {
    blocking(move || app.state::<AppState>().checks.play(&app, speaker.as_deref(), test_sound())).await
}

/// Ends a step with the tester's answer ("can you see yourself clearly?" …; `None`: skipped).
#[tauri::command]
#[specta::specta]
pub async fn finish_check(app: AppHandle, step: CheckStep, answer: Option<bool>) -> AppResult<CheckOutcome> {
    blocking(move || Ok(app.state::<AppState>().checks.finish(step, answer))).await
}

/// Measures the way to the signed-in server: loss each way, RTT, bandwidth each way.
/// Refused during a call, whose bandwidth it would take.
#[tauri::command]
#[specta::specta]
pub async fn test_network(app: AppHandle, state: State<'_, AppState>) -> AppResult<NetworkOutcome> {
    if state.current_call().is_some() {
        return Err(AppError::new(
            ErrorCode::InCall,
            "The network test cannot run during a call: it would take the call's bandwidth. Run it after hanging up.",
        ));
    }
    let params = state
        .with_session(|s| {
            Ok(SpeedTestParams {
                server: s.account.server.clone(),
                token: s.token.clone(),
                expected_up_kbps: EXPECTED_KBPS,
                expected_down_kbps: EXPECTED_KBPS,
            })
        })
        .await
        .map_err(|_| {
            AppError::new(signed_out().code, "Sign in first: the network test measures the way to your Duet server.")
        })?;
    let result = speed_test(&params, |progress| {
        let (phase, percent) = match progress {
            SpeedTestProgress::Connecting => ("connecting", 0),
            SpeedTestProgress::Echo { percent } => ("echo", percent),
            SpeedTestProgress::Upload { percent } => ("upload", percent),
            SpeedTestProgress::Download { percent } => ("download", percent),
        };
        let _ = SpeedTestProgressed { phase: phase.to_owned(), percent }.emit(&app);
    })
    .await;
    Ok(state.checks.network_tested(result))
}

/// Saves the report (HTML and JSON in the app's data directory) of every step so far.
#[tauri::command]
#[specta::specta]
pub async fn save_check_report(app: AppHandle) -> AppResult<SavedReport> {
    blocking(move || app.state::<AppState>().checks.save_report()).await
}

/// Devices open and close slowly (up to seconds): off the async threads.
async fn blocking<T: Send + 'static>(run: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    tauri::async_runtime::spawn_blocking(run)
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("The check stopped unexpectedly: {e}.")))?
}
