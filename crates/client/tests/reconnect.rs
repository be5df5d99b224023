//! The client reconnects after the server restarts in the middle of ringing, and
//! the call goes on: the callee is rung again for the same invitation and can accept.

mod common;

use common::TestServer;
use duet_client::ClientEvent;
use duet_protocol::CallType;

#[tokio::test]
async fn a_call_survives_a_server_restart_while_ringing() {
    let mut server = TestServer::start().await;
    let mut alice = server.manager("alice").await;
    let mut bob = server.manager("bob").await;
    alice.manager.dial("bob", CallType::Video).await.expect("dial");
    bob.wait_state("ringing").await;

    server.restart().await;
    for phone in [&mut alice, &mut bob] {
        phone.wait_connection(|e| matches!(e, ClientEvent::Disconnected { .. })).await;
        phone.wait_connection(|e| matches!(e, ClientEvent::Connected { .. })).await;
    }
    bob.manager.accept(false).await.expect("still ringing after the restart");
    bob.wait_state("connected").await;
    alice.wait_state("connected").await;
    assert_eq!(bob.seen.iter().filter(|s| s.name() == "ringing").count(), 1, "rung once: {:?}", bob.seen);
}
