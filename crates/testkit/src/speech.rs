//! Speech-like test signals and the levels measured on them (48 kHz mono,
//! -1..1): band-limited noise in syllable-long bursts, generated here, so no
//! recording is needed, and band levels read through band-pass filters.

pub const RATE: f32 = 48_000.0;

/// A small deterministic generator (xorshift), so every run hears the same signal.
#[derive(Debug, Clone)]
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in -1..1.
    pub fn sample(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A band-pass filter: two RBJ biquads (high-pass at `low`, low-pass at `high`), each 4th order.
#[derive(Debug, Clone)]
pub struct Band {
    stages: Vec<Biquad>,
}

impl Band {
    pub fn new(low_hz: f32, high_hz: f32) -> Band {
        let stages = vec![
            Biquad::high_pass(low_hz),
            Biquad::high_pass(low_hz),
            Biquad::low_pass(high_hz),
            Biquad::low_pass(high_hz),
        ];
        Band { stages }
    }

    pub fn filter(&mut self, x: f32) -> f32 {
        self.stages.iter_mut().fold(x, |x, stage| stage.filter(x))
    }

    /// `samples` through a fresh copy of this band.
    pub fn apply(&self, samples: &[f32]) -> Vec<f32> {
        let mut band = self.clone();
        samples.iter().map(|&x| band.filter(x)).collect()
    }
}

#[derive(Debug, Clone)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl Biquad {
    fn new(freq: f32, high: bool) -> Biquad {
        let w = std::f32::consts::TAU * freq / RATE;
        let alpha = w.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        let b = if high {
            [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0]
        } else {
            [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0]
        };
        Biquad { b: b.map(|v| v / a0), a: [-2.0 * cos / a0, (1.0 - alpha) / a0], x: [0.0; 2], y: [0.0; 2] }
    }

    fn high_pass(freq: f32) -> Biquad {
        Biquad::new(freq, true)
    }

    fn low_pass(freq: f32) -> Biquad {
        Biquad::new(freq, false)
    }

    fn filter(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

/// `seconds` of speech-like sound in `low_hz..high_hz`: voiced bursts of
/// 150–400 ms (syllables and words; a glottal-like pulse train at a pitch of
/// 100–250 Hz that glides, with some breath noise) and 60–250 ms gaps, each
/// burst at its own loudness, peaking near `peak` (0–1). `seed` picks the talker.
pub fn speech(seconds: f32, low_hz: f32, high_hz: f32, peak: f32, seed: u64) -> Vec<f32> {
    let total = (seconds * RATE) as usize;
    let mut noise = Noise::new(seed);
    let mut band = Band::new(low_hz, high_hz);
    let mut out = Vec::with_capacity(total);
    let ms = |ms: f32| (ms * RATE / 1000.0) as usize;
    let ramp = ms(20.0);
    let mut phase = 0.0f32;
    while out.len() < total {
        let on = ms(150.0 + 250.0 * (noise.sample() * 0.5 + 0.5));
        let off = ms(60.0 + 190.0 * (noise.sample() * 0.5 + 0.5));
        let loudness = peak * (0.5 + 0.5 * (noise.sample() * 0.5 + 0.5));
        let (start_hz, end_hz) = (175.0 + 75.0 * noise.sample(), 175.0 + 75.0 * noise.sample());
        let mut burst = Vec::with_capacity(on);
        for i in 0..on {
            let pitch = start_hz + (end_hz - start_hz) * i as f32 / on as f32;
            phase += pitch / RATE;
            if phase >= 1.0 {
                phase -= 1.0;
            }
            // A sawtooth has every harmonic of the pitch, as a voice does.
            let voiced = 2.0 * phase - 1.0;
            let envelope = (i.min(on - i) as f32 / ramp as f32).min(1.0);
            burst.push(band.filter(0.8 * voiced + 0.2 * noise.sample()) * envelope);
        }
        let scale = loudness / burst.iter().fold(1e-9f32, |m, x| m.max(x.abs()));
        out.extend(burst.iter().map(|x| x * scale));
        // The filter keeps running through the gap, so bursts do not start with a click.
        for _ in 0..off {
            let _ = band.filter(0.0);
        }
        out.extend(std::iter::repeat_n(0.0, off));
    }
    out.truncate(total);
    out
}

/// Steady noise in `low_hz..high_hz` at `rms` (a fan, an air conditioner).
pub fn steady_noise(seconds: f32, low_hz: f32, high_hz: f32, rms: f32, seed: u64) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut band = Band::new(low_hz, high_hz);
    let raw: Vec<f32> = (0..(seconds * RATE) as usize).map(|_| band.filter(noise.sample())).collect();
    let scale = rms / root_mean_square(&raw).max(1e-9);
    raw.into_iter().map(|x| x * scale).collect()
}

pub fn root_mean_square(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&x| x * x).sum::<f32>() / samples.len() as f32).sqrt()
}

/// A level in dB full scale (-200 for silence).
pub fn db(rms: f32) -> f32 {
    if rms <= 1e-10 { -200.0 } else { 20.0 * rms.log10() }
}

/// The RMS level of `samples` in `low_hz..high_hz`, dB full scale.
pub fn band_db(samples: &[f32], low_hz: f32, high_hz: f32) -> f32 {
    db(root_mean_square(&Band::new(low_hz, high_hz).apply(samples)))
}

/// Between i16 and -1..1 samples.
pub fn to_f32(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| f32::from(s) / 32768.0).collect()
}

pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples.iter().map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_is_loud_in_its_band_and_quiet_outside_it() {
        let talk = speech(3.0, 300.0, 1200.0, 0.5, 1);
        let inside = band_db(&talk, 400.0, 1000.0);
        let outside = band_db(&talk, 3000.0, 6000.0);
        assert!(inside > -30.0, "in band: {inside:.1} dBFS");
        assert!(inside - outside > 30.0, "{inside:.1} in band, {outside:.1} outside");
        let silent = talk.iter().filter(|x| x.abs() < 1e-6).count() as f32 / talk.len() as f32;
        assert!((0.1..0.6).contains(&silent), "speech pauses between bursts: {silent:.2} of the time silent");
    }

    #[test]
    fn steady_noise_has_the_level_asked() {
        let fan = steady_noise(2.0, 100.0, 4000.0, 0.05, 2);
        assert!((db(root_mean_square(&fan)) - db(0.05)).abs() < 0.1);
    }
}
