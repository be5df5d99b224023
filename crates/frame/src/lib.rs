//! The raw video frame that flows through Duet's media pipeline, and the hook
//! through which every captured frame passes before preview and encode
//! (seed 000's `onProcessVideoFrame`).
//!
//! Frames are I420 (planar Y, then U and V at half resolution, rounded up),
//! stored contiguously: the format the H.264 encoder takes and the decoder gives,
//! so nothing between capture and the wire converts colours on the CPU.

use std::fmt;

pub mod sequence;

/// Why a frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("a frame needs a width and height of at least 1 pixel, got {width}x{height}")]
    EmptySize { width: u32, height: u32 },
    #[error("an I420 frame of {width}x{height} needs {expected} bytes, got {actual}")]
    WrongLength { width: u32, height: u32, expected: usize, actual: usize },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Bytes of an I420 frame of this size: a full-resolution Y plane and two chroma
/// planes of `ceil(width / 2) x ceil(height / 2)`.
pub fn i420_len(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * w.div_ceil(2) * h.div_ceil(2)
}

/// One I420 video frame. Any size of at least 1x1 is valid, odd ones included.
#[derive(Clone, PartialEq, Eq)]
pub struct I420Frame {
    width: u32,
    height: u32,
    /// Capture time in microseconds, carried unchanged through processing.
    pub timestamp_us: u64,
    data: Vec<u8>,
}

impl I420Frame {
    /// A black frame.
    pub fn black(width: u32, height: u32) -> Result<Self> {
        check_size(width, height)?;
        let luma = width as usize * height as usize;
        let mut data = vec![128; i420_len(width, height)];
        data[..luma].fill(16);
        Ok(Self { width, height, timestamp_us: 0, data })
    }

    /// Wraps I420 bytes laid out as Y, U, V without padding.
    pub fn from_bytes(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        check_size(width, height)?;
        let expected = i420_len(width, height);
        if data.len() != expected {
            return Err(Error::WrongLength { width, height, expected, actual: data.len() });
        }
        Ok(Self { width, height, timestamp_us: 0, data })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Width of the U and V planes.
    pub fn chroma_width(&self) -> u32 {
        self.width.div_ceil(2)
    }

    /// Height of the U and V planes.
    pub fn chroma_height(&self) -> u32 {
        self.height.div_ceil(2)
    }

    /// The whole frame: Y, then U, then V.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    pub fn u(&self) -> &[u8] {
        let (luma, chroma) = (self.luma_len(), self.chroma_len());
        &self.data[luma..luma + chroma]
    }

    pub fn v(&self) -> &[u8] {
        let (luma, chroma) = (self.luma_len(), self.chroma_len());
        &self.data[luma + chroma..]
    }

    /// The three planes, mutably, at once.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (luma, chroma) = (self.luma_len(), self.chroma_len());
        let (y, uv) = self.data.split_at_mut(luma);
        let (u, v) = uv.split_at_mut(chroma);
        (y, u, v)
    }

    fn luma_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    fn chroma_len(&self) -> usize {
        self.chroma_width() as usize * self.chroma_height() as usize
    }
}

impl fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("I420Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("timestamp_us", &self.timestamp_us)
            .finish_non_exhaustive()
    }
}

fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::EmptySize { width, height });
    }
    Ok(())
}

/// A step every captured frame passes through, in place, before it is shown in
/// the local preview and handed to the encoder. It runs on the capture thread,
/// so it must finish well within the frame interval.
pub trait FrameProcessor: Send {
    fn process(&mut self, frame: &mut I420Frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_sizes_round_chroma_up() {
        let frame = I420Frame::black(5, 3).unwrap();
        assert_eq!((frame.chroma_width(), frame.chroma_height()), (3, 2));
        assert_eq!(frame.as_bytes().len(), 15 + 2 * 6);
        assert_eq!((frame.y().len(), frame.u().len(), frame.v().len()), (15, 6, 6));
    }

    #[test]
    fn wrong_lengths_and_empty_sizes_are_refused() {
        assert_eq!(
            I420Frame::from_bytes(4, 4, vec![0; 10]),
            Err(Error::WrongLength { width: 4, height: 4, expected: 24, actual: 10 })
        );
        assert_eq!(I420Frame::black(0, 4), Err(Error::EmptySize { width: 0, height: 4 }));
    }

    #[test]
    fn planes_split_where_the_accessors_say() {
        let mut frame = I420Frame::from_bytes(2, 2, (0..6).collect()).unwrap();
        let (y, u, v) = frame.planes_mut();
        assert_eq!((y.len(), u, v), (4, &mut [4][..], &mut [5][..]));
    }
}
