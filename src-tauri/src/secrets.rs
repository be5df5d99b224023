//! The remembered sign-in, kept in the OS keyring (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows) and nowhere else.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, ErrorCode};

const SERVICE: &str = "duet";
const ENTRY: &str = "sign-in";

/// What "remember me" keeps: enough to reconnect without the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSignIn {
    pub server: String,
    pub user_id: String,
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: u64,
}

fn entry() -> AppResult<keyring::Entry> {
    keyring::Entry::new(SERVICE, ENTRY).map_err(unavailable)
}

/// What a person reads when the keyring fails: what it means and what to do; the
/// library's own words ("SS error: …") only as the detail.
fn unavailable(error: keyring::Error) -> AppError {
    AppError::new(
        ErrorCode::Keyring,
        "Duet cannot reach the system keyring, so it cannot remember your sign-in. \
         Start your desktop's keyring (GNOME Keyring or KWallet) or log in to a full desktop session, then sign in again.",
    )
    .with_detail(error)
}

/// Keeps `saved` in the keyring, replacing what was there.
pub async fn save(saved: SavedSignIn) -> AppResult<()> {
    blocking(move || {
        let text = serde_json::to_string(&saved).map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        entry()?.set_password(&text).map_err(unavailable)
    })
    .await
}

/// The remembered sign-in, if there is one (an unreadable entry is forgotten).
pub async fn load() -> AppResult<Option<SavedSignIn>> {
    blocking(|| {
        let entry = entry()?;
        match entry.get_password() {
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    })
    .await
}

/// Forgets the remembered sign-in (logging out, or signing in without "remember
/// me"). Best effort: a keyring that cannot be reached could not have kept one,
/// so its failure is logged, not put in the way of signing out.
pub async fn forget() {
    let forgotten = blocking(|| match entry()?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(error) => Err(unavailable(error)),
    })
    .await;
    if let Err(error) = forgotten {
        tracing::warn!("cannot forget the remembered sign-in: {error}");
    }
}

/// How long the keyring may take. A locked keyring can wait for its password
/// prompt forever; signing in must not.
const KEYRING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The keyring's calls block (and its Secret Service backend runs its own runtime).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    match tokio::time::timeout(KEYRING_TIMEOUT, tokio::task::spawn_blocking(work)).await {
        Ok(done) => done.map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?,
        Err(_) => Err(AppError::new(
            ErrorCode::Keyring,
            "The system keyring did not answer (it may be locked, waiting for its password), \
             so the sign-in cannot be remembered.",
        )
        .with_detail(format!("no answer from the keyring within {} s", KEYRING_TIMEOUT.as_secs()))),
    }
}
