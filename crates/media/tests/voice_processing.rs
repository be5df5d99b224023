//! The voice processor on exact signals: a far end whose echo (delayed,
//! attenuated, reverberant, on another clock) reaches the microphone, near-end
//! speech and steady noise, all generated; the levels are read from what it
//! would send. The same figures over real PulseAudio devices and a real call
//! are in `crates/cli/tests/echo_cancel.rs`.

use duet_media::audio::convert::Resampler;
use duet_media::audio::{FRAME, Suppression, VoiceProcessor, VoiceSettings};
use duet_testkit::speech::{band_db, db, root_mean_square, speech, steady_noise, to_f32, to_i16};

const RATE: usize = 48_000;

/// The acoustic path from a speaker to a microphone: a delay, a gain and a
/// little of the room's reverberation; on its own clock when `ppm` is not 0.
struct EchoPath {
    delay_ms: f32,
    gain_db: f32,
    /// The speaker's clock against the microphone's (the microphone then
    /// hears the far end resampled by this much).
    ppm: i32,
}

impl EchoPath {
    fn apply(&self, far: &[f32]) -> Vec<f32> {
        let far = if self.ppm == 0 {
            far.to_vec()
        } else {
            let mut resampler = Resampler::new(48_000, (48_000.0 * (1.0 + self.ppm as f64 / 1e6)) as u32);
            let mut out = Vec::new();
            resampler.push(far, &mut out);
            out
        };
        let gain = 10f32.powf(self.gain_db / 20.0);
        let delay = (self.delay_ms * RATE as f32 / 1000.0) as usize;
        // The direct sound and two reflections.
        let taps = [(0, 1.0), (RATE / 200, 0.3), (RATE / 80, 0.12)];
        let mut echo = vec![0.0; far.len()];
        for (i, out) in echo.iter_mut().enumerate() {
            for (offset, weight) in taps {
                if let Some(j) = i.checked_sub(delay + offset) {
                    *out += far[j] * weight * gain;
                }
            }
        }
        echo
    }
}

/// Runs `mic` through a processor that hears `far` played, 20 ms at a time,
/// as the engine does; what it would send, and its last stats.
fn process(settings: VoiceSettings, far: &[f32], mic: &[f32]) -> (Vec<f32>, duet_media::audio::VoiceStats) {
    let mut processor = VoiceProcessor::new(settings);
    let mut out = Vec::with_capacity(mic.len());
    for (played, captured) in far.chunks_exact(FRAME).zip(mic.chunks_exact(FRAME)) {
        processor.far_end(played);
        let mut frame: [i16; FRAME] = to_i16(captured).try_into().unwrap();
        processor.process(&mut frame);
        out.extend(to_f32(&frame));
    }
    (out, processor.stats())
}

/// Echo only: only the canceller, so the figure is its own.
const AEC_ONLY: VoiceSettings =
    VoiceSettings { echo_cancellation: true, noise_suppression: Suppression::Off, auto_gain: false };

/// The echo return loss enhancement after `converged` seconds: the echo at the
/// microphone against what is left of it in what is sent, dB.
fn erle(echo: &[f32], sent: &[f32], converged: f32) -> f32 {
    let from = (converged * RATE as f32) as usize;
    let end = sent.len().min(echo.len());
    db(root_mean_square(&echo[from..end])) - db(root_mean_square(&sent[from..end]))
}

fn single_talk(path: &EchoPath, settings: VoiceSettings) -> (f32, duet_media::audio::VoiceStats) {
    let far = speech(12.0, 200.0, 4000.0, 0.5, 1);
    let echo = path.apply(&far);
    let (sent, stats) = process(settings, &far, &echo);
    (erle(&echo, &sent, 3.0), stats)
}

#[test]
fn the_echo_of_the_far_end_is_cancelled_by_25_db_whatever_its_delay_and_level() {
    for (delay_ms, gain_db) in [(40.0, 0.0), (80.0, -6.0), (150.0, -10.0)] {
        let path = EchoPath { delay_ms, gain_db, ppm: 0 };
        let (erle, stats) = single_talk(&path, AEC_ONLY);
        eprintln!("echo {delay_ms} ms at {gain_db} dB: ERLE {erle:.1} dB; the canceller says {stats:?}");
        assert!(erle >= 25.0, "echo {delay_ms} ms at {gain_db} dB is only {erle:.1} dB down");
        let found = stats.echo_delay_ms.expect("the canceller reports the delay it found");
        assert!((found - delay_ms as i32).abs() <= 20, "it found {found} ms for {delay_ms} ms");
    }
}

#[test]
fn the_whole_chain_keeps_the_echo_down_too() {
    let (erle, stats) = single_talk(&EchoPath { delay_ms: 80.0, gain_db: 0.0, ppm: 0 }, VoiceSettings::DEFAULT);
    eprintln!("with suppression and gain: ERLE {erle:.1} dB, {stats:?}");
    assert!(erle >= 25.0, "{erle:.1} dB");
}

#[test]
fn a_speaker_and_a_microphone_on_different_clocks_still_cancel_by_20_db() {
    for ppm in [100, -100] {
        let (erle, stats) = single_talk(&EchoPath { delay_ms: 80.0, gain_db: -3.0, ppm }, AEC_ONLY);
        eprintln!("{ppm:+} ppm: ERLE {erle:.1} dB, {stats:?}");
        assert!(erle >= 20.0, "{ppm:+} ppm: {erle:.1} dB");
    }
}

#[test]
fn without_the_canceller_the_echo_is_sent_as_it_came() {
    let (erle, _) = single_talk(&EchoPath { delay_ms: 80.0, gain_db: -6.0, ppm: 0 }, VoiceSettings::OFF);
    assert!(erle.abs() < 1.0, "nothing is taken off: {erle:.1} dB");
}

/// The far end talks low (200–1500 Hz), the near end high (1500–4000 Hz), both
/// at once: each is measured in a band only it has.
#[test]
fn in_double_talk_the_near_voice_passes_and_the_echo_stays_down() {
    let far = speech(12.0, 200.0, 1500.0, 0.5, 3);
    let echo = EchoPath { delay_ms: 80.0, gain_db: -3.0, ppm: 0 }.apply(&far);
    // The near end starts after 4 s, once the canceller has converged on the far end alone.
    let mut near = speech(12.0, 1500.0, 4000.0, 0.3, 4);
    near[..4 * RATE].fill(0.0);
    let mic: Vec<f32> = echo.iter().zip(&near).map(|(e, n)| e + n).collect();
    let (sent, _) = process(VoiceSettings::DEFAULT, &far, &mic);
    let talk = 5 * RATE..sent.len();
    let near_in = band_db(&near[talk.clone()], 2500.0, 3800.0);
    let near_out = band_db(&sent[talk.clone()], 2500.0, 3800.0);
    let echo_in = band_db(&echo[talk.clone()], 250.0, 700.0);
    let echo_out = band_db(&sent[talk], 250.0, 700.0);
    eprintln!("near voice {near_in:.1} → {near_out:.1} dBFS; echo {echo_in:.1} → {echo_out:.1} dBFS");
    assert!(near_in - near_out <= 8.0, "the near voice lost {:.1} dB", near_in - near_out);
    assert!(echo_in - echo_out >= 15.0, "the echo is only {:.1} dB down", echo_in - echo_out);
}

#[test]
fn steady_noise_under_speech_is_reduced_by_10_db_and_the_speech_kept() {
    let voice = speech(10.0, 200.0, 4000.0, 0.4, 5);
    let fan = steady_noise(10.0, 100.0, 8000.0, 0.02, 6);
    let mic: Vec<f32> = voice.iter().zip(&fan).map(|(v, n)| v + n).collect();
    for level in [Suppression::Moderate, Suppression::High] {
        let settings = VoiceSettings { echo_cancellation: false, noise_suppression: level, auto_gain: false };
        let (sent, _) = process(settings, &vec![0.0; mic.len()], &mic);
        let (noise_down, speech_change) = noise_and_speech(&voice, &fan, &sent);
        eprintln!("{level:?}: noise {noise_down:.1} dB down; speech {speech_change:+.1} dB");
        assert!(noise_down >= 10.0, "{level:?}: the noise is only {noise_down:.1} dB down");
        assert!(speech_change.abs() <= 3.0, "{level:?}: the speech changed by {speech_change:+.1} dB");
    }
}

/// How far the noise went down (in the pauses of the speech) and how much the
/// speech's level changed (in its bursts, less the noise left), dB, after 2 s
/// in which the suppressor learns the noise.
fn noise_and_speech(voice: &[f32], noise: &[f32], sent: &[f32]) -> (f32, f32) {
    let power = |x: &[f32]| root_mean_square(x).powi(2);
    let (mut pauses_in, mut pauses_out, mut talk_in, mut talk_out) = (vec![], vec![], vec![], vec![]);
    for i in 2 * RATE..sent.len() {
        if voice[i] == 0.0 {
            pauses_in.push(noise[i]);
            pauses_out.push(sent[i]);
        } else {
            talk_in.push(voice[i]);
            talk_out.push(sent[i]);
        }
    }
    let noise_left = power(&pauses_out);
    let speech_out = (power(&talk_out) - noise_left).max(1e-12);
    let noise_down = db(root_mean_square(&pauses_in)) - db(noise_left.sqrt());
    (noise_down, db(speech_out.sqrt()) - db(root_mean_square(&talk_in)))
}

#[test]
fn a_reset_forgets_the_echo_path_and_converges_on_the_new_one() {
    let far = speech(16.0, 200.0, 4000.0, 0.5, 7);
    // Another speaker after 8 s: another delay and level.
    let first = EchoPath { delay_ms: 60.0, gain_db: -3.0, ppm: 0 }.apply(&far);
    let second = EchoPath { delay_ms: 140.0, gain_db: 0.0, ppm: 0 }.apply(&far);
    let switch = 8 * RATE;
    let mic: Vec<f32> = (0..far.len()).map(|i| if i < switch { first[i] } else { second[i] }).collect();
    let mut processor = VoiceProcessor::new(AEC_ONLY);
    let mut sent = Vec::new();
    for (i, (played, captured)) in far.chunks_exact(FRAME).zip(mic.chunks_exact(FRAME)).enumerate() {
        if i * FRAME == switch {
            processor.reset();
        }
        processor.far_end(played);
        let mut frame: [i16; FRAME] = to_i16(captured).try_into().unwrap();
        processor.process(&mut frame);
        sent.extend(to_f32(&frame));
    }
    let after = switch + 3 * RATE;
    let erle = db(root_mean_square(&mic[after..])) - db(root_mean_square(&sent[after..]));
    let delay = processor.stats().echo_delay_ms.unwrap();
    eprintln!("after the switch: ERLE {erle:.1} dB, delay {delay} ms");
    assert!(erle >= 25.0, "{erle:.1} dB");
    assert!((delay - 140).abs() <= 20, "{delay} ms");
}
