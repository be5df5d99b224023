//! The camera check (seed 004's startCameraDeviceTest): frames of the chosen
//! camera handed to a preview, the size and rate the camera agreed to, and
//! switching cameras while it runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet_frame::I420Frame;
use duet_media::{CameraSource, Error, SyntheticSource, VideoFormat, VideoSource};

/// Which camera to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraChoice {
    /// A camera by id or name; `None`: the first one.
    Device(Option<String>),
    /// The synthetic moving pattern (no camera needed).
    Synthetic,
}

type Preview = Arc<Mutex<Box<dyn FnMut(&I420Frame) + Send>>>;

/// A running camera check. Dropping it closes the camera.
pub struct CameraTest {
    name: String,
    format: VideoFormat,
    wanted: VideoFormat,
    frames: Arc<AtomicU64>,
    started: Instant,
    stop: Arc<AtomicBool>,
    preview: Preview,
    /// Why the camera stopped delivering, once it has.
    failure: Arc<Mutex<Option<String>>>,
}

impl CameraTest {
    /// Opens the camera asking for `wanted` and calls `preview` with every frame.
    pub fn start(
        choice: &CameraChoice,
        wanted: VideoFormat,
        preview: impl FnMut(&I420Frame) + Send + 'static,
    ) -> Result<CameraTest, Error> {
        let preview: Preview = Arc::new(Mutex::new(Box::new(preview)));
        run(choice, wanted, preview)
    }

    /// The camera's name as shown to people.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The size and frame rate the camera agreed to.
    pub fn format(&self) -> VideoFormat {
        self.format
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Frames per second delivered since the check started.
    pub fn measured_fps(&self) -> f32 {
        self.frames() as f32 / self.started.elapsed().as_secs_f32().max(0.001)
    }

    /// Why the camera stopped sending pictures (unplugged, taken by another
    /// application), once it has.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Moves the check to another camera. On failure the old one keeps running.
    pub fn switch(&mut self, choice: &CameraChoice) -> Result<(), Error> {
        let next = run(choice, self.wanted, self.preview.clone())?;
        *self = next;
        Ok(())
    }
}

impl Drop for CameraTest {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn run(choice: &CameraChoice, wanted: VideoFormat, preview: Preview) -> Result<CameraTest, Error> {
    let (mut source, name): (Box<dyn VideoSource>, String) = match choice {
        CameraChoice::Synthetic => (Box::new(SyntheticSource::new(wanted)?), "synthetic pattern".to_owned()),
        CameraChoice::Device(name) => {
            let camera = CameraSource::open(name.as_deref(), wanted)?;
            let name = camera.camera.name.clone();
            (Box::new(camera), name)
        }
    };
    let format = source.format();
    let (frames, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let (counted, stopped, shown) = (frames.clone(), stop.clone(), preview.clone());
    let failure = Arc::new(Mutex::new(None));
    let failed = failure.clone();
    let interval = Duration::from_secs_f32(1.0 / format.fps.max(1.0));
    std::thread::Builder::new()
        .name("duet-camera-test".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !stopped.load(Ordering::Relaxed) {
                let frame = match source.next_frame() {
                    Ok(frame) => frame,
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                        break;
                    }
                };
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                (shown.lock().unwrap_or_else(|p| p.into_inner()))(&frame);
                counted.fetch_add(1, Ordering::Relaxed);
                next += interval;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
        .map_err(|e| Error::CameraStart(e.to_string()))?;
    Ok(CameraTest { name, format, wanted, frames, started: Instant::now(), stop, preview, failure })
}
