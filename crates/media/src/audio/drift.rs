//! Clock drift between the speaker and the microphone, found from the echo
//! itself and taken out of the far end before the echo canceller sees it.
//!
//! A speaker and a microphone on different sound cards run on different
//! crystals: 100 ppm apart, the echo's delay moves by 0.1 ms every second,
//! and AEC3's filter keeps losing the echo for moments as it does (ERLE falling
//! from 60 to 15 dB now and then, more so as the call goes on). Each second
//! this finds the echo's delay to a fraction of a sample (the far end against
//! the microphone, both at 8 kHz, by GCC-PHAT); the slope of the delays over
//! the last seconds is the drift, and the far end is resampled by it, so the
//! canceller sees an echo whose delay stands still.

use sonora_fft::fft4g::Fft4g;

use super::SAMPLE_RATE;

/// The analysis rate: 48 kHz / 6.
const DECIMATE: usize = 6;
const RATE: usize = SAMPLE_RATE as usize / DECIMATE;
/// The microphone's sound compared each time (1 s), and the echo delays looked for (0–512 ms).
const WINDOW: usize = RATE;
const MAX_LAG: usize = 4096;
const FFT: usize = 16384;
/// Delays kept for the slope, one a second.
const KEPT: usize = 20;
/// A slope needs this many delays, and they must lie this close to its line (samples at 8 kHz).
const FIT_FROM: usize = 5;
const FIT_WITHIN: f64 = 0.4;
/// Drift beyond this is not two crystals (a delay that jumped: a device's buffer, a switch).
const MAX_DRIFT: f64 = 1e-3;
/// The echo's correlation peak must stand this far above the average.
const PEAK_OVER_MEAN: f32 = 10.0;
/// Quieter far ends (RMS, 0–1) have no echo to find.
const MIN_FAR_RMS: f32 = 0.003;

/// Decimates a 48 kHz stream to 8 kHz (an average of each 6, the same for both streams).
#[derive(Debug, Default)]
struct Decimator {
    sum: f32,
    count: usize,
}

impl Decimator {
    fn push(&mut self, sample: f32, out: &mut Vec<f32>) {
        self.sum += sample;
        self.count += 1;
        if self.count == DECIMATE {
            out.push(self.sum / DECIMATE as f32);
            self.sum = 0.0;
            self.count = 0;
        }
    }
}

/// The last seconds of a stream at 8 kHz, by the index of its samples since the start.
#[derive(Debug, Default)]
struct History {
    samples: Vec<f32>,
    /// The index of `samples[0]`.
    start: usize,
    decimator: Decimator,
}

impl History {
    fn push(&mut self, samples: impl Iterator<Item = f32>) {
        for sample in samples {
            self.decimator.push(sample, &mut self.samples);
        }
        let keep = 3 * RATE;
        if self.samples.len() > keep + RATE {
            let drop = self.samples.len() - keep;
            self.samples.drain(..drop);
            self.start += drop;
        }
    }

    fn end(&self) -> usize {
        self.start + self.samples.len()
    }

    /// Samples `from..to` (indices since the start), if kept.
    fn range(&self, from: usize, to: usize) -> Option<&[f32]> {
        (from >= self.start && to <= self.end()).then(|| &self.samples[from - self.start..to - self.start])
    }
}

/// Finds the drift and resamples the far end by it.
pub(crate) struct DriftCompensator {
    far: History,
    near: History,
    /// How many more far-end samples (at 8 kHz) than microphone samples had
    /// arrived when the microphone's first did: the two streams' indices are
    /// lined up by it once, so a device handing over its sound in bursts does
    /// not make the delay seem to move.
    far_ahead: Option<i64>,
    /// The next microphone sample (8 kHz) a delay is measured at.
    next_at: usize,
    /// Measured delays: (microphone index, delay in samples at 8 kHz).
    delays: Vec<(f64, f64)>,
    fft: Fft4g,
    spectrum_far: Vec<f32>,
    spectrum_near: Vec<f32>,
    /// The drift taken out (the echo's delay grows by this many samples per sample).
    drift: f64,
    resampler: FractionalResampler,
}

impl std::fmt::Debug for DriftCompensator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriftCompensator").field("drift", &self.drift).finish_non_exhaustive()
    }
}

impl DriftCompensator {
    pub fn new() -> DriftCompensator {
        DriftCompensator {
            far: History::default(),
            near: History::default(),
            far_ahead: None,
            next_at: WINDOW + MAX_LAG,
            delays: Vec::with_capacity(KEPT + 1),
            fft: Fft4g::new(FFT),
            spectrum_far: vec![0.0; FFT],
            spectrum_near: vec![0.0; FFT],
            drift: 0.0,
            resampler: FractionalResampler::default(),
        }
    }

    /// The drift found so far, in parts per million (the speaker's clock against the microphone's).
    pub fn drift_ppm(&self) -> f64 {
        self.drift * 1e6
    }

    /// What the speaker played, resampled into `out` by the drift found.
    pub fn far_end(&mut self, played: &[f32], out: &mut Vec<f32>) {
        self.far.push(played.iter().copied());
        self.resampler.push(played, 1.0 - self.drift, out);
    }

    /// 10 ms the microphone captured (before processing).
    pub fn near_end(&mut self, captured: &[f32]) {
        self.near.push(captured.iter().copied());
        if self.far_ahead.is_none() {
            self.far_ahead = Some(self.far.end() as i64 - self.near.end() as i64);
        }
        if self.near.end() >= self.next_at {
            self.next_at = self.near.end() + WINDOW;
            // A little in the past, so the far end of the same moment has surely arrived.
            let at = self.near.end() - RATE / 10;
            if let Some(delay) = self.delay_at(at) {
                self.delays.push((at as f64, delay));
                if self.delays.len() > KEPT {
                    self.delays.remove(0);
                }
                self.follow();
            }
        }
    }

    /// The echo's delay (samples at 8 kHz) in the microphone's last second
    /// before `end`, where the far end had something to echo and the echo is clear.
    fn delay_at(&mut self, end: usize) -> Option<f64> {
        let ahead = self.far_ahead?;
        let near = self.near.range(end - WINDOW, end)?;
        // The far end over the same second and the 512 ms before it.
        let far_to = usize::try_from(end as i64 + ahead).ok()?;
        let far_from = far_to.checked_sub(WINDOW + MAX_LAG)?;
        let far = self.far.range(far_from, far_to)?;
        let rms = (far.iter().map(|x| x * x).sum::<f32>() / far.len() as f32).sqrt();
        if rms < MIN_FAR_RMS {
            return None;
        }
        self.spectrum_far.fill(0.0);
        self.spectrum_far[..far.len()].copy_from_slice(far);
        self.spectrum_near.fill(0.0);
        self.spectrum_near[..near.len()].copy_from_slice(near);
        self.fft.rdft(&mut self.spectrum_far);
        self.fft.rdft(&mut self.spectrum_near);
        // The cross spectrum, each bin weighted to unit magnitude (PHAT): a sharp peak at the delay.
        let (f, n) = (&mut self.spectrum_far, &self.spectrum_near);
        f[0] = (f[0] * n[0]).signum();
        f[1] = (f[1] * n[1]).signum();
        for k in 1..FFT / 2 {
            let (fr, fi, nr, ni) = (f[2 * k], f[2 * k + 1], n[2 * k], n[2 * k + 1]);
            // near × conj(far): the correlation of the far end shifted by each lag with the near.
            let (re, im) = (nr * fr + ni * fi, ni * fr - nr * fi);
            let magnitude = (re * re + im * im).sqrt().max(1e-12);
            f[2 * k] = re / magnitude;
            f[2 * k + 1] = im / magnitude;
        }
        self.fft.irdft(f);
        // correlation[k]: the near second against the far end k samples into its segment;
        // the echo, `delay` samples late, peaks at k = MAX_LAG - delay.
        let correlation = |k: usize| f[(FFT - k) % FFT];
        let (best, peak) = (0..=MAX_LAG).map(|k| (k, correlation(k))).max_by(|a, b| a.1.total_cmp(&b.1))?;
        let mean = (0..=MAX_LAG).map(|k| correlation(k).abs()).sum::<f32>() / (MAX_LAG + 1) as f32;
        if peak < PEAK_OVER_MEAN * mean || best == 0 || best == MAX_LAG {
            return None;
        }
        // Between samples: the vertex of the parabola through the peak and its neighbours.
        let (before, after) = (correlation(best - 1), correlation(best + 1));
        let offset = 0.5 * (before - after) / (before - 2.0 * peak + after);
        Some(MAX_LAG as f64 - (best as f64 + f64::from(offset)))
    }

    /// Takes the slope of the recent delays as the drift, where they lie on a line.
    fn follow(&mut self) {
        if self.delays.len() < FIT_FROM {
            return;
        }
        let n = self.delays.len() as f64;
        let (mean_t, mean_d) = self.delays.iter().fold((0.0, 0.0), |(t, d), &(ti, di)| (t + ti / n, d + di / n));
        let (mut covariance, mut variance) = (0.0, 0.0);
        for &(t, d) in &self.delays {
            covariance += (t - mean_t) * (d - mean_d);
            variance += (t - mean_t) * (t - mean_t);
        }
        let slope = covariance / variance;
        let worst = self.delays.iter().map(|&(t, d)| (d - (mean_d + slope * (t - mean_t))).abs()).fold(0.0, f64::max);
        if worst > FIT_WITHIN {
            // A jump (a device's buffer, another speaker): start over from the newest.
            self.delays.drain(..self.delays.len() - 1);
            return;
        }
        if slope.abs() <= MAX_DRIFT {
            self.drift = slope;
        }
    }
}

/// Resamples by a step that may change between calls (cubic interpolation,
/// keeping its phase across calls).
#[derive(Debug, Default)]
struct FractionalResampler {
    buf: Vec<f32>,
    /// Position of the next output sample in `buf`, past its first sample.
    position: f64,
}

impl FractionalResampler {
    /// Converts `input`, `step` input samples per output sample, appending to `out`.
    fn push(&mut self, input: &[f32], step: f64, out: &mut Vec<f32>) {
        if self.buf.is_empty() {
            // One sample of history before the first, for the cubic's left neighbour.
            self.buf.push(input.first().copied().unwrap_or(0.0));
            self.position = 1.0;
        }
        self.buf.extend_from_slice(input);
        while self.position + 2.0 < self.buf.len() as f64 {
            let i = self.position as usize;
            let t = (self.position - i as f64) as f32;
            let (p0, p1, p2, p3) = (self.buf[i - 1], self.buf[i], self.buf[i + 1], self.buf[i + 2]);
            // Catmull-Rom through the four neighbours.
            out.push(
                p1 + 0.5 * t * (p2 - p0 + t * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + t * (3.0 * (p1 - p2) + p3 - p0))),
            );
            self.position += step;
        }
        let consumed = (self.position as usize).saturating_sub(1);
        self.buf.drain(..consumed);
        self.position -= consumed as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech-like noise bursts (a deterministic generator), 48 kHz.
    fn bursts(seconds: usize) -> Vec<f32> {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        (0..seconds * 48_000)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
                if (i / 9600) % 3 == 2 { 0.0 } else { noise * 0.3 }
            })
            .collect()
    }

    /// Feeds `far` and its echo (`delay` samples later, resampled by `ppm`) through a compensator, 10 ms at a time.
    fn run(ppm: f64, delay: usize) -> DriftCompensator {
        let far = bursts(30);
        let mut echo = vec![0.0; delay];
        FractionalResampler::default().push(&far, 1.0 - ppm / 1e6, &mut echo);
        let mut compensator = DriftCompensator::new();
        let mut fed = Vec::new();
        for (played, captured) in far.chunks_exact(480).zip(echo.chunks_exact(480)) {
            compensator.far_end(played, &mut fed);
            compensator.near_end(captured);
        }
        compensator
    }

    #[test]
    fn the_drift_between_two_clocks_is_found_from_the_echo() {
        for ppm in [100.0, -100.0, 300.0] {
            let found = run(ppm, 48 * 120).drift_ppm();
            assert!((found - ppm).abs() < 10.0, "{ppm} ppm: found {found:.1}");
        }
        let same = run(0.0, 48 * 300).drift_ppm();
        assert!(same.abs() < 5.0, "one clock: {same:.1} ppm");
    }

    #[test]
    fn the_resampler_keeps_the_signal_and_its_rate() {
        let input: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.01).sin()).collect();
        let mut out = Vec::new();
        let mut resampler = FractionalResampler::default();
        for chunk in input.chunks(480) {
            resampler.push(chunk, 1.0 - 1e-3, &mut out);
        }
        assert!((out.len() as i64 - 48_048).abs() <= 3, "0.1% faster: {} samples", out.len());
        let error = out
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, &y)| (y - (i as f32 * 0.999 * 0.01).sin()).abs())
            .fold(0.0, f32::max);
        assert!(error < 1e-3, "a smooth signal comes out the same: {error}");
    }
}
