//! Updates through tauri-plugin-updater: the release server's manifest names
//! the newest version, its notes and its signed package; the package installs
//! only when its minisign signature verifies against the release key in
//! `tauri.conf.json` (`plugins.updater.pubkey`) *and* was made for the version
//! the manifest announces (`requireSignedVersion`), so an old genuine package
//! cannot be passed off as a new one. An older version is refused outright.
//!
//! The manifest address may hold `{channel}`: the administrator's policy picks
//! `stable` or `beta`, or turns update checks off (docs/admin.md).
//! `scripts/update-manifest.mjs` writes the manifest of a release.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Runtime};
use tauri_plugin_updater::{Update, UpdaterExt};

use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::UpdateChannel;

/// A newer version, as the settings show it before anyone installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct UpdateInfo {
    pub version: String,
    pub current_version: String,
    /// The release notes.
    pub notes: Option<String>,
    /// When it was published, when the manifest says.
    pub date: Option<String>,
}

impl From<&Update> for UpdateInfo {
    fn from(update: &Update) -> UpdateInfo {
        UpdateInfo {
            version: update.version.clone(),
            current_version: update.current_version.clone(),
            notes: update.body.clone().filter(|notes| !notes.trim().is_empty()),
            date: update.date.map(|d| d.to_string()),
        }
    }
}

fn failed(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::Update, message)
}

/// The manifest addresses of this build, with `{channel}` filled in.
fn endpoints<R: Runtime>(app: &AppHandle<R>, channel: &str) -> Vec<tauri::Url> {
    let configured = app.config().plugins.0.get("updater").and_then(|u| u.get("endpoints")).cloned();
    let configured: Vec<String> = configured.and_then(|e| serde_json::from_value(e).ok()).unwrap_or_default();
    configured.iter().filter_map(|e| e.replace("{channel}", channel).parse().ok()).collect()
}

/// Asks the release server of `channel` for a newer version.
pub async fn check<R: Runtime>(app: &AppHandle<R>, channel: UpdateChannel) -> AppResult<Option<Update>> {
    let channel = match channel {
        UpdateChannel::Stable => "stable",
        UpdateChannel::Beta => "beta",
        UpdateChannel::Off => {
            return Err(AppError::new(ErrorCode::Policy, "Your administrator installs new versions of Duet here."));
        }
    };
    let endpoints = endpoints(app, channel);
    if endpoints.is_empty() {
        return Err(failed("This build of Duet has no update server: new versions come as installers."));
    }
    // What the server offered, to say why an older version is not offered to the user.
    let offered = Arc::new(Mutex::new(None));
    let seen = offered.clone();
    let updater = app
        .updater_builder()
        .endpoints(endpoints)
        .map_err(|e| failed(format!("The update server address is not valid: {e}.")))?
        .version_comparator(move |current, release| {
            *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some((current.clone(), release.version.clone()));
            release.version > current
        })
        .build()
        .map_err(|e| failed(format!("Updates cannot be checked here: {e}.")))?;
    let update = updater.check().await.map_err(|e| failed(format!("The update server cannot be reached: {e}.")))?;
    if update.is_none()
        && let Some((current, version)) = offered.lock().unwrap_or_else(|e| e.into_inner()).take()
        && version < current
    {
        return Err(failed(format!(
            "The update server offers version {version}, older than this one ({current}): it is not installed."
        )));
    }
    Ok(update)
}

/// Downloads `update` and checks its signature and signed version; the package's bytes.
pub async fn download(update: &Update) -> AppResult<Vec<u8>> {
    use tauri_plugin_updater::Error as E;
    update.download(|_, _| {}, || {}).await.map_err(|error| match error {
        E::Minisign(_) | E::SignatureUtf8(_) | E::Base64(_) => failed(format!(
            "The downloaded version {} is not signed by Duet's release key (tampered, or signed with another key): it is not installed.",
            update.version
        )),
        E::SignedVersionMismatch { signed, announced } => failed(format!(
            "The update server announced version {announced} but sent the package of version {signed}: it is not installed."
        )),
        E::MissingSignedVersion => failed(format!(
            "The package of version {} does not say which version it was signed for: it is not installed.",
            update.version
        )),
        other => failed(format!("Version {} could not be downloaded: {other}.", update.version)),
    })
}
