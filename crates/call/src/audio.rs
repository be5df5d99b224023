//! The audio path between the microphone and the encoder: an [`AudioProcessor`]
//! sees every 20 ms this side captures, and everything the speaker plays (the
//! far end), which is what echo cancellation needs.

use std::sync::{Arc, Mutex};

use duet_media::audio::FRAME;

/// Processing of this side's voice before it is encoded.
pub trait AudioProcessor: Send {
    /// 20 ms captured here (48 kHz mono), changed in place before encoding.
    fn process_capture(&mut self, frame: &mut [i16; FRAME]);
    /// What the speaker is about to play (48 kHz mono, any length), the signal
    /// that comes back into the microphone as echo.
    fn far_end(&mut self, played: &[f32]);
}

/// Leaves the voice as it was captured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Passthrough;

impl AudioProcessor for Passthrough {
    fn process_capture(&mut self, _frame: &mut [i16; FRAME]) {}

    fn far_end(&mut self, _played: &[f32]) {}
}

/// A processor shared by the capture path and the speaker's callback.
#[derive(Clone)]
pub struct SharedProcessor(Arc<Mutex<dyn AudioProcessor>>);

impl SharedProcessor {
    pub fn new(processor: impl AudioProcessor + 'static) -> SharedProcessor {
        SharedProcessor(Arc::new(Mutex::new(processor)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, dyn AudioProcessor + 'static> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn process_capture(&self, frame: &mut [i16; FRAME]) {
        self.lock().process_capture(frame)
    }

    pub fn far_end(&self, played: &[f32]) {
        self.lock().far_end(played)
    }
}

impl Default for SharedProcessor {
    fn default() -> Self {
        SharedProcessor::new(Passthrough)
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

    #[test]
    fn a_processor_changes_the_capture_and_the_passthrough_does_not() {
        let shared = SharedProcessor::new(Halve);
        let mut frame = [1000i16; FRAME];
        shared.process_capture(&mut frame);
        assert!(frame.iter().all(|&s| s == 500));
        let mut untouched = [7i16; FRAME];
        SharedProcessor::default().process_capture(&mut untouched);
        assert!(untouched.iter().all(|&s| s == 7), "the passthrough changes nothing");
    }
}
