//! A pending invitation survives a server restart on the same data directory.

mod common;

use std::time::Duration;

use common::{TestServer, invite};
use serde_json::json;

#[tokio::test]
async fn a_pending_invitation_is_delivered_after_a_restart() {
    let mut server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let (invite_id, room, _) = invite(&mut alice, "bob", 60).await;
    drop(alice);
    server.restart().await;

    let mut bob = server.client("bob").await;
    let invitation = bob.expect("invitation").await;
    assert_eq!(invitation["invite_id"], invite_id.as_str());
    assert_eq!(invitation["room_id"], room.as_str());
    let mut alice = server.client("alice").await;
    let accepted = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(accepted["type"], "accept.ok", "{accepted}");
    assert_eq!(alice.expect("invitee.accepted").await["invite_id"], invite_id.as_str());
}

#[tokio::test]
async fn an_invitation_that_expired_while_the_server_was_down_becomes_a_missed_call() {
    let mut server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 1).await;
    drop(alice);
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.restart().await;
    let mut bob = server.client("bob").await;
    bob.expect_none("invitation", Duration::from_millis(300)).await;
    let history = bob.request(json!({"type": "history.list"})).await;
    assert_eq!(history["calls"][0]["invite_id"], invite_id.as_str());
    assert_eq!(history["calls"][0]["outcome"], "missed");
}

#[tokio::test]
async fn shutdown_closes_websockets_with_a_close_frame() {
    let mut server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    server.stop().await;
    alice.expect_closed().await;
}
