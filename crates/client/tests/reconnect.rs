//! The client reconnects after the server restarts in the middle of ringing, and
//! the call goes on: the callee is rung again for the same invitation and can accept.
//! A call in progress survives a server restart, a 10 s outage and a silent dead
//! path: the client finds it, reconnects and takes its place in the room again.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::TestServer;
use duet_client::{CallEvent, CallState, ClientEvent, EndReason};
use duet_protocol::Status;
use duet_protocol::{CallType, ClientMessage, RoomSignal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

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

/// Alice calls Bob and both are connected: (alice, bob, the call's room).
async fn in_call(server: &TestServer, bob: common::Phone) -> (common::Phone, common::Phone, String) {
    let mut alice = server.manager("alice").await;
    let mut bob = bob;
    alice.manager.dial("bob", CallType::Audio).await.expect("dial");
    bob.wait_state("ringing").await;
    bob.manager.accept(false).await.expect("accept");
    let room = tokio::time::timeout(common::WAIT, async {
        loop {
            if let Some(CallEvent::State { state: CallState::Connected, call: Some(call) }) = alice.events.recv().await
            {
                return call.room_id;
            }
        }
    });
    let room = room.await.expect("alice connected");
    bob.wait_state("connected").await;
    (alice, bob, room)
}

/// Bob hangs up; Alice hears it from the server, which proves both were in the room.
async fn bob_hangs_up(alice: &mut common::Phone, bob: &mut common::Phone) {
    bob.manager.hangup().await.expect("hangup");
    assert_eq!(alice.wait_state("ended").await, CallState::Ended(EndReason::RemoteHangup));
    assert!(
        !alice.seen.iter().chain(&bob.seen).any(|s| matches!(s, CallState::Failed(_))),
        "nobody's call failed: {:?} {:?}",
        alice.seen,
        bob.seen
    );
}

#[tokio::test]
async fn a_call_survives_a_ten_second_signaling_outage_and_a_server_restart() {
    let mut server = TestServer::start().await;
    let bob = server.manager("bob").await;
    let (mut alice, mut bob, _) = in_call(&server, bob).await;

    server.stop().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    server.restart().await;
    for phone in [&mut alice, &mut bob] {
        phone.wait_connection(|e| matches!(e, ClientEvent::Connected { .. })).await;
    }
    // Both took their places in the room again: a hang-up reaches the other side.
    bob_hangs_up(&mut alice, &mut bob).await;
    assert_eq!(alice.seen.iter().filter(|s| s.name() == "ended").count(), 1, "one ending: {:?}", alice.seen);
}

#[tokio::test]
async fn a_dead_path_to_the_server_is_found_by_pings_and_the_call_takes_its_place_again_at_once() {
    let server = TestServer::start().await;
    let proxy = FreezingProxy::start(server.config.listen).await;
    let mut config = server.config_for("bob");
    config.client.server = format!("http://{}", proxy.addr);
    config.client.ping_every = Duration::from_millis(300);
    let bob = common::Phone::start(config).await;
    let (mut alice, mut bob, room_id) = in_call(&server, bob).await;

    // Bob's connection goes silent without closing (Wi-Fi gone, NAT mapping lost).
    let frozen = Instant::now();
    proxy.freeze_open_connections();
    bob.wait_connection(|e| matches!(e, ClientEvent::Disconnected { .. })).await;
    let noticed = frozen.elapsed();
    bob.wait_connection(|e| matches!(e, ClientEvent::Connected { .. })).await;
    let back = frozen.elapsed();
    println!("the dead path was noticed after {noticed:?}, the connection was back after {back:?}");
    assert!(noticed < Duration::from_secs(2), "two missed pongs (0.6-0.9 s), not TCP's minutes: {noticed:?}");
    assert!(back < noticed + Duration::from_millis(500), "reconnected at once: {back:?}");
    // The room sends to Bob's new connection (his old one still looks open to the server).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let payload = serde_json::json!({"restart": true});
    let signal = RoomSignal { req: None, room_id, to: "bob".into(), payload: payload.clone() };
    alice.manager.client().send(ClientMessage::RoomSignal(signal)).expect("send");
    let got = tokio::time::timeout(common::WAIT, async {
        loop {
            if let Some(CallEvent::Signal { from, payload }) = bob.events.recv().await {
                return (from, payload);
            }
        }
    });
    assert_eq!(got.await.expect("the signal reaches bob"), ("alice".to_owned(), payload));
    bob_hangs_up(&mut alice, &mut bob).await;
}

/// A TCP relay to the server whose open connections can be made to go silent
/// (nothing forwarded either way, nothing closed) while new ones work.
struct FreezingProxy {
    addr: std::net::SocketAddr,
    frozen_below: Arc<AtomicU64>,
    next: Arc<AtomicU64>,
}

impl FreezingProxy {
    async fn start(server: std::net::SocketAddr) -> FreezingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (frozen_below, next) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (frozen, counter) = (frozen_below.clone(), next.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let id = counter.fetch_add(1, Ordering::SeqCst);
                let Ok(upstream) = TcpStream::connect(server).await else { continue };
                let (cr, cw) = client.into_split();
                let (ur, uw) = upstream.into_split();
                tokio::spawn(relay(cr, uw, id, frozen.clone()));
                tokio::spawn(relay(ur, cw, id, frozen.clone()));
            }
        });
        FreezingProxy { addr, frozen_below, next }
    }

    fn freeze_open_connections(&self) {
        self.frozen_below.store(self.next.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

async fn relay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, id: u64, frozen_below: Arc<AtomicU64>) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if id < frozen_below.load(Ordering::SeqCst) {
            // Swallow everything from now on, keeping both sockets open.
            let _keep = to;
            while matches!(from.read(&mut buf).await, Ok(n) if n > 0) {}
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires_so_a_later_reconnect_still_signs_in() {
    let mut server = TestServer::start().await;
    let mut config = server.config_for("alice");
    config.client.token = server.token("alice", 3_000);
    let mut alice = common::Phone::start(config).await;
    let renewed = tokio::time::timeout(common::WAIT, async {
        loop {
            if let Some(CallEvent::Connection(ClientEvent::TokenRenewed { expires_at, .. })) = alice.events.recv().await
            {
                return expires_at;
            }
        }
    });
    let expires_at = renewed.await.expect("renewed halfway through its 3 s");
    assert!(expires_at > duet_server::now_ms() + 3_600_000, "a full lifetime");

    // The first token has expired by now: the reconnect signs in with the renewed one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.restart().await;
    alice.wait_connection(|e| matches!(e, ClientEvent::Disconnected { .. })).await;
    let back = tokio::time::timeout(common::WAIT, async {
        loop {
            match alice.events.recv().await {
                Some(CallEvent::Connection(ClientEvent::Connected { .. })) => return true,
                Some(CallEvent::Connection(ClientEvent::AuthFailed { .. })) => return false,
                _ => {}
            }
        }
    });
    assert!(back.await.expect("back in time"), "signed in again, not refused for an expired token");
}
