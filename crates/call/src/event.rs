//! What the engine reports. Every event serialises (serde) to the JSON object
//! `duet-cli` prints for it, `"event"` naming the kind; the desktop app maps
//! the typed values to its UI events (the leaf types it shows derive
//! `specta::Type` with the `specta` feature).

use duet_client::{CallState, Direction};
use duet_protocol::{CallType, MediaOff, RoomMedia, Status};
use duet_rtc::Quality;
use serde::Serialize;
use serde::ser::SerializeMap;

/// Something that happened in the engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The call's state changed.
    State(StateChange),
    /// This side is about to accept the ringing call.
    Accepted { at_ms: f64 },
    /// The media connection (ICE + DTLS) is up, or failed.
    Media(MediaChange),
    /// The first remote frame was decoded.
    FirstFrame { at_ms: f64 },
    /// This side gathered an ICE candidate of `kind` (`host`, `srflx`, `relay`)
    /// and sent it to the peer.
    Candidate { kind: String, at_ms: f64 },
    /// The call's safety code (PROTOCOL.md "Verification"), once DTLS verified the
    /// peer: 6 digits both people see the same unless someone sits between them.
    Verification { code: String },
    /// Once a second during a call, and once when it ends.
    Stats(Box<CallStats>),
    /// What this side sends changed (a device failed, the user turned one off).
    LocalMedia(MediaSent),
    /// What the peer said it sends (`room.media`).
    PeerMedia(PeerMedia),
    /// The peer's connection to the server dropped (`online: false`: it has the
    /// watchdog's 30 s to come back) or came back.
    PeerConnection { user: String, online: bool },
    /// A message went out on a data channel.
    MessageSent { cmd: u8, seq: u32, id: Option<u32> },
    /// The peer received the message `seq`.
    MessageDelivered { seq: u32, id: Option<u32> },
    /// A message from the peer.
    Message { channel: String, cmd: u8, seq: u32, text: String },
    /// A command was taken (its `Debug` form).
    Control { control: String },
    /// The call switched to another device (asked for, or the one in use went away).
    Device(DeviceSwitch),
    /// The devices on this computer, when they changed.
    Devices(DeviceNames),
    /// The signaling connection came up or dropped (it is being re-established).
    Connection {
        online: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The token was renewed before it expired; a front that keeps the sign-in
    /// keeps this token (never printed: it signs in as the user).
    TokenRenewed {
        #[serde(skip)]
        token: String,
        expires_at: u64,
    },
    /// A watched user's presence changed.
    Presence { user: String, status: Status },
    /// The server no longer accepts the token: the engine stops.
    AuthFailed { code: duet_protocol::ErrorCode, message: String },
    /// The server's TLS certificate cannot be trusted (the message says why): the engine stops.
    CertificateRejected { message: String },
    /// Something did not work; the call goes on unless a `State` event says otherwise.
    Error(EngineError),
}

/// A call state change, with what is known of the call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateChange {
    #[serde(flatten)]
    pub state: CallState,
    /// Wall-clock time (Unix ms, µs precision), to line up the events of processes on one machine.
    pub at_ms: f64,
    #[serde(flatten)]
    pub call: Option<CallSummary>,
    /// How long the two talked (0 for a call that never connected); on `ended` and `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// Who the call is with, which way, and what kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallSummary {
    pub peer: String,
    pub direction: Direction,
    pub call_type: CallType,
    /// The server's invitation, once known (a `duet://invite/<id>` link names it). Not in the
    /// CLI's lines, whose format is fixed.
    #[serde(skip)]
    pub invite_id: Option<String>,
}

/// The media connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    Connected,
    /// Media stopped (a dead path, another network): ICE is being restarted.
    Reconnecting,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaChange {
    pub state: MediaState,
    /// When it connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<f64>,
}

/// What one side sends, and why not (`room.media`'s reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MediaSent {
    pub audio: bool,
    pub video: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_off: Option<MediaOff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_off: Option<MediaOff>,
}

impl From<&RoomMedia> for MediaSent {
    fn from(media: &RoomMedia) -> MediaSent {
        MediaSent { audio: media.audio, video: media.video, audio_off: media.audio_off, video_off: media.video_off }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerMedia {
    pub user: String,
    #[serde(flatten)]
    pub media: MediaSent,
}

/// A kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

/// The call now uses device `id` for `kind`; `unplugged` when the one in use went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSwitch {
    pub kind: DeviceKind,
    pub id: String,
    pub unplugged: bool,
}

impl Serialize for DeviceSwitch {
    /// `{"speaker": ID}` (the kind names the id), with `"reason": "unplugged"` when it was.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = match self.kind {
            DeviceKind::Camera => "camera",
            DeviceKind::Microphone => "microphone",
            DeviceKind::Speaker => "speaker",
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(kind, &self.id)?;
        if self.unplugged {
            map.serialize_entry("reason", "unplugged")?;
        }
        map.end()
    }
}

/// Cameras by name, microphones and speakers by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeviceNames {
    pub cameras: Vec<String>,
    pub microphones: Vec<String>,
    pub speakers: Vec<String>,
}

/// The call's counters and measures, as the stats event reports them each second.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CallStats {
    pub frames_sent: u64,
    pub frames_decoded: u64,
    pub frames_lost: u64,
    pub frames_undecodable: u64,
    /// Keyframe requests (PLI/FIR) the peer sent us.
    pub keyframe_requests: u64,
    /// ICE restarts this side made (the inviter) or asked for (the invitee):
    /// media stopped, the network changed, or the peer asked.
    pub ice_restarts: u32,
    /// The stamp's counter of the last frame decoded (the synthetic source's).
    pub last_frame_counter: Option<u32>,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub freeze_count: u64,
    pub total_freeze_ms: u64,
    /// Glass to glass (capture → decoded here) over the call so far, ms.
    pub glass_to_glass_p50_ms: Option<f64>,
    pub glass_to_glass_p95_ms: Option<f64>,
    /// The oldest frame shown since the previous report (its glass to glass,
    /// ms): after an outage, whether what is shown is fresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glass_to_glass_recent_max_ms: Option<f64>,
    pub bitrate_out_kbps: f64,
    pub bitrate_in_kbps: f64,
    /// What the congestion controller lets this side send.
    pub target_bitrate_kbps: Option<f64>,
    /// What the video encoder aims at.
    pub video_bitrate_kbps: Option<u32>,
    pub audio_packets_sent: u64,
    pub audio_packets_received: u64,
    pub audio_frames_decoded: u64,
    pub audio_frames_recovered: u64,
    pub audio_frames_concealed: u64,
    pub rtt_ms: Option<f64>,
    pub loss: f64,
    pub jitter_ms: f64,
    /// Seed 004's scale: 0 unknown, 1 excellent … 5 very bad, 6 down.
    pub quality: Quality,
    /// What the peer reported of its own network.
    pub peer_quality: Option<Quality>,
    /// The media path ICE selected: this side's and the peer's candidate types
    /// (`host`, `srflx`, `prflx`, `relay`) and the transport (`udp`, `tcp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_remote: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_protocol: Option<String>,
    /// The peer's (or its relay's) address on that path, `ip:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_remote_address: Option<String>,
    /// Every ICE candidate known, as `"<type> <ip>:<port>"`: this side's, and
    /// the peer's (what the peer revealed of its network, relays and
    /// peer-reflexive addresses included).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates_local: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates_remote: Vec<String>,
    /// The echo canceller, while it runs: how far it takes the echo down (echo
    /// return loss enhancement, dB), the delay it found between the speaker and
    /// its echo in the microphone (ms), and how likely what is sent still holds
    /// echo (0–1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo_return_loss_enhancement_db: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo_delay_ms: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residual_echo_likelihood: Option<f64>,
    /// How far the speaker's clock runs from the microphone's (ppm), as found
    /// from the echo and taken out before the canceller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo_clock_drift_ppm: Option<f64>,
}

/// What went wrong, with the seed's device code where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// A camera, microphone or speaker failed (seed codes -1301 camera, -1302
    /// microphone, -1314/-1317 not allowed, -1316/-1319 in use); `message` says
    /// what follows for the call.
    #[error("{message}")]
    Device { code: Option<i32>, message: String },
    /// A chat message was not sent (`code`: `too_large`, `rate_limited`, `not_open`, ...).
    #[error("{message}")]
    Chat { id: Option<u32>, code: Option<String>, message: String },
    /// A call could not be placed.
    #[error("cannot call {peer}: {message}")]
    Dial { peer: String, message: String },
    /// The ringing call could not be accepted.
    #[error("cannot accept the call: {0}")]
    Accept(String),
    /// The media session could not be set up or negotiated.
    #[error("{0}")]
    Media(String),
    /// The signaling layer reported a failed request.
    #[error("{0}")]
    Signaling(String),
}

impl EngineError {
    pub(crate) fn device(error: &duet_media::Error, consequence: &str) -> EngineError {
        EngineError::Device { code: error.device_code(), message: format!("{error}; {consequence}") }
    }

    /// The seed's device code, as a number.
    pub fn device_code(&self) -> Option<i32> {
        match self {
            EngineError::Device { code, .. } => *code,
            _ => None,
        }
    }
}

impl Serialize for EngineError {
    /// `{"code": …, "message": …}` for devices (the code may be null), `{"id": …,
    /// ["code": …,] "message": …}` for chat messages, `{"message": …}` otherwise.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            EngineError::Device { code, .. } => map.serialize_entry("code", code)?,
            EngineError::Chat { id, code, .. } => {
                map.serialize_entry("id", id)?;
                if let Some(code) = code {
                    map.serialize_entry("code", code)?;
                }
            }
            _ => {}
        }
        map.serialize_entry("message", &self.to_string())?;
        map.end()
    }
}

/// Wall-clock time in ms since the Unix epoch (µs precision).
pub(crate) fn wall_ms() -> f64 {
    duet_media::capture_clock_us() as f64 / 1000.0
}
