//! Duet's call engine: signaling (`duet-client`), the WebRTC session
//! (`duet-rtc`) and media (`duet-media`) composed into one call at a time.
//!
//! Every front (the desktop app, `duet-cli`, the echo user, the benches) drives
//! it the same way:
//!
//! ```no_run
//! # async fn example() {
//! use duet_call::{Command, Config, Engine, Event, Sources};
//! let config = Config::new("http://127.0.0.1:8443", "TOKEN", Sources::SYNTHETIC);
//! let (engine, mut events) = Engine::start(config);
//! engine.send(Command::Dial { peer: "bob".into(), audio_only: false }).ok();
//! while let Some(event) = events.recv().await {
//!     if let Event::State(change) = &event {
//!         println!("{}", change.state.name());
//!     }
//! }
//! # }
//! ```
//!
//! Inside, one task owns the call's state and reacts to four kinds of input,
//! each in its own module: the call manager's events (`signaling`), the media
//! session's packets and frames (`media`, `session`), the commands (`control`)
//! and the devices plugged in or out (`devices`); timers pace audio, the
//! bitrate and the per-second stats.

mod audio;
mod command;
mod control;
mod devices;
mod engine;
mod event;
mod media;
mod path;
mod session;
mod signaling;
mod stats;

use std::time::Duration;

use duet_client::{CallEvent, CallManager, ClientConfig, ManagerConfig};
use tokio::sync::mpsc;

pub use audio::{AudioProcessor, Passthrough, SharedProcessor};
pub use command::{
    AudioInput, AudioOutput, CHAT_COMMAND, Command, Feed, MakeProcessor, Processing, Ring, ShowFrame, Sources,
    VideoInput, VideoOut,
};
pub use duet_client::{CallState, Direction, EndReason, FailReason};
pub use duet_media::audio::{Suppression, VoiceSettings, VoiceStats};
pub use event::{
    CallStats, CallSummary, DeviceKind, DeviceNames, DeviceSwitch, EngineError, Event, MediaChange, MediaSent,
    MediaState, PeerMedia, StateChange,
};
pub use path::{Interfaces, SystemInterfaces};

/// What the engine needs besides a connection.
#[derive(Debug, Clone)]
pub struct Config {
    /// duet-server's address and a token for it ([`Engine::start`] connects with them).
    pub server: String,
    pub token: String,
    /// Local UDP addresses for media (a wildcard address leaves out loopback).
    pub udp_addrs: Vec<String>,
    /// What calls capture from and play to (changed with [`Command::UseSources`]).
    pub sources: Sources,
    /// Send every caller's own audio and video back (the echo user), and never ring.
    pub echo: bool,
    /// Read the device lists every second, to report plugs and replace an
    /// unplugged device in use (off for a bot with no devices).
    pub watch_devices: bool,
    /// Read this machine's addresses, to restart ICE at once when they change (a
    /// new network) instead of waiting for media to stop.
    pub watch_network: bool,
    /// Frames to draw (none for a headless client).
    pub video_out: Option<VideoOut>,
    /// What every captured frame passes through (the app's beauty filter).
    pub processing: Option<Processing>,
    /// What this side's voice passes through before it is encoded.
    pub audio_processor: SharedProcessor,
    /// Media only through the server's TURN relay: the peer never learns this side's
    /// addresses ("Always relay calls"; a call fails clearly where no relay is offered).
    pub relay_only: bool,
    /// CA certificates (PEM) trusted for an `https://` server besides the OS's trust store.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Config {
    pub fn new(server: impl Into<String>, token: impl Into<String>, sources: Sources) -> Config {
        let voice = sources.voice;
        Config {
            server: server.into(),
            token: token.into(),
            udp_addrs: vec!["0.0.0.0:0".to_owned()],
            sources,
            echo: false,
            watch_devices: true,
            watch_network: true,
            video_out: None,
            processing: None,
            audio_processor: SharedProcessor::voice(voice),
            relay_only: false,
            ca_file: None,
        }
    }
}

/// The engine stopped (shut down, signed out, or its connection ended): a command cannot reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the call engine has stopped")]
pub struct Stopped;

/// Starts engines.
pub struct Engine;

impl Engine {
    /// Connects to `config.server` and runs until [`Command::ShutDown`], a
    /// refused token or the end of the connection; the event stream ends then.
    pub fn start(config: Config) -> (EngineHandle, mpsc::UnboundedReceiver<Event>) {
        let (manager, calls) = connect(&config);
        Engine::attach(manager, calls, config)
    }

    /// Runs on a call manager that is already connected (the desktop app signs
    /// in first, then hands its connection over).
    pub fn attach(
        manager: CallManager,
        calls: mpsc::UnboundedReceiver<CallEvent>,
        config: Config,
    ) -> (EngineHandle, mpsc::UnboundedReceiver<Event>) {
        let (mut handle, events, run) = prepare(manager, calls, config);
        handle.task = std::sync::Arc::new(std::sync::Mutex::new(Some(tokio::spawn(run))));
        (handle, events)
    }

    /// Like [`Engine::start`], but the engine runs in the returned future, on
    /// whichever task polls it: a front that has a thread to spare (`duet-cli`'s
    /// main thread) keeps the engine's work (opening sources, setting up the
    /// session) off the runtime's workers, which carry the network.
    pub fn start_here(
        config: Config,
    ) -> (EngineHandle, mpsc::UnboundedReceiver<Event>, impl std::future::Future<Output = ()> + Send) {
        let (manager, calls) = connect(&config);
        prepare(manager, calls, config)
    }
}

fn connect(config: &Config) -> (CallManager, mpsc::UnboundedReceiver<CallEvent>) {
    let client = ClientConfig { ca_file: config.ca_file.clone(), ..ClientConfig::new(&config.server, &config.token) };
    CallManager::start(ManagerConfig::new(client))
}

fn prepare(
    manager: CallManager,
    calls: mpsc::UnboundedReceiver<CallEvent>,
    config: Config,
) -> (EngineHandle, mpsc::UnboundedReceiver<Event>, impl std::future::Future<Output = ()> + Send) {
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (events, events_rx) = mpsc::unbounded_channel();
    let run = {
        let manager = manager.clone();
        async move {
            engine::Engine::new(manager.clone(), config, events).run(calls, commands_rx).await;
            // A call just hung up has sent its `room.leave`; it must reach the server before
            // the process exits, or the peer waits for the server's watchdog instead.
            let _ = tokio::time::timeout(SHUT_DOWN_WAIT, manager.shut_down()).await;
        }
    };
    let handle = EngineHandle { commands, manager, task: Default::default() };
    (handle, events_rx, run)
}

/// How long leaving waits for the last messages to reach the server.
const SHUT_DOWN_WAIT: Duration = Duration::from_secs(2);

/// Commands go to a running engine through its handle; clones share it.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    manager: CallManager,
    task: std::sync::Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl EngineHandle {
    /// Hands `command` to the engine; what happens arrives as events.
    pub fn send(&self, command: Command) -> Result<(), Stopped> {
        self.commands.send(command).map_err(|_| Stopped)
    }

    /// The signaling connection, for requests outside calls (contacts, history).
    pub fn client(&self) -> &duet_client::SignalingClient {
        self.manager.client()
    }

    /// Hangs up a running call, stops the engine, and waits (at most `wait`)
    /// until its last messages have gone out.
    pub async fn shut_down(&self, wait: Duration) {
        let _ = self.send(Command::Hangup);
        let _ = self.send(Command::ShutDown);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut task) = task
            && tokio::time::timeout(wait, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}
