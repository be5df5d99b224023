//! The echo user: a bot on the call engine that signs in like any client,
//! answers every call and sends the caller's own audio and video back, so a
//! fresh installation always has someone to call (the "Make a test call"
//! button). `duet-server serve --echo-user NAME` starts the `duet-echo`
//! binary next to it; the desktop app's built-in server runs [`run`] in process.

use duet_call::{CallState, Command, Config, Engine, Event, Sources};

/// Where the echo user signs in.
#[derive(Debug, Clone)]
pub struct EchoLogin {
    /// duet-server's address, e.g. `http://127.0.0.1:8443`.
    pub server: String,
    pub user: String,
    pub token: String,
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
}

/// Answers calls until the connection ends or the token is refused.
pub async fn run(login: EchoLogin) -> Result<(), EchoError> {
    let config = Config {
        // Loopback for callers on this machine, the other interfaces for the rest.
        udp_addrs: vec!["127.0.0.1:0".to_owned(), "0.0.0.0:0".to_owned()],
        echo: true,
        watch_devices: false,
        ..Config::new(login.server, login.token, Sources::SYNTHETIC)
    };
    let (engine, mut events) = Engine::start(config);
    while let Some(event) = events.recv().await {
        match &event {
            Event::State(change) if change.state == CallState::Ringing => {
                let _ = engine.send(Command::Accept { audio_only: false });
            }
            Event::AuthFailed { message, .. } => return Err(EchoError::Refused(message.clone())),
            Event::State(change) => tracing::info!(user = %login.user, state = change.state.name(), "call"),
            Event::Error(error) => tracing::warn!(user = %login.user, %error, "call"),
            _ => tracing::debug!(user = %login.user, ?event),
        }
    }
    Err(EchoError::Disconnected)
}
