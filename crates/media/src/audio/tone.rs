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

/// The incoming-call rings people choose from (the app's settings); each rings every 3 s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ringtone {
    /// Two short rising chimes (660 and 880 Hz), then a pause.
    #[default]
    Chime,
    /// A telephone bell: a fast 950/1150 Hz trill, twice, then a pause.
    Classic,
    /// A bright rising arpeggio (C6 E6 G6), then a pause.
    Bright,
}

impl Ringtone {
    pub const ALL: [Ringtone; 3] = [Ringtone::Chime, Ringtone::Classic, Ringtone::Bright];
}

/// The sounds a call plays locally through the engine's mixer (seed 001: not
/// through the system's media player, so they follow the chosen speaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// The incoming-call ring.
    Ringtone(Ringtone),
    /// What the caller hears while the callee's device rings: 450 Hz, one
    /// second on and four off (the Chinese network's ringback tone).
    Ringback,
}

/// One segment of a cue: a frequency (0 = silence), or two alternating every
/// [`TRILL_MS`], for a number of milliseconds.
struct Segment {
    frequency: f32,
    /// The other frequency of a trill; 0 for a steady note.
    trill: f32,
    ms: u32,
}

/// How long each frequency of a trill lasts.
const TRILL_MS: u32 = 50;

const fn note(frequency: f32, ms: u32) -> Segment {
    Segment { frequency, trill: 0.0, ms }
}

const fn rest(ms: u32) -> Segment {
    note(0.0, ms)
}

const fn trill(low: f32, high: f32, ms: u32) -> Segment {
    Segment { frequency: low, trill: high, ms }
}

const CHIME: &[Segment] =
    &[note(660.0, 180), note(880.0, 220), rest(200), note(660.0, 180), note(880.0, 220), rest(2000)];
/// A telephone bell: 400 ms of 950/1150 Hz, twice.
const CLASSIC: &[Segment] = &[trill(950.0, 1150.0, 400), rest(200), trill(950.0, 1150.0, 400), rest(2000)];
const BRIGHT: &[Segment] = &[note(1046.5, 150), note(1318.5, 150), note(1568.0, 300), rest(2400)];
const RINGBACK: &[Segment] = &[note(450.0, 1000), rest(4000)];

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
            Cue::Ringtone(Ringtone::Chime) => CHIME,
            Cue::Ringtone(Ringtone::Classic) => CLASSIC,
            Cue::Ringtone(Ringtone::Bright) => BRIGHT,
            Cue::Ringback => RINGBACK,
        };
        Self { segments, amplitude, segment: 0, position: 0, phase: 0.0 }
    }

    /// The next `ms` milliseconds (a preview of a ringtone).
    pub fn take(&mut self, ms: u32) -> Vec<f32> {
        (0..ms * (SAMPLE_RATE / 1000)).map(|_| self.next_sample()).collect()
    }

    /// The next sample, in -1..1.
    pub fn next_sample(&mut self) -> f32 {
        let segment = &self.segments[self.segment];
        let length = segment.ms * (SAMPLE_RATE / 1000);
        let edge = self.position.min(length - self.position).min(RAMP) as f32 / RAMP as f32;
        let sample = if segment.frequency > 0.0 { self.phase.sin() * self.amplitude * edge } else { 0.0 };
        let high = segment.trill > 0.0 && (self.position / (TRILL_MS * SAMPLE_RATE / 1000)) % 2 == 1;
        let frequency = if high { segment.trill } else { segment.frequency };
        self.phase = (self.phase + std::f32::consts::TAU * frequency / SAMPLE_RATE as f32) % std::f32::consts::TAU;
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

    fn cue_samples(cue: Cue, ms: u32) -> Vec<i16> {
        CuePlayer::new(cue, 0.5).take(ms).iter().map(|&s| (s * f32::from(i16::MAX)) as i16).collect()
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
        let samples = cue_samples(Cue::Ringtone(Ringtone::Chime), 3_000);
        assert!(tone_amplitude(&samples[480..8_000], 660.0) > 0.4);
        assert!(tone_amplitude(&samples[9_500..18_000], 880.0) > 0.4);
        assert!(samples[48 * 1_000..48 * 3_000].iter().all(|&s| s == 0), "a pause follows the chimes");
    }

    #[test]
    fn each_ringtone_sounds_its_own_notes_then_pauses() {
        let at = |ringtone, from_ms: usize, to_ms: usize, frequency| {
            let samples = cue_samples(Cue::Ringtone(ringtone), 3_000);
            tone_amplitude(&samples[from_ms * 48..to_ms * 48], frequency)
        };
        // The trill: both bells in its first 400 ms, none of the chime's notes.
        assert!(at(Ringtone::Classic, 0, 400, 950.0) > 0.15 && at(Ringtone::Classic, 0, 400, 1150.0) > 0.15);
        assert!(at(Ringtone::Classic, 0, 400, 660.0) < 0.05);
        assert!(at(Ringtone::Bright, 310, 590, 1568.0) > 0.4, "the arpeggio ends on G6");
        assert!(at(Ringtone::Bright, 0, 140, 1046.5) > 0.4, "and starts on C6");
        for ringtone in Ringtone::ALL {
            let samples = cue_samples(Cue::Ringtone(ringtone), 3_000);
            assert!(samples[48 * 2_700..].iter().all(|&s| s == 0), "{ringtone:?} pauses before ringing again");
        }
    }
}
