//! `duet-cli`: a headless Duet client on the same crates as the app.
//!
//! ```sh
//! duet-cli --server http://127.0.0.1:8443 --user alice --token T call bob --synthetic --duration 12s
//! duet-cli --server http://127.0.0.1:8443 --user bob --token T answer --synthetic
//! duet-cli --server http://127.0.0.1:8443 --user echo --token T echo
//! ```
//! Prints one JSON object per line: every call state change and, each second,
//! the media statistics. Reads in-call controls from standard input, one per
//! line: `mute`, `unmute`, `camera off`, `camera on`, `speaker off`, `speaker on`,
//! `use camera|mic|speaker [NAME]`, `hangup`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use duet_cli::{AudioInput, AudioOutput, Control, Mode, Options, Sources, VideoInput};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(name = "duet-cli", version, about = "Headless Duet client")]
struct Cli {
    /// duet-server address, e.g. http://127.0.0.1:8443
    #[arg(long, env = "DUET_SERVER")]
    server: String,
    /// The user the token belongs to.
    #[arg(long)]
    user: String,
    /// An access token (`duet-server token issue USER`).
    #[arg(long, env = "DUET_TOKEN")]
    token: String,
    /// Local UDP address for media (a wildcard address leaves out loopback).
    #[arg(long, default_value = "0.0.0.0:0")]
    udp: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

/// What this side sends during a call.
#[derive(Args)]
struct CallArgs {
    /// No video: the call is (or is accepted as) audio only.
    #[arg(long)]
    audio_only: bool,
    /// Send the synthetic pattern and a tone instead of camera and microphone,
    /// and play nothing (each of --camera, --mic, --speaker overrides its part).
    #[arg(long)]
    synthetic: bool,
    /// Use a camera (by id or name; `--camera` alone: the first one), also with --synthetic.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    camera: Option<String>,
    /// The microphone to use (id or name, e.g. a PulseAudio source); the default one by default.
    #[arg(long)]
    mic: Option<String>,
    /// The speaker to play the peer on (id or name, e.g. a PulseAudio sink); the default one by default.
    #[arg(long)]
    speaker: Option<String>,
    /// Send 1280x720 at 30 fps instead of 960x540 at 15.
    #[arg(long)]
    hd: bool,
    /// Hang up after this long connected (e.g. 12s).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
}

#[derive(Subcommand)]
enum Command {
    /// Call PEER.
    Call {
        peer: String,
        #[command(flatten)]
        args: CallArgs,
    },
    /// Wait for a call and accept it.
    Answer {
        #[command(flatten)]
        args: CallArgs,
    },
    /// Accept every call and send the caller's own audio and video back.
    Echo,
}

impl CallArgs {
    fn sources(&self) -> Sources {
        let video = match (self.camera.as_deref(), self.synthetic) {
            (None, true) => VideoInput::Synthetic,
            (None | Some(""), _) => VideoInput::Camera(None),
            (Some(camera), _) => VideoInput::Camera(Some(camera.to_owned())),
        };
        let audio = match (&self.mic, self.synthetic) {
            (None, true) => AudioInput::Tone,
            (mic, _) => AudioInput::Microphone(mic.clone()),
        };
        let output = match (&self.speaker, self.synthetic) {
            (None, true) => AudioOutput::Nowhere,
            (speaker, _) => AudioOutput::Speaker(speaker.clone()),
        };
        Sources { video, audio, output, hd: self.hd }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let (mode, args) = match cli.command {
        Command::Call { peer, args } => (Mode::Call { peer }, Some(args)),
        Command::Answer { args } => (Mode::Answer, Some(args)),
        Command::Echo => (Mode::Echo, None),
    };
    let options = Options {
        server: cli.server,
        user: cli.user,
        token: cli.token,
        udp_addrs: cli.udp,
        audio_only: args.as_ref().is_some_and(|a| a.audio_only),
        duration: args.as_ref().and_then(|a| a.duration),
        sources: args.as_ref().map_or(Sources::SYNTHETIC, CallArgs::sources),
    };
    let (controls, controls_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            match line.parse::<Control>() {
                Ok(control) => {
                    if controls.send(control).is_err() {
                        break;
                    }
                }
                Err(message) => println!("{}", serde_json::json!({"event": "error", "message": message})),
            }
        }
    });
    let code = duet_cli::run(options, mode, controls_rx, |line| println!("{line}")).await;
    std::process::exit(code);
}
