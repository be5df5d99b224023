//! The filter as the capture pipeline uses it: settings change between frames,
//! the frame size changes mid-stream, and a filter too slow for the frame rate
//! lowers its tier and says so.

mod common;

use common::{gpu_or_skip, max_difference, settings};
use duet_beauty::{
    AdapterChoice, Backend, BeautyProcessor, Budget, CpuFilter, Params, Settings, SettingsHandle, Tier,
    synthetic_portrait,
};
use duet_frame::{FrameProcessor, I420Frame};

fn reference(input: &I420Frame, settings: &Settings, tier: Tier) -> I420Frame {
    let mut frame = input.clone();
    CpuFilter::new().apply(&mut frame, &Params::new(settings, tier, input.width(), input.height()));
    frame
}

#[test]
fn a_settings_change_applies_from_the_next_frame() {
    let (before, after) = (settings(3, 0, 0, 0), settings(9, 4, 6, 2));
    let handle = SettingsHandle::new(before);
    let mut processor = BeautyProcessor::new(Backend::Cpu, handle.clone(), 30);
    let input = synthetic_portrait(80, 60, 8.0, 5);

    let mut first = input.clone();
    processor.process(&mut first);
    handle.set(after);
    let mut second = input.clone();
    processor.process(&mut second);

    assert_eq!(first, reference(&input, &before, Tier::Full));
    assert_eq!(second, reference(&input, &after, Tier::Full));
    assert_eq!(processor.stats().frames, 2);
}

#[test]
fn gpu_settings_changes_reuse_the_resources_of_the_frame_size() {
    let Some(mut gpu) = gpu_or_skip() else { return };
    let input = synthetic_portrait(80, 60, 8.0, 5);
    for levels in [(3, 0, 0, 0), (9, 4, 6, 2), (0, 9, 0, 0), (5, 5, 5, 5)] {
        let s = settings(levels.0, levels.1, levels.2, levels.3);
        let mut frame = input.clone();
        gpu.apply(&mut frame, &Params::new(&s, Tier::Full, 80, 60)).unwrap();
        assert!(max_difference(&frame, &reference(&input, &s, Tier::Full)) <= 2, "{levels:?}");
    }
    assert_eq!(gpu.resource_builds(), 1, "only the uniform may change with the settings");
    assert_eq!(gpu.submissions(), 4);
}

#[test]
fn the_frame_size_can_change_mid_stream() {
    let s = Settings::recommended();
    let sizes = [(96, 64), (96, 64), (51, 37), (1280 / 8, 720 / 8), (96, 64)];

    let mut processor = BeautyProcessor::new(Backend::Cpu, SettingsHandle::new(s), 30);
    for (w, h) in sizes {
        let input = synthetic_portrait(w, h, 8.0, u64::from(w));
        let mut frame = input.clone();
        processor.process(&mut frame);
        assert_eq!(frame, reference(&input, &s, Tier::Full), "{w}x{h}");
    }

    let Some(mut gpu) = gpu_or_skip() else { return };
    let mut builds = Vec::new();
    for (w, h) in sizes {
        let input = synthetic_portrait(w, h, 8.0, u64::from(w));
        let mut frame = input.clone();
        gpu.apply(&mut frame, &Params::new(&s, Tier::Full, w, h)).unwrap();
        assert!(max_difference(&frame, &reference(&input, &s, Tier::Full)) <= 2, "{w}x{h}");
        builds.push(gpu.resource_builds());
    }
    assert_eq!(builds, [1, 1, 2, 3, 4], "resources are rebuilt exactly when the size changes");
}

#[test]
fn a_filter_over_its_budget_degrades_and_reports_it() {
    // At a million frames per second the budget is half a microsecond: every
    // real frame is over it, so the first window must lower the tier.
    let s = settings(9, 0, 0, 0);
    let mut processor = BeautyProcessor::new(Backend::Cpu, SettingsHandle::new(s), 1_000_000);
    let input = synthetic_portrait(128, 96, 8.0, 9);
    for _ in 0..duet_beauty::budget::WINDOW {
        processor.process(&mut input.clone());
    }
    let stats = processor.stats();
    assert!(stats.degraded, "{stats:?}");
    assert_eq!(stats.tier, Tier::Reduced);
    assert!(stats.window_average > stats.budget);
    assert_eq!(stats.budget, Budget::for_frame_rate(1_000_000).limit());

    let mut frame = input.clone();
    processor.process(&mut frame);
    assert_eq!(frame, reference(&input, &s, Tier::Reduced), "the next frame runs at the lower tier");
}

#[test]
fn gpu_processor_reports_its_adapter() {
    if gpu_or_skip().is_none() {
        return;
    }
    let processor = BeautyProcessor::new(Backend::Gpu(AdapterChoice::AllowSoftware), SettingsHandle::default(), 30);
    let stats = processor.stats();
    assert!(stats.backend.starts_with("gpu: "), "{stats:?}");
    assert_eq!(stats.gpu_unavailable, None);
}

#[test]
fn live_video_never_runs_on_a_software_adapter() {
    let Some(gpu) = gpu_or_skip() else { return };
    if !gpu.adapter().software {
        return;
    }
    let processor = BeautyProcessor::new(Backend::Auto, SettingsHandle::default(), 30);
    let stats = processor.stats();
    assert_eq!(stats.backend, "cpu");
    let reason = stats.gpu_unavailable.expect("the reason the GPU is not used");
    assert!(reason.contains("software GPU"), "{reason}");
}
