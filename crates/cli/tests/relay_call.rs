//! Calls through a real TURN relay (coturn, with duet-server's short-lived TURN
//! credentials): "always relay calls" sends media only through the relay, so the
//! peer never learns the caller's address; without a relay such a call fails
//! clearly instead of showing a black screen.

use std::time::Duration;

use duet_testkit::Coturn;
use serde_json::Value;

mod common;
use common::{finish, last_stats, server_with, states};

fn route(stats: &Value) -> (String, String, String) {
    let field = |name: &str| stats[name].as_str().unwrap_or("none").to_owned();
    (field("route_local"), field("route_remote"), field("route_protocol"))
}

/// A server on loopback whose ICE servers are `coturn` (with its secret), `tweak`ed.
async fn server_with_turn(coturn: &Coturn, tweak: impl FnOnce(&mut duet_server::Config)) -> common::TestServer {
    server_with("127.0.0.1", |config| {
        config.ice.turn_urls = vec![coturn.url("udp")];
        config.ice.turn_secret = coturn.secret.clone();
        tweak(config);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_only_caller_talks_through_coturn_and_its_peer_sees_only_the_relay() {
    let Some(coturn) = Coturn::start() else { return };
    let server = server_with_turn(&coturn, |_| {}).await;
    let callee = server.cli("bob", &["answer", "--synthetic"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caller = server.cli("alice", &["--relay-only", "call", "bob", "--synthetic", "--duration", "12s"]);
    let ((caller_out, caller_code), (callee_out, callee_code)) = tokio::join!(finish(caller), finish(callee));

    let (alice, bob) = (last_stats(&caller_out), last_stats(&callee_out));
    eprintln!("alice: {alice}\nbob: {bob}");
    assert_eq!((caller_code, callee_code), (0, 0), "alice: {:?}, bob: {:?}", states(&caller_out), states(&callee_out));
    let (local, _, protocol) = route(alice);
    assert_eq!((local.as_str(), protocol.as_str()), ("relay", "udp"), "Alice sends through the relay: {alice}");
    assert_eq!(route(bob).1, "relay", "all Bob ever reaches of Alice is the relay: {bob}");
    for (who, stats) in [("alice", alice), ("bob", bob)] {
        assert!(stats["frames_decoded"].as_u64().unwrap() >= 100, "{who} decoded too little video: {stats}");
        assert!(stats["audio_packets_received"].as_u64().unwrap() >= 200, "{who} heard too little: {stats}");
    }
    let log = coturn.log();
    assert!(log.contains("ALLOCATE") && log.contains("success"), "coturn allocated a relay: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_only_call_on_a_server_without_turn_fails_saying_why() {
    let server = server_with("127.0.0.1", |_| {}).await;
    let callee = server.cli("bob", &["answer", "--synthetic"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caller = server.cli("alice", &["--relay-only", "call", "bob", "--synthetic", "--duration", "5s"]);
    let ((caller_out, _), (callee_out, _)) = tokio::join!(finish(caller), finish(callee));

    let failed = caller_out.iter().find(|l| l["state"] == "failed").unwrap_or_else(|| panic!("{caller_out:#?}"));
    let detail = failed["reason"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no TURN relay"), "the reason names the missing relay: {failed}");
    // Alice left saying her media failed: Bob's side fails the same way, not as a hang-up.
    let bob = callee_out.iter().find(|l| l["state"] == "failed").unwrap_or_else(|| panic!("{callee_out:#?}"));
    assert_eq!(bob["reason"]["kind"], "media_failure", "Bob's side fails too: {bob}");
}

/// TURN credentials last `turn_ttl`; a call longer than that renews them: each
/// side joins its room again for fresh ones a while before they expire, and an
/// ICE restart moves the call onto a relay allocated with them. The call goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_call_outlasting_its_turn_credentials_renews_them_and_goes_on() {
    let Some(coturn) = Coturn::start() else { return };
    let server = server_with_turn(&coturn, |config| config.ice.turn_ttl = Duration::from_secs(16)).await;
    let mut callee = server.live("bob", &["answer", "--synthetic", "--audio-only"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live("alice", &["--relay-only", "call", "bob", "--synthetic", "--audio-only"]);
    caller.wait_for("media", |l| l["event"] == "media" && l["state"] == "connected").await;
    let first = caller.stats().await;

    // Credentials for 16 s are renewed halfway, at 8 s; by 20 s the first ones have expired.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let before = caller.stats().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = caller.stats().await;
    eprintln!("first: {first}\nafter: {after}");
    assert!(after["ice_restarts"].as_u64().unwrap() >= 1, "the relay was renewed: {after}");
    // Right after a restart the stack may not name the selected pair yet; a relay-only
    // caller has nothing but relay candidates, and any path it names is the relay.
    let local = after["candidates_local"].as_array().expect("candidates");
    assert!(local.iter().all(|c| c.as_str().is_some_and(|c| c.starts_with("relay "))), "only relays: {after}");
    assert!(matches!(route(&after).0.as_str(), "relay" | "none"), "still through the relay: {after}");
    let heard = after["audio_packets_received"].as_u64().unwrap() - before["audio_packets_received"].as_u64().unwrap();
    assert!(heard >= 100, "audio flows after the first credentials expired: {heard} packets in 3 s");
    assert!(!caller.seen.iter().any(|l| l["state"] == "ended" || l["state"] == "failed"), "one call all along");
    let allocations = coturn.log().matches("ALLOCATE processed, success").count();
    assert!(allocations >= 2, "a second relay, allocated with the fresh credentials: {allocations}");
    caller.control("hangup").await;
    let (_, code) = caller.finish().await;
    assert_eq!(code, 0);
}
