//! The speaker the engine plays to, and devices plugged in or out: one in use
//! that goes away is replaced by the default one.

use duet_media::DeviceList;
use duet_media::audio::{Mixer, Speaker};
use tokio::sync::mpsc;

use crate::AudioOutput;
use crate::engine::Engine;
use crate::event::{DeviceKind, DeviceNames, DeviceSwitch, EngineError, Event};

/// The speaker (if any) the mixer plays through. A new one opens before the
/// old one closes: when it fails, the old one goes on playing.
pub(crate) struct Speakers {
    mixer: Mixer,
    errors: mpsc::UnboundedSender<duet_media::Error>,
    current: Option<Speaker>,
}

type Events = mpsc::UnboundedSender<Event>;

impl Speakers {
    pub fn new(mixer: Mixer, errors: mpsc::UnboundedSender<duet_media::Error>) -> Speakers {
        Speakers { mixer, errors, current: None }
    }

    pub fn is_open(&self) -> bool {
        self.current.is_some()
    }

    fn open(&self, name: Option<&str>) -> duet_media::Result<Speaker> {
        let errors = self.errors.clone();
        Speaker::open(name, self.mixer.clone(), Box::new(move |e| drop(errors.send(e))))
    }

    /// Opens `name` in place of the current one; on failure says so with
    /// `consequence` and keeps the current one. Returns the new one's id.
    fn try_switch(&mut self, name: Option<&str>, consequence: &str, events: &Events) -> Option<String> {
        match self.open(name) {
            Ok(new) => {
                let id = new.device.id.clone();
                self.current = Some(new);
                Some(id)
            }
            Err(e) => {
                let _ = events.send(Event::Error(EngineError::device(&e, consequence)));
                None
            }
        }
    }

    /// At start: the configured output, quietly (no `device` event).
    pub fn open_for(&mut self, output: &AudioOutput, consequence: &str, events: &Events) {
        if let AudioOutput::Speaker(name) = output {
            self.try_switch(name.as_deref(), consequence, events);
        }
    }

    /// The user picked a speaker; whether it plays now.
    pub fn switch(&mut self, name: Option<&str>, events: &Events) -> bool {
        let Some(id) = self.try_switch(name, "the speaker was not changed", events) else { return false };
        let _ = events.send(Event::Device(DeviceSwitch { kind: DeviceKind::Speaker, id, unplugged: false }));
        true
    }

    /// The settings changed the output (no speaker at all, or another one).
    pub fn replace_for(&mut self, output: &AudioOutput, events: &Events) {
        match output {
            AudioOutput::Nowhere => self.current = None,
            AudioOutput::Speaker(name) => {
                self.try_switch(name.as_deref(), "the speaker was not changed", events);
            }
        }
    }

    /// The speaker in use is gone from `list`: the default one takes over. Whether it did.
    pub fn follow_unplug(&mut self, list: &DeviceList, events: &Events) -> bool {
        let gone = self.current.as_ref().is_some_and(|s| !list.speakers.iter().any(|d| d.id == s.device.id));
        if !gone {
            return false;
        }
        let Some(id) = self.try_switch(None, "the speaker was unplugged", events) else { return false };
        let _ = events.send(Event::Device(DeviceSwitch { kind: DeviceKind::Speaker, id, unplugged: true }));
        true
    }
}

impl Engine {
    /// The device lists changed: reported, and an unplugged speaker or microphone in use replaced.
    pub(crate) fn on_device_list(&mut self, list: &DeviceList) {
        self.emit(Event::Devices(DeviceNames {
            cameras: list.cameras.iter().map(|c| c.name.clone()).collect(),
            microphones: list.microphones.iter().map(|d| d.id.clone()).collect(),
            speakers: list.speakers.iter().map(|d| d.id.clone()).collect(),
        }));
        if self.speakers.follow_unplug(list, &self.events) {
            // Another speaker: another echo for the canceller to learn.
            self.config.audio_processor.reset();
        }
        let Some(m) = self.media.as_mut() else { return };
        // Still there (or none in use): nothing to do.
        if m.microphone_id().is_none_or(|id| list.microphones.iter().any(|d| d.id == id)) {
            return;
        }
        match m.use_microphone(None) {
            Ok(id) => {
                self.config.audio_processor.reset();
                self.emit(Event::Device(DeviceSwitch { kind: DeviceKind::Microphone, id, unplugged: true }))
            }
            Err(e) => self.fail(EngineError::device(&e, "the microphone was unplugged")),
        }
        self.send_room_media();
    }
}
