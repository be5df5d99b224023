#![allow(dead_code)]

use duet_beauty::{AdapterChoice, GpuFilter, Level, Settings};
use duet_frame::I420Frame;

/// A GPU filter on whatever adapter exists, software ones included (the tests
/// run on lavapipe). Without any adapter the test is skipped, except in CI.
pub fn gpu_or_skip() -> Option<GpuFilter> {
    match GpuFilter::new(AdapterChoice::AllowSoftware) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("CI needs a Vulkan adapter: {e}"),
        Err(e) => {
            eprintln!("skipped: no GPU adapter ({e}); install mesa-vulkan-drivers");
            None
        }
    }
}

pub fn settings(smoothing: u8, whitening: u8, ruddiness: u8, sharpening: u8) -> Settings {
    let level = |n| Level::new(n).unwrap();
    Settings {
        enabled: true,
        smoothing: level(smoothing),
        whitening: level(whitening),
        ruddiness: level(ruddiness),
        sharpening: level(sharpening),
    }
}

/// Largest per-byte difference over the whole frame (every plane).
pub fn max_difference(a: &I420Frame, b: &I420Frame) -> u8 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    a.as_bytes().iter().zip(b.as_bytes()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}
