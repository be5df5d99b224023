//! Two sessions on loopback: synthetic video, encoded, sent over WebRTC
//! (ICE, DTLS-SRTP, RTP), received, decoded, and identified frame by frame.

use std::time::{Duration, Instant};

use duet_media::stamp;
use duet_media::{EncoderSettings, H264Decoder, H264Encoder, SyntheticSource, VideoFormat, VideoSource};
use duet_rtc::{RtcEvent, RtcSession};

mod common;
use common::{connect, loopback};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_video_arrives_frame_by_frame() {
    let mut caller = RtcSession::new(loopback(true)).await.unwrap();
    let mut callee = RtcSession::new(loopback(true)).await.unwrap();
    let started = Instant::now();
    connect(&mut caller, &mut callee, false).await;
    let connected = started.elapsed();

    let settings = EncoderSettings::DEFAULT;
    let mut source = SyntheticSource::new(VideoFormat::DEFAULT).unwrap();
    let mut encoder = H264Encoder::new(settings).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let interval = Duration::from_secs_f32(1.0 / settings.fps);
    let sent_frames = 30u32;
    let mut sent = 0u32;
    let mut decoded = Vec::new();
    let mut ticker = tokio::time::interval(interval);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut first_frame = None;
    while decoded.last() != Some(&(sent_frames - 1)) {
        tokio::select! {
            _ = ticker.tick(), if sent < sent_frames => {
                let frame = source.next_frame().unwrap();
                if let Some(encoded) = encoder.encode(&frame).unwrap() {
                    caller.send_video(&encoded.data, interval).await.unwrap();
                }
                sent += 1;
            }
            event = callee.next_event() => match event.unwrap() {
                RtcEvent::Video(frame) => {
                    if let Some(picture) = decoder.decode(&frame.data).unwrap() {
                        first_frame.get_or_insert_with(|| started.elapsed());
                        decoded.push(stamp::read(&picture).expect("a readable stamp").counter);
                    }
                }
                RtcEvent::VideoLost => panic!("packets were lost on loopback"),
                _ => {}
            },
            _ = caller.next_event() => {}
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    eprintln!(
        "connected after {connected:?}, first frame decoded {:?} after the offer; {} of {sent} frames decoded",
        first_frame,
        decoded.len()
    );
    assert!(decoded.windows(2).all(|w| w[0] < w[1]), "frames arrive in order: {decoded:?}");
    assert!(decoded.len() * 100 >= sent as usize * 95, "{} of {sent} frames decoded", decoded.len());
    caller.close().await.unwrap();
    callee.close().await.unwrap();
}
