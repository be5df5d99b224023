//! The echo user's lines: it signs in once per line, each invitation rings one
//! free line, and with every line taken callers hear `test_line_busy` at once.

mod common;

use std::time::Duration;

use common::{Client, PASSWORD, TestServer, invite, invite_raw};
use serde_json::json;

const QUIET: Duration = Duration::from_millis(400);

/// A server whose echo user `echo` is signed in on `lines` lines.
async fn echo_on_lines(lines: usize) -> (TestServer, Vec<Client>) {
    let server = TestServer::start_with(|config| config.echo_user = Some("echo".into())).await;
    duet_server::create_user(&*server.hub().store, "echo", "Echo test call", PASSWORD).expect("the echo user");
    let mut clients = Vec::new();
    for _ in 0..lines {
        clients.push(server.client("echo").await);
    }
    (server, clients)
}

/// `line` answers the invitation it rings for and joins its room.
async fn answer(line: &mut Client, invite_id: &str, room: &str) {
    let accepted = line.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(accepted["type"], "accept.ok", "{accepted}");
    let joined =
        line.request(json!({"type": "room.join", "room_id": room, "ticket": accepted["room_ticket"].clone()})).await;
    assert_eq!(joined["type"], "room.joined", "{joined}");
}

#[tokio::test]
async fn each_caller_rings_one_free_line_and_a_third_hears_the_test_line_is_busy() {
    let (server, mut lines) = echo_on_lines(2).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let mut carol = server.client("carol").await;

    let (alices, alice_room, _) = invite(&mut alice, "echo", 60).await;
    let rung = lines[0].expect("invitation").await;
    assert_eq!(rung["invite_id"], alices.as_str(), "the first free line rings");
    lines[1].expect_none("invitation", QUIET).await;
    answer(&mut lines[0], &alices, &alice_room).await;
    alice.expect("invitee.accepted").await;
    lines[1].expect_none("invitation.answered_elsewhere", QUIET).await;

    let (bobs, bob_room, _) = invite(&mut bob, "echo", 60).await;
    assert_eq!(lines[1].expect("invitation").await["invite_id"], bobs.as_str(), "the other line takes Bob");
    lines[0].expect_none("invitation", QUIET).await;
    answer(&mut lines[1], &bobs, &bob_room).await;
    bob.expect("invitee.accepted").await;

    let (reply, event) = invite_raw(&mut carol, &["echo"]).await;
    assert_eq!(reply["type"], "invite.ok", "{reply}");
    assert_eq!(
        event,
        json!({"type": "invitee.rejected", "invite_id": reply["invite_id"], "invitee": "echo",
               "data": "{\"cmd\":\"av_call\",\"reason\":\"test_line_busy\"}"})
    );
    for line in &mut lines {
        line.expect_none("invitation", QUIET).await;
    }
    let history = carol.request(json!({"type": "history.list"})).await;
    assert_eq!(
        (history["calls"][0]["peer"].clone(), history["calls"][0]["outcome"].clone()),
        (json!("echo"), json!("busy"))
    );
    let presence = carol.request(json!({"type": "presence.query", "users": ["echo"]})).await;
    assert_eq!(presence["users"]["echo"], "online", "one call per line does not make the echo busy: {presence}");
}

#[tokio::test]
async fn a_line_whose_call_ended_rings_again() {
    let (server, mut lines) = echo_on_lines(1).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (alices, room, _) = invite(&mut alice, "echo", 60).await;
    lines[0].expect("invitation").await;
    answer(&mut lines[0], &alices, &room).await;
    let (_, event) = invite_raw(&mut bob, &["echo"]).await;
    assert_eq!(event["type"], "invitee.rejected", "the only line is taken: {event}");

    let left = lines[0].request(json!({"type": "room.leave", "room_id": room, "reason": "hangup"})).await;
    assert_eq!(left["type"], "ok", "{left}");
    let (bobs, _, _) = invite(&mut bob, "echo", 60).await;
    assert_eq!(lines[0].expect("invitation").await["invite_id"], bobs.as_str());
}

#[tokio::test]
async fn a_cancelled_call_is_told_to_its_line_only_and_frees_it() {
    let (server, mut lines) = echo_on_lines(2).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (alices, _, _) = invite(&mut alice, "echo", 60).await;
    lines[0].expect("invitation").await;
    let cancelled = alice.request(json!({"type": "cancel", "invite_id": alices})).await;
    assert_eq!(cancelled["type"], "ok", "{cancelled}");
    assert_eq!(lines[0].expect("invitation.cancelled").await["invite_id"], alices.as_str());
    lines[1].expect_none("invitation.cancelled", QUIET).await;

    let (bobs, _, _) = invite(&mut bob, "echo", 60).await;
    assert_eq!(lines[0].expect("invitation").await["invite_id"], bobs.as_str(), "the first line is free again");
    let declined = lines[0].request(json!({"type": "reject", "invite_id": bobs})).await;
    assert_eq!(declined["type"], "ok", "{declined}");
    let (carols, _, _) = invite(&mut server.client("carol").await, "echo", 60).await;
    assert_eq!(lines[0].expect("invitation").await["invite_id"], carols.as_str(), "and free after a decline");
}

#[tokio::test]
async fn a_line_that_goes_while_ringing_hands_the_call_to_a_free_one() {
    let (server, mut lines) = echo_on_lines(2).await;
    let mut alice = server.client("alice").await;
    let (alices, room, _) = invite(&mut alice, "echo", 60).await;
    lines[0].expect("invitation").await;
    drop(lines.remove(0));

    assert_eq!(lines[0].expect("invitation").await["invite_id"], alices.as_str());
    answer(&mut lines[0], &alices, &room).await;
    assert_eq!(alice.expect("invitee.accepted").await["invite_id"], alices.as_str());
}

#[tokio::test]
async fn a_call_that_found_the_echo_offline_rings_the_first_line_that_signs_in() {
    let (server, _) = echo_on_lines(0).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (alices, _, _) = invite(&mut alice, "echo", 60).await;
    // Invitations are ordered by their creation time in ms.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (bobs, _, _) = invite(&mut bob, "echo", 60).await;

    let mut first = server.client("echo").await;
    assert_eq!(first.expect("invitation").await["invite_id"], alices.as_str(), "the oldest call first");
    first.expect_none("invitation", QUIET).await;
    let mut second = server.client("echo").await;
    assert_eq!(second.expect("invitation").await["invite_id"], bobs.as_str());
}
