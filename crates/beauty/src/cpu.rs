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
//! Box means run over the window clipped to the frame. The stages stream row by
//! row through small rings of rows (a few hundred KB even at 1080p) instead of
//! whole intermediate planes, so the work stays in cache; every inner loop runs
//! along a row so the compiler vectorises it.

use duet_frame::I420Frame;

use crate::settings::{Params, math};

#[derive(Debug, Default)]
pub struct CpuFilter {
    /// Frame size and radius the scratch below is laid out for.
    layout: (u32, u32, u32),
    /// Recent rows of `L`, `L²` and skin weight.
    guide: [Rows; 3],
    /// Vertical box means of the row-boxed `L`, `L²`, then of `a`, `b`.
    means: Column,
    coefs: Column,
    /// Scratch rows: two boxed rows and two coefficient rows.
    scratch: [Vec<f32>; 4],
    /// One row of `P` and `Q` at full width, then at half width.
    full: [Vec<f32>; 4],
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
        self.lay_out(params);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just checked for AVX2.
            #[allow(unsafe_code)]
            unsafe {
                self.run_avx2(frame, params)
            };
            return;
        }
        self.run(frame, params);
    }

    /// The same code compiled for AVX2: twice the lanes, and identical results,
    /// since Rust never fuses a multiply and an add on its own.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(&mut self, frame: &mut I420Frame, params: &Params) {
        self.run(frame, params);
    }

    #[inline(always)]
    fn run(&mut self, frame: &mut I420Frame, params: &Params) {
        let ch = params.chroma_height() as usize;
        let (y, u, v) = frame.planes_mut();
        let Self { guide, means, coefs, scratch, full, .. } = self;
        let [boxed0, boxed1, a, b] = scratch;
        let r = params.radius as usize;

        for t in 0..ch {
            prepare_row(params, t, y, u, v, guide);
            if params.smooth == 0.0 {
                finish_row(params, t, None, guide, full, y, u, v);
                continue;
            }
            box_row(guide[0].row(t), boxed0, r);
            box_row(guide[1].row(t), boxed1, r);
            means.push([boxed0, boxed1]);
            while means.ready() {
                means.emit([a, b]);
                for (a, b) in a.iter_mut().zip(b.iter_mut()) {
                    let (mean, mean_sq) = (*a, *b);
                    let var = (mean_sq - mean * mean).max(0.0);
                    *a = var / (var + params.eps);
                    *b = mean - *a * mean;
                }
                box_row(a, boxed0, r);
                box_row(b, boxed1, r);
                coefs.push([boxed0, boxed1]);
                while coefs.ready() {
                    let i = coefs.emit([a, b]);
                    finish_row(params, i, Some((a, b)), guide, full, y, u, v);
                }
            }
        }
    }

    fn lay_out(&mut self, params: &Params) {
        let (cw, ch, r) = (params.chroma_width() as usize, params.chroma_height() as usize, params.radius as usize);
        self.means.reset(cw, ch, r);
        self.coefs.reset(cw, ch, r);
        let layout = (params.width, params.height, params.radius);
        if self.layout == layout {
            return;
        }
        self.layout = layout;
        // A row of P/Q is used for two guide rows after it was prepared, at most
        // 2r rows later (two box windows of radius r).
        for rows in &mut self.guide {
            *rows = Rows::new(2 * r + 2, cw);
        }
        for row in &mut self.scratch {
            row.resize(cw, 0.0);
        }
        for (k, row) in self.full.iter_mut().enumerate() {
            row.resize(if k < 2 { 2 * cw } else { cw }, 0.0);
        }
    }
}

/// Step 1 for half-resolution row `t`: `L`, `L²` and skin weight.
#[inline(always)]
fn prepare_row(params: &Params, t: usize, y: &[u8], u: &[u8], v: &[u8], guide: &mut [Rows; 3]) {
    let (w, h, cw) = (params.width as usize, params.height as usize, params.chroma_width() as usize);
    let top = &y[2 * t * w..][..w];
    let bottom = &y[(2 * t + 1).min(h - 1) * w..][..w];
    let [l_rows, ll_rows, m_rows] = guide;
    let l_row = l_rows.row_mut(t);
    for ((t, b), l) in top.chunks_exact(2).zip(bottom.chunks_exact(2)).zip(l_row.iter_mut()) {
        let sum = u16::from(t[0]) + u16::from(t[1]) + u16::from(b[0]) + u16::from(b[1]);
        *l = f32::from(sum) * math::INV_1020;
    }
    if w % 2 == 1 {
        // The last column has no right neighbour: its block repeats it.
        let sum = 2 * (u16::from(top[w - 1]) + u16::from(bottom[w - 1]));
        l_row[cw - 1] = f32::from(sum) * math::INV_1020;
    }
    let (u_row, v_row) = (&u[t * cw..][..cw], &v[t * cw..][..cw]);
    let (l_row, ll_row, m_row) = (l_rows.row(t), ll_rows.row_mut(t), m_rows.row_mut(t));
    for ((((l, ll), m), cb), cr) in l_row.iter().zip(ll_row.iter_mut()).zip(m_row.iter_mut()).zip(u_row).zip(v_row) {
        *ll = l * l;
        *m = math::skin(params, f32::from(*cb), f32::from(*cr), *l);
    }
}

/// Steps 3–5 for half-resolution row `i`, given its `A`, `B` (none without
/// smoothing): the two luma rows it covers and its chroma samples.
///
/// Each pixel takes its own 2x2 block's `P`, `Q`. (Bilinear upsampling would
/// blend the two sides of an edge that falls between blocks and cost a quarter
/// of the edge's contrast; `P`, `Q` are box means, smooth enough elsewhere that
/// the blocks do not show.)
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn finish_row(
    params: &Params,
    i: usize,
    ab: Option<(&[f32], &[f32])>,
    guide: &[Rows; 3],
    full: &mut [Vec<f32>; 4],
    y: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
) {
    let (w, h, cw) = (params.width as usize, params.height as usize, params.chroma_width() as usize);
    let (l_row, m_row) = (guide[0].row(i), guide[2].row(i));
    if params.touches_luma() {
        let [pf, qf, ph, qh] = full;
        match ab {
            Some((a, b)) => {
                let abml = a.iter().zip(b).zip(m_row).zip(l_row);
                for ((p, q), (((a, b), m), l)) in ph.iter_mut().zip(qh.iter_mut()).zip(abml) {
                    (*p, *q) = math::combine(params, *a, *b, *m, *l);
                }
            }
            None => {
                for ((p, q), (m, l)) in ph.iter_mut().zip(qh.iter_mut()).zip(m_row.iter().zip(l_row)) {
                    (*p, *q) = math::combine(params, 1.0, 0.0, *m, *l);
                }
            }
        }
        // Each block's P, Q cover its two columns.
        for (full, half) in [(&mut *pf, &*ph), (&mut *qf, &*qh)] {
            for (pair, v) in full.chunks_exact_mut(2).zip(half) {
                pair[0] = *v;
                pair[1] = *v;
            }
        }
        let rows = &mut y[2 * i * w..(2 * i + 2).min(h) * w];
        for row in rows.chunks_exact_mut(w) {
            for ((out, pm), qm) in row.iter_mut().zip(pf.iter()).zip(qf.iter()) {
                *out = math::luma(params, *pm, *qm, *out);
            }
        }
    }
    if params.touches_chroma() {
        for (c, m) in u[i * cw..][..cw].iter_mut().zip(m_row) {
            *c = math::chroma(params, *m, *c, math::CB_SHIFT);
        }
        for (c, m) in v[i * cw..][..cw].iter_mut().zip(m_row) {
            *c = math::chroma(params, *m, *c, math::CR_SHIFT);
        }
    }
}

/// The last few rows of a half-resolution plane, indexed by their row number.
#[derive(Debug, Default)]
struct Rows {
    count: usize,
    width: usize,
    data: Vec<f32>,
}

impl Rows {
    fn new(count: usize, width: usize) -> Self {
        Self { count, width, data: vec![0.0; count * width] }
    }

    fn row(&self, j: usize) -> &[f32] {
        &self.data[(j % self.count) * self.width..][..self.width]
    }

    fn row_mut(&mut self, j: usize) -> &mut [f32] {
        &mut self.data[(j % self.count) * self.width..][..self.width]
    }
}

/// Vertical box means of two channels, fed one row at a time: row `j`'s mean
/// comes out as soon as row `j + r` (or the last row) has gone in. Running
/// sums, so each row costs one add, one subtract and one scale.
#[derive(Debug, Default)]
struct Column {
    r: usize,
    rows: usize,
    ring: [Rows; 2],
    sums: [Vec<f32>; 2],
    pushed: usize,
    emitted: usize,
}

impl Column {
    fn reset(&mut self, width: usize, rows: usize, r: usize) {
        if (self.r, self.rows, self.sums[0].len()) != (r, rows, width) {
            self.ring = [Rows::new(2 * r + 1, width), Rows::new(2 * r + 1, width)];
            self.sums = [vec![0.0; width], vec![0.0; width]];
        }
        self.sums.iter_mut().for_each(|s| s.fill(0.0));
        (self.r, self.rows, self.pushed, self.emitted) = (r, rows, 0, 0);
    }

    #[inline(always)]
    fn push(&mut self, rows: [&[f32]; 2]) {
        for ((ring, sums), row) in self.ring.iter_mut().zip(&mut self.sums).zip(rows) {
            ring.row_mut(self.pushed).copy_from_slice(row);
            for (s, v) in sums.iter_mut().zip(row) {
                *s += v;
            }
        }
        self.pushed += 1;
    }

    fn ready(&self) -> bool {
        self.emitted < self.rows && self.pushed > (self.emitted + self.r).min(self.rows - 1)
    }

    /// Writes the next row's means into `out` and returns its row number.
    #[inline(always)]
    fn emit(&mut self, out: [&mut [f32]; 2]) -> usize {
        let j = self.emitted;
        let (lo, hi) = (j.saturating_sub(self.r), (j + self.r).min(self.rows - 1));
        let inv = 1.0 / (hi - lo + 1) as f32;
        for ((ring, sums), out) in self.ring.iter().zip(&mut self.sums).zip(out) {
            for (o, s) in out.iter_mut().zip(sums.iter()) {
                *o = s * inv;
            }
            // Row j - r leaves the window before row j + 1's mean.
            if j >= self.r {
                for (s, v) in sums.iter_mut().zip(ring.row(j - self.r)) {
                    *s -= v;
                }
            }
        }
        self.emitted += 1;
        j
    }
}

/// Horizontal box mean. The interior sums its taps left to right (the shader's
/// order), many outputs at a time in registers; the ends, where the window is
/// clipped, go one by one.
#[inline(always)]
fn box_row(src: &[f32], dst: &mut [f32], r: usize) {
    let n = src.len();
    let clipped = |x: usize| {
        let (lo, hi) = (x.saturating_sub(r), (x + r).min(n - 1));
        src[lo..=hi].iter().sum::<f32>() * (1.0 / (hi - lo + 1) as f32)
    };
    if n <= 2 * r {
        for (x, d) in dst.iter_mut().enumerate() {
            *d = clipped(x);
        }
        return;
    }
    let interior = n - 2 * r;
    let inv = 1.0 / (2 * r + 1) as f32;
    let wide = box_lanes::<32>(src, &mut dst[r..r + interior], r, inv);
    let narrow = box_lanes::<8>(&src[wide..], &mut dst[r + wide..r + interior], r, inv);
    for x in r + wide + narrow..r + interior {
        dst[x] = src[x - r..=x + r].iter().sum::<f32>() * inv;
    }
    for x in (0..r).chain(n - r..n) {
        dst[x] = clipped(x);
    }
}

/// Unclipped box sums of `N` outputs at a time: `out[k]` is the mean of
/// `src[k..=k + 2r]`. Independent lanes keep several additions in flight.
/// Returns how many outputs it wrote (a multiple of `N`).
#[inline(always)]
fn box_lanes<const N: usize>(src: &[f32], out: &mut [f32], r: usize, inv: f32) -> usize {
    let mut chunks = out.chunks_exact_mut(N);
    for (c, chunk) in chunks.by_ref().enumerate() {
        let mut acc = [0.0f32; N];
        for tap in 0..=2 * r {
            for (a, s) in acc.iter_mut().zip(&src[c * N + tap..][..N]) {
                *a += s;
            }
        }
        for (o, a) in chunk.iter_mut().zip(acc) {
            *o = a * inv;
        }
    }
    out.len() / N * N
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Settings, Tier, synthetic_portrait};

    #[test]
    fn the_vector_paths_agree_bit_for_bit() {
        let input = synthetic_portrait(203, 117, 8.0, 11);
        let params = Params::new(&Settings::recommended(), Tier::Full, 203, 117);
        let (mut dispatched, mut portable) = (input.clone(), input);
        let mut filter = CpuFilter::new();
        filter.apply(&mut dispatched, &params);
        filter.lay_out(&params);
        filter.run(&mut portable, &params);
        assert_eq!(dispatched, portable);
    }

    #[test]
    fn box_row_means_over_the_clipped_window() {
        let mut out = [0.0; 5];
        box_row(&[1.0, 2.0, 3.0, 4.0, 5.0], &mut out, 1);
        assert_eq!(out, [1.5, 2.0, 3.0, 4.0, 4.5]);
        box_row(&[1.0, 2.0, 3.0, 4.0, 5.0], &mut out, 9);
        assert_eq!(out, [3.0; 5]);
        let src: Vec<f32> = (0..40).map(|x| x as f32).collect();
        let mut out = vec![0.0; 40];
        box_row(&src, &mut out, 2);
        assert_eq!((out[0], out[1], out[20], out[39]), (1.0, 1.5, 20.0, 38.0));
    }

    #[test]
    fn column_means_come_out_in_order_over_the_clipped_window() {
        let mut column = Column::default();
        column.reset(1, 5, 1);
        let mut means = Vec::new();
        for v in [1.0, 2.0, 3.0, 4.0, 5.0] {
            column.push([&[v], &[10.0 * v]]);
            while column.ready() {
                let (mut a, mut b) = ([0.0], [0.0]);
                let j = column.emit([&mut a, &mut b]);
                means.push((j, a[0], b[0]));
            }
        }
        assert_eq!(means, [(0, 1.5, 15.0), (1, 2.0, 20.0), (2, 3.0, 30.0), (3, 4.0, 40.0), (4, 4.5, 45.0)]);
    }
}
