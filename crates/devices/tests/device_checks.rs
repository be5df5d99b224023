//! The device checks on real devices: PulseAudio's virtual microphone and
//! speaker (`scripts/pulse.sh`; skipped where they are missing, except under CI)
//! and the synthetic camera.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet_devices::{CameraChoice, CameraTest, MicEvent, MicTest, SpeakerEvent, SpeakerTest, test_sound};
use duet_media::audio::{FRAME, Microphone, Mixer, Speaker, tone_amplitude};
use duet_media::{DeviceList, DeviceWatcher, Error, VideoFormat};

/// The tests share `vmic_feed` and `vspeaker`: one at a time.
static DEVICES: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    DEVICES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Plays a `frequency` tone into the virtual microphone until dropped.
fn tone_into_vmic(frequency: f32, amplitude: f32, seconds: f32) -> Speaker {
    let step = std::f32::consts::TAU * frequency / 48_000.0;
    let tone: Vec<f32> = (0..(seconds * 48_000.0) as usize).map(|i| (i as f32 * step).sin() * amplitude).collect();
    let mixer = Mixer::new();
    mixer.play_clip(tone.into());
    Speaker::open(Some("vmic_feed"), mixer, Box::new(|e| panic!("vmic_feed: {e}"))).unwrap()
}

/// Levels reported over `wait`.
fn levels(events: &mpsc::Receiver<MicEvent>, wait: Duration) -> Vec<u8> {
    let until = Instant::now() + wait;
    let mut levels = Vec::new();
    while let Ok(event) = events.recv_timeout(until.saturating_duration_since(Instant::now())) {
        match event {
            MicEvent::Level(level) => levels.push(level),
            MicEvent::Error { message, .. } => panic!("microphone error: {message}"),
        }
    }
    levels
}

#[test]
fn the_microphone_level_follows_a_tone_and_follows_a_switch() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _one = one_at_a_time();
    let (tx, events) = mpsc::channel();
    // Starts on the silent speaker's monitor.
    let mut test = MicTest::start(Some("vspeaker.monitor"), Duration::from_millis(100), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    // 1 s: the stream takes a moment to start.
    let silent = levels(&events, Duration::from_millis(1000));
    assert!(silent.len() >= 5, "a level every 100 ms: {silent:?}");
    assert!(silent.iter().all(|&l| l <= 5), "silence reads near 0: {silent:?}");

    test.switch(Some("vmic")).unwrap();
    assert_eq!(test.device().id, "vmic");
    let _tone = tone_into_vmic(1000.0, 0.7, 3.0);
    let loud = levels(&events, Duration::from_millis(1500));
    let high = loud.iter().filter(|&&l| l >= 80).count();
    assert!(high >= 5, "a loud tone (-3 dBFS) reads high: {loud:?}");

    let missing = test.switch(Some("no such microphone")).unwrap_err();
    assert_eq!(missing.device_code(), Some(-1302));
    assert_eq!(test.device().id, "vmic", "a failed switch keeps the microphone in use");
}

/// Plays `samples` (48 kHz mono) into `vmic` until dropped.
fn play_into_vmic(samples: Vec<f32>) -> Speaker {
    let mixer = Mixer::new();
    mixer.play_clip(samples.into());
    Speaker::open(Some("vmic_feed"), mixer, Box::new(|e| panic!("vmic_feed: {e}"))).unwrap()
}

/// The median level a check of `vmic` reads while a quiet voice talks into it.
fn quiet_voice_level(voice: Option<duet_media::audio::VoiceSettings>) -> u8 {
    let (tx, events) = mpsc::channel();
    let test = MicTest::start(Some("vmic"), Duration::from_millis(300), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    test.process_with(voice);
    // A voice far from the microphone: peaks near -30 dBFS.
    let _talking = play_into_vmic(duet_testkit::speech::speech(6.0, 200.0, 4000.0, 0.03, 9));
    let mut heard = levels(&events, Duration::from_secs(6));
    // The gain rises at most 6 dB a second: the last seconds show where it settled.
    heard.drain(..heard.len() / 2);
    heard.sort_unstable();
    heard[heard.len() / 2]
}

#[test]
fn the_microphone_check_shows_the_level_calls_send_after_automatic_gain() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _one = one_at_a_time();
    let raw = quiet_voice_level(None);
    let processed = quiet_voice_level(Some(duet_media::audio::VoiceSettings::DEFAULT));
    eprintln!("a quiet voice reads {raw} as captured, {processed} as sent");
    assert!(processed >= raw + 15, "automatic gain lifts a quiet voice: {raw} → {processed}");
}

/// What `vspeaker` played, from its monitor, while `run` runs.
fn hear_vspeaker(run: impl FnOnce()) -> Vec<i16> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let into = heard.clone();
    let monitor = Microphone::open(
        Some("vspeaker.monitor"),
        move |frame: [i16; FRAME]| into.lock().unwrap().extend_from_slice(&frame),
        Box::new(|e| panic!("monitor: {e}")),
    )
    .unwrap();
    run();
    drop(monitor);
    heard.lock().unwrap().clone()
}

/// The loudest `frequency` over 100 ms windows of `samples`, 50 ms apart (so
/// one window lies inside each 300 ms note however the notes fall).
fn strongest(samples: &[i16], frequency: f32) -> f32 {
    samples.windows(4800).step_by(2400).map(|w| tone_amplitude(w, frequency)).fold(0.0, f32::max)
}

/// Runs a speaker check to its end; the levels it reported.
fn play(sound: Vec<f32>) -> Vec<u8> {
    let (tx, events) = mpsc::channel();
    let test = SpeakerTest::start(Some("vspeaker"), sound, Duration::from_millis(100), move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    assert_eq!(test.device().id, "vspeaker");
    let mut levels = Vec::new();
    loop {
        match events.recv_timeout(Duration::from_secs(8)).expect("the speaker check ends") {
            SpeakerEvent::Level(level) => levels.push(level),
            SpeakerEvent::Finished => return levels,
            SpeakerEvent::Error { message } => panic!("speaker error: {message}"),
        }
    }
}

#[test]
fn the_speaker_check_plays_the_test_sound_that_the_monitor_hears_then_finishes() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _one = one_at_a_time();
    let mut levels = Vec::new();
    let heard = hear_vspeaker(|| levels = play(test_sound()));
    assert!(levels.iter().filter(|&&l| l >= 80).count() >= 10, "the level shows the sound: {levels:?}");
    assert_eq!(levels.last(), Some(&0), "the meter drops to 0 when it is over");
    for frequency in duet_devices::speaker::TEST_NOTES_HZ {
        let found = strongest(&heard, frequency);
        // Half what was played: a busy machine's dropouts lower it (0.249 seen), a missing note reads ~0.
        assert!(found > 0.2, "{frequency} Hz came back at {found:.3} (played at 0.4)");
    }
}

#[test]
fn three_seconds_recorded_from_the_microphone_play_back_on_the_speaker() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _one = one_at_a_time();
    let test = MicTest::start(Some("vmic"), Duration::from_millis(300), |_| {}).unwrap();
    let tone = tone_into_vmic(700.0, 0.5, 5.0);
    let recording = test.record(Duration::from_secs(3)).unwrap();
    drop((tone, test));
    assert_eq!(recording.len(), 3 * 48_000);
    assert!(strongest(&recording, 700.0) > 0.4, "the recording holds the tone");

    let as_float: Vec<f32> = recording.iter().map(|&s| f32::from(s) / f32::from(i16::MAX)).collect();
    let heard = hear_vspeaker(|| drop(play(as_float)));
    assert!(strongest(&heard, 700.0) > 0.4, "played back, the tone comes out of the speaker");
}

#[test]
fn the_device_lists_are_pushed_again_when_a_speaker_comes_and_goes() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let _one = one_at_a_time();
    let (tx, lists) = mpsc::channel::<DeviceList>();
    let _watcher = DeviceWatcher::start(Duration::from_millis(200), move |list| drop(tx.send(list.clone())));
    let name = format!("duet_check_headset_{}", std::process::id());
    let has = |list: &DeviceList| list.speakers.iter().any(|s| s.id == name);
    let wait_for = |want: bool| loop {
        let list = lists.recv_timeout(Duration::from_secs(5)).expect("a new device list");
        if has(&list) == want {
            return;
        }
    };
    /// Unplugs the headset even when the test fails.
    struct Plugged(String);
    impl Drop for Plugged {
        fn drop(&mut self) {
            duet_testkit::pactl(&["unload-module", &self.0]);
        }
    }
    let plugged = Plugged(duet_testkit::pactl(&["load-module", "module-null-sink", &format!("sink_name={name}")]));
    wait_for(true);
    drop(plugged);
    wait_for(false);
}

#[test]
fn the_camera_check_shows_the_synthetic_pattern_at_the_format_asked() {
    // Not for the devices: 720p at 30 fps keeps a core busy, and the audio tests' sound would drop out.
    let _one = one_at_a_time();
    let frames = Arc::new(Mutex::new(Vec::new()));
    let seen = frames.clone();
    let mut test = CameraTest::start(&CameraChoice::Synthetic, VideoFormat::HD, move |frame| {
        seen.lock().unwrap().push((frame.width(), frame.height()));
    })
    .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(test.format(), VideoFormat::HD);
    assert!(test.measured_fps() > 20.0, "about 30 fps: {}", test.measured_fps());
    assert!(frames.lock().unwrap().iter().all(|&size| size == (1280, 720)));

    let error = test.switch(&CameraChoice::Device(Some("no such camera".into()))).unwrap_err();
    assert_eq!(error.device_code(), Some(-1301), "the seed's camera start failure");
    assert!(error.to_string().contains("no such camera"), "{error}");
    let before = test.frames();
    std::thread::sleep(Duration::from_millis(300));
    assert!(test.frames() > before, "a failed switch keeps the old camera running");
}

#[test]
fn with_no_camera_at_all_the_check_says_so() {
    if !duet_media::cameras().unwrap_or_default().is_empty() {
        eprintln!("skipped: this machine has a camera");
        return;
    }
    let error = CameraTest::start(&CameraChoice::Device(None), VideoFormat::DEFAULT, |_| {}).err().unwrap();
    assert!(matches!(error, Error::NotFound(duet_media::Device::Camera)), "{error:?}");
    assert_eq!(error.to_string(), "no camera was found");
    assert_eq!(error.device_code(), Some(-1301));
}
