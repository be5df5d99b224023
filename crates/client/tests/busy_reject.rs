//! A second invitation during a call is rejected as busy automatically.

mod common;

use common::TestServer;
use duet_client::{CallState, EndReason};
use duet_protocol::CallType;

#[tokio::test]
async fn calling_someone_who_is_in_a_call_ends_with_busy() {
    let server = TestServer::start().await;
    let mut alice = server.manager("alice").await;
    let mut bob = server.manager("bob").await;
    let mut carol = server.manager("carol").await;

    alice.manager.dial("bob", CallType::Video).await.expect("dial");
    bob.wait_state("ringing").await;
    bob.manager.accept(false).await.expect("accept");
    bob.wait_state("connected").await;

    carol.manager.dial("bob", CallType::Video).await.expect("dial");
    assert_eq!(carol.wait_state("ended").await, CallState::Ended(EndReason::Busy));
    // Bob's call is untouched.
    alice.wait_state("connected").await;
    bob.manager.hangup().await.expect("hangup");
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::RemoteHangup));
}
