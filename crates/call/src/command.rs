//! What a front asks of the engine, and where a call's media comes from.

use std::sync::Arc;

use duet_media::audio::{Ringtone, VoiceSettings};

/// What the user (or a bot) does; [`crate::EngineHandle::send`] hands it to the engine.
/// Each is answered by events: a failure is an [`crate::Event::Error`], never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
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
    /// Call `peer`.
    Dial {
        peer: String,
        audio_only: bool,
    },
    /// Accept the ringing call.
    Accept {
        audio_only: bool,
    },
    /// Decline the ringing call.
    Decline,
    /// A text message to the peer over the reliable data channel, command
    /// [`CHAT_COMMAND`]. `id`, when given, comes back in the `MessageSent`,
    /// `MessageDelivered` or `Error` event about it.
    Chat {
        id: Option<u32>,
        text: String,
    },
    /// What the next calls capture from and play to (the app's settings).
    UseSources(Sources),
    /// Whether the next calls send media only through the server's TURN relay
    /// ("Always relay calls"; [`Config::relay_only`](crate::Config::relay_only)).
    RelayOnly(bool),
    /// Stop: the running call is left, the connection closed, the event stream ends.
    ShutDown,
}

/// The application command id (1–10, seed 004) that carries chat text.
pub const CHAT_COMMAND: u8 = 1;

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

    pub(crate) fn volume(self) -> f32 {
        f32::from(self.volume.min(100)) / 100.0
    }
}

/// The devices (or synthetic sources) a call uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub video: VideoInput,
    pub audio: AudioInput,
    pub output: AudioOutput,
    /// 1280x720 at 30 fps instead of the seed's 960x540 at 15.
    pub hd: bool,
    pub ring: Ring,
    /// The synthetic pattern's first frame counter: callers on one machine tell
    /// their own stamped frames from another's by it.
    pub first_frame: u32,
    /// What is done to the microphone's sound before it is sent (echo
    /// cancellation, noise suppression, gain); changes apply at once, in a call too.
    pub voice: VoiceSettings,
}

impl Sources {
    /// Pattern and tone, no speaker: runs on any machine.
    pub const SYNTHETIC: Sources = Sources {
        video: VideoInput::Synthetic,
        audio: AudioInput::Tone,
        output: AudioOutput::Nowhere,
        hd: false,
        ring: Ring::DEFAULT,
        first_frame: 0,
        voice: VoiceSettings::DEFAULT,
    };
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
pub struct VideoOut(pub Arc<ShowFrame>);

pub type ShowFrame = dyn Fn(Feed, &duet_media::I420Frame) + Send + Sync;

impl VideoOut {
    pub fn show(&self, feed: Feed, frame: &duet_media::I420Frame) {
        (self.0)(feed, frame)
    }
}

impl std::fmt::Debug for VideoOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VideoOut")
    }
}

/// Makes the per-frame processing (the beauty filter) for a camera at a frame
/// rate; every captured frame passes through it before preview and encode.
#[derive(Clone)]
pub struct Processing(pub Arc<MakeProcessor>);

pub type MakeProcessor = dyn Fn(u32) -> Box<dyn duet_media::FrameProcessor> + Send + Sync;

impl std::fmt::Debug for Processing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Processing")
    }
}
