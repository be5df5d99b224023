//! The echo user: a bot on the call engine that signs in like any client,
//! answers every call and sends the caller's own audio and video back, so a
//! fresh installation always has someone to call (the "Make a test call"
//! button). `duet-server serve --echo-user NAME` starts the `duet-echo`
//! binary next to it; the desktop app's built-in server runs [`run`] in process.
//!
//! It serves several callers at once: it signs in once per line, each line an
//! engine (one connection, one call) of its own. The server rings one free line
//! per invitation and answers `test_line_busy` when every line is taken
//! (docs/protocol.md, "the echo user's lines").

use duet_call::{CallState, Command, Config, Engine, Event, Sources};
use tokio::task::JoinSet;

/// Lines of `duet-echo` unless told otherwise: a team's rollout day.
pub const DEFAULT_LINES: usize = 8;

/// Most lines one echo user may have.
pub const MAX_LINES: usize = 64;

/// Where the echo user signs in, and on how many lines.
#[derive(Debug, Clone)]
pub struct EchoLogin {
    /// duet-server's address, e.g. `http://127.0.0.1:8443`.
    pub server: String,
    pub user: String,
    pub token: String,
    /// How many callers it serves at once (1 to [`MAX_LINES`]).
    pub lines: usize,
    /// CA certificates (PEM) trusted for an `https://` server besides the OS's trust store.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Why the echo user stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EchoError {
    /// The server does not accept its token (expired, or the user is gone).
    #[error("the server refused the echo user's token: {0}")]
    Refused(String),
    /// The connection ended for good.
    #[error("the echo user's connection ended")]
    Disconnected,
    /// The server's TLS certificate cannot be trusted.
    #[error("{0}")]
    Certificate(String),
    #[error("the echo user needs 1 to {MAX_LINES} lines, not {0}")]
    Lines(usize),
}

/// Answers calls on every line until a line's connection ends or the token is refused.
pub async fn run(login: EchoLogin) -> Result<(), EchoError> {
    if !(1..=MAX_LINES).contains(&login.lines) {
        return Err(EchoError::Lines(login.lines));
    }
    let mut lines = JoinSet::new();
    for line in 1..=login.lines {
        lines.spawn(serve_line(login.clone(), line));
    }
    // Every line runs until it fails; the first failure stops them all (dropping the set).
    let first = lines.join_next().await.expect("at least one line");
    first.unwrap_or(Err(EchoError::Disconnected))
}

/// One line: an engine that answers each call it is rung for.
async fn serve_line(login: EchoLogin, line: usize) -> Result<(), EchoError> {
    let config = Config {
        // Loopback for callers on this machine, the other interfaces for the rest.
        udp_addrs: vec!["127.0.0.1:0".to_owned(), "0.0.0.0:0".to_owned()],
        echo: true,
        watch_devices: false,
        ca_file: login.ca_file,
        ..Config::new(login.server, login.token, Sources::SYNTHETIC)
    };
    let (engine, mut events) = Engine::start(config);
    let user = login.user;
    // An answered call whose caller never joins the room fails after the engine's
    // connecting timeout (duet_client::CONNECT_WITHIN), which frees the line.
    loop {
        let event = events.recv().await;
        let Some(event) = event else { return Err(EchoError::Disconnected) };
        match &event {
            Event::State(change) => {
                if change.state == CallState::Ringing {
                    let _ = engine.send(Command::Accept { audio_only: false });
                }
                tracing::info!(%user, line, state = change.state.name(), "call");
            }
            Event::AuthFailed { message, .. } => return Err(EchoError::Refused(message.clone())),
            Event::CertificateRejected { message } => return Err(EchoError::Certificate(message.clone())),
            Event::Error(error) => tracing::warn!(%user, line, %error, "call"),
            _ => tracing::debug!(%user, line, ?event),
        }
    }
}
