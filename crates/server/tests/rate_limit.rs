//! A flood gets `rate_limited` (each refusal naming its request) without losing the
//! connection; only sustained abuse closes it.

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_burst_beyond_the_limit_is_refused_then_service_resumes() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let sent = 300;
    for req in 0..sent {
        alice.send(json!({"type": "presence.query", "req": req, "users": ["bob"]})).await;
    }
    let (mut ok, mut limited) = (0, 0);
    for req in 0..sent {
        let reply = alice.next().await.expect("one reply per message");
        assert_eq!(reply["req"], req, "every reply, a refusal too, names its request: {reply}");
        match reply["type"].as_str() {
            Some("presence.ok") => ok += 1,
            Some("error") if reply["code"] == "rate_limited" => limited += 1,
            _ => panic!("unexpected {reply}"),
        }
    }
    assert!(ok >= 100, "the burst of 100 passes, got {ok}");
    assert!(limited >= 100, "the rest beyond the burst is refused, got {limited}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reply = alice.request(json!({"type": "presence.query", "users": ["bob"]})).await;
    assert_eq!(reply["type"], "presence.ok");
}

#[tokio::test]
async fn sustained_abuse_closes_the_connection() {
    let server = TestServer::start_with(|c| c.abuse_limit = 200).await;
    let mut alice = server.client("alice").await;
    let mut sent = 0;
    while sent < 2000 && alice.try_send_text("garbage".into()).await {
        sent += 1;
    }
    alice.expect_closed().await;
    assert!(sent > 200, "closed only after the abuse limit, after {sent} frames");
}
