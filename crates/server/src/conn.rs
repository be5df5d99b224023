//! One WebSocket connection: authentication, then requests in and frames out.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use duet_protocol::{ClientMessage, ErrorCode, MAX_FRAME_BYTES, ServerMessage, decode_client};
use futures_util::SinkExt;

use crate::bus::{Frame, Outbox};
use crate::crypto::TokenError;
use crate::hub::{Hub, Session};
use crate::now_ms;

/// WebSocket close code "going away" (server shutting down).
const GOING_AWAY: u16 = 1001;
/// WebSocket close code "policy violation" (abuse, auth failure).
const POLICY: u16 = 1008;

/// Serves one upgraded connection until it closes.
pub async fn serve(hub: Arc<Hub>, mut socket: WebSocket) {
    let Some((user, req, token_expires_at)) = authenticate(&hub, &mut socket).await else { return };
    let session = Session { user, conn: hub.next_conn_id() };
    let outbox = Arc::new(Outbox::default());
    let ok = ServerMessage::AuthOk(duet_protocol::AuthOk {
        req,
        user_id: session.user.clone(),
        session_id: format!("{:x}", session.conn),
        echo_user: hub.config.echo_user.clone(),
        token_expires_at: Some(token_expires_at),
    });
    outbox.push(Frame::from(ok.encode()));
    hub.connect(&session, outbox.clone());
    let close = run(&hub, &session, &outbox, &mut socket).await;
    hub.disconnect(&session);
    if let Some((code, reason)) = close {
        let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
}

/// Waits for the `auth` message; returns the user, the message's `req` and when the
/// token expires, or answers the error (with that `req`) and returns `None` when it fails.
async fn authenticate(hub: &Hub, socket: &mut WebSocket) -> Option<(String, Option<u64>, u64)> {
    let first = tokio::time::timeout(hub.config.auth_timeout, socket.recv()).await;
    let (req, refusal) = match first {
        Err(_) => (None, (ErrorCode::Unauthorized, "no auth message within the time limit".to_string())),
        Ok(Some(Ok(Message::Text(text)))) => match decode_client(&text) {
            Ok(ClientMessage::Auth(auth)) => match check_token(hub, &auth.token) {
                Ok((user, expires_at)) => return Some((user, auth.req, expires_at)),
                Err(refusal) => (auth.req, refusal),
            },
            Ok(other) => (other.req(), (ErrorCode::Unauthorized, "the first message must be `auth`".into())),
            Err(e) => (None, (ErrorCode::Unauthorized, format!("the first message must be `auth`: {e}"))),
        },
        Ok(_) => return None,
    };
    let error = ServerMessage::error(req, refusal.0, refusal.1);
    let _ = socket.send(Message::Text(error.encode().into())).await;
    let close = CloseFrame { code: POLICY, reason: refusal.0.as_str().into() };
    let _ = socket.send(Message::Close(Some(close))).await;
    None
}

/// The user a token signs in and when it expires, or why it does not.
fn check_token(hub: &Hub, token: &str) -> Result<(String, u64), (ErrorCode, String)> {
    match hub.signer.verify_token(token, now_ms()) {
        Ok(claims) => match hub.store.user(&claims.sub) {
            Ok(Some(_)) => Ok((claims.sub, claims.exp)),
            Ok(None) => Err((ErrorCode::Unauthorized, "this account no longer exists".into())),
            Err(e) => Err((ErrorCode::Internal, format!("cannot check the account: {e}"))),
        },
        Err(TokenError::Expired) => Err((ErrorCode::TokenExpired, "your session has expired; log in again".into())),
        Err(TokenError::Invalid) => Err((ErrorCode::Unauthorized, "invalid token".into())),
    }
}

/// Runs the connection; returns the close frame to send, if any.
async fn run(
    hub: &Arc<Hub>,
    session: &Session,
    outbox: &Outbox,
    socket: &mut WebSocket,
) -> Option<(u16, &'static str)> {
    let config = &hub.config;
    // A random first ping spreads the keepalives of connections that arrived
    // together (after a restart, everyone reconnects at once) instead of pinging in waves.
    let first = config.keepalive_interval.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..1.0));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + first, config.keepalive_interval);
    let mut last_seen = Instant::now();
    let mut limiter = Limiter::new(config.rate_limit, config.rate_burst, config.abuse_limit);
    loop {
        tokio::select! {
            biased;
            _ = hub.stop.cancelled() => return Some((GOING_AWAY, "server shutting down")),
            _ = outbox.ready() => {
                if outbox.overflowed() {
                    return Some((POLICY, "too slow to read its messages"));
                }
                for frame in outbox.drain() {
                    if socket.feed(Message::Text(frame)).await.is_err() {
                        return None;
                    }
                }
                if socket.flush().await.is_err() {
                    return None;
                }
            }
            incoming = socket.recv() => {
                last_seen = Instant::now();
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        refuse(outbox, None, ErrorCode::BadRequest, "binary frames are not part of the protocol");
                        if limiter.strike() { return Some((POLICY, "too many invalid messages")); }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                };
                let started = Instant::now();
                if !limiter.allow() {
                    // The refusal carries the request's `req` so the client's request ends
                    // now, with the reason, instead of waiting for its timeout.
                    refuse(outbox, req_of(&text), ErrorCode::RateLimited, "too many messages; slow down");
                    if limiter.strike() { return Some((POLICY, "too many messages")); }
                    continue;
                }
                if text.len() > MAX_FRAME_BYTES {
                    let message = format!("frame of {} bytes exceeds the limit of {MAX_FRAME_BYTES} bytes", text.len());
                    refuse(outbox, None, ErrorCode::BadRequest, &message);
                    if limiter.strike() { return Some((POLICY, "too many invalid messages")); }
                    continue;
                }
                match decode_client(&text) {
                    Ok(msg) => {
                        if let Some(reply) = hub.handle(session, msg) {
                            outbox.push(Frame::from(reply.encode()));
                        }
                    }
                    Err(e) => {
                        refuse(outbox, e.req, ErrorCode::BadRequest, &e.message);
                        if limiter.strike() { return Some((POLICY, "too many invalid messages")); }
                    }
                }
                hub.metrics.message_handled(started.elapsed());
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > config.idle_timeout {
                    return Some((GOING_AWAY, "idle for too long"));
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// The `req` of a client frame, read without decoding the rest.
fn req_of(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Req {
        req: Option<u64>,
    }
    serde_json::from_str::<Req>(text).ok().and_then(|r| r.req)
}

fn refuse(outbox: &Outbox, req: Option<u64>, code: ErrorCode, message: &str) {
    outbox.push(Frame::from(ServerMessage::error(req, code, message).encode()));
}

/// A token bucket for messages plus a decaying count of strikes (refused or
/// malformed messages); only sustained abuse closes the connection.
#[derive(Debug)]
struct Limiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    strikes: f64,
    abuse_limit: f64,
    last: Instant,
}

impl Limiter {
    fn new(rate: u32, burst: u32, abuse_limit: u32) -> Limiter {
        Limiter {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            strikes: 0.0,
            abuse_limit: f64::from(abuse_limit.max(1)),
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.strikes = (self.strikes - elapsed * self.rate).max(0.0);
    }

    /// Whether one more message is allowed now.
    fn allow(&mut self) -> bool {
        self.refill();
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts a refused message; returns whether the connection should be closed.
    fn strike(&mut self) -> bool {
        self.refill();
        self.strikes += 1.0;
        self.strikes > self.abuse_limit
    }
}
