//! Encode and decode time per frame, one thread, at 540p and 720p; Opus per 20 ms.
//!
//! `cargo bench -p duet-media --bench codecs`
//!
//! Input: the synthetic source (panning background, moving square, stamp), at
//! the call settings (540p15 850 kbps, 720p30 1.7 Mbps), timed at the frame rate
//! (the source's frame clock: the rate control budgets by timestamps):
//! - encode: each iteration encodes the next frame of a loop of 60 made
//!   beforehand, so motion search works as in a call;
//! - decode: replays one keyframe period of a stream of that source (10 s: a
//!   keyframe, then P-frames), the mix a call's decoder gets.

use criterion::{Criterion, criterion_group, criterion_main};
use duet_media::audio::{OpusDecoder, OpusEncoder, ToneSource};
use duet_media::{EncoderSettings, H264Decoder, H264Encoder, SyntheticSource, VideoFormat, VideoSource};

/// Encoded frames, made before the timing and taken in turn.
const LOOP: usize = 60;

fn video(c: &mut Criterion) {
    let mut group = c.benchmark_group("h264");
    for (name, settings) in [("540p", EncoderSettings::DEFAULT), ("720p", EncoderSettings::HD)] {
        let format = VideoFormat { width: settings.width, height: settings.height, fps: settings.fps };

        let mut source = SyntheticSource::new(format).unwrap().with_frame_clock();
        let frames: Vec<_> = (0..LOOP).map(|_| source.next_frame().unwrap()).collect();
        let mut encoder = H264Encoder::new(settings).unwrap();
        let mut n = 0;
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| {
                n += 1;
                encoder.encode(&frames[n % LOOP]).unwrap()
            })
        });

        let mut source = SyntheticSource::new(format).unwrap().with_frame_clock();
        let mut encoder = H264Encoder::new(settings).unwrap();
        let stream: Vec<_> = (0..settings.keyframe_period())
            .filter_map(|_| encoder.encode(&source.next_frame().unwrap()).unwrap())
            .collect();
        assert!(stream[0].keyframe && !stream[1..].iter().any(|f| f.keyframe), "one keyframe, at the start");
        let mut decoder = H264Decoder::new().unwrap();
        let mut n = 0;
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                let frame = &stream[n];
                n = (n + 1) % stream.len();
                decoder.decode(&frame.data).unwrap()
            })
        });
    }
    group.finish();
}

fn audio(c: &mut Criterion) {
    let mut group = c.benchmark_group("opus");
    let mut tone = ToneSource::new(440.0, 0.5);
    let frames: Vec<_> = (0..50).map(|_| tone.next_frame()).collect();
    let mut encoder = OpusEncoder::new(32_000).unwrap();
    let mut n = 0;
    group.bench_function("encode/20ms", |b| {
        b.iter(|| {
            n += 1;
            encoder.encode(&frames[n % frames.len()]).unwrap()
        })
    });
    let mut encoder = OpusEncoder::new(32_000).unwrap();
    let packets: Vec<_> = frames.iter().map(|f| encoder.encode(f).unwrap()).collect();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut n = 0;
    group.bench_function("decode/20ms", |b| {
        b.iter(|| {
            n += 1;
            decoder.decode(&packets[n % packets.len()]).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, video, audio);
criterion_main!(benches);
