//! The voice processing chain (high-pass, echo cancellation, noise
//! suppression, automatic gain) per 20 ms frame at 48 kHz mono, one thread,
//! and the delay the chain adds to the voice.
//!
//! `cargo bench -p duet-media --bench voice`
//!
//! Input: generated speech-like bursts as the far end (what the speaker plays)
//! and its echo (80 ms later, 6 dB down) plus a quieter near-end talker and
//! steady noise as the microphone, looped; so the canceller, the suppressor
//! and the gain all have work. Each iteration hands the processor 20 ms of
//! far end and processes 20 ms of microphone (two of its 10 ms blocks).

use criterion::{Criterion, criterion_group, criterion_main};
use duet_media::audio::{FRAME, Suppression, VoiceProcessor, VoiceSettings};
use duet_testkit::speech::{speech, steady_noise, to_i16};

const SECONDS: f32 = 10.0;

fn signals() -> (Vec<f32>, Vec<i16>) {
    let far = speech(SECONDS, 200.0, 4000.0, 0.5, 1);
    let near = speech(SECONDS, 200.0, 4000.0, 0.2, 2);
    let noise = steady_noise(SECONDS, 100.0, 8000.0, 0.01, 3);
    let delay = 48 * 80;
    let mic: Vec<f32> =
        (0..far.len()).map(|i| near[i] + noise[i] + if i >= delay { far[i - delay] * 0.5 } else { 0.0 }).collect();
    (far, to_i16(&mic))
}

/// The delay between what goes in and what comes out, found where the two
/// correlate best (a 1 kHz-wide voice, nothing else, through the whole chain).
fn added_latency_ms() -> f32 {
    let voice = speech(4.0, 300.0, 3000.0, 0.3, 4);
    let mut processor = VoiceProcessor::new(VoiceSettings::DEFAULT);
    let mut out = Vec::new();
    for chunk in voice.chunks_exact(FRAME) {
        let mut frame: [i16; FRAME] = to_i16(chunk).try_into().unwrap();
        processor.far_end(&[0.0; FRAME]);
        processor.process(&mut frame);
        out.extend(frame.iter().map(|&s| f32::from(s)));
    }
    let from = 48_000;
    let best = (0..48 * 30)
        .map(|lag| {
            let score: f32 = (from..voice.len() - lag).map(|i| voice[i] * out[i + lag]).sum();
            (lag, score)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    best.0 as f32 / 48.0
}

fn chain(c: &mut Criterion) {
    eprintln!("voice chain: added latency {:.2} ms", added_latency_ms());
    let (far, mic) = signals();
    let frames = far.len() / FRAME;
    let mut group = c.benchmark_group("voice");
    let settings = [
        ("full chain (aec+ns+agc)", VoiceSettings::DEFAULT),
        ("aec only", VoiceSettings { echo_cancellation: true, noise_suppression: Suppression::Off, auto_gain: false }),
        (
            "ns+agc, no aec",
            VoiceSettings { echo_cancellation: false, noise_suppression: Suppression::Moderate, auto_gain: true },
        ),
    ];
    for (name, settings) in settings {
        let mut processor = VoiceProcessor::new(settings);
        let mut n = 0;
        group.bench_function(format!("20 ms frame/{name}"), |b| {
            b.iter(|| {
                let at = (n % frames) * FRAME;
                n += 1;
                processor.far_end(&far[at..at + FRAME]);
                let mut frame: [i16; FRAME] = mic[at..at + FRAME].try_into().unwrap();
                processor.process(&mut frame);
                frame
            })
        });
    }
    group.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
