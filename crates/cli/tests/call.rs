//! Two `duet-cli` processes call each other through a real `duet-server`: video
//! and audio flow both ways over WebRTC, then one hangs up.

use serde_json::Value;
use std::time::Duration;

mod common;
use common::{finish, last_stats, server, states};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_see_and_hear_each_other_then_hang_up() {
    let server = server().await;
    let callee = server.cli("bob", &["answer", "--synthetic"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caller = server.cli("alice", &["call", "bob", "--synthetic", "--duration", "5s"]);
    let ((caller_out, caller_code), (callee_out, callee_code)) = tokio::join!(finish(caller), finish(callee));

    for (who, lines) in [("caller", &caller_out), ("callee", &callee_out)] {
        eprintln!("{who}: {}", last_stats(lines));
    }
    for (who, lines, code) in [("caller", &caller_out, caller_code), ("callee", &callee_out, callee_code)] {
        let states = states(lines);
        assert!(states.contains(&"connected".to_owned()), "{who} states: {states:?}");
        assert!(states.contains(&"ended".to_owned()), "{who} states: {states:?}");
        let stats = last_stats(lines);
        assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "{who} decoded too little video: {stats}");
        assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "{who} heard too little: {stats}");
        assert_eq!(code, 0, "{who} exit code");
        assert!(stats["rtt_ms"].as_f64().is_some_and(|rtt| rtt < 100.0), "{who}: loopback RTT: {stats}");
        assert_eq!(stats["loss"], 0.0, "{who}: nothing is lost on loopback: {stats}");
        assert!(matches!(stats["quality"].as_u64(), Some(1 | 2)), "{who}: loopback is excellent or good: {stats}");
        assert!(stats["peer_quality"].is_u64(), "{who}: the peer's quality arrived: {stats}");
    }
    let ended = |lines: &[Value]| lines.iter().find(|l| l["state"] == "ended").cloned().unwrap();
    assert_eq!(ended(&caller_out)["reason"], "local_hangup");
    assert_eq!(ended(&callee_out)["reason"], "remote_hangup");
}
