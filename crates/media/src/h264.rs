//! H.264 through Cisco's OpenH264: the encoder for the outgoing camera and the
//! decoder for the peer's video. Annex B byte streams in and out.

use duet_frame::I420Frame;
use openh264::OpenH264API;
use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;

use crate::{Error, Result};

/// What the encoder produces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderSettings {
    pub width: u32,
    pub height: u32,
    pub fps: f32,
    pub bitrate_bps: u32,
}

impl EncoderSettings {
    /// The seed's default: 960x540, 15 fps, 850 kbps.
    pub const DEFAULT: EncoderSettings = EncoderSettings { width: 960, height: 540, fps: 15.0, bitrate_bps: 850_000 };
    /// 1280x720 at 30 fps.
    pub const HD: EncoderSettings = EncoderSettings { width: 1280, height: 720, fps: 30.0, bitrate_bps: 1_700_000 };

    /// Frames from one keyframe to the next when none is asked for: ten seconds,
    /// so a lost request heals.
    pub fn keyframe_period(&self) -> u32 {
        (self.fps * 10.0) as u32
    }
}

/// One encoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// Annex B NAL units (start codes included).
    pub data: Vec<u8>,
    /// An IDR picture: decodable on its own.
    pub keyframe: bool,
    pub timestamp_us: u64,
}

/// The lowest video bitrate the encoder is asked for, whatever the network
/// estimate: below it a picture is not worth sending at these sizes.
pub const MIN_VIDEO_BITRATE_BPS: u32 = 100_000;

pub struct H264Encoder {
    inner: Encoder,
    settings: EncoderSettings,
    /// The bitrate it was created with: the most it will be asked for.
    max_bitrate_bps: u32,
    keyframe_requested: bool,
    /// OpenH264 sets itself up on the first frame; a bitrate change made
    /// before that waits here.
    started: bool,
    pending_ceiling: bool,
    pending_bitrate: Option<u32>,
}

impl H264Encoder {
    /// One thread: calls run one encoder per direction on a 2-core budget.
    pub fn new(settings: EncoderSettings) -> Result<Self> {
        Self::starting_at(settings, settings.bitrate_bps)
    }

    /// An encoder for `settings` whose first frames aim at `start_bps` (a call
    /// starts below its full rate until the network has shown what it carries);
    /// `set_bitrate` may raise it up to `settings.bitrate_bps`.
    pub fn starting_at(settings: EncoderSettings, start_bps: u32) -> Result<Self> {
        if settings.width % 2 == 1 || settings.height % 2 == 1 {
            return Err(Error::OddFrameSize { width: settings.width, height: settings.height });
        }
        let max_bitrate_bps = settings.bitrate_bps;
        let start_bps = start_bps.clamp(MIN_VIDEO_BITRATE_BPS.min(max_bitrate_bps), max_bitrate_bps);
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(start_bps))
            .max_frame_rate(FrameRate::from_hz(settings.fps))
            // OpenH264 only holds the bitrate when it may skip frames; a skipped
            // frame comes back as `None` from `encode`.
            .skip_frames(true)
            .intra_frame_period(IntraFramePeriod::from_num_frames(settings.keyframe_period()))
            // Low complexity: 20% less time a frame than the default (medium)
            // at the same bitrate, measured frame by frame against it.
            .complexity(Complexity::Low)
            .num_threads(1);
        let inner =
            Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| Error::H264(e.to_string()))?;
        Ok(Self {
            inner,
            settings: EncoderSettings { bitrate_bps: start_bps, ..settings },
            max_bitrate_bps,
            keyframe_requested: false,
            started: false,
            // OpenH264 takes the first bitrate as its ceiling too: the real one is
            // set once it has started.
            pending_ceiling: start_bps < max_bitrate_bps,
            pending_bitrate: None,
        })
    }

    /// The size and rate it was set up for; `bitrate_bps` is the current target.
    pub fn settings(&self) -> EncoderSettings {
        self.settings
    }

    /// The bitrate it was created with, the ceiling of `set_bitrate`.
    pub fn max_bitrate_bps(&self) -> u32 {
        self.max_bitrate_bps
    }

    /// Changes the target bitrate from the next frame on (the network's
    /// estimate moved). Held within `MIN_VIDEO_BITRATE_BPS` and the bitrate the
    /// encoder was created with.
    pub fn set_bitrate(&mut self, bps: u32) {
        self.settings.bitrate_bps = bps.clamp(MIN_VIDEO_BITRATE_BPS, self.max_bitrate_bps.max(MIN_VIDEO_BITRATE_BPS));
        self.pending_bitrate = Some(self.settings.bitrate_bps);
    }

    fn apply_bitrate(&mut self, bps: u32) -> Result<()> {
        self.set_rate_option(openh264_sys2::ENCODER_OPTION_BITRATE, openh264_sys2::SPATIAL_LAYER_ALL, bps)
    }

    /// Lets the bitrate rise to `max_bitrate_bps`: the whole stream's ceiling
    /// and its one layer's, which OpenH264 checks a new bitrate against.
    fn apply_ceiling(&mut self) -> Result<()> {
        for layer in [openh264_sys2::SPATIAL_LAYER_ALL, openh264_sys2::SPATIAL_LAYER_0] {
            self.set_rate_option(openh264_sys2::ENCODER_OPTION_MAX_BITRATE, layer, self.max_bitrate_bps)?;
        }
        Ok(())
    }

    #[allow(unsafe_code)]
    fn set_rate_option(
        &mut self,
        option: openh264_sys2::ENCODER_OPTION,
        layer: openh264_sys2::LAYER_NUM,
        bps: u32,
    ) -> Result<()> {
        let mut info = openh264_sys2::SBitrateInfo { iLayer: layer, iBitrate: bps as i32 };
        // SAFETY: the encoder is initialised (it has encoded a frame), and both
        // bitrate options read one `SBitrateInfo`, which lives across the call.
        let code = unsafe { self.inner.raw_api().set_option(option, (&raw mut info).cast()) };
        if code != 0 {
            return Err(Error::H264(format!("the encoder refused a bitrate of {bps} bps (code {code})")));
        }
        Ok(())
    }

    /// The next frame will be a keyframe (the peer sent PLI or FIR).
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Encodes one frame; `None` when rate control skipped it (nothing to send).
    pub fn encode(&mut self, frame: &I420Frame) -> Result<Option<EncodedFrame>> {
        if (frame.width(), frame.height()) != (self.settings.width, self.settings.height) {
            return Err(Error::H264(format!(
                "frame is {}x{}, the encoder was set up for {}x{}",
                frame.width(),
                frame.height(),
                self.settings.width,
                self.settings.height
            )));
        }
        if self.started && std::mem::take(&mut self.pending_ceiling) {
            self.apply_ceiling()?;
        }
        if self.started
            && let Some(bps) = self.pending_bitrate.take()
        {
            self.apply_bitrate(bps)?;
        }
        if std::mem::take(&mut self.keyframe_requested) {
            self.inner.force_intra_frame();
        }
        let stream = self
            .inner
            .encode_at(&Planes(frame), openh264::Timestamp::from_millis(frame.timestamp_us / 1000))
            .map_err(|e| Error::H264(e.to_string()))?;
        self.started = true;
        if matches!(stream.frame_type(), FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        Ok(Some(EncodedFrame {
            keyframe: matches!(stream.frame_type(), FrameType::IDR),
            data: stream.to_vec(),
            timestamp_us: frame.timestamp_us,
        }))
    }
}

/// An `I420Frame` as OpenH264 reads it.
struct Planes<'a>(&'a I420Frame);

impl YUVSource for Planes<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let cw = self.0.chroma_width() as usize;
        (self.0.width() as usize, cw, cw)
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

pub struct H264Decoder {
    inner: Decoder,
}

impl H264Decoder {
    pub fn new() -> Result<Self> {
        let inner = Decoder::new().map_err(|e| Error::H264(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Decodes one access unit; `None` while the decoder still waits for a
    /// picture it can show (before the first keyframe, for instance).
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<I420Frame>> {
        let Some(yuv) = self.inner.decode(data).map_err(|e| Error::H264(e.to_string()))? else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut bytes = Vec::with_capacity(w * h + 2 * cw * ch);
        for (plane, stride, width, rows) in [(yuv.y(), sy, w, h), (yuv.u(), su, cw, ch), (yuv.v(), sv, cw, ch)] {
            for row in plane.chunks(stride).take(rows) {
                bytes.extend_from_slice(&row[..width]);
            }
        }
        I420Frame::from_bytes(w as u32, h as u32, bytes).map(Some).map_err(|e| Error::H264(e.to_string()))
    }
}
