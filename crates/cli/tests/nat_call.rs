//! Calls between two homes behind NAT routers (iptables MASQUERADE in network
//! namespaces, `common/natlab.rs`), with duet-server and a real coturn on the
//! internet between them, the ICE servers coming from `room.joined`:
//! - A: the routers let UDP through between them, STUN only is needed: media
//!   goes straight from one router's public address to the other's;
//! - B: the routers drop UDP sent straight to each other: the call goes
//!   through the relay;
//! - C: the caller always relays: it gathers and signals relay candidates only,
//!   and the callee never learns either of the caller's addresses.

use serde_json::Value;

mod common;
use common::natlab::Homes;
use common::{last_stats, states};

/// One lab at a time: each call alone fills both cores.
static ONE_LAB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn text<'a>(stats: &'a Value, field: &str) -> &'a str {
    stats[field].as_str().unwrap_or("none")
}

fn list(stats: &Value, field: &str) -> Vec<String> {
    stats[field].as_array().map(|a| a.iter().filter_map(|c| Some(c.as_str()?.to_owned())).collect()).unwrap_or_default()
}

/// The last stats of the call that name its route (those printed after hanging up may not).
fn routed(lines: &[Value]) -> &Value {
    lines.iter().rev().find(|l| l["event"] == "stats" && l["route_local"].is_string()).expect("a route in the stats")
}

/// Bob answering on host B, then Alice calling him from host A for 12 s with
/// `caller_flags`; both sides' lines.
async fn call(homes: &Homes, caller_flags: &[&str]) -> (Vec<Value>, Vec<Value>) {
    let alice_args = [caller_flags, &["call", "bob", "--synthetic", "--duration", "12s"]].concat();
    let (alice, bob) = homes.dial(&alice_args, &["answer", "--synthetic"]).await;
    let ((alice, alice_code), (bob, bob_code)) = tokio::join!(alice.finish(), bob.finish());
    assert_eq!((alice_code, bob_code), (0, 0), "alice: {:?}, bob: {:?}", states(&alice), states(&bob));
    for (who, lines) in [("alice", &alice), ("bob", &bob)] {
        let stats = last_stats(lines);
        eprintln!("{who}: {stats}");
        assert!(stats["frames_decoded"].as_u64().unwrap() >= 100, "{who} decoded too little video: {stats}");
        assert!(stats["audio_packets_received"].as_u64().unwrap() >= 200, "{who} heard too little: {stats}");
    }
    (alice, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_two_nats_that_let_udp_through_media_goes_straight_between_the_routers() {
    let _one = ONE_LAB.lock().await;
    let Some(homes) = Homes::start(false, false).await else { return };
    let (alice, bob) = call(&homes, &[]).await;
    let (alice, bob) = (routed(&alice), routed(&bob));
    let lab = &homes.lab;

    // STUN told each side its router's public address…
    let gathered = list(alice, "candidates_local");
    assert!(
        gathered.iter().any(|c| c.starts_with(&format!("srflx {}:", lab.a.public_ip))),
        "Alice learned her router's address from STUN: {gathered:?}"
    );
    // …and media flows between the two routers' public addresses, no relay.
    for (who, stats, peer_router) in [("alice", alice, &lab.b.public_ip), ("bob", bob, &lab.a.public_ip)] {
        assert_ne!(text(stats, "route_local"), "relay", "{who} sends straight: {stats}");
        assert!(["srflx", "prflx"].contains(&text(stats, "route_remote")), "{who} reaches a NAT's mapping: {stats}");
        assert!(
            text(stats, "route_remote_address").starts_with(&format!("{peer_router}:")),
            "{who} reaches the peer's router: {stats}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_two_nats_that_block_udp_between_them_the_call_goes_through_the_relay() {
    let _one = ONE_LAB.lock().await;
    let Some(homes) = Homes::start(true, true).await else { return };
    let (alice, bob) = call(&homes, &[]).await;
    let (alice, bob) = (routed(&alice), routed(&bob));
    let relay = &format!("{}:", homes.coturn.ip);
    for (who, stats) in [("alice", alice), ("bob", bob)] {
        // Through its own relay allocation, or to the peer's on coturn.
        let own = text(stats, "route_local") == "relay";
        let peers = text(stats, "route_remote") == "relay" && text(stats, "route_remote_address").starts_with(relay);
        assert!(own || peers, "{who}'s media crosses the relay: {stats}");
    }
    let log = homes.coturn.log();
    assert!(log.contains("ALLOCATE") && log.contains("success"), "coturn allocated a relay: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_always_relays_shows_the_callee_none_of_her_addresses() {
    let _one = ONE_LAB.lock().await;
    let Some(homes) = Homes::start(false, true).await else { return };
    let (alice, bob) = call(&homes, &["--relay-only"]).await;
    let lab = &homes.lab;
    let relay = format!("{}:", homes.coturn.ip);

    let gathered = list(last_stats(&alice), "candidates_local");
    assert!(!gathered.is_empty() && gathered.iter().all(|c| c.starts_with("relay ")), "relay only: {gathered:?}");
    assert_eq!(text(last_stats(&alice), "route_local"), "relay");
    // Everything Bob ever knew of Alice, over the whole call: the relay's address only.
    for stats in bob.iter().filter(|l| l["event"] == "stats") {
        for candidate in list(stats, "candidates_remote") {
            assert!(candidate.split(' ').nth(1).unwrap().starts_with(&relay), "Bob learned {candidate}");
            assert!(!candidate.contains(&lab.a.lan_ip) && !candidate.contains(&lab.a.public_ip));
        }
    }
    assert!(
        bob.iter().any(|l| l["event"] == "stats" && !list(l, "candidates_remote").is_empty()),
        "Bob's stats list Alice's candidates: {bob:#?}"
    );
}
