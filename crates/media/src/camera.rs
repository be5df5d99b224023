//! Cameras through nokhwa (V4L2, Media Foundation, AVFoundation).
//!
//! A camera runs on a thread of its own (nokhwa's handles are not `Send`):
//! it negotiates the format closest to the one asked for, converts each frame
//! to I420 and hands it over, keeping only the newest so a slow consumer never
//! sees stale video.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use duet_frame::I420Frame;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use nokhwa::{Buffer, Camera, NokhwaError};

use crate::{Device, Error, Result, VideoFormat, VideoSource, capture_clock_us};

/// How long a running camera may go without a frame before it counts as failed.
const FRAME_TIMEOUT: Duration = Duration::from_secs(3);

/// A camera as the user picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// What to open it by: the system's index or path.
    pub id: String,
    pub name: String,
}

/// The cameras present now.
pub fn cameras() -> Result<Vec<CameraInfo>> {
    let found = nokhwa::query(ApiBackend::Auto).map_err(|e| Error::CameraStart(e.to_string()))?;
    Ok(found.iter().map(|c| CameraInfo { id: index_name(c.index()), name: c.human_name() }).collect())
}

fn index_name(index: &CameraIndex) -> String {
    match index {
        CameraIndex::Index(i) => i.to_string(),
        CameraIndex::String(s) => s.clone(),
    }
}

/// The seed's camera error cases from what the platform said.
fn open_error(error: &NokhwaError) -> Error {
    let text = error.to_string();
    let lower = text.to_lowercase();
    if lower.contains("permission denied") || lower.contains("not authorized") || lower.contains("access denied") {
        Error::NotAuthorized(Device::Camera)
    } else if lower.contains("busy") || lower.contains("in use") {
        Error::Occupied(Device::Camera)
    } else {
        Error::CameraStart(text)
    }
}

/// A running camera. Dropping it stops capture.
pub struct CameraSource {
    pub camera: CameraInfo,
    format: VideoFormat,
    frames: mpsc::Receiver<Result<I420Frame>>,
    stop: Arc<AtomicBool>,
}

impl CameraSource {
    /// Opens the camera `name` (its id or its name) or the first one, asking
    /// for the format closest to `wanted`.
    pub fn open(name: Option<&str>, wanted: VideoFormat) -> Result<Self> {
        let list = cameras()?;
        let camera = match name {
            None => list.first().cloned().ok_or(Error::NotFound(Device::Camera))?,
            Some(name) => {
                list.iter().find(|c| c.id == name || c.name == name).cloned().ok_or_else(|| Error::NoSuchDevice {
                    device: Device::Camera,
                    name: name.to_owned(),
                    available: list.iter().map(|c| c.name.clone()).collect(),
                })?
            }
        };
        let (opened_tx, opened) = mpsc::channel();
        let (frames_tx, frames) = mpsc::sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let id = camera.id.clone();
        std::thread::Builder::new()
            .name("duet-camera".into())
            .spawn(move || capture(&id, wanted, opened_tx, frames_tx, &stopped))
            .map_err(|e| Error::CameraStart(e.to_string()))?;
        let format = opened.recv().map_err(|_| Error::CameraStart("the camera thread stopped".into()))??;
        Ok(Self { camera, format, frames, stop })
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl VideoSource for CameraSource {
    /// The negotiated format (its size made even for H.264).
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<I420Frame> {
        match self.frames.recv_timeout(FRAME_TIMEOUT) {
            Ok(frame) => frame,
            Err(_) => Err(Error::CameraStart(format!("the camera sent no frame for {} s", FRAME_TIMEOUT.as_secs()))),
        }
    }
}

fn capture(
    id: &str,
    wanted: VideoFormat,
    opened: mpsc::Sender<Result<VideoFormat>>,
    frames: mpsc::SyncSender<Result<I420Frame>>,
    stop: &AtomicBool,
) {
    let index = id.parse().map(CameraIndex::Index).unwrap_or_else(|_| CameraIndex::String(id.to_owned()));
    let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(CameraFormat::new(
        Resolution::new(wanted.width, wanted.height),
        FrameFormat::MJPEG,
        wanted.fps.round() as u32,
    )));
    let mut camera = match Camera::new(index, requested).and_then(|mut c| c.open_stream().map(|()| c)) {
        Ok(camera) => camera,
        Err(e) => {
            let _ = opened.send(Err(open_error(&e)));
            return;
        }
    };
    let negotiated = camera.camera_format();
    let format = VideoFormat {
        width: negotiated.resolution().width() & !1,
        height: negotiated.resolution().height() & !1,
        fps: negotiated.frame_rate() as f32,
    };
    if opened.send(Ok(format)).is_err() {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let frame = camera.frame().map_err(|e| open_error(&e)).and_then(|buffer| to_i420(&buffer, format));
        let failed = frame.is_err();
        match frames.try_send(frame) {
            // The consumer has not taken the last frame: this one is dropped, the newest wins next time.
            Ok(()) | Err(mpsc::TrySendError::Full(_)) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => break,
        }
        if failed {
            break;
        }
    }
    let _ = camera.stop_stream();
}

/// One camera frame as I420 of `format`'s (even) size.
fn to_i420(buffer: &Buffer, format: VideoFormat) -> Result<I420Frame> {
    let resolution = buffer.resolution();
    let (width, height) = (resolution.width() as usize, resolution.height() as usize);
    let data = buffer.buffer();
    let mut frame = I420Frame::black(format.width, format.height)
        .map_err(|e| Error::CameraStart(format!("frame of {}x{}: {e}", format.width, format.height)))?;
    frame.timestamp_us = capture_clock_us();
    let short = || Error::CameraStart(format!("a {width}x{height} frame came with only {} bytes", data.len()));
    match buffer.source_frame_format() {
        FrameFormat::YUYV => {
            if data.len() < width * height * 2 {
                return Err(short());
            }
            yuyv_to_i420(data, width, &mut frame);
        }
        FrameFormat::NV12 => {
            if data.len() < width * height * 3 / 2 {
                return Err(short());
            }
            nv12_to_i420(data, width, height, &mut frame);
        }
        FrameFormat::GRAY => {
            if data.len() < width * height {
                return Err(short());
            }
            gray_to_i420(data, width, &mut frame);
        }
        FrameFormat::MJPEG | FrameFormat::RAWRGB | FrameFormat::RAWBGR => {
            let rgb = buffer.decode_image::<RgbFormat>().map_err(|e| Error::CameraStart(e.to_string()))?;
            rgb_to_i420(rgb.as_raw(), width, &mut frame);
        }
    }
    Ok(frame)
}

fn yuyv_to_i420(data: &[u8], stride_px: usize, frame: &mut I420Frame) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let cw = frame.chroma_width() as usize;
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        let line = &data[row * stride_px * 2..][..w * 2];
        for (x, out) in y[row * w..][..w].iter_mut().enumerate() {
            *out = line[x * 2];
        }
        if row % 2 == 0 {
            for cx in 0..w / 2 {
                u[row / 2 * cw + cx] = line[cx * 4 + 1];
                v[row / 2 * cw + cx] = line[cx * 4 + 3];
            }
        }
    }
}

fn nv12_to_i420(data: &[u8], width: usize, height: usize, frame: &mut I420Frame) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let cw = frame.chroma_width() as usize;
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        y[row * w..][..w].copy_from_slice(&data[row * width..][..w]);
    }
    let uv = &data[width * height..];
    for row in 0..h / 2 {
        for cx in 0..w / 2 {
            u[row * cw + cx] = uv[row * width + cx * 2];
            v[row * cw + cx] = uv[row * width + cx * 2 + 1];
        }
    }
}

fn gray_to_i420(data: &[u8], width: usize, frame: &mut I420Frame) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        y[row * w..][..w].copy_from_slice(&data[row * width..][..w]);
    }
    u.fill(128);
    v.fill(128);
}

/// BT.601 limited range, chroma from the top-left pixel of each 2x2 block.
fn rgb_to_i420(rgb: &[u8], width: usize, frame: &mut I420Frame) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let cw = frame.chroma_width() as usize;
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        for x in 0..w {
            let p = &rgb[(row * width + x) * 3..][..3];
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            y[row * w + x] = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
            if row % 2 == 0 && x % 2 == 0 {
                u[row / 2 * cw + x / 2] = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128) as u8;
                v[row / 2 * cw + x / 2] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32) -> I420Frame {
        I420Frame::black(w, h).unwrap()
    }

    #[test]
    fn yuyv_splits_into_planes_taking_chroma_from_even_rows() {
        // 2x2: row 0 is Y0 U Y1 V = 10 20 30 40, row 1 is 50 60 70 80.
        let mut out = frame(2, 2);
        yuyv_to_i420(&[10, 20, 30, 40, 50, 60, 70, 80], 2, &mut out);
        assert_eq!((out.y(), out.u(), out.v()), (&[10u8, 30, 50, 70][..], &[20u8][..], &[40u8][..]));
    }

    #[test]
    fn nv12_deinterleaves_chroma_and_crops_to_the_frame() {
        // A 4x2 camera frame into a 2x2 I420 frame.
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 100, 200, 101, 201];
        let mut out = frame(2, 2);
        nv12_to_i420(&data, 4, 2, &mut out);
        assert_eq!((out.y(), out.u(), out.v()), (&[1u8, 2, 5, 6][..], &[100u8][..], &[200u8][..]));
    }

    #[test]
    fn rgb_white_black_and_red_land_on_bt601_values() {
        let mut out = frame(2, 2);
        rgb_to_i420(&[255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2, &mut out);
        assert_eq!(out.y(), &[235, 16, 16, 16]);
        assert_eq!((out.u()[0], out.v()[0]), (128, 128), "white has no chroma");
        rgb_to_i420(&[255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2, &mut out);
        assert_eq!((out.y()[0], out.u()[0], out.v()[0]), (82, 90, 240));
    }

    /// The machines this runs on may have no camera; then opening one must say so.
    #[test]
    fn without_a_camera_opening_one_says_none_was_found() {
        if cameras().is_ok_and(|list| !list.is_empty()) {
            return;
        }
        let error = CameraSource::open(None, VideoFormat::DEFAULT).err().unwrap();
        assert!(matches!(error, Error::NotFound(Device::Camera)), "{error:?}");
        assert_eq!(error.device_code(), Some(-1301));
        assert!(error.to_string().contains("camera"), "{error}");
    }
}
