//! The media side of one call: the WebRTC session, what this side sends
//! (camera or pattern, microphone or tone) and what it received.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use duet_client::CallInfo;
use duet_media::audio::{FRAME, Microphone, OpusEncoder, ToneSource};
use duet_media::{
    CameraSource, EncodedFrame, EncoderSettings, H264Decoder, H264Encoder, MIN_VIDEO_BITRATE_BPS, SyntheticSource,
    VideoFormat, VideoSender, VideoSource,
};
use duet_protocol::{CallType, MediaOff, RoomMedia};
use duet_rtc::{RtcSession, SessionConfig};
use tokio::sync::mpsc;

use crate::event::{EngineError, Event};
use crate::path::PathWatch;
use crate::stats::Counters;
use crate::{AudioInput, Config, Feed, Processing, Sources, VideoInput, VideoOut};

/// How long ICE and DTLS may take to find a media path before the call fails
/// with [`duet_client::media_unreachable`]'s reason instead of showing a black screen forever.
pub(crate) const MEDIA_WITHIN: Duration = Duration::from_secs(15);

/// One audio frame's time on the wire.
pub(crate) const AUDIO_FRAME: Duration = Duration::from_millis(20);

/// Opus's bitrate, and what its packets take on the wire with their headers
/// (50 a second).
const AUDIO_BITRATE_BPS: i32 = 32_000;
const AUDIO_WIRE_BPS: f64 = 48_000.0;
/// The share of the network estimate that audio and video may fill; the rest
/// is headroom for retransmissions and packet headers.
const ESTIMATE_SHARE: f64 = 0.9;

/// What the congestion controller starts at and never exceeds, for a video
/// encoder that sends at most `video_bps`.
fn send_budget(video_bps: u32) -> u32 {
    ((f64::from(video_bps) + AUDIO_WIRE_BPS) / ESTIMATE_SHARE).ceil() as u32
}

/// What video starts at, before the network has shown what it carries: a
/// call that started at its full rate overfilled a 500 kbps link and froze
/// for seconds. 300 kbps is what WebRTC stacks commonly start at; 720p30
/// starts at a third of its full rate, as at 300 kbps its rate control skips
/// frames after the first keyframe long enough to count as a freeze.
fn start_video_bps(max_video_bps: u32) -> u32 {
    300_000.max(max_video_bps / 3).min(max_video_bps)
}

/// Until the estimate first falls below what video sends, video may double
/// every second (a slow start: 540p's 300 kbps reaches 850 in 1.5 s, 720p's
/// 567 kbps reaches 1.7 Mbps in 1.6 s, on a link that carries them).
const STARTUP_RAMP: f64 = 2.0;

/// After that, how much faster than the previous second's the video may get:
/// an estimate that climbs faster than this overshoots a narrow link before
/// the delay detector sees its queue, and the losses that follow knock it to
/// the floor.
const VIDEO_RAMP: f64 = 1.15;

/// How often the encoder's target is brought in line with the estimate: a
/// fall is followed within this, not at the next stats second.
pub(crate) const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

/// The video bitrate that fits in the network estimate `target_bps`.
fn video_budget(target_bps: f64) -> u32 {
    (target_bps * ESTIMATE_SHARE - AUDIO_WIRE_BPS).max(0.0).round() as u32
}

/// Captures and encodes video on a thread of its own, paced at the frame rate,
/// so a slow encoder never delays audio or signaling.
pub(crate) struct VideoPump {
    pub frames: mpsc::Receiver<EncodedFrame>,
    /// Another camera for the running pipeline.
    sources: std::sync::mpsc::Sender<Box<dyn VideoSource>>,
    stop: Arc<AtomicBool>,
    /// Camera off: the thread stops capturing until it is turned on again.
    paused: Arc<AtomicBool>,
    keyframe: Arc<AtomicBool>,
    /// The bitrate the encoder should aim at (follows the network estimate).
    bitrate: Arc<AtomicU32>,
}

impl VideoPump {
    fn start(mut sender: VideoSender, interval: Duration, preview: Option<VideoOut>) -> VideoPump {
        let (tx, frames) = mpsc::channel(4);
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        // The first frame the peer can receive must be a keyframe.
        let keyframe = Arc::new(AtomicBool::new(true));
        let bitrate = Arc::new(AtomicU32::new(sender.bitrate_bps()));
        let (stopped, is_paused, wants_keyframe) = (stop.clone(), paused.clone(), keyframe.clone());
        let target_bitrate = bitrate.clone();
        let (sources, new_sources) = std::sync::mpsc::channel::<Box<dyn VideoSource>>();
        std::thread::spawn(move || {
            let mut next = Instant::now();
            while !stopped.load(Ordering::Relaxed) {
                next += interval;
                if let Ok(source) = new_sources.try_recv()
                    && let Err(e) = sender.set_source(source)
                {
                    tracing::warn!("the new camera cannot be encoded: {e}");
                }
                let bps = target_bitrate.load(Ordering::Relaxed);
                if bps != sender.bitrate_bps() {
                    sender.set_bitrate(bps);
                }
                if !is_paused.load(Ordering::Relaxed) {
                    if wants_keyframe.swap(false, Ordering::Relaxed) {
                        sender.request_keyframe();
                    }
                    let Ok(captured) = sender.capture() else { break };
                    if let Some(preview) = &preview {
                        preview.show(Feed::Local, &captured.preview);
                    }
                    if let Some(encoded) = captured.encoded
                        && tx.blocking_send(encoded).is_err()
                    {
                        break;
                    }
                }
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        VideoPump { frames, sources, stop, paused, keyframe, bitrate }
    }

    /// The encoder aims at `bps` from the next frame.
    pub fn set_bitrate(&self, bps: u32) {
        self.bitrate.store(bps, Ordering::Relaxed);
    }

    /// The peer lost video: the next frame is a keyframe.
    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    /// Camera off stops capture; camera on resumes with a keyframe.
    pub fn set_paused(&self, paused: bool) {
        if !paused {
            self.keyframe.store(true, Ordering::Relaxed);
        }
        self.paused.store(paused, Ordering::Relaxed);
    }
}

impl Drop for VideoPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A kind of media this side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackKind {
    Audio,
    Video,
}

/// One outgoing track's state: the seam for more than one microphone and
/// camera (screen share); the sources behind them are still one of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutgoingTrack {
    pub kind: TrackKind,
    /// The user turned it off (muted, camera off).
    pub off: bool,
    /// Why it sends nothing though the user did not turn it off.
    pub failed: Option<MediaOff>,
    /// The session negotiated it (video in an audio call is never sent, nor said to be off).
    pub in_session: bool,
}

impl OutgoingTrack {
    /// Audio, and video when the session carries it.
    fn for_call(video: bool) -> Vec<OutgoingTrack> {
        let track = |kind, in_session| OutgoingTrack { kind, off: false, failed: None, in_session };
        vec![track(TrackKind::Audio, true), track(TrackKind::Video, video)]
    }
}

/// Where this side's audio comes from.
pub(crate) enum AudioIn {
    Tone(ToneSource),
    /// The microphone's frames arrive on `Media::mic_frames`; dropping it stops capture.
    Microphone {
        device: Microphone,
    },
    /// Nothing to send (the microphone failed, or echo mode).
    None,
}

pub(crate) struct Media {
    pub rtc: RtcSession,
    pub room_id: String,
    pub peer: String,
    pub echo: bool,
    /// The video pipeline, until media connects and the pump takes it.
    pub video: Option<VideoSender>,
    /// Between two video frames (the timestamp step on the wire).
    pub interval: Duration,
    pub pump: Option<VideoPump>,
    /// When the media path must be up by ([`MEDIA_WITHIN`] after the session started).
    pub connect_by: tokio::time::Instant,
    /// Media flows once ICE and DTLS are up; before that packets would be lost.
    pub connected: bool,
    /// This side invited: it makes the offers, ICE restarts included.
    pub inviter: bool,
    /// Whether the path to the peer works, and the restarts to bring it back.
    pub path: PathWatch,
    /// The room ticket, to join the room again for fresh TURN credentials.
    pub ticket: Option<String>,
    pub decoder: H264Decoder,
    pub audio_in: AudioIn,
    pub mic_frames: mpsc::UnboundedReceiver<[i16; FRAME]>,
    /// Where a (new) microphone delivers, and where running devices report failures.
    mic_tx: mpsc::UnboundedSender<[i16; FRAME]>,
    errors: mpsc::UnboundedSender<duet_media::Error>,
    pub opus: OpusEncoder,
    pub stats: Counters,
    /// What this side sends: audio, and video in a video call; each with what
    /// the user turned off and why it sends nothing when it failed.
    pub tracks: Vec<OutgoingTrack>,
    /// The video encoder's bitrate when the network allows it all.
    max_video_bps: u32,
    /// Where the local preview is drawn.
    preview: Option<VideoOut>,
    /// What captured frames pass through.
    processing: Option<Processing>,
    /// Chat messages sent and not yet acknowledged: sequence number → the sender's id for it.
    pub chats_in_flight: std::collections::HashMap<u32, Option<u32>>,
    /// No congestion seen yet: video may rise at `STARTUP_RAMP`.
    starting: bool,
    /// When the encoder's target was last brought in line with the estimate.
    followed_at: Option<Instant>,
}

impl Media {
    /// Sets up the session and this side's sources. A camera or microphone
    /// that cannot start is reported on `events` and the call goes on without
    /// it; one that fails later is reported on `errors`.
    pub async fn start(
        config: &Config,
        audio_only: bool,
        call: &CallInfo,
        errors: &mpsc::UnboundedSender<duet_media::Error>,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Result<Media, EngineError> {
        let failed = |e: &dyn std::fmt::Display| EngineError::Media(e.to_string());
        let report = |error: EngineError| drop(events.send(Event::Error(error)));
        let sources = &config.sources;
        let video = call.call_type == CallType::Video && !audio_only;
        let max_video_bps = encoder_settings(sources.hd).bitrate_bps;
        let max_bitrate_bps = send_budget(if video { max_video_bps } else { 0 });
        let session = SessionConfig {
            udp_addrs: config.udp_addrs.clone(),
            video,
            max_bitrate_bps,
            ice_servers: call.ice_servers.clone(),
            relay_only: config.relay_only,
        };
        let rtc = RtcSession::new(session).await.map_err(|e| failed(&e))?;
        let (mic_tx, mic_frames) = mpsc::unbounded_channel();
        let mut media = Media {
            rtc,
            room_id: call.room_id.clone(),
            peer: call.peer.clone(),
            echo: config.echo,
            video: None,
            interval: Duration::from_secs_f32(1.0 / VideoFormat::DEFAULT.fps),
            pump: None,
            connect_by: tokio::time::Instant::now() + MEDIA_WITHIN,
            connected: false,
            inviter: call.direction == duet_client::Direction::Outgoing,
            path: PathWatch::new().with_turn(&call.ice_servers),
            ticket: call.ticket.clone(),
            decoder: H264Decoder::new().map_err(|e| failed(&e))?,
            audio_in: AudioIn::None,
            mic_frames,
            mic_tx,
            errors: errors.clone(),
            opus: OpusEncoder::new(AUDIO_BITRATE_BPS).map_err(|e| failed(&e))?,
            max_video_bps,
            stats: Counters::default(),
            tracks: OutgoingTrack::for_call(video),
            preview: config.video_out.clone(),
            processing: config.processing.clone(),
            chats_in_flight: Default::default(),
            starting: true,
            followed_at: None,
        };
        media.stats.video_bitrate_bps = video.then_some(start_video_bps(max_video_bps));
        if config.echo {
            return Ok(media);
        }
        if video {
            match open_video(sources) {
                Ok((mut sender, interval)) => {
                    media.process(&mut sender, interval);
                    media.video = Some(sender);
                    media.interval = interval;
                }
                Err(e) => {
                    report(EngineError::device(&e, "the call goes on without video"));
                    media.track_mut(TrackKind::Video).failed = Some(off_reason(&e));
                }
            }
        }
        media.audio_in = match &sources.audio {
            AudioInput::Tone => AudioIn::Tone(ToneSource::new(440.0, 0.3)),
            AudioInput::Microphone(name) => match media.open_microphone(name.as_deref()) {
                Ok(mic) => AudioIn::Microphone { device: mic },
                Err(e) => {
                    report(EngineError::device(&e, "the call goes on without your voice"));
                    media.track_mut(TrackKind::Audio).failed = Some(off_reason(&e));
                    AudioIn::None
                }
            },
        };
        Ok(media)
    }

    fn open_microphone(&self, name: Option<&str>) -> duet_media::Result<Microphone> {
        let (frames, errors) = (self.mic_tx.clone(), self.errors.clone());
        let on_frame = move |frame| {
            let _ = frames.send(frame);
        };
        Microphone::open(name, on_frame, Box::new(move |e| drop(errors.send(e))))
    }

    /// The microphone this side sends from, if any.
    pub fn microphone_id(&self) -> Option<&str> {
        match &self.audio_in {
            AudioIn::Microphone { device } => Some(&device.device.id),
            _ => None,
        }
    }

    /// Switches to another microphone; on failure the current one stays.
    pub fn use_microphone(&mut self, name: Option<&str>) -> duet_media::Result<String> {
        let mic = self.open_microphone(name)?;
        let id = mic.device.id.clone();
        self.audio_in = AudioIn::Microphone { device: mic };
        self.track_mut(TrackKind::Audio).failed = None;
        Ok(id)
    }

    /// Switches to another camera; on failure the current one stays. A call
    /// that had no camera starts sending video.
    pub fn use_camera(&mut self, name: Option<&str>, hd: bool) -> duet_media::Result<String> {
        let camera = CameraSource::open(name, wanted_format(hd))?;
        let id = camera.camera.name.clone();
        if let Some(pump) = &self.pump {
            let _ = pump.sources.send(Box::new(camera));
        } else if let Some(sender) = &mut self.video {
            sender.set_source(Box::new(camera))?;
        } else if self.track(TrackKind::Video).is_some_and(|t| t.in_session) {
            let (mut sender, interval) = sender_for(Box::new(camera), hd)?;
            self.process(&mut sender, interval);
            self.video = Some(sender);
            self.interval = interval;
            if self.connected {
                self.on_connected();
            }
        }
        self.track_mut(TrackKind::Video).failed = None;
        Ok(id)
    }

    /// Puts the processing (the beauty filter) in front of `sender`'s encoder.
    fn process(&self, sender: &mut VideoSender, interval: Duration) {
        if let Some(processing) = &self.processing {
            let fps = (1.0 / interval.as_secs_f32()).round() as u32;
            sender.set_processor(Some((processing.0)(fps.max(1))));
        }
    }

    pub fn frame_interval(&self) -> Duration {
        self.interval
    }

    /// Whether a source delivers for `kind` (it may still be turned off).
    fn capturing(&self, kind: TrackKind) -> bool {
        match kind {
            TrackKind::Audio => !matches!(self.audio_in, AudioIn::None),
            TrackKind::Video => self.video.is_some() || self.pump.is_some(),
        }
    }

    /// The track of `kind`; a call without video has a video track that never sends.
    fn track(&self, kind: TrackKind) -> Option<&OutgoingTrack> {
        self.tracks.iter().find(|t| t.kind == kind)
    }

    pub fn track_mut(&mut self, kind: TrackKind) -> &mut OutgoingTrack {
        if self.track(kind).is_none() {
            self.tracks.push(OutgoingTrack { kind, off: false, failed: None, in_session: false });
        }
        self.tracks.iter_mut().find(|t| t.kind == kind).expect("added above")
    }

    /// The peer gets `kind` from us.
    pub fn sends(&self, kind: TrackKind) -> bool {
        self.track(kind).is_some_and(|t| t.in_session && !t.off) && self.capturing(kind)
    }

    pub fn mic_muted(&self) -> bool {
        self.track(TrackKind::Audio).is_some_and(|t| t.off)
    }

    /// Why the peer gets no `kind` from us (`None` while it does, and for video in audio calls).
    pub fn off_reason(&self, kind: TrackKind) -> Option<MediaOff> {
        let track = self.track(kind).filter(|t| t.in_session)?;
        if self.sends(kind) {
            None
        } else if track.off {
            Some(MediaOff::Off)
        } else {
            Some(track.failed.unwrap_or(MediaOff::Failed))
        }
    }

    /// What we send and why not, as `room.media` says it.
    pub fn room_media(&self) -> RoomMedia {
        RoomMedia {
            req: None,
            room_id: self.room_id.clone(),
            audio: self.sends(TrackKind::Audio),
            video: self.sends(TrackKind::Video),
            audio_off: self.off_reason(TrackKind::Audio),
            video_off: self.off_reason(TrackKind::Video),
        }
    }

    /// The camera stopped delivering in the call.
    pub fn camera_stopped(&mut self) {
        self.pump = None;
        self.track_mut(TrackKind::Video).failed = Some(MediaOff::Failed);
    }

    /// Media is up: start the video pump.
    pub fn on_connected(&mut self) {
        if !self.connected {
            self.path.last_heard = Instant::now();
        }
        self.connected = true;
        if let Some(sender) = self.video.take() {
            let pump = VideoPump::start(sender, self.interval, self.preview.clone());
            pump.set_paused(self.track(TrackKind::Video).is_some_and(|t| t.off));
            self.pump = Some(pump);
        }
    }

    /// Video follows the congestion controller's estimate (every
    /// `FOLLOW_INTERVAL`): the encoder gets what is left after audio and
    /// headroom, at once when it falls; when it rises, twice as much a second
    /// until the first fall, 15% a second after it.
    pub fn follow_estimate(&mut self, now: Instant) {
        let since = self.followed_at.replace(now).map_or(Duration::ZERO, |at| now.duration_since(at));
        let Some(target) = self.rtc.target_bitrate_bps() else { return };
        let budget = video_budget(target).clamp(MIN_VIDEO_BITRATE_BPS, self.max_video_bps);
        let previous = self.stats.video_bitrate_bps.unwrap_or(budget);
        if budget < previous {
            self.starting = false;
        }
        let ramp = if self.starting { STARTUP_RAMP } else { VIDEO_RAMP };
        let bps = budget.min((f64::from(previous) * ramp.powf(since.as_secs_f64())) as u32);
        self.stats.video_bitrate_bps = Some(bps);
        if let Some(pump) = &self.pump {
            pump.set_bitrate(bps);
        } else if let Some(sender) = &mut self.video {
            sender.set_bitrate(bps);
        }
    }

    pub fn set_muted(&mut self, muted: bool) {
        self.track_mut(TrackKind::Audio).off = muted;
    }

    pub fn set_camera_off(&mut self, off: bool) {
        self.track_mut(TrackKind::Video).off = off;
        if let Some(pump) = &self.pump {
            pump.set_paused(off);
        }
    }
}

/// What this side sends: 1280x720 at 30 fps with `--hd`, the seed's 960x540 at 15 otherwise.
fn encoder_settings(hd: bool) -> EncoderSettings {
    if hd { EncoderSettings::HD } else { EncoderSettings::DEFAULT }
}

/// The format asked of a camera or the pattern for `encoder_settings(hd)`.
fn wanted_format(hd: bool) -> VideoFormat {
    let EncoderSettings { width, height, fps, .. } = encoder_settings(hd);
    VideoFormat { width, height, fps }
}

/// The chosen video source behind the sending pipeline, with its frame interval.
fn open_video(sources: &Sources) -> duet_media::Result<(VideoSender, Duration)> {
    let wanted = wanted_format(sources.hd);
    let source: Box<dyn VideoSource> = match &sources.video {
        VideoInput::Synthetic => Box::new(SyntheticSource::new(wanted)?.starting_at(sources.first_frame)),
        VideoInput::Camera(name) => Box::new(CameraSource::open(name.as_deref(), wanted)?),
    };
    sender_for(source, sources.hd)
}

/// The sending pipeline for `source`, encoding at its size and rate.
fn sender_for(source: Box<dyn VideoSource>, hd: bool) -> duet_media::Result<(VideoSender, Duration)> {
    let settings = encoder_settings(hd);
    // A camera may have settled on another size or rate.
    let format = source.format();
    let settings = EncoderSettings { width: format.width, height: format.height, fps: format.fps, ..settings };
    let encoder = H264Encoder::starting_at(settings, start_video_bps(settings.bitrate_bps))?;
    Ok((VideoSender::new(source, encoder), Duration::from_secs_f32(1.0 / format.fps.max(1.0))))
}

/// Why a device that failed to start sends nothing, for the peer's tile.
fn off_reason(error: &duet_media::Error) -> MediaOff {
    use duet_media::Error as E;
    match error {
        E::NotFound(_) | E::NoSuchDevice { .. } => MediaOff::NoDevice,
        E::Occupied(_) => MediaOff::InUse,
        E::NotAuthorized(_) => MediaOff::NotAllowed,
        _ => MediaOff::Failed,
    }
}
