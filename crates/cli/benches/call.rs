//! Call figures between two real `duet-cli` processes through a real server
//! on loopback (BENCHMARKS.md):
//!
//! - accept → first decoded remote frame on each side (DESIGN.md), over
//!   several 540p15 calls, directly and (where coturn is installed) with both
//!   sides relay-only through a real TURN relay on loopback; then between two
//!   homes behind NAT routers (`tests/common/natlab.rs`, needs root and
//!   iptables), straight through the NATs (STUN) and through coturn where the
//!   routers block UDP between them; with the time from joining the room to the
//!   first relay candidate where there is a relay;
//! - glass to glass (capture → decoded on the other side, from the stamps of
//!   the synthetic source), frame rate, CPU and resident memory of each side
//!   during a 720p30 call.
//!
//! `cargo bench -p duet-cli --bench call` — `DUET_BENCH_CALLS` (default 5) and
//! `DUET_BENCH_SECONDS` (default 60) change the counts.

use std::time::Duration;

use serde_json::Value;

#[path = "../tests/common/mod.rs"]
mod common;
use common::natlab::Homes;
use common::{Live, TestServer, server};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn at_ms(lines: &[Value], matches: impl Fn(&Value) -> bool) -> Option<f64> {
    lines.iter().find(|l| matches(l)).and_then(|l| l["at_ms"].as_f64())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Caller and callee, the callee answering first. Global flags (`--relay-only`) lead the arguments.
async fn call(server: &TestServer, caller_args: &[&str], callee_args: &[&str]) -> (Live, Live) {
    fn split<'a>(args: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
        args.iter().partition(|a| **a == "--relay-only")
    }
    let ((callee_global, callee_rest), (caller_global, caller_rest)) = (split(callee_args), split(caller_args));
    let mut callee = server.live("bob", &[&callee_global[..], &["answer", "--synthetic"], &callee_rest[..]].concat());
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let caller =
        server.live("alice", &[&caller_global[..], &["call", "bob", "--synthetic"], &caller_rest[..]].concat());
    (caller, callee)
}

/// How a call of the benchmark is set up: the two processes, the callee
/// answering already. `extra` (`--relay-only`, say) goes to both.
trait Calls {
    async fn start(&self, caller_args: &[&str], extra: &[&str]) -> (Live, Live);
}

/// On loopback, through `server`.
impl Calls for TestServer {
    async fn start(&self, caller_args: &[&str], extra: &[&str]) -> (Live, Live) {
        call(self, &[extra, caller_args].concat(), extra).await
    }
}

/// Between the two homes of the NAT lab: Alice on host A, Bob on host B.
impl Calls for Homes {
    async fn start(&self, caller_args: &[&str], extra: &[&str]) -> (Live, Live) {
        let alice = [extra, &["call", "bob", "--synthetic"], caller_args].concat();
        self.dial(&alice, &[extra, &["answer", "--synthetic"]].concat()).await
    }
}

async fn accept_to_first_frame(calls: &impl Calls, count: u64, path: &str, extra: &[&str]) {
    println!("accept -> first decoded remote frame, 960x540 at 15 fps, {count} calls, {path}:");
    let (mut callee_side, mut caller_side, mut to_media, mut to_relay) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rtts = Vec::new();
    for _ in 0..count {
        // Long enough for a relayed path to come up (seconds, not milliseconds, so far).
        let (caller, callee) = calls.start(&["--duration", "8s"], extra).await;
        let (caller_out, _) = caller.finish().await;
        let (callee_out, _) = callee.finish().await;
        let accepted = at_ms(&callee_out, |l| l["event"] == "accepted").expect("the callee accepted");
        let first =
            |lines: &[Value]| at_ms(lines, |l| l["event"] == "first_frame").expect("a frame decoded") - accepted;
        let media = at_ms(&callee_out, |l| l["event"] == "media").expect("media connected") - accepted;
        let (caller_ms, callee_ms) = (first(&caller_out), first(&callee_out));
        if std::env::var_os("DUET_BENCH_TIMELINE").is_some() {
            for (who, lines) in [("caller", &caller_out), ("callee", &callee_out)] {
                for line in lines.iter().filter(|l| l["at_ms"].is_f64()) {
                    let at = line["at_ms"].as_f64().unwrap_or_default() - accepted;
                    println!("    {at:7.1} ms {who} {} {} {}", line["event"], line["state"], line["kind"]);
                }
            }
        }
        // Both in the room (the caller's "connected") → the caller's first relay candidate.
        let joined = at_ms(&caller_out, |l| l["state"] == "connected");
        let relay = at_ms(&caller_out, |l| l["event"] == "candidate" && l["kind"] == "relay");
        let relay_ms = joined.zip(relay).map(|(joined, relay)| relay - joined);
        // The path's round trip once the call runs (the first samples include the set-up).
        let rtt = caller_out.iter().rev().filter(|l| l["event"] == "stats").find_map(|l| l["rtt_ms"].as_f64());
        println!(
            "  caller {caller_ms:6.1} ms  callee {callee_ms:6.1} ms  (media connected at {media:6.1} ms{}{})",
            relay_ms.map(|ms| format!("; first relay candidate {ms:.1} ms after joining")).unwrap_or_default(),
            rtt.map(|ms| format!("; RTT {ms:.1} ms")).unwrap_or_default(),
        );
        caller_side.push(caller_ms);
        callee_side.push(callee_ms);
        to_media.push(media);
        to_relay.extend(relay_ms);
        rtts.extend(rtt);
    }
    println!(
        "  median: caller {:.1} ms, callee {:.1} ms; media connected {:.1} ms after accept{}{}",
        median(&mut caller_side),
        median(&mut callee_side),
        median(&mut to_media),
        if to_relay.is_empty() {
            String::new()
        } else {
            format!("; first relay candidate {:.1} ms after joining", median(&mut to_relay))
        },
        if rtts.is_empty() { String::new() } else { format!("; RTT {:.1} ms", median(&mut rtts)) },
    );
}

/// CPU time (user + system, in clock ticks) and resident memory (kB) of a process.
fn sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((ticks, rss))
}

async fn hd_call(server: &TestServer, seconds: u64) {
    println!("a {seconds} s call, 1280x720 at 30 fps both ways, on loopback:");
    let duration = format!("{seconds}s");
    let (mut caller, callee) = call(server, &["--hd", "--duration", &duration], &["--hd"]).await;
    caller.wait_for("media", |l| l["event"] == "media").await;
    let pids = [caller.pid(), callee.pid()];
    // USER_HZ: what /proc counts CPU time in on Linux.
    let ticks_per_s = 100.0;
    let start: Vec<_> = pids.iter().map(|&pid| sample(pid).unwrap_or_default()).collect();
    let mut end = start.clone();
    let mut peak_rss = [0u64; 2];
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(seconds.saturating_sub(2).max(1)) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (i, &pid) in pids.iter().enumerate() {
            if let Some(s) = sample(pid) {
                peak_rss[i] = peak_rss[i].max(s.1);
                end[i] = s;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (caller_out, _) = caller.finish().await;
    let (callee_out, _) = callee.finish().await;
    for (i, (who, lines)) in [("caller", &caller_out), ("callee", &callee_out)].into_iter().enumerate() {
        let stats = lines.iter().rev().find(|l| l["event"] == "stats").expect("stats");
        // The mean of a per-second figure over the seconds that have one.
        let mean = |field: &str| {
            let values: Vec<f64> = lines
                .iter()
                .filter(|l| l["event"] == "stats")
                .filter_map(|l| l[field].as_f64())
                .filter(|&v| v > 0.0)
                .collect();
            values.iter().sum::<f64>() / values.len().max(1) as f64
        };
        let fps = mean("fps");
        let cpu = (end[i].0 - start[i].0) as f64 / ticks_per_s / elapsed * 100.0;
        println!(
            "  {who}: glass to glass p50 {} ms, p95 {} ms; {fps:.1} fps received, {} frames decoded, {} freezes; \
             CPU {cpu:.0}% of one core; RSS peak {:.1} MiB; video target {:.0} kbps, sent {:.0} kbps (means)",
            stats["glass_to_glass_p50_ms"],
            stats["glass_to_glass_p95_ms"],
            stats["frames_decoded"],
            stats["freeze_count"],
            peak_rss[i] as f64 / 1024.0,
            mean("video_bitrate_kbps"),
            mean("bitrate_out_kbps")
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let server = server().await;
    let calls = if quick { 1 } else { env_number("DUET_BENCH_CALLS", 5) };
    accept_to_first_frame(&server, calls, "on loopback, direct (host candidates)", &[]).await;
    if let Some(coturn) = duet_testkit::Coturn::start() {
        let relayed = common::server_with("127.0.0.1", |config| {
            config.ice.turn_urls = vec![coturn.url("udp")];
            config.ice.turn_secret = coturn.secret.clone();
        })
        .await;
        let path = "on loopback, both sides relay-only through coturn";
        accept_to_first_frame(&relayed, calls, path, &["--relay-only"]).await;
    }
    for (block_direct, path) in [
        (false, "between two NATs, STUN (srflx, case A)"),
        (true, "between two NATs that block UDP between them, through coturn (case B)"),
    ] {
        let Some(homes) = Homes::start(block_direct, true).await else { break };
        accept_to_first_frame(&homes, calls, path, &[]).await;
    }
    hd_call(&server, if quick { 4 } else { env_number("DUET_BENCH_SECONDS", 60) }).await;
}
