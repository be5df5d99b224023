//! Levels as meters show them.

/// A peak amplitude (0–1 of full scale) on a 0–100 meter: 60 dB of range,
/// -60 dBFS and below read 0, full scale reads 100.
pub fn level(peak: f32) -> u8 {
    if peak <= 0.0 {
        return 0;
    }
    let db = 20.0 * peak.min(1.0).log10();
    ((db + 60.0) / 60.0 * 100.0).clamp(0.0, 100.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::level;

    #[test]
    fn silence_reads_zero_and_full_scale_a_hundred() {
        assert_eq!(level(0.0), 0);
        assert_eq!(level(0.0005), 0, "-66 dBFS is below the meter");
        assert_eq!(level(0.001), 0);
        assert_eq!(level(0.5), 90, "-6 dBFS");
        assert_eq!(level(1.0), 100);
        assert_eq!(level(3.0), 100, "overs are clipped");
        assert!(level(0.01) < level(0.1) && level(0.1) < level(0.5));
    }
}
