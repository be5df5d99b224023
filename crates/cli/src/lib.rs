//! `duet-cli`'s front on the call engine (`duet-call`): a [`Mode`] decides
//! what to do as the call goes (dial, answer, echo, stop), the engine's events
//! come out as JSON values (one line each on the terminal), and typed controls
//! go in.

pub mod checks;

use std::str::FromStr;
use std::time::Duration;

pub use duet_call::{
    AudioInput, AudioOutput, CHAT_COMMAND, Command, Feed, Processing, Ring, Sources, Suppression, VideoInput, VideoOut,
    VoiceSettings,
};
use duet_call::{CallState, Config, Engine, EngineError, Event};
use serde_json::Value;
use tokio::sync::mpsc;

/// What the front does with calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Call `peer` once signed in; stop when that call is over.
    Call { peer: String },
    /// Accept the first call; stop when it is over.
    Answer,
    /// Accept every call and send the caller's own audio and video back; run until the connection ends.
    Echo,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub user: String,
    pub token: String,
    pub udp_addrs: Vec<String>,
    pub audio_only: bool,
    /// Hang up this long after the call connected.
    pub duration: Option<Duration>,
    pub sources: Sources,
    /// Frames to draw (none for a headless client).
    pub video_out: Option<VideoOut>,
    /// What every captured frame passes through.
    pub processing: Option<Processing>,
    /// Media only through the server's TURN relay.
    pub relay_only: bool,
    /// CA certificates (PEM) trusted for an `https://` server besides the OS's trust store.
    pub ca_file: Option<std::path::PathBuf>,
}

/// A control line that is none of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown control \"{0}\"; use mute, unmute, camera on|off, speaker on|off, use camera|mic|speaker [NAME], \
     hangup, dial PEER [audio], accept [audio], decline or chat TEXT"
)]
pub struct UnknownControl(pub String);

/// A control typed on standard input: `mute`, `unmute`, `camera off`, `camera on`,
/// `speaker off`, `speaker on`, `use camera|mic|speaker [NAME]`, `hangup`,
/// `dial PEER [audio]`, `accept [audio]`, `decline`, `chat TEXT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control(pub Command);

impl FromStr for Control {
    type Err = UnknownControl;

    fn from_str(line: &str) -> Result<Self, UnknownControl> {
        let words: Vec<&str> = line.split_whitespace().collect();
        // A device name may have spaces; nothing after the kind means the default device.
        let name = |skip: usize| Some(words[skip..].join(" ")).filter(|n| !n.is_empty());
        let dial = |peer: &str, audio_only| Command::Dial { peer: peer.to_owned(), audio_only };
        Ok(Control(match words.as_slice() {
            ["use", "camera", ..] => Command::UseCamera(name(2)),
            ["use", "mic" | "microphone", ..] => Command::UseMicrophone(name(2)),
            ["use", "speaker", ..] => Command::UseSpeaker(name(2)),
            ["mute"] => Command::Mute(true),
            ["unmute"] => Command::Mute(false),
            ["camera", "off"] => Command::Camera(false),
            ["camera", "on"] => Command::Camera(true),
            ["speaker", "off"] => Command::MuteSpeaker(true),
            ["speaker", "on"] => Command::MuteSpeaker(false),
            ["hangup"] => Command::Hangup,
            ["dial", peer] => dial(peer, false),
            ["dial", peer, "audio"] => dial(peer, true),
            ["accept"] => Command::Accept { audio_only: false },
            ["accept", "audio"] => Command::Accept { audio_only: true },
            ["decline"] => Command::Decline,
            ["chat", ..] if words.len() > 1 => {
                let text = line.trim_start().strip_prefix("chat").unwrap_or_default().trim().to_owned();
                Command::Chat { id: None, text }
            }
            _ => return Err(UnknownControl(line.trim().to_owned())),
        }))
    }
}

/// An event as the JSON object `duet-cli` prints for it.
pub fn event_json(event: &Event) -> Value {
    serde_json::to_value(event).unwrap_or_default()
}

/// Runs until the call (or, for `echo`, the connection) ends. Returns the exit
/// code: 0 after a call that connected and was hung up, 1 otherwise.
pub async fn run(
    options: Options,
    mode: Mode,
    mut controls: mpsc::UnboundedReceiver<Command>,
    mut report: impl FnMut(Value),
) -> i32 {
    let config = Config {
        udp_addrs: options.udp_addrs.clone(),
        echo: mode == Mode::Echo,
        video_out: options.video_out.clone(),
        processing: options.processing.clone(),
        relay_only: options.relay_only,
        ca_file: options.ca_file.clone(),
        ..Config::new(options.server.clone(), options.token.clone(), options.sources.clone())
    };
    // The engine runs on this task (the main thread), as the call did before it had an engine.
    let (engine, mut events, run_engine) = Engine::start_here(config);
    let mut front = Front { mode, audio_only: options.audio_only, dialed: false, connected_once: false, code: None };
    let front = async move {
        let mut hangup_at = None;
        let mut controls_open = true;
        loop {
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { return front.code.unwrap_or(1) };
                    report(event_json(&event));
                    if let Event::State(change) = &event {
                        hangup_at = match change.state {
                            CallState::Connected => options.duration.map(|d| tokio::time::Instant::now() + d),
                            CallState::Ended(_) | CallState::Failed(_) => None,
                            _ => hangup_at,
                        };
                    }
                    for command in front.on_event(&event) {
                        let _ = engine.send(command);
                    }
                }
                control = controls.recv(), if controls_open => match control {
                    Some(command) => drop(engine.send(command)),
                    None => controls_open = false,
                },
                _ = sleep_until(hangup_at) => {
                    hangup_at = None;
                    let _ = engine.send(Command::Hangup);
                }
            }
        }
    };
    tokio::join!(run_engine, front).1
}

/// The mode's decisions as the engine reports.
struct Front {
    mode: Mode,
    audio_only: bool,
    dialed: bool,
    connected_once: bool,
    /// Set once the front has decided to stop; the engine is told to shut down.
    code: Option<i32>,
}

impl Front {
    /// What to tell the engine after `event`.
    fn on_event(&mut self, event: &Event) -> Vec<Command> {
        if self.code.is_some() {
            return Vec::new();
        }
        let state = match event {
            Event::State(change) => &change.state,
            Event::Error(EngineError::Dial { .. }) if matches!(self.mode, Mode::Call { .. }) => {
                return self.stop(1);
            }
            Event::AuthFailed { .. } | Event::CertificateRejected { .. } => return self.stop(1),
            _ => return Vec::new(),
        };
        if *state == CallState::Connected {
            self.connected_once = true;
        }
        match (state, &self.mode) {
            (CallState::Prepared, Mode::Call { peer }) if !self.dialed => {
                self.dialed = true;
                vec![Command::Dial { peer: peer.clone(), audio_only: self.audio_only }]
            }
            (CallState::Prepared, Mode::Call { .. }) => self.stop(if self.connected_once { 0 } else { 1 }),
            (CallState::Ringing, Mode::Answer | Mode::Echo) => vec![Command::Accept { audio_only: self.audio_only }],
            (CallState::Ended(_), Mode::Answer) => self.stop(if self.connected_once { 0 } else { 1 }),
            (CallState::Failed(_), Mode::Answer) => self.stop(1),
            _ => Vec::new(),
        }
    }

    fn stop(&mut self, code: i32) -> Vec<Command> {
        self.code = Some(code);
        vec![Command::ShutDown]
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
