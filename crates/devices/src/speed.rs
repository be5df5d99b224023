//! The network speed test against `duet-server` (seed 004's startSpeedTest),
//! over the UDP probes of `duet_protocol::speedtest`:
//!
//! 1. **Echo** (4 s, a probe every 4 ms): RTT, jitter, and loss each way — the
//!    server says how many probes it received (uplink loss), the client counts
//!    the answers to those (downlink loss).
//! 2. **Upload** (2 s at the expected uplink bandwidth): the server times the
//!    train's arrival; what got through per second is the available uplink.
//! 3. **Download** (2 s at the expected downlink bandwidth), timed by the client.
//!
//! Bandwidth figures count the UDP/IP headers, as the link carries them, and
//! never exceed what was asked (the seed's "expected bandwidth", 10–5000 kbps,
//! 0 = not tested, reported as -1).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use duet_protocol::quality::{self, Quality};
use duet_protocol::speedtest::{
    self as st, MAX_EXPECTED_KBPS, MIN_EXPECTED_KBPS, Probe, SPEEDTEST_PATH, ServerCounts, SessionId, SpeedTestTicket,
    TRAIN_PACKET_LEN,
};
use duet_protocol::{ErrorCode, HttpError, with_causes};
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

const ECHO_COUNT: u32 = 1000;
const ECHO_INTERVAL: Duration = Duration::from_millis(4);
/// Echo probes (and counts requests) are padded to this, so answers fit.
const PROBE_LEN: usize = 64;
/// How long after the last probe answers are still awaited.
const LINGER: Duration = Duration::from_millis(1000);
const TRAIN: Duration = Duration::from_secs(2);
const COUNTS_TRIES: u32 = 10;
const COUNTS_WAIT: Duration = Duration::from_millis(300);

/// What to test (seed 004's TRTCSpeedTestParams).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeedTestParams {
    /// duet-server's address, e.g. `http://127.0.0.1:8443`.
    pub server: String,
    /// The signed-in user's access token.
    pub token: String,
    /// Uplink bandwidth to test up to, kbps: 10–5000, or 0 not to test it.
    pub expected_up_kbps: u32,
    /// Downlink bandwidth to test up to, kbps: 10–5000, or 0 not to test it.
    pub expected_down_kbps: u32,
}

/// The outcome, with seed 004's TRTCSpeedTestResult fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedTestResult {
    pub success: bool,
    /// Why the test failed, for people; empty on success.
    pub err_msg: String,
    /// The speed-test server's IP address.
    pub ip: String,
    /// 0 unknown, 1 excellent … 5 very bad, 6 down.
    pub quality: Quality,
    /// Share of packets lost on the way to the server, 0–1.
    pub up_lost_rate: f64,
    /// Share of packets lost on the way back, 0–1.
    pub down_lost_rate: f64,
    /// Round trip, ms (median of the echo probes).
    pub rtt: u32,
    /// Round-trip variation, ms (mean difference between successive probes).
    pub jitter: u32,
    /// Available uplink, kbps; -1 when not tested or not measurable.
    pub available_up_bandwidth: i64,
    /// Available downlink, kbps; -1 when not tested or not measurable.
    pub available_down_bandwidth: i64,
}

impl SpeedTestResult {
    fn failed(ip: String, message: impl Into<String>) -> SpeedTestResult {
        SpeedTestResult {
            success: false,
            err_msg: message.into(),
            ip,
            quality: quality::UNKNOWN,
            up_lost_rate: 0.0,
            down_lost_rate: 0.0,
            rtt: 0,
            jitter: 0,
            available_up_bandwidth: -1,
            available_down_bandwidth: -1,
        }
    }
}

/// Where a running test is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum SpeedTestProgress {
    Connecting,
    Echo { percent: u8 },
    Upload { percent: u8 },
    Download { percent: u8 },
}

/// Runs the whole test; never panics, failures come back as `success: false`.
pub async fn speed_test(params: &SpeedTestParams, mut on_progress: impl FnMut(SpeedTestProgress)) -> SpeedTestResult {
    for (which, kbps) in [("uplink", params.expected_up_kbps), ("downlink", params.expected_down_kbps)] {
        if kbps != 0 && !(MIN_EXPECTED_KBPS..=MAX_EXPECTED_KBPS).contains(&kbps) {
            return SpeedTestResult::failed(
                String::new(),
                format!(
                    "the expected {which} bandwidth must be 0 (not tested) or {MIN_EXPECTED_KBPS}–{MAX_EXPECTED_KBPS} kbps, got {kbps}"
                ),
            );
        }
    }
    on_progress(SpeedTestProgress::Connecting);
    let ticket = match ticket(params).await {
        Ok(ticket) => ticket,
        Err(error) => return SpeedTestResult::failed(String::new(), error.to_string()),
    };
    let Some(session) = st::parse_session(&ticket.session) else {
        return SpeedTestResult::failed(String::new(), "the server sent a malformed speed-test ticket");
    };
    let server = match udp_address(&params.server, ticket.udp_port).await {
        Ok(server) => server,
        Err(error) => return SpeedTestResult::failed(String::new(), error.to_string()),
    };
    let ip = server.ip().to_string();
    let socket = match bind_toward(server).await {
        Ok(socket) => socket,
        Err(e) => return SpeedTestResult::failed(ip, format!("cannot open a UDP socket toward {server}: {e}")),
    };
    let mut probe = Prober { socket, session };
    let echo = probe.echo(&mut on_progress).await;
    if echo.replies == 0 {
        return SpeedTestResult::failed(
            ip,
            format!(
                "no answer from the speed-test port {server} (UDP): the network or a firewall blocks it, or the server is down"
            ),
        );
    }
    let counts_after_echo = probe.counts().await;
    let up = match params.expected_up_kbps {
        0 => None,
        kbps => Some(probe.upload(kbps, &mut on_progress).await),
    };
    let down = match params.expected_down_kbps {
        0 => None,
        kbps => Some(probe.download(kbps, &mut on_progress).await),
    };

    let (up_lost_rate, down_lost_rate) = match counts_after_echo {
        Some(counts) => (
            share_lost(ECHO_COUNT, counts.echoes),
            // Every probe the server received was answered once.
            share_lost(counts.echoes, echo.replies),
        ),
        // No counts: the losses cannot be told apart; the round trip's goes to both.
        None => {
            let lost = share_lost(ECHO_COUNT, echo.replies);
            let each = ((1.0 - (1.0 - lost).sqrt()) * 10_000.0).round() / 10_000.0;
            (each, each)
        }
    };
    let grade = quality::grade(up_lost_rate.max(down_lost_rate), f64::from(echo.rtt_ms), f64::from(echo.jitter_ms));
    SpeedTestResult {
        success: true,
        err_msg: String::new(),
        ip,
        quality: grade,
        up_lost_rate,
        down_lost_rate,
        rtt: echo.rtt_ms,
        jitter: echo.jitter_ms,
        available_up_bandwidth: up.flatten().map_or(-1, i64::from),
        available_down_bandwidth: down.flatten().map_or(-1, i64::from),
    }
}

/// The share of `sent` that did not arrive, to four decimals.
fn share_lost(sent: u32, arrived: u32) -> f64 {
    if sent == 0 {
        return 0.0;
    }
    let lost = 1.0 - f64::from(arrived.min(sent)) / f64::from(sent);
    (lost * 10_000.0).round() / 10_000.0
}

/// Why a speed test could not start.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("cannot start an HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("cannot reach the server at {server}: {cause}")]
    Unreachable { server: String, cause: String },
    #[error("the server's answer broke off: {0}")]
    BrokenOff(String),
    #[error("the server's speed-test ticket is malformed: {0}")]
    Malformed(serde_json::Error),
    #[error("your sign-in has expired; log in again")]
    Expired,
    /// The server's own message.
    #[error("{0}")]
    Refused(String),
    #[error("the server at {0} has no speed test (an older duet-server?)")]
    NoSpeedTest(String),
    #[error("the server answered {0}")]
    Status(reqwest::StatusCode),
    #[error("\"{server}\" is not a server address: {why}")]
    BadAddress { server: String, why: String },
    #[error("cannot find the server {host}: {why}")]
    Lookup { host: String, why: String },
}

/// Asks the server for a session.
async fn ticket(params: &SpeedTestParams) -> Result<SpeedTestTicket, SetupError> {
    let url = format!("{}{SPEEDTEST_PATH}", params.server.trim_end_matches('/'));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(SetupError::Client)?;
    let response = client
        .post(&url)
        .bearer_auth(&params.token)
        .send()
        .await
        .map_err(|e| SetupError::Unreachable { server: params.server.clone(), cause: with_causes(&e) })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| SetupError::BrokenOff(with_causes(&e)))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(SetupError::Malformed);
    }
    Err(match serde_json::from_slice::<HttpError>(&body) {
        Ok(HttpError { code: ErrorCode::TokenExpired, .. }) => SetupError::Expired,
        Ok(error) => SetupError::Refused(error.message),
        Err(_) if status == reqwest::StatusCode::NOT_FOUND => SetupError::NoSpeedTest(params.server.clone()),
        Err(_) => SetupError::Status(status),
    })
}

/// The server's host from its URL, with the speed-test port.
async fn udp_address(server: &str, port: u16) -> Result<SocketAddr, SetupError> {
    let bad = |why: String| SetupError::BadAddress { server: server.to_owned(), why };
    let url = reqwest::Url::parse(server).map_err(|e| bad(e.to_string()))?;
    let host = url.host_str().ok_or_else(|| bad("it names no host".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let lookup = |why: String| SetupError::Lookup { host: host.to_owned(), why };
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| lookup(e.to_string()))?
        .next()
        .ok_or_else(|| lookup("the name has no address".into()))
}

async fn bind_toward(server: SocketAddr) -> std::io::Result<UdpSocket> {
    let any: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = UdpSocket::bind(any).await?;
    socket.connect(server).await?;
    Ok(socket)
}

struct Prober {
    socket: UdpSocket,
    session: SessionId,
}

struct Echo {
    replies: u32,
    rtt_ms: u32,
    jitter_ms: u32,
}

fn percent(done: Duration, of: Duration) -> u8 {
    (done.as_secs_f64() / of.as_secs_f64() * 100.0).min(100.0) as u8
}

/// Bits a train packet takes on the link (UDP/IP headers included).
fn packet_bits(to: SocketAddr) -> f64 {
    ((TRAIN_PACKET_LEN + if to.is_ipv4() { 28 } else { 48 }) * 8) as f64
}

impl Prober {
    async fn send(&self, probe: &Probe, pad_to: usize) {
        // A send can fail on a dead network; the missing answers tell the story.
        let _ = self.socket.send(&st::encode(&self.session, probe, pad_to)).await;
    }

    async fn echo(&mut self, on_progress: &mut impl FnMut(SpeedTestProgress)) -> Echo {
        let start = Instant::now();
        let total = ECHO_INTERVAL * ECHO_COUNT;
        let mut rtts = Vec::with_capacity(ECHO_COUNT as usize);
        let mut seen = vec![false; ECHO_COUNT as usize];
        let (mut next_seq, mut buf) = (0u32, vec![0u8; 2048]);
        let mut ticker = tokio::time::interval(ECHO_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut last_report = Instant::now();
        loop {
            let sending = next_seq < ECHO_COUNT;
            let deadline = start + total + LINGER;
            tokio::select! {
                _ = ticker.tick(), if sending => {
                    let sent_us = start.elapsed().as_micros() as u64;
                    self.send(&Probe::Echo { seq: next_seq, sent_us }, PROBE_LEN).await;
                    next_seq += 1;
                    if last_report.elapsed() >= Duration::from_millis(250) {
                        last_report = Instant::now();
                        on_progress(SpeedTestProgress::Echo { percent: percent(start.elapsed(), total) });
                    }
                }
                received = self.socket.recv(&mut buf) => {
                    let Ok(len) = received else { continue };
                    if let Some((id, Probe::EchoReply { seq, sent_us, .. })) = st::decode(&buf[..len])
                        && id == self.session
                        && let Some(fresh) = seen.get_mut(seq as usize)
                        && !*fresh
                    {
                        *fresh = true;
                        let rtt_us = (start.elapsed().as_micros() as u64).saturating_sub(sent_us);
                        rtts.push((seq, rtt_us as f64 / 1000.0));
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()), if !sending => break,
            }
            if !sending && rtts.len() as u32 == ECHO_COUNT {
                break;
            }
        }
        on_progress(SpeedTestProgress::Echo { percent: 100 });
        let replies = rtts.len() as u32;
        rtts.sort_by_key(|&(seq, _)| seq);
        let jitter = if rtts.len() > 1 {
            rtts.windows(2).map(|w| (w[1].1 - w[0].1).abs()).sum::<f64>() / (rtts.len() - 1) as f64
        } else {
            0.0
        };
        let mut sorted: Vec<f64> = rtts.iter().map(|&(_, rtt)| rtt).collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        Echo { replies, rtt_ms: median.round() as u32, jitter_ms: jitter.round() as u32 }
    }

    /// The server's counts, asked until answered.
    async fn counts(&mut self) -> Option<ServerCounts> {
        let mut buf = vec![0u8; 2048];
        for _ in 0..COUNTS_TRIES {
            self.send(&Probe::CountsRequest, PROBE_LEN).await;
            let until = tokio::time::Instant::now() + COUNTS_WAIT;
            while let Ok(Ok(len)) = tokio::time::timeout_at(until, self.socket.recv(&mut buf)).await {
                if let Some((id, Probe::Counts(counts))) = st::decode(&buf[..len])
                    && id == self.session
                {
                    return Some(counts);
                }
            }
        }
        None
    }

    /// Sends the upload train at `kbps`; the server's view of it, in kbps.
    async fn upload(&mut self, kbps: u32, on_progress: &mut impl FnMut(SpeedTestProgress)) -> Option<u32> {
        let to = self.socket.peer_addr().ok()?;
        let per_second = f64::from(kbps) * 1000.0 / packet_bits(to);
        let total = (per_second * TRAIN.as_secs_f64()).ceil() as u32;
        let start = Instant::now();
        let (mut seq, mut last_report) = (0u32, Instant::now());
        while seq < total {
            let due = ((start.elapsed().as_secs_f64() * per_second) as u32 + 1).min(total);
            while seq < due {
                self.send(&Probe::Upload { seq }, TRAIN_PACKET_LEN).await;
                seq += 1;
            }
            if last_report.elapsed() >= Duration::from_millis(250) {
                last_report = Instant::now();
                on_progress(SpeedTestProgress::Upload { percent: percent(start.elapsed(), TRAIN) });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Let a queue on the way drain before asking what arrived.
        tokio::time::sleep(Duration::from_millis(500)).await;
        on_progress(SpeedTestProgress::Upload { percent: 100 });
        let counts = self.counts().await?;
        rate_kbps(counts.uploads, counts.upload_span_us, packet_bits(to), kbps)
    }

    /// Asks for the download train at `kbps` and times its arrival, in kbps.
    async fn download(&mut self, kbps: u32, on_progress: &mut impl FnMut(SpeedTestProgress)) -> Option<u32> {
        let to = self.socket.peer_addr().ok()?;
        let duration_ms = TRAIN.as_millis() as u32;
        let request = Probe::DownloadRequest { id: 1, rate_kbps: kbps, duration_ms };
        let mut buf = vec![0u8; 2048];
        let (mut first, mut last, mut received) = (None::<Instant>, Instant::now(), 0u32);
        let start = Instant::now();
        let mut asked = 0;
        let mut last_report = Instant::now();
        loop {
            if first.is_none() {
                if asked == COUNTS_TRIES {
                    return None;
                }
                self.send(&request, PROBE_LEN).await;
                asked += 1;
            }
            // Until the train starts, ask again now and then; once it runs, wait out gaps.
            let wait = if first.is_none() { COUNTS_WAIT } else { Duration::from_millis(700) };
            match tokio::time::timeout(wait, self.socket.recv(&mut buf)).await {
                Ok(Ok(len)) => {
                    if let Some((id, Probe::Download { .. })) = st::decode(&buf[..len])
                        && id == self.session
                    {
                        let now = Instant::now();
                        first.get_or_insert(now);
                        last = now;
                        received += 1;
                    }
                }
                Ok(Err(_)) => {}
                Err(_) if first.is_some() => break,
                Err(_) => {}
            }
            if last_report.elapsed() >= Duration::from_millis(250) {
                last_report = Instant::now();
                on_progress(SpeedTestProgress::Download { percent: percent(start.elapsed(), TRAIN) });
            }
            if start.elapsed() > TRAIN * 3 {
                break;
            }
        }
        on_progress(SpeedTestProgress::Download { percent: 100 });
        let span = last.duration_since(first?).as_micros() as u64;
        rate_kbps(received, span, packet_bits(to), kbps)
    }
}

/// The rate a train arrived at: every packet after the first, over the time
/// from the first to the last; never above what was sent.
fn rate_kbps(packets: u32, span_us: u64, bits_per_packet: f64, sent_kbps: u32) -> Option<u32> {
    if packets < 2 || span_us == 0 {
        return None;
    }
    let kbps = f64::from(packets - 1) * bits_per_packet / span_us as f64 * 1000.0;
    Some((kbps.round() as u32).min(sent_kbps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_train_s_rate_is_its_packets_over_its_span_capped_at_the_sent_rate() {
        // 101 packets of 10,000 bits, the last 1 s after the first: 1000 kbps.
        assert_eq!(rate_kbps(101, 1_000_000, 10_000.0, 5000), Some(1000));
        assert_eq!(rate_kbps(101, 100_000, 10_000.0, 5000), Some(5000), "capped");
        assert_eq!(rate_kbps(1, 1_000_000, 10_000.0, 5000), None, "one packet has no span");
    }

    #[test]
    fn losses_are_shares_of_what_was_sent() {
        assert_eq!(share_lost(1000, 898), 0.102, "rounded to four decimals");
        assert_eq!(share_lost(1000, 1200), 0.0, "duplicates do not make a gain");
        assert_eq!(share_lost(0, 0), 0.0);
    }
}
