//! A frame's identity written into its pixels: a frame counter and the capture
//! time as big black and white luma blocks along the top of the picture, with a
//! check word. Blocks of 4–16 pixels survive lossy H.264 at call bitrates, so a
//! receiver can tell exactly which frame it decoded and when it was captured
//! (the glass-to-glass measure).

use duet_frame::I420Frame;

/// Bits: 32 counter + 48 capture time (µs, modulo 2^48) + 16 check.
const BITS: usize = 96;
const DARK: u8 = 32;
const LIGHT: u8 = 224;

/// What a frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub counter: u32,
    /// Capture time in µs since the Unix epoch, modulo 2^48 (about 8.9 years).
    pub captured_us: u64,
}

impl Stamp {
    const TIME_MASK: u64 = (1 << 48) - 1;

    /// How long ago the frame was captured, given the time now in µs since the
    /// Unix epoch (see [`crate::capture_clock_us`]; same machine or synchronised clocks).
    pub fn age_us(&self, now_us: u64) -> u64 {
        (now_us & Self::TIME_MASK).wrapping_sub(self.captured_us) & Self::TIME_MASK
    }

    fn bits(&self) -> u128 {
        let payload = u128::from(self.counter) | u128::from(self.captured_us & Self::TIME_MASK) << 32;
        payload | u128::from(check(payload)) << 80
    }
}

fn check(payload: u128) -> u16 {
    // Folded multiplicative hash: one wrong block changes it.
    let mixed = (payload as u64 ^ (payload >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 48) as u16
}

/// Side of one bit's block for a frame of this width, or `None` if too narrow.
fn block(width: u32) -> Option<usize> {
    let side = (width as usize / 48).min(16) & !1;
    (side >= 4).then_some(side)
}

/// Rows of pixels the stamp covers at the top of a frame of this width.
pub fn stamp_height(width: u32) -> usize {
    block(width).map_or(0, |b| BITS.div_ceil(width as usize / b) * b)
}

/// Writes `stamp` into the top of `frame`. Frames narrower than 192 pixels or
/// too short for the stamp are left alone (returns false).
pub fn write(frame: &mut I420Frame, stamp: Stamp) -> bool {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let Some(b) = block(frame.width()) else { return false };
    if stamp_height(frame.width()) > h {
        return false;
    }
    let per_row = w / b;
    let bits = stamp.bits();
    let cw = frame.chroma_width() as usize;
    let (y, u, v) = frame.planes_mut();
    for bit in 0..BITS {
        let (bx, by) = ((bit % per_row) * b, (bit / per_row) * b);
        let value = if bits >> bit & 1 == 1 { LIGHT } else { DARK };
        for row in by..by + b {
            y[row * w + bx..][..b].fill(value);
        }
        for row in by / 2..(by + b) / 2 {
            u[row * cw + bx / 2..][..b / 2].fill(128);
            v[row * cw + bx / 2..][..b / 2].fill(128);
        }
    }
    true
}

/// Reads the stamp back, or `None` when there is none or it was damaged.
pub fn read(frame: &I420Frame) -> Option<Stamp> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let b = block(frame.width())?;
    if stamp_height(frame.width()) > h {
        return None;
    }
    let per_row = w / b;
    let y = frame.y();
    let mut bits = 0u128;
    for bit in 0..BITS {
        let (bx, by) = ((bit % per_row) * b, (bit / per_row) * b);
        // The block's centre half: its edges blur into the neighbours.
        let (lo, hi) = (b / 4, b - b / 4);
        let mut sum = 0u32;
        for row in by + lo..by + hi {
            sum += y[row * w + bx + lo..row * w + bx + hi].iter().map(|&p| u32::from(p)).sum::<u32>();
        }
        let mean = sum / ((hi - lo) * (hi - lo)) as u32;
        if mean > (u32::from(DARK) + u32::from(LIGHT)) / 2 {
            bits |= 1 << bit;
        }
    }
    let payload = bits & ((1u128 << 80) - 1);
    if (bits >> 80) as u16 != check(payload) {
        return None;
    }
    Some(Stamp { counter: payload as u32, captured_us: (payload >> 32) as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_exactly() {
        let mut frame = I420Frame::black(320, 180).unwrap();
        let stamp = Stamp { counter: 0xdead_beef, captured_us: 1_764_000_000_123_456 & Stamp::TIME_MASK };
        assert_eq!(stamp.age_us(1_764_000_000_133_456), 10_000);
        assert!(write(&mut frame, stamp));
        assert_eq!(read(&frame), Some(stamp));
    }

    #[test]
    fn a_damaged_stamp_is_refused() {
        let mut frame = I420Frame::black(640, 360).unwrap();
        write(&mut frame, Stamp { counter: 7, captured_us: 99 });
        // Flip the first bit's block.
        let (y, _, _) = frame.planes_mut();
        for row in 0..13 {
            y[row * 640..row * 640 + 13].fill(DARK);
        }
        assert_eq!(read(&frame), None);
    }

    #[test]
    fn narrow_frames_carry_no_stamp() {
        let mut frame = I420Frame::black(160, 120).unwrap();
        assert!(!write(&mut frame, Stamp { counter: 1, captured_us: 1 }));
        assert_eq!(read(&frame), None);
    }
}
