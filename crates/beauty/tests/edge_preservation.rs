//! Smoothing flattens noise on skin but keeps sharp edges sharp, on both paths.

mod common;

use common::{gpu_or_skip, settings};
use duet_beauty::{CpuFilter, Params, SKIN_CB, SKIN_CR, Tier};
use duet_frame::I420Frame;

const W: u32 = 128;
const H: u32 = 96;

/// Skin-coloured frame whose luma is `luma(x, y)`.
fn skin_frame(mut luma: impl FnMut(u32, u32) -> f32) -> I420Frame {
    let mut frame = I420Frame::black(W, H).unwrap();
    let (y, u, v) = frame.planes_mut();
    for py in 0..H {
        for px in 0..W {
            y[(py * W + px) as usize] = luma(px, py).round().clamp(0.0, 255.0) as u8;
        }
    }
    u.fill(SKIN_CB);
    v.fill(SKIN_CR);
    frame
}

/// A lit cheek (170) next to a shadow (70) along x = 64: both sides count as skin,
/// so only the edge-preserving filter itself can keep the edge.
fn edge() -> I420Frame {
    skin_frame(|x, _| if x < W / 2 { 170.0 } else { 70.0 })
}

/// Flat skin at 170 with noise of standard deviation 8.
fn noisy_skin() -> I420Frame {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = move || {
        let sum: f32 = (0..4)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .sum();
        (sum - 2.0) * 3f32.sqrt()
    };
    skin_frame(move |_, _| 170.0 + 8.0 * noise())
}

/// Sum of squared horizontal differences over the interior rows.
fn gradient_energy(frame: &I420Frame) -> f64 {
    let y = frame.y();
    let mut energy = 0.0;
    for row in 8..H - 8 {
        for x in 0..W - 1 {
            let d = f64::from(y[(row * W + x + 1) as usize]) - f64::from(y[(row * W + x) as usize]);
            energy += d * d;
        }
    }
    energy
}

/// Standard deviation of luma away from the borders.
fn luma_noise(frame: &I420Frame) -> f64 {
    let y = frame.y();
    let values: Vec<f64> =
        (16..H - 16).flat_map(|row| (16..W - 16).map(move |x| f64::from(y[(row * W + x) as usize]))).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

fn check(filter: &mut dyn FnMut(&mut I420Frame, &Params), smoothing: u8) {
    let params = Params::new(&settings(smoothing, 0, 0, 0), Tier::Full, W, H);

    let input = edge();
    let mut output = input.clone();
    filter(&mut output, &params);
    let kept = gradient_energy(&output) / gradient_energy(&input);
    eprintln!("level {smoothing}: edge energy kept {:.1}%", kept * 100.0);
    assert!(kept >= 0.9, "level {smoothing}: only {:.1}% of the edge's gradient energy is left", kept * 100.0);

    let input = noisy_skin();
    let mut output = input.clone();
    filter(&mut output, &params);
    let (before, after) = (luma_noise(&input), luma_noise(&output));
    eprintln!("level {smoothing}: skin noise {before:.2} -> {after:.2}");
    assert!(after <= before * 0.5, "level {smoothing}: noise only went from {before:.2} to {after:.2}");
}

#[test]
fn cpu_keeps_edges_and_removes_skin_noise() {
    let mut cpu = CpuFilter::new();
    for level in [5, 9] {
        check(&mut |frame, params| cpu.apply(frame, params), level);
    }
}

#[test]
fn gpu_keeps_edges_and_removes_skin_noise() {
    let Some(mut gpu) = gpu_or_skip() else { return };
    for level in [5, 9] {
        check(&mut |frame, params| gpu.apply(frame, params).unwrap(), level);
    }
}
