//! Invitations time out on the server, whether or not the invitee is online.

mod common;

use std::time::Duration;

use common::{TestServer, invite};
use serde_json::json;

#[tokio::test]
async fn an_unanswered_invitation_times_out_for_both_sides_when_the_invitee_is_online() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 1).await;
    bob.expect("invitation").await;
    let expected = json!({"type": "invitation.timeout", "invite_id": invite_id, "invitees": ["bob"]});
    assert_eq!(alice.expect("invitation.timeout").await, expected);
    assert_eq!(bob.expect("invitation.timeout").await, expected);
    let late = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(late["code"], "invitation_closed");
    assert_eq!(alice.request(json!({"type": "history.list"})).await["calls"][0]["outcome"], "timeout");
    assert_eq!(bob.request(json!({"type": "history.list"})).await["calls"][0]["outcome"], "missed");
}

#[tokio::test]
async fn an_invitation_to_an_offline_user_times_out_and_becomes_a_missed_call() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 1).await;
    let timeout = alice.expect("invitation.timeout").await;
    assert_eq!(timeout["invite_id"], invite_id.as_str());

    let mut bob = server.client("bob").await;
    bob.expect_none("invitation", Duration::from_millis(300)).await;
    let history = bob.request(json!({"type": "history.list"})).await;
    assert_eq!(history["calls"][0]["outcome"], "missed", "{history}");
    assert_eq!(history["calls"][0]["direction"], "in");
}

#[tokio::test]
async fn an_invitation_without_timeout_keeps_ringing() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let ok = alice.request(json!({"type": "invite", "to": ["bob"], "data": "", "timeout_s": 0})).await;
    assert!(ok.get("room_ticket").is_none(), "no room, no ticket: {ok}");
    alice.expect_none("invitation.timeout", Duration::from_millis(1500)).await;
    let mut bob = server.client("bob").await;
    let invitation = bob.expect("invitation").await;
    assert!(invitation.get("expires_at").is_none());
}
