//! The echo user (`serve --echo-user`): a headless client inside the server that
//! answers every call and sends the caller's own audio and video back, so a
//! fresh installation always has someone to call.

use crate::{Server, create_user, now_ms};

/// A year: the echo's token is issued afresh at every start.
const TOKEN_TTL_MS: u64 = 365 * 24 * 3600 * 1000;

pub fn start(server: &Server, user: &str) -> crate::Result<()> {
    let hub = server.hub();
    // Nobody logs in as the echo user, so its password is random and never shown.
    let password: String = {
        use rand::Rng;
        use rand::distributions::Alphanumeric;
        rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
    };
    match create_user(&*hub.store, user, "Echo test call", &password) {
        Ok(()) | Err(crate::Error::UserExists(_)) => {}
        Err(e) => return Err(e),
    }
    let token = hub.signer.issue_token(user, now_ms() + TOKEN_TTL_MS);
    let addr = server.local_addr();
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    let options = duet_cli::Options {
        server: format!("http://{host}:{}", addr.port()),
        user: user.to_owned(),
        token,
        // Loopback for callers on this machine, the other interfaces for the rest.
        udp_addrs: vec!["127.0.0.1:0".to_owned(), "0.0.0.0:0".to_owned()],
        audio_only: false,
        duration: None,
        sources: duet_cli::Sources::SYNTHETIC,
        video_out: None,
        processing: None,
    };
    // The echo user takes no controls.
    let (_, controls) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let code =
            duet_cli::run(options, duet_cli::Mode::Echo, controls, |line| tracing::debug!(target: "echo", %line)).await;
        tracing::error!(code, "the echo user stopped");
    });
    Ok(())
}
