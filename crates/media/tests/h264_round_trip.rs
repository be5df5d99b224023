//! Synthetic video through the H.264 encoder and decoder: every frame comes back
//! identifiable by its stamp, at the seed's default settings and at 720p30.

use duet_frame::I420Frame;
use duet_media::stamp::{self, Stamp};
use duet_media::{EncoderSettings, Error, H264Decoder, H264Encoder, SyntheticSource, VideoFormat, VideoSource};

/// Per frame sent to the encoder: whether it was a keyframe, and the stamp of the
/// picture decoded from it (none when skipped or undecodable); and the bytes sent.
fn round_trip(settings: EncoderSettings, frames: u32) -> (Vec<(bool, Option<Stamp>)>, usize) {
    let format = VideoFormat { width: settings.width, height: settings.height, fps: settings.fps };
    let mut source = SyntheticSource::new(format).unwrap();
    let mut encoder = H264Encoder::new(settings).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let (mut out, mut bytes) = (Vec::new(), 0);
    for _ in 0..frames {
        let frame = source.next_frame().unwrap();
        let Some(encoded) = encoder.encode(&frame).unwrap() else {
            out.push((false, None));
            continue;
        };
        bytes += encoded.data.len();
        let decoded: Option<I420Frame> = decoder.decode(&encoded.data).unwrap();
        if let Some(decoded) = &decoded {
            assert_eq!((decoded.width(), decoded.height()), (settings.width, settings.height));
        }
        out.push((encoded.keyframe, decoded.as_ref().and_then(stamp::read)));
    }
    (out, bytes)
}

fn assert_every_frame_identified(results: &[(bool, Option<Stamp>)]) {
    let counters: Vec<u32> = results.iter().filter_map(|(_, s)| s.map(|s| s.counter)).collect();
    eprintln!("{} of {} frames decoded and identified", counters.len(), results.len());
    assert!(
        counters.len() * 100 >= results.len() * 95,
        "only {} of {} frames decoded with a readable stamp",
        counters.len(),
        results.len()
    );
    assert!(counters.windows(2).all(|w| w[0] < w[1]), "counters must strictly increase: {counters:?}");
    for (n, (_, stamp)) in results.iter().enumerate() {
        if let Some(stamp) = stamp {
            assert_eq!(stamp.counter, n as u32, "frame {n} decoded as another frame");
        }
    }
}

fn kbps(bytes: usize, frames: u32, fps: f32) -> f32 {
    bytes as f32 * 8.0 / (frames as f32 / fps) / 1000.0
}

#[test]
fn default_540p15_at_850_kbps_keeps_every_frame() {
    let (results, bytes) = round_trip(EncoderSettings::DEFAULT, 75);
    assert!(results[0].0, "the first frame is a keyframe");
    assert_every_frame_identified(&results);
    let rate = kbps(bytes, 75, 15.0);
    eprintln!("540p15: {rate:.0} kbps");
    assert!((425.0..=1020.0).contains(&rate), "5 s at 850 kbps came out at {rate:.0} kbps");
}

#[test]
fn hd_720p30_keeps_every_frame() {
    let (results, bytes) = round_trip(EncoderSettings::HD, 60);
    assert_every_frame_identified(&results);
    let rate = kbps(bytes, 60, 30.0);
    eprintln!("720p30: {rate:.0} kbps");
    assert!(rate <= 1.2 * 1700.0, "720p30 at 1.7 Mbps came out at {rate:.0} kbps");
}

#[test]
fn a_keyframe_request_makes_the_next_frame_a_keyframe() {
    let settings = EncoderSettings::DEFAULT;
    let mut source = SyntheticSource::new(VideoFormat::DEFAULT).unwrap();
    let mut encoder = H264Encoder::new(settings).unwrap();
    let mut keyframes = Vec::new();
    for n in 0..20 {
        if n == 12 {
            encoder.request_keyframe();
        }
        let encoded = encoder.encode(&source.next_frame().unwrap()).unwrap();
        keyframes.push(encoded.is_some_and(|e| e.keyframe));
    }
    let at: Vec<usize> = keyframes.iter().enumerate().filter(|(_, k)| **k).map(|(n, _)| n).collect();
    assert_eq!(at, [0, 12]);
}

#[test]
fn a_decoder_that_joins_late_starts_at_the_next_keyframe() {
    let mut source = SyntheticSource::new(VideoFormat::DEFAULT).unwrap();
    let mut encoder = H264Encoder::new(EncoderSettings::DEFAULT).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    for _ in 0..5 {
        encoder.encode(&source.next_frame().unwrap()).unwrap();
    }
    // Frames without their keyframe must not produce garbage pictures or errors
    // that end the call; after a requested keyframe the picture is back.
    let after_the_loss = encoder.encode(&source.next_frame().unwrap()).unwrap().expect("not skipped");
    let _ = decoder.decode(&after_the_loss.data);
    encoder.request_keyframe();
    let keyframe = encoder.encode(&source.next_frame().unwrap()).unwrap().expect("keyframes are never skipped");
    assert!(keyframe.keyframe);
    let picture = decoder.decode(&keyframe.data).unwrap().expect("a keyframe decodes on its own");
    assert_eq!(stamp::read(&picture).map(|s| s.counter), Some(6));
}

#[test]
fn odd_and_mismatched_sizes_are_refused() {
    let odd = EncoderSettings { width: 641, ..EncoderSettings::DEFAULT };
    assert!(matches!(H264Encoder::new(odd), Err(Error::OddFrameSize { width: 641, height: 540 })));
    let mut encoder = H264Encoder::new(EncoderSettings::DEFAULT).unwrap();
    let wrong = I420Frame::black(640, 360).unwrap();
    let err = encoder.encode(&wrong).unwrap_err().to_string();
    assert!(err.contains("640x360") && err.contains("960x540"), "{err}");
}

/// Bytes the encoder produced over `frames` frames of `source`.
fn encoded_bytes(encoder: &mut H264Encoder, source: &mut SyntheticSource, frames: u32) -> usize {
    (0..frames).filter_map(|_| encoder.encode(&source.next_frame().unwrap()).unwrap()).map(|e| e.data.len()).sum()
}

#[test]
fn the_bitrate_follows_a_new_target_during_a_call() {
    let settings = EncoderSettings::DEFAULT;
    let mut source = SyntheticSource::new(VideoFormat::DEFAULT).unwrap();
    let mut encoder = H264Encoder::new(settings).unwrap();
    let full = kbps(encoded_bytes(&mut encoder, &mut source, 45), 45, 15.0);

    // The network estimate fell to 300 kbps: one second to settle, then 3 s measured.
    encoder.set_bitrate(300_000);
    assert_eq!(encoder.settings().bitrate_bps, 300_000);
    encoded_bytes(&mut encoder, &mut source, 15);
    let low = kbps(encoded_bytes(&mut encoder, &mut source, 45), 45, 15.0);

    // It recovered: back up, but never above what the encoder was created with.
    encoder.set_bitrate(5_000_000);
    assert_eq!(encoder.settings().bitrate_bps, settings.bitrate_bps);
    encoded_bytes(&mut encoder, &mut source, 15);
    let back = kbps(encoded_bytes(&mut encoder, &mut source, 45), 45, 15.0);
    eprintln!("850 kbps → {full:.0}; 300 kbps → {low:.0}; back to 850 kbps → {back:.0}");
    assert!((200.0..=380.0).contains(&low), "at a 300 kbps target the stream ran at {low:.0} kbps");
    assert!(back > 1.8 * low, "raising the target raised the rate again: {back:.0} kbps");

    encoder.set_bitrate(1_000);
    assert_eq!(encoder.settings().bitrate_bps, duet_media::MIN_VIDEO_BITRATE_BPS, "a floor holds");
}

#[test]
fn an_encoder_that_starts_low_rises_to_its_full_rate_when_asked() {
    let settings = EncoderSettings::DEFAULT;
    let mut source = SyntheticSource::new(VideoFormat::DEFAULT).unwrap();
    let mut encoder = H264Encoder::starting_at(settings, 300_000).unwrap();
    assert_eq!(encoder.settings().bitrate_bps, 300_000);
    assert_eq!(encoder.max_bitrate_bps(), settings.bitrate_bps);
    // The first frame, a keyframe, is sized for the start rate too.
    let first = encoder.encode(&source.next_frame().unwrap()).unwrap().expect("the first frame");
    let start = kbps(encoded_bytes(&mut encoder, &mut source, 44) + first.data.len(), 45, 15.0);

    // The network carries more: one second to settle, then 3 s measured.
    encoder.set_bitrate(settings.bitrate_bps);
    encoded_bytes(&mut encoder, &mut source, 15);
    let full = kbps(encoded_bytes(&mut encoder, &mut source, 45), 45, 15.0);

    // The same first picture from an encoder that starts at the full rate.
    let first_picture = SyntheticSource::new(VideoFormat::DEFAULT).unwrap().next_frame().unwrap();
    let reference = H264Encoder::new(settings).unwrap().encode(&first_picture).unwrap().unwrap();
    eprintln!(
        "start 300 kbps → {start:.0} kbps, first frame {} bytes (at 850 kbps: {}); raised to 850 kbps → {full:.0}",
        first.data.len(),
        reference.data.len()
    );
    assert!((200.0..=380.0).contains(&start), "at a 300 kbps start the stream ran at {start:.0} kbps");
    assert!(first.data.len() * 10 < reference.data.len() * 9, "the first keyframe is smaller at the start rate");
    assert!(full > 2.0 * start, "raising the target to the full rate raised the stream: {full:.0} kbps");
}
