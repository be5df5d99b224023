//! Network quality on seed 004's scale, from what the stats say.

pub use duet_protocol::quality::{DOWN, Quality, UNKNOWN};

/// One second's view of the connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkStats {
    /// Round-trip time of the selected candidate pair.
    pub rtt_ms: Option<f64>,
    /// Fraction of the peer's packets lost since the previous sample, 0–1.
    pub loss: f64,
    /// Largest inter-arrival jitter over the incoming streams.
    pub jitter_ms: f64,
    /// Packets received from the peer since the previous sample.
    pub packets_received: u64,
    /// What the congestion controller says this side may send (bits/s), once
    /// the peer's feedback has moved it.
    pub target_bitrate_bps: Option<f64>,
    /// The path media takes, once ICE selected one.
    pub route: Option<Route>,
    /// Every ICE candidate known so far, this side's and the peer's.
    pub candidates: Candidates,
}

/// ICE candidates as `"<type> <address>:<port>"` (`"relay 203.0.113.5:50000"`):
/// what this side gathered, and what it knows of the peer — the candidates the
/// peer sent and the peer-reflexive ones its checks came from. What a peer
/// learns of the other's network is all in `remote`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidates {
    pub local: Vec<String>,
    pub remote: Vec<String>,
}

/// The kind of path of the selected candidate pair: each side's candidate type
/// (`host`, `srflx`, `prflx` or `relay`) and the transport to the peer or relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub local: String,
    pub remote: String,
    pub protocol: String,
    /// The peer's (or its relay's) address, `ip:port`.
    pub remote_address: String,
}

/// Counts the peer's packets as they first arrive, per stream: a jump in
/// sequence numbers is packets the network lost, whether or not a NACK
/// retransmission repairs them later (the stack's own counters count the
/// repaired ones as received, which hides the loss from the quality rating).
#[derive(Debug, Default)]
pub struct ArrivalCounter {
    highest: Option<u16>,
}

/// Packets that arrived and that never came in their turn, summed over streams.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ArrivalTotals {
    pub arrived: u64,
    pub missing: u64,
}

impl ArrivalCounter {
    /// One packet; updates `totals`. Late packets (reordered or retransmitted) count for nothing.
    pub fn on_packet(&mut self, seq: u16, totals: &mut ArrivalTotals) {
        let ahead = match self.highest {
            None => 1,
            Some(highest) => seq.wrapping_sub(highest) as i16,
        };
        if ahead <= 0 {
            return;
        }
        self.highest = Some(seq);
        totals.arrived += 1;
        totals.missing += ahead as u64 - 1;
    }
}

/// Rates a second of stats ([`duet_protocol::quality::grade`]). Nothing received
/// while connected is down; no RTT yet is unknown.
pub fn rate(stats: &NetworkStats) -> Quality {
    rate_heard(stats, false)
}

/// [`rate`], knowing whether anything else came from the peer lately (its data
/// channel's reports): a peer that sends no media because it muted and turned its
/// camera off is on a working network, rated by RTT and jitter, not "down".
pub fn rate_heard(stats: &NetworkStats, peer_heard: bool) -> Quality {
    let Some(rtt) = stats.rtt_ms else { return UNKNOWN };
    if stats.packets_received == 0 && !peer_heard {
        return DOWN;
    }
    duet_protocol::quality::grade(stats.loss, rtt, stats.jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_as_missing_and_late_packets_do_not_count() {
        let (mut counter, mut totals) = (ArrivalCounter::default(), ArrivalTotals::default());
        for seq in [65_534u16, 65_535, 2, 0, 1, 3, 3] {
            counter.on_packet(seq, &mut totals);
        }
        // 0 and 1 were missing when 2 came; their late arrival and the duplicate change nothing.
        assert_eq!(totals, ArrivalTotals { arrived: 4, missing: 2 });
    }

    #[test]
    fn a_silent_peer_is_down_unless_it_is_heard_otherwise() {
        let silent = NetworkStats { rtt_ms: Some(20.0), packets_received: 0, ..NetworkStats::default() };
        assert_eq!(rate(&silent), DOWN);
        assert_eq!(rate_heard(&silent, false), DOWN, "nothing at all: the path is gone");
        assert_eq!(rate_heard(&silent, true), 1, "muted, camera off, network fine");
    }

    fn stats(rtt: f64, loss: f64, jitter: f64) -> NetworkStats {
        NetworkStats {
            rtt_ms: Some(rtt),
            loss,
            jitter_ms: jitter,
            packets_received: 100,
            target_bitrate_bps: None,
            route: None,
            candidates: Default::default(),
        }
    }

    #[test]
    fn the_worst_measure_decides() {
        assert_eq!(rate(&stats(20.0, 0.0, 2.0)), 1);
        assert_eq!(rate(&stats(20.0, 0.05, 2.0)), 3);
    }

    #[test]
    fn no_rtt_is_unknown_and_silence_is_down() {
        assert_eq!(rate(&NetworkStats::default()), UNKNOWN);
        assert_eq!(rate(&NetworkStats { packets_received: 0, ..stats(20.0, 0.0, 0.0) }), DOWN);
    }
}
