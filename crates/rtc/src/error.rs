#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("WebRTC: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    #[error("the call's media connection is not negotiated yet")]
    NotNegotiated,
    #[error("this is an audio-only call")]
    AudioOnly,
}

pub type Result<T> = std::result::Result<T, Error>;
