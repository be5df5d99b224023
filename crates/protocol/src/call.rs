//! The `data` payload of a Duet call invitation (the seed's `av_call` command).

use serde::{Deserialize, Serialize};

/// The `cmd` value of every Duet call payload.
pub const AV_CALL: &str = "av_call";

/// Video or audio-only call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    Video,
    Audio,
}

impl CallType {
    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Video => "video",
            CallType::Audio => "audio",
        }
    }
}

/// Why an invitee rejected a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The person declined.
    Active,
    /// The client was already in a call and declined automatically.
    Busy,
    /// Every line of the echo user (the test call) is in a call: the server answered
    /// at once; the caller may try again in a minute.
    TestLineBusy,
}

/// JSON carried in the opaque `data` string of invitations and answers.
///
/// `{"cmd":"av_call","call_type":"video","room_id":".."}` on an invite,
/// `{"cmd":"av_call","reason":"busy"}` on a reject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvCall {
    pub cmd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
}

impl AvCall {
    /// The payload of a new call invitation.
    pub fn invite(call_type: CallType, room_id: impl Into<String>) -> AvCall {
        AvCall { cmd: AV_CALL.into(), call_type: Some(call_type), room_id: Some(room_id.into()), reason: None }
    }

    /// The payload of a reject.
    pub fn reject(reason: RejectReason) -> AvCall {
        AvCall { cmd: AV_CALL.into(), call_type: None, room_id: None, reason: Some(reason) }
    }

    /// An empty call payload (accept, cancel).
    pub fn plain() -> AvCall {
        AvCall { cmd: AV_CALL.into(), call_type: None, room_id: None, reason: None }
    }

    /// Reads a call payload from an invitation's `data`; `None` when it is not a Duet call.
    pub fn parse(data: &str) -> Option<AvCall> {
        serde_json::from_str::<AvCall>(data).ok().filter(|c| c.cmd == AV_CALL)
    }

    /// The payload as the string that goes into `data`.
    pub fn to_data(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
