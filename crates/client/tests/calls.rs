//! Two call managers against a real server: a whole call and how it ends.

mod common;

use common::{Phone, TestServer};
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

#[tokio::test]
async fn a_caller_that_hangs_up_and_exits_at_once_still_ends_the_call_for_the_callee() {
    let server = TestServer::start().await;
    let mut bob = server.manager("bob").await;
    let alice = server.config_for("alice");
    // Alice lives on a runtime of her own; dropping it right after hanging up is
    // her process exiting: whatever was not sent by then is never sent. With one
    // task run between polls of her main future, her connection's task does not
    // get to write before that future ends.
    let caller = tokio::task::spawn_blocking(move || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().event_interval(1).enable_all().build().expect("runtime");
        runtime.block_on(async {
            let mut alice = Phone::start(alice).await;
            alice.manager.dial("bob", CallType::Audio).await.expect("dial");
            alice.wait_state("connected").await;
            alice.manager.hangup().await.expect("hangup");
            alice.manager.shut_down().await;
        });
    });
    bob.wait_state("ringing").await;
    bob.manager.accept(false).await.expect("accept");
    bob.wait_state("connected").await;
    caller.await.expect("the caller ran");

    // The server keeps a vanished member for its 30 s watchdog: only Alice's own
    // `room.leave` ends Bob's call within the wait.
    assert_eq!(bob.wait_state("ended").await, CallState::Ended(EndReason::RemoteHangup));
}
