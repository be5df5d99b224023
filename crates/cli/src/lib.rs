//! The headless client behind `duet-cli`: signaling (`duet-client`), the WebRTC
//! session (`duet-rtc`) and media (`duet-media`) wired together for one call
//! at a time. `run` reports on a callback, one JSON value per event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use duet_client::{CallEvent, CallInfo, CallManager, CallState, ClientConfig, ClientEvent, Direction, ManagerConfig};
use duet_media::audio::{FRAME, OpusDecoder, OpusEncoder, ToneSource};
use duet_media::{
    EncodedFrame, EncoderSettings, H264Decoder, H264Encoder, SyntheticSource, VideoFormat, VideoSource, stamp,
};
use duet_protocol::{CallType, ClientMessage, RoomSignal};
use duet_rtc::{
    ConnectionState, IceCandidate, NetworkStats, Quality, RtcEvent, RtcSession, SessionConfig, SessionDescription,
    quality,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Call { peer: String },
    Answer,
    Echo,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub user: String,
    pub token: String,
    pub udp_addrs: Vec<String>,
    pub audio_only: bool,
    /// Hang up this long after the call connected.
    pub duration: Option<Duration>,
}

const AUDIO_FRAME: Duration = Duration::from_millis(20);

/// Counters reported every second.
#[derive(Debug, Default, Clone)]
struct Stats {
    frames_sent: u64,
    frames_decoded: u64,
    frames_lost: u64,
    frames_undecodable: u64,
    audio_packets_sent: u64,
    audio_packets_received: u64,
    last_counter: Option<u32>,
    network: NetworkStats,
    quality: Quality,
    /// What the peer reported of its own network quality.
    peer_quality: Option<Quality>,
}

/// Captures and encodes video on a thread of its own, paced at the frame rate,
/// so a slow encoder never delays audio or signaling.
struct VideoPump {
    frames: mpsc::Receiver<EncodedFrame>,
    stop: Arc<AtomicBool>,
}

impl VideoPump {
    fn start(mut source: SyntheticSource, mut encoder: H264Encoder, interval: Duration) -> VideoPump {
        let (tx, frames) = mpsc::channel(4);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        // The first frame the peer can receive must be a keyframe.
        encoder.request_keyframe();
        std::thread::spawn(move || {
            let mut next = std::time::Instant::now();
            while !stopped.load(Ordering::Relaxed) {
                let Ok(frame) = source.next_frame() else { break };
                if let Ok(Some(encoded)) = encoder.encode(&frame)
                    && tx.blocking_send(encoded).is_err()
                {
                    break;
                }
                next += interval;
                std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
            }
        });
        VideoPump { frames, stop }
    }
}

impl Drop for VideoPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The media side of the current call.
struct Media {
    rtc: RtcSession,
    room_id: String,
    peer: String,
    echo: bool,
    /// Camera (synthetic) and encoder, until media connects and the pump takes them.
    source: Option<(SyntheticSource, H264Encoder)>,
    pump: Option<VideoPump>,
    /// Media flows once ICE and DTLS are up; before that packets would be lost.
    connected: bool,
    decoder: H264Decoder,
    tone: ToneSource,
    opus: OpusEncoder,
    opus_in: OpusDecoder,
    stats: Stats,
}

impl Media {
    async fn start(options: &Options, call: &CallInfo, echo: bool) -> Result<Media, String> {
        let video = call.call_type == CallType::Video && !options.audio_only;
        let config = SessionConfig { udp_addrs: options.udp_addrs.clone(), video };
        let rtc = RtcSession::new(config).await.map_err(|e| e.to_string())?;
        let source = if video && !echo {
            let source = SyntheticSource::new(VideoFormat::DEFAULT).map_err(|e| e.to_string())?;
            Some((source, H264Encoder::new(EncoderSettings::DEFAULT).map_err(|e| e.to_string())?))
        } else {
            None
        };
        Ok(Media {
            rtc,
            room_id: call.room_id.clone(),
            peer: call.peer.clone(),
            echo,
            source,
            pump: None,
            connected: false,
            decoder: H264Decoder::new().map_err(|e| e.to_string())?,
            tone: ToneSource::new(440.0, 0.3),
            opus: OpusEncoder::new(32_000).map_err(|e| e.to_string())?,
            opus_in: OpusDecoder::new().map_err(|e| e.to_string())?,
            stats: Stats::default(),
        })
    }

    fn frame_interval() -> Duration {
        Duration::from_secs_f32(1.0 / VideoFormat::DEFAULT.fps)
    }
}

/// Runs until the call (or, for `echo`, the connection) ends. Returns the exit
/// code: 0 after a call that connected and was hung up, 1 otherwise.
pub async fn run(options: Options, mode: Mode, mut report: impl FnMut(Value)) -> i32 {
    let (manager, mut events) =
        CallManager::start(ManagerConfig::new(ClientConfig::new(options.server.clone(), options.token.clone())));
    let mut media: Option<Media> = None;
    let mut dialed = false;
    let mut connected_once = false;
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut audio_tick = tokio::time::interval(AUDIO_FRAME);
    let mut stats_tick = tokio::time::interval(Duration::from_secs(1));

    loop {
        let sending_audio = media.as_ref().is_some_and(|m| m.connected && !m.echo);
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return 1 };
                match event {
                    CallEvent::State { state, call } => {
                        let mut line = serde_json::to_value(&state).unwrap_or_default();
                        line["event"] = json!("state");
                        if let Some(call) = &call {
                            line["peer"] = json!(call.peer);
                        }
                        report(line);
                        match (&state, &mode) {
                            (CallState::Prepared, Mode::Call { peer }) if !dialed => {
                                dialed = true;
                                let call_type = if options.audio_only { CallType::Audio } else { CallType::Video };
                                if let Err(e) = manager.dial(peer, call_type).await {
                                    report(json!({"event": "error", "message": format!("cannot call {peer}: {e}")}));
                                    return 1;
                                }
                            }
                            (CallState::Prepared, Mode::Call { .. }) => return if connected_once { 0 } else { 1 },
                            (CallState::Ringing, Mode::Answer | Mode::Echo) => {
                                let _ = manager.accept(options.audio_only).await;
                            }
                            (CallState::Connected, _) => {
                                let Some(call) = call else { continue };
                                connected_once = true;
                                hangup_at = options.duration.map(|d| tokio::time::Instant::now() + d);
                                match Media::start(&options, &call, mode == Mode::Echo).await {
                                    Ok(m) => {
                                        // The inviter offers once both are in the room.
                                        let mut m = m;
                                        if call.direction == Direction::Outgoing {
                                            match m.rtc.create_offer().await {
                                                Ok(offer) => signal(&manager, &m, json!({"sdp": offer})),
                                                Err(e) => report(json!({"event": "error", "message": e.to_string()})),
                                            }
                                        }
                                        media = Some(m);
                                    }
                                    Err(e) => {
                                        report(json!({"event": "error", "message": e}));
                                        let _ = manager.media_failed(&e).await;
                                    }
                                }
                            }
                            (CallState::Ended(_) | CallState::Failed(_), _) => {
                                if let Some(m) = media.take() {
                                    report(stats_line(&m.stats));
                                    // Closing waits for the peer; a vanished peer must not hold us.
                                    let _ = tokio::time::timeout(Duration::from_secs(2), m.rtc.close()).await;
                                }
                                hangup_at = None;
                                if mode == Mode::Answer {
                                    return if connected_once && matches!(state, CallState::Ended(_)) { 0 } else { 1 };
                                }
                            }
                            _ => {}
                        }
                    }
                    CallEvent::Signal { payload, .. } => {
                        if let Some(m) = media.as_mut()
                            && let Err(e) = on_signal(&manager, m, payload).await
                        {
                            report(json!({"event": "error", "message": e}));
                        }
                    }
                    CallEvent::Connection(ClientEvent::AuthFailed { message, .. }) => {
                        report(json!({"event": "error", "message": message}));
                        return 1;
                    }
                    CallEvent::Error(message) => report(json!({"event": "error", "message": message})),
                    _ => {}
                }
            }
            input = next_media(&mut media) => {
                let Some(m) = media.as_mut() else { continue };
                let event = match input {
                    MediaInput::Rtc(event) => event,
                    MediaInput::Encoded(Some(encoded)) => {
                        if m.rtc.send_video(&encoded.data, Media::frame_interval()).await.is_ok() {
                            m.stats.frames_sent += 1;
                        }
                        continue;
                    }
                    MediaInput::Encoded(None) => {
                        report(json!({"event": "error", "message": "video capture stopped"}));
                        m.pump = None;
                        continue;
                    }
                };
                match event {
                    RtcEvent::Candidate(c) => signal(&manager, m, json!({"candidate": c})),
                    RtcEvent::State(ConnectionState::Connected) => {
                        m.connected = true;
                        if let Some((source, encoder)) = m.source.take() {
                            m.pump = Some(VideoPump::start(source, encoder, Media::frame_interval()));
                        }
                        report(json!({"event": "media", "state": "connected"}));
                    }
                    RtcEvent::State(ConnectionState::Failed) => {
                        report(json!({"event": "media", "state": "failed"}));
                        let _ = manager.media_failed("the media connection failed").await;
                    }
                    RtcEvent::Video(frame) => {
                        if m.echo {
                            let _ = m.rtc.send_video(&frame.data, Media::frame_interval()).await;
                            m.stats.frames_sent += 1;
                        }
                        match m.decoder.decode(&frame.data) {
                            Ok(Some(picture)) => {
                                m.stats.frames_decoded += 1;
                                m.stats.last_counter = stamp::read(&picture).map(|s| s.counter);
                            }
                            Ok(None) => {}
                            Err(_) => m.stats.frames_undecodable += 1,
                        }
                    }
                    RtcEvent::VideoLost => m.stats.frames_lost += 1,
                    RtcEvent::PeerQuality(q) => m.stats.peer_quality = Some(q),
                    RtcEvent::Audio(packet) => {
                        m.stats.audio_packets_received += 1;
                        if m.echo {
                            let _ = m.rtc.send_audio(&packet.data, AUDIO_FRAME).await;
                            m.stats.audio_packets_sent += 1;
                        } else {
                            let _ = m.opus_in.decode(&packet.data);
                        }
                    }
                    _ => {}
                }
            }
            _ = audio_tick.tick(), if sending_audio => {
                let Some(m) = media.as_mut() else { continue };
                let samples: [i16; FRAME] = m.tone.next_frame();
                if let Ok(packet) = m.opus.encode(&samples)
                    && m.rtc.send_audio(&packet, AUDIO_FRAME).await.is_ok()
                {
                    m.stats.audio_packets_sent += 1;
                }
            }
            _ = stats_tick.tick() => {
                if let Some(m) = media.as_mut().filter(|m| m.connected) {
                    m.stats.network = m.rtc.network_stats().await;
                    m.stats.quality = quality::rate(&m.stats.network);
                    // Each side shows both qualities (seed 004).
                    let _ = m.rtc.send_quality(m.stats.quality).await;
                    report(stats_line(&m.stats));
                }
            }
            _ = sleep_until(hangup_at) => {
                hangup_at = None;
                let _ = manager.hangup().await;
            }
        }
    }
}

fn stats_line(stats: &Stats) -> Value {
    json!({
        "event": "stats",
        "frames_sent": stats.frames_sent,
        "frames_decoded": stats.frames_decoded,
        "frames_lost": stats.frames_lost,
        "frames_undecodable": stats.frames_undecodable,
        "last_frame_counter": stats.last_counter,
        "audio_packets_sent": stats.audio_packets_sent,
        "audio_packets_received": stats.audio_packets_received,
        "rtt_ms": stats.network.rtt_ms.map(|ms| (ms * 10.0).round() / 10.0),
        "loss": stats.network.loss,
        "jitter_ms": (stats.network.jitter_ms * 10.0).round() / 10.0,
        "quality": stats.quality,
        "peer_quality": stats.peer_quality,
    })
}

enum MediaInput {
    Rtc(RtcEvent),
    /// A frame from the video pump; `None` when it stopped.
    Encoded(Option<EncodedFrame>),
}

/// The next thing the current call's media has for the main loop.
async fn next_media(media: &mut Option<Media>) -> MediaInput {
    let Some(Media { rtc, pump, .. }) = media.as_mut() else { return std::future::pending().await };
    let encoded = async {
        match pump {
            Some(pump) => pump.frames.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        Some(event) = rtc.next_event() => MediaInput::Rtc(event),
        frame = encoded => MediaInput::Encoded(frame),
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn signal(manager: &CallManager, media: &Media, payload: Value) {
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
async fn on_signal(manager: &CallManager, media: &mut Media, payload: Value) -> Result<(), String> {
    if let Some(sdp) = payload.get("sdp") {
        let description: SessionDescription = serde_json::from_value(sdp.clone()).map_err(|e| e.to_string())?;
        if sdp.get("type").and_then(Value::as_str) == Some("offer") {
            let answer = media.rtc.answer(description).await.map_err(|e| e.to_string())?;
            signal(manager, media, json!({"sdp": answer}));
        } else {
            media.rtc.accept_answer(description).await.map_err(|e| e.to_string())?;
        }
    } else if let Some(candidate) = payload.get("candidate").filter(|c| !c.is_null()) {
        let candidate: IceCandidate = serde_json::from_value(candidate.clone()).map_err(|e| e.to_string())?;
        media.rtc.add_candidate(candidate).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
