//! Engine events → the UI, the tray and notifications. The one place that
//! reads what the call engine reports; it runs for the signed-in session
//! until the engine stops.

use duet_call::{
    CHAT_COMMAND, CallState, Direction, EndReason, EngineError, Event as EngineEvent, FailReason, MediaState,
};
use duet_protocol::CallType;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::error::{AppError, capitalized};
use crate::events::{
    CallChanged, CallDirection, CallKind, CallPhase, CallProblem, CallReason, CallStats, ChatDelivered, ChatFailed,
    ChatReceived, LocalMedia, MediaChanged, PeerConnection, PeerMedia, Verification,
};
use crate::session::{ConnectionChanged, PresenceChanged, SignedOut};
use crate::state::AppState;
use crate::{notify, shell};

/// Forwards `events` until the engine stops.
pub fn spawn<R: Runtime>(app: AppHandle<R>, mut events: UnboundedReceiver<EngineEvent>) {
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            if let EngineEvent::TokenRenewed { token, expires_at } = event {
                if let Err(error) = app.state::<AppState>().token_renewed(token, expires_at).await {
                    tracing::warn!("cannot keep the renewed token: {error}");
                }
                continue;
            }
            forward(&app, event);
        }
    });
}

/// Turns one engine event into what the user sees.
fn forward<R: Runtime>(app: &AppHandle<R>, event: EngineEvent) {
    let sent = match event {
        EngineEvent::State(change) => {
            let change = call_changed(&change);
            on_call_change(app, &change);
            Some(change.emit(app))
        }
        EngineEvent::Stats(stats) => Some(CallStats::from(&*stats).emit(app)),
        EngineEvent::PeerMedia(peer) => Some(PeerMedia(peer.media.into()).emit(app)),
        EngineEvent::PeerConnection { online, .. } => Some(PeerConnection { online }.emit(app)),
        EngineEvent::LocalMedia(media) => Some(LocalMedia(media.into()).emit(app)),
        EngineEvent::Message { cmd, text, .. } if cmd == CHAT_COMMAND => Some(ChatReceived { text }.emit(app)),
        EngineEvent::MessageDelivered { id: Some(id), .. } => Some(ChatDelivered { id }.emit(app)),
        EngineEvent::Verification { code } => Some(Verification { code }.emit(app)),
        EngineEvent::Media(change) => Some(
            MediaChanged {
                connected: change.state == MediaState::Connected,
                reconnecting: change.state == MediaState::Reconnecting,
            }
            .emit(app),
        ),
        EngineEvent::Error(error) => Some(problem(app, error)),
        EngineEvent::Presence { user, status } => {
            Some(PresenceChanged { user_id: user, status: status.into() }.emit(app))
        }
        EngineEvent::Connection { online, reason } => Some(ConnectionChanged { online, reason }.emit(app)),
        EngineEvent::AuthFailed { code, message } => {
            Some(SignedOut { error: AppError::from(duet_client::Error::Server { code, message }) }.emit(app))
        }
        EngineEvent::CertificateRejected { message } => {
            Some(SignedOut { error: AppError::from(duet_client::Error::Certificate(message)) }.emit(app))
        }
        _ => None,
    };
    if let Some(Err(error)) = sent {
        tracing::warn!("cannot reach the UI: {error}");
    }
}

/// A failed chat message goes to its message; anything else is a problem shown in the call.
fn problem<R: Runtime>(app: &AppHandle<R>, error: EngineError) -> tauri::Result<()> {
    let message = capitalized(&error.to_string());
    match error {
        EngineError::Chat { id: Some(id), code, .. } => ChatFailed { id, code, message }.emit(app),
        EngineError::Chat { code, .. } => CallProblem { code, message }.emit(app),
        EngineError::Device { code, .. } => CallProblem { code: code.map(|c| c.to_string()), message }.emit(app),
        _ => CallProblem { code: None, message }.emit(app),
    }
}

impl From<&duet_call::CallStats> for CallStats {
    fn from(s: &duet_call::CallStats) -> CallStats {
        CallStats {
            quality: s.quality,
            peer_quality: s.peer_quality,
            rtt_ms: s.rtt_ms,
            loss: Some(s.loss),
            fps: s.fps,
            width: s.width,
            height: s.height,
            bitrate_in_kbps: s.bitrate_in_kbps,
            bitrate_out_kbps: s.bitrate_out_kbps,
            freeze_count: s.freeze_count.min(u64::from(u32::MAX)) as u32,
            echo_return_loss_enhancement_db: s.echo_return_loss_enhancement_db,
            echo_delay_ms: s.echo_delay_ms,
            residual_echo_likelihood: s.residual_echo_likelihood,
        }
    }
}

/// The UI's view of a state change.
fn call_changed(change: &duet_call::StateChange) -> CallChanged {
    let (phase, reason, detail) = match &change.state {
        CallState::Idle => (CallPhase::Idle, None, None),
        CallState::Prepared => (CallPhase::Prepared, None, None),
        CallState::Calling => (CallPhase::Calling, None, None),
        CallState::Ringing => (CallPhase::Ringing, None, None),
        CallState::Connecting => (CallPhase::Connecting, None, None),
        CallState::Connected => (CallPhase::Connected, None, None),
        CallState::Ended(why) => (CallPhase::Ended, Some(end_reason(*why)), None),
        CallState::Failed(why) => {
            let (reason, detail) = match why {
                FailReason::Signaling(detail) => (CallReason::Signaling, Some(detail.clone())),
                FailReason::MediaFailure(detail) => (CallReason::MediaFailure, Some(detail.clone())),
                FailReason::SignalingLost => (CallReason::SignalingLost, None),
                FailReason::Timeout => (
                    CallReason::Signaling,
                    Some(format!(
                        "the call was answered but did not connect within {} seconds",
                        duet_client::CONNECT_WITHIN.as_secs()
                    )),
                ),
            };
            (CallPhase::Failed, Some(reason), detail)
        }
    };
    let call = change.call.as_ref();
    CallChanged {
        phase,
        reason,
        detail,
        peer: call.map(|c| c.peer.clone()),
        direction: call.map(|c| match c.direction {
            Direction::Outgoing => CallDirection::Outgoing,
            Direction::Incoming => CallDirection::Incoming,
        }),
        call_type: call.map(|c| match c.call_type {
            CallType::Audio => CallKind::Audio,
            CallType::Video => CallKind::Video,
        }),
        duration_ms: change.duration_ms.map(|ms| ms.min(u64::from(u32::MAX)) as u32),
        invite_id: call.and_then(|c| c.invite_id.clone()),
    }
}

fn end_reason(why: EndReason) -> CallReason {
    match why {
        EndReason::LocalHangup => CallReason::LocalHangup,
        EndReason::RemoteHangup => CallReason::RemoteHangup,
        EndReason::Rejected => CallReason::Rejected,
        EndReason::Busy => CallReason::Busy,
        EndReason::TestLineBusy => CallReason::TestLineBusy,
        EndReason::Cancelled => CallReason::Cancelled,
        EndReason::Timeout => CallReason::Timeout,
        EndReason::AnsweredElsewhere => CallReason::AnsweredElsewhere,
        EndReason::NetworkLost => CallReason::NetworkLost,
    }
}

/// What the desktop does as a call changes: the incoming-call window and
/// notification while it rings, the main window once it is answered, a
/// notification for a missed call. The UI can ask for the latest change (a
/// window that opens mid-call).
fn on_call_change<R: Runtime>(app: &AppHandle<R>, change: &CallChanged) {
    *app.state::<AppState>().last_call.lock().unwrap_or_else(|e| e.into_inner()) = Some(change.clone());
    let incoming = change.direction == Some(CallDirection::Incoming);
    let texts = app.state::<AppState>().texts();
    let peer = change.peer.as_deref().unwrap_or(texts.someone());
    let stop_ringing = || {
        shell::close_incoming(app);
        notify::withdraw();
    };
    match change.phase {
        CallPhase::Ringing => {
            let video = change.call_type != Some(CallKind::Audio);
            if shell::open_incoming(app) {
                notify::incoming(app, peer, video);
            }
        }
        CallPhase::Connecting if incoming => {
            stop_ringing();
            shell::show_main(app);
        }
        CallPhase::Ended if incoming && matches!(change.reason, Some(CallReason::Timeout | CallReason::Cancelled)) => {
            stop_ringing();
            notify::missed(app, peer, 1);
            crate::missed::told_now(app);
        }
        _ => stop_ringing(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duet_call::{CallSummary, StateChange};

    #[test]
    fn engine_states_become_call_changes() {
        let bob = CallSummary {
            peer: "bob".into(),
            direction: Direction::Outgoing,
            call_type: CallType::Video,
            invite_id: Some("i1".into()),
        };
        let ended =
            StateChange { state: CallState::Ended(EndReason::Busy), at_ms: 0.0, call: Some(bob), duration_ms: Some(0) };
        let change = call_changed(&ended);
        assert_eq!(change.phase, CallPhase::Ended);
        assert_eq!(change.reason, Some(CallReason::Busy));
        assert_eq!(change.peer.as_deref(), Some("bob"));
        assert_eq!((change.direction, change.call_type), (Some(CallDirection::Outgoing), Some(CallKind::Video)));
        assert_eq!(change.duration_ms, Some(0));
        assert_eq!(change.invite_id.as_deref(), Some("i1"), "a duet://invite link is matched by it");

        let failed = StateChange {
            state: CallState::Failed(FailReason::MediaFailure("the media connection failed".into())),
            at_ms: 0.0,
            call: None,
            duration_ms: Some(0),
        };
        let change = call_changed(&failed);
        assert_eq!((change.phase, change.reason), (CallPhase::Failed, Some(CallReason::MediaFailure)));
        assert_eq!(change.detail.as_deref(), Some("the media connection failed"));
    }

    #[test]
    fn ui_reasons_keep_the_engine_names() {
        // The UI compares these strings (call.ts): the app's enum must say what the engine says.
        for why in [EndReason::LocalHangup, EndReason::AnsweredElsewhere, EndReason::Timeout, EndReason::NetworkLost] {
            assert_eq!(serde_json::to_value(end_reason(why)).unwrap(), serde_json::to_value(why).unwrap());
        }
    }
}
