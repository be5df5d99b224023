//! The time budget of the per-frame hook, without I/O: fed with how long each
//! frame took, it says when to lower the [`Tier`].

use std::time::Duration;

use crate::Tier;

/// Frames averaged before a decision.
pub const WINDOW: u32 = 30;

/// Allows the filter half the frame interval on average over [`WINDOW`] frames;
/// beyond that it lowers the tier one step and starts a new window.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: Duration,
    spent: Duration,
    frames: u32,
    last_average: Duration,
    tier: Tier,
}

impl Budget {
    pub fn for_frame_rate(fps: u32) -> Self {
        Self {
            limit: Duration::from_secs(1) / fps.max(1) / 2,
            spent: Duration::ZERO,
            frames: 0,
            last_average: Duration::ZERO,
            tier: Tier::Full,
        }
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// Average time per frame over the last complete window.
    pub fn last_average(&self) -> Duration {
        self.last_average
    }

    /// Records one frame; returns the new tier when this frame closed a window
    /// that was over budget.
    pub fn record(&mut self, took: Duration) -> Option<Tier> {
        self.spent += took;
        self.frames += 1;
        if self.frames < WINDOW {
            return None;
        }
        self.last_average = self.spent / self.frames;
        self.spent = Duration::ZERO;
        self.frames = 0;
        if self.last_average <= self.limit {
            return None;
        }
        self.tier = self.tier.lower()?;
        Some(self.tier)
    }

    /// Starts again at the full tier (a new frame size changes the cost).
    pub fn reset(&mut self) {
        *self = Self { limit: self.limit, ..Self::for_frame_rate(1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(budget: &mut Budget, each: Duration) -> Option<Tier> {
        (0..WINDOW).map(|_| budget.record(each)).last().flatten()
    }

    #[test]
    fn half_the_frame_interval_is_allowed() {
        assert_eq!(Budget::for_frame_rate(15).limit(), Duration::from_nanos(33_333_333));
        assert_eq!(Budget::for_frame_rate(30).limit(), Duration::from_nanos(16_666_666));
    }

    #[test]
    fn a_slow_window_lowers_the_tier_one_step_at_a_time() {
        let mut budget = Budget::for_frame_rate(30);
        assert_eq!(window(&mut budget, Duration::from_millis(10)), None);
        assert_eq!(budget.tier(), Tier::Full);
        assert_eq!(window(&mut budget, Duration::from_millis(20)), Some(Tier::Reduced));
        assert_eq!(budget.last_average(), Duration::from_millis(20));
        assert_eq!(window(&mut budget, Duration::from_millis(20)), Some(Tier::Minimal));
        assert_eq!(window(&mut budget, Duration::from_millis(20)), None);
        assert_eq!(budget.tier(), Tier::Minimal);
    }

    #[test]
    fn single_slow_frames_are_averaged_out() {
        let mut budget = Budget::for_frame_rate(30);
        budget.record(Duration::from_millis(100));
        assert_eq!(window(&mut budget, Duration::from_millis(5)), None);
        assert_eq!(budget.tier(), Tier::Full);
    }

    #[test]
    fn reset_returns_to_the_full_tier_and_keeps_the_limit() {
        let mut budget = Budget::for_frame_rate(30);
        window(&mut budget, Duration::from_millis(30));
        budget.reset();
        assert_eq!((budget.tier(), budget.limit()), (Tier::Full, Duration::from_nanos(16_666_666)));
    }
}
