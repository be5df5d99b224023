//! The safety code (PROTOCOL.md "Verification"): two sides connected to each
//! other compute the same six digits from the fingerprints DTLS verified; with
//! a man in the middle that answers each side itself (what a server relaying
//! forged SDP must do to see the media), the two sides' codes differ.

mod common;
use common::{connect, loopback};
use duet_rtc::{RtcSession, safety_code};

const ROOM: &str = "room-safety";

async fn code(session: &RtcSession) -> String {
    let (local, remote) = session.fingerprints().await.expect("DTLS verified the peer's certificate");
    assert_ne!(local, remote);
    safety_code(ROOM, &local, &remote)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sides_of_one_call_show_the_same_code() {
    let mut alice = RtcSession::new(loopback(false)).await.unwrap();
    let mut bob = RtcSession::new(loopback(false)).await.unwrap();
    connect(&mut alice, &mut bob, false).await;
    let (alices, bobs) = (code(&alice).await, code(&bob).await);
    assert_eq!(alices, bobs);
    let (local, remote) = alice.fingerprints().await.unwrap();
    assert_eq!(bob.fingerprints().await.unwrap(), (remote, local), "each side's peer is the other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_man_in_the_middle_makes_the_codes_differ() {
    // Alice's offer reaches the middle, which answers as "Bob"; the middle offers to Bob as "Alice".
    let mut alice = RtcSession::new(loopback(false)).await.unwrap();
    let mut middle_to_alice = RtcSession::new(loopback(false)).await.unwrap();
    let mut middle_to_bob = RtcSession::new(loopback(false)).await.unwrap();
    let mut bob = RtcSession::new(loopback(false)).await.unwrap();
    connect(&mut alice, &mut middle_to_alice, false).await;
    connect(&mut middle_to_bob, &mut bob, false).await;

    let (alices, bobs) = (code(&alice).await, code(&bob).await);
    assert_ne!(alices, bobs, "the two people read different codes to each other");
}
