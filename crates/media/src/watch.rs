//! Noticing devices come and go: the lists are read again every so often and
//! a change is handed on. Neither cpal nor nokhwa tells of a plug or unplug on
//! every system, so asking again is the portable way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::CameraInfo;
use crate::audio::{AudioDevice, input_devices, output_devices};

/// Every capture and playback device there is, at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceList {
    pub cameras: Vec<CameraInfo>,
    pub microphones: Vec<AudioDevice>,
    pub speakers: Vec<AudioDevice>,
}

impl DeviceList {
    /// The devices now. A kind that cannot be listed (no sound server, no
    /// camera support) counts as none of that kind.
    pub fn now() -> DeviceList {
        DeviceList::now_or(&DeviceList::default())
    }

    /// The devices now; a kind that cannot be listed this time keeps what `before` had.
    fn now_or(before: &DeviceList) -> DeviceList {
        DeviceList {
            cameras: crate::cameras().unwrap_or_else(|_| before.cameras.clone()),
            microphones: input_devices().unwrap_or_else(|_| before.microphones.clone()),
            speakers: output_devices().unwrap_or_else(|_| before.speakers.clone()),
        }
    }
}

/// Reads the device lists every `interval` on a thread of its own and calls
/// `on_change` with the new lists whenever they differ from the last ones and
/// read the same twice in a row: a sound server that turned a listing away once
/// (it was busy, or at its limit of clients) does not unplug the speaker in use
/// for a moment. Dropping it stops the thread.
pub struct DeviceWatcher {
    stop: Arc<AtomicBool>,
}

impl DeviceWatcher {
    pub fn start(interval: Duration, mut on_change: impl FnMut(&DeviceList) + Send + 'static) -> DeviceWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        // Read before returning, so a device plugged in right after start counts as a change.
        let mut known = DeviceList::now();
        std::thread::spawn(move || {
            let mut last = known.clone();
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                let current = DeviceList::now_or(&last);
                if current == last && current != known && !stopped.load(Ordering::Relaxed) {
                    on_change(&current);
                    known = current.clone();
                }
                last = current;
            }
        });
        DeviceWatcher { stop }
    }
}

impl Drop for DeviceWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
