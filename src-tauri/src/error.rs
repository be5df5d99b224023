//! The one error type every command returns: a stable `code` the UI branches on
//! and a message a person can act on.

use serde::{Deserialize, Serialize};
use specta::Type;

/// What went wrong, for the UI to branch on (a message is for people, a code for code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input was refused before anything was tried (empty field, bad address).
    BadInput,
    /// Wrong user name or password, or a token the server does not accept.
    Unauthorized,
    /// The saved sign-in has expired: log in again.
    TokenExpired,
    /// The server could not be reached.
    Unreachable,
    /// The server did not answer in time.
    Timeout,
    /// Not signed in (or the session was closed).
    SignedOut,
    /// The server refused the request (for example: registration is closed).
    Forbidden,
    /// No such user.
    NotFound,
    /// The OS keyring could not store or read the saved sign-in.
    Keyring,
    /// The embedded server could not start.
    LocalServer,
    /// A camera, microphone or speaker failed; the message says which and what to do.
    Device,
    /// The administrator's policy does not allow it (or cannot be read); the message says which.
    Policy,
    /// An update could not be checked, downloaded or verified; the message says why.
    Update,
    /// Not possible during a call (the network test would take the call's bandwidth).
    InCall,
    /// The desktop has no notification service: calls cannot be announced while Duet is in the background.
    Notifications,
    /// No sound server runs: calls would have no sound.
    Audio,
    /// Anything else; the message says what.
    Internal,
}

/// A command's error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    /// What happened and what to do, for people.
    pub message: String,
    /// The technical detail (a library's own error), shown behind a "details" toggle.
    #[serde(default)]
    pub detail: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError { code, message: message.into(), detail: None }
    }

    /// The same error with the technical detail behind it.
    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> AppError {
        self.detail = Some(detail.to_string());
        self
    }
}

impl From<duet_client::Error> for AppError {
    fn from(error: duet_client::Error) -> AppError {
        use duet_client::Error as E;
        use duet_protocol::ErrorCode as Wire;
        let code = match &error {
            E::Connect(_) | E::Certificate(_) | E::Disconnected | E::Closed => ErrorCode::Unreachable,
            E::Timeout => ErrorCode::Timeout,
            E::Server { code: Wire::Unauthorized, .. } => ErrorCode::Unauthorized,
            E::Server { code: Wire::TokenExpired, .. } => ErrorCode::TokenExpired,
            E::Server { code: Wire::Forbidden, .. } => ErrorCode::Forbidden,
            E::Server { code: Wire::NotFound, .. } => ErrorCode::NotFound,
            E::Server { code: Wire::BadRequest, .. } => ErrorCode::BadInput,
            _ => ErrorCode::Internal,
        };
        let message = match (&error, code) {
            (_, ErrorCode::TokenExpired) => "Your sign-in has expired. Log in again.".to_owned(),
            (E::Timeout, _) => "The server did not answer in time. Check the address and your network.".to_owned(),
            _ => sentence(&error.to_string()),
        };
        AppError { code, message, detail: None }
    }
}

/// "cannot reach …" → "Cannot reach …" (the engine's and the crates' messages start in lower case: they are log lines too).
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// "cannot reach …" → "Cannot reach …."
pub fn sentence(text: &str) -> String {
    let mut out = capitalized(text);
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// What commands return.
pub type AppResult<T> = Result<T, AppError>;
