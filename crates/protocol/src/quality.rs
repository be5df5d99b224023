//! Network quality on seed 004's scale, shared by calls (sent to the peer) and
//! the speed test.

/// 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad, 6 down.
pub type Quality = u8;

pub const UNKNOWN: Quality = 0;
pub const DOWN: Quality = 6;

/// Grades a link. Each measure gives a grade and the worst one wins: loss (1%,
/// 3%, 8%, 15%), RTT (100, 200, 400, 800 ms) and jitter (20, 40, 80, 160 ms)
/// mark the steps from excellent (1) to very bad (5).
pub fn grade(loss: f64, rtt_ms: f64, jitter_ms: f64) -> Quality {
    let grade = |value: f64, steps: [f64; 4]| 1 + steps.iter().filter(|step| value >= **step).count() as Quality;
    grade(loss, [0.01, 0.03, 0.08, 0.15])
        .max(grade(rtt_ms, [100.0, 200.0, 400.0, 800.0]))
        .max(grade(jitter_ms, [20.0, 40.0, 80.0, 160.0]))
}

/// The quality's name, for people.
pub fn describe(quality: Quality) -> &'static str {
    match quality {
        1 => "excellent",
        2 => "good",
        3 => "poor",
        4 => "bad",
        5 => "very bad",
        6 => "down",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_fast_link_is_excellent() {
        assert_eq!(grade(0.0, 20.0, 2.0), 1);
    }

    #[test]
    fn the_worst_measure_decides() {
        assert_eq!(grade(0.0, 150.0, 2.0), 2);
        assert_eq!(grade(0.05, 20.0, 2.0), 3);
        assert_eq!(grade(0.0, 20.0, 100.0), 4);
        assert_eq!(grade(0.2, 900.0, 2.0), 5);
    }
}
