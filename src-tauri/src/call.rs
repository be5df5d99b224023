//! Calls in the app: the media engine of `duet-cli` runs for the signed-in
//! session, and its report lines become typed events for the UI.

use duet_protocol::MediaOff;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use specta::Type;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;

use crate::error::{AppError, capitalized};
use crate::session::{ConnectionChanged, Presence, PresenceChanged, SignedOut};
use crate::state::AppState;
use crate::{notify, shell};

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

/// The call's state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct CallChanged {
    pub phase: CallPhase,
    /// Why it ended: `local_hangup`, `remote_hangup`, `rejected`, `busy`,
    /// `cancelled`, `timeout`, `answered_elsewhere`; why it failed:
    /// `signaling`, `media_failure`, `signaling_lost`.
    pub reason: Option<String>,
    /// What failed, in words.
    pub detail: Option<String>,
    pub peer: Option<String>,
    /// `outgoing` or `incoming`.
    pub direction: Option<String>,
    /// `audio` or `video`.
    pub call_type: Option<String>,
    /// How long the two talked (ended and failed calls).
    pub duration_ms: Option<u32>,
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
}

/// What one side sends in the call, and why not (`room.media`'s reasons), for its tile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MediaSent {
    pub audio: bool,
    pub video: bool,
    /// Why no audio comes, when the side said.
    #[serde(default)]
    pub audio_off: Option<MediaOff>,
    /// Why no video comes, when the side said.
    #[serde(default)]
    pub video_off: Option<MediaOff>,
}

/// The peer turned its microphone or camera on or off, or has none that works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct PeerMedia(pub MediaSent);

/// What this side sends changed (a device failed, the user turned one off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct LocalMedia(pub MediaSent);

/// A chat message from the peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct ChatReceived {
    pub text: String,
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

fn media_sent(line: &Value) -> Option<MediaSent> {
    serde_json::from_value(line.clone()).ok()
}

/// The app's id of the chat message a report line is about.
fn chat_id(line: &Value) -> Option<u32> {
    line.get("id").and_then(Value::as_u64).and_then(|id| u32::try_from(id).ok())
}

/// Turns one report line of the engine into a UI event.
pub fn forward<R: Runtime>(app: &AppHandle<R>, line: Value) {
    let text = |key: &str| line.get(key).and_then(Value::as_str).map(str::to_owned);
    let sent = match line.get("event").and_then(Value::as_str).unwrap_or_default() {
        "state" => state_change(&line).map(|change| {
            on_call_change(app, &change);
            change.emit(app)
        }),
        "stats" => serde_json::from_value::<CallStats>(line.clone()).ok().map(|stats| stats.emit(app)),
        "peer_media" => media_sent(&line).map(|media| PeerMedia(media).emit(app)),
        "local_media" => media_sent(&line).map(|media| LocalMedia(media).emit(app)),
        "message" if line.get("cmd").and_then(Value::as_u64) == Some(u64::from(duet_cli::CHAT_COMMAND)) => {
            text("text").map(|text| ChatReceived { text }.emit(app))
        }
        "message_delivered" => chat_id(&line).map(|id| ChatDelivered { id }.emit(app)),
        "error" => text("message").map(|message| {
            let code =
                line.get("code").filter(|c| !c.is_null()).map(|c| c.as_str().map_or(c.to_string(), str::to_owned));
            let message = capitalized(&message);
            match chat_id(&line) {
                Some(id) => ChatFailed { id, code, message }.emit(app),
                None => CallProblem { code, message }.emit(app),
            }
        }),
        "presence" => serde_json::from_value::<Presence>(line["status"].clone())
            .ok()
            .zip(text("user"))
            .map(|(status, user_id)| PresenceChanged { user_id, status }.emit(app)),
        "connection" => Some(
            ConnectionChanged { online: line["online"].as_bool().unwrap_or(false), reason: text("reason") }.emit(app),
        ),
        "auth_failed" => serde_json::from_value(line["code"].clone()).ok().map(|code| {
            let message = text("message").unwrap_or_default();
            SignedOut { error: AppError::from(duet_client::Error::Server { code, message }) }.emit(app)
        }),
        _ => None,
    };
    if let Some(Err(error)) = sent {
        tracing::warn!("cannot reach the UI: {error}");
    }
}

/// What the desktop does as a call changes: the incoming-call window and
/// notification while it rings, the main window once it is answered, a
/// notification for a missed call. The UI can ask for the latest change (a
/// window that opens mid-call).
fn on_call_change<R: Runtime>(app: &AppHandle<R>, change: &CallChanged) {
    *app.state::<AppState>().last_call.lock().unwrap_or_else(|e| e.into_inner()) = Some(change.clone());
    let incoming = change.direction.as_deref() == Some("incoming");
    let texts = app.state::<AppState>().texts();
    let peer = change.peer.as_deref().unwrap_or(texts.someone());
    match change.phase {
        CallPhase::Ringing => shell::ring(app, peer, change.call_type.as_deref() != Some("audio")),
        CallPhase::Connecting if incoming => {
            shell::stop_ringing(app);
            shell::show_main(app);
        }
        CallPhase::Ended if incoming && matches!(change.reason.as_deref(), Some("timeout" | "cancelled")) => {
            shell::stop_ringing(app);
            notify::missed(app, peer);
        }
        _ => shell::stop_ringing(app),
    }
}

/// A `state` line (`{"state":"ended","reason":"busy",...}` or, for failures,
/// `{"state":"failed","reason":{"kind":"media_failure","detail":"..."}}`).
fn state_change(line: &Value) -> Option<CallChanged> {
    let phase = serde_json::from_value(line.get("state")?.clone()).ok()?;
    let reason = line.get("reason");
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    Some(CallChanged {
        phase,
        reason: text(reason).or_else(|| text(reason.and_then(|r| r.get("kind")))),
        detail: text(reason.and_then(|r| r.get("detail"))),
        peer: text(line.get("peer")),
        direction: text(line.get("direction")),
        call_type: text(line.get("call_type")),
        duration_ms: line.get("duration_ms").and_then(Value::as_u64).map(|ms| ms.min(u64::from(u32::MAX)) as u32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_state_lines_become_call_changes() {
        let ended = json!({"event": "state", "state": "ended", "reason": "busy", "peer": "bob",
            "direction": "outgoing", "call_type": "video", "duration_ms": 0});
        let change = state_change(&ended).expect("a state");
        assert_eq!(change.phase, CallPhase::Ended);
        assert_eq!(change.reason.as_deref(), Some("busy"));
        assert_eq!(change.peer.as_deref(), Some("bob"));
        assert_eq!(change.duration_ms, Some(0));

        let failed = json!({"event": "state", "state": "failed",
            "reason": {"kind": "media_failure", "detail": "the media connection failed"}});
        let change = state_change(&failed).expect("a state");
        assert_eq!(change.phase, CallPhase::Failed);
        assert_eq!(change.reason.as_deref(), Some("media_failure"));
        assert_eq!(change.detail.as_deref(), Some("the media connection failed"));

        assert!(state_change(&json!({"event": "state", "state": "dancing"})).is_none());
    }

    #[test]
    fn media_lines_carry_why_nothing_is_sent() {
        let line =
            json!({"event": "peer_media", "user": "bob", "audio": true, "video": false, "video_off": "no_device"});
        let media = media_sent(&line).expect("reads");
        assert_eq!((media.video, media.video_off, media.audio_off), (false, Some(MediaOff::NoDevice), None));
        let line = json!({"event": "local_media", "audio": false, "video": true, "audio_off": "in_use"});
        assert_eq!(media_sent(&line).expect("reads").audio_off, Some(MediaOff::InUse));
    }

    #[test]
    fn engine_stats_lines_read_as_call_stats() {
        let line = json!({"event": "stats", "quality": 2, "peer_quality": null, "rtt_ms": 31.5, "loss": 0.01,
            "fps": 29.8, "width": 1280, "height": 720, "bitrate_in_kbps": 1500.0, "bitrate_out_kbps": 1400.0,
            "freeze_count": 1, "frames_sent": 10});
        let stats: CallStats = serde_json::from_value(line).expect("reads");
        assert_eq!((stats.quality, stats.width, stats.freeze_count), (2, 1280, 1));
        assert_eq!(stats.rtt_ms, Some(31.5));
    }
}
