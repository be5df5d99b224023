//! An invitee who is offline gets a signed push and, on connecting before the
//! invitation expires, the invitation itself right after `auth.ok`.

mod common;

use std::time::Duration;

use common::{Client, Receiver, TestServer, assert_signed};
use serde_json::json;

#[tokio::test]
async fn an_offline_invitee_is_pushed_and_rung_at_login() {
    let mut push = Receiver::start().await;
    let server = TestServer::start_with(|c| {
        c.push.urls = vec![push.url.clone()];
        c.push.key = "push-key".into();
    })
    .await;
    let mut alice = server.client("alice").await;
    let room = "room-offline";
    let data = json!({"cmd": "av_call", "call_type": "audio", "room_id": room}).to_string();
    let ok = alice
        .request(json!({"type": "invite", "to": ["bob"], "room_id": room, "data": data, "timeout_s": 60,
            "push": {"title": "Alice", "desc": "Incoming audio call", "ext": "{\"k\":1}"}}))
        .await;
    let invite_id = ok["invite_id"].as_str().expect("id").to_string();

    let received = push.next(Duration::from_secs(5)).await;
    assert_signed(&received, "push-key");
    let notice = received.json();
    assert_eq!(notice["user"], "bob");
    assert_eq!(notice["invite_id"], invite_id.as_str());
    assert_eq!(notice["title"], "Alice");
    assert_eq!(notice["desc"], "Incoming audio call");
    assert_eq!(notice["ext"], "{\"k\":1}");
    assert_eq!(notice["deep_link"], format!("duet://invite/{invite_id}"));
    assert!(notice["expires_at"].as_u64().is_some());

    // The invitation is the first thing after auth.ok.
    let mut bob = Client::connect(server.addr()).await;
    bob.send(json!({"type": "auth", "token": server.token("bob")})).await;
    assert_eq!(bob.next().await.expect("auth.ok")["type"], "auth.ok");
    let invitation = bob.next().await.expect("invitation");
    assert_eq!(invitation["type"], "invitation");
    assert_eq!(invitation["invite_id"], invite_id.as_str());
    assert_eq!(invitation["data"], data.as_str());
    let accepted = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(accepted["type"], "accept.ok");
    alice.expect("invitee.accepted").await;
}

#[tokio::test]
async fn online_only_invitations_are_neither_pushed_nor_kept() {
    let mut push = Receiver::start().await;
    let server = TestServer::start_with(|c| c.push.urls = vec![push.url.clone()]).await;
    let mut alice = server.client("alice").await;
    alice.request(json!({"type": "invite", "to": ["bob"], "data": "", "timeout_s": 60, "online_only": true})).await;
    assert!(tokio::time::timeout(Duration::from_millis(500), push.rx.recv()).await.is_err(), "no push");
    let mut bob = server.client("bob").await;
    bob.expect_none("invitation", Duration::from_millis(300)).await;
}
