//! The network speed test (seed 004): an HTTP ticket, then UDP probes.
//!
//! A signed-in client asks `POST /v1/speedtest` for a [`SpeedTestTicket`]: a
//! random session id and the server's UDP port. Every UDP packet then starts
//! with [`MAGIC`], a kind byte and the 16-byte session; numbers are big-endian.
//! Packets of an unknown or expired session are ignored. See `docs/protocol.md`.

use serde::{Deserialize, Serialize};

/// HTTP path of the ticket endpoint.
pub const SPEEDTEST_PATH: &str = "/v1/speedtest";
/// First bytes of every speed-test datagram.
pub const MAGIC: [u8; 4] = *b"DSP1";
/// Bytes before the body: magic, kind and session.
pub const HEADER_LEN: usize = 4 + 1 + 16;
/// Expected bandwidths a client may ask to test, in kbps (seed 004: 10–5000; 0 = don't test).
pub const MIN_EXPECTED_KBPS: u32 = 10;
pub const MAX_EXPECTED_KBPS: u32 = 5000;
/// The longest download train the server sends.
pub const MAX_TRAIN_MS: u32 = 3000;
/// Size of upload and download train packets (UDP payload), below every path MTU.
pub const TRAIN_PACKET_LEN: usize = 1200;

/// The answer to `POST /v1/speedtest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeedTestTicket {
    /// 32 hex digits; goes into every datagram.
    pub session: String,
    /// The server's speed-test UDP port, on the same host as the HTTP endpoint.
    pub udp_port: u16,
    /// Unix ms after which the server forgets the session.
    pub expires_at: u64,
}

/// A session id as bytes.
pub type SessionId = [u8; 16];

/// Parses a ticket's `session`.
pub fn parse_session(hex: &str) -> Option<SessionId> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}

/// A session id as a ticket writes it.
pub fn session_hex(id: &SessionId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the server has counted for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerCounts {
    /// Echo probes received (and answered).
    pub echoes: u32,
    /// Upload train packets received, their payload bytes, and the time from
    /// the first to the last one's arrival.
    pub uploads: u32,
    pub upload_bytes: u64,
    pub upload_span_us: u64,
    /// Download train packets sent.
    pub downloads_sent: u32,
}

/// One speed-test datagram's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Client → server, answered at once with an `EchoReply` of the same size.
    Echo {
        seq: u32,
        sent_us: u64,
    },
    /// `received`: echoes the server had received when it answered.
    EchoReply {
        seq: u32,
        sent_us: u64,
        received: u32,
    },
    /// Client → server, a packet of the upload train (padded to [`TRAIN_PACKET_LEN`]).
    Upload {
        seq: u32,
    },
    /// Client → server: send a download train. Repeated until the train
    /// arrives; the server starts each `id` once.
    DownloadRequest {
        id: u32,
        rate_kbps: u32,
        duration_ms: u32,
    },
    /// Server → client, a packet of the download train.
    Download {
        seq: u32,
    },
    /// Client → server, answered with `Counts`.
    CountsRequest,
    Counts(ServerCounts),
}

impl Probe {
    fn kind(&self) -> u8 {
        match self {
            Probe::Echo { .. } => 1,
            Probe::EchoReply { .. } => 2,
            Probe::Upload { .. } => 3,
            Probe::DownloadRequest { .. } => 4,
            Probe::Download { .. } => 5,
            Probe::CountsRequest => 6,
            Probe::Counts(_) => 7,
        }
    }
}

/// The datagram for `probe`, zero-padded to at least `pad_to` bytes.
pub fn encode(session: &SessionId, probe: &Probe, pad_to: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(pad_to.max(64));
    out.extend_from_slice(&MAGIC);
    out.push(probe.kind());
    out.extend_from_slice(session);
    match *probe {
        Probe::Echo { seq, sent_us } => {
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&sent_us.to_be_bytes());
        }
        Probe::EchoReply { seq, sent_us, received } => {
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&sent_us.to_be_bytes());
            out.extend_from_slice(&received.to_be_bytes());
        }
        Probe::Upload { seq } | Probe::Download { seq } => out.extend_from_slice(&seq.to_be_bytes()),
        Probe::DownloadRequest { id, rate_kbps, duration_ms } => {
            for n in [id, rate_kbps, duration_ms] {
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Probe::CountsRequest => {}
        Probe::Counts(c) => {
            out.extend_from_slice(&c.echoes.to_be_bytes());
            out.extend_from_slice(&c.uploads.to_be_bytes());
            out.extend_from_slice(&c.upload_bytes.to_be_bytes());
            out.extend_from_slice(&c.upload_span_us.to_be_bytes());
            out.extend_from_slice(&c.downloads_sent.to_be_bytes());
        }
    }
    if out.len() < pad_to {
        out.resize(pad_to, 0);
    }
    out
}

/// Reads big-endian numbers off the front of a body.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }
}

/// A datagram's session and body; `None` for anything else (never panics).
pub fn decode(datagram: &[u8]) -> Option<(SessionId, Probe)> {
    let rest = datagram.strip_prefix(&MAGIC)?;
    let (&kind, rest) = rest.split_first()?;
    let (session, body) = rest.split_first_chunk::<16>()?;
    let mut r = Reader(body);
    let probe = match kind {
        1 => Probe::Echo { seq: r.u32()?, sent_us: r.u64()? },
        2 => Probe::EchoReply { seq: r.u32()?, sent_us: r.u64()?, received: r.u32()? },
        3 => Probe::Upload { seq: r.u32()? },
        4 => Probe::DownloadRequest { id: r.u32()?, rate_kbps: r.u32()?, duration_ms: r.u32()? },
        5 => Probe::Download { seq: r.u32()? },
        6 => Probe::CountsRequest,
        7 => Probe::Counts(ServerCounts {
            echoes: r.u32()?,
            uploads: r.u32()?,
            upload_bytes: r.u64()?,
            upload_span_us: r.u64()?,
            downloads_sent: r.u32()?,
        }),
        _ => return None,
    };
    Some((*session, probe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_survives_the_wire_and_padding() {
        let session = parse_session("00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(session_hex(&session), "00112233445566778899aabbccddeeff");
        let probes = [
            Probe::Echo { seq: 7, sent_us: 1 << 40 },
            Probe::EchoReply { seq: 7, sent_us: 1 << 40, received: 5 },
            Probe::Upload { seq: u32::MAX },
            Probe::DownloadRequest { id: 1, rate_kbps: 5000, duration_ms: 2000 },
            Probe::Download { seq: 3 },
            Probe::CountsRequest,
            Probe::Counts(ServerCounts {
                echoes: 1,
                uploads: 2,
                upload_bytes: 3,
                upload_span_us: 4,
                downloads_sent: 5,
            }),
        ];
        for probe in probes {
            let datagram = encode(&session, &probe, TRAIN_PACKET_LEN);
            assert_eq!(datagram.len(), TRAIN_PACKET_LEN);
            assert_eq!(decode(&datagram), Some((session, probe)));
        }
    }

    #[test]
    fn foreign_or_short_datagrams_are_ignored() {
        let session = [9u8; 16];
        let echo = encode(&session, &Probe::Echo { seq: 1, sent_us: 2 }, 0);
        for cut in 0..echo.len() {
            assert_eq!(decode(&echo[..cut]), None, "cut at {cut}");
        }
        let mut unknown = echo.clone();
        unknown[4] = 99;
        assert_eq!(decode(&unknown), None);
        assert_eq!(decode(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(parse_session("zz112233445566778899aabbccddeeff"), None);
        assert_eq!(parse_session("0011"), None);
    }
}
