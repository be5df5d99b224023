//! The task that owns a call's state: it waits on every input and hands each
//! to the module that knows about it.

use std::time::{Duration, Instant};

use duet_client::{CallEvent, CallManager};
use duet_media::DeviceWatcher;
use duet_media::audio::{FRAME, Mixer};
use duet_protocol::RoomMedia;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::devices::Speakers;
use crate::event::{EngineError, Event, MediaChange, MediaState};
use crate::media::{AUDIO_FRAME, AudioIn, FOLLOW_INTERVAL, Media};
use crate::path::PATH_CHECK;
use crate::session::{MediaInput, next_media};
use crate::{Command, Config, SystemInterfaces};

/// How often the device lists are read again, to notice plugs and unplugs.
const DEVICE_POLL: Duration = Duration::from_secs(1);

pub(crate) struct Engine {
    pub manager: CallManager,
    pub config: Config,
    /// The next call (or the one being accepted) is audio only.
    pub audio_only: bool,
    pub events: mpsc::UnboundedSender<Event>,
    clock: Instant,
    /// Ringtone, ringback and the peer's voice all play through the mixer.
    pub mixer: Mixer,
    pub speakers: Speakers,
    /// The current call's media, once it connected.
    pub media: Option<Media>,
    /// Signals of a call whose media is not set up yet.
    pub early_signals: Vec<Value>,
    /// What each peer said it sends, by user (the echo mirrors it).
    pub peers: std::collections::BTreeMap<String, RoomMedia>,
    /// Since when the two talk.
    pub talking_since: Option<Instant>,
    /// Whether the signaling connection is up (what is signaled while it is down is lost).
    pub signaling_online: bool,
    /// Where devices in the call report failures while running.
    pub device_errors: mpsc::UnboundedSender<duet_media::Error>,
    device_errors_rx: Option<mpsc::UnboundedReceiver<duet_media::Error>>,
}

/// Whether the engine goes on after an input.
pub(crate) enum Flow {
    Continue,
    Stop,
}

impl Engine {
    pub fn new(manager: CallManager, config: Config, events: mpsc::UnboundedSender<Event>) -> Engine {
        let mixer = Mixer::new();
        let processor = config.audio_processor.clone();
        mixer.set_far_end(Some(std::sync::Arc::new(move |played: &[f32]| processor.far_end(played))));
        let (device_errors, device_errors_rx) = mpsc::unbounded_channel();
        let speakers = Speakers::new(mixer.clone(), device_errors.clone());
        Engine {
            manager,
            config,
            audio_only: false,
            events,
            clock: Instant::now(),
            mixer,
            speakers,
            media: None,
            early_signals: Vec::new(),
            peers: Default::default(),
            talking_since: None,
            signaling_online: true,
            device_errors,
            device_errors_rx: Some(device_errors_rx),
        }
    }

    pub fn emit(&self, event: Event) {
        // Nobody listening is not an error: a front may stop reading before the engine stops.
        let _ = self.events.send(event);
    }

    pub fn fail(&self, error: EngineError) {
        self.emit(Event::Error(error));
    }

    /// A monotonic clock in µs, for rates and render times.
    pub fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }

    /// Runs until [`Command::ShutDown`], a refused token or the end of the call manager.
    pub async fn run(
        mut self,
        mut calls: mpsc::UnboundedReceiver<CallEvent>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let output = self.config.sources.output.clone();
        self.speakers.open_for(&output, "the peer will not be heard", &self.events);
        let mut device_errors = self.device_errors_rx.take().expect("taken once");
        let (device_list_tx, mut device_lists) = mpsc::unbounded_channel();
        let _watcher = self
            .config
            .watch_devices
            .then(|| DeviceWatcher::start(DEVICE_POLL, move |list| drop(device_list_tx.send(list.clone()))));
        let mut addresses = match self.config.watch_network {
            true => crate::path::watch_addresses(SystemInterfaces),
            false => mpsc::unbounded_channel().1,
        };
        let mut path_tick = tokio::time::interval(PATH_CHECK);
        let mut audio_tick = tokio::time::interval(AUDIO_FRAME);
        let mut stats_tick = tokio::time::interval(Duration::from_secs(1));
        let mut follow_tick = tokio::time::interval(FOLLOW_INTERVAL);
        let mut commands_open = true;
        loop {
            let audio_running = self.media.as_ref().is_some_and(|m| m.connected && !m.echo);
            let connect_by = self.media.as_ref().filter(|m| !m.connected).map(|m| m.connect_by);
            let media_overdue = async {
                match connect_by {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let flow = tokio::select! {
                event = calls.recv() => match event {
                    Some(event) => self.on_call_event(event).await,
                    None => Flow::Stop,
                },
                input = next_media(&mut self.media) => {
                    self.on_media_input(input).await;
                    Flow::Continue
                }
                _ = audio_tick.tick(), if audio_running => {
                    self.on_audio_frame().await;
                    Flow::Continue
                }
                command = commands.recv(), if commands_open => match command {
                    Some(Command::ShutDown) => Flow::Stop,
                    Some(command) => {
                        self.on_command(command).await;
                        Flow::Continue
                    }
                    // Nobody will send commands: the engine goes on (the echo user takes none).
                    None => {
                        commands_open = false;
                        Flow::Continue
                    }
                },
                Some(list) = device_lists.recv() => {
                    self.on_device_list(&list);
                    Flow::Continue
                }
                Some(error) = device_errors.recv() => {
                    self.fail(EngineError::device(&error, "check the device and the system's sound settings"));
                    Flow::Continue
                }
                _ = follow_tick.tick() => {
                    if let Some(m) = self.media.as_mut().filter(|m| m.connected) {
                        m.follow_estimate(Instant::now());
                    }
                    Flow::Continue
                }
                _ = stats_tick.tick() => {
                    self.on_stats_second().await;
                    Flow::Continue
                }
                _ = path_tick.tick() => {
                    self.check_path().await;
                    Flow::Continue
                }
                Some(list) = addresses.recv() => {
                    self.on_addresses_changed(&list).await;
                    Flow::Continue
                }
                () = media_overdue => {
                    self.on_media_unreachable().await;
                    Flow::Continue
                }
            };
            if let Flow::Stop = flow {
                return;
            }
        }
    }

    /// Every 20 ms of a connected call: the tone's next frame (the microphone
    /// delivers its own), and the voice played out on the engine's clock when
    /// there is no speaker.
    async fn on_audio_frame(&mut self) {
        let Some(m) = self.media.as_mut() else { return };
        let muted = m.mic_muted();
        if let AudioIn::Tone(tone) = &mut m.audio_in
            && !muted
        {
            // A test signal: sent exactly as generated.
            let frame = tone.next_frame();
            m.send_audio_frame(&frame).await;
        }
        // Without a speaker the engine's clock plays the voice out (and keeps its stats true).
        if !self.speakers.is_open() {
            self.mixer.fill(&mut [0.0; FRAME]);
        }
    }

    async fn on_stats_second(&mut self) {
        let now = self.now_us();
        let Some(m) = self.media.as_mut().filter(|m| m.connected) else { return };
        m.stats.network = m.rtc.network_stats().await;
        let heard = m.path.last_heard.elapsed() < crate::path::MEDIA_STOPPED_AFTER;
        m.stats.quality = duet_rtc::quality::rate_heard(&m.stats.network, heard);
        m.stats.audio = self.mixer.voice_stats();
        // Only a microphone's sound is processed (not the tone, nor the echo user's mirror).
        m.stats.voice = matches!(m.audio_in, AudioIn::Microphone { .. }).then(|| self.config.audio_processor.stats());
        // Each side shows both qualities (seed 004).
        let _ = m.rtc.send_quality(m.stats.quality).await;
        let stats = m.stats.snapshot(now);
        self.emit(Event::Stats(Box::new(stats)));
    }

    /// ICE and DTLS found no path to the peer in time (or ICE gave up): the call
    /// fails saying so. The media is dropped, so this happens once.
    pub(crate) async fn on_media_unreachable(&mut self) {
        let Some(m) = self.media.take() else { return };
        let _ = m.rtc.close().await;
        self.emit(Event::Media(MediaChange { state: MediaState::Failed, at_ms: None }));
        let _ = self.manager.media_failed(&duet_client::media_unreachable(&m.peer)).await;
    }

    /// A media input of the current call.
    async fn on_media_input(&mut self, input: MediaInput) {
        match input {
            MediaInput::Rtc(event) => self.on_rtc_event(event).await,
            MediaInput::Encoded(Some(encoded)) => {
                if let Some(m) = self.media.as_mut() {
                    m.send_encoded(&encoded).await;
                }
            }
            MediaInput::Encoded(None) => {
                self.fail(EngineError::Device {
                    code: Some(-1301),
                    message: "the camera stopped; the call goes on without video".into(),
                });
                if let Some(m) = self.media.as_mut() {
                    m.camera_stopped();
                }
                self.send_room_media();
            }
            MediaInput::Microphone(mut frame) => {
                let Some(m) = self.media.as_mut().filter(|m| m.connected) else { return };
                // Muted too, so the canceller keeps up with the echo and unmuting sends none.
                self.config.audio_processor.process_capture(&mut frame);
                if !m.mic_muted() {
                    m.send_audio_frame(&frame).await;
                }
            }
        }
    }
}
