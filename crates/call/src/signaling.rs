//! The call manager's events: state changes start and end a call's media,
//! the peer's SDP and ICE reach the session, connection and presence changes
//! are reported.

use std::time::Duration;

use duet_client::{CallEvent, CallInfo, CallState, ClientEvent, Direction};
use duet_media::audio::Cue;
use duet_protocol::{ClientMessage, RoomMedia, RoomSignal};
use duet_rtc::{IceCandidate, SessionDescription};
use serde_json::{Value, json};

use crate::engine::{Engine, Flow};
use crate::event::{CallSummary, EngineError, Event, MediaSent, PeerMedia, StateChange, wall_ms};
use crate::media::Media;

/// How long closing a media session may wait for the peer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl Engine {
    pub(crate) async fn on_call_event(&mut self, event: CallEvent) -> Flow {
        match event {
            CallEvent::State { state, call } => self.on_state(state, call).await,
            CallEvent::Signal { payload, .. } if payload.get("restart") == Some(&Value::Bool(true)) => {
                self.on_restart_asked().await;
            }
            CallEvent::Signal { payload, .. } => match self.media.as_mut() {
                Some(m) => {
                    if let Err(e) = on_signal(&self.manager, m, payload).await {
                        self.fail(e);
                    }
                }
                // The peer's offer can overtake our own arrival in the room.
                None => self.early_signals.push(payload),
            },
            CallEvent::PeerMedia { user, audio, video, audio_off, video_off } => {
                let theirs = RoomMedia { req: None, room_id: String::new(), audio, video, audio_off, video_off };
                self.emit(Event::PeerMedia(PeerMedia { user: user.clone(), media: MediaSent::from(&theirs) }));
                if let Some(m) = self.media.as_ref().filter(|m| m.echo) {
                    mirror_media(&self.manager, m, &theirs);
                }
                self.peers.insert(user, theirs);
            }
            CallEvent::PeerConnection { user, online } => self.emit(Event::PeerConnection { user, online }),
            CallEvent::Connection(ClientEvent::AuthFailed { code, message }) => {
                self.emit(Event::AuthFailed { code, message });
                return Flow::Stop;
            }
            CallEvent::Connection(ClientEvent::CertificateRejected { message }) => {
                self.emit(Event::CertificateRejected { message });
                return Flow::Stop;
            }
            CallEvent::Connection(ClientEvent::Connected { .. }) => {
                self.emit(Event::Connection { online: true, reason: None });
                self.signaling_online = true;
                self.on_signaling_back().await;
            }
            CallEvent::Connection(ClientEvent::Disconnected { reason }) => {
                self.emit(Event::Connection { online: false, reason: Some(reason) });
                self.signaling_online = false;
            }
            CallEvent::Connection(ClientEvent::TokenRenewed { token, expires_at }) => {
                self.emit(Event::TokenRenewed { token, expires_at });
            }
            CallEvent::Connection(ClientEvent::Message(_)) => {}
            CallEvent::Presence { user, status } => self.emit(Event::Presence { user, status }),
            CallEvent::Error(message) => self.fail(EngineError::Signaling(message)),
        }
        Flow::Continue
    }

    async fn on_state(&mut self, state: CallState, call: Option<CallInfo>) {
        let duration_ms = match state {
            CallState::Connected => {
                self.talking_since = Some(std::time::Instant::now());
                None
            }
            // How long the two talked; 0 for a call that never connected.
            CallState::Ended(_) | CallState::Failed(_) => {
                Some(self.talking_since.take().map_or(0, |at| at.elapsed().as_millis() as u64))
            }
            _ => None,
        };
        let summary = call.as_ref().map(|c| CallSummary {
            peer: c.peer.clone(),
            direction: c.direction,
            call_type: c.call_type,
            invite_id: c.invite_id.clone(),
        });
        self.emit(Event::State(StateChange { state: state.clone(), at_ms: wall_ms(), call: summary, duration_ms }));
        self.play_cue_for(&state);
        match state {
            CallState::Connected => {
                if let Some(call) = call {
                    self.start_media(&call).await;
                }
            }
            CallState::Ended(_) | CallState::Failed(_) => self.end_media().await,
            _ => {}
        }
    }

    /// Ringback while calling, the ringtone while ringing (never for the echo user), silence otherwise.
    fn play_cue_for(&self, state: &CallState) {
        match state {
            CallState::Calling => self.mixer.play_cue(Cue::Ringback),
            CallState::Ringing if !self.config.echo => {
                let ring = self.config.sources.ring;
                self.mixer.play_cue_at(Cue::Ringtone(ring.tone), ring.volume());
            }
            _ => self.mixer.stop_cue(),
        }
    }

    /// Both are in the room: this side's media starts, the inviter offers.
    async fn start_media(&mut self, call: &CallInfo) {
        let started = Media::start(&self.config, self.audio_only, call, &self.device_errors, &self.events).await;
        let mut m = match started {
            Ok(m) => m,
            Err(e) => {
                let why = e.to_string();
                self.fail(e);
                let _ = self.manager.media_failed(&why).await;
                return;
            }
        };
        if let Err(e) = self.mixer.start_voice() {
            self.fail(EngineError::Media(e.to_string()));
        }
        // A new call: the canceller learns this call's echo from scratch.
        self.config.audio_processor.reset();
        if m.echo {
            // What the caller sends is what comes back: its tiles say the same.
            if let Some(theirs) = self.peers.get(&m.peer) {
                mirror_media(&self.manager, &m, theirs);
            }
        } else {
            let ours = m.room_media();
            self.emit(Event::LocalMedia(MediaSent::from(&ours)));
            // The peer learns at once what we cannot send.
            if ours.audio_off.is_some() || ours.video_off.is_some() {
                send_media(&self.manager, ours);
            }
        }
        if call.direction == Direction::Outgoing {
            match m.rtc.create_offer().await {
                Ok(offer) => signal(&self.manager, &m, json!({"sdp": offer, "generation": m.path.generation})),
                Err(e) => self.fail(EngineError::Media(e.to_string())),
            }
        }
        for payload in std::mem::take(&mut self.early_signals) {
            if let Err(e) = on_signal(&self.manager, &mut m, payload).await {
                self.fail(e);
            }
        }
        self.media = Some(m);
    }

    /// The call is over: the last stats, the session closed, the voice stopped.
    async fn end_media(&mut self) {
        let now = self.now_us();
        if let Some(mut m) = self.media.take() {
            m.stats.audio = self.mixer.voice_stats();
            self.emit(Event::Stats(Box::new(m.stats.snapshot(now))));
            // Closing waits for the peer; a vanished peer must not hold us.
            let _ = tokio::time::timeout(CLOSE_WAIT, m.rtc.close()).await;
        }
        self.mixer.stop_voice();
        self.early_signals.clear();
        self.peers.clear();
    }

    /// Tells the peer (through the server) what we send now, and why not, for its
    /// mute indicators and tiles; and says the same here.
    pub(crate) fn send_room_media(&self) {
        let Some(m) = self.media.as_ref() else { return };
        let ours = m.room_media();
        self.emit(Event::LocalMedia(MediaSent::from(&ours)));
        send_media(&self.manager, ours);
    }
}

fn send_media(manager: &duet_client::CallManager, media: RoomMedia) {
    if let Err(e) = manager.client().send(ClientMessage::RoomMedia(media)) {
        tracing::warn!("room.media not sent: {e}");
    }
}

/// The echo sends back what the caller sends, so it says the same about it.
fn mirror_media(manager: &duet_client::CallManager, echo: &Media, theirs: &RoomMedia) {
    send_media(manager, RoomMedia { room_id: echo.room_id.clone(), ..theirs.clone() });
}

pub(crate) fn signal(manager: &duet_client::CallManager, media: &Media, payload: Value) {
    let message = ClientMessage::RoomSignal(RoomSignal {
        req: None,
        room_id: media.room_id.clone(),
        to: media.peer.clone(),
        payload,
    });
    if let Err(e) = manager.client().send(message) {
        tracing::warn!("room.signal not sent: {e}");
    }
}

/// SDP and ICE from the peer, in the W3C JSON forms of docs/protocol.md.
async fn on_signal(manager: &duet_client::CallManager, media: &mut Media, payload: Value) -> Result<(), EngineError> {
    let bad = |e: &dyn std::fmt::Display| EngineError::Media(e.to_string());
    if let Some(sdp) = payload.get("sdp") {
        let description: SessionDescription = serde_json::from_value(sdp.clone()).map_err(|e| bad(&e))?;
        let generation = payload.get("generation").and_then(Value::as_u64);
        if sdp.get("type").and_then(Value::as_str) == Some("offer") {
            let answer = media.rtc.answer(description).await.map_err(|e| bad(&e))?;
            let mut reply = json!({"sdp": answer});
            if let Some(generation) = generation {
                reply["generation"] = generation.into();
            }
            signal(manager, media, reply);
        } else if generation.is_some_and(|g| g != media.path.generation) {
            // The answer to an offer a newer restart overtook: the newer one's answer follows.
            tracing::debug!(?generation, current = media.path.generation, "ignored the answer to an older offer");
        } else {
            media.rtc.accept_answer(description).await.map_err(|e| bad(&e))?;
            media.path.offered_at = None;
        }
    } else if let Some(candidate) = payload.get("candidate").filter(|c| !c.is_null()) {
        let candidate: IceCandidate = serde_json::from_value(candidate.clone()).map_err(|e| bad(&e))?;
        media.rtc.add_candidate(candidate).await.map_err(|e| bad(&e))?;
    }
    Ok(())
}
