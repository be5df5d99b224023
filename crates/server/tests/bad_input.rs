//! Malformed frames get `bad_request` and the connection stays usable.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn malformed_frames_are_answered_with_bad_request_and_the_connection_survives() {
    let server = TestServer::start().await;
    let mut alice = server.client("alice").await;
    let cases = [
        ("{not json".to_string(), None),
        (r#"{"type":"teleport","req":7}"#.to_string(), Some(7)),
        (r#"{"type":"accept","req":8}"#.to_string(), Some(8)),
        (r#"{"type":"invite","req":9,"to":"bob"}"#.to_string(), Some(9)),
        (format!(r#"{{"type":"presence.query","req":10,"users":["{}"]}}"#, "x".repeat(70 * 1024)), None),
    ];
    for (text, req) in cases {
        alice.send_text(text.clone()).await;
        let error = alice.next().await.expect("an error reply");
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["code"], "bad_request");
        assert_eq!(error["req"].as_u64(), req, "{error}");
        assert!(!error["message"].as_str().expect("message").is_empty());
        let alive = alice.request(json!({"type": "presence.query", "users": ["bob"]})).await;
        assert_eq!(alive["type"], "presence.ok", "still usable after {}", &text[..text.len().min(40)]);
    }
}
