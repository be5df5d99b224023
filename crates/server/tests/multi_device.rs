//! A user on several devices: every device rings; once one answers the others stop.

mod common;

use common::{TestServer, invite};
use serde_json::json;

#[tokio::test]
async fn answering_on_one_device_tells_the_others_it_was_answered_elsewhere() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let mut desktop = server.client("bob").await;
    let mut laptop = server.client("bob").await;
    for outcome in ["accepted", "rejected"] {
        let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
        desktop.expect("invitation").await;
        laptop.expect("invitation").await;
        let kind = if outcome == "accepted" { "accept" } else { "reject" };
        let reply = desktop.request(json!({"type": kind, "invite_id": invite_id})).await;
        assert_ne!(reply["type"], "error", "{reply}");
        let elsewhere = laptop.expect("invitation.answered_elsewhere").await;
        assert_eq!(
            elsewhere,
            json!({"type": "invitation.answered_elsewhere", "invite_id": invite_id, "outcome": outcome})
        );
        let late = laptop.request(json!({"type": "accept", "invite_id": invite_id})).await;
        assert_eq!(late["code"], "invitation_closed");
    }
}
