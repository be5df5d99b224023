//! A synthetic portrait: a face with noisy skin, eyes, brows, a mouth and hair on
//! a plain background, drawn straight in I420. Test input for the filter, the
//! before/after example and the benchmarks; deterministic for a given seed.

use duet_frame::I420Frame;

/// Skin-tone chroma (BT.601), matching light-to-medium skin.
pub const SKIN_CB: u8 = 110;
pub const SKIN_CR: u8 = 152;

/// Draws a `width x height` portrait with luma noise of about `noise` levels
/// (standard deviation) on the skin.
pub fn synthetic_portrait(width: u32, height: u32, noise: f32, seed: u64) -> I420Frame {
    let mut frame = I420Frame::black(width, height).expect("a portrait needs at least 1x1");
    let (w, h) = (width as f32, height as f32);
    let mut rng = Rng(seed | 1);
    // Normalised coordinates: face centre at (0.5, 0.55), axes 0.22 x 0.32 of the frame.
    let face = |x: f32, y: f32| ((x - 0.5) / 0.22).powi(2) + ((y - 0.55) / 0.32).powi(2);
    let hair = |x: f32, y: f32| ((x - 0.5) / 0.27).powi(2) + ((y - 0.42) / 0.3).powi(2) < 1.0 && y < 0.42;
    let eye = |x: f32, y: f32, cx: f32| ((x - cx) / 0.045).powi(2) + ((y - 0.5) / 0.022).powi(2);
    let brow = |x: f32, y: f32, cx: f32| (x - cx).abs() < 0.06 && (y - 0.44).abs() < 0.008;
    let mouth = |x: f32, y: f32| ((x - 0.5) / 0.08).powi(2) + ((y - 0.72) / 0.025).powi(2) < 1.0;

    let (cw, ch) = (frame.chroma_width() as usize, frame.chroma_height() as usize);
    let (yp, up, vp) = frame.planes_mut();
    for py in 0..height as usize {
        for px in 0..width as usize {
            let (x, y) = ((px as f32 + 0.5) / w, (py as f32 + 0.5) / h);
            let f = face(x, y);
            let value = if hair(x, y) && f > 0.7 {
                35.0 + 10.0 * rng.noise()
            } else if f < 1.0 {
                let (el, er) = (eye(x, y, 0.41), eye(x, y, 0.59));
                if el.min(er) < 0.35 {
                    25.0
                } else if el.min(er) < 1.0 {
                    225.0
                } else if brow(x, y, 0.41) || brow(x, y, 0.59) {
                    45.0
                } else if mouth(x, y) {
                    120.0
                } else {
                    // Soft shading towards the face's edge, plus skin noise.
                    175.0 - 25.0 * f + noise * rng.noise()
                }
            } else {
                // Background: a vertical grey-blue gradient.
                90.0 + 40.0 * y
            };
            yp[py * width as usize + px] = value.round().clamp(0.0, 255.0) as u8;
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let (x, y) = ((2 * cx) as f32 / w + 1.0 / w, (2 * cy) as f32 / h + 1.0 / h);
            let f = face(x, y);
            let (cb, cr) = if hair(x, y) && f > 0.7 {
                (126, 130)
            } else if f < 1.0 {
                if eye(x, y, 0.41).min(eye(x, y, 0.59)) < 1.0 {
                    (128, 128)
                } else if mouth(x, y) {
                    (115, 172)
                } else {
                    (SKIN_CB, SKIN_CR)
                }
            } else {
                (140, 120)
            };
            up[cy * cw + cx] = cb;
            vp[cy * cw + cx] = cr;
        }
    }
    frame
}

/// xorshift64*: small, deterministic, good enough for test noise.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Roughly normal, mean 0, standard deviation 1 (sum of four uniforms).
    pub(crate) fn noise(&mut self) -> f32 {
        let sum: f32 = (0..4).map(|_| (self.next() >> 40) as f32 / (1u64 << 24) as f32).sum();
        (sum - 2.0) * 3f32.sqrt()
    }
}
