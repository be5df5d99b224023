//! Signing in and out.

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, State};

use crate::error::{AppError, AppResult, ErrorCode};
use crate::local::{self, ECHO_USER};
use crate::policy::{Managed, Policy};
use crate::secrets;
use crate::session::Account;
use crate::state::AppState;

/// What the login screen needs before anyone signs in.
#[derive(Debug, Clone, Serialize, Type)]
pub struct AppInfo {
    pub version: String,
    /// The server this installation is set up for (the policy's, else `DUET_SERVER`), if any.
    pub default_server: Option<String>,
    /// What the administrator's policy manages (nothing when there is none).
    pub policy: Managed,
    /// Why the policy file cannot be used: signing in waits until it is fixed.
    pub policy_error: Option<String>,
    /// The policy file, when there is one (the settings say what it manages).
    pub policy_file: Option<String>,
    /// The webview draws with a real GPU. Without one (Mesa's llvmpipe) video is
    /// drawn with fewer pixels and the page is composited on the CPU.
    pub gpu: bool,
    /// Started for the render-path benchmark (`DUET_RENDER_BENCH=1`): the UI shows only its two videos.
    pub render_bench: bool,
}

#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    let (policy, policy_error) = match &state.policy {
        Ok(policy) => (policy.clone(), None),
        Err(why) => (
            Policy { allow_local_server: false, allow_registration: false, ..Policy::default() },
            Some(why.to_string()),
        ),
    };
    let preset = std::env::var("DUET_SERVER").ok().filter(|s| !s.trim().is_empty());
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        default_server: policy.server.clone().or(preset),
        policy: policy.into(),
        policy_error,
        policy_file: Some(crate::policy::path()).filter(|p| p.exists()).map(|p| p.display().to_string()),
        gpu: crate::graphics::has_gpu(),
        render_bench: crate::render_bench(),
    }
}

/// The login form.
#[derive(Debug, Clone, Deserialize, Type)]
pub struct Credentials {
    pub server: String,
    pub user_id: String,
    pub password: String,
    /// Keep the sign-in in the OS keyring.
    pub remember: bool,
    /// Create this account first (where the server and the policy allow it).
    pub create_account: bool,
}

#[tauri::command]
#[specta::specta]
pub async fn login(app: AppHandle, state: State<'_, AppState>, credentials: Credentials) -> AppResult<Account> {
    let (server, user_id) = (credentials.server.trim().trim_end_matches('/'), credentials.user_id.trim());
    if server.is_empty() || user_id.is_empty() || credentials.password.is_empty() {
        return Err(AppError::new(ErrorCode::BadInput, "Fill in the server, your user name and your password."));
    }
    let policy = state.policy()?;
    if !policy.allows_server(server) {
        let only = policy.server.as_deref().unwrap_or_default();
        return Err(AppError::new(
            ErrorCode::Policy,
            format!("Your administrator set Duet to sign in to {only} only."),
        ));
    }
    let password = &credentials.password;
    let at = duet_client::account::Server { url: server, ca_file: policy.ca_file.as_deref() };
    let token = if !credentials.create_account {
        duet_client::account::login(at, user_id, password).await?
    } else if policy.allow_registration {
        duet_client::account::register(at, user_id, password, user_id).await?
    } else {
        return Err(AppError::new(ErrorCode::Policy, "Your administrator turned off creating accounts here."));
    };
    let account = Account::new(server, user_id, false);
    let mut account = sign_in(app, &state, account, token.token, token.expires_at).await?;
    // Signed in either way; a keyring that cannot remember is said, not fatal.
    if !credentials.remember {
        secrets::forget().await;
    } else if let Err(error) = state.remember().await {
        tracing::warn!("{error}");
        account.warning = Some(error);
    }
    Ok(account)
}

/// Replaces the session with one for `account`, its call events forwarded to the UI.
async fn sign_in(
    app: AppHandle,
    state: &AppState,
    account: Account,
    token: String,
    expires_at: u64,
) -> AppResult<Account> {
    let (account, events) = state.sign_in(account, token, expires_at).await?;
    crate::forward::spawn(app.clone(), events);
    tauri::async_runtime::spawn(crate::missed::tell_at_sign_in(app));
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
    if !state.policy()?.allows_server(&saved.server) {
        secrets::forget().await;
        return Ok(None);
    }
    let account = Account::new(saved.server, saved.user_id, false);
    sign_in(app, &state, account, saved.token, saved.expires_at).await.map(Some)
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
    if !state.policy()?.allow_local_server {
        return Err(AppError::new(ErrorCode::Policy, "Your administrator turned off the built-in server."));
    }
    let user_id = local::local_user_id();
    let (url, (token, expires_at)) = {
        let local = state.local_server().await?;
        local.ensure_user(&user_id, &user_id)?;
        (local.url.clone(), local.issue(&user_id))
    };
    let account = Account::new(url, user_id, true);
    let account = sign_in(app, &state, account, token, expires_at).await?;
    if let Some(session) = state.session.lock().await.as_ref() {
        session.change_contact(ECHO_USER, true).await?;
    }
    Ok(account)
}

/// What the desktop lacks that calls need (a notification service, a sound
/// server), each said with what to do; empty when all is there.
#[tauri::command]
#[specta::specta]
pub async fn system_notices() -> Vec<AppError> {
    tokio::task::spawn_blocking(crate::system::notices).await.unwrap_or_default()
}
