//! `duet-cli`: a headless Duet client on the same crates as the app.
//!
//! ```sh
//! duet-cli --server http://127.0.0.1:8443 --user alice --token T call bob --synthetic --duration 12s
//! duet-cli --server http://127.0.0.1:8443 --user bob --token T answer --synthetic
//! duet-cli --server http://127.0.0.1:8443 --user echo --token T echo
//! ```
//! Prints one JSON object per line: every call state change and, each second,
//! the media statistics.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use duet_cli::{Mode, Options};

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
    /// Send the synthetic pattern and a tone instead of camera and microphone.
    #[arg(long)]
    synthetic: bool,
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

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let (mode, args) = match cli.command {
        Command::Call { peer, args } => (Mode::Call { peer }, args),
        Command::Answer { args } => (Mode::Answer, args),
        Command::Echo => (Mode::Echo, CallArgs { audio_only: false, synthetic: true, duration: None }),
    };
    let CallArgs { audio_only, synthetic, duration } = args;
    if !synthetic {
        eprintln!("duet-cli: camera and microphone capture are not available in duet-cli yet; pass --synthetic");
        std::process::exit(2);
    }
    let options =
        Options { server: cli.server, user: cli.user, token: cli.token, udp_addrs: cli.udp, audio_only, duration };
    let code = duet_cli::run(options, mode, |line| println!("{line}")).await;
    std::process::exit(code);
}
