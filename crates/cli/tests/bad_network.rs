//! Calls that lose their network for a while: two `duet-cli` processes on two
//! hosts (this namespace and a fresh one) whose only link goes dark, or whose
//! caller moves to another address mid-call.
//! - A 4 s blackout: media stops, ICE is restarted, and the call goes on.
//! - The caller's address goes and a new one comes a second later (Wi-Fi to a
//!   hotspot): the caller notices the change, reconnects its signaling, restarts
//!   ICE on the new address, and media flows again; the call is not ended.
//! - 30 s without any path: both sides end the call with `network_lost`.

use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::netlab::{HOST_A, HOST_B, Impairment, NetLab};
use common::{Live, server_on};

const BIN: &str = env!("CARGO_BIN_EXE_duet-cli");

/// One at a time: each call alone fills both cores.
static ONE_LAB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn lab() -> Option<NetLab> {
    NetLab::for_test(Impairment::default(), Impairment::default())
}

/// Frames decoded so far, from the next stats line.
async fn decoded(side: &mut Live) -> u64 {
    side.stats().await["frames_decoded"].as_u64().expect("frames_decoded")
}

/// Video flows to the callee again, and what it shows is fresh; then the caller
/// hangs up: one call all along, and the hang-up reaches the callee (through the
/// signaling that came back).
async fn flows_then_hangs_up(mut caller: Live, mut callee: Live) {
    let before = decoded(&mut callee).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = callee.stats().await;
    let after = report["frames_decoded"].as_u64().expect("frames_decoded");
    assert!(after - before >= 15, "video flows again: {} frames in 2 s", after - before);
    // What was sent into the dark comes back as retransmissions, seconds old: it
    // is dropped, not shown (the link adds no delay here: fresh frames are ~20 ms).
    let oldest = report["glass_to_glass_recent_max_ms"].as_f64().expect("frames shown in the latest second");
    assert!(oldest < 300.0, "the frames shown 2 s after media came back are fresh: the oldest was {oldest} ms");
    caller.control("hangup").await;
    let (caller_out, _) = caller.finish().await;
    let (callee_out, _) = callee.finish().await;
    assert_eq!(ended(&caller_out)[0]["reason"], "local_hangup", "one call all along");
    assert_eq!(ended(&callee_out)[0]["reason"], "remote_hangup");
}

fn ended(lines: &[Value]) -> Vec<Value> {
    lines.iter().filter(|l| l["state"] == "ended" || l["state"] == "failed").cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_four_second_blackout_restarts_ice_and_the_call_goes_on() {
    let _one = ONE_LAB.lock().await;
    let Some(lab) = lab() else { return };
    let server = server_on("0.0.0.0").await;
    let mut callee = server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller =
        server.live_at(tokio::process::Command::new(BIN), HOST_A, HOST_A, "alice", &["call", "bob", "--synthetic"]);
    caller.media("connected").await;
    callee.media("connected").await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    lab.set_blackout(true);
    for side in [&mut caller, &mut callee] {
        side.media("reconnecting").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    lab.set_blackout(false);
    let restored = Instant::now();
    for side in [&mut caller, &mut callee] {
        side.media("connected").await;
    }
    println!("media resumed {:?} after the link came back", restored.elapsed());
    let stats = caller.stats().await;
    assert!(stats["ice_restarts"].as_u64().unwrap() >= 1, "the caller restarted ICE: {stats}");
    flows_then_hangs_up(caller, callee).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_moving_to_another_address_keeps_the_call() {
    const MOVED: &str = "10.77.2.3";
    let _one = ONE_LAB.lock().await;
    let Some(lab) = lab() else { return };
    lab.route_to_b(MOVED).expect("route");
    let server = server_on("0.0.0.0").await;
    let mut callee =
        server.live_at(tokio::process::Command::new(BIN), HOST_A, HOST_A, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    // The caller binds its media to every address, as the app does, so a new one can be used.
    let mut caller = server.live_at(lab.command_in_b(BIN), HOST_A, "0.0.0.0", "alice", &["call", "bob", "--synthetic"]);
    caller.media("connected").await;
    callee.media("connected").await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    lab.move_b(HOST_B, MOVED, Duration::from_secs(1)).expect("move");
    let moved = Instant::now();
    callee.media("connected").await;
    println!("media resumed {:?} after the new address came", moved.elapsed());
    let stats = callee.stats().await;
    let remote = stats["candidates_remote"].as_array().expect("candidates");
    assert!(remote.iter().any(|c| c.as_str().is_some_and(|c| c.contains(MOVED))), "the new address is used: {stats}");
    flows_then_hangs_up(caller, callee).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_seconds_without_any_path_ends_the_call_with_network_lost_on_both_sides() {
    let _one = ONE_LAB.lock().await;
    let Some(lab) = lab() else { return };
    let server = server_on("0.0.0.0").await;
    let mut callee =
        server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "bob", &["answer", "--synthetic", "--audio-only"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live_at(
        tokio::process::Command::new(BIN),
        HOST_A,
        HOST_A,
        "alice",
        &["call", "bob", "--synthetic", "--audio-only"],
    );
    caller.media("connected").await;
    callee.media("connected").await;

    lab.set_blackout(true);
    let cut = Instant::now();
    let (caller_out, _) = caller.finish_within(Duration::from_secs(45)).await;
    let (callee_out, _) = callee.finish_within(Duration::from_secs(15)).await;
    let took = cut.elapsed();
    for (who, lines) in [("caller", &caller_out), ("callee", &callee_out)] {
        let ends = ended(lines);
        assert_eq!(ends.len(), 1, "{who}: {ends:?}");
        assert_eq!(ends[0]["reason"], "network_lost", "{who}: {ends:?}");
    }
    assert!((Duration::from_secs(30)..Duration::from_secs(40)).contains(&took), "ended {took:?} after the cut");
}
