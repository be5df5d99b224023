//! Duet's WebRTC session on the `webrtc` crate (0.21, the async layer over the
//! sans-I/O `rtc` crate): an H.264 video track each way, offer/answer and
//! trickle ICE handed to the caller to carry over `room.signal`, DTLS-SRTP, NACK
//! and RTCP reports from the default interceptors, and PLI towards the sender.
//!
//! Also the call's two data channels (`duet.reliable`, `duet.fast`) with the
//! seed's custom-message limits ([`messages`]).
//!
//! The session moves encoded frames; capture, encoding and decoding stay in
//! `duet-media`.

mod assemble;
mod bwe;
mod error;
mod keyframe;
pub mod messages;
mod playout;
pub mod quality;
mod session;
pub mod verify;

pub use error::{Error, Result};
pub use messages::{Channel, CustomMessage, MessageError};
pub use quality::{Candidates, NetworkStats, Quality, Route};
pub use session::{AudioPacketIn, IceCandidate, RtcEvent, RtcSession, SessionConfig, SessionDescription, VideoFrameIn};
pub use verify::safety_code;
pub use webrtc::peer_connection::RTCPeerConnectionState as ConnectionState;
