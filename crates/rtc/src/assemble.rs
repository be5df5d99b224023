//! RTP packets of the remote video back into whole H.264 access units.
//!
//! Packets may arrive out of order, twice, or late (a NACK retransmission
//! comes a round trip after the loss). The assembler holds them by sequence
//! number and puts out frames in order. A frame with a hole waits up to
//! `max_wait` for the hole to be filled; then it is given up (`Lost`, so the
//! caller can ask for a keyframe) and assembly goes on from the next frame
//! that starts cleanly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;

/// How long a frame with a missing packet waits for a retransmission.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_millis(250);
/// Packets held at most; beyond that the oldest frame is given up at once.
const MAX_PACKETS: usize = 2_000;

struct Packet {
    timestamp: u32,
    marker: bool,
    payload: Bytes,
}

/// What the packets so far completed, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled {
    Frame {
        data: Vec<u8>,
        rtp_timestamp: u32,
        /// It waited for a lost packet (a retransmission filled the hole).
        repaired: bool,
    },
    /// A frame could not be completed: packets were lost for good.
    Lost,
}

pub struct FrameAssembler {
    depacketizer: H264Packet,
    packets: BTreeMap<u64, Packet>,
    /// First sequence number of the next frame to put out.
    next: Option<u64>,
    /// After a frame was given up: its timestamp, whose stragglers are dropped
    /// until a frame with another timestamp starts cleanly.
    resync: Option<u32>,
    sequence: duet_frame::sequence::SequenceUnwrapper,
    /// Since when the frame at `next` has waited for a missing packet.
    waiting_since: Option<Instant>,
    max_wait: Duration,
    /// The frame at `next` has a hole: a packet after the missing one came.
    holed: bool,
}

impl Default for FrameAssembler {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_WAIT)
    }
}

impl FrameAssembler {
    pub fn new(max_wait: Duration) -> Self {
        Self {
            depacketizer: H264Packet::default(),
            packets: BTreeMap::new(),
            next: None,
            resync: None,
            sequence: Default::default(),
            waiting_since: None,
            max_wait,
            holed: false,
        }
    }

    /// How long a frame with a hole waits from now on.
    pub fn set_max_wait(&mut self, max_wait: Duration) {
        self.max_wait = max_wait;
    }

    /// One RTP packet, received at `now`. Returns the frames (and losses) it completed.
    pub fn push(&mut self, seq: u16, timestamp: u32, marker: bool, payload: &Bytes, now: Instant) -> Vec<Assembled> {
        let seq = self.sequence.extend(seq);
        if self.next.is_some_and(|next| seq < next) || self.resync == Some(timestamp) {
            // A late copy of something already put out or given up.
            return Vec::new();
        }
        self.packets.entry(seq).or_insert(Packet { timestamp, marker, payload: payload.clone() });
        let mut out = Vec::new();
        self.drain(now, &mut out);
        out
    }

    fn drain(&mut self, now: Instant, out: &mut Vec<Assembled>) {
        loop {
            let Some(start) = self.frame_start() else { return };
            // Walk the frame: contiguous packets of one timestamp up to the marker.
            let timestamp = self.packets.get(&start).map(|p| p.timestamp);
            let mut seq = start;
            let end = loop {
                match (self.packets.get(&seq), timestamp) {
                    (Some(p), Some(ts)) if p.timestamp != ts => break Some(seq - 1),
                    (Some(p), _) if p.marker => break Some(seq),
                    (Some(_), _) => seq += 1,
                    (None, _) => break None,
                }
            };
            if let (Some(end), Some(timestamp)) = (end, timestamp) {
                self.waiting_since = None;
                let repaired = std::mem::take(&mut self.holed);
                out.push(self.take_frame(start, end, timestamp, repaired));
                self.next = Some(end + 1);
                continue;
            }
            // Packets come in order: one after the gap means the gap is a loss.
            self.holed |= self.packets.range(seq + 1..).next().is_some();
            let since = *self.waiting_since.get_or_insert(now);
            if now.duration_since(since) < self.max_wait && self.packets.len() < MAX_PACKETS {
                return;
            }
            // Give the frame up; what is left of it goes, and its late packets with it.
            // When its first packet is the one missing, the first that came tells its timestamp.
            let stuck = timestamp
                .or_else(|| self.packets.values().next().filter(|p| !begins_nal_unit(&p.payload)).map(|p| p.timestamp));
            self.waiting_since = None;
            self.holed = false;
            if let Some(stuck) = stuck {
                self.packets.retain(|_, p| p.timestamp != stuck);
            }
            self.next = None;
            self.resync = stuck;
            out.push(Assembled::Lost);
        }
    }

    /// Where the next frame starts, if that is known yet.
    fn frame_start(&mut self) -> Option<u64> {
        if let Some(next) = self.next {
            return (!self.packets.is_empty()).then_some(next);
        }
        // First packet ever, or after a loss: the first packet that begins a frame.
        let skip = self.resync;
        let start = self
            .packets
            .iter()
            .find(|(_, p)| Some(p.timestamp) != skip && begins_nal_unit(&p.payload))
            .map(|(&seq, _)| seq)?;
        self.packets = self.packets.split_off(&start);
        self.next = Some(start);
        Some(start)
    }

    fn take_frame(&mut self, start: u64, end: u64, rtp_timestamp: u32, repaired: bool) -> Assembled {
        let mut data = Vec::new();
        let mut broken = false;
        for seq in start..=end {
            let Some(packet) = self.packets.remove(&seq) else { continue };
            match self.depacketizer.depacketize(&packet.payload) {
                Ok(nals) => data.extend_from_slice(&nals),
                Err(_) => broken = true,
            }
        }
        if broken || data.is_empty() { Assembled::Lost } else { Assembled::Frame { data, rtp_timestamp, repaired } }
    }
}

/// Whether an RTP payload starts a NAL unit (anything but the middle or end
/// of a fragmented one).
fn begins_nal_unit(payload: &[u8]) -> bool {
    const FU_A: u8 = 28;
    match payload {
        [header, fu, ..] if header & 0x1f == FU_A => fu & 0x80 != 0,
        [_, ..] => true,
        [] => false,
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

    /// A FU-A fragment of an IDR slice: `start`/`end` bits, one body byte.
    fn fragment(start: bool, end: bool, body: u8) -> Bytes {
        let fu = (u8::from(start) << 7) | (u8::from(end) << 6) | 5;
        Bytes::from(vec![0x7c, fu, body])
    }

    fn frames(out: &[Assembled]) -> Vec<u32> {
        out.iter()
            .map(|a| match a {
                Assembled::Frame { rtp_timestamp, .. } => *rtp_timestamp,
                Assembled::Lost => 0,
            })
            .collect()
    }

    #[test]
    fn single_nal_packets_make_a_frame_at_the_marker() {
        let mut a = FrameAssembler::default();
        let now = Instant::now();
        assert!(a.push(1, 90, false, &nal(0x67, &[1, 2]), now).is_empty());
        let out = a.push(2, 90, true, &nal(0x65, &[3, 4]), now);
        let [Assembled::Frame { data, rtp_timestamp, repaired }] = &out[..] else { panic!("{out:?}") };
        assert_eq!(*rtp_timestamp, 90);
        assert!(!repaired, "a frame whose packets came in turn waited for nothing lost");
        assert_eq!(data, &[0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x65, 3, 4]);
    }

    #[test]
    fn reordered_and_retransmitted_packets_complete_frames_in_order() {
        let mut a = FrameAssembler::default();
        let t = Instant::now();
        assert!(a.push(10, 90, false, &fragment(true, false, 1), t).is_empty());
        // 11 is late; the next frame arrives meanwhile and waits behind.
        assert!(a.push(12, 90, true, &fragment(false, true, 3), t).is_empty());
        assert!(a.push(13, 180, true, &nal(0x41, &[4, 4]), t).is_empty());
        // The retransmission of 11 arrives 120 ms later: both frames come out, in order.
        let out = a.push(11, 90, false, &fragment(false, false, 2), t + Duration::from_millis(120));
        assert_eq!(frames(&out), [90, 180]);
        let repaired: Vec<bool> = out.iter().map(|f| matches!(f, Assembled::Frame { repaired: true, .. })).collect();
        assert_eq!(repaired, [true, false], "the first frame waited for a lost packet, the second only behind it");
        assert!(a.push(11, 90, false, &fragment(false, false, 2), t).is_empty(), "a duplicate is dropped");
    }

    #[test]
    fn a_hole_that_stays_loses_its_frame_and_the_next_clean_frame_comes_through() {
        let mut a = FrameAssembler::new(Duration::from_millis(200));
        let t = Instant::now();
        a.push(1, 90, false, &fragment(true, false, 1), t);
        // 2 and 3 are lost: the rest of frame 90 and the start of frame 180.
        assert!(a.push(4, 180, false, &fragment(false, false, 5), t).is_empty());
        assert!(a.push(5, 180, true, &fragment(false, true, 6), t).is_empty());
        assert!(a.push(6, 270, true, &nal(0x41, &[7, 7]), t + Duration::from_millis(100)).is_empty(), "still waiting");
        let out = a.push(7, 360, true, &nal(0x41, &[8, 8]), t + Duration::from_millis(250));
        // 90 is given up; 180 has no clean start, so it is skipped; 270 and 360 come out.
        assert_eq!(frames(&out), [0, 270, 360]);
        assert!(a.push(2, 90, false, &fragment(false, false, 2), t).is_empty(), "a late packet of a lost frame");
        let out = a.push(8, 450, true, &nal(0x41, &[9, 9]), t + Duration::from_millis(260));
        assert_eq!(frames(&out), [450]);
    }

    #[test]
    fn a_frame_whose_first_packet_is_lost_is_given_up_too() {
        let mut a = FrameAssembler::new(Duration::from_millis(200));
        let t = Instant::now();
        assert_eq!(frames(&a.push(1, 90, true, &nal(0x41, &[1, 1]), t)), [90]);
        // 2, the start of frame 180, is lost.
        assert!(a.push(3, 180, true, &fragment(false, true, 3), t).is_empty());
        let out = a.push(4, 270, true, &nal(0x41, &[4, 4]), t + Duration::from_millis(300));
        assert_eq!(frames(&out), [0, 270]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = FrameAssembler::default();
        let t = Instant::now();
        assert!(a.push(65_535, 90, false, &fragment(true, false, 1), t).is_empty());
        assert_eq!(frames(&a.push(0, 90, true, &fragment(false, true, 2), t)), [90]);
        assert_eq!(frames(&a.push(1, 180, true, &nal(0x41, &[3, 3]), t)), [180]);
    }
}
