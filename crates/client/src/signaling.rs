//! The connection to `duet-server`: authentication, requests with replies and
//! timeouts, and automatic reconnection with backoff that re-authenticates and
//! re-subscribes presence (pending invitations then arrive by themselves).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use duet_protocol::{Auth, ClientMessage, ErrorCode, Ping, PresenceSubscribe, ServerMessage, WS_PATH, decode_server};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::{Error, Result};

/// How to reach and authenticate with the server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `http://127.0.0.1:8443`.
    pub server: String,
    pub token: String,
    pub request_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// CA certificates (PEM) trusted for `https://` servers besides the OS's trust store.
    pub ca_file: Option<std::path::PathBuf>,
    /// How often the connection is checked with `ping` while [`SignalingClient::keep_alive`]
    /// is on (in a call); two unanswered in a row mean the connection is dead.
    pub ping_every: Duration,
}

impl ClientConfig {
    pub fn new(server: impl Into<String>, token: impl Into<String>) -> ClientConfig {
        ClientConfig {
            server: server.into(),
            token: token.into(),
            request_timeout: Duration::from_secs(10),
            // PROTOCOL.md "Staying in the call": from 250 ms, capped at 5 s.
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(5),
            ca_file: None,
            ping_every: Duration::from_secs(5),
        }
    }

    fn ws_url(&self) -> String {
        let base = self.server.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        format!("{base}{WS_PATH}")
    }
}

/// What the connection reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// Authenticated (again); pending invitations follow as messages.
    /// `echo_user`: who answers test calls on this server, when it has such a user.
    Connected { user_id: String, session_id: String, echo_user: Option<String> },
    /// The connection dropped; it is being re-established.
    Disconnected { reason: String },
    /// The server refused the token; the client stopped (log in again).
    AuthFailed { code: ErrorCode, message: String },
    /// The server's TLS certificate cannot be trusted (untrusted authority,
    /// expired, another name) or the CA file cannot be used: the client stopped,
    /// as retrying cannot help.
    CertificateRejected { message: String },
    /// The token was renewed before it expired: reconnects sign in with this one
    /// (a front that keeps the sign-in keeps this token instead).
    TokenRenewed { token: String, expires_at: u64 },
    /// A server event (not a reply to a request).
    Message(ServerMessage),
}

/// Longest a token is renewed before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(3600);

/// When to renew a token that expires at `expires_at` (unix ms), seen at `now_ms`:
/// an hour before, or halfway there when it has less than two hours left.
fn renew_in(expires_at: u64, now_ms: u64) -> Duration {
    let left = Duration::from_millis(expires_at.saturating_sub(now_ms));
    if left > RENEW_BEFORE * 2 { left - RENEW_BEFORE } else { left / 2 }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

enum Command {
    Request(ClientMessage, oneshot::Sender<Result<ServerMessage>>),
    Send(ClientMessage),
    Subscribe(Vec<String>),
    /// Check the connection with pings (in a call), or stop checking.
    KeepAlive(bool),
    /// The machine's addresses now: a connection from one no longer among them is dead.
    CheckPath(Vec<std::net::IpAddr>),
    /// Stop for good; the sender, when given, is dropped once the connection is closed.
    Close(Option<oneshot::Sender<()>>),
}

/// A handle to the signaling connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct SignalingClient {
    commands: mpsc::UnboundedSender<Command>,
    request_timeout: Duration,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl SignalingClient {
    /// Starts connecting in the background; events arrive on the returned receiver.
    pub fn connect(config: ClientConfig) -> (SignalingClient, mpsc::UnboundedReceiver<ClientEvent>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let request_timeout = config.request_timeout;
        tokio::spawn(run(config, rx, events));
        (SignalingClient { commands, request_timeout }, events_rx)
    }

    /// Sends a request and waits for its reply; an `error` reply becomes [`Error::Server`].
    pub async fn request(&self, msg: ClientMessage) -> Result<ServerMessage> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Request(msg, tx)).map_err(|_| Error::Closed)?;
        match tokio::time::timeout(self.request_timeout, rx).await {
            Err(_) => Err(Error::Timeout),
            Ok(Err(_)) => Err(Error::Closed),
            Ok(Ok(reply)) => reply,
        }
    }

    /// Sends a message without waiting for a reply.
    pub fn send(&self, msg: ClientMessage) -> Result<()> {
        self.commands.send(Command::Send(msg)).map_err(|_| Error::Closed)
    }

    /// Watches users' presence, also across reconnects.
    pub fn subscribe(&self, users: Vec<String>) -> Result<()> {
        self.commands.send(Command::Subscribe(users)).map_err(|_| Error::Closed)
    }

    /// Checks the connection with `ping` every [`ClientConfig::ping_every`] (on in a
    /// call, where a dead connection must be noticed faster than TCP does): two
    /// unanswered in a row drop it and reconnect at once.
    pub fn keep_alive(&self, on: bool) {
        let _ = self.commands.send(Command::KeepAlive(on));
    }

    /// The machine's addresses changed to `addresses`: a connection made from an
    /// address that is gone is dropped and made again at once, instead of waiting
    /// for pings to fail.
    pub fn check_path(&self, addresses: Vec<std::net::IpAddr>) {
        let _ = self.commands.send(Command::CheckPath(addresses));
    }

    /// Closes the connection for good.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close(None));
    }

    /// Closes the connection for good, after everything sent before has gone out:
    /// a process about to exit calls this so its last words (leaving a room) reach
    /// the server instead of the peer waiting for the server's watchdog.
    pub async fn close_and_flush(&self) {
        let (done, closed) = oneshot::channel();
        if self.commands.send(Command::Close(Some(done))).is_ok() {
            let _ = closed.await;
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Session {
    /// Reconnect after a pause, or `at_once` (a connection found dead by pings:
    /// the server is probably fine, the path to it was not).
    Lost { reason: String, at_once: bool },
    /// Stop for good.
    Stop,
}

async fn run(
    config: ClientConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<ClientEvent>,
) {
    let mut kept = Kept { watched: BTreeSet::new(), keep_alive: false, token: config.token.clone() };
    let mut backoff = config.backoff_min;
    loop {
        let reason = match connect(&config, &kept.token, &events).await {
            Ok((ws, expires_at)) => {
                backoff = config.backoff_min;
                match session(ws, &config, &mut commands, &events, &mut kept, expires_at).await {
                    Session::Stop => return,
                    Session::Lost { reason, at_once: true } => {
                        let _ = events.send(ClientEvent::Disconnected { reason });
                        continue;
                    }
                    Session::Lost { reason, .. } => reason,
                }
            }
            Err(Error::Server { code: code @ (ErrorCode::Unauthorized | ErrorCode::TokenExpired), message }) => {
                let _ = events.send(ClientEvent::AuthFailed { code, message });
                return;
            }
            Err(Error::Certificate(problem)) => {
                let message = format!("cannot connect securely to {}: {problem}", config.server);
                let _ = events.send(ClientEvent::CertificateRejected { message });
                return;
            }
            Err(e) => e.to_string(),
        };
        let _ = events.send(ClientEvent::Disconnected { reason });
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        let pause = backoff.mul_f64(jitter);
        backoff = (backoff * 2).min(config.backoff_max);
        // Requests made while disconnected fail at once instead of waiting for the timeout.
        let deadline = tokio::time::sleep(pause);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Close(_)) => return,
                    Some(Command::Request(_, reply)) => { let _ = reply.send(Err(Error::Disconnected)); }
                    Some(Command::Send(_)) => {}
                    Some(Command::Subscribe(users)) => kept.watched.extend(users),
                    Some(Command::KeepAlive(on)) => kept.keep_alive = on,
                    // Another network: worth trying now rather than after the pause.
                    Some(Command::CheckPath(_)) => {
                        backoff = config.backoff_min;
                        break;
                    }
                },
            }
        }
    }
}

/// Connects and signs in with `token`; returns the connection and when the token
/// expires (unix ms), if the server said.
async fn connect(
    config: &ClientConfig,
    token: &str,
    events: &mpsc::UnboundedSender<ClientEvent>,
) -> Result<(Ws, Option<u64>)> {
    let url = config.ws_url();
    let connector = match url.starts_with("wss://") {
        true => Some(tokio_tungstenite::Connector::Rustls(crate::tls::client_config(config.ca_file.as_deref())?)),
        false => None,
    };
    let (mut ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector).await.map_err(|e| {
            match crate::tls::certificate_problem(&e) {
                Some(problem) => Error::Certificate(problem),
                None => Error::Connect(format!("cannot reach {}: {e}", config.server)),
            }
        })?;
    let auth = ClientMessage::Auth(Auth { req: None, token: token.to_owned() });
    ws.send(Message::Text(auth.encode().into())).await.map_err(|e| Error::Connect(e.to_string()))?;
    let reply = tokio::time::timeout(config.request_timeout, next_message(&mut ws))
        .await
        .map_err(|_| Error::Timeout)?
        .ok_or_else(|| Error::Connect("the server closed the connection during authentication".into()))?;
    match reply {
        ServerMessage::AuthOk(ok) => {
            let expires_at = ok.token_expires_at;
            let connected =
                ClientEvent::Connected { user_id: ok.user_id, session_id: ok.session_id, echo_user: ok.echo_user };
            let _ = events.send(connected);
            Ok((ws, expires_at))
        }
        ServerMessage::Error(e) => Err(Error::from_reply(e)),
        other => Err(Error::Connect(format!("unexpected reply to auth: {other:?}"))),
    }
}

/// The address this side of the connection is bound to.
fn local_address(ws: &Ws) -> Option<std::net::IpAddr> {
    let tcp = match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp,
        tokio_tungstenite::MaybeTlsStream::Rustls(tls) => tls.get_ref().0,
        _ => return None,
    };
    tcp.local_addr().ok().map(|a| a.ip())
}

/// The next decodable server message, or `None` when the connection is gone.
async fn next_message(ws: &mut Ws) -> Option<ServerMessage> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => match decode_server(&text) {
                Ok(msg) => return Some(msg),
                Err(e) => tracing::warn!("ignoring a frame the client does not understand: {e}"),
            },
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// What outlives a connection: the users watched, whether it is checked with
/// pings, and the token to sign in with (renewed before it expires).
struct Kept {
    watched: BTreeSet<String>,
    keep_alive: bool,
    token: String,
}

impl Session {
    fn lost(reason: &str) -> Session {
        Session::Lost { reason: reason.to_owned(), at_once: false }
    }
}

async fn session(
    mut ws: Ws,
    config: &ClientConfig,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::UnboundedSender<ClientEvent>,
    kept: &mut Kept,
    // When the token expires (unix ms); unknown when the server does not say (then it is never renewed).
    token_expires_at: Option<u64>,
) -> Session {
    let mut pending: HashMap<u64, oneshot::Sender<Result<ServerMessage>>> = HashMap::new();
    let mut next_req: u64 = 1;
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + config.ping_every, config.ping_every);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Pings sent since the server was last heard from.
    let mut unanswered = 0;
    // The `token.renew` in flight, and when the next goes.
    let mut renewing: Option<u64> = None;
    let mut renew_at = token_expires_at.map(|at| Instant::now() + renew_in(at, unix_ms()));
    if !kept.watched.is_empty() {
        // With a `req`, the reply (`presence.ok`, current statuses) reaches the event
        // stream: whatever changed while we were away is known at once.
        let req = Some(next_req);
        next_req += 1;
        let msg =
            ClientMessage::PresenceSubscribe(PresenceSubscribe { req, users: kept.watched.iter().cloned().collect() });
        if ws.send(Message::Text(msg.encode().into())).await.is_err() {
            return Session::lost("connection lost");
        }
    }
    let outcome = loop {
        tokio::select! {
            cmd = commands.recv() => {
                let msg = match cmd {
                    None => {
                        let _ = ws.close(None).await;
                        break Session::Stop;
                    }
                    Some(Command::Close(done)) => {
                        let _ = ws.close(None).await;
                        drop(done);
                        break Session::Stop;
                    }
                    Some(Command::Request(mut msg, reply)) => {
                        let req = next_req;
                        next_req += 1;
                        msg.set_req(req);
                        pending.retain(|_, tx| !tx.is_closed());
                        pending.insert(req, reply);
                        msg
                    }
                    Some(Command::Send(msg)) => msg,
                    Some(Command::Subscribe(users)) => {
                        kept.watched.extend(users.iter().cloned());
                        ClientMessage::PresenceSubscribe(PresenceSubscribe { req: None, users })
                    }
                    Some(Command::KeepAlive(on)) => {
                        if on && !kept.keep_alive {
                            pings.reset();
                            unanswered = 0;
                        }
                        kept.keep_alive = on;
                        continue;
                    }
                    Some(Command::CheckPath(addresses)) => {
                        match local_address(&ws) {
                            Some(local) if !local.is_loopback() && !addresses.contains(&local) => {
                                let reason = format!("this machine's address {local} is gone");
                                break Session::Lost { reason, at_once: true };
                            }
                            _ => continue,
                        }
                    }
                };
                if ws.send(Message::Text(msg.encode().into())).await.is_err() {
                    break Session::lost("connection lost while sending");
                }
            }
            () = async { tokio::time::sleep_until(renew_at.expect("checked")).await }, if renew_at.is_some() => {
                let req = next_req;
                next_req += 1;
                renewing = Some(req);
                // Once a minute until it is answered.
                renew_at = Some(Instant::now() + Duration::from_secs(60));
                let renew = ClientMessage::TokenRenew(Ping { req: Some(req) });
                if ws.send(Message::Text(renew.encode().into())).await.is_err() {
                    break Session::lost("connection lost while sending");
                }
            }
            _ = pings.tick(), if kept.keep_alive => {
                if unanswered >= 2 {
                    let reason = format!("the server did not answer for {} s", (config.ping_every * 2).as_secs_f32());
                    break Session::Lost { reason, at_once: true };
                }
                let ping = ClientMessage::Ping(Ping { req: Some(next_req) });
                next_req += 1;
                unanswered += 1;
                // A send that blocks (a full socket buffer on a dead path) is a missed pong too.
                match tokio::time::timeout(config.ping_every, ws.send(Message::Text(ping.encode().into()))).await {
                    Ok(Ok(())) | Err(_) => {}
                    Ok(Err(_)) => break Session::lost("connection lost while sending"),
                }
            }
            incoming = next_message(&mut ws) => {
                let Some(msg) = incoming else { break Session::lost("connection closed by the server") };
                unanswered = 0;
                if let ServerMessage::Pong(_) = msg {
                    continue;
                }
                if let ServerMessage::TokenOk(ok) = &msg
                    && ok.req.is_some()
                    && ok.req == renewing
                {
                    renewing = None;
                    kept.token = ok.token.clone();
                    renew_at = Some(Instant::now() + renew_in(ok.expires_at, unix_ms()));
                    let _ = events.send(ClientEvent::TokenRenewed { token: ok.token.clone(), expires_at: ok.expires_at });
                    continue;
                }
                match msg.req().and_then(|req| pending.remove(&req)) {
                    Some(reply) => {
                        let result = match msg {
                            ServerMessage::Error(e) => Err(Error::from_reply(e)),
                            other => Ok(other),
                        };
                        let _ = reply.send(result);
                    }
                    None => { let _ = events.send(ClientEvent::Message(msg)); }
                }
            }
        }
    };
    for (_, reply) in pending {
        let _ = reply.send(Err(Error::Disconnected));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_an_hour_before_it_expires_or_halfway_when_it_has_less_than_two_hours() {
        let hour = 3_600_000;
        assert_eq!(renew_in(7 * 24 * hour, 0), Duration::from_millis(7 * 24 * hour - hour));
        assert_eq!(renew_in(10 * hour + 5_000, 5_000), Duration::from_millis(9 * hour));
        assert_eq!(renew_in(hour, 0), Duration::from_millis(hour / 2));
        assert_eq!(renew_in(4_000, 0), Duration::from_secs(2));
        assert_eq!(renew_in(1_000, 5_000), Duration::ZERO, "already expired: at once");
    }
}
