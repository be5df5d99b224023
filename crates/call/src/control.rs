//! Commands: placing and answering calls, in-call switches, device changes, chat.

use duet_protocol::CallType;
use duet_rtc::Channel;

use crate::engine::Engine;
use crate::event::{DeviceKind, DeviceSwitch, EngineError, Event, wall_ms};
use crate::{CHAT_COMMAND, Command};

impl Engine {
    pub(crate) async fn on_command(&mut self, command: Command) {
        self.emit(Event::Control { control: format!("{command:?}") });
        match command {
            Command::Dial { peer, audio_only } => {
                self.audio_only = audio_only;
                let call_type = if audio_only { CallType::Audio } else { CallType::Video };
                if let Err(e) = self.manager.dial(&peer, call_type).await {
                    self.fail(EngineError::Dial { peer, message: e.to_string() });
                }
            }
            Command::Accept { audio_only } => {
                self.audio_only = audio_only;
                self.emit(Event::Accepted { at_ms: wall_ms() });
                if let Err(e) = self.manager.accept(audio_only).await {
                    self.fail(EngineError::Accept(e.to_string()));
                }
            }
            Command::Decline => {
                let _ = self.manager.decline().await;
            }
            Command::Hangup => {
                let _ = self.manager.hangup().await;
            }
            Command::Mute(muted) => {
                if let Some(m) = self.media.as_mut() {
                    m.set_muted(muted);
                    self.send_room_media();
                }
            }
            Command::Camera(on) => {
                if let Some(m) = self.media.as_mut() {
                    m.set_camera_off(!on);
                    self.send_room_media();
                }
            }
            Command::MuteSpeaker(muted) => self.mixer.set_muted(muted),
            Command::UseSpeaker(name) => {
                if self.speakers.switch(name.as_deref(), &self.events) {
                    self.config.audio_processor.reset();
                }
            }
            Command::UseMicrophone(name) => self.use_microphone(name.as_deref()),
            Command::UseCamera(name) => self.use_camera(name.as_deref()),
            Command::UseSources(sources) => {
                if sources.output != self.config.sources.output {
                    self.speakers.replace_for(&sources.output, &self.events);
                    self.config.audio_processor.reset();
                }
                self.config.audio_processor.configure(sources.voice);
                self.config.sources = sources;
            }
            Command::RelayOnly(on) => self.config.relay_only = on,
            Command::Chat { id, text } => self.send_chat(id, &text).await,
            // The engine's loop stops on it before it gets here.
            Command::ShutDown => {}
        }
    }

    fn use_microphone(&mut self, name: Option<&str>) {
        let Some(m) = self.media.as_mut() else { return };
        match m.use_microphone(name) {
            Ok(id) => {
                self.config.audio_processor.reset();
                self.emit(Event::Device(DeviceSwitch { kind: DeviceKind::Microphone, id, unplugged: false }))
            }
            Err(e) => self.fail(EngineError::device(&e, "the microphone was not changed")),
        }
        self.send_room_media();
    }

    fn use_camera(&mut self, name: Option<&str>) {
        let hd = self.config.sources.hd;
        let Some(m) = self.media.as_mut() else { return };
        match m.use_camera(name, hd) {
            Ok(id) => self.emit(Event::Device(DeviceSwitch { kind: DeviceKind::Camera, id, unplugged: false })),
            Err(e) => self.fail(EngineError::device(&e, "the camera was not changed")),
        }
        self.send_room_media();
    }

    async fn send_chat(&mut self, id: Option<u32>, text: &str) {
        let Some(m) = self.media.as_mut() else {
            let message = "there is no call to send the message in".to_owned();
            return self.fail(EngineError::Chat { id, code: None, message });
        };
        match m.rtc.send_message(Channel::Reliable, CHAT_COMMAND, text.as_bytes()).await {
            Ok(seq) => {
                m.chats_in_flight.insert(seq, id);
                self.emit(Event::MessageSent { cmd: CHAT_COMMAND, seq, id });
            }
            Err(e) => self.fail(EngineError::Chat { id, code: Some(e.code().to_owned()), message: e.to_string() }),
        }
    }
}
