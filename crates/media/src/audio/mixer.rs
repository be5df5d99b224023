//! Everything the speaker plays goes through one mixer at 48 kHz mono: the
//! remote voice (pulled from its jitter buffer on the speaker's clock) and the
//! ringtone or ringback cue, and one-off clips (the speaker test's sound, a
//! recording played back).

use std::sync::{Arc, Mutex, MutexGuard};

use super::FRAME;
use super::convert::to_f32;
use super::jitter::{DEFAULT_TARGET, JitterBuffer, JitterStats};
use super::tone::{Cue, CuePlayer};
use crate::Result;

/// A cue at full volume: loud, with headroom for the remote voice mixed in.
const LOUDEST_CUE: f32 = 0.5;
/// The volume of a cue nobody chose a volume for.
pub const DEFAULT_CUE_VOLUME: f32 = 0.5;

/// The amplitude (0–1 of full scale) of a cue played at `volume` (0–1).
pub fn cue_amplitude(volume: f32) -> f32 {
    volume.clamp(0.0, 1.0) * LOUDEST_CUE
}

/// A handle to the mixer; clones share it (network side, speaker callback, UI).
#[derive(Clone)]
pub struct Mixer {
    state: Arc<Mutex<State>>,
}

struct State {
    voice: Option<JitterBuffer>,
    /// Decoded voice not yet played (device buffers rarely hold exactly 20 ms).
    voice_left: Vec<f32>,
    cue: Option<CuePlayer>,
    /// A clip being played once, and how far.
    clip: Option<(Arc<[f32]>, usize)>,
    muted: bool,
    volume: f32,
    /// Peak of the last complete 20 ms played, 0–1.
    peak: f32,
    /// Peak and length of the 20 ms being played.
    peak_running: (f32, usize),
    played: u64,
    /// Told what is played (echo cancellation's far end).
    far_end: Option<FarEnd>,
}

/// Receives every block the mixer plays, after gain and mute.
pub type FarEnd = Arc<dyn Fn(&[f32]) + Send + Sync>;

impl Default for Mixer {
    fn default() -> Self {
        Self::new()
    }
}

impl Mixer {
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                voice: None,
                voice_left: Vec::with_capacity(FRAME),
                cue: None,
                clip: None,
                muted: false,
                volume: 1.0,
                peak: 0.0,
                peak_running: (0.0, 0),
                played: 0,
                far_end: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked mid-fill.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a new remote voice stream (a new call), dropping the old one.
    pub fn start_voice(&self) -> Result<()> {
        let buffer = JitterBuffer::new(DEFAULT_TARGET)?;
        let mut state = self.lock();
        state.voice = Some(buffer);
        state.voice_left.clear();
        Ok(())
    }

    pub fn stop_voice(&self) {
        let mut state = self.lock();
        state.voice = None;
        state.voice_left.clear();
    }

    /// An Opus packet of the remote voice, by RTP sequence number.
    pub fn push_voice(&self, sequence_number: u16, payload: Vec<u8>) {
        if let Some(voice) = self.lock().voice.as_mut() {
            voice.push(sequence_number, payload);
        }
    }

    pub fn voice_stats(&self) -> Option<JitterStats> {
        self.lock().voice.as_ref().map(JitterBuffer::stats)
    }

    /// Loops `cue` until [`Mixer::stop_cue`].
    pub fn play_cue(&self, cue: Cue) {
        self.play_cue_at(cue, DEFAULT_CUE_VOLUME);
    }

    /// Loops `cue` at `volume` (0–1) until [`Mixer::stop_cue`].
    pub fn play_cue_at(&self, cue: Cue, volume: f32) {
        self.lock().cue = Some(CuePlayer::new(cue, cue_amplitude(volume)));
    }

    pub fn stop_cue(&self) {
        self.lock().cue = None;
    }

    /// Plays `samples` (48 kHz mono, -1..1) once, replacing a clip still playing.
    pub fn play_clip(&self, samples: Arc<[f32]>) {
        self.lock().clip = Some((samples, 0));
    }

    pub fn stop_clip(&self) {
        self.lock().clip = None;
    }

    /// Whether a clip is still playing.
    pub fn clip_playing(&self) -> bool {
        self.lock().clip.is_some()
    }

    /// Muting the speaker keeps the voice flowing (and its stats), silently.
    pub fn set_muted(&self, muted: bool) {
        self.lock().muted = muted;
    }

    /// 0–1.
    pub fn set_volume(&self, volume: f32) {
        self.lock().volume = volume.clamp(0.0, 1.0);
    }

    /// Peak level of what was played lately, 0–1.
    pub fn peak(&self) -> f32 {
        self.lock().peak
    }

    /// Hands everything played from now on to `far_end` too (`None`: to nobody).
    pub fn set_far_end(&self, far_end: Option<FarEnd>) {
        self.lock().far_end = far_end;
    }

    /// Samples played so far.
    pub fn played(&self) -> u64 {
        self.lock().played
    }

    /// The next `out.len()` samples at 48 kHz mono; called by the speaker's
    /// callback, or every 20 ms by a headless client with no speaker.
    pub fn fill(&self, out: &mut [f32]) {
        let mut state = self.lock();
        let state = &mut *state;
        let mut written = 0;
        while written < out.len() {
            if state.voice_left.is_empty() {
                match state.voice.as_mut().and_then(JitterBuffer::pop) {
                    Some(frame) => state.voice_left.extend(frame.iter().rev().map(|&s| to_f32(s))),
                    None => {
                        out[written..].fill(0.0);
                        break;
                    }
                }
            }
            // `voice_left` is stored reversed so taking from its end is cheap.
            while written < out.len()
                && let Some(sample) = state.voice_left.pop()
            {
                out[written] = sample;
                written += 1;
            }
        }
        if let Some(cue) = state.cue.as_mut() {
            for sample in out.iter_mut() {
                *sample += cue.next_sample();
            }
        }
        if let Some((clip, position)) = state.clip.as_mut() {
            let rest = &clip[*position..];
            for (sample, &add) in out.iter_mut().zip(rest) {
                *sample += add;
            }
            *position += rest.len().min(out.len());
            if *position >= clip.len() {
                state.clip = None;
            }
        }
        let gain = if state.muted { 0.0 } else { state.volume };
        for sample in out.iter_mut() {
            *sample = (*sample * gain).clamp(-1.0, 1.0);
            let (peak, length) = &mut state.peak_running;
            *peak = peak.max(sample.abs());
            *length += 1;
            if *length == FRAME {
                state.peak = *peak;
                state.peak_running = (0.0, 0);
            }
        }
        state.played += out.len() as u64;
        if let Some(far_end) = &state.far_end {
            far_end(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{OpusEncoder, Ringtone, ToneSource, convert::to_i16, tone_amplitude};

    fn play(mixer: &Mixer, samples: usize) -> Vec<i16> {
        let mut out = vec![0.0; samples];
        // Odd piece sizes, as a device callback would ask.
        for piece in out.chunks_mut(441) {
            mixer.fill(piece);
        }
        out.iter().map(|&s| to_i16(s)).collect()
    }

    /// Plays `frames` × 20 ms, keeping the voice a few packets ahead of playout.
    fn call_audio(mixer: &Mixer, source: &mut (ToneSource, OpusEncoder, u16), frames: usize) -> Vec<i16> {
        let mut played = Vec::new();
        for _ in 0..frames {
            while u64::from(source.2) < mixer.played() / FRAME as u64 + 4 {
                mixer.push_voice(source.2, source.1.encode(&source.0.next_frame()).unwrap());
                source.2 += 1;
            }
            played.extend(play(mixer, FRAME));
        }
        played
    }

    #[test]
    fn the_far_end_hears_exactly_what_is_played() {
        let mixer = Mixer::new();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let tap = heard.clone();
        mixer.set_far_end(Some(Arc::new(move |block: &[f32]| tap.lock().unwrap().extend_from_slice(block))));
        mixer.play_cue(Cue::Ringback);
        let played = play(&mixer, 3 * FRAME);
        let heard: Vec<i16> = heard.lock().unwrap().iter().map(|&s| to_i16(s)).collect();
        assert_eq!(heard, played);
        assert!(heard.iter().any(|&s| s != 0), "the ringback is in it");
    }

    #[test]
    fn the_chosen_ringtone_rings_at_the_chosen_volume() {
        let mixer = Mixer::new();
        let bell = |volume| {
            mixer.play_cue_at(Cue::Ringtone(Ringtone::Bright), volume);
            // The arpeggio's first note, C6, for its first 140 ms.
            tone_amplitude(&play(&mixer, 7 * FRAME), 1046.5)
        };
        let (loud, quiet) = (bell(1.0), bell(0.2));
        assert!((loud - 0.5).abs() < 0.05, "full volume: {loud}");
        assert!((quiet / loud - 0.2).abs() < 0.02, "a fifth of the volume: {quiet} vs {loud}");
        mixer.play_cue_at(Cue::Ringtone(Ringtone::Chime), 1.0);
        assert!(tone_amplitude(&play(&mixer, 7 * FRAME), 1046.5) < 0.02, "the chime has no C6");
    }

    #[test]
    fn remote_voice_and_a_cue_play_together_and_mute_silences_both() {
        let mixer = Mixer::new();
        mixer.start_voice().unwrap();
        let mut source = (ToneSource::new(700.0, 0.3), OpusEncoder::new(32_000).unwrap(), 0u16);
        mixer.play_cue(Cue::Ringback);
        let played = call_audio(&mixer, &mut source, 40);
        assert!(tone_amplitude(&played[10 * FRAME..], 700.0) > 0.2, "the voice plays");
        assert!(tone_amplitude(&played[10 * FRAME..], 450.0) > 0.2, "the ringback plays");
        let stats = mixer.voice_stats().unwrap();
        assert_eq!((stats.decoded, stats.concealed, stats.dropped), (40, 0, 0), "{stats:?}");

        mixer.set_muted(true);
        assert!(call_audio(&mixer, &mut source, 5).iter().all(|&s| s == 0));
        assert_eq!(mixer.voice_stats().unwrap().decoded, 45, "muted voice is still consumed");
        assert_eq!(mixer.peak(), 0.0);
    }

    #[test]
    fn a_clip_plays_once_then_stops() {
        let mixer = Mixer::new();
        let clip: Vec<f32> = (0..1500).map(|i| if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
        mixer.play_clip(clip.into());
        assert!(mixer.clip_playing());
        let played = play(&mixer, 2 * FRAME);
        assert!(played[..1500].iter().all(|&s| s.abs() > 16_000), "the clip plays");
        assert!(played[1500..].iter().all(|&s| s == 0), "then silence");
        assert!(!mixer.clip_playing(), "and it is over");
    }

    #[test]
    fn with_nothing_to_play_it_is_silent() {
        let mixer = Mixer::new();
        assert!(play(&mixer, 2 * FRAME).iter().all(|&s| s == 0));
        mixer.start_voice().unwrap();
        assert!(play(&mixer, 2 * FRAME).iter().all(|&s| s == 0), "buffering plays silence");
        assert_eq!(mixer.played(), 4 * FRAME as u64);
    }
}
