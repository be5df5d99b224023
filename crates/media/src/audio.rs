//! Audio at the engine's rate (48 kHz mono, 20 ms frames): Opus encode/decode
//! with loss concealment and in-band FEC, a tone source, and a tone detector.

use crate::{Error, Result};

pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame.
pub const FRAME: usize = 960;
const MAX_PACKET: usize = 1500;

pub struct OpusEncoder {
    inner: opus::Encoder,
}

impl OpusEncoder {
    /// Voice settings: in-band FEC on, tuned for up to 10% loss.
    pub fn new(bitrate_bps: i32) -> Result<Self> {
        let err = |e: opus::Error| Error::Opus(e.to_string());
        let mut inner = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip).map_err(err)?;
        inner.set_bitrate(opus::Bitrate::Bits(bitrate_bps)).map_err(err)?;
        inner.set_inband_fec(true).map_err(err)?;
        inner.set_packet_loss_perc(10).map_err(err)?;
        Ok(Self { inner })
    }

    /// Encodes one 20 ms frame.
    pub fn encode(&mut self, frame: &[i16; FRAME]) -> Result<Vec<u8>> {
        self.inner.encode_vec(frame, MAX_PACKET).map_err(|e| Error::Opus(e.to_string()))
    }
}

pub struct OpusDecoder {
    inner: opus::Decoder,
}

impl OpusDecoder {
    pub fn new() -> Result<Self> {
        let inner = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).map_err(|e| Error::Opus(e.to_string()))?;
        Ok(Self { inner })
    }

    pub fn decode(&mut self, packet: &[u8]) -> Result<[i16; FRAME]> {
        self.run(packet, false)
    }

    /// A frame for a packet that never came (packet loss concealment).
    pub fn conceal(&mut self) -> Result<[i16; FRAME]> {
        self.run(&[], false)
    }

    /// The lost frame before `next`, rebuilt from the FEC data `next` carries.
    pub fn recover(&mut self, next: &[u8]) -> Result<[i16; FRAME]> {
        self.run(next, true)
    }

    fn run(&mut self, packet: &[u8], fec: bool) -> Result<[i16; FRAME]> {
        let mut out = [0i16; FRAME];
        let n = self.inner.decode(packet, &mut out, fec).map_err(|e| Error::Opus(e.to_string()))?;
        if n != FRAME {
            return Err(Error::Opus(format!("decoded {n} samples, expected {FRAME} (packets must be 20 ms)")));
        }
        Ok(out)
    }
}

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
}
