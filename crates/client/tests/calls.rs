//! Two call managers against a real server: a whole call and how it ends.

mod common;

use common::TestServer;
use duet_client::{CallState, EndReason};
use duet_protocol::CallType;

#[tokio::test]
async fn a_call_connects_and_ends_for_both_when_the_caller_hangs_up() {
    let server = TestServer::start().await;
    let mut alice = server.manager("alice").await;
    let mut bob = server.manager("bob").await;

    alice.manager.dial("bob", CallType::Video).await.expect("dial");
    alice.wait_state("calling").await;
    bob.wait_state("ringing").await;
    bob.manager.accept(false).await.expect("accept");
    bob.wait_state("connected").await;
    alice.wait_state("connected").await;

    alice.manager.hangup().await.expect("hangup");
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::LocalHangup));
    assert_eq!(bob.wait_state("ended").await, CallState::Ended(EndReason::RemoteHangup));
    alice.wait_state("prepared").await;
    bob.wait_state("prepared").await;
    assert_eq!(bob.seen[1..4].iter().map(CallState::name).collect::<Vec<_>>(), ["ringing", "connecting", "connected"]);

    let err = alice.manager.accept(false).await.expect_err("nothing is ringing");
    assert!(err.to_string().contains("prepared"), "{err}");
}

#[tokio::test]
async fn declining_and_cancelling_end_both_sides_with_the_right_reasons() {
    let server = TestServer::start().await;
    let mut alice = server.manager("alice").await;
    let mut bob = server.manager("bob").await;

    alice.manager.dial("bob", CallType::Audio).await.expect("dial");
    bob.wait_state("ringing").await;
    bob.manager.decline().await.expect("decline");
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::Rejected));

    alice.manager.dial("bob", CallType::Audio).await.expect("dial");
    bob.wait_state("ringing").await;
    alice.manager.hangup().await.expect("cancel");
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::Cancelled));
    assert_eq!(bob.wait_state("ended").await, CallState::Ended(EndReason::Cancelled));
}
