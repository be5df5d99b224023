//! Checks a tester (or anyone) runs before a call, after seed 004's device and
//! network tests: problems found before the call are the ones that never spoil one.
//!
//! - [`CameraTest`]: live frames of the chosen camera (or the synthetic pattern),
//!   the negotiated size and rate, switching cameras.
//! - [`MicTest`]: the microphone's level every N ms (0–100), switching, a
//!   recording to play back.
//! - [`SpeakerTest`]: the bundled [`test_sound`] (or a recording) on the chosen
//!   output, with level events and a finished event.
//! - [`speed_test`]: loss each way, RTT and bandwidth each way against `duet-server`,
//!   with the seed's result fields and progress events.
//! - [`Report`]: system, devices, each check's outcome, saved as JSON and HTML;
//!   [`doctor`] fills one with every check that needs no person.
//!
//! Device lists and their changes come from [`duet_media::DeviceList`] and
//! [`duet_media::DeviceWatcher`].

mod camera;
pub mod doctor;
mod level;
mod mic;
pub mod report;
pub mod speaker;
pub mod speed;

pub use camera::{CameraChoice, CameraTest};
pub use level::level;
pub use mic::{DEFAULT_INTERVAL as DEFAULT_MIC_INTERVAL, MicEvent, MicTest};
pub use report::{Check, CheckName, Report, Status};
pub use speaker::{SpeakerEvent, SpeakerTest, test_sound};
pub use speed::{SpeedTestParams, SpeedTestProgress, SpeedTestResult, speed_test};
