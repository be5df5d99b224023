//! Sound through a call end to end on PulseAudio's virtual devices
//! (`scripts/pulse.sh`): a tone played into the caller's microphone (`vmic`)
//! comes out of the callee's speaker (`vspeaker`), heard on its monitor.
//! Skipped where no such server runs, except under CI.

use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use duet_media::audio::{FRAME, Microphone, tone_amplitude};
use tokio::io::AsyncWriteExt;

mod common;
use common::server;

/// Not a pitch of the ringtone (660, 880 Hz), the ringback (450 Hz) or the synthetic tone (440 Hz).
const TONE: f32 = 1000.0;

/// The tests share the virtual devices: one at a time.
static DEVICES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Plays a 1 kHz tone into `vmic_feed` (the virtual microphone's source) until dropped.
async fn play_into_microphone() -> tokio::process::Child {
    let mut pacat = tokio::process::Command::new("pacat")
        .args(["--playback", "--device=vmic_feed", "--format=s16le", "--rate=48000", "--channels=1"])
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("pacat (pulseaudio-utils) runs");
    let mut stdin = pacat.stdin.take().unwrap();
    tokio::spawn(async move {
        let mut phase = 0.0f32;
        let step = std::f32::consts::TAU * TONE / 48_000.0;
        // 30 s of tone, written ahead; pacat paces it.
        for _ in 0..1500 {
            let mut bytes = Vec::with_capacity(FRAME * 2);
            for _ in 0..FRAME {
                bytes.extend_from_slice(&((phase.sin() * 0.4 * 32767.0) as i16).to_le_bytes());
                phase = (phase + step) % std::f32::consts::TAU;
            }
            if stdin.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    pacat
}

/// The strongest 1 kHz level over 200 ms windows of what `vspeaker` plays, for `listen`.
fn loudest_tone_on_the_speaker(frames: &mpsc::Receiver<[i16; FRAME]>, listen: Duration) -> f32 {
    loudest(frames, TONE, listen)
}

/// The strongest level of `frequency` over 200 ms windows of `frames`, for `listen`.
fn loudest(frames: &mpsc::Receiver<[i16; FRAME]>, frequency: f32, listen: Duration) -> f32 {
    let deadline = Instant::now() + listen;
    let (mut window, mut best) = (Vec::new(), 0.0f32);
    while Instant::now() < deadline {
        let Ok(frame) = frames.recv_timeout(Duration::from_millis(500)) else { continue };
        window.extend_from_slice(&frame);
        if window.len() >= 10 * FRAME {
            best = best.max(tone_amplitude(&window, frequency));
            window.clear();
        }
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_into_the_callers_microphone_comes_out_of_the_callees_speaker() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _devices = DEVICES.lock().await;
    let (tx, frames) = mpsc::channel();
    let on_frame = move |frame| {
        let _ = tx.send(frame);
    };
    let _monitor = Microphone::open(Some("vspeaker.monitor"), on_frame, Box::new(|e| panic!("monitor: {e}"))).unwrap();
    let _pacat = play_into_microphone().await;
    let before = tokio::task::block_in_place(|| loudest_tone_on_the_speaker(&frames, Duration::from_secs(1)));
    assert!(before < 0.01, "the speaker is quiet before the call: {before:.3}");

    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic", "--speaker", "vspeaker"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    // A steady tone is what noise suppression takes out: this test follows the sound, unprocessed.
    let mut caller = server.live("alice", &["call", "bob", "--synthetic", "--mic", "vmic", "--no-ns", "--no-agc"]);
    callee.wait_for("media", |l| l["event"] == "media" && l["state"] == "connected").await;
    // The ALSA/Pulse path may buffer a second or more: listen long enough.
    let during = tokio::task::block_in_place(|| loudest_tone_on_the_speaker(&frames, Duration::from_secs(4)));
    let stats = callee.stats().await;
    eprintln!("1 kHz on the speaker: {before:.3} before the call, {during:.3} during it");
    caller.control("hangup").await;
    let (caller_out, caller_code) = caller.finish().await;
    let (_, callee_code) = callee.finish().await;

    assert!(caller_out.iter().all(|l| l["event"] != "error"), "the caller's devices opened: {caller_out:#?}");
    assert_eq!((caller_code, callee_code), (0, 0));
    assert!(stats["audio_frames_decoded"].as_u64().unwrap() > 50, "{stats}");
    assert!(
        during > 0.1,
        "1 kHz from the caller's microphone reached the callee's speaker at {during:.3} (sent at 0.4)"
    );
}

/// What a PulseAudio source hears, 20 ms at a time, until dropped.
fn listen(source: &str) -> (Microphone, mpsc::Receiver<[i16; FRAME]>) {
    let (tx, frames) = mpsc::channel();
    let on_frame = move |frame| {
        let _ = tx.send(frame);
    };
    (Microphone::open(Some(source), on_frame, Box::new(|e| panic!("{e}"))).unwrap(), frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callee_moves_the_call_to_another_speaker() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _devices = DEVICES.lock().await;
    let (_first, on_first) = listen("vspeaker.monitor");
    let (_second, on_second) = listen("vmic");
    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic", "--speaker", "vspeaker"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    // The caller sends the synthetic 440 Hz tone.
    let mut caller = server.live("alice", &["call", "bob", "--synthetic"]);
    callee.wait_for("media", |l| l["event"] == "media" && l["state"] == "connected").await;
    let before = tokio::task::block_in_place(|| loudest(&on_first, 440.0, Duration::from_secs(3)));

    callee.control("use speaker vmic_feed").await;
    let switched = callee.wait_for("the new speaker", |l| l["event"] == "device").await;
    assert_eq!(switched["speaker"], "vmic_feed");
    // Let what the old speaker had buffered play out, then listen to both.
    tokio::task::block_in_place(|| {
        std::thread::sleep(Duration::from_secs(2));
        while on_first.try_recv().is_ok() || on_second.try_recv().is_ok() {}
    });
    let (old, new) = tokio::task::block_in_place(|| {
        let new = loudest(&on_second, 440.0, Duration::from_secs(2));
        (loudest(&on_first, 440.0, Duration::from_millis(100)), new)
    });
    eprintln!("440 Hz: {before:.3} on the first speaker; after the switch {old:.3} there and {new:.3} on the second");
    caller.control("hangup").await;
    assert_eq!(caller.finish().await.1, 0);
    assert_eq!(callee.finish().await.1, 0);
    assert!(before > 0.1, "the peer's tone played on the first speaker: {before:.3}");
    assert!(new > 0.1, "after the switch it plays on the second: {new:.3}");
    assert!(old < 0.01, "and no longer on the first: {old:.3}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_plugged_in_shows_up_and_one_unplugged_falls_back_to_the_default() {
    let _devices = DEVICES.lock().await;
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live("alice", &["call", "bob", "--synthetic", "--speaker", "vspeaker"]);
    caller.wait_for("the call connected", |l| l["state"] == "connected").await;

    // A headset is plugged in: it appears in the lists, and the caller moves to it.
    let module = duet_testkit::pactl(&["load-module", "module-null-sink", "sink_name=duet_headset"]);
    let listed = |l: &serde_json::Value, id: &str| l["speakers"].as_array().is_some_and(|s| s.iter().any(|d| d == id));
    caller.wait_for("the new speaker listed", |l| l["event"] == "devices" && listed(l, "duet_headset")).await;
    caller.control("use speaker duet_headset").await;
    caller.wait_for("the headset in use", |l| l["event"] == "device" && l["speaker"] == "duet_headset").await;

    // It is unplugged mid-call: gone from the lists, and the sound goes back to the default speaker.
    duet_testkit::pactl(&["unload-module", &module]);
    let fallback = caller.wait_for("a fallback", |l| l["event"] == "device" && l["reason"] == "unplugged").await;
    assert_ne!(fallback["speaker"], "duet_headset", "{fallback}");
    let stats = caller.stats().await;
    assert!(stats["audio_frames_decoded"].as_u64().unwrap() > 0, "the call goes on: {stats}");
    caller.control("hangup").await;
    assert_eq!(caller.finish().await.1, 0);
    assert_eq!(callee.finish().await.1, 0);
}
