//! The signed-in session: the signaling connection, and the events it turns
//! into for the UI (presence, connection state, a sign-in that stopped working).

use std::time::Duration;

use duet_client::{ClientConfig, ClientEvent, SignalingClient};
use duet_protocol::{ClientMessage, ContactsChange, ContactsList, ServerMessage, Status};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Runtime};
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
    pub warning: Option<String>,
}

/// A contact as the contact list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Contact {
    pub user_id: String,
    pub display_name: String,
    pub status: Presence,
    pub avatar_url: Option<String>,
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

/// A live connection for one account.
pub struct Session {
    pub account: Account,
    pub token: String,
    /// When the token expires (Unix milliseconds).
    pub expires_at: u64,
    client: SignalingClient,
    pump: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Connects with `token`; fails with a clear error when the server refuses
    /// it or cannot be reached, instead of retrying in the background forever.
    pub async fn connect<R: Runtime>(
        app: AppHandle<R>,
        account: Account,
        token: String,
        expires_at: u64,
    ) -> AppResult<Session> {
        let (client, mut events) = SignalingClient::connect(ClientConfig::new(account.server.clone(), token.clone()));
        let first = tokio::time::timeout(CONNECT_TIMEOUT, events.recv()).await;
        let failed = match first {
            Ok(Some(ClientEvent::Connected { .. })) => None,
            Ok(Some(ClientEvent::AuthFailed { code, message })) => {
                Some(AppError::from(duet_client::Error::Server { code, message }))
            }
            Ok(Some(ClientEvent::Disconnected { reason })) => Some(AppError::new(
                ErrorCode::Unreachable,
                format!("Cannot reach the server at {}: {reason}.", account.server),
            )),
            Ok(Some(ClientEvent::Message(_)) | None) => {
                Some(AppError::new(ErrorCode::Internal, "The connection closed while signing in."))
            }
            Err(_) => Some(AppError::new(
                ErrorCode::Timeout,
                format!("The server at {} did not answer in time.", account.server),
            )),
        };
        if let Some(error) = failed {
            client.close();
            return Err(error);
        }
        let pump = tokio::spawn(forward(app, events));
        Ok(Session { account, token, expires_at, client, pump })
    }

    /// The contact list, and live presence for everyone on it from now on.
    pub async fn contacts(&self) -> AppResult<Vec<Contact>> {
        let reply = self.client.request(ClientMessage::ContactsList(ContactsList { req: None })).await?;
        let ServerMessage::ContactsOk(ok) = reply else {
            return Err(AppError::new(ErrorCode::Internal, "The server sent something other than the contact list."));
        };
        self.client.subscribe(ok.contacts.iter().map(|c| c.user_id.clone()).collect())?;
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
        match self.client.request(message).await {
            Ok(_) => Ok(()),
            Err(duet_client::Error::Server { code: duet_protocol::ErrorCode::NotFound, .. }) => {
                Err(AppError::new(ErrorCode::NotFound, format!("There is no user \"{user_id}\" on this server.")))
            }
            Err(error) => Err(error.into()),
        }
    }

    pub fn close(self) {
        self.client.close();
        self.pump.abort();
    }
}

/// Turns the connection's events into UI events.
async fn forward<R: Runtime>(app: AppHandle<R>, mut events: UnboundedReceiver<ClientEvent>) {
    while let Some(event) = events.recv().await {
        let sent = match event {
            ClientEvent::Message(ServerMessage::PresenceChanged(change)) => {
                PresenceChanged { user_id: change.user, status: change.status.into() }.emit(&app)
            }
            ClientEvent::Connected { .. } => ConnectionChanged { online: true, reason: None }.emit(&app),
            ClientEvent::Disconnected { reason } => {
                ConnectionChanged { online: false, reason: Some(reason) }.emit(&app)
            }
            ClientEvent::AuthFailed { code, message } => {
                SignedOut { error: duet_client::Error::Server { code, message }.into() }.emit(&app)
            }
            ClientEvent::Message(_) => Ok(()),
        };
        if let Err(error) = sent {
            tracing::warn!("cannot reach the UI: {error}");
        }
    }
}
