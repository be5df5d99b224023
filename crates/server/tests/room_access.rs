//! Rooms admit only holders of a valid ticket for that room, and relay only between members.

mod common;

use common::{TestServer, invite};
use duet_server::crypto::TicketClaims;
use serde_json::json;

#[tokio::test]
async fn joining_needs_a_valid_ticket_of_your_own_for_that_room() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut carol = server.client("carol").await;
    let (_, room, alice_ticket) = invite(&mut alice, "bob", 60).await;

    let none = carol.request(json!({"type": "room.join", "room_id": room, "ticket": ""})).await;
    assert_eq!(none["code"], "forbidden");
    let stolen = carol.request(json!({"type": "room.join", "room_id": room, "ticket": alice_ticket})).await;
    assert_eq!(stolen["code"], "forbidden");
    let signer = &server.hub().signer;
    let far = duet_server::now_ms() + 60_000;
    let other_room =
        signer.issue_ticket(&TicketClaims { room: "elsewhere".into(), sub: "carol".into(), perm: 63, exp: far });
    let wrong = carol.request(json!({"type": "room.join", "room_id": room, "ticket": other_room})).await;
    assert_eq!(wrong["code"], "forbidden");
    // A ticket the server signed for carol still does not let her into alice and bob's call.
    let outsider = signer.issue_ticket(&TicketClaims { room: room.clone(), sub: "carol".into(), perm: 63, exp: far });
    let crash = carol.request(json!({"type": "room.join", "room_id": room, "ticket": outsider})).await;
    assert_eq!(crash["code"], "forbidden");
    let expired = signer.issue_ticket(&TicketClaims { room: room.clone(), sub: "alice".into(), perm: 63, exp: 1 });
    let late = alice.request(json!({"type": "room.join", "room_id": room, "ticket": expired})).await;
    assert_eq!(late["code"], "forbidden");
    assert!(late["message"].as_str().expect("message").contains("expired"));

    // Reusing a live call's room id for another invitation is refused.
    let hijack = carol.request(json!({"type": "invite", "to": ["dave"], "room_id": room, "data": ""})).await;
    assert_eq!(hijack["code"], "forbidden");

    let ok = alice.request(json!({"type": "room.join", "room_id": room, "ticket": alice_ticket})).await;
    assert_eq!(ok["type"], "room.joined");
}

#[tokio::test]
async fn signals_go_only_between_members() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut carol = server.client("carol").await;
    let (_, room, ticket) = invite(&mut alice, "bob", 60).await;
    alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;

    let to_absent = alice.request(json!({"type": "room.signal", "room_id": room, "to": "bob", "payload": {}})).await;
    assert_eq!(to_absent["code"], "not_in_room");
    let from_stranger =
        carol.request(json!({"type": "room.signal", "room_id": room, "to": "alice", "payload": {}})).await;
    assert_eq!(from_stranger["code"], "not_in_room");
    let media = carol.request(json!({"type": "room.media", "room_id": room, "audio": true, "video": true})).await;
    assert_eq!(media["code"], "not_in_room");
    let leave = carol.request(json!({"type": "room.leave", "room_id": room})).await;
    assert_eq!(leave["code"], "not_in_room");
}
