//! Everything at level 0, or the filter switched off, is an exact pass-through
//! that does no work.

mod common;

use common::{gpu_or_skip, settings};
use duet_beauty::{Backend, BeautyProcessor, CpuFilter, Params, Settings, SettingsHandle, Tier, synthetic_portrait};
use duet_frame::FrameProcessor;

#[test]
fn all_levels_at_zero_leave_every_byte_alone() {
    let input = synthetic_portrait(97, 55, 8.0, 1);
    let params = Params::new(&settings(0, 0, 0, 0), Tier::Full, 97, 55);
    let mut frame = input.clone();
    CpuFilter::new().apply(&mut frame, &params);
    assert_eq!(frame, input);

    if let Some(mut gpu) = gpu_or_skip() {
        gpu.apply(&mut frame, &params).unwrap();
        assert_eq!(frame, input);
        assert_eq!(gpu.submissions(), 0, "a pass-through must not touch the GPU");
    }
}

#[test]
fn switched_off_filter_passes_frames_through_untouched() {
    let handle = SettingsHandle::new(Settings { enabled: false, ..settings(9, 9, 9, 9) });
    let mut processor = BeautyProcessor::new(Backend::Cpu, handle.clone(), 30);
    let input = synthetic_portrait(64, 48, 8.0, 2);
    let mut frame = input.clone();
    processor.process(&mut frame);
    assert_eq!(frame, input);

    handle.set(settings(0, 0, 0, 0));
    processor.process(&mut frame);
    assert_eq!(frame, input);
    assert_eq!(processor.stats().frames, 0);
}
