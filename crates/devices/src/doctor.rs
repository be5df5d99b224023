//! Every check that needs no person, into one [`Report`]: the camera delivers
//! pictures, the microphone delivers sound, the speaker plays the test sound to
//! the end, and the network's figures. Whether the picture looks right or the
//! sound is heard needs a person (the app's "Check devices" page).

use std::sync::mpsc;
use std::time::Duration;

use duet_media::{Device, DeviceList, Error, VideoFormat};
use duet_protocol::quality;
use serde_json::{Map, Value, json};

use crate::report::{Check, CheckName, Report, Status};
use crate::{CameraChoice, CameraTest, MicEvent, MicTest, SpeakerEvent, SpeakerTest, SpeedTestParams, test_sound};

/// What to check.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub camera: CameraChoice,
    /// Microphone and speaker by id or name; `None`: the default ones.
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    /// The speed test's server and token; `None` skips the network check.
    pub network: Option<SpeedTestParams>,
}

/// How long each device is watched.
const CAMERA_WATCH: Duration = Duration::from_secs(2);
const MIC_WATCH: Duration = Duration::from_millis(1500);

/// Runs the checks one after another; `on_step` hears which one starts.
pub async fn doctor(options: DoctorOptions, mut on_step: impl FnMut(CheckName)) -> Report {
    let devices = tokio::task::spawn_blocking(DeviceList::now).await.unwrap_or_default();
    let mut report = Report::new(&devices);
    on_step(CheckName::Camera);
    let camera = options.camera.clone();
    report.checks.push(blocking(CheckName::Camera, move || check_camera(&camera)).await);
    on_step(CheckName::Microphone);
    let microphone = options.microphone.clone();
    report.checks.push(blocking(CheckName::Microphone, move || check_microphone(microphone.as_deref())).await);
    on_step(CheckName::Speaker);
    let speaker = options.speaker.clone();
    report.checks.push(blocking(CheckName::Speaker, move || check_speaker(speaker.as_deref())).await);
    on_step(CheckName::Network);
    match &options.network {
        None => report.checks.push(check(
            CheckName::Network,
            Status::Skipped,
            "not tested: no server or sign-in given".into(),
            None,
        )),
        Some(params) => {
            let result = crate::speed_test(params, |_| {}).await;
            report.checks.push(network_check(&result));
            report.network = Some(result);
        }
    }
    report
}

async fn blocking(name: CheckName, run: impl FnOnce() -> Check + Send + 'static) -> Check {
    tokio::task::spawn_blocking(run).await.unwrap_or_else(|e| {
        check(name, Status::Failed, format!("the check crashed: {e}"), Some("Retest; if it happens again, report it."))
    })
}

fn check(name: CheckName, status: Status, summary: String, advice: Option<&str>) -> Check {
    Check { name, status, summary, advice: advice.map(str::to_owned), code: None, details: Map::new() }
}

/// A check that was not run (the tester skipped it).
pub fn not_checked(name: CheckName) -> Check {
    check(name, Status::Skipped, "not checked".into(), None)
}

/// A device that could not start, with the seed's code and what to do.
pub fn device_failure(name: CheckName, error: &Error) -> Check {
    let device = match name {
        CheckName::Camera => Device::Camera,
        CheckName::Speaker => Device::Speaker,
        _ => Device::Microphone,
    };
    let (status, advice) = match error {
        Error::NotFound(Device::Camera) => (
            Status::Warning,
            "Connect a camera to be seen; calls still work, the other side sees your name instead.".to_owned(),
        ),
        Error::NotFound(_) => (Status::Failed, format!("Connect a {device} (or a headset), then retest.")),
        Error::NotAuthorized(_) => {
            (Status::Failed, format!("Allow Duet to use the {device} in the system's privacy settings, then retest."))
        }
        Error::Occupied(_) => (
            Status::Failed,
            format!("Close the other application using the {device} (a meeting app, a browser tab), then retest."),
        ),
        Error::NoSuchDevice { .. } => (Status::Failed, format!("Choose one of the {device}s this report lists.")),
        _ => (Status::Failed, format!("Unplug the {device} and plug it in again, or choose another one, then retest.")),
    };
    let code = error.device_code().or(match device {
        Device::Camera => Some(-1301),
        Device::Microphone => Some(-1302),
        Device::Speaker => None,
    });
    Check { name, status, summary: error.to_string(), advice: Some(advice), code, details: Map::new() }
}

fn check_camera(choice: &CameraChoice) -> Check {
    let test = match CameraTest::start(choice, VideoFormat::HD, |_| {}) {
        Ok(test) => test,
        Err(e) => return device_failure(CheckName::Camera, &e),
    };
    std::thread::sleep(CAMERA_WATCH);
    camera_outcome(&test, None)
}

/// A camera that delivered pictures, with the tester's answer to "can you see
/// yourself clearly?" (`None`: nobody was asked).
pub fn camera_outcome(test: &CameraTest, seen_clearly: Option<bool>) -> Check {
    if let Some(why) = test.failure() {
        return device_failure(CheckName::Camera, &Error::CameraStart(why));
    }
    let (format, fps, frames) = (test.format(), test.measured_fps(), test.frames());
    if frames == 0 {
        let mut failed = device_failure(
            CheckName::Camera,
            &Error::CameraStart(format!("{} opened but sent no picture", test.name())),
        );
        failed.details.insert("frames".into(), json!(0));
        return failed;
    }
    let summary = format!("{} sends {}x{} at {:.0} fps", test.name(), format.width, format.height, fps);
    let mut outcome = answered(
        CheckName::Camera,
        summary,
        seen_clearly,
        "the tester could not see themselves clearly",
        "Clean the lens, light your face from the front, or choose another camera, then retest.",
    );
    outcome.details = details(json!({
        "camera": test.name(), "width": format.width, "height": format.height,
        "fps": format.fps, "measured_fps": (fps * 10.0).round() / 10.0, "frames": frames,
    }));
    outcome
}

/// OK, unless the person said no: then failed, with what they said and what to do.
fn answered(name: CheckName, summary: String, answer: Option<bool>, said_no: &str, advice: &str) -> Check {
    match answer {
        Some(false) => check(name, Status::Failed, format!("{summary}, but {said_no}"), Some(advice)),
        Some(true) => check(name, Status::Ok, format!("{summary}; confirmed by the tester"), None),
        None => check(name, Status::Ok, summary, None),
    }
}

fn check_microphone(device: Option<&str>) -> Check {
    let (events, levels) = mpsc::channel();
    let test = match MicTest::start(device, Duration::from_millis(100), move |e| {
        let _ = events.send(e);
    }) {
        Ok(test) => test,
        Err(e) => return device_failure(CheckName::Microphone, &e),
    };
    std::thread::sleep(MIC_WATCH);
    let name = test.device().name.clone();
    drop(test);
    let (mut reports, mut loudest) = (0, 0u8);
    for event in levels.try_iter() {
        match event {
            MicEvent::Level(level) => {
                reports += 1;
                loudest = loudest.max(level);
            }
            MicEvent::Error { message, .. } => {
                return device_failure(CheckName::Microphone, &Error::MicrophoneStart(message));
            }
        }
    }
    microphone_outcome(&name, reports, loudest, None)
}

/// A microphone that was listened to: how many level reports came and the
/// loudest, with the tester's answer to "did your voice come through?"
/// (`None`: nobody was asked).
pub fn microphone_outcome(name: &str, reports: u32, loudest: u8, heard_back: Option<bool>) -> Check {
    if reports == 0 {
        return device_failure(
            CheckName::Microphone,
            &Error::MicrophoneStart(format!("{name} opened but delivered no sound")),
        );
    }
    let mut outcome = answered(
        CheckName::Microphone,
        format!("{name} delivers sound (loudest {loudest}/100)"),
        heard_back,
        "the tester's voice did not come through",
        "Check that the microphone is not muted on the headset or the computer, speak closer to it, or choose another one, then retest.",
    );
    outcome.details = details(json!({ "microphone": name, "loudest_level": loudest }));
    outcome
}

fn check_speaker(device: Option<&str>) -> Check {
    let sound = test_sound();
    let length = Duration::from_secs_f64(sound.len() as f64 / 48_000.0);
    let (events, heard) = mpsc::channel();
    let test = match SpeakerTest::start(device, sound, Duration::from_millis(100), move |e| {
        let _ = events.send(e);
    }) {
        Ok(test) => test,
        Err(e) => return device_failure(CheckName::Speaker, &e),
    };
    let name = test.device().name.clone();
    let mut loudest = 0u8;
    let deadline = std::time::Instant::now() + length + Duration::from_secs(4);
    loop {
        let wait = deadline.saturating_duration_since(std::time::Instant::now());
        match heard.recv_timeout(wait) {
            Ok(SpeakerEvent::Level(level)) => loudest = loudest.max(level),
            Ok(SpeakerEvent::Finished) => break,
            Ok(SpeakerEvent::Error { message }) => {
                return device_failure(CheckName::Speaker, &Error::SpeakerStart(message));
            }
            Err(_) => {
                let stalled = format!("{name} did not finish playing the test sound");
                return device_failure(CheckName::Speaker, &Error::SpeakerStart(stalled));
            }
        }
    }
    speaker_outcome(&name, loudest, None)
}

/// A speaker that played the test sound to the end, with the tester's answer
/// to "can you hear it?" (`None`: nobody was asked).
pub fn speaker_outcome(name: &str, loudest: u8, heard: Option<bool>) -> Check {
    let summary = format!("{name} played the test sound to the end (loudest {loudest}/100)");
    let mut outcome = match heard {
        None => check(CheckName::Speaker, Status::Ok, format!("{summary}; whether it was heard needs a person"), None),
        _ => answered(
            CheckName::Speaker,
            summary,
            heard,
            "the tester heard nothing",
            "Turn the volume up, check that the system's output is not muted and goes to this speaker or headset, or choose another speaker, then retest.",
        ),
    };
    outcome.details = details(json!({ "speaker": name, "loudest_level": loudest }));
    outcome
}

/// The speed test's outcome as a check.
pub fn network_check(result: &crate::SpeedTestResult) -> Check {
    if !result.success {
        return check(
            CheckName::Network,
            Status::Failed,
            result.err_msg.clone(),
            Some(
                "Check that this computer is online and the server address is right; ask your admin whether the server's UDP port is open.",
            ),
        );
    }
    let summary = format!(
        "quality {} ({}): RTT {} ms, loss up {:.1}% down {:.1}%",
        result.quality,
        quality::describe(result.quality),
        result.rtt,
        result.up_lost_rate * 100.0,
        result.down_lost_rate * 100.0
    );
    // The default video call takes about 900 kbps each way.
    let narrow =
        [result.available_up_bandwidth, result.available_down_bandwidth].iter().any(|&b| (0..600).contains(&b));
    let (status, advice) = if result.quality >= 4 {
        (
            Status::Warning,
            Some(
                "The network is too poor for video: move closer to the Wi-Fi router or use a cable; audio-only calls need far less.",
            ),
        )
    } else if narrow {
        (Status::Warning, Some("The connection is narrow: video will be blurry; audio-only calls work well."))
    } else {
        (Status::Ok, None)
    };
    let mut done = check(CheckName::Network, status, summary, advice);
    done.details = details(json!({ "ip": result.ip }));
    done
}

fn details(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tester_who_hears_nothing_fails_the_speaker_with_advice() {
        let heard = speaker_outcome("USB Headset", 62, Some(true));
        assert_eq!(heard.status, Status::Ok);
        assert!(heard.summary.contains("confirmed by the tester"), "{}", heard.summary);
        let silent = speaker_outcome("USB Headset", 62, Some(false));
        assert_eq!(silent.status, Status::Failed);
        assert!(silent.summary.ends_with("but the tester heard nothing"), "{}", silent.summary);
        assert!(silent.advice.as_deref().is_some_and(|a| a.contains("volume")), "{:?}", silent.advice);
        assert_eq!(silent.details["loudest_level"], 62);
    }

    #[test]
    fn a_microphone_that_never_reported_a_level_is_broken_with_the_seed_code() {
        let mute = microphone_outcome("Built-in Microphone", 0, 0, Some(true));
        assert_eq!((mute.status, mute.code), (Status::Failed, Some(-1302)));
        assert!(mute.summary.contains("delivered no sound"), "{}", mute.summary);
        let fine = microphone_outcome("Built-in Microphone", 10, 40, None);
        assert_eq!(fine.status, Status::Ok);
    }
}
