//! Duet's media engine: video sources, codecs and the audio building blocks.
//!
//! - [`VideoSource`]: [`CameraSource`] (nokhwa), [`SyntheticSource`] (a moving pattern whose frames carry
//!   their counter and capture time, see [`stamp`]) and [`Y4mSource`].
//! - [`H264Encoder`] / [`H264Decoder`] (OpenH264) with the seed's default settings.
//! - [`VideoSender`]: source → per-frame processing hook → preview + encoder.
//! - [`RenderStats`]: frame rate, resolution and freezes as the viewer saw them.
//! - [`audio`]: microphones and speakers (cpal), Opus with concealment and FEC, the
//!   jitter buffer and the mixer, tones and a tone detector.

pub mod audio;
mod camera;
mod error;
mod h264;
mod pipeline;
mod render_stats;
mod source;
pub mod stamp;
mod watch;
mod y4m;

pub use camera::{CameraInfo, CameraSource, cameras};
pub use duet_frame::{FrameProcessor, I420Frame};
pub use error::{Device, Error, Result};
pub use h264::{EncodedFrame, EncoderSettings, H264Decoder, H264Encoder, MIN_VIDEO_BITRATE_BPS};
pub use pipeline::{Captured, VideoSender};
pub use render_stats::{RenderSnapshot, RenderStats};
pub use source::{SyntheticSource, VideoFormat, VideoSource, capture_clock_us};
pub use watch::{DeviceList, DeviceWatcher};
pub use y4m::{Y4mSource, Y4mWriter};
