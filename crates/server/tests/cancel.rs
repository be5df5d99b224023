//! Cancelling an invitation stops the ringing everywhere and is a missed call for the invitee.

mod common;

use std::time::Duration;

use common::{TestServer, invite};
use serde_json::json;

#[tokio::test]
async fn a_cancelled_invitation_stops_ringing_and_cannot_be_accepted() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let mut bob_laptop = server.client("bob").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
    bob.expect("invitation").await;
    bob_laptop.expect("invitation").await;

    let ok = alice.request(json!({"type": "cancel", "invite_id": invite_id, "data": "{}"})).await;
    assert_eq!(ok["type"], "ok");
    for device in [&mut bob, &mut bob_laptop] {
        let cancelled = device.expect("invitation.cancelled").await;
        assert_eq!(
            cancelled,
            json!({"type": "invitation.cancelled", "invite_id": invite_id, "inviter": "alice", "data": "{}"})
        );
    }
    let mine = alice.request(json!({"type": "history.list"})).await;
    assert_eq!(mine["calls"][0]["outcome"], "cancelled");
    let theirs = bob.request(json!({"type": "history.list"})).await;
    assert_eq!(theirs["calls"][0]["outcome"], "missed");

    // An accept sent as the cancel came is refused, saying why (and Bob did
    // answer, so it is no missed call: see accept_cancel_race.rs).
    let late = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!((&late["code"], &late["outcome"]), (&json!("invitation_closed"), &json!("cancelled")));
    let twice = alice.request(json!({"type": "cancel", "invite_id": invite_id})).await;
    assert_eq!(twice["code"], "invitation_closed");

    // A device connecting now is not rung for it.
    let mut bob_phone = server.client("bob").await;
    bob_phone.expect_none("invitation", Duration::from_millis(300)).await;
}
