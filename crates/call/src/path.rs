//! Keeping a call's media path (PROTOCOL.md "Staying in the call"): media that
//! stops for 2 s, a change of this machine's addresses, ICE giving up, or the
//! peer's request restart ICE — the inviter offers afresh, the invitee asks it
//! to — again every 3 s while media stays down; down for 30 s, the call ends
//! with `network_lost`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use duet_client::NETWORK_LOST_AFTER;
use duet_protocol::{ClientMessage, IceServer, RoomJoin, ServerMessage};
use serde_json::json;
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::event::{Event, MediaChange, MediaState, wall_ms};
use crate::signaling::signal;

/// Nothing from the peer for this long (its audio, video, and its quality
/// report each second over the data channel, sent muted too) means the path is down.
pub(crate) const MEDIA_STOPPED_AFTER: Duration = Duration::from_secs(2);
/// While media stays down, ICE is restarted again this often.
const RESTART_AGAIN_AFTER: Duration = Duration::from_secs(3);
/// A peer's request for a restart this soon after one is already being worked on.
const RESTART_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// How long the inviter waits for the answer to its restart offer before it
/// offers again: after an outage the offer may be stuck in TCP's retransmission
/// backoff, and a new offer would only overtake (and spoil) the answer on its way.
const ANSWER_WITHIN: Duration = Duration::from_secs(6);
/// How often the path is checked, and the machine's addresses read.
pub(crate) const PATH_CHECK: Duration = Duration::from_millis(250);

/// What is known of the current call's media path.
#[derive(Debug)]
pub(crate) struct PathWatch {
    /// When something last came from the peer.
    pub last_heard: Instant,
    /// Since when media is down, while it is.
    pub down_since: Option<Instant>,
    /// When ICE was last restarted (or a restart asked for).
    pub restarted_at: Option<Instant>,
    /// A restart went out while signaling was down: it is sent again when signaling is back.
    pub unsent: bool,
    /// The inviter's restart offer went out then and its answer has not come yet.
    pub offered_at: Option<Instant>,
    /// When the TURN credentials are renewed (a while before they expire), when
    /// the call has a TURN server.
    pub turn_refresh_at: Option<Instant>,
    /// The inviter's offers so far, 0 for the first: each offer carries its number
    /// (`generation`) and a Duet peer's answer carries it back, so an answer to an
    /// offer overtaken by a newer one is not applied to the newer one.
    pub generation: u64,
}

impl PathWatch {
    pub fn new() -> PathWatch {
        PathWatch {
            last_heard: Instant::now(),
            down_since: None,
            restarted_at: None,
            unsent: false,
            offered_at: None,
            generation: 0,
            turn_refresh_at: None,
        }
    }

    /// Renews the TURN credentials of `servers` before they expire.
    pub fn with_turn(mut self, servers: &[IceServer]) -> PathWatch {
        self.turn_refresh_at = turn_refresh_at(servers, unix_s());
        self
    }
}

/// Longest the TURN credentials are renewed before they expire.
const TURN_RENEW_BEFORE: Duration = Duration::from_secs(60);

/// When to renew the TURN credentials of `servers` (username `expiry:user`, expiry
/// in unix s), seen at `now` (unix s): a minute before the first expires, or
/// halfway there when less is left.
fn turn_refresh_at(servers: &[IceServer], now: u64) -> Option<Instant> {
    let expiry = servers
        .iter()
        .filter(|s| s.urls.iter().any(|u| u.starts_with("turn:") || u.starts_with("turns:")))
        .filter_map(|s| s.username.as_deref()?.split(':').next()?.parse::<u64>().ok())
        .min()?;
    let left = Duration::from_secs(expiry.saturating_sub(now));
    Some(Instant::now() + left - TURN_RENEW_BEFORE.min(left / 2))
}

fn unix_s() -> u64 {
    duet_media::capture_clock_us() / 1_000_000
}

/// The machine's network interfaces, as the operating system lists them.
pub trait Interfaces: Send + 'static {
    /// The addresses of the interfaces that are up, loopback left out.
    fn addresses(&self) -> std::io::Result<BTreeSet<IpAddr>>;
}

/// The operating system's list (getifaddrs on Linux and macOS, GetAdaptersAddresses on Windows).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemInterfaces;

impl Interfaces for SystemInterfaces {
    fn addresses(&self) -> std::io::Result<BTreeSet<IpAddr>> {
        Ok(if_addrs::get_if_addrs()?.into_iter().filter(|i| !i.is_loopback()).map(|i| i.ip()).collect())
    }
}

/// Reads the addresses every [`PATH_CHECK`] on a thread of its own and sends the
/// new set each time it changes (a failed read keeps the last one). Stops when
/// the receiver is dropped.
pub(crate) fn watch_addresses(interfaces: impl Interfaces) -> mpsc::UnboundedReceiver<BTreeSet<IpAddr>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("duet-addresses".into())
        .spawn(move || {
            let mut known = interfaces.addresses().ok();
            loop {
                std::thread::sleep(PATH_CHECK);
                if tx.is_closed() {
                    return;
                }
                let Ok(now) = interfaces.addresses() else { continue };
                if known.as_ref() != Some(&now) {
                    known = Some(now.clone());
                    if tx.send(now).is_err() {
                        return;
                    }
                }
            }
        })
        .expect("a thread starts");
    rx
}

impl Engine {
    /// Something came from the peer: the path works. Media that was down is
    /// back: said so, and a keyframe asked for, so what shows next is current.
    pub(crate) async fn on_heard(&mut self) {
        let Some(m) = self.media.as_mut() else { return };
        m.path.last_heard = Instant::now();
        let Some(since) = m.path.down_since.take() else { return };
        tracing::info!("media is back after {:?} down, {} ICE restarts", since.elapsed(), m.stats.ice_restarts);
        m.rtc.request_keyframe().await;
        self.emit(Event::Media(MediaChange { state: MediaState::Connected, at_ms: Some(wall_ms()) }));
    }

    /// Every [`PATH_CHECK`]: media silent for [`MEDIA_STOPPED_AFTER`] is down; a
    /// restart goes out (again every [`RESTART_AGAIN_AFTER`]); after
    /// [`NETWORK_LOST_AFTER`] the call ends.
    pub(crate) async fn check_path(&mut self) {
        let now = Instant::now();
        let Some(m) = self.media.as_mut().filter(|m| m.connected) else { return };
        if m.path.turn_refresh_at.is_some_and(|at| now >= at) {
            self.renew_turn().await;
        }
        let Some(m) = self.media.as_mut() else { return };
        let silent = now.duration_since(m.path.last_heard);
        if silent < MEDIA_STOPPED_AFTER {
            return;
        }
        if silent >= NETWORK_LOST_AFTER {
            tracing::warn!("media down for {silent:?}: the call ends");
            let _ = self.manager.network_lost().await;
            return;
        }
        if m.path.down_since.is_none() {
            m.path.down_since = Some(now);
            self.emit(Event::Media(MediaChange { state: MediaState::Reconnecting, at_ms: None }));
        }
        let Some(m) = self.media.as_mut() else { return };
        let answer_due = m.path.offered_at.is_some_and(|at| now.duration_since(at) < ANSWER_WITHIN);
        if !answer_due && m.path.restarted_at.is_none_or(|at| now.duration_since(at) >= RESTART_AGAIN_AFTER) {
            self.restart_path("media stopped").await;
        }
    }

    /// The peer asked for a restart (it found media down, or its network changed).
    pub(crate) async fn on_restart_asked(&mut self) {
        let Some(m) = self.media.as_ref().filter(|m| m.inviter) else { return };
        let answer_due = m.path.offered_at.is_some_and(|at| at.elapsed() < ANSWER_WITHIN);
        if !answer_due && m.path.restarted_at.is_none_or(|at| at.elapsed() >= RESTART_AT_MOST_EVERY) {
            self.restart_path("the peer asked").await;
        }
    }

    /// This machine's addresses changed (another network, an address gone):
    /// the path may be gone with them, so ICE starts over at once.
    pub(crate) async fn on_addresses_changed(&mut self, addresses: &BTreeSet<IpAddr>) {
        tracing::info!(?addresses, "the network changed");
        self.manager.client().check_path(addresses.iter().copied().collect());
        if self.media.as_ref().is_some_and(|m| m.connected) {
            self.restart_path("the network changed").await;
        }
    }

    /// The signaling connection is back while media is down: what was sent while
    /// it was away (an offer, a request) may be lost, so the restart goes again.
    pub(crate) async fn on_signaling_back(&mut self) {
        if self.media.as_ref().is_some_and(|m| m.path.down_since.is_some() || m.path.unsent) {
            self.restart_path("signaling is back").await;
        }
    }

    /// The TURN credentials expire soon: the room, joined again from this same
    /// connection, names fresh ones; the session gathers with them from now on, and
    /// a restart moves the call onto a relay allocated with them.
    async fn renew_turn(&mut self) {
        let Some(m) = self.media.as_mut() else { return };
        m.path.turn_refresh_at = None;
        let Some(ticket) = m.ticket.clone() else { return };
        let join = ClientMessage::RoomJoin(RoomJoin { req: None, room_id: m.room_id.clone(), ticket });
        let servers = match self.manager.client().request(join).await {
            Ok(ServerMessage::RoomJoined(joined)) => joined.ice_servers,
            other => {
                tracing::warn!("cannot renew the TURN credentials now ({other:?}); trying again in 10 s");
                if let Some(m) = self.media.as_mut() {
                    m.path.turn_refresh_at = Some(Instant::now() + Duration::from_secs(10));
                }
                return;
            }
        };
        let Some(m) = self.media.as_mut() else { return };
        m.path.turn_refresh_at = turn_refresh_at(&servers, unix_s());
        if let Err(e) = m.rtc.set_ice_servers(&servers).await {
            tracing::warn!("cannot use the renewed TURN credentials: {e}");
            return;
        }
        self.restart_path("the TURN credentials were renewed").await;
    }

    /// Restarts ICE: the inviter sends a new offer (fresh credentials, candidates
    /// gathered again); the invitee asks the inviter to (PROTOCOL.md: the
    /// inviter's offer wins, so only the inviter offers).
    pub(crate) async fn restart_path(&mut self, why: &str) {
        let Some(m) = self.media.as_mut() else { return };
        m.path.restarted_at = Some(Instant::now());
        m.path.unsent = !self.signaling_online;
        m.stats.ice_restarts += 1;
        tracing::info!(why, restarts = m.stats.ice_restarts, inviter = m.inviter, "restarting ICE");
        if !m.inviter {
            signal(&self.manager, m, json!({"restart": true}));
            return;
        }
        match m.rtc.restart_ice().await {
            Ok(offer) => {
                // Only an offer that left with signaling up can be answered.
                m.path.offered_at = self.signaling_online.then(Instant::now);
                m.path.generation += 1;
                signal(&self.manager, m, json!({"sdp": offer, "generation": m.path.generation}));
            }
            Err(e) => tracing::warn!("cannot restart ICE: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(username: &str) -> IceServer {
        IceServer { urls: vec!["turn:t.example:3478".into()], username: Some(username.into()), credential: None }
    }

    #[test]
    fn turn_credentials_are_renewed_a_minute_before_they_expire_or_halfway_when_sooner() {
        let now = 1_000_000;
        let at = |servers: &[IceServer]| turn_refresh_at(servers, now).map(|at| at.duration_since(Instant::now()));
        let near = |got: Option<Duration>, want: u64| got.is_some_and(|d| d.as_secs_f64().round() as u64 == want);
        assert!(near(at(&[turn(&format!("{}:alice", now + 3600))]), 3540), "{:?}", at(&[turn("x")]));
        assert!(near(at(&[turn(&format!("{}:alice", now + 20))]), 10));
        let stun = IceServer { urls: vec!["stun:s.example:3478".into()], username: None, credential: None };
        assert_eq!(at(&[stun]), None, "no TURN, nothing to renew");
        assert_eq!(at(&[turn("not-a-number:alice")]), None);
    }
}
