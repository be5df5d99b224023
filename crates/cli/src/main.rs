//! `duet-cli`: a headless Duet client on the same crates as the app.
//!
//! ```sh
//! duet-cli --server http://127.0.0.1:8443 --user alice --token T call bob --synthetic --duration 12s
//! duet-cli --server http://127.0.0.1:8443 --user bob --token T answer --synthetic
//! duet-cli --server http://127.0.0.1:8443 --user echo --token T echo
//! duet-cli --server http://127.0.0.1:8443 --token T speed-test --up 5000 --down 5000
//! duet-cli [--server URL --token T] doctor [--json] [--save DIR]
//! ```
//! Calls print one JSON object per line: every call state change and, each second,
//! the media statistics. Reads in-call controls from standard input, one per
//! line: `mute`, `unmute`, `camera off`, `camera on`, `speaker off`, `speaker on`,
//! `use camera|mic|speaker [NAME]`, `hangup`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use duet_cli::{
    AudioInput, AudioOutput, Control, Mode, Options, Sources, Suppression, VideoInput, VoiceSettings, checks,
};
use duet_devices::doctor::DoctorOptions;
use duet_devices::{CameraChoice, SpeedTestParams};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(name = "duet-cli", version, about = "Headless Duet client")]
struct Cli {
    /// duet-server address, e.g. http://127.0.0.1:8443
    #[arg(long, env = "DUET_SERVER")]
    server: Option<String>,
    /// The user the token belongs to (calls need it).
    #[arg(long)]
    user: Option<String>,
    /// An access token (`duet-server token issue USER`).
    #[arg(long, env = "DUET_TOKEN")]
    token: Option<String>,
    /// Local UDP address for media (a wildcard address leaves out loopback).
    #[arg(long, default_value = "0.0.0.0:0")]
    udp: Vec<String>,
    /// Send media only through the server's TURN relay: the peer never learns this
    /// machine's addresses (a call fails clearly where the server offers no relay).
    #[arg(long)]
    relay_only: bool,
    /// CA certificates (PEM) to trust for an https:// server, besides the system's trust store.
    #[arg(long, env = "DUET_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
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
    /// Send the microphone's echo of the speaker as it comes (no echo cancellation).
    #[arg(long)]
    no_aec: bool,
    /// Send background noise as it comes (no noise suppression).
    #[arg(long, conflicts_with = "ns")]
    no_ns: bool,
    /// How hard background noise is suppressed.
    #[arg(long, value_enum, default_value_t = NoiseLevel::Moderate)]
    ns: NoiseLevel,
    /// Send the microphone's level as it comes (no automatic gain).
    #[arg(long)]
    no_agc: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum NoiseLevel {
    Moderate,
    High,
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
    /// Measure loss, round trip and bandwidth to the server (needs --server and --token).
    /// Prints progress lines, then the result; exits 1 when the test failed.
    SpeedTest {
        /// Uplink bandwidth to test up to, kbps (10–5000; 0: don't test).
        #[arg(long, default_value_t = 5000)]
        up: u32,
        /// Downlink bandwidth to test up to, kbps (10–5000; 0: don't test).
        #[arg(long, default_value_t = 5000)]
        down: u32,
    },
    /// Run every check that needs no person (camera, microphone, speaker, and the
    /// network when --server and --token are given) and print the report;
    /// exits 1 when something is broken.
    Doctor {
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Check the synthetic pattern instead of a camera.
        #[arg(long)]
        synthetic_camera: bool,
        /// The camera, microphone and speaker to check (id or name); the defaults otherwise.
        #[arg(long)]
        camera: Option<String>,
        #[arg(long)]
        mic: Option<String>,
        #[arg(long)]
        speaker: Option<String>,
        /// Expected bandwidths for the network check, kbps.
        #[arg(long, default_value_t = 5000)]
        up: u32,
        #[arg(long, default_value_t = 5000)]
        down: u32,
        /// Also save the report (JSON and HTML) into this directory.
        #[arg(long)]
        save: Option<std::path::PathBuf>,
    },
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
        let voice = VoiceSettings {
            echo_cancellation: !self.no_aec,
            noise_suppression: match (self.no_ns, self.ns) {
                (true, _) => Suppression::Off,
                (false, NoiseLevel::Moderate) => Suppression::Moderate,
                (false, NoiseLevel::High) => Suppression::High,
            },
            auto_gain: !self.no_agc,
        };
        Sources { video, audio, output, hd: self.hd, ring: duet_cli::Ring::DEFAULT, first_frame: 0, voice }
    }
}

#[tokio::main]
async fn main() {
    // Standard output is the JSON lines; a log, when asked for (RUST_LOG), goes to standard error.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let cli = Cli::parse();
    let (mode, args) = match cli.command {
        Command::Call { peer, args } => (Mode::Call { peer }, Some(args)),
        Command::Answer { args } => (Mode::Answer, Some(args)),
        Command::Echo => (Mode::Echo, None),
        Command::SpeedTest { up, down } => {
            let (Some(server), Some(token)) = (cli.server, cli.token) else {
                fail("the speed test needs --server and --token")
            };
            let params = SpeedTestParams { server, token, expected_up_kbps: up, expected_down_kbps: down };
            std::process::exit(checks::speed_test(&params, |line| println!("{line}")).await)
        }
        Command::Doctor { json, synthetic_camera, camera, mic, speaker, up, down, save } => {
            let network = cli.server.zip(cli.token).map(|(server, token)| SpeedTestParams {
                server,
                token,
                expected_up_kbps: up,
                expected_down_kbps: down,
            });
            let camera = if synthetic_camera { CameraChoice::Synthetic } else { CameraChoice::Device(camera) };
            let options = DoctorOptions { camera, microphone: mic, speaker, network };
            std::process::exit(checks::doctor(options, json, save.as_deref(), |line| println!("{line}")).await)
        }
    };
    let need = |value: Option<String>, flag: &str| value.unwrap_or_else(|| fail(&format!("calls need {flag}")));
    let options = Options {
        server: need(cli.server, "--server"),
        user: need(cli.user, "--user"),
        token: need(cli.token, "--token"),
        udp_addrs: cli.udp,
        audio_only: args.as_ref().is_some_and(|a| a.audio_only),
        duration: args.as_ref().and_then(|a| a.duration),
        sources: args.as_ref().map_or(Sources::SYNTHETIC, CallArgs::sources),
        video_out: None,
        processing: None,
        relay_only: cli.relay_only,
        ca_file: cli.ca_file,
    };
    let (controls, controls_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            match line.parse::<Control>() {
                Ok(Control(command)) => {
                    if controls.send(command).is_err() {
                        break;
                    }
                }
                Err(unknown) => println!("{}", serde_json::json!({"event": "error", "message": unknown.to_string()})),
            }
        }
    });
    let code = duet_cli::run(options, mode, controls_rx, |line| println!("{line}")).await;
    std::process::exit(code);
}

/// Says what is missing and exits with clap's usage-error code.
fn fail(message: &str) -> ! {
    eprintln!("duet-cli: {message}");
    std::process::exit(2)
}
