//! The headless client behind `duet-cli`: signaling (`duet-client`), the WebRTC
//! session (`duet-rtc`) and media (`duet-media`) wired together for one call
//! at a time. `run` reports on a callback, one JSON value per event, and takes
//! in-call controls (mute, camera off, ...) from a channel.

pub mod checks;
mod media;
mod report;

use std::str::FromStr;
use std::time::{Duration, Instant};

use duet_client::{CallEvent, CallManager, CallState, ClientConfig, ClientEvent, Direction, ManagerConfig};
use duet_media::audio::{Cue, FRAME, Mixer, Ringtone, Speaker};
use duet_media::{DeviceList, DeviceWatcher, stamp};
use duet_protocol::{CallType, ClientMessage, RoomMedia, RoomSignal};
use duet_rtc::{Channel, ConnectionState, IceCandidate, RtcEvent, SessionDescription, quality};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use media::{AudioIn, Media, device_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Call {
        peer: String,
    },
    Answer,
    Echo,
    /// Calls are placed and answered with [`Control::Dial`], [`Control::Accept`]
    /// and [`Control::Decline`]; runs until the connection ends (the desktop app).
    Interactive,
}

/// Which picture a frame given to [`VideoOut`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// This side's camera, after processing (the local preview).
    Local,
    /// The peer's video, decoded.
    Remote,
}

/// Where decoded and local frames go to be drawn. Called on the media threads:
/// it must return at once (hand the frame over, never draw in it).
#[derive(Clone)]
pub struct VideoOut(pub std::sync::Arc<ShowFrame>);

pub type ShowFrame = dyn Fn(Feed, &duet_media::I420Frame) + Send + Sync;

impl VideoOut {
    pub fn show(&self, feed: Feed, frame: &duet_media::I420Frame) {
        (self.0)(feed, frame)
    }
}

/// Makes the per-frame processing (the beauty filter) for a camera at a frame
/// rate; every captured frame passes through it before preview and encode.
#[derive(Clone)]
pub struct Processing(pub std::sync::Arc<MakeProcessor>);

pub type MakeProcessor = dyn Fn(u32) -> Box<dyn duet_media::FrameProcessor> + Send + Sync;

impl std::fmt::Debug for Processing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Processing")
    }
}

impl std::fmt::Debug for VideoOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VideoOut")
    }
}

/// Where this side's video comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoInput {
    /// The stamped moving pattern.
    Synthetic,
    /// A camera by id or name, or the first one.
    Camera(Option<String>),
}

/// Where this side's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioInput {
    /// A 440 Hz tone.
    Tone,
    /// A microphone by id or name, or the default one.
    Microphone(Option<String>),
}

/// Where the peer's audio (and the ringtone/ringback) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioOutput {
    /// Decoded on the engine's clock and dropped.
    Nowhere,
    /// A speaker by id or name, or the default one.
    Speaker(Option<String>),
}

/// How an incoming call rings: which ringtone, how loud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    pub tone: Ringtone,
    /// 0–100.
    pub volume: u8,
}

impl Ring {
    pub const DEFAULT: Ring = Ring { tone: Ringtone::Chime, volume: 50 };

    fn volume(self) -> f32 {
        f32::from(self.volume.min(100)) / 100.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub video: VideoInput,
    pub audio: AudioInput,
    pub output: AudioOutput,
    /// 1280x720 at 30 fps instead of the seed's 960x540 at 15.
    pub hd: bool,
    pub ring: Ring,
}

impl Sources {
    /// Pattern and tone, no speaker: runs on any machine.
    pub const SYNTHETIC: Sources = Sources {
        video: VideoInput::Synthetic,
        audio: AudioInput::Tone,
        output: AudioOutput::Nowhere,
        hd: false,
        ring: Ring::DEFAULT,
    };
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
    pub sources: Sources,
    /// Frames to draw (none for a headless client).
    pub video_out: Option<VideoOut>,
    /// What every captured frame passes through (the app's beauty filter).
    pub processing: Option<Processing>,
}

/// What the user can do during a call (seed 000's controls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Mute (`true`) or unmute the microphone.
    Mute(bool),
    /// Turn the camera on (`true`) or off.
    Camera(bool),
    /// Mute (`true`) or unmute the speaker.
    MuteSpeaker(bool),
    /// Switch to another camera, microphone or speaker (by id or name; `None`: the default one).
    UseCamera(Option<String>),
    UseMicrophone(Option<String>),
    UseSpeaker(Option<String>),
    Hangup,
    /// Call `peer` (in [`Mode::Interactive`]).
    Dial {
        peer: String,
        audio_only: bool,
    },
    /// Accept the ringing call (in [`Mode::Interactive`]).
    Accept {
        audio_only: bool,
    },
    /// Decline the ringing call.
    Decline,
    /// A text message to the peer over the reliable data channel, command
    /// [`CHAT_COMMAND`]. `id`, when given, comes back in the `message_sent`,
    /// `message_delivered` or `error` report about it.
    Chat {
        id: Option<u32>,
        text: String,
    },
    /// What the next calls capture from and play to (the app's settings).
    UseSources(Sources),
}

/// The application command id (1–10, seed 004) that carries chat text.
pub const CHAT_COMMAND: u8 = 1;

impl FromStr for Control {
    type Err = String;

    /// `mute`, `unmute`, `camera off`, `camera on`, `speaker off`, `speaker on`,
    /// `use camera|mic|speaker [NAME]`, `hangup`, `dial PEER [audio]`, `accept [audio]`,
    /// `decline`, `chat TEXT`.
    fn from_str(line: &str) -> Result<Self, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        // A device name may have spaces; nothing after the kind means the default device.
        let name = |skip: usize| Some(words[skip..].join(" ")).filter(|n| !n.is_empty());
        Ok(match words.as_slice() {
            ["use", "camera", ..] => Control::UseCamera(name(2)),
            ["use", "mic" | "microphone", ..] => Control::UseMicrophone(name(2)),
            ["use", "speaker", ..] => Control::UseSpeaker(name(2)),
            ["mute"] => Control::Mute(true),
            ["unmute"] => Control::Mute(false),
            ["camera", "off"] => Control::Camera(false),
            ["camera", "on"] => Control::Camera(true),
            ["speaker", "off"] => Control::MuteSpeaker(true),
            ["speaker", "on"] => Control::MuteSpeaker(false),
            ["hangup"] => Control::Hangup,
            ["dial", peer] => Control::Dial { peer: (*peer).to_owned(), audio_only: false },
            ["dial", peer, "audio"] => Control::Dial { peer: (*peer).to_owned(), audio_only: true },
            ["accept"] => Control::Accept { audio_only: false },
            ["accept", "audio"] => Control::Accept { audio_only: true },
            ["decline"] => Control::Decline,
            ["chat", ..] if words.len() > 1 => {
                let text = line.trim_start().strip_prefix("chat").unwrap_or_default().trim().to_owned();
                Control::Chat { id: None, text }
            }
            _ => {
                return Err(format!(
                    "unknown control \"{}\"; use mute, unmute, camera on|off, speaker on|off, \
                     use camera|mic|speaker [NAME], hangup, dial PEER [audio], accept [audio], decline or chat TEXT",
                    line.trim()
                ));
            }
        })
    }
}

const AUDIO_FRAME: Duration = Duration::from_millis(20);
/// How often the device lists are read again, to notice plugs and unplugs.
const DEVICE_POLL: Duration = Duration::from_secs(1);

/// Runs until the call (or, for `echo`, the connection) ends. Returns the exit
/// code: 0 after a call that connected and was hung up, 1 otherwise.
pub async fn run(
    options: Options,
    mode: Mode,
    controls: mpsc::UnboundedReceiver<Control>,
    report: impl FnMut(Value),
) -> i32 {
    let (manager, events) =
        CallManager::start(ManagerConfig::new(ClientConfig::new(options.server.clone(), options.token.clone())));
    run_with(manager, events, options, mode, controls, report).await
}

/// [`run`] on a call manager that is already connected (the desktop app signs in
/// first, then hands its connection over). Besides the call's lines it reports
/// `presence` and `connection` lines, and `auth_failed` when the server stops
/// accepting the token.
pub async fn run_with(
    manager: CallManager,
    events: mpsc::UnboundedReceiver<CallEvent>,
    options: Options,
    mode: Mode,
    controls: mpsc::UnboundedReceiver<Control>,
    report: impl FnMut(Value),
) -> i32 {
    let code = drive(&manager, events, options, mode, controls, report).await;
    // A call just hung up has sent its `room.leave`; it must reach the server before
    // the process exits, or the peer waits for the server's watchdog instead.
    let _ = tokio::time::timeout(SHUT_DOWN_WAIT, manager.shut_down()).await;
    code
}

/// How long leaving waits for the last messages to reach the server.
const SHUT_DOWN_WAIT: Duration = Duration::from_secs(2);

async fn drive(
    manager: &CallManager,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    mut options: Options,
    mode: Mode,
    mut controls: mpsc::UnboundedReceiver<Control>,
    mut report: impl FnMut(Value),
) -> i32 {
    let clock = Instant::now();
    let now_us = move || clock.elapsed().as_micros() as u64;
    // Ringtone, ringback and the peer's voice all play through the mixer.
    let mixer = Mixer::new();
    let (device_errors_tx, mut device_errors) = mpsc::unbounded_channel();
    let open_speaker = |name: Option<&str>| {
        let errors = device_errors_tx.clone();
        Speaker::open(name, mixer.clone(), Box::new(move |e| drop(errors.send(e))))
    };
    let mut speaker = match &options.sources.output {
        AudioOutput::Nowhere => None,
        AudioOutput::Speaker(name) => match open_speaker(name.as_deref()) {
            Ok(speaker) => Some(speaker),
            Err(e) => {
                report(device_error(&e, "the peer will not be heard"));
                None
            }
        },
    };
    let mut media: Option<Media> = None;
    // Devices plugged in or out (reported; one in use that goes away is replaced by the default).
    let (device_list_tx, mut device_lists) = mpsc::unbounded_channel::<DeviceList>();
    let _watcher = DeviceWatcher::start(DEVICE_POLL, move |list| drop(device_list_tx.send(list.clone())));
    let mut dialed = false;
    let mut connected_once = false;
    let mut talking_since: Option<std::time::Instant> = None;
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut audio_tick = tokio::time::interval(AUDIO_FRAME);
    let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
    let mut follow_tick = tokio::time::interval(media::FOLLOW_INTERVAL);
    let mut controls_open = true;
    // Signals of a call whose media is not set up yet.
    let mut early_signals: Vec<Value> = Vec::new();
    // What the peer said it sends (the echo mirrors it).
    let mut peer_media: Option<RoomMedia> = None;

    loop {
        let audio_running = media.as_ref().is_some_and(|m| m.connected && !m.echo);
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return 1 };
                match event {
                    CallEvent::State { state, call } => {
                        let mut line = serde_json::to_value(&state).unwrap_or_default();
                        line["event"] = json!("state");
                        line["at_ms"] = json!(wall_ms());
                        if let Some(call) = &call {
                            line["peer"] = json!(call.peer);
                            line["direction"] = json!(call.direction);
                            line["call_type"] = json!(call.call_type);
                        }
                        match state {
                            CallState::Connected => talking_since = Some(std::time::Instant::now()),
                            // How long the two talked; 0 for a call that never connected.
                            CallState::Ended(_) | CallState::Failed(_) => {
                                let talked = talking_since.take().map_or(0, |at| at.elapsed().as_millis() as u64);
                                line["duration_ms"] = json!(talked);
                            }
                            _ => {}
                        }
                        report(line);
                        match (&state, mode == Mode::Echo) {
                            (CallState::Calling, _) => mixer.play_cue(Cue::Ringback),
                            (CallState::Ringing, false) => {
                                let ring = options.sources.ring;
                                mixer.play_cue_at(Cue::Ringtone(ring.tone), ring.volume());
                            }
                            _ => mixer.stop_cue(),
                        }
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
                                report(json!({"event": "accepted", "at_ms": wall_ms()}));
                                let _ = manager.accept(options.audio_only).await;
                            }
                            (CallState::Connected, _) => {
                                let Some(call) = call else { continue };
                                connected_once = true;
                                hangup_at = options.duration.map(|d| tokio::time::Instant::now() + d);
                                let echo = mode == Mode::Echo;
                                match Media::start(&options, &call, echo, &device_errors_tx, &mut report).await {
                                    Ok(mut m) => {
                                        if let Err(e) = mixer.start_voice() {
                                            report(json!({"event": "error", "message": e.to_string()}));
                                        }
                                        if echo {
                                            // What the caller sends is what comes back: its tiles say the same.
                                            if let Some(theirs) = &peer_media {
                                                mirror_media(manager, &m, theirs);
                                            }
                                        } else {
                                            let ours = m.room_media();
                                            report(media_line("local_media", &ours));
                                            // The peer learns at once what we cannot send.
                                            if ours.audio_off.is_some() || ours.video_off.is_some() {
                                                send_media(manager, ours);
                                            }
                                        }
                                        // The inviter offers once both are in the room.
                                        if call.direction == Direction::Outgoing {
                                            match m.rtc.create_offer().await {
                                                Ok(offer) => signal(manager, &m, json!({"sdp": offer})),
                                                Err(e) => report(json!({"event": "error", "message": e.to_string()})),
                                            }
                                        }
                                        for payload in early_signals.drain(..) {
                                            if let Err(e) = on_signal(manager, &mut m, payload).await {
                                                report(json!({"event": "error", "message": e}));
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
                                if let Some(mut m) = media.take() {
                                    m.stats.audio = mixer.voice_stats();
                                    report(m.stats.line(now_us()));
                                    // Closing waits for the peer; a vanished peer must not hold us.
                                    let _ = tokio::time::timeout(Duration::from_secs(2), m.rtc.close()).await;
                                }
                                mixer.stop_voice();
                                early_signals.clear();
                                peer_media = None;
                                hangup_at = None;
                                if mode == Mode::Answer {
                                    return if connected_once && matches!(state, CallState::Ended(_)) { 0 } else { 1 };
                                }
                            }
                            _ => {}
                        }
                    }
                    CallEvent::Signal { payload, .. } => match media.as_mut() {
                        Some(m) => {
                            if let Err(e) = on_signal(manager, m, payload).await {
                                report(json!({"event": "error", "message": e}));
                            }
                        }
                        // The peer's offer can overtake our own arrival in the room.
                        None => early_signals.push(payload),
                    },
                    CallEvent::PeerMedia { user, audio, video, audio_off, video_off } => {
                        let theirs = RoomMedia { req: None, room_id: String::new(), audio, video, audio_off, video_off };
                        let mut line = media_line("peer_media", &theirs);
                        line["user"] = json!(user);
                        report(line);
                        if let Some(m) = media.as_ref().filter(|m| m.echo) {
                            mirror_media(manager, m, &theirs);
                        }
                        peer_media = Some(theirs);
                    }
                    CallEvent::Connection(ClientEvent::AuthFailed { code, message }) => {
                        report(json!({"event": "auth_failed", "code": code, "message": message}));
                        return 1;
                    }
                    CallEvent::Connection(ClientEvent::Connected { .. }) => {
                        report(json!({"event": "connection", "online": true}));
                    }
                    CallEvent::Connection(ClientEvent::Disconnected { reason }) => {
                        report(json!({"event": "connection", "online": false, "reason": reason}));
                    }
                    CallEvent::Presence { user, status } => {
                        report(json!({"event": "presence", "user": user, "status": status}));
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
                        if m.rtc.send_video(&encoded.data, m.frame_interval()).await.is_ok() {
                            m.stats.frames_sent += 1;
                            m.stats.bytes_sent += encoded.data.len() as u64;
                        }
                        continue;
                    }
                    MediaInput::Encoded(None) => {
                        report(json!({"event": "error", "code": -1301, "message": "the camera stopped; the call goes on without video"}));
                        m.camera_stopped();
                        report(send_room_media(manager, m));
                        continue;
                    }
                    MediaInput::Microphone(frame) => {
                        if m.connected && !m.mic_muted {
                            send_audio_frame(m, &frame).await;
                        }
                        continue;
                    }
                };
                match event {
                    RtcEvent::Candidate(c) => signal(manager, m, json!({"candidate": c})),
                    RtcEvent::State(ConnectionState::Connected) => {
                        m.on_connected();
                        report(json!({"event": "media", "state": "connected", "at_ms": wall_ms()}));
                    }
                    RtcEvent::State(ConnectionState::Failed) => {
                        report(json!({"event": "media", "state": "failed"}));
                        let _ = manager.media_failed("the media connection failed").await;
                    }
                    RtcEvent::Video(frame) => {
                        m.stats.bytes_received += frame.data.len() as u64;
                        if m.echo {
                            let _ = m.rtc.send_video(&frame.data, m.frame_interval()).await;
                            m.stats.frames_sent += 1;
                        }
                        match m.decoder.decode(&frame.data) {
                            Ok(Some(picture)) => {
                                if m.stats.frames_decoded == 0 {
                                    report(json!({"event": "first_frame", "at_ms": wall_ms()}));
                                }
                                m.stats.frames_decoded += 1;
                                let stamp = stamp::read(&picture);
                                m.stats.last_counter = stamp.map(|s| s.counter);
                                if let Some(stamp) = stamp {
                                    let age = stamp.age_us(duet_media::capture_clock_us());
                                    m.stats.glass_to_glass_ms.push(age as f32 / 1000.0);
                                }
                                m.stats.render.frame_rendered(now_us(), picture.width(), picture.height());
                                if let Some(out) = &options.video_out {
                                    out.show(Feed::Remote, &picture);
                                }
                            }
                            Ok(None) => {}
                            Err(_) => {
                                // A lost reference frame: nothing decodes until a keyframe.
                                m.stats.frames_undecodable += 1;
                                m.rtc.request_keyframe().await;
                            }
                        }
                    }
                    RtcEvent::VideoLost => m.stats.frames_lost += 1,
                    RtcEvent::KeyframeRequested => {
                        m.stats.keyframe_requests += 1;
                        if let Some(pump) = &m.pump {
                            pump.request_keyframe();
                        }
                    }
                    RtcEvent::PeerQuality(q) => m.stats.peer_quality = Some(q),
                    RtcEvent::Delivered(seq) => {
                        let id = m.chats_in_flight.remove(&seq).flatten();
                        report(json!({"event": "message_delivered", "seq": seq, "id": id}));
                    }
                    RtcEvent::Message { channel, message } => report(json!({
                        "event": "message",
                        "channel": channel.label(),
                        "cmd": message.cmd,
                        "seq": message.seq,
                        "text": String::from_utf8_lossy(&message.payload),
                    })),
                    RtcEvent::Audio(packet) => {
                        m.stats.audio_packets_received += 1;
                        m.stats.bytes_received += packet.data.len() as u64;
                        if m.echo {
                            let _ = m.rtc.send_audio(&packet.data, AUDIO_FRAME).await;
                            m.stats.audio_packets_sent += 1;
                        } else {
                            mixer.push_voice(packet.sequence_number, packet.data);
                        }
                    }
                    _ => {}
                }
            }
            _ = audio_tick.tick(), if audio_running => {
                let Some(m) = media.as_mut() else { continue };
                if let AudioIn::Tone(tone) = &mut m.audio_in
                    && !m.mic_muted
                {
                    let frame = tone.next_frame();
                    send_audio_frame(m, &frame).await;
                }
                // Without a speaker the engine's clock plays the voice out (and keeps its stats true).
                if speaker.is_none() {
                    mixer.fill(&mut [0.0; FRAME]);
                }
            }
            control = controls.recv(), if controls_open => {
                let Some(control) = control else {
                    controls_open = false;
                    continue;
                };
                report(json!({"event": "control", "control": format!("{control:?}")}));
                match control {
                    Control::UseSpeaker(name) => match open_speaker(name.as_deref()) {
                        // The new one opens before the old one closes: no gap if it fails.
                        Ok(new) => {
                            report(json!({"event": "device", "speaker": new.device.id}));
                            speaker = Some(new);
                        }
                        Err(e) => report(device_error(&e, "the speaker was not changed")),
                    },
                    Control::UseMicrophone(name) => {
                        if let Some(m) = media.as_mut() {
                            match m.use_microphone(name.as_deref()) {
                                Ok(id) => report(json!({"event": "device", "microphone": id})),
                                Err(e) => report(device_error(&e, "the microphone was not changed")),
                            }
                            report(send_room_media(manager, m));
                        }
                    }
                    Control::UseCamera(name) => {
                        if let Some(m) = media.as_mut() {
                            match m.use_camera(name.as_deref(), options.sources.hd) {
                                Ok(id) => report(json!({"event": "device", "camera": id})),
                                Err(e) => report(device_error(&e, "the camera was not changed")),
                            }
                            report(send_room_media(manager, m));
                        }
                    }
                    Control::Hangup => {
                        let _ = manager.hangup().await;
                    }
                    Control::Dial { peer, audio_only } => {
                        options.audio_only = audio_only;
                        let call_type = if audio_only { CallType::Audio } else { CallType::Video };
                        if let Err(e) = manager.dial(&peer, call_type).await {
                            report(json!({"event": "error", "message": format!("cannot call {peer}: {e}")}));
                        }
                    }
                    Control::Accept { audio_only } => {
                        options.audio_only = audio_only;
                        if let Err(e) = manager.accept(audio_only).await {
                            report(json!({"event": "error", "message": format!("cannot accept the call: {e}")}));
                        }
                    }
                    Control::Decline => {
                        let _ = manager.decline().await;
                    }
                    Control::UseSources(sources) => {
                        if sources.output != options.sources.output {
                            speaker = match &sources.output {
                                AudioOutput::Nowhere => None,
                                AudioOutput::Speaker(name) => match open_speaker(name.as_deref()) {
                                    Ok(new) => Some(new),
                                    Err(e) => {
                                        report(device_error(&e, "the speaker was not changed"));
                                        speaker
                                    }
                                },
                            };
                        }
                        options.sources = sources;
                    }
                    Control::Chat { id, text } => {
                        let Some(m) = media.as_mut() else {
                            report(json!({"event": "error", "id": id, "message": "there is no call to send the message in"}));
                            continue;
                        };
                        match m.rtc.send_message(Channel::Reliable, CHAT_COMMAND, text.as_bytes()).await {
                            Ok(seq) => {
                                m.chats_in_flight.insert(seq, id);
                                report(json!({"event": "message_sent", "cmd": CHAT_COMMAND, "seq": seq, "id": id}));
                            }
                            Err(e) => report(json!({"event": "error", "id": id, "code": e.code(), "message": e.to_string()})),
                        }
                    }
                    Control::MuteSpeaker(muted) => mixer.set_muted(muted),
                    Control::Mute(muted) => {
                        if let Some(m) = media.as_mut() {
                            m.mic_muted = muted;
                            report(send_room_media(manager, m));
                        }
                    }
                    Control::Camera(on) => {
                        if let Some(m) = media.as_mut() {
                            m.set_camera_off(!on);
                            report(send_room_media(manager, m));
                        }
                    }
                }
            }
            Some(list) = device_lists.recv() => {
                report(json!({
                    "event": "devices",
                    "cameras": list.cameras.iter().map(|c| &c.name).collect::<Vec<_>>(),
                    "microphones": list.microphones.iter().map(|d| &d.id).collect::<Vec<_>>(),
                    "speakers": list.speakers.iter().map(|d| &d.id).collect::<Vec<_>>(),
                }));
                if speaker.as_ref().is_some_and(|s| !list.speakers.iter().any(|d| d.id == s.device.id)) {
                    match open_speaker(None) {
                        Ok(new) => {
                            report(json!({"event": "device", "speaker": new.device.id, "reason": "unplugged"}));
                            speaker = Some(new);
                        }
                        Err(e) => report(device_error(&e, "the speaker was unplugged")),
                    }
                }
                if let Some(m) = media.as_mut()
                    && m.microphone_id().is_some_and(|id| !list.microphones.iter().any(|d| d.id == id))
                {
                    match m.use_microphone(None) {
                        Ok(id) => report(json!({"event": "device", "microphone": id, "reason": "unplugged"})),
                        Err(e) => report(device_error(&e, "the microphone was unplugged")),
                    }
                    report(send_room_media(manager, m));
                }
            }
            Some(error) = device_errors.recv() => {
                report(device_error(&error, "check the device and the system's sound settings"));
            }
            _ = follow_tick.tick() => {
                if let Some(m) = media.as_mut().filter(|m| m.connected) {
                    m.follow_estimate(Instant::now());
                }
            }
            _ = stats_tick.tick() => {
                if let Some(m) = media.as_mut().filter(|m| m.connected) {
                    m.stats.network = m.rtc.network_stats().await;
                    m.stats.quality = quality::rate(&m.stats.network);
                    m.stats.audio = mixer.voice_stats();
                    // Each side shows both qualities (seed 004).
                    let _ = m.rtc.send_quality(m.stats.quality).await;
                    report(m.stats.line(now_us()));
                }
            }
            _ = sleep_until(hangup_at) => {
                hangup_at = None;
                let _ = manager.hangup().await;
            }
        }
    }
}

/// Wall-clock time in ms since the Unix epoch (µs precision), to line up
/// events of processes on one machine.
fn wall_ms() -> f64 {
    duet_media::capture_clock_us() as f64 / 1000.0
}

async fn send_audio_frame(m: &mut Media, frame: &[i16; FRAME]) {
    if let Ok(packet) = m.opus.encode(frame)
        && m.rtc.send_audio(&packet, AUDIO_FRAME).await.is_ok()
    {
        m.stats.audio_packets_sent += 1;
        m.stats.bytes_sent += packet.len() as u64;
    }
}

/// Tells the peer (through the server) what we send now, and why not, for its
/// mute indicators and tiles; returns the `local_media` line that says the same here.
fn send_room_media(manager: &CallManager, media: &Media) -> Value {
    let media = media.room_media();
    let line = media_line("local_media", &media);
    send_media(manager, media);
    line
}

fn send_media(manager: &CallManager, media: RoomMedia) {
    if let Err(e) = manager.client().send(ClientMessage::RoomMedia(media)) {
        tracing::warn!("room.media not sent: {e}");
    }
}

/// A `local_media` or `peer_media` line: what a side sends, and why not
/// (`audio_off`/`video_off` only when it says).
fn media_line(event: &str, media: &RoomMedia) -> Value {
    let mut line = json!({"event": event, "audio": media.audio, "video": media.video});
    for (key, off) in [("audio_off", media.audio_off), ("video_off", media.video_off)] {
        if let Some(off) = off {
            line[key] = json!(off);
        }
    }
    line
}

/// The echo sends back what the caller sends, so it says the same about it.
fn mirror_media(manager: &CallManager, echo: &Media, theirs: &RoomMedia) {
    send_media(manager, RoomMedia { room_id: echo.room_id.clone(), ..theirs.clone() });
}

enum MediaInput {
    Rtc(RtcEvent),
    /// A frame from the video pump; `None` when it stopped.
    Encoded(Option<duet_media::EncodedFrame>),
    /// 20 ms from the microphone.
    Microphone(Box<[i16; FRAME]>),
}

/// The next thing the current call's media has for the main loop.
async fn next_media(media: &mut Option<Media>) -> MediaInput {
    let Some(Media { rtc, pump, mic_frames, .. }) = media.as_mut() else { return std::future::pending().await };
    let encoded = async {
        match pump {
            Some(pump) => pump.frames.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        Some(event) = rtc.next_event() => MediaInput::Rtc(event),
        frame = encoded => MediaInput::Encoded(frame),
        Some(frame) = mic_frames.recv() => MediaInput::Microphone(Box::new(frame)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_parse_and_device_names_keep_their_spaces() {
        assert_eq!("mute".parse(), Ok(Control::Mute(true)));
        assert_eq!(" camera off ".parse(), Ok(Control::Camera(false)));
        assert_eq!(
            "use mic Built-in Microphone".parse(),
            Ok(Control::UseMicrophone(Some("Built-in Microphone".into())))
        );
        assert_eq!("use speaker".parse(), Ok(Control::UseSpeaker(None)));
        assert_eq!("use camera 0".parse(), Ok(Control::UseCamera(Some("0".into()))));
        assert_eq!("dial bob audio".parse(), Ok(Control::Dial { peer: "bob".into(), audio_only: true }));
        assert_eq!("accept".parse(), Ok(Control::Accept { audio_only: false }));
        assert_eq!("chat  hello  there".parse(), Ok(Control::Chat { id: None, text: "hello  there".into() }));
        let error = "louder".parse::<Control>().unwrap_err();
        assert!(error.contains("unknown control \"louder\""), "{error}");
    }
}
