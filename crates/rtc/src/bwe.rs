//! The send-side bandwidth estimate: GCC, with a guard on the queue it
//! builds.
//!
//! GCC alone, on a narrow link, lets the rate climb until the bottleneck's
//! queue overflows (its delay detector adapts its threshold to a noisy
//! machine's jitter and stays quiet), and the burst of losses that follows
//! sends its loss half to the floor: seconds of frozen video in every cycle.
//! The guard reads the same feedback more bluntly:
//! - **Queue:** one-way delay (arrival on the peer's clock minus departure on
//!   ours) above its lowest recent value is time spent queued. Past
//!   `QUEUE_HIGH` the estimate is capped at 85% of what the link carried
//!   over the latest `CARRIED_WINDOW` (or of the cap, if lower); the cap
//!   rises again 8% a second while the queue stays under `QUEUE_LOW`.
//!   Once cut, it is cut again only while the queue keeps growing, or when a
//!   second later it still stands at three quarters of its height: a queue
//!   takes a while to drain, and a busy machine's scheduling delays look like
//!   one, so cutting on every report over the mark would compound into a
//!   collapse to the minimum; but a sender that stays over the link (an
//!   encoder over its target) must not keep the queue full.
//! - **What gets through** is counted on the peer's clock (the arrival times
//!   in its feedback), so feedback that comes late or in bunches does not
//!   skew it.
//! - **Loss** without a queue is the link's (Wi-Fi, a long path), not
//!   congestion: GCC's own loss half backs off whenever a tenth of the packets
//!   go and climbs again only under 2%, so at 10% loss the call sank to the
//!   floor, and at 5% any cut (a burst of loss) stood for good. Here the loss
//!   the peer reports ([`ReportedLoss`]) over `LOSS_WINDOW`
//!   lowers the estimate only above `LOSS_HIGH` (a policer or a shallow buffer:
//!   a sender a fifth over such a link loses a sixth of what it sends), by half
//!   the share lost, and lets it rise again 8% a second under `LOSS_LOW`. Loss
//!   from a queue that overflows is the queue guard's.
//! - **Floor:** the estimate never falls below half of what the peer is
//!   receiving, so a loss burst cannot take it lower than the link has just
//!   shown it carries.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::interceptor::{BandwidthEstimator, Gcc, Interceptor, Packet, PacketReport, StreamInfo, TaggedPacket};
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::sansio::Protocol;

/// Queueing delay that means the path is over capacity.
const QUEUE_HIGH: Duration = Duration::from_millis(40);
/// Queueing delay under which the cap may rise again.
const QUEUE_LOW: Duration = Duration::from_millis(20);
/// The lowest one-way delay is looked for over this long: a route change
/// (a new baseline) is picked up within it.
const BASELINE_WINDOW: Duration = Duration::from_secs(10);
/// What the received rate is measured over.
const RATE_WINDOW: Duration = Duration::from_millis(1000);
/// What the link carries is measured over this, while a queue shows.
const CARRIED_WINDOW: Duration = Duration::from_millis(300);
/// Between two cuts of the cap: the feedback on the first needs a round trip.
const CUT_INTERVAL: Duration = Duration::from_millis(500);
/// How long a cut has to drain the queue before a queue that stands counts
/// against it.
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// Loss is measured over this long: a link that loses 10% reads 8–12% over it.
const LOSS_WINDOW: Duration = Duration::from_secs(2);
/// Over this share lost the estimate comes down.
const LOSS_HIGH: f64 = 0.15;
/// Under this share lost a loss cut is lifted again.
const LOSS_LOW: f64 = 0.10;

pub struct Estimator {
    gcc: Gcc,
    min: f64,
    max: f64,
    /// Departures are measured from here.
    anchor: Option<Instant>,
    /// The lowest one-way delay (ms) of the current and the previous window.
    baseline: [Option<f64>; 2],
    window_started: Option<Instant>,
    /// Bytes the peer received, by their arrival on the peer's clock.
    received: VecDeque<(Duration, usize)>,
    /// The first arrival: before a whole window has passed, the rate is over the time since.
    first_arrival: Option<Duration>,
    cap: Option<f64>,
    /// The queue (ms) at the latest cut, until it drains under `QUEUE_LOW`.
    queue_at_cut: Option<f64>,
    last_change: Option<Instant>,
    /// What the peer's RTCP reports say it lost of ours.
    reported_loss: ReportedLoss,
    /// What loss allows, and when that last changed.
    loss_cap: Option<f64>,
    loss_changed: Option<Instant>,
    target: f64,
    published: PublishedEstimate,
}

/// The estimate as of the latest feedback, readable from outside the
/// interceptor chain at any moment; 0 until feedback has come.
#[derive(Debug, Clone, Default)]
pub struct PublishedEstimate(Arc<AtomicU64>);

impl PublishedEstimate {
    pub fn bps(&self) -> Option<f64> {
        let bps = f64::from_bits(self.0.load(Ordering::Relaxed));
        (bps > 0.0).then_some(bps)
    }

    fn set(&self, bps: f64) {
        self.0.store(bps.to_bits(), Ordering::Relaxed);
    }
}

impl Estimator {
    /// Starts at `max`, held within `min..=max`; each new estimate is also
    /// written to `published`. `reported_loss` is fed by [`LossReports`].
    pub fn new(min: f64, max: f64, published: PublishedEstimate, reported_loss: ReportedLoss) -> Self {
        Self {
            gcc: Gcc::new(max, min, max),
            min,
            max,
            anchor: None,
            baseline: [None, None],
            window_started: None,
            received: VecDeque::new(),
            first_arrival: None,
            cap: None,
            queue_at_cut: None,
            last_change: None,
            reported_loss,
            loss_cap: None,
            loss_changed: None,
            target: max,
            published,
        }
    }

    /// Adds the packets that arrived and returns the rate at which they did
    /// (bits/s) over the latest `RATE_WINDOW` on the peer's clock.
    fn received_bps(&mut self, reports: &[PacketReport]) -> f64 {
        let arrived = reports.iter().filter(|r| r.arrived).filter_map(|r| Some((r.arrival?, r.size)));
        self.received.extend(arrived);
        let Some(newest) = self.received.iter().map(|(at, _)| *at).max() else { return 0.0 };
        while self.received.front().is_some_and(|(at, _)| newest.saturating_sub(*at) > RATE_WINDOW) {
            self.received.pop_front();
        }
        self.first_arrival.get_or_insert_with(|| self.received.iter().map(|(at, _)| *at).min().unwrap_or(newest));
        self.arrived_bps(RATE_WINDOW)
    }

    /// The rate (bits/s) at which packets arrived over the latest `window` on
    /// the peer's clock, or since the first arrival when that is more recent.
    fn arrived_bps(&self, window: Duration) -> f64 {
        let (Some(newest), Some(first)) = (self.received.iter().map(|(at, _)| *at).max(), self.first_arrival) else {
            return 0.0;
        };
        let bytes: usize =
            self.received.iter().filter(|(at, _)| newest.saturating_sub(*at) <= window).map(|(_, size)| size).sum();
        // At least 100 ms: the first few packets alone would make any rate.
        let span = newest.saturating_sub(first).clamp(Duration::from_millis(100), window);
        bytes as f64 * 8.0 / span.as_secs_f64()
    }

    /// The queueing delay this batch saw (ms): its median one-way delay above the baseline.
    fn queueing_ms(&mut self, now: Instant, reports: &[PacketReport]) -> Option<f64> {
        let first = reports.iter().map(|r| r.departure).min()?;
        let anchor = *self.anchor.get_or_insert(first);
        let mut delays: Vec<f64> = reports
            .iter()
            .filter_map(|r| {
                let arrival = r.arrival?;
                let departure = r.departure.checked_duration_since(anchor)?;
                Some((arrival.as_secs_f64() - departure.as_secs_f64()) * 1000.0)
            })
            .collect();
        if delays.is_empty() {
            return None;
        }
        let started = *self.window_started.get_or_insert(now);
        if now.duration_since(started) >= BASELINE_WINDOW {
            self.baseline = [None, self.baseline[0]];
            self.window_started = Some(now);
        }
        let lowest = delays.iter().copied().fold(f64::INFINITY, f64::min);
        self.baseline[0] = Some(self.baseline[0].map_or(lowest, |b| b.min(lowest)));
        let baseline = self.baseline.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        delays.sort_by(f64::total_cmp);
        Some(delays[delays.len() / 2] - baseline)
    }
}

/// The share of this side's packets the peer lost, as its RTCP receiver
/// and sender reports tell it (their *fraction lost*, each over the time since
/// the previous report). Not the transport-wide feedback: a feedback packet
/// lost on the way back makes every packet it acknowledged read as lost, so a
/// path losing 10% each way read as 16–30% there.
#[derive(Debug, Clone, Default)]
pub struct ReportedLoss(Arc<Mutex<VecDeque<(Instant, f64)>>>);

impl ReportedLoss {
    fn add(&self, at: Instant, fraction: f64) {
        let mut reports = self.0.lock().unwrap_or_else(|e| e.into_inner());
        reports.push_back((at, fraction));
        while reports.front().is_some_and(|(first, _)| at.duration_since(*first) > MAX_LOSS_AGE) {
            reports.pop_front();
        }
    }

    /// The mean of the fractions reported over the latest `window`, if any were.
    fn over(&self, now: Instant, window: Duration) -> Option<f64> {
        let reports = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let recent = reports.iter().filter(|(at, _)| now.saturating_duration_since(*at) <= window);
        let (sum, count) = recent.fold((0.0, 0u32), |(sum, count), (_, fraction)| (sum + fraction, count + 1));
        (count > 0).then(|| sum / f64::from(count))
    }
}

/// Reports older than this are forgotten.
const MAX_LOSS_AGE: Duration = Duration::from_secs(10);

/// Reads the peer's reception reports (in its receiver and sender reports) into
/// a [`ReportedLoss`]; everything goes on unchanged.
pub struct LossReports {
    loss: ReportedLoss,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

/// Where it goes in the registry: after the default interceptors, before the keyframe requests'.
pub const LOSS_REPORTS_SLOT: usize = 13_500;

impl LossReports {
    pub fn new(loss: ReportedLoss) -> Self {
        Self { loss, reads: VecDeque::new(), writes: VecDeque::new() }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for LossReports {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for packet in packets {
                let any = packet.as_any();
                let blocks = match (any.downcast_ref::<ReceiverReport>(), any.downcast_ref::<SenderReport>()) {
                    (Some(rr), _) => &rr.reports,
                    (_, Some(sr)) => &sr.reports,
                    _ => continue,
                };
                for block in blocks {
                    self.loss.add(msg.now, f64::from(block.fraction_lost) / 256.0);
                }
            }
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for LossReports {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

impl Estimator {
    /// Lowers the loss cap over `LOSS_HIGH`, lifts it under `LOSS_LOW`.
    fn follow_loss(&mut self, now: Instant) {
        let Some(loss) = self.reported_loss.over(now, LOSS_WINDOW) else { return };
        let since = self.loss_changed.map_or(Duration::MAX, |at| now.duration_since(at));
        if loss > LOSS_HIGH && since >= CUT_INTERVAL {
            let from = self.loss_cap.unwrap_or(self.target).min(self.target);
            self.loss_cap = Some((from * (1.0 - 0.5 * loss)).max(self.min));
            tracing::debug!(loss, cap_bps = self.loss_cap, "losses: the estimate is cut");
            self.loss_changed = Some(now);
        } else if loss < LOSS_LOW
            && let Some(cap) = self.loss_cap
            && since >= Duration::from_secs(1)
        {
            let raised = cap * 1.08;
            self.loss_cap = (raised < self.max).then_some(raised);
            self.loss_changed = Some(now);
        }
    }
}

impl BandwidthEstimator for Estimator {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.gcc.on_reports(now, reports);
        let received = self.received_bps(reports);
        let since_change = self.last_change.map_or(Duration::MAX, |at| now.duration_since(at));
        if let Some(queued) = self.queueing_ms(now, reports) {
            let growing = self.queue_at_cut.is_none_or(|at_cut| queued > at_cut);
            // A cut that leaves the queue where it was a second later did not
            // bring the sender under the link (an encoder over its target, say).
            let standing = since_change >= DRAIN_TIME && self.queue_at_cut.is_some_and(|at_cut| queued > 0.75 * at_cut);
            if queued > QUEUE_HIGH.as_secs_f64() * 1000.0 && since_change >= CUT_INTERVAL && (growing || standing) {
                // While a queue shows, what arrives is what the link carries;
                // measured over the latest moments, a link that just narrowed
                // is seen as it is now. From the cap too, when lower: the
                // sender got that much and still queued.
                let carried = self.arrived_bps(CARRIED_WINDOW);
                let cut = (0.85 * self.cap.map_or(carried, |cap| cap.min(carried))).max(self.min);
                tracing::debug!(
                    queued_ms = queued,
                    carried_bps = carried,
                    cut_bps = cut,
                    "a queue: the estimate is cut"
                );
                self.cap = Some(cut);
                self.queue_at_cut = Some(queued);
                self.last_change = Some(now);
            } else if queued < QUEUE_LOW.as_secs_f64() * 1000.0 {
                self.queue_at_cut = None;
                if let Some(cap) = self.cap
                    && since_change >= Duration::from_secs(1)
                {
                    let raised = cap * 1.08;
                    self.cap = (raised < self.max).then_some(raised);
                    self.last_change = Some(now);
                }
            }
        }
        self.follow_loss(now);
        let floor = (0.5 * received).max(self.min);
        let delay_based = self.gcc.delay_based_bitrate();
        let capped = [self.cap, self.loss_cap].into_iter().flatten().fold(delay_based, f64::min);
        self.target = capped.max(floor).min(self.max);
        tracing::trace!(delay_based, cap = self.cap, loss_cap = self.loss_cap, floor, target = self.target, "estimate");
        self.published.set(self.target);
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;

    /// Where the peer's clock stands when ours reads `start`: an offset
    /// between the two clocks the estimate must not mind.
    const PEER_CLOCK: Duration = Duration::from_secs(1000);

    /// The feedback on packet `id` of 1,200 bytes, sent at `departure`, that
    /// arrived at `arrival` on the peer's clock (`None`: lost).
    fn report(id: u64, departure: Instant, arrival: Option<Duration>) -> PacketReport {
        PacketReport {
            ssrc: 1,
            id,
            rtp_sequence_number: id as u16,
            is_twcc: true,
            twcc_sequence_number: id as u16,
            size: 1200,
            arrived: arrival.is_some(),
            departure,
            arrival,
            ecn: Ecn::NotEct,
        }
    }

    /// Feedback for `count` packets of 1,200 bytes sent 5 ms apart from `start`,
    /// each taking `delay` (plus a fixed clock offset) to arrive.
    fn batch(start: Instant, first_id: u64, count: u64, delay: impl Fn(u64) -> Duration) -> Vec<PacketReport> {
        (first_id..first_id + count)
            .map(|id| {
                let sent = Duration::from_millis(5 * id);
                report(id, start + sent, Some(PEER_CLOCK + sent + delay(id)))
            })
            .collect()
    }

    #[test]
    fn a_growing_queue_caps_the_estimate_under_what_gets_through() {
        let start = Instant::now();
        let published = PublishedEstimate::default();
        let mut estimator = Estimator::new(150_000.0, 2_000_000.0, published.clone(), ReportedLoss::default());
        assert_eq!(published.bps(), None, "nothing to publish before feedback");
        // 1 s without queueing: 200 packets of 1,200 bytes = 1.92 Mbit/s arrive.
        for step in 0..10 {
            let reports = batch(start, step * 20, 20, |_| Duration::from_millis(20));
            estimator.on_reports(start + Duration::from_millis(100 * (step + 1) + 20), &reports);
        }
        assert!(estimator.target_bitrate() > 1_500_000.0, "no queue, no cut: {}", estimator.target_bitrate());
        // Then the queue builds by 10 ms every 100 ms.
        let mut cut_at = None;
        for step in 10..20 {
            let queue = Duration::from_millis(10 * (step - 9));
            let reports = batch(start, step * 20, 20, |_| Duration::from_millis(20) + queue);
            estimator.on_reports(start + Duration::from_millis(100 * (step + 1) + 20), &reports);
            if cut_at.is_none() && estimator.target_bitrate() < 2_000_000.0 {
                cut_at = Some(queue);
            }
        }
        let cut_at = cut_at.expect("the estimate was cut");
        assert!(cut_at <= Duration::from_millis(50), "cut once the queue passed 40 ms, not at {cut_at:?}");
        // About 1.9-2.1 Mbit/s arrive (the window's edge): cut to 85% of that.
        let target = estimator.target_bitrate();
        assert!((0.5 * 1_920_000.0..=0.85 * 2_120_000.0).contains(&target), "{target} bps");
        assert_eq!(published.bps(), Some(target), "the session reads the same estimate");
    }

    #[test]
    fn feedback_that_comes_late_in_one_bunch_is_counted_at_the_rate_it_arrived() {
        let start = Instant::now();
        let mut estimator =
            Estimator::new(150_000.0, 2_000_000.0, PublishedEstimate::default(), ReportedLoss::default());
        // The first feedback comes late, on a busy machine: 400 ms of packets at once,
        // sent at 1.92 Mbit/s into a queue that grows 2 ms a packet: they arrive over
        // 573 ms, at 1.39 Mbit/s.
        let reports = batch(start, 0, 80, |id| Duration::from_millis(20 + 2 * id));
        estimator.on_reports(start + Duration::from_millis(600), &reports);
        let target = estimator.target_bitrate();
        // Counted by when the feedback came (all of it in the first 100 ms), it read as
        // 7.7 Mbit/s, and the cut changed nothing.
        assert!(
            (0.85 * 1_300_000.0..=0.85 * 1_500_000.0).contains(&target),
            "cut to 85% of the 1.39 Mbit/s that arrived: {target} bps"
        );
    }

    #[test]
    fn a_queue_that_drains_after_a_cut_is_not_cut_again_until_it_grows() {
        let start = Instant::now();
        let mut estimator =
            Estimator::new(150_000.0, 2_000_000.0, PublishedEstimate::default(), ReportedLoss::default());
        // Step `step` (100 ms) of a sender that sends `count` packets of 1,200 bytes
        // evenly, each queued `queue_ms` on the way; the feedback comes 20 ms after.
        let mut id = 0;
        let mut step = |estimator: &mut Estimator, step: u64, count: u64, queue_ms: u64| {
            let reports: Vec<PacketReport> = (0..count)
                .map(|i| {
                    let sent = Duration::from_millis(100 * step + 100 * i / count);
                    id += 1;
                    report(id, start + sent, Some(PEER_CLOCK + sent + Duration::from_millis(20 + queue_ms)))
                })
                .collect();
            estimator.on_reports(start + Duration::from_millis(100 * (step + 1) + 20 + queue_ms), &reports);
            estimator.target_bitrate()
        };
        for n in 0..10 {
            step(&mut estimator, n, 20, 0);
        }
        let cut = step(&mut estimator, 10, 20, 150);
        assert!(cut < 2_000_000.0, "a queue of 150 ms cuts: {cut}");
        // The sender halves its rate and the queue drains, slowly and still over
        // the mark, for 1.5 s: each report would cut again to 85% of the lower rate
        // that arrives. The cut stands.
        for (n, queue_ms) in (11..26).zip((70..=140).rev().step_by(5)) {
            assert_eq!(step(&mut estimator, n, 10, queue_ms), cut, "{queue_ms} ms and draining: no second cut");
        }
        // It grows past where it was cut: cut again.
        let again = (26..32).map(|n| step(&mut estimator, n, 10, 180)).fold(f64::MAX, f64::min);
        assert!(again < cut, "a queue growing past 150 ms cuts again: {again} after {cut}");
    }

    #[test]
    fn losses_cannot_take_the_estimate_below_half_of_what_arrives() {
        let start = Instant::now();
        let loss = ReportedLoss::default();
        let mut estimator = Estimator::new(150_000.0, 2_000_000.0, PublishedEstimate::default(), loss.clone());
        for step in 0..30 {
            let mut reports = batch(start, step * 20, 20, |_| Duration::from_millis(20));
            // Every third packet lost: GCC's loss half alone would fall to the floor.
            for report in reports.iter_mut().step_by(3) {
                report.arrived = false;
                report.arrival = None;
            }
            let now = start + Duration::from_millis(100 * (step + 1) + 20);
            if step % 10 == 0 {
                loss.add(now, 1.0 / 3.0);
            }
            estimator.on_reports(now, &reports);
        }
        let arriving = 1_920_000.0 * 2.0 / 3.0;
        let target = estimator.target_bitrate();
        assert!(target >= 0.49 * arriving, "{target} bps with {arriving} bps arriving");
        assert!(target < 2_000_000.0, "the losses do lower it: {target}");
    }

    /// What a simulated call saw from 8 s on (once settled).
    #[derive(Debug)]
    struct Settled {
        /// Queueing delay of the packets sent (ms).
        queue_p50: f64,
        queue_p90: f64,
        queue_max: f64,
        /// What was sent as a share of what the link carried, on average.
        utilisation: f64,
        /// What was sent over the last two seconds (bits/s).
        sent_at_end: f64,
        dropped: usize,
    }

    /// A 30 s call: a sender that follows the estimate as `duet-cli` does (90%
    /// of it, checked every 200 ms; twice as fast a second until the first
    /// fall, then 15% a second) and sends `overshoot` times what it aims at, as
    /// an encoder over its target does, through a link of `link_bps(second)`
    /// with 20 ms of delay each way and a 200 ms drop-tail queue, losing a
    /// `loss` share of the packets at random before it; 1,200-byte packets,
    /// feedback every 100 ms.
    fn call_over_a_link(overshoot: f64, loss: f64, link_bps: impl Fn(f64) -> f64) -> Settled {
        const PACKET_BITS: f64 = 9_600.0;
        const SETTLED_MS: f64 = 8_000.0;
        let start = Instant::now();
        let at = |ms: f64| Duration::from_secs_f64(ms / 1000.0);
        let reported_loss = ReportedLoss::default();
        let mut estimator = Estimator::new(150_000.0, 2_000_000.0, PublishedEstimate::default(), reported_loss.clone());
        let (mut aim, mut starting) = (300_000.0_f64, true);
        // Sent and lost since the peer's previous receiver report (one a second).
        let (mut sent_since, mut lost_since) = (0u32, 0u32);
        let (mut credit, mut link_free_ms, mut id) = (0.0, 0.0_f64, 0u64);
        let mut in_flight: Vec<PacketReport> = Vec::new();
        let (mut queues, mut dropped, mut sent_bits, mut link_bits, mut sent_at_end) = (Vec::new(), 0, 0.0, 0.0, 0.0);
        // xorshift64*: the same losses every run.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut lost = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            ((state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64) < loss
        };
        for tick in 1..=3000u64 {
            let now_ms = tick as f64 * 10.0;
            if tick % 20 == 0 {
                let budget = (0.9 * estimator.target_bitrate()).max(100_000.0);
                starting &= budget >= aim;
                let ramp: f64 = if starting { 2.0 } else { 1.15 };
                aim = budget.min(aim * ramp.powf(0.2));
            }
            let link = link_bps(now_ms / 1000.0);
            credit += overshoot * aim * 0.01;
            let count = (credit / PACKET_BITS).floor();
            credit -= count * PACKET_BITS;
            for i in 0..count as u64 {
                let sent_ms = now_ms + 10.0 * i as f64 / count;
                let reaches_ms = sent_ms + 20.0;
                let queued = (link_free_ms - reaches_ms).max(0.0);
                let arrival = (queued <= 200.0 && !lost()).then(|| {
                    link_free_ms = reaches_ms.max(link_free_ms) + PACKET_BITS / link * 1000.0;
                    PEER_CLOCK + at(link_free_ms)
                });
                if now_ms > SETTLED_MS {
                    queues.push(queued);
                    dropped += usize::from(queued > 200.0);
                    sent_bits += PACKET_BITS;
                }
                if now_ms > 28_000.0 {
                    sent_at_end += PACKET_BITS / 2.0;
                }
                sent_since += 1;
                lost_since += u32::from(arrival.is_none());
                id += 1;
                in_flight.push(report(id, start + at(sent_ms), arrival));
            }
            if now_ms > SETTLED_MS {
                link_bits += link * 0.01;
            }
            if tick % 100 == 0 {
                reported_loss.add(start + at(now_ms), f64::from(lost_since) / f64::from(sent_since.max(1)));
                (sent_since, lost_since) = (0, 0);
            }
            if tick % 10 == 0 {
                // The peer reports what reached it 20 ms ago (the report's way back).
                let reported_by = now_ms - 20.0;
                let (ready, later) = in_flight.drain(..).partition(|r: &PacketReport| {
                    r.departure <= start + at(reported_by)
                        && r.arrival.is_none_or(|t| t <= PEER_CLOCK + at(reported_by))
                });
                in_flight = later;
                estimator.on_reports(start + at(now_ms), &ready);
            }
        }
        queues.sort_by(f64::total_cmp);
        let share = |q: f64| queues[((queues.len() - 1) as f64 * q) as usize];
        Settled {
            queue_p50: share(0.5),
            queue_p90: share(0.9),
            queue_max: share(1.0),
            utilisation: sent_bits / link_bits,
            sent_at_end,
            dropped,
        }
    }

    #[test]
    fn on_a_narrow_link_the_queue_stays_short_and_the_link_full() {
        // The encoder on its target, or 10-20% over it (as seen in calls).
        for overshoot in [1.0, 1.1, 1.2] {
            let call = call_over_a_link(overshoot, 0.0, |_| 500_000.0);
            assert!(call.queue_p50 < 20.0, "{overshoot}: mostly no queue: {call:?}");
            // The estimate probes upwards and is cut when the queue passes 40 ms
            // (at 60 ms, 90th percentiles of 60-86 ms and peaks of 86-106 ms).
            assert!(call.queue_p90 < 60.0, "{overshoot}: a probe's queue is short: {call:?}");
            assert!(call.queue_max < 100.0, "{overshoot}: {call:?}");
            assert!(call.utilisation > 0.85, "{overshoot}: the link is used: {call:?}");
            assert_eq!(call.dropped, 0, "{overshoot}: {call:?}");
        }
    }

    #[test]
    fn a_queue_that_stands_after_a_cut_is_cut_again() {
        // 30% over its target: a cut to 85% of what gets through still sends
        // more than the link carries. Cut again only when the queue grew, the
        // queue stood full: a median of 184 ms and 10 packets dropped.
        let call = call_over_a_link(1.3, 0.0, |_| 500_000.0);
        assert!(call.queue_p50 < 20.0, "{call:?}");
        assert!(call.queue_p90 < 80.0, "{call:?}");
        assert_eq!(call.dropped, 0, "{call:?}");
    }

    #[test]
    fn a_link_that_narrows_is_followed_within_moments() {
        // 1.5 Mbit/s, then 500 kbit/s from 10 s. What the link carried over the
        // last second still counted the wider link, so the first cut stopped
        // short: 10% of the packets from 8 s on queued 187-195 ms or more.
        let call = call_over_a_link(1.0, 0.0, |second| if second < 10.0 { 1_500_000.0 } else { 500_000.0 });
        assert!(call.queue_p90 < 80.0, "{call:?}");
        assert!(call.sent_at_end < 500_000.0, "{call:?}");
    }

    #[test]
    fn a_link_that_grows_after_a_cut_is_used_again() {
        // 500 kbit/s, then 2 Mbit/s from 10 s: within 20 s video is back near its
        // full rate (90% of the 2 Mbit/s ceiling).
        let call = call_over_a_link(1.0, 0.0, |second| if second < 10.0 { 500_000.0 } else { 2_000_000.0 });
        assert!(call.sent_at_end > 1_400_000.0, "{call:?}");
        assert_eq!(call.dropped, 0, "{call:?}");
    }

    #[test]
    fn random_loss_up_to_a_tenth_holds_the_rate() {
        // A wide link (3 Mbit/s, over the 2 Mbit/s ceiling) that loses packets
        // without queueing them. With GCC's loss half (a cut over 10%, a climb
        // only under 2%) 0.19 Mbit/s was sent at the end with 10% lost; 1.70
        // with 5%, which never crossed its threshold here.
        for loss in [0.05, 0.10] {
            let call = call_over_a_link(1.0, loss, |_| 3_000_000.0);
            assert!(call.sent_at_end > 1_500_000.0, "{loss}: {call:?}");
        }
    }

    #[test]
    fn heavy_loss_lowers_the_rate() {
        // A quarter lost: a policer, or a link too poor for the full rate.
        let call = call_over_a_link(1.0, 0.25, |_| 3_000_000.0);
        assert!(call.sent_at_end < 800_000.0, "{call:?}");
    }
}
