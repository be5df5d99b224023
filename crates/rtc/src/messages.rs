//! In-call custom messages (seed 004's `sendCustomCmdMsg`), without I/O: the
//! wire form and the sender's limits.
//!
//! Wire form, one data-channel message each: byte 0 the command id, bytes 1–4
//! the sender's sequence number (big-endian), then the payload.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Largest payload of one message.
pub const MAX_PAYLOAD: usize = 1000;
/// Messages one sender may send per second, over both channels.
pub const MAX_MESSAGES_PER_SECOND: usize = 30;
/// Payload bytes one sender may send per second, over both channels.
pub const MAX_BYTES_PER_SECOND: usize = 8 * 1024;
/// Command ids the application may use; 11 and up are Duet's own.
pub const APP_COMMANDS: std::ops::RangeInclusive<u8> = 1..=10;
/// Duet's own command: the sender's network quality (one byte, 0–6).
pub const QUALITY_COMMAND: u8 = 11;
/// Duet's own command, on `duet.reliable`: an application message that came in
/// on that channel has arrived (payload: its sequence number, 4 bytes big-endian).
pub const RECEIVED_COMMAND: u8 = 12;

/// Which of the call's two data channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `duet.reliable`: ordered, retransmitted.
    Reliable,
    /// `duet.fast`: unordered, never retransmitted.
    Fast,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Reliable, Channel::Fast];

    pub fn label(self) -> &'static str {
        match self {
            Channel::Reliable => "duet.reliable",
            Channel::Fast => "duet.fast",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.label() == label)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMessage {
    pub cmd: u8,
    pub seq: u32,
    pub payload: Vec<u8>,
}

impl CustomMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.payload.len());
        out.push(self.cmd);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// `None` for anything that is not a message of this form.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 5 || bytes.len() > 5 + MAX_PAYLOAD {
            return None;
        }
        let seq = u32::from_be_bytes(bytes[1..5].try_into().ok()?);
        Some(Self { cmd: bytes[0], seq, payload: bytes[5..].to_vec() })
    }
}

/// Why a message was not sent. Nothing is sent when any limit is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    #[error("command id {0} is not available: applications use 1–10")]
    BadCommand(u8),
    #[error("message of {0} bytes is too large: at most {MAX_PAYLOAD} bytes")]
    TooLarge(usize),
    #[error("more than {MAX_MESSAGES_PER_SECOND} messages in one second")]
    TooManyMessages,
    #[error("more than {MAX_BYTES_PER_SECOND} bytes in one second")]
    TooManyBytes,
    #[error("the message channel is not open")]
    NotOpen,
}

impl MessageError {
    /// The protocol's error code (`too_large` / `rate_limited`).
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::BadCommand(_) => "bad_request",
            MessageError::TooLarge(_) => "too_large",
            MessageError::TooManyMessages | MessageError::TooManyBytes => "rate_limited",
            MessageError::NotOpen => "not_open",
        }
    }
}

/// The sender's limits over a sliding one-second window.
#[derive(Debug, Default)]
pub struct SendLimiter {
    sent: VecDeque<(Instant, usize)>,
}

impl SendLimiter {
    /// Checks an application message of `len` payload bytes sent at `now`;
    /// on success it counts against the limits.
    pub fn admit(&mut self, now: Instant, cmd: u8, len: usize) -> Result<(), MessageError> {
        if !APP_COMMANDS.contains(&cmd) {
            return Err(MessageError::BadCommand(cmd));
        }
        if len > MAX_PAYLOAD {
            return Err(MessageError::TooLarge(len));
        }
        while self.sent.front().is_some_and(|(at, _)| now.duration_since(*at) >= Duration::from_secs(1)) {
            self.sent.pop_front();
        }
        if self.sent.len() >= MAX_MESSAGES_PER_SECOND {
            return Err(MessageError::TooManyMessages);
        }
        if self.sent.iter().map(|(_, n)| n).sum::<usize>() + len > MAX_BYTES_PER_SECOND {
            return Err(MessageError::TooManyBytes);
        }
        self.sent.push_back((now, len));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let m = CustomMessage { cmd: 3, seq: 0x0102_0304, payload: b"hi".to_vec() };
        assert_eq!(m.encode(), [3, 1, 2, 3, 4, b'h', b'i']);
        assert_eq!(CustomMessage::decode(&m.encode()), Some(m));
        assert_eq!(CustomMessage::decode(&[1, 2]), None);
        assert_eq!(CustomMessage::decode(&vec![1; 5 + MAX_PAYLOAD + 1]), None);
    }

    #[test]
    fn command_ids_outside_one_to_ten_are_refused() {
        let mut limiter = SendLimiter::default();
        let now = Instant::now();
        assert_eq!(limiter.admit(now, 0, 1), Err(MessageError::BadCommand(0)));
        assert_eq!(limiter.admit(now, QUALITY_COMMAND, 1), Err(MessageError::BadCommand(11)));
        assert_eq!(limiter.admit(now, 10, 1), Ok(()));
    }

    #[test]
    fn payloads_over_1000_bytes_are_refused() {
        let mut limiter = SendLimiter::default();
        assert_eq!(limiter.admit(Instant::now(), 1, 1001), Err(MessageError::TooLarge(1001)));
        assert_eq!(limiter.admit(Instant::now(), 1, 1000), Ok(()));
    }

    #[test]
    fn the_thirty_first_message_in_a_second_is_refused_until_the_window_moves() {
        let mut limiter = SendLimiter::default();
        let start = Instant::now();
        for n in 0..30 {
            assert_eq!(limiter.admit(start + Duration::from_millis(n * 10), 1, 1), Ok(()), "message {n}");
        }
        assert_eq!(limiter.admit(start + Duration::from_millis(500), 1, 1), Err(MessageError::TooManyMessages));
        assert_eq!(limiter.admit(start + Duration::from_millis(1000), 1, 1), Ok(()));
    }

    #[test]
    fn more_than_8_kib_in_a_second_is_refused() {
        let mut limiter = SendLimiter::default();
        let start = Instant::now();
        for n in 0..8 {
            assert_eq!(limiter.admit(start, 1, 1000), Ok(()), "message {n}");
        }
        assert_eq!(limiter.admit(start, 1, 1000), Err(MessageError::TooManyBytes));
        assert_eq!(limiter.admit(start, 1, 192), Ok(()), "exactly 8192 bytes is allowed");
        assert_eq!(limiter.admit(start + Duration::from_secs(1), 1, 1000), Ok(()));
    }
}
