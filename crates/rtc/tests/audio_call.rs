//! An audio-only call: no video m-line, and a tone sent as Opus arrives at its pitch.

use std::time::Duration;

use duet_media::audio::{FRAME, OpusDecoder, OpusEncoder, ToneSource, tone_amplitude};
use duet_rtc::{Error, RtcEvent, RtcSession};

mod common;
use common::{connect, loopback};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_crosses_an_audio_only_call() {
    let mut probe = RtcSession::new(loopback(false)).await.unwrap();
    let offer = probe.create_offer().await.unwrap();
    assert!(!offer.sdp.contains("m=video"), "audio-only calls offer no video");
    assert!(offer.sdp.contains("m=audio"));
    probe.close().await.unwrap();
    let mut caller = RtcSession::new(loopback(false)).await.unwrap();
    let mut callee = RtcSession::new(loopback(false)).await.unwrap();
    connect(&mut caller, &mut callee, false).await;
    assert!(matches!(
        caller.send_video(&[0, 0, 0, 1, 0x65, 1], Duration::from_millis(66)).await,
        Err(Error::AudioOnly)
    ));

    let mut tone = ToneSource::new(440.0, 0.5);
    let mut encoder = OpusEncoder::new(32_000).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let (mut sent, mut received) = (0, Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while received.len() < 50 * FRAME {
        tokio::select! {
            _ = ticker.tick(), if sent < 60 => {
                let packet = encoder.encode(&tone.next_frame()).unwrap();
                caller.send_audio(&packet, Duration::from_millis(20)).await.unwrap();
                sent += 1;
            }
            event = callee.next_event() => {
                if let Some(RtcEvent::Audio(packet)) = event {
                    received.extend(decoder.decode(&packet.data).unwrap());
                }
            }
            _ = caller.next_event() => {}
            _ = tokio::time::sleep_until(deadline) => panic!("only {} samples arrived", received.len()),
        }
    }
    let steady = &received[10 * FRAME..];
    let at_tone = tone_amplitude(steady, 440.0);
    assert!((0.35..0.65).contains(&at_tone), "440 Hz arrived at {at_tone:.3}, sent at 0.5");
    assert!(tone_amplitude(steady, 1000.0) < at_tone / 10.0);
}
