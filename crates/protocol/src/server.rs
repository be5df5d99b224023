//! Messages the server sends to a client: replies to requests and events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{CallOutcome, CallType, Direction, ErrorCode, Outcome, Status};

/// Every message the server may send. The `type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerMessage {
    #[serde(rename = "auth.ok")]
    AuthOk(AuthOk),
    #[serde(rename = "ok")]
    Ok(Ok),
    #[serde(rename = "error")]
    Error(Error),
    #[serde(rename = "presence.ok")]
    PresenceOk(PresenceOk),
    #[serde(rename = "presence.changed")]
    PresenceChanged(PresenceChanged),
    #[serde(rename = "contacts.ok")]
    ContactsOk(ContactsOk),
    #[serde(rename = "invite.ok")]
    InviteOk(InviteOk),
    #[serde(rename = "accept.ok")]
    AcceptOk(AcceptOk),
    #[serde(rename = "invitation")]
    Invitation(Invitation),
    #[serde(rename = "invitee.accepted")]
    InviteeAccepted(InviteeAnswer),
    #[serde(rename = "invitee.rejected")]
    InviteeRejected(InviteeAnswer),
    #[serde(rename = "invitation.cancelled")]
    InvitationCancelled(InvitationCancelled),
    #[serde(rename = "invitation.timeout")]
    InvitationTimeout(InvitationTimeout),
    #[serde(rename = "invitation.answered_elsewhere")]
    AnsweredElsewhere(AnsweredElsewhere),
    #[serde(rename = "room.joined")]
    RoomJoined(RoomJoined),
    #[serde(rename = "room.member_joined")]
    MemberJoined(MemberJoined),
    #[serde(rename = "room.signal")]
    RoomSignal(RelayedSignal),
    #[serde(rename = "room.media")]
    RoomMedia(MemberMedia),
    #[serde(rename = "room.member_away")]
    MemberAway(MemberAway),
    #[serde(rename = "room.member_left")]
    MemberLeft(MemberLeft),
    #[serde(rename = "history.ok")]
    HistoryOk(HistoryOk),
    /// The answer to `ping`.
    #[serde(rename = "pong")]
    Pong(Ok),
    /// The answer to `token.renew`.
    #[serde(rename = "token.ok")]
    TokenOk(TokenOk),
}

/// The `type` names of [`ServerMessage`].
pub const SERVER_TYPES: &[&str] = &[
    "auth.ok",
    "ok",
    "error",
    "presence.ok",
    "presence.changed",
    "contacts.ok",
    "invite.ok",
    "accept.ok",
    "invitation",
    "invitee.accepted",
    "invitee.rejected",
    "invitation.cancelled",
    "invitation.timeout",
    "invitation.answered_elsewhere",
    "room.joined",
    "room.member_joined",
    "room.signal",
    "room.media",
    "room.member_away",
    "room.member_left",
    "history.ok",
    "pong",
    "token.ok",
];

impl ServerMessage {
    /// The request id this message answers, if it is a reply.
    pub fn req(&self) -> Option<u64> {
        match self {
            ServerMessage::Ok(m) => m.req,
            ServerMessage::AuthOk(m) => m.req,
            ServerMessage::Error(m) => m.req,
            ServerMessage::PresenceOk(m) => m.req,
            ServerMessage::ContactsOk(m) => m.req,
            ServerMessage::InviteOk(m) => m.req,
            ServerMessage::AcceptOk(m) => m.req,
            ServerMessage::RoomJoined(m) => m.req,
            ServerMessage::HistoryOk(m) => m.req,
            ServerMessage::Pong(m) => m.req,
            ServerMessage::TokenOk(m) => m.req,
            _ => None,
        }
    }

    /// An `error` reply.
    pub fn error(req: Option<u64>, code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error(Error { req, code, message: message.into(), outcome: None })
    }

    /// An `invitation_closed` error that says how the invitation ended for the
    /// one who answered too late, e.g. `cancelled` when an accept crossed the
    /// inviter's cancel.
    pub fn invitation_closed(req: Option<u64>, outcome: Outcome, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error(Error {
            req,
            code: ErrorCode::InvitationClosed,
            message: message.into(),
            outcome: Some(outcome),
        })
    }

    /// A plain `ok` reply.
    pub fn ok(req: Option<u64>) -> ServerMessage {
        ServerMessage::Ok(Ok { req })
    }

    /// The message as one text frame.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }
}

/// `auth.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthOk {
    /// The `auth` message's `req`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub user_id: String,
    pub session_id: String,
    /// The user that answers test calls on this server (`serve --echo-user`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_user: Option<String>,
    /// When the token this connection signed in with expires (unix ms): the
    /// client renews it before then (`token.renew`) so a reconnect never fails on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<u64>,
}

/// `token.ok`: a fresh token for the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub token: String,
    /// Unix ms.
    pub expires_at: u64,
}

/// `ok`: a request succeeded and has nothing else to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ok {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
}

/// `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
    /// With `invitation_closed`: how the invitation ended for this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// `presence.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub users: BTreeMap<String, Status>,
}

/// `presence.changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceChanged {
    pub user: String,
    pub status: Status,
}

/// One entry of `contacts.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub user_id: String,
    pub display_name: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// `contacts.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contacts: Vec<Contact>,
}

/// `invite.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub invite_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_ticket: Option<String>,
}

/// `accept.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_ticket: Option<String>,
}

/// `invitation`: someone is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub invite_id: String,
    pub inviter: String,
    pub invitees: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    pub data: String,
    /// Unix milliseconds; absent when the invitation never times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// `invitee.accepted` / `invitee.rejected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteeAnswer {
    pub invite_id: String,
    pub invitee: String,
    pub data: String,
}

/// `invitation.cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCancelled {
    pub invite_id: String,
    pub inviter: String,
    pub data: String,
}

/// `invitation.timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationTimeout {
    pub invite_id: String,
    pub invitees: Vec<String>,
}

/// `invitation.answered_elsewhere`: another device of this user answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnsweredElsewhere {
    pub invite_id: String,
    /// `accepted` or `rejected`.
    pub outcome: Outcome,
}

/// A STUN or TURN server in the W3C `RTCIceServer` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `room.joined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomJoined {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub room_id: String,
    /// Members already present.
    pub members: Vec<String>,
    pub ice_servers: Vec<IceServer>,
}

/// `room.member_joined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJoined {
    pub room_id: String,
    pub user: String,
    /// The member was in the room already and came back on a new connection
    /// within the watchdog window (PROTOCOL.md "Staying in the call").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
}

/// `room.signal` as relayed to its recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayedSignal {
    pub room_id: String,
    pub from: String,
    pub payload: Value,
}

/// `room.media` as seen by the other members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMedia {
    pub room_id: String,
    pub user: String,
    pub audio: bool,
    pub video: bool,
    /// Why no audio is sent, when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_off: Option<crate::MediaOff>,
    /// Why no video is sent, when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_off: Option<crate::MediaOff>,
}

/// `room.member_away`: a member's connection to the server dropped. It keeps
/// its place for the watchdog window: back in time, the others hear
/// `room.member_joined` with `resumed`; not, `room.member_left` (`timeout`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAway {
    pub room_id: String,
    pub user: String,
}

/// `room.member_left`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLeft {
    pub room_id: String,
    pub user: String,
    pub reason: String,
}

/// One call in `history.ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub invite_id: String,
    pub peer: String,
    pub direction: Direction,
    pub call_type: CallType,
    pub outcome: CallOutcome,
    /// Unix milliseconds when the invitation was sent.
    pub started_at: u64,
    pub duration_s: u64,
}

/// `history.ok`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub calls: Vec<HistoryEntry>,
}
