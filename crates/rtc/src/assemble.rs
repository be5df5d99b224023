//! RTP packets of the remote video back into whole H.264 access units.

use bytes::Bytes;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;

/// Collects one access unit at a time: packets with the same RTP timestamp, in
/// sequence, up to the marker bit. A missing packet throws the unit away and
/// says so, so the caller can ask for a keyframe.
#[derive(Default)]
pub struct FrameAssembler {
    depacketizer: H264Packet,
    timestamp: Option<u32>,
    next_seq: Option<u16>,
    data: Vec<u8>,
    broken: bool,
}

/// What one packet completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled {
    Nothing,
    Frame {
        data: Vec<u8>,
        rtp_timestamp: u32,
    },
    /// Packets were lost: the current access unit is gone.
    Lost,
}

impl FrameAssembler {
    pub fn push(&mut self, seq: u16, timestamp: u32, marker: bool, payload: &Bytes) -> Assembled {
        let mut lost = false;
        if self.next_seq.is_some_and(|next| next != seq) {
            lost = true;
            self.broken = true;
        }
        self.next_seq = Some(seq.wrapping_add(1));
        if self.timestamp != Some(timestamp) {
            self.timestamp = Some(timestamp);
            self.data.clear();
            self.broken = lost;
        }
        if !self.broken {
            match self.depacketizer.depacketize(payload) {
                Ok(nals) => self.data.extend_from_slice(&nals),
                Err(_) => self.broken = true,
            }
        }
        if !marker {
            return if lost { Assembled::Lost } else { Assembled::Nothing };
        }
        self.timestamp = None;
        if self.broken || self.data.is_empty() {
            self.data.clear();
            return Assembled::Lost;
        }
        Assembled::Frame { data: std::mem::take(&mut self.data), rtp_timestamp: timestamp }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nal(kind: u8, body: &[u8]) -> Bytes {
        let mut v = vec![kind];
        v.extend_from_slice(body);
        Bytes::from(v)
    }

    #[test]
    fn single_nal_packets_make_a_frame_at_the_marker() {
        let mut a = FrameAssembler::default();
        assert_eq!(a.push(1, 90, false, &nal(0x67, &[1, 2])), Assembled::Nothing);
        let Assembled::Frame { data, rtp_timestamp } = a.push(2, 90, true, &nal(0x65, &[3, 4])) else { panic!() };
        assert_eq!(rtp_timestamp, 90);
        assert_eq!(data, [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x65, 3, 4]);
    }

    #[test]
    fn a_gap_loses_the_frame_and_the_next_one_comes_through() {
        let mut a = FrameAssembler::default();
        a.push(1, 90, false, &nal(0x65, &[1, 1]));
        assert_eq!(a.push(3, 90, true, &nal(0x65, &[2, 2])), Assembled::Lost);
        assert!(matches!(a.push(4, 180, true, &nal(0x41, &[3, 3])), Assembled::Frame { .. }));
    }
}
