//! A keyframe request (PLI) from the receiver reaches the sender as an event,
//! so its encoder can answer with a keyframe.

use std::time::Duration;

use duet_rtc::{RtcEvent, RtcSession};

mod common;
use common::{connect, loopback};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answerers_keyframe_request_reaches_the_offerer() {
    let mut sender = RtcSession::new(loopback(true)).await.unwrap();
    let mut receiver = RtcSession::new(loopback(true)).await.unwrap();
    connect(&mut sender, &mut receiver, false).await;
    keyframe_request_arrives(&mut sender, &mut receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offerers_keyframe_request_reaches_the_answerer() {
    let mut sender = RtcSession::new(loopback(true)).await.unwrap();
    let mut receiver = RtcSession::new(loopback(true)).await.unwrap();
    connect(&mut receiver, &mut sender, false).await;
    keyframe_request_arrives(&mut sender, &mut receiver).await;
}

async fn keyframe_request_arrives(sender: &mut RtcSession, receiver: &mut RtcSession) {
    // Any bytes do as H.264 here: the receiver only has to know the stream.
    let frame = [0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21];
    let interval = Duration::from_millis(66);
    let mut requested = 0;
    let mut asked = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut tick = tokio::time::interval(interval);
    while requested == 0 {
        tokio::select! {
            _ = tick.tick() => sender.send_video(&frame, interval).await.unwrap(),
            event = receiver.next_event() => {
                if let Some(RtcEvent::Video(_)) = event && !asked {
                    asked = true;
                    receiver.request_keyframe().await;
                }
            }
            event = sender.next_event() => {
                if let Some(RtcEvent::KeyframeRequested) = event {
                    requested += 1;
                }
            }
            _ = tokio::time::sleep_until(deadline) => panic!("no keyframe request arrived (asked: {asked})"),
        }
    }
}
