//! The microphone check (seed 004's startMicDeviceTest): the chosen
//! microphone's level every `interval`, switching microphones while it runs,
//! and a short recording to play back through the speaker check. With
//! [`MicTest::process_with`] both are of the sound as calls send it (noise
//! suppressed, gain applied), so the check shows what the other side will hear.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use duet_media::Error;
use duet_media::audio::{FRAME, Microphone, SAMPLE_RATE, VoiceProcessor, VoiceSettings};

use crate::level;

/// The seed's default level interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(300);
const FRAME_MS: u64 = 20;

/// What a running microphone check reports.
#[derive(Debug, Clone, PartialEq)]
pub enum MicEvent {
    /// The loudest moment of the last interval, 0–100.
    Level(u8),
    /// The microphone stopped working (unplugged, taken away).
    Error { code: Option<i32>, message: String },
}

type Events = Box<dyn FnMut(MicEvent) + Send>;

/// A recording being taken: samples so far, how many are wanted, where to send them.
struct Recording {
    samples: Vec<i16>,
    wanted: usize,
    done: mpsc::Sender<Vec<i16>>,
}

struct Shared {
    on_event: Mutex<Events>,
    recording: Mutex<Option<Recording>>,
    processor: Mutex<Option<VoiceProcessor>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running microphone check. Dropping it closes the microphone.
pub struct MicTest {
    microphone: Microphone,
    shared: Arc<Shared>,
    interval: Duration,
}

impl MicTest {
    /// Opens `device` (id or name; `None`: the default microphone) and reports
    /// its level every `interval` (rounded to 20 ms, at least 20 ms).
    pub fn start(
        device: Option<&str>,
        interval: Duration,
        on_event: impl FnMut(MicEvent) + Send + 'static,
    ) -> Result<MicTest, Error> {
        let shared = Arc::new(Shared {
            on_event: Mutex::new(Box::new(on_event)),
            recording: Mutex::new(None),
            processor: Mutex::new(None),
        });
        let microphone = open(device, interval, &shared)?;
        Ok(MicTest { microphone, shared, interval })
    }

    /// The microphone in use.
    pub fn device(&self) -> &duet_media::audio::AudioDevice {
        &self.microphone.device
    }

    /// Levels and recordings from now on are of the sound after `voice`'s
    /// processing, as a call sends it (`None`: as the microphone captures it).
    pub fn process_with(&self, voice: Option<VoiceSettings>) {
        *lock(&self.shared.processor) = voice.map(VoiceProcessor::new);
    }

    /// Moves the check to another microphone. On failure the old one keeps running.
    pub fn switch(&mut self, device: Option<&str>) -> Result<(), Error> {
        self.microphone = open(device, self.interval, &self.shared)?;
        Ok(())
    }

    /// Records `length` of what the microphone hears (48 kHz mono). Blocks
    /// until done; fails when the microphone stops delivering sound.
    pub fn record(&self, length: Duration) -> Result<Vec<i16>, Error> {
        let (done, recorded) = mpsc::channel();
        let wanted = (length.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        *lock(&self.shared.recording) = Some(Recording { samples: Vec::with_capacity(wanted), wanted, done });
        recorded.recv_timeout(length + Duration::from_secs(2)).map_err(|_| {
            *lock(&self.shared.recording) = None;
            Error::MicrophoneStart("the microphone stopped delivering sound while recording".into())
        })
    }
}

fn open(device: Option<&str>, interval: Duration, shared: &Arc<Shared>) -> Result<Microphone, Error> {
    let frames_per_report = (interval.as_millis() as u64 / FRAME_MS).max(1);
    let (mut peak, mut frames) = (0.0f32, 0u64);
    let frame_shared = shared.clone();
    let error_shared = shared.clone();
    Microphone::open(
        device,
        move |mut frame: [i16; FRAME]| {
            if let Some(processor) = lock(&frame_shared.processor).as_mut() {
                processor.process(&mut frame);
            }
            let frame_peak = frame.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            peak = peak.max(f32::from(frame_peak) / f32::from(i16::MAX));
            frames += 1;
            if frames.is_multiple_of(frames_per_report) {
                (lock(&frame_shared.on_event))(MicEvent::Level(level(peak)));
                peak = 0.0;
            }
            let mut recording = lock(&frame_shared.recording);
            if let Some(taking) = recording.as_mut() {
                let room = taking.wanted - taking.samples.len();
                taking.samples.extend_from_slice(&frame[..room.min(FRAME)]);
                if taking.samples.len() == taking.wanted
                    && let Some(done) = recording.take()
                {
                    let _ = done.done.send(done.samples);
                }
            }
        },
        Box::new(move |error: Error| {
            let code = error.device_code().or(Some(-1302));
            (lock(&error_shared.on_event))(MicEvent::Error { code, message: error.to_string() });
        }),
    )
}
