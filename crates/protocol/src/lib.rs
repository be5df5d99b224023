//! Wire types of the Duet signaling protocol (`docs/protocol.md`), shared by
//! `duet-server` and every client.
//!
//! Client requests are [`ClientMessage`], server replies and events are
//! [`ServerMessage`]. [`decode_client`] / [`decode_server`] turn a text frame into a
//! message and never panic: malformed input becomes a [`DecodeError`] that the
//! server answers with `bad_request`.

mod call;
mod client;
mod decode;
pub mod quality;
mod server;
pub mod speedtest;

pub use call::{AV_CALL, AvCall, CallType, RejectReason};
pub use client::*;
pub use decode::{DecodeError, decode_client, decode_server};
pub use server::*;

use serde::{Deserialize, Serialize};

/// Largest text frame the server accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// WebSocket path of the signaling endpoint.
pub const WS_PATH: &str = "/v1/ws";

/// A user's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Online,
    /// In a call.
    Busy,
    Offline,
}

/// The outcome of one invitee of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pending,
    Accepted,
    Rejected,
    Timeout,
    Cancelled,
}

impl Outcome {
    /// The name used on the wire, in the database and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Parses the name written by [`Outcome::as_str`].
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "pending" => Outcome::Pending,
            "accepted" => Outcome::Accepted,
            "rejected" => Outcome::Rejected,
            "timeout" => Outcome::Timeout,
            "cancelled" => Outcome::Cancelled,
            _ => return None,
        })
    }
}

/// How a call ended, as shown in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Completed,
    Missed,
    Rejected,
    Busy,
    Cancelled,
    Timeout,
}

impl CallOutcome {
    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Completed => "completed",
            CallOutcome::Missed => "missed",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Busy => "busy",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Timeout => "timeout",
        }
    }

    /// Parses the name written by [`CallOutcome::as_str`].
    pub fn parse(s: &str) -> Option<CallOutcome> {
        Some(match s {
            "completed" => CallOutcome::Completed,
            "missed" => CallOutcome::Missed,
            "rejected" => CallOutcome::Rejected,
            "busy" => CallOutcome::Busy,
            "cancelled" => CallOutcome::Cancelled,
            "timeout" => CallOutcome::Timeout,
            _ => return None,
        })
    }
}

/// Whether a call was placed (`out`) or received (`in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

/// Stable error codes of `error` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    TokenExpired,
    Forbidden,
    NotFound,
    NotInvited,
    InvitationClosed,
    NotInRoom,
    RateLimited,
    Internal,
}

impl ErrorCode {
    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotInvited => "not_invited",
            ErrorCode::InvitationClosed => "invitation_closed",
            ErrorCode::NotInRoom => "not_in_room",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Room permission bits carried by a room ticket (the seed's advanced permission control).
pub mod perm {
    pub const CREATE: u32 = 1;
    pub const ENTER: u32 = 2;
    pub const SEND_AUDIO: u32 = 4;
    pub const RECV_AUDIO: u32 = 8;
    pub const SEND_VIDEO: u32 = 16;
    pub const RECV_VIDEO: u32 = 32;
    pub const SEND_SCREEN: u32 = 64;
    pub const RECV_SCREEN: u32 = 128;
    /// What a ticket for a video call grants.
    pub const VIDEO_CALL: u32 = CREATE | ENTER | SEND_AUDIO | RECV_AUDIO | SEND_VIDEO | RECV_VIDEO;
    /// What a ticket for an audio call grants.
    pub const AUDIO_CALL: u32 = CREATE | ENTER | SEND_AUDIO | RECV_AUDIO;
}

/// An error with its causes, which say what actually went wrong ("error sending
/// request: connection refused" rather than "error sending request").
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Whether `id` is a valid user id: `[a-z0-9_.-]{1,64}`.
pub fn is_valid_user_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
}

/// Body of `POST /v1/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub user_id: String,
    pub password: String,
    pub display_name: String,
}

/// Body of `POST /v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub user_id: String,
    pub password: String,
}

/// Answer of `/v1/register` and `/v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: u64,
}

/// Error body of the HTTP endpoints (same codes as the WebSocket `error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpError {
    pub code: ErrorCode,
    pub message: String,
}

/// What the server POSTs to a push endpoint when an invitee is offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotice {
    pub user: String,
    pub invite_id: String,
    pub title: String,
    pub desc: String,
    pub ext: String,
    pub deep_link: String,
    /// Unix milliseconds; absent when the invitation never times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// Body of a webhook POST (the seed's server event callback).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// 1 room events, 2 media events.
    pub event_group_id: u8,
    pub event_type: u16,
    /// Unix milliseconds.
    pub callback_ts: u64,
    pub event_info: WebhookEventInfo,
}

/// `event_info` of a [`WebhookEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEventInfo {
    pub room_id: String,
    /// Empty for room-level events (102 dismiss).
    #[serde(default)]
    pub user_id: String,
    /// Unix milliseconds of the event itself.
    pub ts: u64,
    /// Why a member left (104), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Webhook event types.
pub mod webhook {
    pub const CREATE_ROOM: u16 = 101;
    pub const DISMISS_ROOM: u16 = 102;
    pub const ENTER_ROOM: u16 = 103;
    pub const EXIT_ROOM: u16 = 104;
    pub const START_VIDEO: u16 = 201;
    pub const STOP_VIDEO: u16 = 202;
    pub const START_AUDIO: u16 = 203;
    pub const STOP_AUDIO: u16 = 204;

    /// The event group of an event type: 1 for room events, 2 for media events.
    pub fn group_of(event_type: u16) -> u8 {
        if event_type >= 200 { 2 } else { 1 }
    }
}
