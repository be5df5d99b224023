//! Real audio devices: PulseAudio's virtual speaker and microphone (started by
//! `scripts/pulse.sh`). Skipped where no such server runs, except under CI.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use duet_media::audio::{Cue, FRAME, Microphone, Mixer, Speaker, input_devices, output_devices, tone_amplitude};
use duet_media::{Device, Error};

fn no_errors() -> duet_media::audio::StreamErrorHandler {
    Box::new(|e| panic!("audio stream error: {e}"))
}

#[test]
fn the_virtual_devices_are_listed_by_name() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let inputs: Vec<String> = input_devices().unwrap().into_iter().map(|d| d.id).collect();
    let outputs: Vec<String> = output_devices().unwrap().into_iter().map(|d| d.id).collect();
    assert!(inputs.contains(&"vmic".to_owned()) && inputs.contains(&"vspeaker.monitor".to_owned()), "{inputs:?}");
    assert!(outputs.contains(&"vspeaker".to_owned()), "{outputs:?}");
}

#[test]
fn the_speaker_plays_the_ringback_and_its_monitor_hears_it() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let (tx, frames) = mpsc::channel();
    let microphone = Microphone::open(
        Some("vspeaker.monitor"),
        move |frame| {
            let _ = tx.send(frame);
        },
        no_errors(),
    )
    .unwrap();
    assert_eq!(microphone.device.id, "vspeaker.monitor");

    let mixer = Mixer::new();
    mixer.play_cue(Cue::Ringback);
    let _speaker = Speaker::open(Some("vspeaker"), mixer.clone(), no_errors()).unwrap();

    // The ringback sounds for its first second; find it in what comes back.
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut heard = Vec::new();
    let mut best = 0.0f32;
    while Instant::now() < deadline && best < 0.15 {
        let Ok(frame) = frames.recv_timeout(Duration::from_secs(1)) else { continue };
        heard.extend_from_slice(&frame);
        if heard.len() >= 10 * FRAME {
            let window = &heard[heard.len() - 10 * FRAME..];
            best = best.max(tone_amplitude(window, 450.0));
        }
    }
    assert!(best >= 0.15, "450 Hz came back from the speaker's monitor at {best:.3} (played at 0.25)");
    assert!(mixer.played() > 0);
}

#[test]
fn a_missing_device_names_the_ones_that_exist() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let error = Microphone::open(Some("no such microphone"), |_| {}, no_errors()).err().unwrap();
    match &error {
        Error::NoSuchDevice { device: Device::Microphone, available, .. } => {
            assert!(available.contains(&"vmic".to_owned()), "{available:?}")
        }
        other => panic!("expected NoSuchDevice, got {other:?}"),
    }
    assert_eq!(error.device_code(), Some(-1302), "the seed's microphone start failure");
    let error = Speaker::open(Some("no such speaker"), Mixer::new(), no_errors()).err().unwrap();
    assert!(error.to_string().contains("vspeaker"), "{error}");
}

#[test]
fn the_sound_server_answers_where_pulseaudio_runs() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    assert_eq!(duet_media::audio::sound_server(), Ok(()));
}

/// Run again in a child process whose environment points at no sound server.
#[cfg(target_os = "linux")]
#[test]
fn without_a_sound_server_it_says_which_one_is_missing() {
    const PROBE: &str = "DUET_SOUND_SERVER_PROBE";
    if std::env::var_os(PROBE).is_some() {
        println!("probe: {:?}", duet_media::audio::sound_server());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "without_a_sound_server_it_says_which_one_is_missing", "--nocapture", "--test-threads=1"])
        .env(PROBE, "1")
        .env("PULSE_SERVER", format!("unix:{}", dir.path().join("no-such-socket").display()))
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .expect("the probe runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("probe: Err(NoSoundServer(\"PulseAudio"), "{stdout}");
}
