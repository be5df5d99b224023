//! Calls over a bad network: two `duet-cli` processes on two hosts (this
//! namespace and a fresh one) whose only link is impaired.
//! - 5% loss and 50 ms delay each way: the call must go on; NACK and PLI repair
//!   the video, shown on a steady beat, FEC and concealment the audio; losses
//!   are reported, and the picture hardly freezes.
//! - A 500 kbps bottleneck, narrower than the 850 kbps the video would send:
//!   video starts at 300 kbps and doubles a second until the estimate shows the
//!   link's limit, so the start hardly overfills it; the encoder then follows
//!   the estimate under the link.

use std::time::Duration;

use serde_json::Value;

mod common;
use common::netlab::{HOST_A, HOST_B, Impairment, NetLab};
use common::{last_stats, server_on, states};

const BIN: &str = env!("CARGO_BIN_EXE_duet-cli");

fn number(stats: &Value, field: &str) -> f64 {
    stats[field].as_f64().unwrap_or_else(|| panic!("{field} in {stats}"))
}

/// The impaired network, or `None` (the test is skipped) where it cannot be built outside CI.
fn lab(impairment: Impairment) -> Option<NetLab> {
    NetLab::for_test(impairment, impairment)
}

/// One at a time: each call alone fills both cores, and a second would distort the other's link.
static ONE_LAB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_a_lossy_slow_link_goes_on_and_reports_it() {
    let _one = ONE_LAB.lock().await;
    let Some(lab) = lab(Impairment { loss: 0.05, delay: Duration::from_millis(50), ..Impairment::default() }) else {
        return;
    };
    let server = server_on("0.0.0.0").await;
    let mut callee = server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online across the link", |l| l["state"] == "prepared").await;
    let mut caller = server.live_at(
        tokio::process::Command::new(BIN),
        HOST_A,
        HOST_A,
        "alice",
        &["call", "bob", "--synthetic", "--duration", "10s"],
    );
    let dialed = std::time::Instant::now();
    caller.wait_for("the call's media", |l| l["event"] == "media").await;
    eprintln!("media connected {:?} after dialing", dialed.elapsed());
    let (caller_out, caller_code) = caller.finish().await;
    let (callee_out, callee_code) = callee.finish().await;
    let dropped = lab.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let forwarded = lab.forwarded.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("link: {forwarded} packets forwarded, {dropped} dropped");

    assert_eq!((caller_code, callee_code), (0, 0), "the call lasted until the caller hung up");
    assert!(states(&callee_out).contains(&"ended".to_owned()));
    assert!(dropped as f64 > 0.03 * (forwarded + dropped) as f64, "the link did lose packets");
    let (caller_stats, callee_stats) = (last_stats(&caller_out), last_stats(&callee_out));
    eprintln!("caller: {caller_stats}\ncallee: {callee_stats}");
    let sides =
        [("caller", &caller_out, caller_stats, callee_stats), ("callee", &callee_out, callee_stats, caller_stats)];
    for (who, lines, stats, peer) in sides {
        let (decoded, sent) = (number(stats, "frames_decoded"), number(peer, "frames_sent"));
        // Without NACK and PLI the first lost packet stopped the video for good (0 decoded).
        // Alone this decodes 93–100%; inside the full suite on this 2-core machine runs
        // decoded 85% and once 49% (with 2-3x the usual latency), so the bar is the repair
        // itself: video decodes throughout, to the end, and keyframe requests were answered.
        assert!(decoded >= 0.4 * sent, "{who}: lost video is repaired (decoded {decoded} of {sent})");
        assert!(number(stats, "last_frame_counter") >= sent - 15.0, "{who}: video still flows at the end: {stats}");
        if number(stats, "frames_lost") + number(stats, "frames_undecodable") > 0.0 {
            assert!(number(peer, "keyframe_requests") >= 1.0, "{who}'s keyframe requests reached the peer: {peer}");
        }
        // Each report covers one second; over the call the loss shows.
        // (The last report, printed at hangup, covers a fraction of a second: left out.)
        let reports: Vec<&Value> = lines.iter().filter(|l| l["event"] == "stats").collect();
        let loss = reports[..reports.len() - 1].iter().map(|l| number(l, "loss")).fold(0.0, f64::max);
        // The link drops 5%; a starved receiver (full socket buffers on a busy CI machine) adds real loss.
        assert!((0.02..0.5).contains(&loss), "{who}: the loss is measured: {loss}");
        let rtt = number(stats, "rtt_ms");
        assert!((90.0..250.0).contains(&rtt), "{who}: 2 × 50 ms shows in the RTT: {rtt}");
        assert!(number(stats, "quality") >= 2.0, "{who}: the network is not rated excellent: {stats}");
        // Frames that waited for a retransmission are shown on a steady beat (the
        // playout delay), not in a jerk: 0 freezes a minute in the benchmark. Shown
        // as they came, a 10 s call here froze 4-8 times.
        let freezes = number(stats, "freeze_count");
        assert!(freezes <= 2.0, "{who}: lost packets do not freeze the picture: {freezes} freezes in 10 s: {stats}");
        let repaired = number(stats, "audio_frames_recovered") + number(stats, "audio_frames_concealed");
        assert!(repaired > 0.0, "{who}: lost audio is rebuilt or concealed: {stats}");
        assert!(number(stats, "audio_frames_decoded") >= 300.0, "{who}: the voice went on: {stats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_a_narrow_link_lowers_its_bitrate_to_fit() {
    let _one = ONE_LAB.lock().await;
    let link = Impairment { delay: Duration::from_millis(20), rate_bps: Some(500_000), ..Impairment::default() };
    let Some(lab) = lab(link) else { return };
    let server = server_on("0.0.0.0").await;
    let mut callee = server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online across the link", |l| l["state"] == "prepared").await;
    let caller = server.live_at(
        tokio::process::Command::new(BIN),
        HOST_A,
        HOST_A,
        "alice",
        &["call", "bob", "--synthetic", "--duration", "18s"],
    );
    let (caller_out, caller_code) = caller.finish().await;
    let (callee_out, callee_code) = callee.finish().await;
    assert_eq!((caller_code, callee_code), (0, 0), "the call lasted until the caller hung up");
    let overflowed = lab.overflowed.load(std::sync::atomic::Ordering::Relaxed);

    let reports = |lines: &[Value]| -> Vec<Value> { lines.iter().filter(|l| l["event"] == "stats").cloned().collect() };
    let (caller_reports, callee_reports) = (reports(&caller_out), reports(&callee_out));
    for (n, (mine, theirs)) in caller_reports.iter().zip(&callee_reports).enumerate() {
        eprintln!(
            "{n:2}s caller: target {} kbps, video {} kbps, out {} kbps, rtt {} ms, decoded {} | callee: target {} kbps, out {} kbps, decoded {}",
            mine["target_bitrate_kbps"],
            mine["video_bitrate_kbps"],
            mine["bitrate_out_kbps"],
            mine["rtt_ms"],
            mine["frames_decoded"],
            theirs["target_bitrate_kbps"],
            theirs["bitrate_out_kbps"],
            theirs["frames_decoded"]
        );
    }
    let forwarded = lab.forwarded.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("the bottleneck forwarded {forwarded} packets; its full queue dropped {overflowed}");
    // Video starts at 300 kbps and doubles a second until the queue shows: the
    // first feedback caps the estimate under the link. 0-5 packets of ~4,000
    // dropped, seen here, also with two busy loops competing for the cores; 15%
    // when the call started at the full 850 kbps, and up to 67 while the start
    // was measured by when feedback came.
    assert!(
        overflowed * 100 < forwarded,
        "the start hardly overfills the link: {overflowed} dropped, {forwarded} forwarded"
    );
    for (who, lines, peer_lines) in
        [("caller", &caller_reports, &callee_reports), ("callee", &callee_reports, &caller_reports)]
    {
        let early = lines[1..=3].iter().map(|r| number(r, "target_bitrate_kbps")).fold(f64::MAX, f64::min);
        assert!(early < 500.0, "{who}: within 3 s the estimate fell under the 500 kbps link: {early} kbps");
        // 50-56 frames by then, seen here; a call that started at the full rate
        // stalled until 4-6 s.
        let by_4s = number(&lines[4], "frames_decoded");
        assert!(by_4s >= 30.0, "{who}: video plays from the start: {by_4s} frames decoded in 4 s");
        // Settled: from 8 s on, every full second (the last report covers a fraction of one).
        let settled = &lines[8..lines.len() - 1];
        for report in settled {
            assert!(number(report, "video_bitrate_kbps") < 450.0, "{who}: the encoder fits the link: {report}");
            assert!(number(report, "bitrate_out_kbps") < 500.0, "{who}: what is sent fits the link: {report}");
            assert!(number(report, "loss") < 0.02, "{who}: nothing overflows once the rate fits: {report}");
        }
        // The estimate probes upwards and backs off when a queue builds: on a busy
        // machine one probe may fill the queue (up to 2 × 20 ms + 200 ms) before the
        // cut drains it. It must not stay full: one round-trip sample over 200 ms at
        // most (a sample is repeated in the reports until the next one comes).
        let mut samples: Vec<f64> = settled.iter().map(|r| number(r, "rtt_ms")).collect();
        samples.dedup();
        let full = samples.iter().filter(|&&rtt| rtt >= 200.0).count();
        assert!(full <= 1, "{who}: the bottleneck's queue does not stay full: {samples:?} ms");
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        assert!(median < 120.0, "{who}: the queue is mostly short: {samples:?} ms");
        let last = lines.last().unwrap();
        let five_seconds_before = &lines[lines.len() - 6];
        let recent = number(last, "frames_decoded") - number(five_seconds_before, "frames_decoded");
        assert!(recent >= 45.0, "{who}: video plays at the end ({recent} frames in the last 5 s)");
        let sent = number(peer_lines.last().unwrap(), "frames_sent");
        assert!(number(last, "last_frame_counter") >= sent - 15.0, "{who}: video still flows at the end: {last}");
    }
}
