#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("WebRTC: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    #[error("the call's media connection is not negotiated yet")]
    NotNegotiated,
    #[error("this is an audio-only call")]
    AudioOnly,
    /// Relayed calls are asked for, and the server named no TURN relay.
    #[error(
        "calls are set to always go through a relay, but the server offers no TURN relay; \
         ask your admin for one, or turn \"Always relay calls\" off"
    )]
    NoRelay,
}

pub type Result<T> = std::result::Result<T, Error>;
