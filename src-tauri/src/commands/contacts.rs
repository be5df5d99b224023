//! The contact list and the call history.

use tauri::State;

use crate::error::AppResult;
use crate::session::{CallRecord, Contact};
use crate::state::{AppState, signed_out};

/// The contact list with presence; `PresenceChanged` events follow.
#[tauri::command]
#[specta::specta]
pub async fn contacts(state: State<'_, AppState>) -> AppResult<Vec<Contact>> {
    state.session.lock().await.as_ref().ok_or_else(signed_out)?.contacts().await
}

/// Adds `user_id` and returns the new list.
#[tauri::command]
#[specta::specta]
pub async fn add_contact(state: State<'_, AppState>, user_id: String) -> AppResult<Vec<Contact>> {
    change(&state, &user_id, true).await
}

/// Removes `user_id` and returns the new list.
#[tauri::command]
#[specta::specta]
pub async fn remove_contact(state: State<'_, AppState>, user_id: String) -> AppResult<Vec<Contact>> {
    change(&state, &user_id, false).await
}

async fn change(state: &AppState, user_id: &str, add: bool) -> AppResult<Vec<Contact>> {
    let session = state.session.lock().await;
    let session = session.as_ref().ok_or_else(signed_out)?;
    session.change_contact(user_id, add).await?;
    session.contacts().await
}

/// The latest calls (completed, missed, rejected, cancelled …), newest first.
#[tauri::command]
#[specta::specta]
pub async fn history(state: State<'_, AppState>) -> AppResult<Vec<CallRecord>> {
    state.session.lock().await.as_ref().ok_or_else(signed_out)?.history(100).await
}
