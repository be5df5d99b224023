//! The receive side of call audio: packets arrive late, out of order or not
//! at all; playout takes one 20 ms frame at a time on its own clock.
//!
//! The buffer holds `target` frames before it starts to play. A missing
//! packet with later ones already here is lost: it is rebuilt from the next
//! packet's in-band FEC when that one is here, otherwise Opus conceals it.
//! With nothing later here it is only late: concealment fills the time and
//! the packet still plays when it comes. After a run of missing packets it
//! goes quiet and buffers again; when packets pile up beyond what jitter
//! explains (e.g. after a stall) the oldest are dropped so delay stays low.

use std::collections::BTreeMap;

use super::{FRAME, OpusDecoder};
use crate::Result;

/// Frames buffered before playout starts: 60 ms.
pub const DEFAULT_TARGET: usize = 3;
/// Concealed frames in a row before the buffer gives up and rebuffers (200 ms).
const MAX_CONCEALED: u32 = 10;
/// Buffered frames beyond the target that trigger a catch-up.
const MAX_EXCESS: usize = 10;

/// What happened to the audio so far, for stats.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub packets: u64,
    pub decoded: u64,
    /// Lost frames rebuilt from the next packet's FEC.
    pub recovered: u64,
    /// Frames made up by the decoder's loss concealment.
    pub concealed: u64,
    /// Packets that came after their playout time.
    pub late: u64,
    /// Packets dropped to bring the delay back down.
    pub dropped: u64,
    pub duplicates: u64,
}

pub struct JitterBuffer {
    decoder: OpusDecoder,
    target: usize,
    /// Packets by extended (wrap-free) sequence number.
    packets: BTreeMap<u64, Vec<u8>>,
    /// The extended sequence number the next playout takes; `None` while buffering.
    next: Option<u64>,
    sequence: duet_frame::sequence::SequenceUnwrapper,
    concealed_in_row: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(target: usize) -> Result<Self> {
        Ok(Self {
            decoder: OpusDecoder::new()?,
            target: target.max(1),
            packets: BTreeMap::new(),
            next: None,
            sequence: Default::default(),
            concealed_in_row: 0,
            stats: JitterStats::default(),
        })
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames waiting to be played.
    pub fn depth(&self) -> usize {
        self.packets.len()
    }

    /// A packet from the network (RTP sequence number and Opus payload).
    pub fn push(&mut self, sequence_number: u16, payload: Vec<u8>) {
        let seq = self.sequence.extend(sequence_number);
        self.stats.packets += 1;
        if self.next.is_some_and(|next| seq < next) {
            self.stats.late += 1;
            return;
        }
        if self.packets.insert(seq, payload).is_some() {
            self.stats.duplicates += 1;
        }
        while self.packets.len() > self.target + MAX_EXCESS {
            self.packets.pop_first();
            self.stats.dropped += 1;
            self.next = self.packets.keys().next().copied();
        }
    }

    /// The next 20 ms to play, or `None` while buffering (play silence).
    pub fn pop(&mut self) -> Option<[i16; FRAME]> {
        let next = match self.next {
            Some(next) => next,
            None if self.packets.len() >= self.target => *self.packets.keys().next()?,
            None => return None,
        };
        let frame = if let Some(packet) = self.packets.remove(&next) {
            self.concealed_in_row = 0;
            self.stats.decoded += 1;
            self.decoder.decode(&packet).ok()
        } else if self.packets.is_empty() {
            // Nothing newer has come either: the packet is late, not lost (the network or
            // this machine stalled). Fill the time without moving on, so it still plays
            // when it comes; after a long silence (mute, hold, an outage) buffer again.
            if self.concealed_in_row >= MAX_CONCEALED {
                self.next = None;
                return None;
            }
            self.concealed_in_row += 1;
            self.stats.concealed += 1;
            return Some(self.decoder.conceal().unwrap_or([0; FRAME]));
        } else if let Some(following) = self.packets.get(&(next + 1)) {
            self.stats.recovered += 1;
            self.decoder.recover(following).ok()
        } else {
            self.concealed_in_row += 1;
            self.stats.concealed += 1;
            self.decoder.conceal().ok()
        };
        self.next = Some(next + 1);
        Some(frame.unwrap_or([0; FRAME]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{OpusEncoder, ToneSource, tone_amplitude};

    fn packets(count: usize) -> Vec<Vec<u8>> {
        let mut tone = ToneSource::new(440.0, 0.5);
        let mut encoder = OpusEncoder::new(32_000).unwrap();
        (0..count).map(|_| encoder.encode(&tone.next_frame()).unwrap()).collect()
    }

    #[test]
    fn it_buffers_to_the_target_then_plays_in_order() {
        let packets = packets(10);
        let mut buffer = JitterBuffer::new(3).unwrap();
        buffer.push(100, packets[0].clone());
        buffer.push(102, packets[2].clone());
        assert!(buffer.pop().is_none(), "two frames are under the target");
        buffer.push(101, packets[1].clone());
        for _ in 0..3 {
            assert!(buffer.pop().is_some());
        }
        assert_eq!(buffer.stats().decoded, 3);
        assert_eq!(buffer.stats().concealed, 0);
    }

    #[test]
    fn a_lost_packet_is_rebuilt_from_fec_and_a_lost_run_is_concealed() {
        let packets = packets(12);
        let mut buffer = JitterBuffer::new(1).unwrap();
        let mut played = Vec::new();
        for (i, packet) in packets.iter().enumerate() {
            // 5 is lost with 6 already here: rebuilt from 6's FEC. 8 and 9 are lost
            // with 10 here: 8 is concealed, 9 rebuilt from 10.
            if [5, 8, 9].contains(&i) {
                continue;
            }
            buffer.push(i as u16, packet.clone());
            if i == 6 || i == 11 {
                continue;
            }
            played.extend(buffer.pop().unwrap());
        }
        while played.len() < 12 * FRAME {
            played.extend(buffer.pop().unwrap());
        }
        let stats = buffer.stats();
        assert_eq!((stats.decoded, stats.recovered, stats.concealed), (9, 2, 1), "{stats:?}");
        assert!(tone_amplitude(&played[4 * FRAME..], 440.0) > 0.25, "the tone goes on through the losses");
    }

    #[test]
    fn a_packet_that_is_only_late_still_plays_after_the_gap_is_filled() {
        let packets = packets(6);
        let mut buffer = JitterBuffer::new(1).unwrap();
        buffer.push(0, packets[0].clone());
        assert!(buffer.pop().is_some());
        // A stall: playout wants two frames before packet 1 arrives.
        assert!(buffer.pop().is_some());
        assert!(buffer.pop().is_some());
        buffer.push(1, packets[1].clone());
        buffer.push(2, packets[2].clone());
        assert!(buffer.pop().is_some());
        assert!(buffer.pop().is_some());
        let stats = buffer.stats();
        assert_eq!((stats.decoded, stats.concealed, stats.late), (3, 2, 0), "{stats:?}");
    }

    #[test]
    fn sequence_numbers_wrap_and_late_or_duplicate_packets_are_dropped() {
        let packets = packets(6);
        let mut buffer = JitterBuffer::new(2).unwrap();
        buffer.push(65_534, packets[0].clone());
        buffer.push(65_535, packets[1].clone());
        buffer.push(65_535, packets[1].clone());
        assert!(buffer.pop().is_some());
        assert!(buffer.pop().is_some());
        buffer.push(0, packets[2].clone());
        buffer.push(1, packets[3].clone());
        assert!(buffer.pop().is_some());
        buffer.push(0, packets[2].clone());
        assert_eq!(buffer.stats().late, 1);
        assert_eq!(buffer.stats().duplicates, 1);
        assert!(buffer.pop().is_some());
        assert_eq!(buffer.stats().decoded, 4);
    }

    #[test]
    fn a_pile_up_is_dropped_to_keep_delay_low_and_silence_rebuffers() {
        let packets = packets(40);
        let mut buffer = JitterBuffer::new(3).unwrap();
        for (i, packet) in packets.iter().enumerate().take(30) {
            buffer.push(i as u16, packet.clone());
        }
        assert_eq!(buffer.depth(), 3 + MAX_EXCESS);
        assert_eq!(buffer.stats().dropped, 30 - 13);
        while buffer.depth() > 0 {
            buffer.pop().unwrap();
        }
        for _ in 0..MAX_CONCEALED {
            assert!(buffer.pop().is_some(), "a short gap is concealed");
        }
        assert!(buffer.pop().is_none(), "a long gap goes quiet and buffers again");
        buffer.push(40, packets[30].clone());
        assert!(buffer.pop().is_none());
    }
}
