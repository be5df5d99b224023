//! In-call messages over the two data channels, with the seed's limits: a
//! message that breaks one is refused and never reaches the peer.

use std::time::Duration;

use duet_rtc::{Channel, MessageError, RtcEvent, RtcSession};

mod common;
use common::{connect, loopback};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arrive_and_each_limit_refuses_the_message_that_breaks_it() {
    let mut caller = RtcSession::new(loopback(true)).await.unwrap();
    let mut callee = RtcSession::new(loopback(true)).await.unwrap();
    connect(&mut caller, &mut callee, true).await;

    assert_eq!(caller.send_message(Channel::Reliable, 1, b"hello").await, Ok(0));
    assert_eq!(caller.send_message(Channel::Fast, 2, b"fast").await, Ok(1));
    assert_eq!(caller.send_message(Channel::Reliable, 11, b"reserved").await, Err(MessageError::BadCommand(11)));
    assert_eq!(caller.send_message(Channel::Reliable, 3, &[0; 1001]).await, Err(MessageError::TooLarge(1001)));
    // 9 bytes so far; eight 1000-byte messages still fit in 8 KiB...
    for _ in 0..8 {
        caller.send_message(Channel::Reliable, 4, &[7; 1000]).await.unwrap();
    }
    // ...the next one does not.
    assert_eq!(caller.send_message(Channel::Reliable, 4, &[7; 1000]).await, Err(MessageError::TooManyBytes));
    // Small messages up to 30 in the second, then no more.
    let mut accepted = 10;
    while caller.send_message(Channel::Reliable, 5, b"x").await.is_ok() {
        accepted += 1;
    }
    assert_eq!(accepted, 30);
    assert_eq!(caller.send_message(Channel::Reliable, 5, b"x").await, Err(MessageError::TooManyMessages));
    caller.send_quality(2).await.unwrap();

    let mut reliable = Vec::new();
    let mut fast = Vec::new();
    let mut peer_quality = None;
    let mut delivered = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while reliable.len() < 29 || fast.is_empty() || peer_quality.is_none() || delivered.len() < 29 {
        tokio::select! {
            event = callee.next_event() => match event.unwrap() {
                RtcEvent::Message { channel: Channel::Reliable, message } => reliable.push(message),
                RtcEvent::Message { channel: Channel::Fast, message } => fast.push(message),
                RtcEvent::PeerQuality(q) => peer_quality = Some(q),
                _ => {}
            },
            event = caller.next_event() => if let Some(RtcEvent::Delivered(seq)) = event {
                delivered.push(seq);
            },
            _ = tokio::time::sleep_until(deadline) => {
                panic!("got {} reliable, {} fast messages, {} receipts", reliable.len(), fast.len(), delivered.len())
            }
        }
    }
    assert_eq!((reliable[0].cmd, reliable[0].payload.as_slice()), (1, &b"hello"[..]));
    assert_eq!((fast[0].cmd, fast[0].payload.as_slice()), (2, &b"fast"[..]));
    assert_eq!(peer_quality, Some(2));
    // Only accepted messages arrived: 29 on the reliable channel, in order.
    assert_eq!(reliable.len(), 29);
    assert!(reliable.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(reliable.iter().all(|m| m.payload.len() <= 1000 && (1..=10).contains(&m.cmd)));
    // Each reliable message came back as delivered, in order; the fast one (seq 1) did not.
    assert_eq!(delivered, reliable.iter().map(|m| m.seq).collect::<Vec<_>>());
    assert!(!delivered.contains(&1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(50), callee.next_event()).await {
        assert!(!matches!(event, RtcEvent::Message { .. }), "a refused message arrived: {event:?}");
    }
}
