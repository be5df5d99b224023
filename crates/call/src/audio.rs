//! The audio path between the microphone and the encoder: an [`AudioProcessor`]
//! sees every 20 ms this side captures, and everything the speaker plays (the
//! far end), which is what echo cancellation needs. The engine's is a
//! [`VoiceProcessor`]: echo cancellation, noise suppression and automatic gain.

use std::sync::{Arc, Mutex};

use duet_media::audio::{FRAME, VoiceProcessor, VoiceSettings, VoiceStats, keep_recent_far_end};

/// Processing of this side's voice before it is encoded.
pub trait AudioProcessor: Send {
    /// 20 ms captured here (48 kHz mono), changed in place before encoding.
    fn process_capture(&mut self, frame: &mut [i16; FRAME]);
    /// What the speaker is about to play (48 kHz mono, any length), the signal
    /// that comes back into the microphone as echo.
    fn far_end(&mut self, played: &[f32]);
    /// What the user chose to have done to their voice.
    fn configure(&mut self, _settings: VoiceSettings) {}
    /// Another microphone or speaker, or a new call: what was learnt of the echo no longer holds.
    fn reset(&mut self) {}
    fn stats(&self) -> VoiceStats {
        VoiceStats::default()
    }
}

/// Leaves the voice as it was captured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Passthrough;

impl AudioProcessor for Passthrough {
    fn process_capture(&mut self, _frame: &mut [i16; FRAME]) {}

    fn far_end(&mut self, _played: &[f32]) {}
}

impl AudioProcessor for VoiceProcessor {
    fn process_capture(&mut self, frame: &mut [i16; FRAME]) {
        self.process(frame)
    }

    fn far_end(&mut self, played: &[f32]) {
        VoiceProcessor::far_end(self, played)
    }

    fn configure(&mut self, settings: VoiceSettings) {
        VoiceProcessor::configure(self, settings)
    }

    fn reset(&mut self) {
        VoiceProcessor::reset(self)
    }

    fn stats(&self) -> VoiceStats {
        VoiceProcessor::stats(self)
    }
}

/// A processor shared by the capture path and the speaker's callback. The
/// speaker only queues what it plays (a short lock, never the processing's):
/// the capture path hands the queue to the processor before each frame.
#[derive(Clone)]
pub struct SharedProcessor {
    processor: Arc<Mutex<dyn AudioProcessor>>,
    played: Arc<Mutex<Vec<f32>>>,
}

impl SharedProcessor {
    pub fn new(processor: impl AudioProcessor + 'static) -> SharedProcessor {
        SharedProcessor { processor: Arc::new(Mutex::new(processor)), played: Default::default() }
    }

    /// Echo cancellation, noise suppression and gain as `settings` say.
    pub fn voice(settings: VoiceSettings) -> SharedProcessor {
        SharedProcessor::new(VoiceProcessor::new(settings))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, dyn AudioProcessor + 'static> {
        self.processor.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_played(&self) -> Vec<f32> {
        std::mem::take(&mut *self.played.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn process_capture(&self, frame: &mut [i16; FRAME]) {
        let played = self.take_played();
        let mut processor = self.lock();
        processor.far_end(&played);
        processor.process_capture(frame)
    }

    /// Called on the speaker's thread with every block it plays.
    pub fn far_end(&self, played: &[f32]) {
        let mut queue = self.played.lock().unwrap_or_else(|e| e.into_inner());
        queue.extend_from_slice(played);
        // Nothing is captured before a call connects: only the newest can still come back as echo.
        keep_recent_far_end(&mut queue);
    }

    pub fn configure(&self, settings: VoiceSettings) {
        self.lock().configure(settings)
    }

    pub fn reset(&self) {
        self.take_played();
        self.lock().reset()
    }

    pub fn stats(&self) -> VoiceStats {
        self.lock().stats()
    }
}

impl Default for SharedProcessor {
    fn default() -> Self {
        SharedProcessor::voice(VoiceSettings::DEFAULT)
    }
}

impl std::fmt::Debug for SharedProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedProcessor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Turns the capture down.
    struct Halve;

    impl AudioProcessor for Halve {
        fn process_capture(&mut self, frame: &mut [i16; FRAME]) {
            frame.iter_mut().for_each(|s| *s /= 2);
        }

        fn far_end(&mut self, _played: &[f32]) {}
    }

    /// Remembers how much far end it was given.
    #[derive(Default)]
    struct Counting(Arc<Mutex<usize>>);

    impl AudioProcessor for Counting {
        fn process_capture(&mut self, _frame: &mut [i16; FRAME]) {}

        fn far_end(&mut self, played: &[f32]) {
            *self.0.lock().unwrap() += played.len();
        }
    }

    #[test]
    fn what_the_speaker_played_reaches_the_processor_before_the_next_frame_and_only_the_newest_half_second() {
        let counted = Arc::new(Mutex::new(0));
        let shared = SharedProcessor::new(Counting(counted.clone()));
        shared.far_end(&[0.1; 480]);
        shared.far_end(&[0.1; 480]);
        assert_eq!(*counted.lock().unwrap(), 0, "queued, not processed on the speaker's thread");
        shared.process_capture(&mut [0; FRAME]);
        assert_eq!(*counted.lock().unwrap(), 960);
        // Seconds of ringtone before the call connects: only the last half second is kept.
        for _ in 0..300 {
            shared.far_end(&[0.1; 480]);
        }
        shared.process_capture(&mut [0; FRAME]);
        assert_eq!(*counted.lock().unwrap(), 960 + 24_000);
    }

    #[test]
    fn a_processor_changes_the_capture_and_the_passthrough_does_not() {
        let shared = SharedProcessor::new(Halve);
        let mut frame = [1000i16; FRAME];
        shared.process_capture(&mut frame);
        assert!(frame.iter().all(|&s| s == 500));
        let mut untouched = [7i16; FRAME];
        SharedProcessor::new(Passthrough).process_capture(&mut untouched);
        assert!(untouched.iter().all(|&s| s == 7), "the passthrough changes nothing");
    }
}
