//! Voice processing between the microphone and the encoder: echo cancellation
//! (WebRTC's AEC3), noise suppression, automatic gain (AGC2's adaptive digital
//! controller) and a high-pass filter, from `sonora`, a pure-Rust port of
//! WebRTC's audio processing module (no system libraries on any OS).
//!
//! The canceller learns the echo from the far end, which is exactly what the
//! speaker plays ([`VoiceProcessor::far_end`], fed by the [`super::Mixer`]):
//! it estimates the delay between the two itself, and keeps estimating it, so
//! a device switch (after [`VoiceProcessor::reset`]) is followed. A speaker and a
//! microphone on different clocks make that delay drift: the drift is found
//! from the echo and taken out of the far end first (`drift.rs`).

use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression, NoiseSuppressionLevel,
    TransparentModeType,
};
use sonora::{AudioProcessing, StreamConfig};

use super::drift::DriftCompensator;
use super::{FRAME, SAMPLE_RATE};

/// The processing's own block: 10 ms.
const BLOCK: usize = FRAME / 2;

/// The far end kept while the microphone is not being processed (before a call
/// connects): older audio cannot be the source of an echo the canceller will see.
const FAR_END_KEPT: usize = SAMPLE_RATE as usize / 2;

/// How hard background noise is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suppression {
    Off,
    /// About 12 dB: steady noise (fans, hum) goes, the voice stays natural.
    Moderate,
    /// About 18 dB, for noisy rooms.
    High,
}

/// What a call does to this side's voice before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VoiceSettings {
    pub echo_cancellation: bool,
    pub noise_suppression: Suppression,
    pub auto_gain: bool,
}

impl VoiceSettings {
    /// Everything on: what a call on a laptop's speakers needs.
    pub const DEFAULT: VoiceSettings =
        VoiceSettings { echo_cancellation: true, noise_suppression: Suppression::Moderate, auto_gain: true };

    /// The voice as the microphone captured it.
    pub const OFF: VoiceSettings =
        VoiceSettings { echo_cancellation: false, noise_suppression: Suppression::Off, auto_gain: false };

    fn config(self) -> sonora::Config {
        sonora::Config {
            high_pass_filter: Some(HighPassFilter::default()),
            // The HMM classifier of "no echo here" (headphones): the counting one took
            // a drifting echo for none and let it through whole for seconds.
            echo_canceller: self
                .echo_cancellation
                .then(|| EchoCanceller { transparent_mode: TransparentModeType::Hmm, ..Default::default() }),
            noise_suppression: match self.noise_suppression {
                Suppression::Off => None,
                Suppression::Moderate => {
                    Some(NoiseSuppression { level: NoiseSuppressionLevel::Moderate, ..Default::default() })
                }
                Suppression::High => {
                    Some(NoiseSuppression { level: NoiseSuppressionLevel::High, ..Default::default() })
                }
            },
            gain_controller2: self
                .auto_gain
                .then(|| GainController2 { adaptive_digital: Some(AdaptiveDigital::default()), ..Default::default() }),
            ..Default::default()
        }
    }
}

impl Default for VoiceSettings {
    fn default() -> Self {
        VoiceSettings::DEFAULT
    }
}

/// What the canceller reports, for the per-second stats.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VoiceStats {
    /// How much the canceller takes off the echo (echo return loss enhancement), dB.
    pub erle_db: Option<f64>,
    /// The delay it found between what the speaker played and its echo in the microphone, ms.
    pub echo_delay_ms: Option<i32>,
    /// How likely what is sent still holds echo (0–1), over the last seconds.
    pub residual_echo_likelihood: Option<f64>,
    /// How far the speaker's clock is from the microphone's (parts per million), as taken out.
    pub clock_drift_ppm: Option<f64>,
}

/// Processes 20 ms microphone frames at 48 kHz mono, learning the echo from what the speaker plays.
pub struct VoiceProcessor {
    settings: VoiceSettings,
    apm: AudioProcessing,
    drift: DriftCompensator,
    /// The far end with the drift taken out, short of a whole 10 ms block.
    far_left: Vec<f32>,
    capture_in: [f32; BLOCK],
    capture_out: [f32; BLOCK],
    render_out: [f32; BLOCK],
}

impl VoiceProcessor {
    pub fn new(settings: VoiceSettings) -> VoiceProcessor {
        VoiceProcessor {
            settings,
            apm: build(settings),
            drift: DriftCompensator::new(),
            far_left: Vec::with_capacity(BLOCK),
            capture_in: [0.0; BLOCK],
            capture_out: [0.0; BLOCK],
            render_out: [0.0; BLOCK],
        }
    }

    pub fn settings(&self) -> VoiceSettings {
        self.settings
    }

    /// Changes what is done from the next frame on; the canceller keeps what it learnt.
    pub fn configure(&mut self, settings: VoiceSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.apm.apply_config(settings.config());
        }
    }

    /// Forgets the echo path and levels it learnt: another microphone or
    /// speaker (or a new call) has another echo, and the canceller re-converges on it.
    pub fn reset(&mut self) {
        self.apm = build(self.settings);
        self.drift = DriftCompensator::new();
        self.far_left.clear();
    }

    /// Whether it changes the voice at all.
    pub fn is_active(&self) -> bool {
        self.settings != VoiceSettings::OFF
    }

    /// What the speaker is about to play (48 kHz mono, any length).
    pub fn far_end(&mut self, played: &[f32]) {
        if !self.settings.echo_cancellation {
            return;
        }
        let mut far = std::mem::take(&mut self.far_left);
        self.drift.far_end(played, &mut far);
        let mut blocks = far.chunks_exact(BLOCK);
        for block in &mut blocks {
            self.render(block);
        }
        let rest = blocks.remainder().len();
        far.drain(..far.len() - rest);
        self.far_left = far;
    }

    fn render(&mut self, block: &[f32]) {
        // The far end is analysed, not changed: its output is not used.
        let _ = self.apm.process_render_f32(&[block], &mut [&mut self.render_out]);
    }

    /// 20 ms captured here, processed in place.
    pub fn process(&mut self, frame: &mut [i16; FRAME]) {
        if !self.is_active() {
            return;
        }
        for half in frame.chunks_exact_mut(BLOCK) {
            for (to, &from) in self.capture_in.iter_mut().zip(half.iter()) {
                *to = f32::from(from) / 32768.0;
            }
            if self.settings.echo_cancellation {
                self.drift.near_end(&self.capture_in);
            }
            if self.apm.process_capture_f32(&[&self.capture_in], &mut [&mut self.capture_out]).is_err() {
                continue;
            }
            for (to, &from) in half.iter_mut().zip(self.capture_out.iter()) {
                *to = (from * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            }
        }
    }

    pub fn stats(&self) -> VoiceStats {
        let stats = self.apm.statistics();
        let echo = self.settings.echo_cancellation;
        VoiceStats {
            erle_db: stats.echo_return_loss_enhancement.filter(|_| echo),
            echo_delay_ms: stats.delay_ms.filter(|_| echo),
            residual_echo_likelihood: stats.residual_echo_likelihood,
            clock_drift_ppm: echo.then(|| (self.drift.drift_ppm() * 10.0).round() / 10.0),
        }
    }
}

impl std::fmt::Debug for VoiceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessor").field("settings", &self.settings).finish_non_exhaustive()
    }
}

fn build(settings: VoiceSettings) -> AudioProcessing {
    let stream = StreamConfig::new(SAMPLE_RATE, 1);
    AudioProcessing::builder()
        .config(settings.config())
        .capture_config(stream)
        .render_config(stream)
        .echo_detector(true)
        .build()
}

/// The far end kept for a processor that is not processing yet: the newest [`FAR_END_KEPT`].
pub fn keep_recent_far_end(queue: &mut Vec<f32>) {
    if queue.len() > FAR_END_KEPT {
        queue.drain(..queue.len() - FAR_END_KEPT);
    }
}
