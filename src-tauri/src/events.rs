//! The call events the UI gets (typed, with TypeScript twins in bindings.ts).
//! `forward.rs` makes them from the call engine's events.

use duet_protocol::MediaOff;
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri_specta::Event;

/// Where a call is (DESIGN.md's state names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    Idle,
    Prepared,
    Calling,
    Ringing,
    Connecting,
    Connected,
    Ended,
    Failed,
}

/// Why a call ended (`local_hangup` … `answered_elsewhere`) or failed (`signaling`, `media_failure`, `signaling_lost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CallReason {
    LocalHangup,
    RemoteHangup,
    Rejected,
    Busy,
    // Every line of the test call (the echo user) is taken.
    TestLineBusy,
    Cancelled,
    Timeout,
    AnsweredElsewhere,
    // Media stayed down for 30 s (on either side): the network was lost.
    NetworkLost,
    // The failures: the server refused or the request could not be made, the
    // media did not connect, the connection to the server was lost.
    Signaling,
    MediaFailure,
    SignalingLost,
}

/// Which way a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Outgoing,
    Incoming,
}

/// An audio or a video call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Audio,
    Video,
}

/// The call's state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct CallChanged {
    pub phase: CallPhase,
    /// Why it ended or failed.
    pub reason: Option<CallReason>,
    /// What failed, in words.
    pub detail: Option<String>,
    pub peer: Option<String>,
    pub direction: Option<CallDirection>,
    pub call_type: Option<CallKind>,
    /// How long the two talked (ended and failed calls).
    pub duration_ms: Option<u32>,
    /// The server's invitation (what a `duet://invite/<id>` link names), once known.
    pub invite_id: Option<String>,
}

/// Once a second during a call: this side's network and video, and the peer's quality.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Type, Event)]
pub struct CallStats {
    /// Seed 004's scale: 0 unknown, 1 excellent … 5 very bad, 6 down.
    pub quality: u8,
    pub peer_quality: Option<u8>,
    pub rtt_ms: Option<f64>,
    pub loss: Option<f64>,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub bitrate_in_kbps: f64,
    pub bitrate_out_kbps: f64,
    pub freeze_count: u32,
    /// The echo canceller on this side's microphone, while it runs: how far it
    /// takes the echo down (dB), the delay it found (ms), how likely echo is left (0–1).
    pub echo_return_loss_enhancement_db: Option<f64>,
    pub echo_delay_ms: Option<i32>,
    pub residual_echo_likelihood: Option<f64>,
}

/// What one side sends in the call, and why not (`room.media`'s reasons), for its tile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MediaSent {
    pub audio: bool,
    pub video: bool,
    /// Why no audio comes, when the side said.
    pub audio_off: Option<MediaOff>,
    /// Why no video comes, when the side said.
    pub video_off: Option<MediaOff>,
}

impl From<duet_call::MediaSent> for MediaSent {
    fn from(m: duet_call::MediaSent) -> MediaSent {
        MediaSent { audio: m.audio, video: m.video, audio_off: m.audio_off, video_off: m.video_off }
    }
}

/// The peer turned its microphone or camera on or off, or has none that works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct PeerMedia(pub MediaSent);

/// The peer's connection to the server dropped (`online: false`; it has the
/// server's watchdog, 30 s, to come back) or came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct PeerConnection {
    pub online: bool,
}

/// What this side sends changed (a device failed, the user turned one off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct LocalMedia(pub MediaSent);

/// A chat message from the peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct ChatReceived {
    pub text: String,
}

/// The call's media path (ICE and DTLS) is up, or found no way to the peer. Until it
/// is up a "connected" call shows "Connecting media…".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct MediaChanged {
    pub connected: bool,
    /// Media had flowed and stopped (a dead path, another network): the call is
    /// finding its way back ("Reconnecting…").
    pub reconnecting: bool,
}

/// The call's safety code: 6 digits both people see the same unless someone sits between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct Verification {
    pub code: String,
}

/// The peer received the chat message with this id (from `send_chat`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct ChatDelivered {
    pub id: u32,
}

/// The chat message with this id was not sent (a limit of seed 004, or the call ended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct ChatFailed {
    pub id: u32,
    pub code: Option<String>,
    pub message: String,
}

/// Something in the call did not work (a device, a message over a limit, the
/// network): shown to the user; the call goes on unless a `CallChanged` says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct CallProblem {
    /// The seed's device code (-1301 camera … ) or a message limit's code, when there is one.
    pub code: Option<String>,
    pub message: String,
}
