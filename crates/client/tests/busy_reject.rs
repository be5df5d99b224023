//! A second invitation during a call is rejected as busy automatically, and rings
//! none of the callee's devices.

mod common;

use std::time::Duration;

use common::TestServer;
use duet_client::{CallEvent, CallState, EndReason};
use duet_protocol::CallType;

#[tokio::test]
async fn calling_someone_who_is_in_a_call_ends_with_busy() {
    let server = TestServer::start().await;
    let mut alice = server.manager("alice").await;
    let mut bob = server.manager("bob").await;
    let mut bobs_laptop = server.manager("bob").await;
    let mut carol = server.manager("carol").await;

    alice.manager.dial("bob", CallType::Video).await.expect("dial");
    bob.wait_state("ringing").await;
    bob.manager.accept(false).await.expect("accept");
    bob.wait_state("connected").await;

    carol.manager.dial("bob", CallType::Video).await.expect("dial");
    assert_eq!(carol.wait_state("ended").await, CallState::Ended(EndReason::Busy));
    // Bob's laptop rang for Alice's call only, never for Carol's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = bobs_laptop.events.try_recv() {
        if let CallEvent::State { state, .. } = event {
            bobs_laptop.seen.push(state);
        }
    }
    let rang = bobs_laptop.seen.iter().filter(|state| state.name() == "ringing").count();
    assert_eq!(rang, 1, "{:?}", bobs_laptop.seen);
    // Bob's call is untouched.
    alice.wait_state("connected").await;
    bob.manager.hangup().await.expect("hangup");
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::RemoteHangup));
}
