/// What can go wrong in the media engine. Device errors carry the seed's codes
/// (TRTC: -1301 camera start failed, -1302 microphone start failed, -1314/-1317
/// not authorized, -1316/-1319 occupied) so the UI can show the right advice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the camera could not be started: {0}")]
    CameraStart(String),
    #[error("the microphone could not be started: {0}")]
    MicrophoneStart(String),
    #[error("Duet is not allowed to use the {0}; allow it in the system's privacy settings")]
    NotAuthorized(Device),
    #[error("the {0} is in use by another application; close it and try again")]
    Occupied(Device),
    #[error("no {0} was found")]
    NotFound(Device),
    #[error("there is no {device} called \"{name}\"; available: {}", list_or_none(.available))]
    NoSuchDevice { device: Device, name: String, available: Vec<String> },
    #[error("the speaker could not be started: {0}")]
    SpeakerStart(String),
    #[error("{0}")]
    InvalidSource(String),
    #[error("video frames must have an even width and height for H.264, got {width}x{height}")]
    OddFrameSize { width: u32, height: u32 },
    #[error("the H.264 codec failed: {0}")]
    H264(String),
    #[error("the Opus codec failed: {0}")]
    Opus(String),
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// A capture or playback device, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Camera,
    Microphone,
    Speaker,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Device::Camera => "camera",
            Device::Microphone => "microphone",
            Device::Speaker => "speaker",
        })
    }
}

impl Error {
    /// The seed's (TRTC's) error code for device errors, for the UI and the logs.
    pub fn device_code(&self) -> Option<i32> {
        Some(match self {
            Error::CameraStart(_) => -1301,
            Error::MicrophoneStart(_) => -1302,
            // No such device is a start failure in the seed's terms.
            Error::NoSuchDevice { device: Device::Camera, .. } | Error::NotFound(Device::Camera) => -1301,
            Error::NoSuchDevice { device: Device::Microphone, .. } | Error::NotFound(Device::Microphone) => -1302,
            Error::NotAuthorized(Device::Camera) => -1314,
            Error::NotAuthorized(Device::Microphone) => -1317,
            Error::Occupied(Device::Camera) => -1316,
            Error::Occupied(Device::Microphone) => -1319,
            _ => return None,
        })
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

pub type Result<T> = std::result::Result<T, Error>;
