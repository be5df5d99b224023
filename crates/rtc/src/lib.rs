//! Duet's WebRTC session on the `webrtc` crate (0.21, the async layer over the
//! sans-I/O `rtc` crate): an H.264 video track each way, offer/answer and
//! trickle ICE handed to the caller to carry over `room.signal`, DTLS-SRTP, NACK
//! and RTCP reports from the default interceptors, and PLI towards the sender.
//!
//! The session moves encoded frames; capture, encoding and decoding stay in
//! `duet-media`.

mod assemble;
mod error;
mod session;

pub use error::{Error, Result};
pub use session::{IceCandidate, RtcEvent, RtcSession, SessionDescription, VideoFrameIn};
