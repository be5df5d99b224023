//! An unanswered call times out on both sides after the ring timeout.

mod common;

use std::time::Duration;

use common::TestServer;
use duet_client::{CallState, ClientEvent, EndReason};
use duet_protocol::{CallType, ErrorCode};

#[tokio::test]
async fn an_unanswered_call_times_out_for_caller_and_callee() {
    let server = TestServer::start().await;
    let short = |c: &mut duet_client::ManagerConfig| c.ring_timeout = Duration::from_secs(1);
    let mut alice = server.manager_with("alice", short).await;
    let mut bob = server.manager_with("bob", short).await;
    alice.manager.dial("bob", CallType::Video).await.expect("dial");
    bob.wait_state("ringing").await;
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::Timeout));
    assert_eq!(bob.wait_state("ended").await, CallState::Ended(EndReason::Timeout));
}

#[tokio::test]
async fn an_expired_token_is_reported_so_the_user_can_log_in_again() {
    let server = TestServer::start().await;
    let token = server.token("alice", -1);
    let config = duet_client::ManagerConfig::new(duet_client::ClientConfig::new(server.url(), token));
    let (_manager, mut events) = duet_client::CallManager::start(config);
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("in time").expect("event");
    match event {
        duet_client::CallEvent::Connection(ClientEvent::AuthFailed { code, message }) => {
            assert_eq!(code, ErrorCode::TokenExpired);
            assert!(message.contains("log in again"), "{message}");
        }
        other => panic!("expected an auth failure, got {other:?}"),
    }
}
