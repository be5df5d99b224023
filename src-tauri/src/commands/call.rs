//! Placing, answering and controlling calls. Each command hands the user's
//! action to the call engine; what happens next arrives as `CallChanged`,
//! `CallStats`, `PeerMedia`, `ChatReceived` and `CallProblem` events.

use duet_call::Command;
use duet_media::DeviceList;
use serde::Deserialize;
use specta::Type;
use tauri::State;

use crate::checks::Devices;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::events::CallChanged;
use crate::state::AppState;

/// Calls `peer` (a video call unless `audio_only`).
#[tauri::command]
#[specta::specta]
pub async fn call(state: State<'_, AppState>, peer: String, audio_only: bool) -> AppResult<()> {
    let peer = peer.trim().to_owned();
    if !duet_protocol::is_valid_user_id(&peer) {
        return Err(AppError::new(ErrorCode::BadInput, format!("\"{peer}\" is not a user name.")));
    }
    state.with_session(|s| s.control(Command::Dial { peer, audio_only })).await
}

/// Accepts the ringing call, with video or as audio only.
#[tauri::command]
#[specta::specta]
pub async fn accept(state: State<'_, AppState>, audio_only: bool) -> AppResult<()> {
    state.with_session(|s| s.control(Command::Accept { audio_only })).await
}

#[tauri::command]
#[specta::specta]
pub async fn decline(state: State<'_, AppState>) -> AppResult<()> {
    state.with_session(|s| s.control(Command::Decline)).await
}

/// Hangs up the call, or cancels the one still ringing at the peer.
#[tauri::command]
#[specta::specta]
pub async fn hang_up(state: State<'_, AppState>) -> AppResult<()> {
    state.with_session(|s| s.control(Command::Hangup)).await
}

/// An in-call switch the user flipped.
#[derive(Debug, Clone, Copy, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    Microphone,
    Camera,
    Speaker,
}

/// Turns the microphone, camera or speaker on or off.
#[tauri::command]
#[specta::specta]
pub async fn set_switch(state: State<'_, AppState>, device: Switch, on: bool) -> AppResult<()> {
    let control = match device {
        Switch::Microphone => Command::Mute(!on),
        Switch::Camera => Command::Camera(on),
        Switch::Speaker => Command::MuteSpeaker(!on),
    };
    state.with_session(|s| s.control(control)).await
}

/// Sends a chat message to the peer (seed 004's custom message: at most 1000
/// bytes). Returns the message's id: a `ChatDelivered` or `ChatFailed` event
/// with that id follows.
#[tauri::command]
#[specta::specta]
pub async fn send_chat(state: State<'_, AppState>, text: String) -> AppResult<u32> {
    let text = text.trim().to_owned();
    if text.is_empty() || text.len() > 1000 {
        return Err(AppError::new(ErrorCode::BadInput, "A message needs 1 to 1000 bytes of text."));
    }
    let id = state.chat_ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    state.with_session(|s| s.control(Command::Chat { id: Some(id), text })).await?;
    Ok(id)
}

#[tauri::command]
#[specta::specta]
pub async fn devices() -> Devices {
    let list = tauri::async_runtime::spawn_blocking(DeviceList::now).await.unwrap_or_default();
    (&list).into()
}

/// Switches the call to another camera, microphone or speaker (`None`: the default one).
#[tauri::command]
#[specta::specta]
pub async fn use_device(state: State<'_, AppState>, kind: Switch, device: Option<String>) -> AppResult<()> {
    let control = match kind {
        Switch::Camera => Command::UseCamera(device),
        Switch::Microphone => Command::UseMicrophone(device),
        Switch::Speaker => Command::UseSpeaker(device),
    };
    state.with_session(|s| s.control(control)).await
}

/// Where the webview reads the call's video frames (see `video.rs`).
#[tauri::command]
#[specta::specta]
pub async fn video_endpoint(state: State<'_, AppState>) -> AppResult<String> {
    state.video.url().await
}

/// The current call's latest state, if a call is going on (the incoming-call window asks when it opens).
#[tauri::command]
#[specta::specta]
pub fn current_call(state: State<'_, AppState>) -> Option<CallChanged> {
    state.current_call()
}

/// A `duet://invite/<id>` link opened before the UI was listening (at start), once.
#[tauri::command]
#[specta::specta]
pub fn take_invite_link(state: State<'_, AppState>) -> Option<String> {
    state.invite_link.lock().unwrap_or_else(|e| e.into_inner()).take()
}
