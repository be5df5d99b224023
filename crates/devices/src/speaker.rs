//! The speaker check (seed 004's startSpeakerDeviceTest): a sound played once
//! on the chosen output, with its level while it plays and an event when it is over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use duet_media::Error;
use duet_media::audio::{Mixer, SAMPLE_RATE, Speaker};

use crate::level;

/// The notes of the test sound: C major rising (C5 E5 G5 C6), twice.
pub const TEST_NOTES_HZ: [f32; 4] = [523.25, 659.25, 783.99, 1046.5];
const NOTE_MS: u32 = 300;
const AMPLITUDE: f32 = 0.4;

/// The bundled test sound, 48 kHz mono: a rising four-note chime played twice
/// (2.4 s), each note faded in and out so it does not click.
pub fn test_sound() -> Vec<f32> {
    let note_len = (SAMPLE_RATE * NOTE_MS / 1000) as usize;
    let ramp = note_len / 10;
    let mut out = Vec::with_capacity(note_len * 8);
    for &frequency in TEST_NOTES_HZ.iter().chain(&TEST_NOTES_HZ) {
        let step = std::f32::consts::TAU * frequency / SAMPLE_RATE as f32;
        for i in 0..note_len {
            let edge = (i.min(note_len - 1 - i).min(ramp) as f32) / ramp as f32;
            out.push((i as f32 * step).sin() * AMPLITUDE * edge);
        }
    }
    out
}

/// What a running speaker check reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeakerEvent {
    /// The loudest moment played in the last interval, 0–100.
    Level(u8),
    /// The whole sound was played.
    Finished,
    /// The speaker stopped taking sound (unplugged, server gone).
    Error { message: String },
}

/// A sound playing on a speaker. Dropping it stops the sound.
pub struct SpeakerTest {
    speaker: Speaker,
    stop: Arc<AtomicBool>,
}

/// How long the speaker may take no sound at all before the check fails.
const STALL: Duration = Duration::from_secs(3);

impl SpeakerTest {
    /// Plays `sound` (48 kHz mono, -1..1) once on `device` (id or name; `None`:
    /// the default speaker), reporting the level every `interval`.
    pub fn start(
        device: Option<&str>,
        sound: Vec<f32>,
        interval: Duration,
        mut on_event: impl FnMut(SpeakerEvent) + Send + 'static,
    ) -> Result<SpeakerTest, Error> {
        let mixer = Mixer::new();
        mixer.play_clip(sound.into());
        let stop = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(std::sync::Mutex::new(None::<String>));
        let failure_in = failure.clone();
        let speaker = Speaker::open(
            device,
            mixer.clone(),
            Box::new(move |e: Error| *failure_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string())),
        )?;
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("duet-speaker-test".into())
            .spawn(move || {
                let (mut played, mut moved_at) = (0, Instant::now());
                loop {
                    std::thread::sleep(interval);
                    if let Some(message) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                        on_event(SpeakerEvent::Error { message });
                        return;
                    }
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    if mixer.played() != played {
                        (played, moved_at) = (mixer.played(), Instant::now());
                    } else if moved_at.elapsed() > STALL {
                        let message = format!("the speaker took no sound for {} s", STALL.as_secs());
                        on_event(SpeakerEvent::Error { message });
                        return;
                    }
                    if !mixer.clip_playing() {
                        on_event(SpeakerEvent::Level(0));
                        on_event(SpeakerEvent::Finished);
                        return;
                    }
                    on_event(SpeakerEvent::Level(level(mixer.peak())));
                }
            })
            .map_err(|e| Error::SpeakerStart(e.to_string()))?;
        Ok(SpeakerTest { speaker, stop })
    }

    /// The speaker in use.
    pub fn device(&self) -> &duet_media::audio::AudioDevice {
        &self.speaker.device
    }
}

impl Drop for SpeakerTest {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duet_media::audio::tone_amplitude;

    #[test]
    fn the_test_sound_is_four_rising_notes_twice() {
        let sound: Vec<i16> = test_sound().iter().map(|&s| (s * f32::from(i16::MAX)) as i16).collect();
        let note = (SAMPLE_RATE * NOTE_MS / 1000) as usize;
        assert_eq!(sound.len(), 8 * note);
        for (i, &frequency) in TEST_NOTES_HZ.iter().chain(&TEST_NOTES_HZ).enumerate() {
            let middle = &sound[i * note + note / 5..(i + 1) * note - note / 5];
            assert!(tone_amplitude(middle, frequency) > 0.35, "note {i} at {frequency} Hz");
        }
        assert!(sound[0].abs() < 100 && sound[note - 1].abs() < 200, "notes fade in and out");
    }
}
