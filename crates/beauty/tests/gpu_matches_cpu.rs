//! The GPU output is the CPU reference's, within 2/255 per channel.

mod common;

use common::{gpu_or_skip, max_difference, settings};
use duet_beauty::{CpuFilter, Params, Tier, synthetic_portrait};

fn compare(width: u32, height: u32, levels: (u8, u8, u8, u8), tier: Tier) {
    let Some(mut gpu) = gpu_or_skip() else { return };
    let input = synthetic_portrait(width, height, 8.0, 7);
    let params = Params::new(&settings(levels.0, levels.1, levels.2, levels.3), tier, width, height);
    let mut on_gpu = input.clone();
    gpu.apply(&mut on_gpu, &params).unwrap();
    let mut on_cpu = input.clone();
    CpuFilter::new().apply(&mut on_cpu, &params);
    assert_ne!(on_cpu, input, "the settings {levels:?} must change the picture");
    let diff = max_difference(&on_gpu, &on_cpu);
    assert!(diff <= 2, "{width}x{height} {levels:?} {tier:?}: GPU and CPU differ by {diff}/255");
}

#[test]
fn every_effect_at_full_strength() {
    compare(160, 120, (9, 9, 9, 9), Tier::Full);
}

#[test]
fn each_effect_alone() {
    compare(96, 64, (7, 0, 0, 0), Tier::Full);
    compare(96, 64, (0, 6, 0, 0), Tier::Full);
    compare(96, 64, (0, 0, 9, 0), Tier::Full);
    compare(96, 64, (0, 0, 0, 9), Tier::Full);
}

#[test]
fn lower_tiers() {
    compare(128, 96, (9, 3, 3, 3), Tier::Reduced);
    compare(128, 96, (9, 3, 3, 3), Tier::Minimal);
}

#[test]
fn odd_frame_sizes() {
    for (w, h) in [(37, 23), (3, 5), (1, 1), (2, 1), (101, 3)] {
        let Some(mut gpu) = gpu_or_skip() else { return };
        let input = synthetic_portrait(w, h, 8.0, 3);
        let params = Params::new(&settings(9, 5, 5, 5), Tier::Full, w, h);
        let mut on_gpu = input.clone();
        gpu.apply(&mut on_gpu, &params).unwrap();
        let mut on_cpu = input;
        CpuFilter::new().apply(&mut on_cpu, &params);
        assert!(max_difference(&on_gpu, &on_cpu) <= 2, "{w}x{h}");
    }
}
