//! The speed test over a bad network: `duet-cli speed-test` on host B, the
//! server on host A, and a link between them that loses, delays or narrows
//! packets in one direction or both (`common/netlab.rs`). The figures must
//! find the impairment, and in the right direction.

use std::time::Duration;

use serde_json::Value;

mod common;
use common::netlab::{HOST_A, HOST_B, Impairment, NetLab};
use common::{TestServer, server_on};

const BIN: &str = env!("CARGO_BIN_EXE_duet-cli");

/// One lab at a time: the addresses and the CPU are shared.
static ONE_LAB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `duet-cli speed-test` run on host B through `lab`; its result line.
async fn speed_test(server: &TestServer, lab: &NetLab, up_kbps: u32, down_kbps: u32) -> Value {
    let (up, down) = (up_kbps.to_string(), down_kbps.to_string());
    let test =
        server.live_at(lab.command_in_b(BIN), HOST_A, HOST_B, "alice", &["speed-test", "--up", &up, "--down", &down]);
    let (lines, code) = test.finish().await;
    let result = lines.iter().find(|l| l["event"] == "speed_test").cloned().expect("a result line");
    eprintln!("{result}");
    assert_eq!(code, 0, "the test succeeded: {result}");
    assert!(lines.iter().any(|l| l["event"] == "speed_test_progress"), "progress was reported");
    result
}

fn number(result: &Value, field: &str) -> f64 {
    result[field].as_f64().unwrap_or_else(|| panic!("{field} in {result}"))
}

fn loss(rate: f64) -> Impairment {
    Impairment { loss: rate, ..Impairment::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_loss_is_found_in_the_direction_it_happens() {
    let _one = ONE_LAB.lock().await;
    let server = server_on("0.0.0.0").await;
    // Host B is the client: B → A is its uplink.
    for (uplink, downlink) in [(0.10, 0.0), (0.0, 0.10)] {
        let Some(lab) = NetLab::for_test(loss(downlink), loss(uplink)) else { return };
        let result = speed_test(&server, &lab, 0, 0).await;
        let (up, down) = (number(&result, "up_lost_rate"), number(&result, "down_lost_rate"));
        assert!((up - uplink).abs() <= 0.03, "uplink loss {up:.3}, {uplink} set: {result}");
        assert!((down - downlink).abs() <= 0.03, "downlink loss {down:.3}, {downlink} set: {result}");
        assert!(number(&result, "quality") >= 4.0, "10% loss is bad or worse: {result}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_ms_more_delay_shows_as_fifty_ms_more_round_trip() {
    let _one = ONE_LAB.lock().await;
    let server = server_on("0.0.0.0").await;
    let Some(clean) = NetLab::for_test(Impairment::default(), Impairment::default()) else { return };
    let base = number(&speed_test(&server, &clean, 0, 0).await, "rtt");
    drop(clean);
    let delay = Impairment { delay: Duration::from_millis(50), ..Impairment::default() };
    let Some(slow) = NetLab::for_test(Impairment::default(), delay) else { return };
    let result = speed_test(&server, &slow, 0, 0).await;
    let added = number(&result, "rtt") - base;
    assert!((40.0..=60.0).contains(&added), "RTT rose by {added} ms (from {base} ms): {result}");
    assert!(number(&result, "up_lost_rate") < 0.01 && number(&result, "down_lost_rate") < 0.01, "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabit_uplink_and_a_three_megabit_downlink_are_measured_within_a_quarter() {
    let _one = ONE_LAB.lock().await;
    let server = server_on("0.0.0.0").await;
    let rate = |bps: u64| Impairment { rate_bps: Some(bps), ..Impairment::default() };
    let Some(lab) = NetLab::for_test(rate(3_000_000), rate(1_000_000)) else { return };
    let result = speed_test(&server, &lab, 5000, 5000).await;
    let (up, down) = (number(&result, "available_up_bandwidth"), number(&result, "available_down_bandwidth"));
    assert!((750.0..=1250.0).contains(&up), "uplink {up} kbps through 1000: {result}");
    assert!((2250.0..=3750.0).contains(&down), "downlink {down} kbps through 3000: {result}");
}
