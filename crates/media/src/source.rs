//! Where video frames come from: cameras (`camera.rs`, behind the same trait), a
//! synthetic moving pattern that stamps every frame, and Y4M files.

use std::time::{SystemTime, UNIX_EPOCH};

use duet_frame::I420Frame;

use crate::stamp::{self, Stamp};
use crate::{Error, Result};

/// The size and rate a source delivers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: f32,
}

impl VideoFormat {
    /// The seed's default call format: 960x540 at 15 fps.
    pub const DEFAULT: VideoFormat = VideoFormat { width: 960, height: 540, fps: 15.0 };
    pub const HD: VideoFormat = VideoFormat { width: 1280, height: 720, fps: 30.0 };
}

/// A source of I420 frames. The caller paces the calls at the format's rate.
pub trait VideoSource: Send {
    fn format(&self) -> VideoFormat;
    /// The next frame, its `timestamp_us` set to the capture time.
    fn next_frame(&mut self) -> Result<I420Frame>;
}

/// Capture time: µs since the Unix epoch, one clock for every process on the
/// machine (so sender and receiver on one host can measure glass to glass).
pub fn capture_clock_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A moving pattern (a panning background and a travelling square, so the
/// encoder sees motion) with every frame's counter and capture time stamped into the top rows.
pub struct SyntheticSource {
    format: VideoFormat,
    counter: u32,
    frame_clock: bool,
}

impl SyntheticSource {
    pub fn new(format: VideoFormat) -> Result<Self> {
        if format.width < 192 || (stamp::stamp_height(format.width) as u32) * 2 > format.height {
            return Err(Error::InvalidSource(format!(
                "a synthetic source needs at least 192x{} pixels, got {}x{}",
                stamp::stamp_height(192) * 2,
                format.width,
                format.height
            )));
        }
        Ok(Self { format, counter: 0, frame_clock: false })
    }

    /// The same pattern with its frame counter (and stamps) counted from `counter`.
    pub fn starting_at(mut self, counter: u32) -> Self {
        self.counter = counter;
        self
    }

    /// The same pattern with its timestamps (and stamps) counted from the first
    /// frame at the format's rate, 0, 1/fps, 2/fps..., instead of read from the
    /// clock: frames made faster than real time then reach an encoder spaced as in
    /// a call (its rate control budgets by timestamp).
    pub fn with_frame_clock(mut self) -> Self {
        self.frame_clock = true;
        self
    }
}

impl VideoSource for SyntheticSource {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<I420Frame> {
        let VideoFormat { width, height, .. } = self.format;
        let mut frame = I420Frame::black(width, height).expect("checked in new");
        let n = self.counter as usize;
        let (w, h) = (width as usize, height as usize);
        let cw = frame.chroma_width() as usize;
        let (y, u, v) = frame.planes_mut();
        // The background pans 2 px per frame: content a camera could see, which
        // motion search follows (a pattern that changes everywhere would
        // measure the rate control, not the call).
        let pan = 2 * n;
        let wave = |t: usize| (t % 256).abs_diff(128) as u8; // 0..=128, triangle
        for (row, line) in y.chunks_exact_mut(w).enumerate() {
            let shade = (row * 60 / h) as u8;
            for (x, p) in line.iter_mut().enumerate() {
                *p = 40 + shade + wave(x + pan) / 2 + wave(3 * row + x / 2 + pan) / 4;
            }
        }
        // A bright square crossing the picture.
        let side = h / 5;
        let sx = (n * 4) % (w - side);
        let sy = h / 2 - side / 2;
        for row in sy..sy + side {
            y[row * w + sx..][..side].fill(210);
        }
        for (row, (ul, vl)) in u.chunks_exact_mut(cw).zip(v.chunks_exact_mut(cw)).enumerate() {
            for (x, (cb, cr)) in ul.iter_mut().zip(vl.iter_mut()).enumerate() {
                *cb = 96 + wave(2 * x + pan) / 4;
                *cr = 100 + wave(2 * row + 2 * x + pan) / 5;
            }
        }
        frame.timestamp_us = if self.frame_clock {
            (f64::from(self.counter) * 1e6 / f64::from(self.format.fps)) as u64
        } else {
            capture_clock_us()
        };
        let stamp = Stamp { counter: self.counter, captured_us: frame.timestamp_us };
        stamp::write(&mut frame, stamp);
        self.counter = self.counter.wrapping_add(1);
        Ok(frame)
    }
}
