//! The "Check devices" page (seed 004's device and network tests): camera,
//! microphone, speaker and network checked one after another with a person
//! watching and listening, then a saved report. The checks themselves are
//! `duet-devices`'; this holds the running ones, reports their levels to the UI
//! as events, and keeps each step's outcome for the report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use duet_call::Feed;
use duet_devices::doctor::{self, camera_outcome, device_failure, microphone_outcome, not_checked, speaker_outcome};
use duet_devices::{
    CameraChoice, CameraTest, Check, CheckName, MicEvent, MicTest, Report, SpeakerEvent, SpeakerTest, SpeedTestResult,
    Status,
};
use duet_media::{DeviceList, DeviceWatcher, Error as DeviceError, VideoFormat};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;

use crate::error::{AppError, AppResult, ErrorCode, capitalized, sentence};
use crate::video::VideoServer;

/// How often meters move (the seed's default interval).
const LEVEL_INTERVAL: Duration = duet_devices::DEFAULT_MIC_INTERVAL;
/// The microphone recording played back to the tester.
pub const RECORDING: Duration = Duration::from_secs(3);
/// How often the device lists are read for plugged and unplugged devices.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// A step of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CheckStep {
    Camera,
    Microphone,
    Speaker,
    Network,
}

impl From<CheckStep> for CheckName {
    fn from(step: CheckStep) -> CheckName {
        match step {
            CheckStep::Camera => CheckName::Camera,
            CheckStep::Microphone => CheckName::Microphone,
            CheckStep::Speaker => CheckName::Speaker,
            CheckStep::Network => CheckName::Network,
        }
    }
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    /// Works, but calls will suffer (no camera, a narrow network).
    Warning,
    /// Broken until fixed.
    Failed,
    /// Not checked.
    Skipped,
}

impl From<Status> for CheckStatus {
    fn from(status: Status) -> CheckStatus {
        match status {
            Status::Ok => CheckStatus::Ok,
            Status::Warning => CheckStatus::Warning,
            Status::Failed => CheckStatus::Failed,
            Status::Skipped => CheckStatus::Skipped,
        }
    }
}

/// A step's outcome, as the page and the report show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct CheckOutcome {
    pub step: CheckStep,
    pub status: CheckStatus,
    /// What was found, in a sentence.
    pub summary: String,
    /// What to do about it, when something is wrong.
    pub advice: Option<String>,
    /// The seed's device error code (-1301 camera, -1302 microphone, …), when there is one.
    pub code: Option<i32>,
}

impl From<&Check> for CheckOutcome {
    fn from(check: &Check) -> CheckOutcome {
        let step = match check.name {
            CheckName::Camera => CheckStep::Camera,
            CheckName::Microphone => CheckStep::Microphone,
            CheckName::Speaker => CheckStep::Speaker,
            CheckName::Network => CheckStep::Network,
        };
        CheckOutcome {
            step,
            status: check.status.into(),
            summary: capitalized(&check.summary),
            advice: check.advice.clone(),
            code: check.code,
        }
    }
}

/// What the camera agreed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct CameraStarted {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub fps: f32,
}

/// The speed test's figures (seed 004's TRTCSpeedTestResult).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct NetworkFigures {
    /// The speed-test server's address.
    pub server: String,
    /// Seed 004's scale: 0 unknown, 1 excellent … 5 very bad, 6 down.
    pub quality: u8,
    /// Shares of packets lost each way, 0–1.
    pub up_loss: f64,
    pub down_loss: f64,
    pub rtt_ms: u32,
    pub jitter_ms: u32,
    /// Available bandwidth each way, kbps; -1 when not tested.
    pub up_kbps: i32,
    pub down_kbps: i32,
}

impl From<&SpeedTestResult> for NetworkFigures {
    fn from(r: &SpeedTestResult) -> NetworkFigures {
        let kbps = |k: i64| i32::try_from(k).unwrap_or(i32::MAX);
        NetworkFigures {
            server: r.ip.clone(),
            quality: r.quality,
            up_loss: r.up_lost_rate,
            down_loss: r.down_lost_rate,
            rtt_ms: r.rtt,
            jitter_ms: r.jitter,
            up_kbps: kbps(r.available_up_bandwidth),
            down_kbps: kbps(r.available_down_bandwidth),
        }
    }
}

/// The network step's outcome and, when the test ran, its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct NetworkOutcome {
    pub outcome: CheckOutcome,
    pub figures: Option<NetworkFigures>,
}

/// The saved report: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct SavedReport {
    /// The page for people (HTML) and the file for machines (JSON).
    pub html_path: String,
    pub json_path: String,
    /// Whether any check failed.
    pub broken: bool,
    pub outcomes: Vec<CheckOutcome>,
    /// The report as text, to show or copy.
    pub text: String,
}

/// The devices changed while the page is open (plugged in, unplugged).
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct CheckDevicesChanged {
    pub devices: Devices,
}

/// The microphone's level, 0–100, every 300 ms.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct MicLevel {
    pub level: u8,
}

/// The sound playing on the speaker (the test sound or the recording): its
/// level, 0–100, and whether it has finished.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct SpeakerLevel {
    pub level: u8,
    pub finished: bool,
}

/// A running check's device failed (unplugged, taken by another application).
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct CheckFailed {
    pub outcome: CheckOutcome,
}

/// Where the network test is: `connecting`, `echo`, `upload` or `download`, with its percent.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct SpeedTestProgressed {
    pub phase: String,
    pub percent: u8,
}

/// The loudest level heard and how many level reports came.
#[derive(Default)]
struct Tally {
    reports: AtomicU32,
    loudest: AtomicU8,
    finished: AtomicBool,
}

impl Tally {
    fn heard(&self, level: u8) {
        self.reports.fetch_add(1, Ordering::Relaxed);
        self.loudest.fetch_max(level, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Running {
    watcher: Option<DeviceWatcher>,
    camera: Option<CameraTest>,
    microphone: Option<(Arc<MicTest>, Arc<Tally>)>,
    speaker: Option<(SpeakerTest, Arc<Tally>)>,
    /// Each step's outcome so far, the latest per step.
    outcomes: Vec<Check>,
    network: Option<SpeedTestResult>,
}

impl Running {
    fn record(&mut self, check: Check) -> CheckOutcome {
        let outcome = CheckOutcome::from(&check);
        self.outcomes.retain(|c| c.name != check.name);
        self.outcomes.push(check);
        outcome
    }

    fn outcome(&self, name: CheckName) -> Option<&Check> {
        self.outcomes.iter().find(|c| c.name == name)
    }
}

/// Failures of running devices, reported from their threads.
type Failures = Arc<Mutex<Vec<Check>>>;

/// The page's running checks.
pub struct Checks {
    running: Mutex<Running>,
    failures: Failures,
    video: Arc<VideoServer>,
    /// Where reports are saved.
    reports_dir: PathBuf,
    /// Whether calls (and so this page) use the synthetic pattern instead of a camera.
    synthetic: bool,
}

impl Checks {
    pub fn new(video: Arc<VideoServer>, reports_dir: PathBuf, synthetic: bool) -> Checks {
        Checks { running: Mutex::default(), failures: Failures::default(), video, reports_dir, synthetic }
    }

    fn running(&self) -> MutexGuard<'_, Running> {
        lock(&self.running)
    }

    /// Keeps a device that started as its step's running check (an earlier
    /// device's failure at this step no longer counts); one that failed to start
    /// is the step's outcome.
    fn keep<T, U>(
        &self,
        name: CheckName,
        started: Result<T, DeviceError>,
        put: impl FnOnce(&mut Running, T) -> U,
    ) -> AppResult<U> {
        let test = started.map_err(|error| self.failed(name, &error))?;
        let mut running = self.running();
        running.outcomes.retain(|c| c.name != name);
        lock(&self.failures).retain(|c| c.name != name);
        Ok(put(&mut running, test))
    }

    /// Starts over: forgets earlier outcomes and watches the device lists.
    pub fn start<R: Runtime>(&self, app: &AppHandle<R>) -> Devices {
        self.stop();
        let app = app.clone();
        let watcher = DeviceWatcher::start(WATCH_INTERVAL, move |list| {
            let _ = CheckDevicesChanged { devices: list.into() }.emit(&app);
        });
        self.running().watcher = Some(watcher);
        (&DeviceList::now()).into()
    }

    /// Closes every device the page opened (the page was left).
    pub fn stop(&self) {
        let old = std::mem::take(&mut *self.running());
        drop(old);
        lock(&self.failures).clear();
        self.video.clear();
    }

    /// Shows `camera` (by name; `None`: the first one) on the page's preview.
    /// A camera that cannot start is the step's outcome, and the error says what to do.
    pub fn start_camera(&self, camera: Option<String>, format: VideoFormat) -> AppResult<CameraStarted> {
        self.running().camera = None;
        self.video.clear();
        let choice = if self.synthetic { CameraChoice::Synthetic } else { CameraChoice::Device(camera) };
        let video = self.video.clone();
        let started = CameraTest::start(&choice, format, move |frame| video.show(Feed::Local, frame));
        self.keep(CheckName::Camera, started, |running, test| {
            let (name, agreed) = (test.name().to_owned(), test.format());
            running.camera = Some(test);
            CameraStarted { name, width: agreed.width, height: agreed.height, fps: agreed.fps }
        })
    }

    /// Listens to `microphone` (by id; `None`: the default one), sending its
    /// level as `MicLevel`: the level after `voice`'s processing, as calls send it.
    pub fn start_microphone<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        microphone: Option<&str>,
        voice: duet_call::VoiceSettings,
    ) -> AppResult<String> {
        self.running().microphone = None;
        let tally = Arc::new(Tally::default());
        let (heard, app, failures) = (tally.clone(), app.clone(), self.failures.clone());
        let started = MicTest::start(microphone, LEVEL_INTERVAL, move |event| match event {
            MicEvent::Level(level) => {
                heard.heard(level);
                let _ = MicLevel { level }.emit(&app);
            }
            MicEvent::Error { message, .. } => failed_while_running(
                &app,
                &failures,
                device_failure(CheckName::Microphone, &DeviceError::MicrophoneStart(message)),
            ),
        });
        self.keep(CheckName::Microphone, started, |running, test| {
            test.process_with(Some(voice));
            let name = test.device().name.clone();
            running.microphone = Some((Arc::new(test), tally));
            name
        })
    }

    /// Records [`RECORDING`] from the microphone being checked (blocks until done).
    pub fn record(&self) -> AppResult<Vec<f32>> {
        let microphone = self.running().microphone.as_ref().map(|(test, _)| test.clone());
        let microphone = microphone
            .ok_or_else(|| AppError::new(ErrorCode::BadInput, "Start the microphone check before recording."))?;
        let samples = microphone.record(RECORDING).map_err(|e| self.failed(CheckName::Microphone, &e))?;
        Ok(samples.iter().map(|&s| f32::from(s) / f32::from(i16::MAX)).collect())
    }

    /// Plays `sound` (48 kHz mono) on `speaker` (by id; `None`: the default one),
    /// sending its level as `SpeakerLevel`.
    pub fn play<R: Runtime>(&self, app: &AppHandle<R>, speaker: Option<&str>, sound: Vec<f32>) -> AppResult<String> {
        self.running().speaker = None;
        let tally = Arc::new(Tally::default());
        let (heard, app, failures) = (tally.clone(), app.clone(), self.failures.clone());
        let started = SpeakerTest::start(speaker, sound, Duration::from_millis(100), move |event| match event {
            SpeakerEvent::Level(level) => {
                heard.heard(level);
                let _ = SpeakerLevel { level, finished: false }.emit(&app);
            }
            SpeakerEvent::Finished => {
                heard.finished.store(true, Ordering::Relaxed);
                let _ = SpeakerLevel { level: 0, finished: true }.emit(&app);
            }
            SpeakerEvent::Error { message } => failed_while_running(
                &app,
                &failures,
                device_failure(CheckName::Speaker, &DeviceError::SpeakerStart(message)),
            ),
        });
        self.keep(CheckName::Speaker, started, |running, test| {
            let name = test.device().name.clone();
            running.speaker = Some((test, tally));
            name
        })
    }

    /// Ends `step` with the tester's answer and keeps its outcome for the
    /// report. `None` (skipped) counts as not checked, unless the device failed.
    pub fn finish(&self, step: CheckStep, answer: Option<bool>) -> CheckOutcome {
        let mut running = self.running();
        let name = CheckName::from(step);
        // A device that stopped during the check counts first.
        let failed = lock(&self.failures).iter().rev().find(|c| c.name == name).cloned();
        // The step's device stops here (it drops at the end of its arm); an answer judges it.
        let answered = match step {
            CheckStep::Camera => running.camera.take().and_then(|test| answer.map(|_| camera_outcome(&test, answer))),
            CheckStep::Microphone => running.microphone.take().and_then(|(test, tally)| {
                let (reports, loudest) = (tally.reports.load(Ordering::Relaxed), tally.loudest.load(Ordering::Relaxed));
                answer.map(|_| microphone_outcome(&test.device().name, reports, loudest, answer))
            }),
            CheckStep::Speaker => running.speaker.take().and_then(|(test, tally)| {
                let name = test.device().name.clone();
                answer.map(|heard| {
                    if heard || tally.finished.load(Ordering::Relaxed) {
                        speaker_outcome(&name, tally.loudest.load(Ordering::Relaxed), answer)
                    } else {
                        let stopped = format!("{name} did not finish playing the test sound");
                        device_failure(CheckName::Speaker, &DeviceError::SpeakerStart(stopped))
                    }
                })
            }),
            CheckStep::Network => None,
        };
        if step == CheckStep::Camera {
            self.video.clear();
        }
        // Then the answer; otherwise a device that failed to start, a network test that ran, or nothing.
        let check = failed.or(answered).or_else(|| running.outcome(name).cloned()).unwrap_or_else(|| not_checked(name));
        running.record(check)
    }

    /// Keeps the network test's result as the network step's outcome.
    pub fn network_tested(&self, result: SpeedTestResult) -> NetworkOutcome {
        let mut running = self.running();
        let outcome = running.record(doctor::network_check(&result));
        let figures = result.success.then(|| NetworkFigures::from(&result));
        running.network = Some(result);
        NetworkOutcome { outcome, figures }
    }

    /// Saves the report of every step so far (steps not reached count as not checked).
    pub fn save_report(&self) -> AppResult<SavedReport> {
        let devices = DeviceList::now();
        let mut report = Report::new(&devices);
        {
            let running = self.running();
            report.checks = [CheckName::Camera, CheckName::Microphone, CheckName::Speaker, CheckName::Network]
                .into_iter()
                .map(|name| running.outcome(name).cloned().unwrap_or_else(|| not_checked(name)))
                .collect();
            report.network = running.network.clone();
        }
        let (json, html) = report.save(&self.reports_dir).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("The report could not be saved in {}: {e}.", self.reports_dir.display()),
            )
        })?;
        Ok(SavedReport {
            html_path: html.display().to_string(),
            json_path: json.display().to_string(),
            broken: report.broken(),
            outcomes: report.checks.iter().map(CheckOutcome::from).collect(),
            text: report.to_text(),
        })
    }

    /// Keeps a device's failure as its step's outcome; the error says what happened and what to do.
    fn failed(&self, name: CheckName, error: &DeviceError) -> AppError {
        let check = device_failure(name, error);
        let message = match &check.advice {
            Some(advice) => format!("{} {advice}", sentence(&check.summary)),
            None => sentence(&check.summary),
        };
        self.running().record(check);
        AppError::new(ErrorCode::Device, message)
    }
}

/// Tells the page a running device failed, and keeps the failure for the step's outcome.
fn failed_while_running<R: Runtime>(app: &AppHandle<R>, failures: &Failures, failure: Check) {
    let _ = CheckFailed { outcome: (&failure).into() }.emit(app);
    lock(failures).push(failure);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cameras, microphones and speakers on this computer.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct Devices {
    pub cameras: Vec<String>,
    pub microphones: Vec<String>,
    pub speakers: Vec<String>,
}

impl From<&DeviceList> for Devices {
    fn from(list: &DeviceList) -> Devices {
        Devices {
            cameras: list.cameras.iter().map(|c| c.name.clone()).collect(),
            microphones: list.microphones.iter().map(|d| d.id.clone()).collect(),
            speakers: list.speakers.iter().map(|d| d.id.clone()).collect(),
        }
    }
}
