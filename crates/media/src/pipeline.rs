//! The sending side of a call's video, up to the encoder: source → per-frame
//! processing (the beauty filter) → local preview and encoder.

use duet_frame::{FrameProcessor, I420Frame};

use crate::{EncodedFrame, EncoderSettings, H264Encoder, Result, VideoSource};

/// What one captured frame became.
pub struct Captured {
    /// The processed frame, as the local preview shows it.
    pub preview: I420Frame,
    /// What goes on the wire (`None` when rate control skipped the frame).
    pub encoded: Option<EncodedFrame>,
}

pub struct VideoSender {
    source: Box<dyn VideoSource>,
    processor: Option<Box<dyn FrameProcessor>>,
    encoder: H264Encoder,
}

impl VideoSender {
    pub fn new(source: Box<dyn VideoSource>, encoder: H264Encoder) -> Self {
        Self { source, processor: None, encoder }
    }

    /// Every frame passes through `processor` before preview and encode
    /// (seed 000's `onProcessVideoFrame`).
    pub fn set_processor(&mut self, processor: Option<Box<dyn FrameProcessor>>) {
        self.processor = processor;
    }

    /// Switches to another source (another camera) between two frames. A
    /// source of another size gets an encoder of that size; the next frame is
    /// a keyframe either way.
    pub fn set_source(&mut self, source: Box<dyn VideoSource>) -> Result<()> {
        let format = source.format();
        let settings = self.encoder.settings();
        if (format.width, format.height) != (settings.width, settings.height) {
            let resized = EncoderSettings {
                width: format.width,
                height: format.height,
                fps: format.fps,
                bitrate_bps: self.encoder.max_bitrate_bps(),
            };
            // At the rate the network allows now, not the full one.
            self.encoder = H264Encoder::starting_at(resized, settings.bitrate_bps)?;
        }
        self.source = source;
        self.encoder.request_keyframe();
        Ok(())
    }

    /// The video bitrate to aim at from the next frame (the network's estimate).
    pub fn set_bitrate(&mut self, bps: u32) {
        self.encoder.set_bitrate(bps);
    }

    /// The encoder's current target bitrate.
    pub fn bitrate_bps(&self) -> u32 {
        self.encoder.settings().bitrate_bps
    }

    /// The peer asked for a keyframe (PLI/FIR).
    pub fn request_keyframe(&mut self) {
        self.encoder.request_keyframe();
    }

    /// Captures, processes and encodes the next frame.
    pub fn capture(&mut self) -> Result<Captured> {
        let mut frame = self.source.next_frame()?;
        if let Some(processor) = &mut self.processor {
            processor.process(&mut frame);
        }
        let encoded = self.encoder.encode(&frame)?;
        Ok(Captured { preview: frame, encoded })
    }
}
