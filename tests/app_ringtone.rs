//! End to end with the real app under Xvfb and PulseAudio's virtual devices
//! (`scripts/pulse.sh`): with the "Bright" ringtone chosen in the settings, an
//! incoming call rings C6, E6 and G6 out of the chosen speaker (`vspeaker`,
//! heard on its monitor), and none of the other ringtones' pitches.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use duet_media::audio::{FRAME, Microphone, tone_amplitude};
use support::{App, display_available, headless_peer, server_with_alice_and_bob, tauri_driver_available};

/// The strongest level of each frequency over 50 ms windows of `samples`.
fn loudest(samples: &[i16], frequencies: &[f32]) -> Vec<f32> {
    frequencies
        .iter()
        .map(|&f| samples.chunks_exact(2_400).map(|window| tone_amplitude(window, f)).fold(0.0, f32::max))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_call_rings_the_chosen_ringtone_out_of_the_chosen_speaker() {
    if !display_available() || !tauri_driver_available() || !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let server_dir = tempfile::tempdir().expect("tempdir");
    let (server, url) = server_with_alice_and_bob(server_dir.path()).await;
    // Settings as the settings screen saves them (the other keys take their defaults).
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().join("config");
    std::fs::create_dir_all(config.join("app.duet.desktop")).expect("config dir");
    std::fs::write(
        config.join("app.duet.desktop").join("settings.json"),
        r#"{"speaker": "vspeaker", "ringtone": "bright", "ringtone_volume": 100}"#,
    )
    .expect("settings");
    let data = home.path().join("data");
    let app = App::start(&[
        ("XDG_DATA_HOME", data.to_str().expect("utf-8")),
        ("XDG_CONFIG_HOME", config.to_str().expect("utf-8")),
        ("DUET_SOURCES", "synthetic"),
    ])
    .await;
    app.sign_in(&url, "alice", false).await;

    let (tx, frames) = mpsc::channel();
    let on_frame = move |frame: [i16; FRAME]| {
        let _ = tx.send(frame);
    };
    let _monitor = Microphone::open(Some("vspeaker.monitor"), on_frame, Box::new(|e| panic!("monitor: {e}")))
        .expect("vspeaker's monitor opens");

    // Bob calls and lets it ring.
    let options = headless_peer(&server, &url, "bob", Duration::from_secs(60));
    let (controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let bob = tokio::spawn(duet_cli::run(options, duet_cli::Mode::Call { peer: "alice".into() }, controls_rx, |_| {}));
    app.wait_for("#call[data-phase='ringing']", Duration::from_secs(20)).await;
    while frames.try_recv().is_ok() {}
    // One whole ring (it repeats every 3 s) and a little more, counted in samples
    // heard, not in time waited: in one run of the whole suite the monitor's
    // capture delivered 1.3 s of audio in 3.5 s. Bob lets it ring for a minute.
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while samples.len() < 48 * 3_500 && Instant::now() < deadline {
        if let Ok(frame) = frames.recv_timeout(Duration::from_millis(500)) {
            samples.extend_from_slice(&frame);
        }
    }
    controls.send(duet_cli::Command::Hangup).expect("bob hangs up");
    let _ = tokio::time::timeout(Duration::from_secs(10), bob).await.expect("bob's call ends");
    app.wait_for("#call-result", Duration::from_secs(10)).await;

    assert!(samples.len() >= 48 * 3_000, "heard {} samples", samples.len());
    let bright = loudest(&samples, &[1046.5, 1318.5, 1568.0]);
    // Chime (660, 880 Hz) and Classic (950/1150 Hz) must not be what rings.
    let others = loudest(&samples, &[660.0, 880.0, 950.0, 1150.0]);
    assert!(bright.iter().all(|&level| level > 0.2), "C6, E6 and G6 ring at full volume: {bright:?}");
    assert!(others.iter().all(|&level| level < 0.05), "no other ringtone's pitch: {others:?}");
    app.quit().await;
    let _ = server.shutdown().await;
}
