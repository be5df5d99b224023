//! What the viewer of a video stream experienced: frame rate, resolution and
//! freezes, by the W3C webrtc-stats definition (DESIGN.md "Freeze"): a gap
//! between two rendered frames of at least max(3 × average, average + 150 ms),
//! the average taken over the previous 30 frame intervals.

use std::collections::VecDeque;

const WINDOW: usize = 30;

/// Counters since the stream started.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct RenderSnapshot {
    pub frames: u64,
    /// Frames per second since the previous snapshot.
    pub fps: f32,
    pub width: u32,
    pub height: u32,
    pub freeze_count: u64,
    pub total_freeze_ms: u64,
}

#[derive(Debug, Default)]
pub struct RenderStats {
    intervals: VecDeque<u64>,
    interval_sum: u64,
    last_frame_us: Option<u64>,
    snapshot: RenderSnapshot,
    /// Frames and time at the previous snapshot, for the rate.
    previous: Option<(u64, u64)>,
}

impl RenderStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame was rendered at `at_us` (any monotonic clock in µs).
    pub fn frame_rendered(&mut self, at_us: u64, width: u32, height: u32) {
        self.snapshot.frames += 1;
        self.snapshot.width = width;
        self.snapshot.height = height;
        if let Some(last) = self.last_frame_us.replace(at_us) {
            let interval = at_us.saturating_sub(last);
            if !self.intervals.is_empty() {
                let average = self.interval_sum / self.intervals.len() as u64;
                if interval >= (3 * average).max(average + 150_000) {
                    self.snapshot.freeze_count += 1;
                    self.snapshot.total_freeze_ms += interval / 1000;
                }
            }
            self.intervals.push_back(interval);
            self.interval_sum += interval;
            if self.intervals.len() > WINDOW {
                self.interval_sum -= self.intervals.pop_front().unwrap_or(0);
            }
        }
    }

    /// The counters, with the frame rate since the previous call.
    pub fn snapshot(&mut self, now_us: u64) -> RenderSnapshot {
        if let Some((frames, at)) = self.previous
            && now_us > at
        {
            self.snapshot.fps = (self.snapshot.frames - frames) as f32 * 1e6 / (now_us - at) as f32;
        }
        self.previous = Some((self.snapshot.frames, now_us));
        self.snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(stats: &mut RenderStats, times_ms: impl IntoIterator<Item = u64>) {
        for t in times_ms {
            stats.frame_rendered(t * 1000, 960, 540);
        }
    }

    #[test]
    fn steady_frames_never_freeze_and_give_the_rate() {
        let mut stats = RenderStats::new();
        stats.snapshot(0);
        render(&mut stats, (0..60).map(|i| i * 66));
        let snapshot = stats.snapshot(60 * 66_000);
        assert_eq!(snapshot.freeze_count, 0);
        assert!((snapshot.fps - 15.15).abs() < 0.1, "{}", snapshot.fps);
        assert_eq!((snapshot.width, snapshot.height, snapshot.frames), (960, 540, 60));
    }

    #[test]
    fn a_gap_of_three_intervals_at_15_fps_is_a_freeze_and_a_shorter_one_is_not() {
        // At 15 fps the threshold is max(3 × 66, 66 + 150) = 216 ms.
        let mut stats = RenderStats::new();
        render(&mut stats, (0..31).map(|i| i * 66));
        render(&mut stats, [30 * 66 + 200]);
        assert_eq!(stats.snapshot(0).freeze_count, 0, "200 ms is under the threshold");
        let mut stats = RenderStats::new();
        render(&mut stats, (0..31).map(|i| i * 66));
        render(&mut stats, [30 * 66 + 400, 30 * 66 + 466]);
        let snapshot = stats.snapshot(0);
        assert_eq!((snapshot.freeze_count, snapshot.total_freeze_ms), (1, 400));
    }

    #[test]
    fn at_30_fps_a_gap_needs_the_extra_150_ms() {
        // At 30 fps 3 × 33 = 100 ms is less than 33 + 150 = 183 ms.
        let mut stats = RenderStats::new();
        render(&mut stats, (0..31).map(|i| i * 33));
        render(&mut stats, [30 * 33 + 150]);
        assert_eq!(stats.snapshot(0).freeze_count, 0);
        render(&mut stats, [30 * 33 + 150 + 190]);
        assert_eq!(stats.snapshot(0).freeze_count, 1);
    }
}
