//! Between a device's format (any rate, any channel count) and the engine's
//! 48 kHz mono.

/// Input samples asked of a pulled source at a time.
const CHUNK: usize = 480;

/// A linear-interpolation resampler that keeps its phase across calls, fed
/// either by pushing input (capture) or by pulling it from a source (playback).
pub struct Resampler {
    /// Input samples per output sample.
    step: f64,
    /// Position of the next output sample in `buf`.
    position: f64,
    buf: Vec<f32>,
}

impl Resampler {
    pub fn new(from_rate: u32, to_rate: u32) -> Self {
        Self { step: f64::from(from_rate) / f64::from(to_rate), position: 0.0, buf: Vec::new() }
    }

    pub fn is_identity(&self) -> bool {
        self.step == 1.0
    }

    /// Converts `input`, appending what it can produce so far to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.is_identity() {
            out.extend_from_slice(input);
            return;
        }
        self.buf.extend_from_slice(input);
        while self.position + 1.0 < self.buf.len() as f64 {
            out.push(self.interpolate());
            self.position += self.step;
        }
        self.discard_consumed();
    }

    /// Fills `out`, asking `source` for input as it needs it.
    pub fn pull(&mut self, out: &mut [f32], mut source: impl FnMut(&mut [f32])) {
        if self.is_identity() {
            source(out);
            return;
        }
        for sample in out {
            while self.position + 1.0 >= self.buf.len() as f64 {
                let start = self.buf.len();
                self.buf.resize(start + CHUNK, 0.0);
                source(&mut self.buf[start..]);
            }
            *sample = self.interpolate();
            self.position += self.step;
        }
        self.discard_consumed();
    }

    fn interpolate(&self) -> f32 {
        let index = self.position as usize;
        let frac = (self.position - index as f64) as f32;
        self.buf[index] * (1.0 - frac) + self.buf[index + 1] * frac
    }

    fn discard_consumed(&mut self) {
        let consumed = (self.position as usize).min(self.buf.len());
        self.buf.drain(..consumed);
        self.position -= consumed as f64;
    }
}

/// Averages interleaved channels into mono.
pub fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels <= 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    out.extend(interleaved.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() * scale));
}

/// Copies mono into every channel of an interleaved buffer.
pub fn upmix(mono: &[f32], channels: usize, interleaved: &mut [f32]) {
    for (frame, &sample) in interleaved.chunks_exact_mut(channels.max(1)).zip(mono) {
        frame.fill(sample);
    }
}

pub fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16
}

pub fn to_f32(sample: i16) -> f32 {
    f32::from(sample) / f32::from(i16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::tone_amplitude;

    fn sine(rate: u32, frequency: f32, samples: usize) -> Vec<f32> {
        (0..samples).map(|i| (std::f32::consts::TAU * frequency * i as f32 / rate as f32).sin() * 0.5).collect()
    }

    #[test]
    fn pushing_44_1_khz_in_small_pieces_gives_the_same_tone_at_48_khz() {
        let input = sine(44_100, 440.0, 44_100);
        let mut resampler = Resampler::new(44_100, 48_000);
        let mut out = Vec::new();
        for piece in input.chunks(441) {
            resampler.push(piece, &mut out);
        }
        assert!((out.len() as i64 - 48_000).abs() <= 2, "one second in, one second out: {}", out.len());
        let samples: Vec<i16> = out.iter().map(|&s| to_i16(s)).collect();
        assert!((tone_amplitude(&samples, 440.0) - 0.5).abs() < 0.02);
    }

    #[test]
    fn pulling_48_khz_for_a_96_khz_device_keeps_the_pitch() {
        let input = sine(48_000, 1_000.0, 48_000);
        let mut offset = 0;
        let mut resampler = Resampler::new(48_000, 96_000);
        let mut out = vec![0.0; 96_000 - 200];
        for piece in out.chunks_mut(1_000) {
            resampler.pull(piece, |chunk| {
                let n = chunk.len().min(input.len() - offset);
                chunk[..n].copy_from_slice(&input[offset..offset + n]);
                offset += n;
            });
        }
        // At 96 kHz the detector's 48 kHz bin for 500 Hz is the 1 kHz tone.
        let samples: Vec<i16> = out.iter().map(|&s| to_i16(s)).collect();
        assert!((tone_amplitude(&samples, 500.0) - 0.5).abs() < 0.02);
    }

    #[test]
    fn channels_are_averaged_down_and_copied_up() {
        let mut mono = Vec::new();
        downmix(&[0.2, 0.4, -1.0, 1.0], 2, &mut mono);
        assert_eq!(mono, [0.3f32, 0.0]);
        let mut stereo = [0.0; 4];
        upmix(&mono, 2, &mut stereo);
        assert_eq!(stereo, [0.3, 0.3, 0.0, 0.0]);
    }
}
