//! Busy on every device: while a user is in a call on one device, a new invitation
//! rings none of their devices and ends `busy` for the inviter at once.

mod common;

use std::time::Duration;

use common::{Client, TestServer, invite, invite_raw};
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(500);

/// Alice calls Bob, Bob's `device` accepts and both join: a call in progress.
async fn call(alice: &mut Client, bob: &mut Client) -> String {
    let (invite_id, room, alice_ticket) = invite(alice, "bob", 60).await;
    bob.expect("invitation").await;
    let accepted = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(accepted["type"], "accept.ok", "{accepted}");
    let joined = alice.request(json!({"type": "room.join", "room_id": room, "ticket": alice_ticket})).await;
    assert_eq!(joined["type"], "room.joined", "{joined}");
    let ticket = accepted["room_ticket"].clone();
    let joined = bob.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!(joined["type"], "room.joined", "{joined}");
    room
}

async fn history(client: &mut Client) -> Vec<Value> {
    let reply = client.request(json!({"type": "history.list"})).await;
    reply["calls"].as_array().expect("calls").clone()
}

#[tokio::test]
async fn a_user_in_a_call_on_one_device_rings_on_none_and_the_inviter_hears_busy_at_once() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut desktop = server.client("bob").await;
    let mut laptop = server.client("bob").await;
    let mut carol = server.client("carol").await;
    call(&mut alice, &mut desktop).await;
    laptop.expect("invitation").await;
    laptop.expect("invitation.answered_elsewhere").await;

    let (reply, event) = invite_raw(&mut carol, &["bob"]).await;
    assert_eq!(reply["type"], "invite.ok", "the reply comes first: {reply}");
    let invite_id = reply["invite_id"].as_str().expect("id").to_owned();
    assert_eq!(
        event,
        json!({"type": "invitee.rejected", "invite_id": invite_id, "invitee": "bob",
               "data": "{\"cmd\":\"av_call\",\"reason\":\"busy\"}"})
    );
    desktop.expect_none("invitation", QUIET).await;
    laptop.expect_none("invitation", QUIET).await;

    // The invitation is over: nothing is left to cancel, and both histories say busy.
    let cancel = carol.request(json!({"type": "cancel", "invite_id": invite_id})).await;
    assert_eq!(cancel["code"], "invitation_closed", "{cancel}");
    let carols = history(&mut carol).await;
    assert_eq!((carols[0]["peer"].clone(), carols[0]["outcome"].clone()), (json!("bob"), json!("busy")));
    let bobs = history(&mut laptop).await;
    let from_carol = bobs.iter().find(|c| c["invite_id"] == invite_id.as_str()).expect("Bob's entry");
    assert_eq!((from_carol["direction"].clone(), from_carol["outcome"].clone()), (json!("in"), json!("busy")));
}

#[tokio::test]
async fn once_the_call_ends_the_user_rings_again_on_every_device() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut desktop = server.client("bob").await;
    let mut laptop = server.client("bob").await;
    let mut carol = server.client("carol").await;
    let room = call(&mut alice, &mut desktop).await;
    laptop.expect("invitation").await;
    let (_, event) = invite_raw(&mut carol, &["bob"]).await;
    assert_eq!(event["type"], "invitee.rejected", "{event}");

    let left = desktop.request(json!({"type": "room.leave", "room_id": room, "reason": "hangup"})).await;
    assert_eq!(left["type"], "ok", "{left}");
    let (invite_id, _, _) = invite(&mut carol, "bob", 60).await;
    assert_eq!(desktop.expect("invitation").await["invite_id"], invite_id.as_str());
    assert_eq!(laptop.expect("invitation").await["invite_id"], invite_id.as_str());
}

#[tokio::test]
async fn of_two_invitees_only_the_one_in_a_call_answers_busy() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let mut carol = server.client("carol").await;
    let mut dave = server.client("dave").await;
    call(&mut alice, &mut bob).await;

    let (reply, event) = invite_raw(&mut carol, &["bob", "dave"]).await;
    assert_eq!(reply["type"], "invite.ok", "{reply}");
    assert_eq!((event["type"].clone(), event["invitee"].clone()), (json!("invitee.rejected"), json!("bob")));
    let invitation = dave.expect("invitation").await;
    assert_eq!(invitation["invite_id"], reply["invite_id"]);
    bob.expect_none("invitation", QUIET).await;
    let accepted = dave.request(json!({"type": "accept", "invite_id": reply["invite_id"]})).await;
    assert_eq!(accepted["type"], "accept.ok", "dave's answer still counts: {accepted}");
}

#[tokio::test]
async fn a_caller_still_waiting_for_an_answer_is_not_busy() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let mut carol = server.client("carol").await;
    // Alice waits in her room for Bob, who has not answered yet.
    let (_, room, ticket) = invite(&mut alice, "bob", 60).await;
    bob.expect("invitation").await;
    let joined = alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    assert_eq!(joined["type"], "room.joined", "{joined}");

    let (invite_id, _, _) = invite(&mut carol, "alice", 60).await;
    assert_eq!(alice.expect("invitation").await["invite_id"], invite_id.as_str());
    carol.expect_none("invitee.rejected", QUIET).await;
}
