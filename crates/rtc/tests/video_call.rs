//! Two sessions on loopback: synthetic video, encoded, sent both ways over
//! WebRTC (ICE, DTLS-SRTP, RTP), received, decoded and identified frame by frame.

use std::time::{Duration, Instant};

use duet_media::stamp;
use duet_media::{EncoderSettings, H264Decoder, H264Encoder, SyntheticSource, VideoFormat, VideoSource};
use duet_rtc::{RtcEvent, RtcSession};

mod common;
use common::{connect, loopback};

/// One side's video: what it sends and what it decoded of the other's.
struct Side {
    source: SyntheticSource,
    encoder: H264Encoder,
    decoder: H264Decoder,
    decoded: Vec<u32>,
}

impl Side {
    fn new() -> Side {
        Side {
            source: SyntheticSource::new(VideoFormat::DEFAULT).unwrap(),
            encoder: H264Encoder::new(EncoderSettings::DEFAULT).unwrap(),
            decoder: H264Decoder::new().unwrap(),
            decoded: Vec::new(),
        }
    }

    async fn send(&mut self, session: &RtcSession, interval: Duration) {
        let frame = self.source.next_frame().unwrap();
        if let Some(encoded) = self.encoder.encode(&frame).unwrap() {
            session.send_video(&encoded.data, interval).await.unwrap();
        }
    }

    fn on_event(&mut self, event: RtcEvent, first: &mut Option<Duration>, started: Instant) {
        match event {
            RtcEvent::Video(frame) => {
                if let Some(picture) = self.decoder.decode(&frame.data).unwrap() {
                    first.get_or_insert_with(|| started.elapsed());
                    self.decoded.push(stamp::read(&picture).expect("a readable stamp").counter);
                }
            }
            RtcEvent::VideoLost => panic!("packets were lost on loopback"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_video_arrives_frame_by_frame_both_ways() {
    let mut caller = RtcSession::new(loopback(true)).await.unwrap();
    let mut callee = RtcSession::new(loopback(true)).await.unwrap();
    let started = Instant::now();
    connect(&mut caller, &mut callee, false).await;
    let connected = started.elapsed();

    let interval = Duration::from_secs_f32(1.0 / EncoderSettings::DEFAULT.fps);
    let frames = 30u32;
    let (mut a, mut b) = (Side::new(), Side::new());
    let (mut sent, mut first) = (0u32, None);
    let mut ticker = tokio::time::interval(interval);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while a.decoded.last() != Some(&(frames - 1)) || b.decoded.last() != Some(&(frames - 1)) {
        tokio::select! {
            _ = ticker.tick(), if sent < frames => {
                a.send(&caller, interval).await;
                b.send(&callee, interval).await;
                sent += 1;
            }
            event = callee.next_event() => b.on_event(event.unwrap(), &mut first, started),
            event = caller.next_event() => a.on_event(event.unwrap(), &mut first, started),
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    eprintln!(
        "connected after {connected:?}, first frame decoded {first:?} after the offer; \
         callee decoded {}, caller decoded {} of {sent} frames",
        b.decoded.len(),
        a.decoded.len()
    );
    for (who, decoded) in [("callee", &b.decoded), ("caller", &a.decoded)] {
        assert!(decoded.windows(2).all(|w| w[0] < w[1]), "{who}: frames arrive in order: {decoded:?}");
        assert!(decoded.len() * 100 >= sent as usize * 95, "{who}: {} of {sent} frames decoded", decoded.len());
    }
    caller.close().await.unwrap();
    callee.close().await.unwrap();
}
