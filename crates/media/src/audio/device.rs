//! Microphones and speakers through cpal. On Linux the PulseAudio host is
//! preferred when a sound server runs (named devices); otherwise ALSA.
//!
//! A [`Microphone`] hands out 20 ms frames at 48 kHz mono whatever the device
//! delivers; a [`Speaker`] plays a [`Mixer`] at whatever the device takes.

use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample, StreamConfig, SupportedStreamConfig};

use super::convert::{Resampler, downmix, to_i16, upmix};
use super::{FRAME, Mixer, SAMPLE_RATE};
use crate::{Device, Error, Result};

/// How long opening a stream may take before it counts as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Device buffer asked for: 10 ms, so capture and playout add little delay.
const BUFFER_FRAMES: u32 = SAMPLE_RATE / 100;

/// A microphone or speaker as the user picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioDevice {
    /// Stable name to open it by (PulseAudio's source/sink name, ALSA's PCM name).
    pub id: String,
    /// What to show the user.
    pub name: String,
    pub is_default: bool,
}

pub fn input_devices() -> Result<Vec<AudioDevice>> {
    list(Device::Microphone)
}

pub fn output_devices() -> Result<Vec<AudioDevice>> {
    list(Device::Speaker)
}

fn list(kind: Device) -> Result<Vec<AudioDevice>> {
    let host = cpal::default_host();
    let (devices, default) = match kind {
        Device::Speaker => (host.output_devices().map(|d| d.collect::<Vec<_>>()), host.default_output_device()),
        _ => (host.input_devices().map(|d| d.collect::<Vec<_>>()), host.default_input_device()),
    };
    let devices = devices.map_err(|e| start_error(kind, &e))?;
    let default_id = default.and_then(|d| d.id().ok());
    Ok(devices
        .iter()
        .filter_map(|device| {
            let id = device.id().ok()?;
            let name = device.description().map(|d| d.name().to_owned()).unwrap_or_else(|_| id.id().to_owned());
            Some(AudioDevice { id: id.id().to_owned(), name, is_default: default_id.as_ref() == Some(&id) })
        })
        .collect())
}

/// The sound service does not answer: what was tried, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoSoundServer(pub String);

/// Whether the system's sound service answers: on Linux a PulseAudio server
/// (PipeWire's included), without which calls fall back to raw ALSA devices
/// that a desktop session usually cannot open. `Err` says what was tried.
/// Elsewhere the sound system is part of the OS and always there.
pub fn sound_server() -> std::result::Result<(), NoSoundServer> {
    #[cfg(target_os = "linux")]
    {
        cpal::host_from_id(cpal::HostId::PulseAudio).map(drop).map_err(|e| NoSoundServer(format!("PulseAudio: {e}")))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(())
    }
}

/// The device called `name` (its id or its shown name), or the default one.
fn find(kind: Device, name: Option<&str>) -> Result<cpal::Device> {
    let host = cpal::default_host();
    let Some(name) = name else {
        let default = match kind {
            Device::Speaker => host.default_output_device(),
            _ => host.default_input_device(),
        };
        return default.ok_or(Error::NotFound(kind));
    };
    let devices = match kind {
        Device::Speaker => host.output_devices().map(|d| d.collect::<Vec<_>>()),
        _ => host.input_devices().map(|d| d.collect::<Vec<_>>()),
    }
    .map_err(|e| start_error(kind, &e))?;
    let matches = |device: &cpal::Device| {
        device.id().is_ok_and(|id| id.id() == name) || device.description().is_ok_and(|d| d.name() == name)
    };
    if let Some(device) = devices.iter().find(|d| matches(d)) {
        return Ok(device.clone());
    }
    let available = list(kind)?.into_iter().map(|d| d.id).collect();
    Err(Error::NoSuchDevice { device: kind, name: name.to_owned(), available })
}

/// The seed's device error cases from cpal's error kinds.
fn start_error(kind: Device, error: &cpal::Error) -> Error {
    match error.kind() {
        cpal::ErrorKind::PermissionDenied => Error::NotAuthorized(kind),
        cpal::ErrorKind::DeviceBusy => Error::Occupied(kind),
        cpal::ErrorKind::DeviceNotAvailable => Error::NotFound(kind),
        _ => match kind {
            Device::Camera => Error::CameraStart(error.to_string()),
            Device::Microphone => Error::MicrophoneStart(error.to_string()),
            Device::Speaker => Error::SpeakerStart(error.to_string()),
        },
    }
}

/// 48 kHz in the device's favourite sample format when it can, else its default.
fn choose_config(kind: Device, device: &cpal::Device) -> Result<SupportedStreamConfig> {
    let ranges = match kind {
        Device::Speaker => device.supported_output_configs().map(|r| r.collect::<Vec<_>>()),
        _ => device.supported_input_configs().map(|r| r.collect::<Vec<_>>()),
    }
    .map_err(|e| start_error(kind, &e))?;
    let usable = |f: SampleFormat| matches!(f, SampleFormat::F32 | SampleFormat::I16);
    let at_48k = ranges
        .iter()
        .filter(|r| usable(r.sample_format()) && (r.min_sample_rate()..=r.max_sample_rate()).contains(&SAMPLE_RATE))
        // Fewest channels first (mono saves a conversion), f32 before i16.
        .min_by_key(|r| (r.channels(), r.sample_format() != SampleFormat::F32));
    if let Some(range) = at_48k {
        return Ok(range.with_sample_rate(SAMPLE_RATE));
    }
    let default = match kind {
        Device::Speaker => device.default_output_config(),
        _ => device.default_input_config(),
    }
    .map_err(|e| start_error(kind, &e))?;
    if usable(default.sample_format()) {
        Ok(default)
    } else {
        Err(start_error(
            kind,
            &cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("the device offers no 16-bit or float format (only {})", default.sample_format()),
            ),
        ))
    }
}

fn stream_config(config: &SupportedStreamConfig) -> StreamConfig {
    let buffer_size = match config.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } if (*min..=*max).contains(&BUFFER_FRAMES) => {
            cpal::BufferSize::Fixed(BUFFER_FRAMES)
        }
        _ => cpal::BufferSize::Default,
    };
    StreamConfig { channels: config.channels(), sample_rate: config.sample_rate(), buffer_size }
}

/// Runtime errors of a running stream (device unplugged, server gone).
pub type StreamErrorHandler = Box<dyn FnMut(Error) + Send>;

/// A running microphone. Dropping it stops capture.
pub struct Microphone {
    _stream: cpal::Stream,
    pub device: AudioDevice,
    /// The format the device delivers before conversion.
    pub device_rate: u32,
    pub device_channels: u16,
}

impl Microphone {
    /// Opens `name` (or the default microphone) and calls `on_frame` with
    /// every 20 ms of 48 kHz mono audio, on the audio thread.
    pub fn open(
        name: Option<&str>,
        on_frame: impl FnMut([i16; FRAME]) + Send + 'static,
        mut on_error: StreamErrorHandler,
    ) -> Result<Self> {
        let kind = Device::Microphone;
        let device = find(kind, name)?;
        let config = choose_config(kind, &device)?;
        let info = describe(&device, name);
        let channels = usize::from(config.channels());
        let mut capture = Capture::new(config.sample_rate(), channels, on_frame);
        let errors = move |e: cpal::Error| on_error(start_error(kind, &e));
        let stream_config = stream_config(&config);
        let stream = match config.sample_format() {
            SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                stream_config,
                move |data: &[i16], _: &_| capture.take(data),
                errors,
                Some(OPEN_TIMEOUT),
            ),
            _ => device.build_input_stream::<f32, _, _>(
                stream_config,
                move |data: &[f32], _: &_| capture.take(data),
                errors,
                Some(OPEN_TIMEOUT),
            ),
        }
        .map_err(|e| start_error(kind, &e))?;
        stream.play().map_err(|e| start_error(kind, &e))?;
        Ok(Self {
            _stream: stream,
            device: info,
            device_rate: config.sample_rate(),
            device_channels: config.channels(),
        })
    }
}

fn describe(device: &cpal::Device, asked: Option<&str>) -> AudioDevice {
    let id = device.id().map(|id| id.id().to_owned()).unwrap_or_else(|_| asked.unwrap_or_default().to_owned());
    let name = device.description().map(|d| d.name().to_owned()).unwrap_or_else(|_| id.clone());
    AudioDevice { id, name, is_default: asked.is_none() }
}

/// Device samples → 48 kHz mono → 20 ms frames.
struct Capture<F> {
    channels: usize,
    resampler: Resampler,
    floats: Vec<f32>,
    mono: Vec<f32>,
    converted: Vec<f32>,
    on_frame: F,
}

impl<F: FnMut([i16; FRAME])> Capture<F> {
    fn new(rate: u32, channels: usize, on_frame: F) -> Self {
        Self {
            channels,
            resampler: Resampler::new(rate, SAMPLE_RATE),
            floats: Vec::new(),
            mono: Vec::new(),
            converted: Vec::with_capacity(2 * FRAME),
            on_frame,
        }
    }

    fn take<T: SizedSample>(&mut self, data: &[T])
    where
        f32: FromSample<T>,
    {
        self.floats.clear();
        self.floats.extend(data.iter().map(|&s| f32::from_sample(s)));
        self.mono.clear();
        downmix(&self.floats, self.channels, &mut self.mono);
        self.resampler.push(&self.mono, &mut self.converted);
        while self.converted.len() >= FRAME {
            let mut frame = [0i16; FRAME];
            for (out, &sample) in frame.iter_mut().zip(&self.converted[..FRAME]) {
                *out = to_i16(sample);
            }
            self.converted.drain(..FRAME);
            (self.on_frame)(frame);
        }
    }
}

/// A running speaker playing a [`Mixer`]. Dropping it stops playback.
pub struct Speaker {
    _stream: cpal::Stream,
    pub device: AudioDevice,
}

impl Speaker {
    pub fn open(name: Option<&str>, mixer: Mixer, mut on_error: StreamErrorHandler) -> Result<Self> {
        let kind = Device::Speaker;
        let device = find(kind, name)?;
        let config = choose_config(kind, &device)?;
        let info = describe(&device, name);
        let mut playout = Playout::new(config.sample_rate(), usize::from(config.channels()), mixer);
        let errors = move |e: cpal::Error| on_error(start_error(kind, &e));
        let stream_config = stream_config(&config);
        let stream = match config.sample_format() {
            SampleFormat::I16 => device.build_output_stream::<i16, _, _>(
                stream_config,
                move |data: &mut [i16], _: &_| playout.give(data),
                errors,
                Some(OPEN_TIMEOUT),
            ),
            _ => device.build_output_stream::<f32, _, _>(
                stream_config,
                move |data: &mut [f32], _: &_| playout.give(data),
                errors,
                Some(OPEN_TIMEOUT),
            ),
        }
        .map_err(|e| start_error(kind, &e))?;
        stream.play().map_err(|e| start_error(kind, &e))?;
        Ok(Self { _stream: stream, device: info })
    }
}

/// Mixer (48 kHz mono) → device rate → device channels.
struct Playout {
    channels: usize,
    resampler: Resampler,
    mixer: Mixer,
    mono: Vec<f32>,
    interleaved: Vec<f32>,
}

impl Playout {
    fn new(rate: u32, channels: usize, mixer: Mixer) -> Self {
        Self {
            channels: channels.max(1),
            resampler: Resampler::new(SAMPLE_RATE, rate),
            mixer,
            mono: Vec::new(),
            interleaved: Vec::new(),
        }
    }

    fn give<T: SizedSample + FromSample<f32>>(&mut self, data: &mut [T]) {
        let frames = data.len() / self.channels;
        self.mono.resize(frames, 0.0);
        let mixer = &self.mixer;
        self.resampler.pull(&mut self.mono, |chunk| mixer.fill(chunk));
        self.interleaved.resize(data.len(), 0.0);
        upmix(&self.mono, self.channels, &mut self.interleaved);
        for (out, &sample) in data.iter_mut().zip(&self.interleaved) {
            *out = T::from_sample(sample);
        }
    }
}
