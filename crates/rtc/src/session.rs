//! One peer connection of a call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::interceptor::Registry;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_H264;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceCandidateInit,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
    register_default_interceptors,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::assemble::{Assembled, FrameAssembler};
use crate::{Error, Result};

pub type SessionDescription = RTCSessionDescription;
pub type IceCandidate = RTCIceCandidateInit;

/// The H.264 profile every Duet build sends: constrained baseline, level 3.1
/// (what OpenH264 produces), packetization mode 1.
const H264_FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// A remote video access unit, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrameIn {
    /// Annex B NAL units, ready for the decoder.
    pub data: Vec<u8>,
    pub rtp_timestamp: u32,
}

#[derive(Debug)]
pub enum RtcEvent {
    /// A local candidate to send to the peer (trickle ICE).
    Candidate(IceCandidate),
    State(RTCPeerConnectionState),
    Video(VideoFrameIn),
    /// Remote video packets were lost; a keyframe was requested (PLI).
    VideoLost,
}

pub struct RtcSession {
    pc: Box<dyn PeerConnection>,
    video: Arc<TrackLocalStaticSample>,
    video_ssrc: u32,
    video_sender: Arc<dyn RtpSender>,
    events: mpsc::UnboundedReceiver<RtcEvent>,
}

impl RtcSession {
    /// A session bound to `udp_addrs` (e.g. `["127.0.0.1:0"]`; a wildcard bind
    /// leaves out loopback).
    pub async fn new(udp_addrs: Vec<String>) -> Result<Self> {
        let mut media = MediaEngine::default();
        media.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        // mDNS would hide host candidates behind .local names and bind port 5353.
        let settings =
            SettingEngineBuilder::new().with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled).build();
        let (tx, events) = mpsc::unbounded_channel();
        let runtime = webrtc::runtime::default_runtime().expect("the tokio runtime is compiled in");
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler { tx }))
            .with_runtime(runtime)
            .with_udp_addrs(udp_addrs)
            .build()
            .await?;

        let video_ssrc = rand_ssrc();
        let track = MediaStreamTrack::new(
            "duet".to_owned(),
            "video".to_owned(),
            "camera".to_owned(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(video_ssrc), ..Default::default() },
                codec: RTCRtpCodec {
                    mime_type: MIME_TYPE_H264.to_owned(),
                    clock_rate: 90_000,
                    channels: 0,
                    sdp_fmtp_line: H264_FMTP.to_owned(),
                    rtcp_feedback: vec![],
                },
                ..Default::default()
            }],
        );
        let video = Arc::new(TrackLocalStaticSample::new(Instant::now(), track)?);
        let video_sender = pc.add_track(Arc::clone(&video) as Arc<dyn TrackLocal>).await?;
        Ok(Self { pc: Box::new(pc), video, video_ssrc, video_sender, events })
    }

    /// The caller's side: creates the offer and sets it locally.
    pub async fn create_offer(&self) -> Result<SessionDescription> {
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer.clone()).await?;
        Ok(offer)
    }

    /// The callee's side: takes the offer, returns the answer (set locally).
    pub async fn answer(&self, offer: SessionDescription) -> Result<SessionDescription> {
        self.pc.set_remote_description(offer).await?;
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer.clone()).await?;
        Ok(answer)
    }

    pub async fn accept_answer(&self, answer: SessionDescription) -> Result<()> {
        Ok(self.pc.set_remote_description(answer).await?)
    }

    pub async fn add_candidate(&self, candidate: IceCandidate) -> Result<()> {
        Ok(self.pc.add_ice_candidate(candidate).await?)
    }

    /// Sends one encoded access unit (Annex B) lasting `duration`.
    pub async fn send_video(&self, data: &[u8], duration: Duration) -> Result<()> {
        let params = self.video_sender.get_parameters().await?;
        let payload_type = params.rtp_parameters.codecs.first().ok_or(Error::NotNegotiated)?.payload_type;
        let sample = Sample { data: Bytes::copy_from_slice(data), duration, ..Sample::new(Instant::now()) };
        self.video.sample_writer(self.video_ssrc, payload_type).write_sample(&sample).await?;
        Ok(())
    }

    pub async fn next_event(&mut self) -> Option<RtcEvent> {
        self.events.recv().await
    }

    pub async fn close(&self) -> Result<()> {
        Ok(self.pc.close().await?)
    }
}

fn rand_ssrc() -> u32 {
    // Unique enough per session: SSRC collisions are resolved by the stack.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

struct Handler {
    tx: mpsc::UnboundedSender<RtcEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(candidate) = event.candidate.to_json() {
            let _ = self.tx.send(RtcEvent::Candidate(candidate));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(RtcEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if track.kind().await != RtpCodecKind::Video {
            return;
        }
        let media_ssrc = track.ssrcs().await.first().copied().unwrap_or_default();
        let tx = self.tx.clone();
        let received = Arc::new(Mutex::new(FrameAssembler::default()));
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
                let h = &packet.header;
                let assembled = received.lock().unwrap_or_else(|e| e.into_inner()).push(
                    h.sequence_number,
                    h.timestamp,
                    h.marker,
                    &packet.payload,
                );
                match assembled {
                    Assembled::Nothing => {}
                    Assembled::Frame { data, rtp_timestamp } => {
                        let _ = tx.send(RtcEvent::Video(VideoFrameIn { data, rtp_timestamp }));
                    }
                    Assembled::Lost => {
                        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc };
                        let _ = track.write_rtcp(vec![Box::new(pli)]).await;
                        let _ = tx.send(RtcEvent::VideoLost);
                    }
                }
            }
        });
    }
}
