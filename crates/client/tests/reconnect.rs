//! The client reconnects after the server restarts in the middle of ringing, and
//! the call goes on: the callee is rung again for the same invitation and can accept.

mod common;

use common::TestServer;
use duet_client::{CallEvent, ClientEvent};
use duet_protocol::CallType;
use duet_protocol::Status;

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

#[tokio::test]
async fn presence_subscriptions_are_renewed_after_a_reconnect() {
    let mut server = TestServer::start().await;
    let mut alice = server.manager("alice").await;
    alice.manager.client().subscribe(vec!["carol".into()]).expect("subscribe");
    let _carol = server.manager("carol").await;
    wait_presence(&mut alice, Status::Online).await;

    server.restart().await;
    alice.wait_connection(|e| matches!(e, ClientEvent::Connected { .. })).await;
    // Whichever of alice and carol is back first, alice learns that carol is online.
    wait_presence(&mut alice, Status::Online).await;
}

async fn wait_presence(phone: &mut common::Phone, status: Status) {
    let wait = async {
        loop {
            if let Some(CallEvent::Presence { user, status: s }) = phone.events.recv().await
                && user == "carol"
                && s == status
            {
                return;
            }
        }
    };
    tokio::time::timeout(common::WAIT, wait).await.expect("presence change in time");
}
