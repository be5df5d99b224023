//! RTP's 16-bit sequence numbers, unwrapped into a count that never wraps, so
//! order and gaps can be compared across the wrap at 65535.

/// Extends sequence numbers against the highest one seen so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SequenceUnwrapper {
    highest: Option<u64>,
}

impl SequenceUnwrapper {
    pub fn new() -> SequenceUnwrapper {
        SequenceUnwrapper::default()
    }

    /// The extended number of `seq`: the one nearest to the highest seen
    /// (a packet 0x8000 or more behind counts as ahead). The first one starts
    /// at 65536 + `seq`, so a late packet from before it stays positive.
    pub fn extend(&mut self, seq: u16) -> u64 {
        let extended = match self.highest {
            None => (1 << 16) + u64::from(seq),
            Some(highest) => {
                let delta = i64::from(seq.wrapping_sub(highest as u16) as i16);
                (highest as i64 + delta).max(0) as u64
            }
        };
        if self.highest.is_none_or(|h| extended > h) {
            self.highest = Some(extended);
        }
        extended
    }

    /// The highest extended number seen.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_counting_across_the_wrap_and_late_ones_fall_behind() {
        let mut seq = SequenceUnwrapper::new();
        let first = seq.extend(65534);
        assert_eq!(seq.extend(65535), first + 1);
        assert_eq!(seq.extend(0), first + 2, "wrapped");
        assert_eq!(seq.extend(1), first + 3);
        assert_eq!(seq.extend(65535), first + 1, "a late one from before the wrap");
        assert_eq!(seq.highest(), Some(first + 3));
    }
}
