//! The server's half of the network speed test (`duet_protocol::speedtest`):
//! sessions handed out by `POST /v1/speedtest`, and a UDP socket that answers
//! echo probes, counts the upload train and sends download trains.
//!
//! Abuse limits: only sessions a signed-in user opened are served, for a minute,
//! one per user; an echo or counts request is answered only when it is at least
//! as large as the answer (no amplification); a session gets at most
//! [`MAX_TRAINS`] download trains of at most 5000 kbps for 3 s each.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use duet_protocol::speedtest::{
    self as st, MAX_EXPECTED_KBPS, MAX_TRAIN_MS, MIN_EXPECTED_KBPS, Probe, ServerCounts, SessionId, SpeedTestTicket,
    TRAIN_PACKET_LEN,
};
use rand::RngCore;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::now_ms;

/// How long a session lives.
const SESSION_TTL: Duration = Duration::from_secs(60);
/// Download trains one session may ask for.
pub const MAX_TRAINS: usize = 2;
/// Sessions open at once, over all users.
const MAX_SESSIONS: usize = 256;

#[derive(Debug)]
struct Session {
    user: String,
    expires: Instant,
    counts: ServerCounts,
    first_upload: Option<Instant>,
    trains: Vec<u32>,
}

/// The speed-test UDP endpoint and its sessions.
#[derive(Debug)]
pub struct SpeedTests {
    socket: Arc<UdpSocket>,
    sessions: Mutex<HashMap<SessionId, Session>>,
}

impl SpeedTests {
    /// Binds UDP on `ip`, port `port` when free, else any port.
    pub async fn bind(ip: IpAddr, port: u16) -> std::io::Result<SpeedTests> {
        let socket = match UdpSocket::bind(SocketAddr::new(ip, port)).await {
            Ok(socket) => socket,
            Err(_) => UdpSocket::bind(SocketAddr::new(ip, 0)).await?,
        };
        Ok(SpeedTests::on(socket))
    }

    /// Binds UDP on exactly `addr`.
    pub async fn bind_exactly(addr: SocketAddr) -> std::io::Result<SpeedTests> {
        let socket = UdpSocket::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?;
        Ok(SpeedTests::on(socket))
    }

    fn on(socket: UdpSocket) -> SpeedTests {
        SpeedTests { socket: Arc::new(socket), sessions: Mutex::new(HashMap::new()) }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().map_or(0, |a| a.port())
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, Session>> {
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new session for `user`, replacing any older one of theirs; `None` when
    /// too many are open.
    pub fn open(&self, user: &str) -> Option<SpeedTestTicket> {
        let now = Instant::now();
        let mut sessions = self.sessions();
        sessions.retain(|_, s| s.expires > now && s.user != user);
        if sessions.len() >= MAX_SESSIONS {
            return None;
        }
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        sessions.insert(
            id,
            Session {
                user: user.to_owned(),
                expires: now + SESSION_TTL,
                counts: ServerCounts::default(),
                first_upload: None,
                trains: Vec::new(),
            },
        );
        Some(SpeedTestTicket {
            session: st::session_hex(&id),
            udp_port: self.port(),
            expires_at: now_ms() + SESSION_TTL.as_millis() as u64,
        })
    }

    /// Answers datagrams until `stop`.
    pub async fn serve(self: Arc<Self>, stop: CancellationToken) {
        let mut buf = vec![0u8; 2048];
        loop {
            let (len, from) = tokio::select! {
                _ = stop.cancelled() => return,
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok(received) => received,
                    // ICMP errors of earlier sends surface here on some systems.
                    Err(_) => continue,
                },
            };
            if let Some(reply) = self.handle(&buf[..len], from) {
                let _ = self.socket.send_to(&reply, from).await;
            }
        }
    }

    /// One datagram; the answer to send back, if any.
    fn handle(self: &Arc<Self>, datagram: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
        let (id, probe) = st::decode(datagram)?;
        let now = Instant::now();
        let mut sessions = self.sessions();
        let session = sessions.get_mut(&id).filter(|s| s.expires > now)?;
        let answer = |probe: Probe| {
            let reply = st::encode(&id, &probe, 0);
            (datagram.len() >= reply.len()).then(|| st::encode(&id, &probe, datagram.len()))
        };
        match probe {
            Probe::Echo { seq, sent_us } => {
                session.counts.echoes += 1;
                answer(Probe::EchoReply { seq, sent_us, received: session.counts.echoes })
            }
            Probe::Upload { .. } => {
                let first = *session.first_upload.get_or_insert(now);
                session.counts.uploads += 1;
                session.counts.upload_bytes += datagram.len() as u64;
                session.counts.upload_span_us = now.duration_since(first).as_micros() as u64;
                None
            }
            Probe::DownloadRequest { id: train, rate_kbps, duration_ms } => {
                if session.trains.contains(&train) || session.trains.len() >= MAX_TRAINS {
                    return None;
                }
                session.trains.push(train);
                let rate = rate_kbps.clamp(MIN_EXPECTED_KBPS, MAX_EXPECTED_KBPS);
                let duration = Duration::from_millis(u64::from(duration_ms.min(MAX_TRAIN_MS)));
                tokio::spawn(self.clone().send_train(id, from, rate, duration));
                None
            }
            Probe::CountsRequest => answer(Probe::Counts(session.counts)),
            Probe::EchoReply { .. } | Probe::Download { .. } | Probe::Counts(_) => None,
        }
    }

    /// Sends `rate_kbps` of train packets to `to` for `duration`, evenly paced
    /// (counting the UDP/IP headers, as the link carries them).
    async fn send_train(self: Arc<Self>, id: SessionId, to: SocketAddr, rate_kbps: u32, duration: Duration) {
        let header = if to.is_ipv4() { 28 } else { 48 };
        let packet_bits = ((TRAIN_PACKET_LEN + header) * 8) as f64;
        let per_second = f64::from(rate_kbps) * 1000.0 / packet_bits;
        let total = (per_second * duration.as_secs_f64()).ceil() as u32;
        let start = tokio::time::Instant::now();
        let mut seq = 0u32;
        while seq < total {
            let due = ((start.elapsed().as_secs_f64() * per_second) as u32 + 1).min(total);
            while seq < due {
                let packet = st::encode(&id, &Probe::Download { seq }, TRAIN_PACKET_LEN);
                if self.socket.send_to(&packet, to).await.is_err() {
                    return;
                }
                seq += 1;
            }
            if let Some(session) = self.sessions().get_mut(&id) {
                session.counts.downloads_sent = seq;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_open_sessions_and_large_enough_requests_are_answered() {
        let tests = Arc::new(SpeedTests::bind(IpAddr::from([127, 0, 0, 1]), 0).await.unwrap());
        let ticket = tests.open("alice").unwrap();
        let id = st::parse_session(&ticket.session).unwrap();
        let from = SocketAddr::from(([127, 0, 0, 1], 9));
        let echo = Probe::Echo { seq: 1, sent_us: 5 };
        let reply = tests.handle(&st::encode(&id, &echo, 64), from).expect("an answer");
        assert_eq!(st::decode(&reply), Some((id, Probe::EchoReply { seq: 1, sent_us: 5, received: 1 })));
        assert_eq!(reply.len(), 64, "the answer is as large as the question");
        assert_eq!(tests.handle(&st::encode(&id, &echo, 0), from), None, "a smaller question gets nothing");
        assert_eq!(tests.handle(&st::encode(&[0; 16], &echo, 64), from), None, "unknown session");

        let newer = tests.open("alice").unwrap();
        assert_ne!(newer.session, ticket.session);
        assert_eq!(tests.handle(&st::encode(&id, &echo, 64), from), None, "a user's older session is closed");
    }
}
