//! One peer connection of a call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::interceptor::Registry;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::statistics::StatsSelector;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
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
use crate::messages::{Channel, CustomMessage, MessageError, QUALITY_COMMAND, SendLimiter};
use crate::quality::NetworkStats;
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
    /// One Opus packet of the peer's audio.
    Audio(AudioPacketIn),
    ChannelOpen(Channel),
    /// An application message (command ids 1–10) from the peer.
    Message {
        channel: Channel,
        message: CustomMessage,
    },
    /// The peer's own network quality (0–6), sent on Duet's reserved command.
    PeerQuality(u8),
}

/// One received Opus packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacketIn {
    pub data: Vec<u8>,
    pub sequence_number: u16,
    pub rtp_timestamp: u32,
}

/// What a session sends: audio always, video unless the call is audio-only.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Local UDP addresses (e.g. `127.0.0.1:0`; a wildcard bind leaves out loopback).
    pub udp_addrs: Vec<String>,
    pub video: bool,
}

/// An outgoing track and where it goes.
struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    /// The negotiated payload type, looked up once on the first send.
    payload_type: std::sync::OnceLock<u8>,
    sender: Arc<dyn RtpSender>,
}

impl Outgoing {
    async fn add(pc: &dyn PeerConnection, kind: RtpCodecKind, codec: RTCRtpCodec, label: &str) -> Result<Self> {
        let ssrc = rand_ssrc();
        let track = MediaStreamTrack::new(
            "duet".to_owned(),
            label.to_owned(),
            label.to_owned(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec,
                ..Default::default()
            }],
        );
        let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track)?);
        let sender = pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>).await?;
        Ok(Self { track, ssrc, payload_type: Default::default(), sender })
    }

    async fn send(&self, data: &[u8], duration: Duration) -> Result<()> {
        let payload_type = match self.payload_type.get() {
            Some(pt) => *pt,
            None => {
                let params = self.sender.get_parameters().await?;
                let pt = params.rtp_parameters.codecs.first().ok_or(Error::NotNegotiated)?.payload_type;
                *self.payload_type.get_or_init(|| pt)
            }
        };
        let sample = Sample { data: Bytes::copy_from_slice(data), duration, ..Sample::new(Instant::now()) };
        self.track.sample_writer(self.ssrc, payload_type).write_sample(&sample).await?;
        Ok(())
    }
}

type Channels = Arc<Mutex<HashMap<Channel, Arc<dyn DataChannel>>>>;

pub struct RtcSession {
    pc: Box<dyn PeerConnection>,
    want_video: bool,
    /// Added when the offer is made or, on the answering side, once the offer is
    /// applied: tracks added before that would not pair with the offer's m-lines.
    audio: Option<Outgoing>,
    video: Option<Outgoing>,
    channels: Channels,
    limiter: Mutex<SendLimiter>,
    next_seq: AtomicU32,
    tx: mpsc::UnboundedSender<RtcEvent>,
    events: mpsc::UnboundedReceiver<RtcEvent>,
    /// Totals at the previous stats sample: packets received and lost.
    previous: Mutex<(u64, i64)>,
}

impl RtcSession {
    pub async fn new(config: SessionConfig) -> Result<Self> {
        let mut media = MediaEngine::default();
        media.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        // mDNS would hide host candidates behind .local names and bind port 5353.
        let settings =
            SettingEngineBuilder::new().with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled).build();
        let (tx, events) = mpsc::unbounded_channel();
        let channels = Channels::default();
        let runtime = webrtc::runtime::default_runtime().expect("the tokio runtime is compiled in");
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler { tx: tx.clone(), channels: channels.clone() }))
            .with_runtime(runtime)
            .with_udp_addrs(config.udp_addrs)
            .build()
            .await?;

        Ok(Self {
            pc: Box::new(pc),
            want_video: config.video,
            audio: None,
            video: None,
            channels,
            limiter: Mutex::default(),
            next_seq: AtomicU32::new(0),
            tx,
            events,
            previous: Mutex::default(),
        })
    }

    /// The caller's side: creates the offer and sets it locally.
    async fn add_tracks(&mut self, video: bool) -> Result<()> {
        if self.audio.is_none() {
            let opus = RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            };
            self.audio = Some(Outgoing::add(&*self.pc, RtpCodecKind::Audio, opus, "microphone").await?);
        }
        if video && self.video.is_none() {
            let h264 = RTCRtpCodec {
                mime_type: MIME_TYPE_H264.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: H264_FMTP.to_owned(),
                rtcp_feedback: vec![],
            };
            self.video = Some(Outgoing::add(&*self.pc, RtpCodecKind::Video, h264, "camera").await?);
        }
        Ok(())
    }

    /// The offerer negotiates both data channels in-band.
    pub async fn create_offer(&mut self) -> Result<SessionDescription> {
        self.add_tracks(self.want_video).await?;
        if self.channels.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            for channel in Channel::ALL {
                let init = match channel {
                    Channel::Reliable => RTCDataChannelInit { ordered: true, ..Default::default() },
                    Channel::Fast => {
                        RTCDataChannelInit { ordered: false, max_retransmits: Some(0), ..Default::default() }
                    }
                };
                let dc = self.pc.create_data_channel(channel.label(), Some(init)).await?;
                watch_channel(channel, dc, &self.channels, &self.tx);
            }
        }
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer.clone()).await?;
        Ok(offer)
    }

    /// The callee's side: takes the offer, returns the answer (set locally).
    pub async fn answer(&mut self, offer: SessionDescription) -> Result<SessionDescription> {
        // Send video only when the offer has a video m-line (audio-only calls have none).
        let video = self.want_video && offer.sdp.contains("m=video");
        self.pc.set_remote_description(offer).await?;
        self.add_tracks(video).await?;
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
        match &self.video {
            Some(video) => video.send(data, duration).await,
            None if self.want_video && self.audio.is_none() => Err(Error::NotNegotiated),
            None => Err(Error::AudioOnly),
        }
    }

    /// Sends one Opus packet lasting `duration` (20 ms in Duet).
    pub async fn send_audio(&self, packet: &[u8], duration: Duration) -> Result<()> {
        self.audio.as_ref().ok_or(Error::NotNegotiated)?.send(packet, duration).await
    }

    /// Sends an application message (command ids 1–10, ≤ 1000 bytes, ≤ 30
    /// messages and ≤ 8 KiB per second). Over a limit nothing is sent.
    /// Returns the message's sequence number.
    pub async fn send_message(
        &self,
        channel: Channel,
        cmd: u8,
        payload: &[u8],
    ) -> std::result::Result<u32, MessageError> {
        let dc = self.channel(channel)?;
        self.limiter.lock().unwrap_or_else(|e| e.into_inner()).admit(Instant::now(), cmd, payload.len())?;
        self.send_on(&dc, cmd, payload).await
    }

    /// Tells the peer this side's network quality (0–6), on Duet's reserved
    /// command; not counted against the application's limits.
    pub async fn send_quality(&self, quality: u8) -> std::result::Result<u32, MessageError> {
        let dc = self.channel(Channel::Fast)?;
        self.send_on(&dc, QUALITY_COMMAND, &[quality]).await
    }

    fn channel(&self, channel: Channel) -> std::result::Result<Arc<dyn DataChannel>, MessageError> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner()).get(&channel).cloned().ok_or(MessageError::NotOpen)
    }

    async fn send_on(
        &self,
        dc: &Arc<dyn DataChannel>,
        cmd: u8,
        payload: &[u8],
    ) -> std::result::Result<u32, MessageError> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let bytes = CustomMessage { cmd, seq, payload: payload.to_vec() }.encode();
        dc.send(BytesMut::from(&bytes[..])).await.map_err(|_| MessageError::NotOpen)?;
        Ok(seq)
    }

    /// RTT, loss and jitter since the previous call (call it once a second).
    pub async fn network_stats(&self) -> NetworkStats {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let rtt_ms = report
            .candidate_pairs()
            .filter(|p| p.nominated && p.current_round_trip_time > 0.0)
            .map(|p| p.current_round_trip_time * 1000.0)
            .next();
        let (mut received, mut lost, mut jitter) = (0u64, 0i64, 0f64);
        for stream in report.inbound_rtp_streams() {
            let r = &stream.received_rtp_stream_stats;
            received += r.packets_received;
            lost += r.packets_lost.max(0);
            // The stack reports jitter in RTP timestamp units, not seconds.
            let clock = if r.rtp_stream_stats.kind == RtpCodecKind::Video { 90_000.0 } else { 48_000.0 };
            jitter = jitter.max(r.jitter / clock * 1000.0);
        }
        let mut previous = self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let (new_received, new_lost) = (received.saturating_sub(previous.0), (lost - previous.1).max(0) as u64);
        *previous = (received, lost);
        let expected = new_received + new_lost;
        let loss = if expected == 0 { 0.0 } else { new_lost as f64 / expected as f64 };
        NetworkStats { rtt_ms, loss, jitter_ms: jitter, packets_received: new_received }
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
    channels: Channels,
}

/// Keeps `dc` for sending and turns its events into session events.
fn watch_channel(
    channel: Channel,
    dc: Arc<dyn DataChannel>,
    channels: &Channels,
    tx: &mpsc::UnboundedSender<RtcEvent>,
) {
    channels.lock().unwrap_or_else(|e| e.into_inner()).insert(channel, dc.clone());
    let tx = tx.clone();
    tokio::spawn(async move {
        while let Some(event) = dc.poll().await {
            match event {
                DataChannelEvent::OnOpen => {
                    let _ = tx.send(RtcEvent::ChannelOpen(channel));
                }
                DataChannelEvent::OnMessage(message) => match CustomMessage::decode(&message.data) {
                    Some(m) if m.cmd == QUALITY_COMMAND => {
                        if let Some(&quality) = m.payload.first() {
                            let _ = tx.send(RtcEvent::PeerQuality(quality));
                        }
                    }
                    Some(message) => {
                        let _ = tx.send(RtcEvent::Message { channel, message });
                    }
                    None => tracing::debug!(?channel, "ignored a malformed in-call message"),
                },
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    });
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

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let Some(channel) = dc.label().await.ok().and_then(|label| Channel::from_label(&label)) else { return };
        watch_channel(channel, dc, &self.channels, &self.tx);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if track.kind().await == RtpCodecKind::Audio {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                while let Some(event) = track.poll().await {
                    if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                        let _ = tx.send(RtcEvent::Audio(AudioPacketIn {
                            data: packet.payload.to_vec(),
                            sequence_number: packet.header.sequence_number,
                            rtp_timestamp: packet.header.timestamp,
                        }));
                    }
                }
            });
            return;
        }
        let media_ssrc = track.ssrcs().await.first().copied().unwrap_or_default();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut assembler = FrameAssembler::default();
            while let Some(event) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
                let h = &packet.header;
                let assembled = assembler.push(h.sequence_number, h.timestamp, h.marker, &packet.payload);
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
