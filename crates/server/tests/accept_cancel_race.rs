//! Accept and cancel sent at the same moment: the inviter meant to cancel and its
//! screen already says so, so the call ends cancelled for both whichever reached
//! the server first, every time, and both histories say so.

mod common;

use common::{Client, TestServer, invite};
use serde_json::{Value, json};

const ROUNDS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_crossing_the_cancel_ends_cancelled_for_both_every_time() {
    let server = TestServer::start_with(|c| c.rate_limit = 10_000).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (mut accept_first, mut cancel_first) = (0, 0);
    for _ in 0..ROUNDS {
        let (invite_id, room_id, _) = invite(&mut alice, "bob", 60).await;
        bob.expect("invitation").await;
        let (cancel, accept) = tokio::join!(
            alice.request(json!({"type": "cancel", "invite_id": invite_id})),
            bob.request(json!({"type": "accept", "invite_id": invite_id})),
        );
        assert_eq!(cancel["type"], "ok", "the cancel always counts: {cancel}");
        assert_eq!(bob.expect("invitation.cancelled").await["invite_id"], invite_id.as_str());
        match accept["type"].as_str() {
            Some("error") => {
                assert_eq!(accept["code"], "invitation_closed", "{accept}");
                assert_eq!(accept["outcome"], "cancelled", "the refusal says why: {accept}");
                cancel_first += 1;
            }
            Some("accept.ok") => {
                // Bob was on his way into the room: the room is closed to him now.
                let ticket = accept["room_ticket"].as_str().expect("ticket");
                let join = bob.request(json!({"type": "room.join", "room_id": room_id, "ticket": ticket})).await;
                assert_eq!((&join["code"], &join["outcome"]), (&json!("invitation_closed"), &json!("cancelled")));
                accept_first += 1;
            }
            _ => panic!("unexpected answer to the accept: {accept}"),
        }
        for user in ["alice", "bob"] {
            assert_eq!(outcome_in_history(&server, user, &invite_id), "cancelled", "{user}'s history");
        }
    }
    println!("the accept reached the server first {accept_first} times, the cancel {cancel_first} times");
    assert!(accept_first > 0 && cancel_first > 0, "both orders happened");
    let metrics = server.hub().metrics.render();
    assert!(metrics.contains(&format!("duet_crossed_answers_total{{first=\"accept\"}} {accept_first}\n")), "{metrics}");
    assert!(metrics.contains(&format!("duet_crossed_answers_total{{first=\"cancel\"}} {cancel_first}\n")), "{metrics}");
    // Bob is free again: not busy, not in a room.
    let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
    assert_eq!(bob.expect("invitation").await["invite_id"], invite_id.as_str());
}

#[tokio::test]
async fn an_accept_after_a_plain_cancel_is_refused_with_the_reason_and_the_callee_did_answer() {
    let (server, mut alice, mut bob, invite_id, _, _) = bob_rings().await;
    assert_eq!(alice.request(json!({"type": "cancel", "invite_id": invite_id})).await["type"], "ok");
    assert_eq!(outcome_in_history(&server, "bob", &invite_id), "missed", "he had not answered yet");
    let accept = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!((&accept["code"], &accept["outcome"]), (&json!("invitation_closed"), &json!("cancelled")));
    assert_eq!(accept["message"], "alice cancelled the call");
    assert_eq!(outcome_in_history(&server, "bob", &invite_id), "cancelled", "he answered: not a missed call");
    // A decline that comes too late changes nothing.
    let reject = bob.request(json!({"type": "reject", "invite_id": invite_id})).await;
    assert_eq!(reject["outcome"], "cancelled");
    assert_eq!(outcome_in_history(&server, "bob", &invite_id), "cancelled");
}

#[tokio::test]
async fn a_cancel_after_the_inviter_joined_the_room_is_refused_and_the_call_goes_on() {
    let (server, mut alice, mut bob, invite_id, room_id, ticket) = bob_rings().await;
    assert_eq!(bob.request(json!({"type": "accept", "invite_id": invite_id})).await["type"], "accept.ok");
    alice.expect("invitee.accepted").await;
    let join = alice.request(json!({"type": "room.join", "room_id": room_id, "ticket": ticket})).await;
    assert_eq!(join["type"], "room.joined");
    let cancel = alice.request(json!({"type": "cancel", "invite_id": invite_id})).await;
    assert_eq!(cancel["code"], "invitation_closed", "{cancel}");
    assert_eq!(outcome_in_history(&server, "bob", &invite_id), "completed");
}

#[tokio::test]
async fn joining_a_room_everybody_left_says_the_call_has_ended() {
    let (_server, mut alice, mut bob, invite_id, room_id, ticket) = bob_rings().await;
    let accept = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    let bobs_ticket = accept["room_ticket"].as_str().expect("ticket").to_owned();
    alice.request(json!({"type": "room.join", "room_id": room_id, "ticket": ticket})).await;
    alice.request(json!({"type": "room.leave", "room_id": room_id, "reason": "hangup"})).await;
    let join = bob.request(json!({"type": "room.join", "room_id": room_id, "ticket": bobs_ticket})).await;
    assert_eq!((&join["code"], &join["message"]), (&json!("not_in_room"), &json!("the call has already ended")));
}

/// Alice calls Bob and his phone rings: (server, alice, bob, invite id, room id, alice's ticket).
async fn bob_rings() -> (TestServer, Client, Client, String, String, String) {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (invite_id, room_id, ticket) = invite(&mut alice, "bob", 60).await;
    bob.expect("invitation").await;
    (server, alice, bob, invite_id, room_id, ticket)
}

fn outcome_in_history(server: &TestServer, user: &str, invite_id: &str) -> Value {
    let history = server.hub().store.history(user, 50, None).expect("history");
    let entry = history.iter().find(|e| e.invite_id == invite_id).expect("the call is in the history");
    serde_json::to_value(entry.outcome).expect("outcome")
}
