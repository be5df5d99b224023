//! The signed-in session: the signaling connection and the call engine on it.
//! The engine's events go to `forward.rs` (presence, connection state, calls,
//! a sign-in that stopped working).

use std::time::Duration;

use duet_call::{Command, Config, Engine, EngineHandle};
use duet_client::{CallEvent, CallManager, ClientConfig, ClientEvent, ManagerConfig};
use duet_protocol::{ClientMessage, ContactsChange, ContactsList, HistoryList, ServerMessage, Status};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri_specta::Event;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::error::{AppError, AppResult, ErrorCode};

/// How long connecting after login may take before the user is told.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is signed in, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Account {
    pub server: String,
    pub user_id: String,
    /// Signed in to the server this app runs itself.
    pub local: bool,
    /// Signed in, but something the user asked for did not happen (the keyring
    /// could not remember the sign-in): shown once on the next screen.
    pub warning: Option<AppError>,
    /// Who answers test calls on this server (`auth.ok`'s `echo_user`), if anyone.
    pub echo_user: Option<String>,
}

impl Account {
    /// Who is about to sign in to `server`; the rest comes from the server.
    pub fn new(server: impl Into<String>, user_id: impl Into<String>, local: bool) -> Account {
        Account { server: server.into(), user_id: user_id.into(), local, warning: None, echo_user: None }
    }
}

/// A contact as the contact list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Contact {
    pub user_id: String,
    pub display_name: String,
    pub status: Presence,
    pub avatar_url: Option<String>,
}

/// One call in the history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct CallRecord {
    pub invite_id: String,
    pub peer: String,
    /// Placed by us (`true`) or received.
    pub outgoing: bool,
    pub video: bool,
    /// `completed`, `missed`, `rejected`, `busy`, `cancelled` or `timeout`.
    pub outcome: String,
    /// When the call was placed, Unix milliseconds.
    pub started_at: f64,
    pub duration_s: u32,
}

impl CallRecord {
    /// A received call nobody here answered (the history's "missed", as the UI marks it).
    pub fn is_missed(&self) -> bool {
        !self.outgoing && !matches!(self.outcome.as_str(), "completed" | "rejected")
    }
}

impl From<duet_protocol::HistoryEntry> for CallRecord {
    fn from(e: duet_protocol::HistoryEntry) -> CallRecord {
        CallRecord {
            invite_id: e.invite_id,
            peer: e.peer,
            outgoing: e.direction == duet_protocol::Direction::Out,
            video: e.call_type == duet_protocol::CallType::Video,
            outcome: e.outcome.as_str().to_owned(),
            started_at: e.started_at as f64,
            duration_s: e.duration_s.min(u64::from(u32::MAX)) as u32,
        }
    }
}

/// A user's presence dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Busy,
    Offline,
}

impl From<Status> for Presence {
    fn from(status: Status) -> Presence {
        match status {
            Status::Online => Presence::Online,
            Status::Busy => Presence::Busy,
            Status::Offline => Presence::Offline,
        }
    }
}

/// A contact's presence changed.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct PresenceChanged {
    pub user_id: String,
    pub status: Presence,
}

/// The connection to the server dropped (it is being re-established) or came back.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct ConnectionChanged {
    pub online: bool,
    pub reason: Option<String>,
}

/// The server no longer accepts this sign-in (expired, or the account changed):
/// the UI goes back to the login screen with the message.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct SignedOut {
    pub error: AppError,
}

/// A live connection for one account, with the media engine that places and
/// answers its calls.
pub struct Session {
    pub account: Account,
    pub token: String,
    /// When the token expires (Unix milliseconds).
    pub expires_at: u64,
    engine: EngineHandle,
}

impl Session {
    /// Connects with `token`; fails with a clear error when the server refuses
    /// it or cannot be reached, instead of retrying in the background forever.
    /// The engine's events come out of the receiver.
    pub async fn connect(
        mut account: Account,
        token: String,
        expires_at: u64,
        media: Media,
        ca_file: Option<std::path::PathBuf>,
    ) -> AppResult<(Session, UnboundedReceiver<duet_call::Event>)> {
        let config =
            ClientConfig { ca_file: ca_file.clone(), ..ClientConfig::new(account.server.clone(), token.clone()) };
        let (manager, mut events) = CallManager::start(ManagerConfig::new(config));
        let first = tokio::time::timeout(CONNECT_TIMEOUT, events.recv()).await;
        let failed = match first {
            Ok(Some(CallEvent::Connection(ClientEvent::Connected { echo_user, .. }))) => {
                account.echo_user = echo_user;
                None
            }
            Ok(Some(CallEvent::Connection(ClientEvent::AuthFailed { code, message }))) => {
                Some(AppError::from(duet_client::Error::Server { code, message }))
            }
            Ok(Some(CallEvent::Connection(ClientEvent::CertificateRejected { message }))) => {
                Some(AppError::from(duet_client::Error::Certificate(message)))
            }
            Ok(Some(CallEvent::Connection(ClientEvent::Disconnected { reason }))) => Some(AppError::new(
                ErrorCode::Unreachable,
                format!("Cannot reach the server at {}: {reason}.", account.server),
            )),
            Ok(Some(_) | None) => Some(AppError::new(ErrorCode::Internal, "The connection closed while signing in.")),
            Err(_) => Some(AppError::new(
                ErrorCode::Timeout,
                format!("The server at {} did not answer in time.", account.server),
            )),
        };
        if let Some(error) = failed {
            manager.client().close();
            return Err(error);
        }
        let config = Config {
            // Loopback for the built-in server's echo, the other interfaces for everyone else.
            udp_addrs: vec!["127.0.0.1:0".to_owned(), "0.0.0.0:0".to_owned()],
            video_out: Some(media.video_out),
            processing: media.processing,
            relay_only: media.relay_only,
            ca_file,
            ..Config::new(account.server.clone(), token.clone(), media.sources)
        };
        let (engine, engine_events) = Engine::attach(manager, events, config);
        Ok((Session { account, token, expires_at, engine }, engine_events))
    }

    /// Hands a user's action (dial, accept, mute …) to the call engine.
    pub fn control(&self, command: Command) -> AppResult<()> {
        self.engine
            .send(command)
            .map_err(|_| AppError::new(ErrorCode::SignedOut, "The connection to the server has ended. Log in again."))
    }

    /// The contact list, and live presence for everyone on it from now on.
    pub async fn contacts(&self) -> AppResult<Vec<Contact>> {
        let client = self.engine.client();
        let reply = client.request(ClientMessage::ContactsList(ContactsList { req: None })).await?;
        let ServerMessage::ContactsOk(ok) = reply else {
            return Err(AppError::new(ErrorCode::Internal, "The server sent something other than the contact list."));
        };
        client.subscribe(ok.contacts.iter().map(|c| c.user_id.clone()).collect())?;
        Ok(ok
            .contacts
            .into_iter()
            .map(|c| Contact {
                user_id: c.user_id,
                display_name: c.display_name,
                status: c.status.into(),
                avatar_url: c.avatar_url,
            })
            .collect())
    }

    /// The latest `limit` calls, newest first.
    pub async fn history(&self, limit: u32) -> AppResult<Vec<CallRecord>> {
        let request = ClientMessage::HistoryList(HistoryList { req: None, limit: Some(limit), before: None });
        let ServerMessage::HistoryOk(ok) = self.engine.client().request(request).await? else {
            return Err(AppError::new(ErrorCode::Internal, "The server sent something other than the call history."));
        };
        Ok(ok.calls.into_iter().map(CallRecord::from).collect())
    }

    /// Adds (`add`) or removes a contact.
    pub async fn change_contact(&self, user_id: &str, add: bool) -> AppResult<()> {
        let user_id = user_id.trim();
        if !duet_protocol::is_valid_user_id(user_id) {
            return Err(AppError::new(
                ErrorCode::BadInput,
                format!("\"{user_id}\" is not a user name (lower-case letters, digits, '.', '_' and '-')."),
            ));
        }
        let change = ContactsChange { req: None, user: user_id.to_owned() };
        let message = if add { ClientMessage::ContactsAdd(change) } else { ClientMessage::ContactsRemove(change) };
        match self.engine.client().request(message).await {
            Ok(_) => Ok(()),
            Err(duet_client::Error::Server { code: duet_protocol::ErrorCode::NotFound, .. }) => {
                Err(AppError::new(ErrorCode::NotFound, format!("There is no user \"{user_id}\" on this server.")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Ends a running call (the peer hears a hangup), then the connection, once
    /// the hangup has gone out: the app may be about to exit.
    pub async fn close(self) {
        self.engine.shut_down(Duration::from_secs(4)).await;
    }
}

/// What a session's calls capture from and draw to.
pub struct Media {
    pub sources: duet_call::Sources,
    pub video_out: duet_call::VideoOut,
    /// The beauty filter, with the settings the user changes live.
    pub processing: Option<duet_call::Processing>,
    /// Media only through the server's relay (the setting, or the policy).
    pub relay_only: bool,
}
