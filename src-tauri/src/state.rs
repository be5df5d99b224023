//! What the app holds between commands: the session and the embedded server.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::checks::Checks;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::events::{CallChanged, CallPhase};
use crate::local::LocalServer;
use crate::secrets::{self, SavedSignIn};
use crate::session::{Account, Media, Session};
use crate::settings::Settings;
use crate::video::VideoServer;

pub struct AppState {
    pub session: Mutex<Option<Session>>,
    pub local: Mutex<Option<LocalServer>>,
    /// Where the embedded server keeps its data.
    pub data_dir: PathBuf,
    /// Frames on their way to the webview.
    pub video: Arc<VideoServer>,
    /// The latest change of the current call, for a window that opens mid-call.
    pub last_call: std::sync::Mutex<Option<CallChanged>>,
    /// A `duet://invite/<id>` link the UI has not handled yet (one opened at start).
    pub invite_link: std::sync::Mutex<Option<String>>,
    /// Where the settings are saved, and what they are now.
    pub config_dir: PathBuf,
    pub settings: std::sync::Mutex<Settings>,
    /// The beauty filter's live settings: calls read them on every frame.
    pub beauty: duet_beauty::SettingsHandle,
    /// The "Check devices" page's running checks.
    pub checks: Checks,
    /// The administrator's policy, or why its file cannot be used.
    pub policy: Result<crate::policy::Policy, crate::policy::PolicyError>,
    /// The newer version found by the last check, to install when the user says so.
    pub update: Mutex<Option<tauri_plugin_updater::Update>>,
    /// A ringtone playing from the settings.
    pub ring_preview: std::sync::Mutex<Option<duet_devices::SpeakerTest>>,
    /// Numbers the chat messages this app sends, so the UI can mark each delivered or failed.
    pub chat_ids: std::sync::atomic::AtomicU32,
}

impl AppState {
    pub fn new(data_dir: PathBuf, config_dir: PathBuf) -> AppState {
        let settings = Settings::load(&config_dir);
        let beauty = duet_beauty::SettingsHandle::new(settings.beauty.to_filter().unwrap_or_default());
        let video = Arc::<VideoServer>::default();
        let checks = Checks::new(video.clone(), data_dir.join("reports"), crate::settings::synthetic_sources());
        AppState {
            checks,
            ring_preview: Default::default(),
            chat_ids: Default::default(),
            update: Mutex::new(None),
            policy: crate::policy::Policy::load(&crate::policy::path()),
            config_dir,
            settings: std::sync::Mutex::new(settings),
            beauty,
            session: Mutex::new(None),
            local: Mutex::new(None),
            data_dir,
            video,
            last_call: Default::default(),
            invite_link: Default::default(),
        }
    }

    /// The shell's texts in the chosen language (notifications, tray).
    pub fn texts(&self) -> crate::texts::Texts {
        crate::texts::Texts::new(self.settings().language)
    }

    /// The settings now.
    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What calls capture from and play to: the settings' devices, with the
    /// voice processing the policy leaves to the user.
    pub fn sources(&self) -> duet_call::Sources {
        let settings = self.settings();
        let voice = self.policy.as_ref().map_or(settings.voice, |p| p.voice(settings.voice));
        settings.sources(voice)
    }

    /// Whether calls go only through the server's relay: the user's setting, or the policy's.
    pub fn relay_only(&self) -> bool {
        self.settings().relay_only || self.policy.as_ref().is_ok_and(|p| p.relay_only)
    }

    /// The administrator's policy; a policy file that cannot be read allows nothing until it is fixed.
    pub fn policy(&self) -> AppResult<&crate::policy::Policy> {
        self.policy.as_ref().map_err(|why| AppError::new(ErrorCode::Policy, format!("{why} Ask your administrator.")))
    }

    /// The call going on (ringing, connecting or connected), if any.
    pub fn current_call(&self) -> Option<CallChanged> {
        let last = self.last_call.lock().unwrap_or_else(|e| e.into_inner()).clone();
        last.filter(|c| {
            !matches!(c.phase, CallPhase::Ended | CallPhase::Failed | CallPhase::Idle | CallPhase::Prepared)
        })
    }

    /// Runs `f` on the signed-in session.
    pub async fn with_session<T>(&self, f: impl FnOnce(&Session) -> AppResult<T>) -> AppResult<T> {
        f(self.session.lock().await.as_ref().ok_or_else(signed_out)?)
    }

    /// Replaces the current session (if any) with one for `account`; its call
    /// engine's events come out of the receiver.
    pub async fn sign_in(
        &self,
        account: Account,
        token: String,
        expires_at: u64,
    ) -> AppResult<(Account, UnboundedReceiver<duet_call::Event>)> {
        let beauty = self.beauty.clone();
        let make = move |fps| -> Box<dyn duet_media::FrameProcessor> {
            Box::new(duet_beauty::BeautyProcessor::new(duet_beauty::Backend::Auto, beauty.clone(), fps))
        };
        let media = Media {
            sources: self.sources(),
            video_out: self.video.output(),
            processing: Some(duet_call::Processing(Arc::new(make))),
            relay_only: self.relay_only(),
        };
        let ca_file = self.policy.as_ref().ok().and_then(|p| p.ca_file.clone());
        let (session, events) = Session::connect(account, token, expires_at, media, ca_file).await?;
        let account = session.account.clone();
        let old = self.session.lock().await.replace(session);
        if let Some(old) = old {
            old.close().await;
        }
        Ok((account, events))
    }

    /// The server renewed the session's token: reconnects use it already; the
    /// session keeps it, and so does the keyring when this sign-in is remembered
    /// there, so the next start signs in without the password.
    pub async fn token_renewed(&self, token: String, expires_at: u64) -> AppResult<()> {
        let (server, user_id) = {
            let mut session = self.session.lock().await;
            let Some(session) = session.as_mut() else { return Ok(()) };
            session.token = token.clone();
            session.expires_at = expires_at;
            (session.account.server.clone(), session.account.user_id.clone())
        };
        match secrets::load().await? {
            Some(saved) if saved.server == server && saved.user_id == user_id => {
                secrets::save(SavedSignIn { token, expires_at, ..saved }).await
            }
            _ => Ok(()),
        }
    }

    /// Remembers the current session in the keyring.
    pub async fn remember(&self) -> AppResult<()> {
        let saved = {
            let session = self.session.lock().await;
            let session = session.as_ref().ok_or_else(signed_out)?;
            SavedSignIn {
                server: session.account.server.clone(),
                user_id: session.account.user_id.clone(),
                token: session.token.clone(),
                expires_at: session.expires_at,
            }
        };
        secrets::save(saved).await
    }

    /// The embedded server, started on first use.
    pub async fn local_server(&self) -> AppResult<tokio::sync::MappedMutexGuard<'_, LocalServer>> {
        let mut local = self.local.lock().await;
        if local.is_none() {
            *local = Some(LocalServer::start(&self.data_dir.join("server")).await?);
        }
        Ok(tokio::sync::MutexGuard::map(local, |l| l.as_mut().expect("started above")))
    }
}

pub fn signed_out() -> AppError {
    AppError::new(ErrorCode::SignedOut, "You are not signed in.")
}
