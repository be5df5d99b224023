//! Audio at the engine's rate, 48 kHz mono in 20 ms frames.
//!
//! - [`OpusEncoder`] / [`OpusDecoder`]: voice with in-band FEC and concealment.
//! - [`JitterBuffer`]: packets in network order → frames in playout order.
//! - [`Mixer`]: remote voice plus the ringtone/ringback [`Cue`]s, for the speaker.
//! - [`Microphone`] / [`Speaker`]: devices through cpal, converted to and from 48 kHz mono.
//! - [`ToneSource`] and [`tone_amplitude`]: a synthetic source and a detector for tests.
//! - [`VoiceProcessor`]: echo cancellation, noise suppression and gain on the microphone.

mod codec;
pub mod convert;
mod device;
mod drift;
mod jitter;
mod mixer;
mod tone;
mod voice;

pub use codec::{OpusDecoder, OpusEncoder};
pub use device::{
    AudioDevice, Microphone, NoSoundServer, Speaker, StreamErrorHandler, input_devices, output_devices, sound_server,
};
pub use jitter::{DEFAULT_TARGET, JitterBuffer, JitterStats};
pub use mixer::{DEFAULT_CUE_VOLUME, FarEnd, Mixer, cue_amplitude};
pub use tone::{Cue, CuePlayer, Ringtone, ToneSource, tone_amplitude};
pub use voice::{Suppression, VoiceProcessor, VoiceSettings, VoiceStats, keep_recent_far_end};

pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame.
pub const FRAME: usize = 960;
