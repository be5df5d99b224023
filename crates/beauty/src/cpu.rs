//! The CPU implementation: the reference the GPU path is tested against, and the
//! path used where no hardware GPU exists. Single-threaded; scratch buffers live
//! as long as the frame size does.
//!
//! The algorithm is a fast guided filter (He & Sun, 2015) on luma at half
//! resolution, which is exactly the chroma grid of I420:
//! 1. `prepare`: per 2x2 block the mean luma `L`, `L²` and a skin weight from Cb/Cr;
//! 2. box means of `L`, `L²` → guided-filter coefficients `a`, `b`;
//! 3. box means of `a`, `b` → `A`, `B`, folded with skin weight and sharpening
//!    into `P`, `Q` (see [`math::combine`]);
//! 4. per full-resolution pixel `P * I + Q` with its block's `P`, `Q`, then whitening;
//! 5. ruddiness on the chroma planes.
//!
//! Box means run over the window clipped to the frame, with running sums, so the
//! cost does not grow with the radius.

use duet_frame::I420Frame;

use crate::settings::{Params, math};

#[derive(Debug, Default)]
pub struct CpuFilter {
    size: (u32, u32),
    l: Vec<f32>,
    ll: Vec<f32>,
    mask: Vec<f32>,
    boxes: BoxMean,
    a: Vec<f32>,
    b: Vec<f32>,
    p: Vec<f32>,
    q: Vec<f32>,
}

impl CpuFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Filters `frame` in place. Identity parameters leave it untouched.
    pub fn apply(&mut self, frame: &mut I420Frame, params: &Params) {
        if params.is_identity() {
            return;
        }
        debug_assert_eq!((params.width, params.height), (frame.width(), frame.height()));
        self.resize(params);
        let w = params.width as usize;
        let (cw, ch) = (params.chroma_width() as usize, params.chroma_height() as usize);
        let (y, u, v) = frame.planes_mut();

        self.prepare(params, y, u, v);
        if params.touches_luma() {
            if params.smooth > 0.0 {
                let r = params.radius as usize;
                self.boxes.apply([&self.l, &self.ll], [&mut self.a, &mut self.b], cw, r);
                for (a, b) in self.a.iter_mut().zip(self.b.iter_mut()) {
                    let (mean, mean_sq) = (*a, *b);
                    let var = (mean_sq - mean * mean).max(0.0);
                    *a = var / (var + params.eps);
                    *b = mean - *a * mean;
                }
                self.boxes.apply([&self.a, &self.b], [&mut self.p, &mut self.q], cw, r);
                for k in 0..cw * ch {
                    (self.p[k], self.q[k]) = math::combine(params, self.p[k], self.q[k], self.mask[k], self.l[k]);
                }
            } else {
                for k in 0..cw * ch {
                    (self.p[k], self.q[k]) = math::combine(params, 1.0, 0.0, self.mask[k], self.l[k]);
                }
            }
            self.luma(params, y, w, cw);
        }
        if params.touches_chroma() {
            for (c, m) in u.iter_mut().zip(&self.mask) {
                *c = math::chroma(params, *m, *c, math::CB_SHIFT);
            }
            for (c, m) in v.iter_mut().zip(&self.mask) {
                *c = math::chroma(params, *m, *c, math::CR_SHIFT);
            }
        }
    }

    fn resize(&mut self, params: &Params) {
        if self.size == (params.width, params.height) {
            return;
        }
        self.size = (params.width, params.height);
        let half = params.chroma_width() as usize * params.chroma_height() as usize;
        let [tmp0, tmp1] = &mut self.boxes.tmp;
        for buf in
            [&mut self.l, &mut self.ll, &mut self.mask, tmp0, tmp1, &mut self.a, &mut self.b, &mut self.p, &mut self.q]
        {
            buf.resize(half, 0.0);
        }
        self.boxes.sums.resize(params.chroma_width() as usize, 0.0);
    }

    fn prepare(&mut self, params: &Params, y: &[u8], u: &[u8], v: &[u8]) {
        let (w, h) = (params.width as usize, params.height as usize);
        let cw = params.chroma_width() as usize;
        for (j, ((l_row, ll_row), m_row)) in self
            .l
            .chunks_exact_mut(cw)
            .zip(self.ll.chunks_exact_mut(cw))
            .zip(self.mask.chunks_exact_mut(cw))
            .enumerate()
        {
            let top = &y[2 * j * w..][..w];
            let bottom = &y[(2 * j + 1).min(h - 1) * w..][..w];
            for i in 0..cw {
                let (x0, x1) = (2 * i, (2 * i + 1).min(w - 1));
                let sum = u32::from(top[x0]) + u32::from(top[x1]) + u32::from(bottom[x0]) + u32::from(bottom[x1]);
                let l = sum as f32 / 1020.0;
                let k = j * cw + i;
                l_row[i] = l;
                ll_row[i] = l * l;
                m_row[i] = math::skin(params, f32::from(u[k]), f32::from(v[k]), l);
            }
        }
    }

    /// Step 4: each pixel takes its own 2x2 block's `P`, `Q`. (Bilinear
    /// upsampling would blend the two sides of an edge that falls between blocks
    /// and cost a quarter of the edge's contrast; `P`, `Q` are box means, smooth
    /// enough elsewhere that the blocks do not show.)
    fn luma(&self, params: &Params, y: &mut [u8], w: usize, cw: usize) {
        for (row, out) in y.chunks_exact_mut(w).enumerate() {
            let p = &self.p[row / 2 * cw..][..cw];
            let q = &self.q[row / 2 * cw..][..cw];
            for (pair, (pm, qm)) in out.chunks_mut(2).zip(p.iter().zip(q)) {
                for v in pair {
                    *v = math::luma(params, *pm, *qm, *v);
                }
            }
        }
    }
}

/// Box means over a `(2r+1)²` window clipped to the grid, for two planes at once.
#[derive(Debug, Default)]
struct BoxMean {
    tmp: [Vec<f32>; 2],
    sums: Vec<f32>,
}

impl BoxMean {
    fn apply(&mut self, src: [&[f32]; 2], dst: [&mut [f32]; 2], cw: usize, r: usize) {
        for (plane, (src, dst)) in src.into_iter().zip(dst).enumerate() {
            let tmp = &mut self.tmp[plane];
            for (s, t) in src.chunks_exact(cw).zip(tmp.chunks_exact_mut(cw)) {
                box_row(s, t, r);
            }
            box_columns(tmp, dst, &mut self.sums, r);
        }
    }
}

fn box_row(src: &[f32], dst: &mut [f32], r: usize) {
    let n = src.len();
    let mut sum: f32 = src[..(r + 1).min(n)].iter().sum();
    for x in 0..n {
        let (lo, hi) = (x.saturating_sub(r), (x + r).min(n - 1));
        dst[x] = sum / (hi - lo + 1) as f32;
        if x + r + 1 < n {
            sum += src[x + r + 1];
        }
        if x >= r {
            sum -= src[x - r];
        }
    }
}

/// Vertical box means, row by row, so the inner loops run along contiguous memory.
fn box_columns(src: &[f32], dst: &mut [f32], sums: &mut [f32], r: usize) {
    let cw = sums.len();
    let ch = src.len() / cw;
    sums.fill(0.0);
    for row in src.chunks_exact(cw).take(r + 1) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    for j in 0..ch {
        let (lo, hi) = (j.saturating_sub(r), (j + r).min(ch - 1));
        let count = (hi - lo + 1) as f32;
        for (d, s) in dst[j * cw..][..cw].iter_mut().zip(sums.iter()) {
            *d = s / count;
        }
        if j + r + 1 < ch {
            for (s, v) in sums.iter_mut().zip(&src[(j + r + 1) * cw..][..cw]) {
                *s += v;
            }
        }
        if j >= r {
            for (s, v) in sums.iter_mut().zip(&src[(j - r) * cw..][..cw]) {
                *s -= v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_row_means_over_the_clipped_window() {
        let mut out = [0.0; 5];
        box_row(&[1.0, 2.0, 3.0, 4.0, 5.0], &mut out, 1);
        assert_eq!(out, [1.5, 2.0, 3.0, 4.0, 4.5]);
        box_row(&[1.0, 2.0, 3.0, 4.0, 5.0], &mut out, 9);
        assert_eq!(out, [3.0; 5]);
    }
}
