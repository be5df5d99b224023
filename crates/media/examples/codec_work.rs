//! The codec bench's work (`benches/codecs.rs`) for counting the instructions a
//! frame takes: a figure the noise of a shared machine does not move, where
//! criterion's times do. Callgrind counts inside the `counted_*` functions:
//!
//! ```sh
//! cargo build --profile bench -p duet-media --example codec_work
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='codec_work::counted_*' \
//!     ${CARGO_TARGET_DIR:-target}/release/examples/codec_work encode 720p
//! ```
//!
//! (or `decode 720p`, `encode 540p`, ...). Divide callgrind's `Collected` by the
//! frames the program prints.

use duet_media::{
    EncodedFrame, EncoderSettings, H264Decoder, H264Encoder, I420Frame, SyntheticSource, VideoFormat, VideoSource,
};

const USAGE: &str = "usage: codec_work encode|decode 540p|720p";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match args.get(1).map(String::as_str) {
        Some("540p") => EncoderSettings::DEFAULT,
        Some("720p") => EncoderSettings::HD,
        _ => return Err(USAGE.into()),
    };
    let format = VideoFormat { width: settings.width, height: settings.height, fps: settings.fps };
    let mut source = SyntheticSource::new(format).map_err(|e| e.to_string())?.with_frame_clock();
    let mut encoder = H264Encoder::new(settings).map_err(|e| e.to_string())?;
    let mut next_frame = || source.next_frame().map_err(|e| e.to_string());
    match args.first().map(String::as_str) {
        Some("encode") => {
            // The bench's loop of 60 frames, taken in turn after the keyframe, which is
            // not counted: the steady state, where a keyframe comes once in ten seconds.
            let frames = (0..60).map(|_| next_frame()).collect::<Result<Vec<_>, _>>()?;
            encoder.encode(&frames[0]).map_err(|e| e.to_string())?;
            for frame in frames[1..].iter().chain(&frames[..1]) {
                counted_encode(&mut encoder, frame)?;
            }
            println!("encoded {} frames", frames.len());
        }
        Some("decode") => {
            // One keyframe period, as the bench replays.
            let mut stream = Vec::new();
            for _ in 0..settings.keyframe_period() {
                stream.extend(encoder.encode(&next_frame()?).map_err(|e| e.to_string())?);
            }
            let mut decoder = H264Decoder::new().map_err(|e| e.to_string())?;
            for frame in &stream {
                counted_decode(&mut decoder, &frame.data)?;
            }
            println!("decoded {} frames", stream.len());
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

#[inline(never)]
fn counted_encode(encoder: &mut H264Encoder, frame: &I420Frame) -> Result<Option<EncodedFrame>, String> {
    encoder.encode(frame).map_err(|e| e.to_string())
}

#[inline(never)]
fn counted_decode(decoder: &mut H264Decoder, data: &[u8]) -> Result<Option<I420Frame>, String> {
    decoder.decode(data).map_err(|e| e.to_string())
}
