//! Synthetic sounds (tones, the ringtone and ringback cues) and a tone detector.

use super::{FRAME, SAMPLE_RATE};

/// A sine tone in 20 ms frames.
pub struct ToneSource {
    frequency: f32,
    amplitude: f32,
    phase: f32,
}

impl ToneSource {
    /// `amplitude` in 0–1 of full scale.
    pub fn new(frequency: f32, amplitude: f32) -> Self {
        Self { frequency, amplitude, phase: 0.0 }
    }

    pub fn next_frame(&mut self) -> [i16; FRAME] {
        let step = std::f32::consts::TAU * self.frequency / SAMPLE_RATE as f32;
        let mut out = [0i16; FRAME];
        for s in &mut out {
            *s = (self.phase.sin() * self.amplitude * f32::from(i16::MAX)) as i16;
            self.phase = (self.phase + step) % std::f32::consts::TAU;
        }
        out
    }
}

/// The sounds a call plays locally through the engine's mixer (seed 001: not
/// through the system's media player, so they follow the chosen speaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// The incoming-call ring: two short rising chimes, then a pause.
    Ringtone,
    /// What the caller hears while the callee's device rings: 450 Hz, one
    /// second on and four off (the Chinese network's ringback tone).
    Ringback,
}

/// One segment of a cue: a frequency (0 = silence) for a number of milliseconds.
struct Segment {
    frequency: f32,
    ms: u32,
}

const RINGTONE: &[Segment] = &[
    Segment { frequency: 660.0, ms: 180 },
    Segment { frequency: 880.0, ms: 220 },
    Segment { frequency: 0.0, ms: 200 },
    Segment { frequency: 660.0, ms: 180 },
    Segment { frequency: 880.0, ms: 220 },
    Segment { frequency: 0.0, ms: 2000 },
];
const RINGBACK: &[Segment] = &[Segment { frequency: 450.0, ms: 1000 }, Segment { frequency: 0.0, ms: 4000 }];

/// Plays a [`Cue`] in a loop, sample by sample, at 48 kHz.
pub struct CuePlayer {
    segments: &'static [Segment],
    amplitude: f32,
    segment: usize,
    /// Samples played of the current segment.
    position: u32,
    phase: f32,
}

/// Fade in and out over 5 ms so segment edges do not click.
const RAMP: u32 = SAMPLE_RATE / 200;

impl CuePlayer {
    pub fn new(cue: Cue, amplitude: f32) -> Self {
        let segments = match cue {
            Cue::Ringtone => RINGTONE,
            Cue::Ringback => RINGBACK,
        };
        Self { segments, amplitude, segment: 0, position: 0, phase: 0.0 }
    }

    /// The next sample, in -1..1.
    pub fn next_sample(&mut self) -> f32 {
        let segment = &self.segments[self.segment];
        let length = segment.ms * (SAMPLE_RATE / 1000);
        let edge = self.position.min(length - self.position).min(RAMP) as f32 / RAMP as f32;
        let sample = if segment.frequency > 0.0 { self.phase.sin() * self.amplitude * edge } else { 0.0 };
        self.phase =
            (self.phase + std::f32::consts::TAU * segment.frequency / SAMPLE_RATE as f32) % std::f32::consts::TAU;
        self.position += 1;
        if self.position >= length {
            self.position = 0;
            self.segment = (self.segment + 1) % self.segments.len();
        }
        sample
    }
}

/// Amplitude (0–1 of full scale) of the `frequency` component of `samples`
/// (Goertzel), e.g. to check that a tone arrived at the right pitch.
pub fn tone_amplitude(samples: &[i16], frequency: f32) -> f32 {
    let coeff = 2.0 * (std::f32::consts::TAU * frequency / SAMPLE_RATE as f32).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = f32::from(x) / f32::from(i16::MAX) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / samples.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_finds_the_tone_and_not_others() {
        let mut tone = ToneSource::new(440.0, 0.5);
        let samples: Vec<i16> = (0..10).flat_map(|_| tone.next_frame()).collect();
        assert!((tone_amplitude(&samples, 440.0) - 0.5).abs() < 0.02);
        assert!(tone_amplitude(&samples, 1000.0) < 0.01);
    }

    fn cue_samples(cue: Cue, ms: usize) -> Vec<i16> {
        let mut player = CuePlayer::new(cue, 0.5);
        (0..ms * 48).map(|_| (player.next_sample() * f32::from(i16::MAX)) as i16).collect()
    }

    #[test]
    fn ringback_is_450_hz_for_one_second_in_five_and_loops() {
        let samples = cue_samples(Cue::Ringback, 10_000);
        let second = |s: usize| &samples[s * 48_000..(s + 1) * 48_000];
        for on in [0, 5] {
            assert!(tone_amplitude(&second(on)[480..47_000], 450.0) > 0.45, "ringback sounds at {on} s");
        }
        for off in [1, 2, 3, 4, 6] {
            assert!(second(off).iter().all(|&s| s == 0), "ringback is silent at {off} s");
        }
    }

    #[test]
    fn the_ringtone_chimes_at_660_and_880_hz() {
        let samples = cue_samples(Cue::Ringtone, 3_000);
        assert!(tone_amplitude(&samples[480..8_000], 660.0) > 0.4);
        assert!(tone_amplitude(&samples[9_500..18_000], 880.0) > 0.4);
        assert!(samples[48 * 1_000..48 * 3_000].iter().all(|&s| s == 0), "a pause follows the chimes");
    }
}
