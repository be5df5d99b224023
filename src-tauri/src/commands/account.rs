//! Signing in and out.

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, State};

use crate::error::{AppError, AppResult, ErrorCode};
use crate::local::{self, ECHO_USER};
use crate::secrets;
use crate::session::Account;
use crate::state::AppState;

/// What the login screen needs before anyone signs in.
#[derive(Debug, Clone, Serialize, Type)]
pub struct AppInfo {
    pub version: String,
    /// The server this installation is set up for (`DUET_SERVER`), if any.
    pub default_server: Option<String>,
    /// Started for the render-path benchmark (`DUET_RENDER_BENCH=1`): the UI shows only its two videos.
    pub render_bench: bool,
}

#[tauri::command]
#[specta::specta]
pub fn app_info() -> AppInfo {
    let default_server = std::env::var("DUET_SERVER").ok().filter(|s| !s.trim().is_empty());
    AppInfo { version: env!("CARGO_PKG_VERSION").to_owned(), default_server, render_bench: crate::render_bench() }
}

/// The login form.
#[derive(Debug, Clone, Deserialize, Type)]
pub struct Credentials {
    pub server: String,
    pub user_id: String,
    pub password: String,
    /// Keep the sign-in in the OS keyring.
    pub remember: bool,
}

#[tauri::command]
#[specta::specta]
pub async fn login(app: AppHandle, state: State<'_, AppState>, credentials: Credentials) -> AppResult<Account> {
    let (server, user_id) = (credentials.server.trim().trim_end_matches('/'), credentials.user_id.trim());
    if server.is_empty() || user_id.is_empty() || credentials.password.is_empty() {
        return Err(AppError::new(ErrorCode::BadInput, "Fill in the server, your user name and your password."));
    }
    let token = duet_client::account::login(server, user_id, &credentials.password).await?;
    let account = Account { server: server.to_owned(), user_id: user_id.to_owned(), local: false, warning: None };
    let mut account = state.sign_in(app, account, token.token, token.expires_at).await?;
    // Signed in either way; a keyring that cannot remember is said, not fatal.
    if !credentials.remember {
        secrets::forget().await;
    } else if let Err(error) = state.remember().await {
        tracing::warn!("{error}");
        account.warning = Some(format!("{} You will need to log in again next time.", error.message));
    }
    Ok(account)
}

/// Signs in with the remembered sign-in, if there is one and it is still valid.
#[tauri::command]
#[specta::specta]
pub async fn resume(app: AppHandle, state: State<'_, AppState>) -> AppResult<Option<Account>> {
    // The UI's first screen depends on this answer: its script is running.
    tracing::info!(target: "duet_app::startup", ms = crate::since_start_ms() as u64, "the UI is up");
    // Without a keyring nothing can have been remembered: the login screen, not an error.
    let saved = secrets::load().await.unwrap_or_else(|error| {
        tracing::warn!("{error}");
        None
    });
    let Some(saved) = saved else { return Ok(None) };
    if saved.expires_at <= duet_server::now_ms() {
        secrets::forget().await;
        return Err(AppError::new(ErrorCode::TokenExpired, "Your sign-in has expired. Log in again."));
    }
    let account = Account { server: saved.server, user_id: saved.user_id, local: false, warning: None };
    state.sign_in(app, account, saved.token, saved.expires_at).await.map(Some)
}

#[tauri::command]
#[specta::specta]
pub async fn logout(state: State<'_, AppState>) -> AppResult<()> {
    let session = state.session.lock().await.take();
    if let Some(session) = session {
        session.close().await;
    }
    secrets::forget().await;
    Ok(())
}

/// Starts the built-in server (if it is not running) and signs in to it as the
/// person at this computer, with the echo user as a first contact.
#[tauri::command]
#[specta::specta]
pub async fn use_local_server(app: AppHandle, state: State<'_, AppState>) -> AppResult<Account> {
    let user_id = local::local_user_id();
    let (url, (token, expires_at)) = {
        let local = state.local_server().await?;
        local.ensure_user(&user_id, &user_id)?;
        (local.url.clone(), local.issue(&user_id))
    };
    let account = Account { server: url, user_id, local: true, warning: None };
    let account = state.sign_in(app, account, token, expires_at).await?;
    if let Some(session) = state.session.lock().await.as_ref() {
        session.change_contact(ECHO_USER, true).await?;
    }
    Ok(account)
}
