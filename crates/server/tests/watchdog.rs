//! A member whose connection is gone is announced away at once and removed after
//! the watchdog period; one who comes back in time stays, announced as resumed, and
//! gets what was sent to it meanwhile.

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
async fn the_others_hear_at_once_that_a_members_connection_dropped() {
    let server = TestServer::start_with(|c| c.watchdog = Duration::from_secs(5)).await;
    let (mut alice, bob, room, ticket) = in_call(&server).await;
    let dropped = Instant::now();
    drop(bob);
    let away = alice.expect("room.member_away").await;
    assert_eq!(away, json!({"type": "room.member_away", "room_id": room, "user": "bob"}));
    assert!(dropped.elapsed() < Duration::from_secs(1), "at once, not after the watchdog: {:?}", dropped.elapsed());
    // Back in time: resumed, and never left.
    let mut bob = server.client("bob").await;
    bob.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!(alice.expect("room.member_joined").await["resumed"], true);
    alice.expect_none("room.member_left", Duration::from_millis(300)).await;
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

#[tokio::test]
async fn a_member_back_in_time_is_announced_resumed_and_gets_the_signals_sent_while_it_was_away() {
    let server = TestServer::start_with(|c| c.watchdog = Duration::from_secs(5)).await;
    let (mut alice, bob, room, ticket) = in_call(&server).await;
    drop(bob);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Alice's ICE restart offer and candidates while Bob is away: 70 signals, the newest 64 kept.
    for n in 0..70 {
        let signal = json!({"type": "room.signal", "req": 1000 + n, "room_id": room, "to": "bob", "payload": {"n": n}});
        assert_eq!(alice.request(signal).await["type"], "ok", "held for him, not refused");
    }
    let mut bob = server.client("bob").await;
    let joined = bob.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!(joined["type"], "room.joined");
    for n in 6..70 {
        let signal = bob.expect("room.signal").await;
        assert_eq!(
            (&signal["from"], &signal["payload"]),
            (&json!("alice"), &json!({"n": n})),
            "in order, after the reply"
        );
    }
    bob.expect_none("room.signal", Duration::from_millis(200)).await;
    let resumed = alice.expect("room.member_joined").await;
    assert_eq!(resumed, json!({"type": "room.member_joined", "room_id": room, "user": "bob", "resumed": true}));
    alice.expect_none("room.member_left", Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_member_back_after_its_ticket_ran_out_is_let_in_but_not_once_it_left() {
    let server = TestServer::start_with(|c| {
        c.watchdog = Duration::from_secs(5);
        c.ticket_ttl = Duration::from_millis(600);
    })
    .await;
    let (mut alice, bob, room, ticket) = in_call(&server).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(bob);
    let mut bob = server.client("bob").await;
    let joined = bob.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!(joined["type"], "room.joined", "a call may outlast its ticket: {joined}");
    assert_eq!(alice.expect("room.member_joined").await["resumed"], true);

    // Once out of the room, the expired ticket is no way back in.
    bob.request(json!({"type": "room.leave", "room_id": room, "reason": "hangup"})).await;
    let again = bob.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!((&again["code"], &again["message"]), (&json!("forbidden"), &json!("your room ticket has expired")));
}

#[tokio::test]
async fn ping_is_answered_with_pong_carrying_its_req() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let pong = alice.request(json!({"type": "ping"})).await;
    assert_eq!(pong["type"], "pong");
}
