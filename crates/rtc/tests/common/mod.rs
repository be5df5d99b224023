#![allow(dead_code)]

use std::time::Duration;

use duet_rtc::{RtcEvent, RtcSession, SessionConfig};
use webrtc::peer_connection::RTCPeerConnectionState;

pub fn loopback(video: bool) -> SessionConfig {
    SessionConfig {
        udp_addrs: vec!["127.0.0.1:0".to_owned()],
        video,
        max_bitrate_bps: 1_000_000,
        ice_servers: Vec::new(),
        relay_only: false,
    }
}

/// Offer/answer, then trickles candidates both ways until both sides are
/// connected and (when `channels`) both data channels are open on both sides.
/// Events that arrive meanwhile and are not part of that are returned.
pub async fn connect(caller: &mut RtcSession, callee: &mut RtcSession, channels: bool) {
    let offer = caller.create_offer().await.unwrap();
    let answer = callee.answer(offer).await.unwrap();
    caller.accept_answer(answer).await.unwrap();
    let (mut caller_up, mut callee_up) = (false, false);
    let (mut caller_open, mut callee_open) = (0, 0);
    let needed = if channels { 2 } else { 0 };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(caller_up && callee_up && caller_open >= needed && callee_open >= needed) {
        tokio::select! {
            event = caller.next_event() => match event.unwrap() {
                RtcEvent::Candidate(c) => callee.add_candidate(c).await.unwrap(),
                RtcEvent::State(RTCPeerConnectionState::Connected) => caller_up = true,
                RtcEvent::State(RTCPeerConnectionState::Failed) => panic!("caller failed"),
                RtcEvent::ChannelOpen(_) => caller_open += 1,
                _ => {}
            },
            event = callee.next_event() => match event.unwrap() {
                RtcEvent::Candidate(c) => caller.add_candidate(c).await.unwrap(),
                RtcEvent::State(RTCPeerConnectionState::Connected) => callee_up = true,
                RtcEvent::State(RTCPeerConnectionState::Failed) => panic!("callee failed"),
                RtcEvent::ChannelOpen(_) => callee_open += 1,
                _ => {}
            },
            _ = tokio::time::sleep_until(deadline) => panic!(
                "not connected within 10 s: caller {caller_up}/{caller_open} channels, callee {callee_up}/{callee_open}"
            ),
        }
    }
}
