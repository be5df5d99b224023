//! Room and media events reach webhook endpoints signed both ways, are retried
//! after failures on the seed's schedule, and survive a server restart.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Receiver, TestServer, assert_signed, invite};
use serde_json::json;

const KEY: &str = "webhook-key";

fn hooks(receiver: &Receiver) -> impl FnOnce(&mut duet_server::Config) + '_ {
    move |c| {
        c.webhooks.urls = vec![receiver.url.clone()];
        c.webhooks.key = KEY.into();
        c.webhooks.retry_interval = Duration::from_millis(400);
    }
}

#[tokio::test]
async fn room_and_media_events_are_delivered_signed() {
    let mut receiver = Receiver::start().await;
    let server = TestServer::start_with(hooks(&receiver)).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (invite_id, room, ticket) = invite(&mut alice, "bob", 60).await;
    let bob_ticket = bob.request(json!({"type": "accept", "invite_id": invite_id})).await["room_ticket"].clone();
    alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    bob.request(json!({"type": "room.join", "room_id": room, "ticket": bob_ticket})).await;
    bob.request(json!({"type": "room.media", "room_id": room, "audio": false, "video": true})).await;
    bob.request(json!({"type": "room.media", "room_id": room, "audio": true, "video": false})).await;
    alice.request(json!({"type": "room.leave", "room_id": room})).await;
    bob.request(json!({"type": "room.leave", "room_id": room})).await;

    let expected: BTreeSet<(u64, u64, String)> = [
        (1, 101, ""),
        (1, 103, "alice"),
        (1, 103, "bob"),
        (2, 204, "bob"),
        (2, 203, "bob"),
        (2, 202, "bob"),
        (1, 104, "alice"),
        (1, 104, "bob"),
        (1, 102, ""),
    ]
    .into_iter()
    .map(|(g, t, u)| (g, t, u.to_string()))
    .collect();
    let mut seen = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for _ in 0..expected.len() {
        let post = receiver.next(Duration::from_secs(5)).await;
        assert_signed(&post, KEY);
        ids.insert(post.header("webhook-id"));
        let body = post.json();
        assert_eq!(body["event_info"]["room_id"], room.as_str());
        assert!(body["callback_ts"].as_u64().expect("callback_ts") >= body["event_info"]["ts"].as_u64().expect("ts"));
        let key = (
            body["event_group_id"].as_u64().expect("group"),
            body["event_type"].as_u64().expect("type"),
            body["event_info"]["user_id"].as_str().expect("user").to_string(),
        );
        seen.insert(key);
    }
    assert_eq!(seen, expected);
    assert_eq!(ids.len(), expected.len(), "each event has its own webhook-id");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_at_once_then_on_schedule_with_the_same_id() {
    let mut receiver = Receiver::start().await;
    // Room creation (101) and entry (103) both fail twice: the attempt and its immediate retry.
    receiver.script(&[500, 500, 500, 500]);
    let server = TestServer::start_with(hooks(&receiver)).await;
    let mut alice = server.client("alice").await;
    let (_, room, ticket) = invite(&mut alice, "bob", 60).await;
    alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;

    let mut by_id: BTreeMap<String, Vec<common::Received>> = BTreeMap::new();
    for _ in 0..6 {
        let post = receiver.next(Duration::from_secs(5)).await;
        assert_signed(&post, KEY);
        by_id.entry(post.header("webhook-id")).or_default().push(post);
    }
    assert_eq!(by_id.len(), 2, "two events");
    for posts in by_id.values() {
        assert_eq!(posts.len(), 3, "attempt, immediate retry, scheduled retry");
        assert!(posts.iter().all(|p| p.body == posts[0].body), "same body every time");
        let immediate = posts[1].at - posts[0].at;
        let scheduled = posts[2].at - posts[1].at;
        assert!(immediate < Duration::from_millis(300), "immediate retry took {immediate:?}");
        assert!(scheduled >= Duration::from_millis(350), "scheduled retry after {scheduled:?}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let metrics = server.hub().metrics.render();
    assert!(metrics.contains("duet_delivery_failures_total{kind=\"webhook\"} 4\n"), "{metrics}");
    assert!(metrics.contains("duet_deliveries_total{kind=\"webhook\"} 2\n"), "{metrics}");
}

#[tokio::test]
async fn a_delivery_is_given_up_once_it_is_older_than_the_maximum_age() {
    let mut receiver = Receiver::start().await;
    receiver.script(&[500; 100]);
    let server = TestServer::start_with(|c| {
        hooks(&receiver)(c);
        c.webhooks.max_age = Duration::from_millis(1000);
    })
    .await;
    let mut alice = server.client("alice").await;
    let (_, room, ticket) = invite(&mut alice, "bob", 60).await;
    alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    while receiver.rx.try_recv().is_ok() {}
    assert!(tokio::time::timeout(Duration::from_millis(800), receiver.rx.recv()).await.is_err(), "no more attempts");
    assert!(server.hub().metrics.render().contains("duet_deliveries_dropped_total{kind=\"webhook\"} 2\n"));
}

#[tokio::test]
async fn undelivered_webhooks_survive_a_restart() {
    let receiver = Receiver::start().await;
    let mut server = TestServer::start_with(hooks(&receiver)).await;
    let receiver_addr = receiver.stop();
    let mut alice = server.client("alice").await;
    let (_, room, ticket) = invite(&mut alice, "bob", 60).await;
    alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(alice);
    server.stop().await;

    let mut receiver = Receiver::start_on(receiver_addr).await;
    server.restart().await;
    let mut types = BTreeSet::new();
    for _ in 0..2 {
        let post = receiver.next(Duration::from_secs(5)).await;
        assert_signed(&post, KEY);
        types.insert(post.json()["event_type"].as_u64().expect("type"));
    }
    assert_eq!(types, BTreeSet::from([101, 103]));
}

#[tokio::test]
async fn room_members_get_short_lived_turn_credentials() {
    let server = TestServer::start_with(|c| {
        c.ice.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        c.ice.turn_urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        c.ice.turn_secret = "coturn-secret".into();
        c.ice.turn_ttl = Duration::from_secs(600);
    })
    .await;
    let mut alice = server.client("alice").await;
    let (_, room, ticket) = invite(&mut alice, "bob", 60).await;
    let joined = alice.request(json!({"type": "room.join", "room_id": room, "ticket": ticket})).await;
    let ice = joined["ice_servers"].as_array().expect("ice servers");
    assert_eq!(ice[0], json!({"urls": ["stun:127.0.0.1:3478"]}));
    let username = ice[1]["username"].as_str().expect("username");
    let (expiry, user) = username.split_once(':').expect("expiry:user");
    assert_eq!(user, "alice");
    let expiry: u64 = expiry.parse().expect("unix seconds");
    let now = duet_server::now_ms() / 1000;
    assert!((now + 590..=now + 610).contains(&expiry));
    let (_, password) = duet_server::crypto::turn_credentials("coturn-secret", "alice", expiry);
    assert_eq!(ice[1]["credential"], password.as_str());
}
