//! A member whose connection is gone is removed after the watchdog period; one
//! who comes back in time stays.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, invite};
use serde_json::json;

async fn in_call(server: &TestServer) -> (common::Client, common::Client, String, String) {
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (invite_id, room, alice_ticket) = invite(&mut alice, "bob", 60).await;
    let accepted = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    let bob_ticket = accepted["room_ticket"].as_str().expect("ticket").to_string();
    alice.request(json!({"type": "room.join", "room_id": room, "ticket": alice_ticket})).await;
    bob.request(json!({"type": "room.join", "room_id": room, "ticket": bob_ticket})).await;
    alice.expect("room.member_joined").await;
    (alice, bob, room, bob_ticket)
}

#[tokio::test]
async fn a_vanished_member_is_removed_after_the_watchdog_period() {
    let server = TestServer::start_with(|c| c.watchdog = Duration::from_millis(600)).await;
    let (mut alice, bob, room, _) = in_call(&server).await;
    let dropped = Instant::now();
    drop(bob);
    let left = alice.expect("room.member_left").await;
    assert_eq!(left, json!({"type": "room.member_left", "room_id": room, "user": "bob", "reason": "timeout"}));
    assert!(dropped.elapsed() >= Duration::from_millis(550), "removed after {:?}", dropped.elapsed());
}

#[tokio::test]
async fn a_member_who_reconnects_in_time_stays_in_the_room() {
    let server = TestServer::start_with(|c| c.watchdog = Duration::from_millis(800)).await;
    let (mut alice, bob, room, ticket) = in_call(&server).await;
    drop(bob);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut bob = server.client("bob").await;
    let joined = bob.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!(joined["members"], json!(["alice"]));
    alice.expect_none("room.member_left", Duration::from_millis(1200)).await;
    alice.send(json!({"type": "room.signal", "room_id": room, "to": "bob", "payload": {"x": 1}})).await;
    assert_eq!(bob.expect("room.signal").await["payload"], json!({"x": 1}));
}
