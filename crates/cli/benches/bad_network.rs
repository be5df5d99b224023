//! Calls over bad networks (BENCHMARKS.md "Staying in the call"): every
//! profile of the table two real `duet-cli` processes go through, on two hosts
//! (this namespace and a fresh one) joined by the user-space link of
//! `tests/common/netlab.rs`, the impairment applied both ways. Needs root and
//! iproute2; elsewhere it says so and measures nothing.
//!
//! - Loss, delay and jitter, and a 600 kbps bottleneck: frames decoded a second,
//!   freezes a minute, glass to glass p95 (capture → decoded, from the synthetic
//!   source's stamps), the share of audio frames concealed, over the call after
//!   its first two seconds.
//! - A 4 s blackout: how long after the link came back media is up, and how old
//!   the frames shown then are (the oldest in each of the next seconds).
//! - The caller's address removed and a new one a second later: media back after
//!   the new address came.
//! - 30 s without any path: how each side ended, and when.
//!
//! `cargo bench -p duet-cli --bench bad_network` — `DUET_BENCH_SECONDS` (default
//! 30) is each impaired call's length; `DUET_BENCH_PROFILE` picks profiles whose
//! name contains it.

use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../tests/common/mod.rs"]
mod common;
use common::netlab::{HOST_A, HOST_B, Impairment, NetLab};
use common::{Live, TestServer, server_on};

const BIN: &str = env!("CARGO_BIN_EXE_duet-cli");

/// The call's first seconds (ICE, DTLS, the slow start) are left out of the rates.
const SETTLE_REPORTS: usize = 2;

fn number(line: &Value, field: &str) -> f64 {
    line[field].as_f64().unwrap_or_default()
}

/// Alice on host A calls Bob on host B; both answer with the synthetic sources.
async fn dial(server: &TestServer, lab: &NetLab, caller_args: &[&str]) -> (Live, Live) {
    let mut callee = server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let args = [&["call", "bob", "--synthetic"], caller_args].concat();
    let mut caller = server.live_at(tokio::process::Command::new(BIN), HOST_A, HOST_A, "alice", &args);
    for side in [&mut caller, &mut callee] {
        side.media("connected").await;
    }
    (caller, callee)
}

/// One impaired call of `seconds`, and the figures of each side.
async fn impaired_call(name: &str, link: Impairment, seconds: u64) {
    let Some(lab) = start(link) else { return };
    let server = server_on("0.0.0.0").await;
    let duration = format!("{seconds}s");
    let (caller, callee) = dial(&server, &lab, &["--duration", &duration]).await;
    let (caller_out, _) = caller.finish_within(Duration::from_secs(seconds + 30)).await;
    let (callee_out, _) = callee.finish().await;
    let (dropped, forwarded) = (lab.dropped.load(RELAXED), lab.forwarded.load(RELAXED));
    let overflowed = lab.overflowed.load(RELAXED);
    println!(
        "{name}: a {seconds} s call, 960x540 at 15 fps both ways; the link forwarded {forwarded} packets, \
         dropped {dropped}, its full queue {overflowed}"
    );
    for (who, lines) in [("caller", &caller_out), ("callee", &callee_out)] {
        let reports: Vec<&Value> = lines.iter().filter(|l| l["event"] == "stats").collect();
        // Whole seconds after the first ones (the last report, at hang-up, covers a fraction of one).
        let Some(window) = reports.get(SETTLE_REPORTS..reports.len().saturating_sub(1)).filter(|w| w.len() >= 2) else {
            println!("  {who}: too few reports ({})", reports.len());
            continue;
        };
        let (first, last) = (window[0], window[window.len() - 1]);
        let seconds = (window.len() - 1) as f64;
        let delta = |field: &str| number(last, field) - number(first, field);
        let played = delta("audio_frames_decoded") + delta("audio_frames_recovered") + delta("audio_frames_concealed");
        let mean = |field: &str| window.iter().map(|r| number(r, field)).sum::<f64>() / window.len() as f64;
        let end = reports[reports.len() - 1];
        println!(
            "  {who}: {:.1} fps decoded, {:.1} freezes/min ({} ms frozen), glass to glass p50 {} / p95 {} ms; \
             audio: {:.1}% concealed, {:.1}% rebuilt from FEC; target {:.0} kbps, video {:.0} kbps, \
             loss {:.1}%, RTT {:.0} ms; {} keyframe requests answered",
            delta("frames_decoded") / seconds,
            delta("freeze_count") / seconds * 60.0,
            delta("total_freeze_ms"),
            end["glass_to_glass_p50_ms"],
            end["glass_to_glass_p95_ms"],
            100.0 * delta("audio_frames_concealed") / played.max(1.0),
            100.0 * delta("audio_frames_recovered") / played.max(1.0),
            mean("target_bitrate_kbps"),
            mean("video_bitrate_kbps"),
            100.0 * mean("loss"),
            mean("rtt_ms"),
            number(end, "keyframe_requests"),
        );
    }
}

const RELAXED: std::sync::atomic::Ordering = std::sync::atomic::Ordering::Relaxed;

fn start(link: Impairment) -> Option<NetLab> {
    match NetLab::start(link) {
        Ok(lab) => Some(lab),
        Err(why) => {
            println!("  skipped: cannot build the test network (needs root and iproute2): {why}");
            None
        }
    }
}

/// The wall clock (ms since the epoch), as the processes stamp their events.
fn wall_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// After the path came back at `back_ms` (wall clock): when `side`'s media
/// was up again, and how old the frames it showed in each of the next
/// `seconds` reports were.
async fn after_resumption(who: &str, side: &mut Live, back_ms: f64, seconds: usize) {
    let connected = side.media("connected").await;
    let up = (connected["at_ms"].as_f64().unwrap_or_default() - back_ms) / 1000.0;
    let mut line = format!("  {who}: media up {up:.2} s after the path came back; oldest frame shown");
    let start = number(&side.stats().await, "frames_decoded");
    for second in 1..=seconds {
        let report = side.stats().await;
        line += &format!(
            " in second {second}: {} ms ({} decoded so far);",
            report["glass_to_glass_recent_max_ms"],
            number(&report, "frames_decoded") - start
        );
    }
    println!("{line}");
}

async fn blackout(seconds: u64) {
    println!("a {seconds} s blackout both ways, 960x540 at 15 fps:");
    let Some(lab) = start(Impairment::default()) else { return };
    let server = server_on("0.0.0.0").await;
    let (mut caller, mut callee) = dial(&server, &lab, &[]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    lab.set_blackout(true);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    lab.set_blackout(false);
    let back = wall_ms();
    for (who, side) in [("caller", &mut caller), ("callee", &mut callee)] {
        after_resumption(who, side, back, 3).await;
    }
    caller.control("hangup").await;
    let (caller_out, _) = caller.finish().await;
    callee.finish().await;
    let stats = common::last_stats(&caller_out);
    println!("  ICE restarts (caller): {}", stats["ice_restarts"]);
}

async fn address_change() {
    const MOVED: &str = "10.77.2.3";
    println!("the caller's address removed, a new one 1 s later:");
    let Some(lab) = start(Impairment::default()) else { return };
    lab.route_to_b(MOVED).expect("route");
    let server = server_on("0.0.0.0").await;
    let mut callee =
        server.live_at(tokio::process::Command::new(BIN), HOST_A, HOST_A, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live_at(lab.command_in_b(BIN), HOST_A, "0.0.0.0", "alice", &["call", "bob", "--synthetic"]);
    for side in [&mut caller, &mut callee] {
        side.media("connected").await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    lab.move_b(HOST_B, MOVED, Duration::from_secs(1)).expect("move");
    after_resumption("callee", &mut callee, wall_ms(), 2).await;
    caller.control("hangup").await;
    let (caller_out, _) = caller.finish().await;
    let (callee_out, _) = callee.finish().await;
    println!("  ended: caller {}, callee {}", ending(&caller_out), ending(&callee_out));
}

fn ending(lines: &[Value]) -> String {
    lines
        .iter()
        .filter(|l| l["state"] == "ended" || l["state"] == "failed")
        .map(|l| format!("{} ({})", l["state"], l["reason"]))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn no_path() {
    println!("30 s without any path (audio call):");
    let Some(lab) = start(Impairment::default()) else { return };
    let server = server_on("0.0.0.0").await;
    let mut callee =
        server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "bob", &["answer", "--synthetic", "--audio-only"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let args = ["call", "bob", "--synthetic", "--audio-only"];
    let mut caller = server.live_at(tokio::process::Command::new(BIN), HOST_A, HOST_A, "alice", &args);
    for side in [&mut caller, &mut callee] {
        side.media("connected").await;
    }
    lab.set_blackout(true);
    let cut = Instant::now();
    let (caller_out, _) = caller.finish_within(Duration::from_secs(45)).await;
    let caller_at = cut.elapsed();
    let (callee_out, _) = callee.finish_within(Duration::from_secs(15)).await;
    println!(
        "  caller {} after {:.1} s; callee {} by {:.1} s",
        ending(&caller_out),
        caller_at.as_secs_f64(),
        ending(&callee_out),
        cut.elapsed().as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs one short call.
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds =
        if quick { 6 } else { std::env::var("DUET_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30) };
    let only = std::env::var("DUET_BENCH_PROFILE").unwrap_or_default();
    let each = |loss: f64, delay_ms: u64, jitter_ms: u64, rate_bps: Option<u64>| Impairment {
        loss,
        delay: Duration::from_millis(delay_ms),
        jitter: Duration::from_millis(jitter_ms),
        rate_bps,
    };
    let lossy = [
        ("5% loss, 50 ms", each(0.05, 50, 0, None)),
        ("10% loss, 100 ms ± 20 ms", each(0.10, 100, 20, None)),
        ("600 kbps bottleneck, 200 ms queue", each(0.0, 0, 0, Some(600_000))),
    ];
    for (name, link) in lossy {
        if name.contains(&only) {
            impaired_call(name, link, seconds).await;
        }
        if quick {
            return;
        }
    }
    if "blackout".contains(&only) {
        blackout(4).await;
    }
    if "address change".contains(&only) {
        address_change().await;
    }
    if "no path".contains(&only) {
        no_path().await;
    }
}
