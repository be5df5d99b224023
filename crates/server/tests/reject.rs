//! Rejecting an invitation, actively or as busy, with the outcome in history.

mod common;

use common::{TestServer, invite};
use serde_json::json;

#[tokio::test]
async fn an_active_reject_reaches_the_inviter_and_is_recorded() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
    bob.expect("invitation").await;
    let data = json!({"cmd": "av_call", "reason": "active"}).to_string();
    let ok = bob.request(json!({"type": "reject", "invite_id": invite_id, "data": data})).await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let rejected = alice.expect("invitee.rejected").await;
    assert_eq!(rejected, json!({"type": "invitee.rejected", "invite_id": invite_id, "invitee": "bob", "data": data}));

    let again = bob.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(again["code"], "invitation_closed");
    let history = alice.request(json!({"type": "history.list"})).await;
    assert_eq!(history["calls"][0]["outcome"], "rejected");
    let history = bob.request(json!({"type": "history.list"})).await;
    assert_eq!(history["calls"][0]["outcome"], "rejected");
}

#[tokio::test]
async fn a_busy_reject_is_recorded_as_busy_for_both() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
    let data = json!({"cmd": "av_call", "reason": "busy"}).to_string();
    bob.request(json!({"type": "reject", "invite_id": invite_id, "data": data})).await;
    assert_eq!(alice.expect("invitee.rejected").await["data"], data.as_str());
    for client in [&mut alice, &mut bob] {
        let history = client.request(json!({"type": "history.list"})).await;
        assert_eq!(history["calls"][0]["outcome"], "busy", "{history}");
    }
}

#[tokio::test]
async fn only_invitees_may_answer_and_only_the_inviter_may_cancel() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut carol = server.client("carol").await;
    let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
    let stranger = carol.request(json!({"type": "accept", "invite_id": invite_id})).await;
    assert_eq!(stranger["code"], "not_invited");
    let cancel = carol.request(json!({"type": "cancel", "invite_id": invite_id})).await;
    assert_eq!(cancel["code"], "forbidden");
    let unknown = carol.request(json!({"type": "reject", "invite_id": "no-such-invitation"})).await;
    assert_eq!(unknown["code"], "invitation_closed");
    let nobody = alice.request(json!({"type": "invite", "to": ["nobody"], "data": ""})).await;
    assert_eq!(nobody["code"], "not_found");
    let myself = alice.request(json!({"type": "invite", "to": ["alice"], "data": ""})).await;
    assert_eq!(myself["code"], "bad_request");
}
