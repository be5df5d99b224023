//! A whole call: invite → invitation → accept → both join → signal relay →
//! media indicators → leave, with presence, and history with a correct duration.

mod common;

use std::time::Duration;

use common::{TestServer, invite};
use serde_json::json;

#[tokio::test]
async fn a_call_is_signaled_end_to_end_and_lands_in_history_with_its_duration() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let mut carol = server.client("carol").await;
    let watch = carol.request(json!({"type": "presence.subscribe", "users": ["alice", "bob"]})).await;
    assert_eq!(watch["users"], json!({"alice": "online", "bob": "online"}));

    let (invite_id, room, alice_ticket) = invite(&mut alice, "bob", 60).await;
    let invitation = bob.expect("invitation").await;
    assert_eq!(invitation["invite_id"], invite_id.as_str());
    assert_eq!(invitation["inviter"], "alice");
    assert_eq!(invitation["invitees"], json!(["bob"]));
    assert_eq!(invitation["room_id"], room.as_str());
    assert!(invitation["expires_at"].as_u64().expect("expires_at") > duet_server::now_ms());

    let accepted = bob.request(json!({"type": "accept", "invite_id": invite_id, "data": "{}"})).await;
    assert_eq!(accepted["type"], "accept.ok", "{accepted}");
    let bob_ticket = accepted["room_ticket"].as_str().expect("ticket").to_string();
    let event = alice.expect("invitee.accepted").await;
    assert_eq!(event["invitee"], "bob");

    let joined = alice.request(json!({"type": "room.join", "room_id": room, "ticket": alice_ticket})).await;
    assert_eq!(joined["type"], "room.joined", "{joined}");
    assert_eq!(joined["members"], json!([]));
    assert_eq!(
        carol.expect("presence.changed").await,
        json!({"type": "presence.changed", "user": "alice", "status": "busy"})
    );
    let joined = bob.request(json!({"type": "room.join", "room_id": room, "ticket": bob_ticket})).await;
    assert_eq!(joined["members"], json!(["alice"]));
    assert_eq!(alice.expect("room.member_joined").await["user"], "bob");
    assert_eq!(carol.expect("presence.changed").await["status"], "busy");

    let offer = json!({"sdp": {"type": "offer", "sdp": "v=0\r\n"}});
    alice.send(json!({"type": "room.signal", "room_id": room, "to": "bob", "payload": offer})).await;
    let relayed = bob.expect("room.signal").await;
    assert_eq!(relayed, json!({"type": "room.signal", "room_id": room, "from": "alice", "payload": offer}));
    let candidate = json!({"candidate": null});
    let ok = bob.request(json!({"type": "room.signal", "room_id": room, "to": "alice", "payload": candidate})).await;
    assert_eq!(ok["type"], "ok");
    assert_eq!(alice.expect("room.signal").await["payload"], candidate);

    bob.send(json!({"type": "room.media", "room_id": room, "audio": false, "video": true})).await;
    let media = alice.expect("room.media").await;
    assert_eq!(media, json!({"type": "room.media", "room_id": room, "user": "bob", "audio": false, "video": true}));
    // Why nothing is sent travels as it was said.
    bob.send(json!({"type": "room.media", "room_id": room, "audio": false, "video": false, "audio_off": "off", "video_off": "no_device"}))
        .await;
    let media = alice.expect("room.media").await;
    assert_eq!((&media["audio_off"], &media["video_off"]), (&json!("off"), &json!("no_device")), "{media}");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let left = alice.request(json!({"type": "room.leave", "room_id": room, "reason": "hangup"})).await;
    assert_eq!(left["type"], "ok");
    let gone = bob.expect("room.member_left").await;
    assert_eq!(gone, json!({"type": "room.member_left", "room_id": room, "user": "alice", "reason": "hangup"}));
    bob.request(json!({"type": "room.leave", "room_id": room})).await;
    assert_eq!(carol.expect("presence.changed").await["status"], "online");

    for (client, peer, direction) in [(&mut alice, "bob", "out"), (&mut bob, "alice", "in")] {
        let history = client.request(json!({"type": "history.list", "limit": 10})).await;
        let calls = history["calls"].as_array().expect("calls");
        assert_eq!(calls.len(), 1, "{history}");
        let call = &calls[0];
        assert_eq!(call["invite_id"], invite_id.as_str());
        assert_eq!(call["peer"], peer);
        assert_eq!(call["direction"], direction);
        assert_eq!(call["call_type"], "video");
        assert_eq!(call["outcome"], "completed");
        let duration = call["duration_s"].as_u64().expect("duration");
        assert!((2..=3).contains(&duration), "duration {duration} s for about 2.1 s together");
    }
}

#[tokio::test]
async fn presence_follows_connections_and_contacts_show_it() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    assert_eq!(alice.request(json!({"type": "contacts.add", "user": "bob"})).await["type"], "ok");
    let missing = alice.request(json!({"type": "contacts.add", "user": "nobody"})).await;
    assert_eq!(missing["code"], "not_found");
    let contacts = alice.request(json!({"type": "contacts.list"})).await;
    assert_eq!(contacts["contacts"], json!([{"user_id": "bob", "display_name": "Bob", "status": "offline"}]));

    alice.send(json!({"type": "presence.subscribe", "users": ["bob"]})).await;
    let bob = server.client("bob").await;
    assert_eq!(alice.expect("presence.changed").await["status"], "online");
    let query = alice.request(json!({"type": "presence.query", "users": ["bob", "carol"]})).await;
    assert_eq!(query["users"], json!({"bob": "online", "carol": "offline"}));
    drop(bob);
    assert_eq!(alice.expect("presence.changed").await["status"], "offline");

    assert_eq!(alice.request(json!({"type": "contacts.remove", "user": "bob"})).await["type"], "ok");
    let again = alice.request(json!({"type": "contacts.remove", "user": "bob"})).await;
    assert_eq!(again["code"], "not_found");
}
