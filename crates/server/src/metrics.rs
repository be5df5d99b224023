//! Counters behind `GET /metrics`, written in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use duet_protocol::Outcome;

use crate::store::DeliveryKind;

/// Upper bounds of the message handling histogram, in seconds.
const BUCKETS: [f64; 10] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    connections: AtomicI64,
    connections_total: AtomicU64,
    invitations: AtomicU64,
    outcomes: [AtomicU64; 4],
    /// Accepts that crossed the inviter's cancel, by which the server saw first.
    crossed: [AtomicU64; 2],
    deliveries: [AtomicU64; 2],
    delivery_failures: [AtomicU64; 2],
    deliveries_dropped: [AtomicU64; 2],
    messages: [AtomicU64; BUCKETS.len() + 1],
    message_nanos: AtomicU64,
}

fn outcome_index(outcome: Outcome) -> Option<usize> {
    match outcome {
        Outcome::Pending => None,
        Outcome::Accepted => Some(0),
        Outcome::Rejected => Some(1),
        Outcome::Timeout => Some(2),
        Outcome::Cancelled => Some(3),
    }
}

const OUTCOMES: [&str; 4] = ["accepted", "rejected", "timeout", "cancelled"];
const KINDS: [&str; 2] = ["webhook", "push"];

fn kind_index(kind: DeliveryKind) -> usize {
    match kind {
        DeliveryKind::Webhook => 0,
        DeliveryKind::Push => 1,
    }
}

impl Metrics {
    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Relaxed);
        self.connections_total.fetch_add(1, Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Relaxed);
    }

    pub fn invitation_sent(&self) {
        self.invitations.fetch_add(1, Relaxed);
    }

    /// One invitee reached `outcome`.
    pub fn invitee_outcome(&self, outcome: Outcome) {
        if let Some(i) = outcome_index(outcome) {
            self.outcomes[i].fetch_add(1, Relaxed);
        }
    }

    /// An accept and the inviter's cancel crossed; `accept_first`: the accept
    /// reached the server first (the call is cancelled all the same).
    pub fn answer_crossed_cancel(&self, accept_first: bool) {
        self.crossed[usize::from(!accept_first)].fetch_add(1, Relaxed);
    }

    pub fn delivered(&self, kind: DeliveryKind) {
        self.deliveries[kind_index(kind)].fetch_add(1, Relaxed);
    }

    pub fn delivery_failed(&self, kind: DeliveryKind) {
        self.delivery_failures[kind_index(kind)].fetch_add(1, Relaxed);
    }

    pub fn delivery_dropped(&self, kind: DeliveryKind) {
        self.deliveries_dropped[kind_index(kind)].fetch_add(1, Relaxed);
    }

    /// Time from a client frame's arrival to the end of its handling.
    pub fn message_handled(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.messages[bucket].fetch_add(1, Relaxed);
        self.message_nanos.fetch_add(took.as_nanos() as u64, Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP duet_connections Open WebSocket connections.\n# TYPE duet_connections gauge");
        let _ = writeln!(out, "duet_connections {}", self.connections.load(Relaxed));
        let _ = writeln!(
            out,
            "# HELP duet_connections_total WebSocket connections accepted.\n# TYPE duet_connections_total counter"
        );
        let _ = writeln!(out, "duet_connections_total {}", self.connections_total.load(Relaxed));
        let _ = writeln!(out, "# HELP duet_invitations_total Invitations sent.\n# TYPE duet_invitations_total counter");
        let _ = writeln!(out, "duet_invitations_total {}", self.invitations.load(Relaxed));
        let _ = writeln!(
            out,
            "# HELP duet_invitee_outcomes_total Invitees by the outcome they reached.\n# TYPE duet_invitee_outcomes_total counter"
        );
        for (name, count) in OUTCOMES.iter().zip(&self.outcomes) {
            let _ = writeln!(out, "duet_invitee_outcomes_total{{outcome=\"{name}\"}} {}", count.load(Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP duet_crossed_answers_total Accepts that crossed the inviter's cancel (both end cancelled), by which arrived first.\n# TYPE duet_crossed_answers_total counter"
        );
        for (first, count) in ["accept", "cancel"].iter().zip(&self.crossed) {
            let _ = writeln!(out, "duet_crossed_answers_total{{first=\"{first}\"}} {}", count.load(Relaxed));
        }
        let series = [
            ("duet_deliveries_total", "Webhook and push POSTs answered with 2xx.", &self.deliveries),
            ("duet_delivery_failures_total", "Webhook and push attempts that failed.", &self.delivery_failures),
            (
                "duet_deliveries_dropped_total",
                "Webhook and push deliveries given up after their maximum age.",
                &self.deliveries_dropped,
            ),
        ];
        for (metric, help, counts) in series {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
            for (label, count) in KINDS.iter().zip(counts) {
                let _ = writeln!(out, "{metric}{{kind=\"{label}\"}} {}", count.load(Relaxed));
            }
        }
        let _ = writeln!(
            out,
            "# HELP duet_message_handling_seconds Time from a client message's arrival to the end of its handling.\n# TYPE duet_message_handling_seconds histogram"
        );
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.messages) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(out, "duet_message_handling_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.messages[BUCKETS.len()].load(Relaxed);
        let _ = writeln!(out, "duet_message_handling_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "duet_message_handling_seconds_sum {}", self.message_nanos.load(Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "duet_message_handling_seconds_count {cumulative}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative() {
        let m = Metrics::default();
        m.message_handled(Duration::from_micros(50));
        m.message_handled(Duration::from_millis(3));
        m.message_handled(Duration::from_secs(2));
        let text = m.render();
        assert!(text.contains("duet_message_handling_seconds_bucket{le=\"0.0001\"} 1\n"), "{text}");
        assert!(text.contains("duet_message_handling_seconds_bucket{le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("duet_message_handling_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("duet_message_handling_seconds_count 3\n"), "{text}");
    }
}
