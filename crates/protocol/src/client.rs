//! Messages a client sends to the server.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every message a client may send. The `type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    #[serde(rename = "auth")]
    Auth(Auth),
    #[serde(rename = "presence.query")]
    PresenceQuery(PresenceQuery),
    #[serde(rename = "presence.subscribe")]
    PresenceSubscribe(PresenceSubscribe),
    #[serde(rename = "presence.unsubscribe")]
    PresenceUnsubscribe(PresenceSubscribe),
    #[serde(rename = "contacts.list")]
    ContactsList(ContactsList),
    #[serde(rename = "contacts.add")]
    ContactsAdd(ContactsChange),
    #[serde(rename = "contacts.remove")]
    ContactsRemove(ContactsChange),
    #[serde(rename = "invite")]
    Invite(Invite),
    #[serde(rename = "accept")]
    Accept(Answer),
    #[serde(rename = "reject")]
    Reject(Answer),
    #[serde(rename = "cancel")]
    Cancel(Answer),
    #[serde(rename = "room.join")]
    RoomJoin(RoomJoin),
    #[serde(rename = "room.signal")]
    RoomSignal(RoomSignal),
    #[serde(rename = "room.media")]
    RoomMedia(RoomMedia),
    #[serde(rename = "room.leave")]
    RoomLeave(RoomLeave),
    #[serde(rename = "history.list")]
    HistoryList(HistoryList),
    /// Is the connection alive? Answered with `pong` (PROTOCOL.md "Staying in the call").
    #[serde(rename = "ping")]
    Ping(Ping),
    /// A fresh token for the signed-in user before this one expires (`token.ok`).
    #[serde(rename = "token.renew")]
    TokenRenew(Ping),
}

/// The `type` names of [`ClientMessage`], to tell an unknown type from a malformed message.
pub const CLIENT_TYPES: &[&str] = &[
    "auth",
    "presence.query",
    "presence.subscribe",
    "presence.unsubscribe",
    "contacts.list",
    "contacts.add",
    "contacts.remove",
    "invite",
    "accept",
    "reject",
    "cancel",
    "room.join",
    "room.signal",
    "room.media",
    "room.leave",
    "history.list",
    "ping",
    "token.renew",
];

impl ClientMessage {
    /// The request id the client attached, if any.
    pub fn req(&self) -> Option<u64> {
        match self {
            ClientMessage::Auth(m) => m.req,
            ClientMessage::PresenceQuery(m) => m.req,
            ClientMessage::PresenceSubscribe(m) | ClientMessage::PresenceUnsubscribe(m) => m.req,
            ClientMessage::ContactsList(m) => m.req,
            ClientMessage::ContactsAdd(m) | ClientMessage::ContactsRemove(m) => m.req,
            ClientMessage::Invite(m) => m.req,
            ClientMessage::Accept(m) | ClientMessage::Reject(m) | ClientMessage::Cancel(m) => m.req,
            ClientMessage::RoomJoin(m) => m.req,
            ClientMessage::RoomSignal(m) => m.req,
            ClientMessage::RoomMedia(m) => m.req,
            ClientMessage::RoomLeave(m) => m.req,
            ClientMessage::HistoryList(m) => m.req,
            ClientMessage::Ping(m) | ClientMessage::TokenRenew(m) => m.req,
        }
    }

    /// Sets the request id (clients number their requests).
    pub fn set_req(&mut self, req: u64) {
        let slot = match self {
            ClientMessage::Auth(m) => &mut m.req,
            ClientMessage::PresenceQuery(m) => &mut m.req,
            ClientMessage::PresenceSubscribe(m) | ClientMessage::PresenceUnsubscribe(m) => &mut m.req,
            ClientMessage::ContactsList(m) => &mut m.req,
            ClientMessage::ContactsAdd(m) | ClientMessage::ContactsRemove(m) => &mut m.req,
            ClientMessage::Invite(m) => &mut m.req,
            ClientMessage::Accept(m) | ClientMessage::Reject(m) | ClientMessage::Cancel(m) => &mut m.req,
            ClientMessage::RoomJoin(m) => &mut m.req,
            ClientMessage::RoomSignal(m) => &mut m.req,
            ClientMessage::RoomMedia(m) => &mut m.req,
            ClientMessage::RoomLeave(m) => &mut m.req,
            ClientMessage::HistoryList(m) => &mut m.req,
            ClientMessage::Ping(m) | ClientMessage::TokenRenew(m) => &mut m.req,
        };
        *slot = Some(req);
    }

    /// The message as one text frame.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("client messages always serialize")
    }
}

/// `auth`: the first message of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub token: String,
}

/// `presence.query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub users: Vec<String>,
}

/// `presence.subscribe` / `presence.unsubscribe`. With `req`, the server answers
/// `presence.ok` with the current status of each user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceSubscribe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub users: Vec<String>,
}

/// `contacts.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
}

/// `contacts.add` / `contacts.remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub user: String,
}

/// Offline push text of an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PushInfo {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub ext: String,
}

/// `invite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    #[serde(default)]
    pub data: String,
    /// Seconds; 0 means the invitation never times out.
    #[serde(default)]
    pub timeout_s: u32,
    #[serde(default)]
    pub online_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushInfo>,
}

/// `accept`, `reject` and `cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub invite_id: String,
    #[serde(default)]
    pub data: String,
}

/// `room.join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomJoin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub room_id: String,
    pub ticket: String,
}

/// `room.signal`: an opaque payload (SDP or ICE candidate) for one room member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSignal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub room_id: String,
    pub to: String,
    pub payload: Value,
}

/// `room.media`: what the sender currently sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub room_id: String,
    pub audio: bool,
    pub video: bool,
    /// Why no audio is sent, when none is (the peer's tile says it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_off: Option<crate::MediaOff>,
    /// Why no video is sent, when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_off: Option<crate::MediaOff>,
}

/// Why a side sends no audio or no video (`room.media`'s `audio_off` / `video_off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MediaOff {
    /// The user turned it off (muted, camera off).
    Off,
    /// There is no such device (seed -1301 / -1302 when none is found).
    NoDevice,
    /// Another application holds the device (seed -1316 / -1319).
    InUse,
    /// The system does not let Duet use it (seed -1314 / -1317).
    NotAllowed,
    /// It could not start, or stopped (seed -1301 / -1302).
    Failed,
}

/// `room.leave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomLeave {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub room_id: String,
    #[serde(default = "hangup")]
    pub reason: String,
}

fn hangup() -> String {
    "hangup".into()
}

/// `ping`, and `token.renew` (a request with nothing but its `req`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
}

/// `history.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only calls that started before this unix millisecond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
}
