//! Keyframe requests (PLI, FIR) from the peer, up to the application.
//!
//! Inbound RTCP ends at the last interceptor unless one marks it for the
//! application. This one sits last in the chain, after NACK, reports and the
//! rest have read everything, and marks only keyframe requests: the encoder
//! is the one thing that can answer them. Attributes other interceptors
//! attached (the bitrate estimate) go on, on an empty RTCP carrier.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

/// Where it goes in the registry: after every default interceptor.
pub const SLOT: usize = 14_000;

#[derive(Default)]
pub struct KeyframeRequests {
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtcp(packets) = &mut msg.message.packet {
            packets.retain(|p| is_keyframe_request(p.as_ref()));
            if !packets.is_empty() {
                msg.message.add(Attribute::DeliverToApplication);
            } else if msg.message.attributes.is_empty() {
                // Everything else is the interceptors' business, and they have seen it.
                return Ok(());
            }
            // What is left is an empty carrier of what an interceptor says beyond
            // the chain (the congestion controller's new estimate): it goes on.
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
