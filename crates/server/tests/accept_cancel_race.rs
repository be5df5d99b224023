//! Accept and cancel sent at the same moment: exactly one wins, every time, and
//! both sides learn the same result.

mod common;

use common::{TestServer, invite};
use serde_json::json;

const ROUNDS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_racing_cancel_has_exactly_one_winner_every_time() {
    let server = TestServer::start_with(|c| c.rate_limit = 10_000).await;
    let mut alice = server.client("alice").await;
    let mut bob = server.client("bob").await;
    let (mut accepted, mut cancelled) = (0, 0);
    for _ in 0..ROUNDS {
        let (invite_id, _, _) = invite(&mut alice, "bob", 60).await;
        bob.expect("invitation").await;
        let (cancel, accept) = tokio::join!(
            alice.request(json!({"type": "cancel", "invite_id": invite_id})),
            bob.request(json!({"type": "accept", "invite_id": invite_id})),
        );
        match (cancel["type"].as_str(), accept["type"].as_str()) {
            (Some("ok"), Some("error")) => {
                assert_eq!(accept["code"], "invitation_closed");
                assert_eq!(bob.expect("invitation.cancelled").await["invite_id"], invite_id.as_str());
                cancelled += 1;
            }
            (Some("error"), Some("accept.ok")) => {
                assert_eq!(cancel["code"], "invitation_closed");
                assert_eq!(alice.expect("invitee.accepted").await["invite_id"], invite_id.as_str());
                accepted += 1;
            }
            _ => panic!("not exactly one winner: cancel {cancel}, accept {accept}"),
        }
    }
    assert_eq!(accepted + cancelled, ROUNDS);
    let metrics = server.hub().metrics.render();
    assert!(metrics.contains(&format!("duet_invitee_outcomes_total{{outcome=\"accepted\"}} {accepted}\n")));
    assert!(metrics.contains(&format!("duet_invitee_outcomes_total{{outcome=\"cancelled\"}} {cancelled}\n")));
    println!("accept won {accepted} times, cancel won {cancelled} times");
}
