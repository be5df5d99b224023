//! One peer connection of a call.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use duet_protocol::IceServer;
use rtc::interceptor::{
    CongestionControlBuilder, NackGeneratorBuilder, NackResponderBuilder, Registry, Slot, TwccSenderBuilder,
};
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::statistics::StatsSelector;
use rtc::statistics::report::{RTCStatsReport, RTCStatsReportEntry};
use rtc::statistics::stats::ice_candidate::RTCIceCandidateStats;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::assemble::{self, Assembled, FrameAssembler};
use crate::bwe::{self, Estimator, LossReports, PublishedEstimate, ReportedLoss};
use crate::keyframe::{self, KeyframeRequests};
use crate::messages::{
    APP_COMMANDS, Channel, CustomMessage, MessageError, QUALITY_COMMAND, RECEIVED_COMMAND, SendLimiter,
};
use crate::playout::{Playout, PlayoutClock, is_keyframe};
use crate::quality::{ArrivalCounter, ArrivalTotals, Candidates, NetworkStats, Route};
use crate::{Error, Result};

pub type SessionDescription = RTCSessionDescription;
pub type IceCandidate = RTCIceCandidateInit;

/// The H.264 profile every Duet build sends: constrained baseline, level 3.1
/// (what OpenH264 produces), packetization mode 1.
const H264_FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// Opus as Duet sends it: 48 kHz, in-band FEC.
fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// H.264 as Duet sends it ([`H264_FMTP`]).
fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Only what Duet sends and takes: Opus, and H.264 in the one profile it encodes. A
/// peer's offer that lists VP8, VP9 or AV1 first is still answered with these, so
/// neither side is left with a negotiated codec nobody sends (PROTOCOL.md "Media negotiation").
fn register_duet_codecs(media: &mut MediaEngine) -> Result<()> {
    media.register_codec(RTCRtpCodecParameters { rtp_codec: opus(), payload_type: 111 }, RtpCodecKind::Audio)?;
    media.register_codec(RTCRtpCodecParameters { rtp_codec: h264(), payload_type: 125 }, RtpCodecKind::Video)?;
    Ok(())
}

/// The shortest time between two keyframe requests for the remote video.
const PLI_INTERVAL: Duration = Duration::from_millis(300);

/// How often the receiver asks again for a missing packet (webrtc's default
/// is 100 ms): a retransmission then lands about one round trip after the loss.
const NACK_INTERVAL: Duration = Duration::from_millis(30);
/// How many times one missing packet is asked for: at this pace that spans
/// 90 ms, about one round trip on a poor path. Unbounded, every cycle asks
/// again for everything still missing, and on a congested link the
/// retransmissions themselves keep it congested.
const NACKS_PER_PACKET: u16 = 3;
/// The most a frame waits for a retransmission, and the margin over what the
/// round trip and the NACKs take ([`retransmission_wait`]).
const MAX_RETRANSMISSION_WAIT: Duration = Duration::from_millis(600);
const RETRANSMISSION_MARGIN: Duration = Duration::from_millis(40);
/// How long ICE waits for a better path before it takes one through the NATs'
/// public addresses (srflx) or through a TURN relay.
const SRFLX_WAIT: Duration = Duration::from_millis(50);
const RELAY_WAIT: Duration = Duration::from_secs(1);

/// While a connection with a TURN relay comes up: how often its driver is woken
/// (see [`nudge_while_connecting`]), for how long at most, and how long after it is up.
const NUDGE_INTERVAL: Duration = Duration::from_millis(5);
const NUDGE_FOR: Duration = Duration::from_secs(20);
const NUDGE_AFTER: Duration = Duration::from_secs(1);

/// Between two ICE connectivity checks of a candidate pair.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(25);
/// RTCP feedback type for NACK (RFC 4585), and with parameter `pli` for PLI.
const RTCP_FB_NACK: &str = "nack";

/// The least the congestion controller will estimate: below it a call is audio
/// and a postage stamp.
const MIN_SEND_BITRATE_BPS: f64 = 150_000.0;

/// webrtc's default chain (NACK, RTCP reports, transport-wide feedback) with
/// a faster NACK generator, keyframe requests handed to the application, and
/// send-side congestion control: GCC with a queue guard (`bwe`) over the
/// peer's transport-wide feedback, starting at (and never above) `max_bitrate_bps`. There is no pacer: it would
/// pace at the estimate itself and queue every keyframe behind it; the encoder
/// follows the estimate instead ([`RtcSession::target_bitrate_bps`]).
fn interceptors(media: &mut MediaEngine, max_bitrate_bps: f64, estimate: PublishedEstimate) -> Result<Registry> {
    for parameter in ["", "pli"] {
        let feedback = RTCPFeedback { typ: RTCP_FB_NACK.to_owned(), parameter: parameter.to_owned() };
        media.register_feedback(feedback, RtpCodecKind::Video);
    }
    let registry = Registry::new().with(Slot::NackResponder, NackResponderBuilder::new().build()).with(
        Slot::NackGenerator,
        NackGeneratorBuilder::new().with_interval(NACK_INTERVAL).with_max_nacks_per_packet(NACKS_PER_PACKET).build(),
    );
    configure_simulcast_extension_headers(media)?;
    let registry = configure_twcc_receiver_only(registry, media)?;
    let max = max_bitrate_bps.max(MIN_SEND_BITRATE_BPS);
    let loss = ReportedLoss::default();
    let registry = registry.with(Slot::TwccSender, TwccSenderBuilder::new().build()).with(
        Slot::CongestionControl,
        CongestionControlBuilder::new(Estimator::new(MIN_SEND_BITRATE_BPS, max, estimate, loss.clone())).build(),
    );
    Ok(configure_rtcp_reports(registry)
        .with(Slot::from(bwe::LOSS_REPORTS_SLOT), LossReports::new(loss))
        .with(Slot::from(keyframe::SLOT), KeyframeRequests::default()))
}

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
    /// Remote video packets were lost for good; a keyframe was requested (PLI).
    VideoLost,
    /// The peer lost our video and asks for a keyframe (PLI or FIR).
    KeyframeRequested,
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
    /// The peer received the message this side sent on `duet.reliable` with this sequence number.
    Delivered(u32),
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
    /// The most this side sends, audio and video together: where the network
    /// estimate starts, and its ceiling.
    pub max_bitrate_bps: u32,
    /// STUN and TURN servers (`room.joined`'s), for server-reflexive and relay candidates.
    pub ice_servers: Vec<IceServer>,
    /// Use relay candidates only, so the peer never learns this side's addresses.
    pub relay_only: bool,
}

impl SessionConfig {
    /// Whether a TURN relay is among the ICE servers.
    fn has_turn(&self) -> bool {
        let is_turn = |url: &String| url.starts_with("turn:") || url.starts_with("turns:");
        self.ice_servers.iter().any(|s| s.urls.iter().any(is_turn))
    }

    /// The peer connection's configuration: its ICE servers and which candidates it may use.
    fn rtc_configuration(&self) -> Result<webrtc::peer_connection::RTCConfiguration> {
        if self.relay_only && !self.has_turn() {
            return Err(Error::NoRelay);
        }
        let servers = rtc_ice_servers(&self.ice_servers);
        let policy = if self.relay_only { RTCIceTransportPolicy::Relay } else { RTCIceTransportPolicy::All };
        Ok(RTCConfigurationBuilder::new().with_ice_servers(servers).with_ice_transport_policy(policy).build())
    }
}

fn rtc_ice_servers(servers: &[IceServer]) -> Vec<RTCIceServer> {
    servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect()
}

/// An outgoing track and where it goes.
struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    /// The negotiated payload type, looked up once on the first send.
    payload_type: std::sync::OnceLock<u8>,
    sender: Arc<dyn RtpSender>,
    /// Where the peer's keyframe requests go; polled once the track is bound.
    feedback: Option<mpsc::UnboundedSender<RtcEvent>>,
}

impl Outgoing {
    async fn add(
        pc: &dyn PeerConnection,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        label: &str,
        feedback: Option<mpsc::UnboundedSender<RtcEvent>>,
    ) -> Result<Self> {
        let ssrc = rand_ssrc();
        // Track ids must differ from the peer's: webrtc routes inbound RTCP by track id,
        // and a remote track of the same id would take our keyframe requests.
        let track = MediaStreamTrack::new(
            "duet".to_owned(),
            format!("{label}-{ssrc:08x}"),
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
        Ok(Self { track, ssrc, payload_type: Default::default(), sender, feedback })
    }

    async fn send(&self, data: &[u8], duration: Duration) -> Result<()> {
        let payload_type = match self.payload_type.get() {
            Some(pt) => *pt,
            None => {
                let params = self.sender.get_parameters().await?;
                let pt = params.rtp_parameters.codecs.first().ok_or(Error::NotNegotiated)?.payload_type;
                // The first send finds the track bound: from now on its RTCP can be read.
                if let Some(tx) = self.feedback.clone() {
                    let track = Arc::clone(&self.track);
                    tokio::spawn(async move {
                        while let Some(TrackLocalEvent::OnRtcpPacket(packets)) = track.poll().await {
                            if packets.iter().any(|p| keyframe::is_keyframe_request(p.as_ref()))
                                && tx.send(RtcEvent::KeyframeRequested).is_err()
                            {
                                break;
                            }
                        }
                    });
                }
                *self.payload_type.get_or_init(|| pt)
            }
        };
        let sample = Sample { data: Bytes::copy_from_slice(data), duration, ..Sample::new(Instant::now()) };
        self.track.sample_writer(self.ssrc, payload_type).write_sample(&sample).await?;
        Ok(())
    }
}

type Channels = Arc<Mutex<HashMap<Channel, Arc<dyn DataChannel>>>>;

/// The peer's video as received: where keyframe requests go.
struct RemoteVideo {
    track: Arc<dyn TrackRemote>,
    ssrc: u32,
    last_pli: Mutex<Option<Instant>>,
}

impl RemoteVideo {
    /// Sends a PLI unless one went out within `PLI_INTERVAL` (one keyframe answers many losses).
    async fn request_keyframe(&self) {
        let now = Instant::now();
        {
            let mut last = self.last_pli.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| now.duration_since(at) < PLI_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: self.ssrc };
        if let Err(e) = self.track.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!("PLI not sent: {e}");
        }
    }
}

type RemoteVideoSlot = Arc<Mutex<Option<Arc<RemoteVideo>>>>;
type Arrivals = Arc<Mutex<ArrivalTotals>>;

fn count_arrival(counter: &mut ArrivalCounter, arrivals: &Arrivals, seq: u16) {
    counter.on_packet(seq, &mut arrivals.lock().unwrap_or_else(|e| e.into_inner()));
}

pub struct RtcSession {
    pc: Arc<dyn PeerConnection>,
    want_video: bool,
    /// Added when the offer is made or, on the answering side, once the offer is
    /// applied: tracks added before that would not pair with the offer's m-lines.
    audio: Option<Outgoing>,
    video: Option<Outgoing>,
    channels: Channels,
    remote_video: RemoteVideoSlot,
    limiter: Mutex<SendLimiter>,
    next_seq: Arc<AtomicU32>,
    tx: mpsc::UnboundedSender<RtcEvent>,
    events: mpsc::UnboundedReceiver<RtcEvent>,
    /// The peer's packets as they first arrived, and the totals at the previous sample.
    arrivals: Arrivals,
    previous: Mutex<ArrivalTotals>,
    estimate: PublishedEstimate,
    /// Shared with the video receiver, which waits for retransmissions by it.
    rtt_ms: Arc<AtomicU32>,
}

impl RtcSession {
    pub async fn new(config: SessionConfig) -> Result<Self> {
        let configuration = config.rtc_configuration()?;
        let relayed = config.has_turn();
        let mut media = MediaEngine::default();
        register_duet_codecs(&mut media)?;
        let estimate = PublishedEstimate::default();
        let registry = interceptors(&mut media, f64::from(config.max_bitrate_bps), estimate.clone())?;
        // mDNS would hide host candidates behind .local names and bind port 5353.
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
            // Connectivity checks every 25 ms instead of 200 (over the same 1.4 s): the
            // checks' pace was most of the time from accept to media.
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(56))
            // The peer's checks often arrive before its candidates: use that path at once.
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
            // A path through the NATs' public addresses (srflx) is taken after 50 ms
            // instead of 500: a host path on the same network answers within two rounds of checks.
            .with_srflx_acceptance_min_wait(Some(SRFLX_WAIT))
            // A relayed path is taken after 1 s instead of 2, in case a direct one comes
            // (hole punching through two NATs takes a round trip or two of checks, paced
            // at 25 ms); a relay-only side will never have one and takes the relay at once.
            .with_relay_acceptance_min_wait(Some(if config.relay_only { Duration::ZERO } else { RELAY_WAIT }))
            // An ICE restart (a new network, a dead path) gathers on sockets bound afresh:
            // the old ones may sit on an address that is gone.
            .with_discard_local_candidates_during_ice_restart(true)
            .build();
        let (tx, events) = mpsc::unbounded_channel();
        let channels = Channels::default();
        let remote_video = RemoteVideoSlot::default();
        let arrivals = Arrivals::default();
        let next_seq = Arc::<AtomicU32>::default();
        let rtt_ms = Arc::<AtomicU32>::default();
        let settled = Arc::<AtomicBool>::default();
        let runtime = webrtc::runtime::default_runtime().expect("the tokio runtime is compiled in");
        let pc = PeerConnectionBuilder::new()
            .with_configuration(configuration.clone())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                tx: tx.clone(),
                channels: channels.clone(),
                remote_video: remote_video.clone(),
                arrivals: arrivals.clone(),
                next_seq: next_seq.clone(),
                rtt_ms: rtt_ms.clone(),
                settled: settled.clone(),
            }))
            .with_runtime(runtime)
            .with_udp_addrs(config.udp_addrs)
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        if relayed {
            tokio::spawn(nudge_while_connecting(Arc::downgrade(&pc), configuration, settled));
        }

        Ok(Self {
            pc,
            want_video: config.video,
            audio: None,
            video: None,
            channels,
            remote_video,
            limiter: Mutex::default(),
            next_seq,
            tx,
            events,
            arrivals,
            previous: Mutex::default(),
            estimate,
            rtt_ms,
        })
    }

    /// The congestion controller's estimate of what this side may send (bits
    /// a second) as of the peer's latest feedback; `None` before any came.
    /// Cheap: read it as often as the encoder should follow.
    pub fn target_bitrate_bps(&self) -> Option<f64> {
        self.estimate.bps()
    }

    /// The caller's side: creates the offer and sets it locally.
    async fn add_tracks(&mut self, video: bool) -> Result<()> {
        if self.audio.is_none() {
            self.audio = Some(Outgoing::add(&*self.pc, RtpCodecKind::Audio, opus(), "microphone", None).await?);
        }
        if video && self.video.is_none() {
            let feedback = Some(self.tx.clone());
            self.video = Some(Outgoing::add(&*self.pc, RtpCodecKind::Video, h264(), "camera", feedback).await?);
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
                watch_channel(channel, dc, &self.channels, &self.tx, &self.next_seq);
            }
        }
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer.clone()).await?;
        Ok(offer)
    }

    /// The inviter's side of an ICE restart (PROTOCOL.md "Staying in the call"):
    /// fresh ICE credentials, and candidates gathered again on sockets bound afresh
    /// (with the servers of [`set_ice_servers`](Self::set_ice_servers), when it was
    /// called). Returns the offer; the old path is given up with its sockets.
    pub async fn restart_ice(&mut self) -> Result<SessionDescription> {
        self.pc.restart_ice().await?;
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer.clone()).await?;
        Ok(offer)
    }

    /// The STUN and TURN servers (fresh TURN credentials) the next gathering uses,
    /// an ICE restart's: the path in use is left alone until then.
    pub async fn set_ice_servers(&self, servers: &[IceServer]) -> Result<()> {
        let policy = self.pc.get_configuration().await.ice_transport_policy();
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(rtc_ice_servers(servers))
            .with_ice_transport_policy(policy)
            .build();
        Ok(self.pc.set_configuration(configuration).await?)
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
    /// Asks the peer for a keyframe (e.g. the decoder cannot go on without
    /// one); at most one request goes out per 300 ms.
    pub async fn request_keyframe(&self) {
        let remote = self.remote_video.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(remote) = remote {
            remote.request_keyframe().await;
        }
    }

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
        send_custom(dc, &self.next_seq, cmd, payload).await
    }

    /// RTT, loss and jitter since the previous call (call it once a second).
    pub async fn network_stats(&self) -> NetworkStats {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let rtt_ms = report
            .candidate_pairs()
            .filter(|p| p.nominated && p.current_round_trip_time > 0.0)
            .map(|p| p.current_round_trip_time * 1000.0)
            .next();
        if let Some(rtt) = rtt_ms {
            self.rtt_ms.store(rtt.round() as u32, Ordering::Relaxed);
        }
        let mut jitter = 0f64;
        for stream in report.inbound_rtp_streams() {
            let r = &stream.received_rtp_stream_stats;
            // The stack reports jitter in RTP timestamp units, not seconds.
            let clock = if r.rtp_stream_stats.kind == RtpCodecKind::Video { 90_000.0 } else { 48_000.0 };
            jitter = jitter.max(r.jitter / clock * 1000.0);
        }
        let now = *self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        let mut previous = self.previous.lock().unwrap_or_else(|e| e.into_inner());
        let (arrived, missing) = (now.arrived - previous.arrived, now.missing - previous.missing);
        *previous = now;
        let loss = if arrived + missing == 0 { 0.0 } else { missing as f64 / (arrived + missing) as f64 };
        let target_bitrate_bps = self.target_bitrate_bps();
        let route = selected_route(&report);
        let candidates = candidates(&report);
        NetworkStats {
            rtt_ms,
            loss,
            jitter_ms: jitter,
            packets_received: arrived,
            target_bitrate_bps,
            route,
            candidates,
        }
    }

    /// The two DTLS certificate fingerprints of the call as DTLS verified them:
    /// this side's and the peer's (`None` before the handshake completed).
    pub async fn fingerprints(&self) -> Option<(String, String)> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let transport = report.transport()?;
        let fingerprint = |id: &str| {
            report.iter().find_map(|entry| match entry {
                RTCStatsReportEntry::Certificate(c) if !id.is_empty() && c.stats.id == id => {
                    Some(c.fingerprint.clone())
                }
                _ => None,
            })
        };
        Some((fingerprint(&transport.local_certificate_id)?, fingerprint(&transport.remote_certificate_id)?))
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
    remote_video: RemoteVideoSlot,
    arrivals: Arrivals,
    /// The session's message counter (receipts are numbered from it too).
    next_seq: Arc<AtomicU32>,
    /// The path's latest round trip (ms; 0 until known), as [`RtcSession::network_stats`] read it.
    rtt_ms: Arc<AtomicU32>,
    /// The connection came up, failed or closed: no more nudges.
    settled: Arc<AtomicBool>,
}

/// Sends one message on `dc`, numbered from the session's counter.
async fn send_custom(
    dc: &Arc<dyn DataChannel>,
    next_seq: &AtomicU32,
    cmd: u8,
    payload: &[u8],
) -> std::result::Result<u32, MessageError> {
    let seq = next_seq.fetch_add(1, Ordering::Relaxed);
    let bytes = CustomMessage { cmd, seq, payload: payload.to_vec() }.encode();
    dc.send(BytesMut::from(&bytes[..])).await.map_err(|_| MessageError::NotOpen)?;
    Ok(seq)
}

/// Keeps `dc` for sending and turns its events into session events. Every
/// application message that arrives on `duet.reliable` is acknowledged with a
/// receipt, so its sender can show it as delivered.
fn watch_channel(
    channel: Channel,
    dc: Arc<dyn DataChannel>,
    channels: &Channels,
    tx: &mpsc::UnboundedSender<RtcEvent>,
    next_seq: &Arc<AtomicU32>,
) {
    channels.lock().unwrap_or_else(|e| e.into_inner()).insert(channel, dc.clone());
    let tx = tx.clone();
    let next_seq = next_seq.clone();
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
                    Some(m) if m.cmd == RECEIVED_COMMAND && channel == Channel::Reliable => {
                        if let Ok(seq) = <[u8; 4]>::try_from(m.payload.as_slice()) {
                            let _ = tx.send(RtcEvent::Delivered(u32::from_be_bytes(seq)));
                        }
                    }
                    Some(message) if APP_COMMANDS.contains(&message.cmd) => {
                        if channel == Channel::Reliable
                            && let Err(error) =
                                send_custom(&dc, &next_seq, RECEIVED_COMMAND, &message.seq.to_be_bytes()).await
                        {
                            tracing::debug!("no receipt for message {}: {error}", message.seq);
                        }
                        let _ = tx.send(RtcEvent::Message { channel, message });
                    }
                    Some(other) => {
                        tracing::debug!(?channel, cmd = other.cmd, "ignored an in-call message of an unknown command")
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
        use RTCPeerConnectionState::{Closed, Connected, Failed};
        if matches!(state, Connected | Failed | Closed) {
            self.settled.store(true, Ordering::Relaxed);
        }
        let _ = self.tx.send(RtcEvent::State(state));
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let Some(channel) = dc.label().await.ok().and_then(|label| Channel::from_label(&label)) else { return };
        watch_channel(channel, dc, &self.channels, &self.tx, &self.next_seq);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let arrivals = self.arrivals.clone();
        let mut counter = ArrivalCounter::default();
        if track.kind().await == RtpCodecKind::Audio {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                while let Some(event) = track.poll().await {
                    if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                        count_arrival(&mut counter, &arrivals, packet.header.sequence_number);
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
        let ssrc = track.ssrcs().await.first().copied().unwrap_or_default();
        let remote = Arc::new(RemoteVideo { track: Arc::clone(&track), ssrc, last_pli: Mutex::new(None) });
        *self.remote_video.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&remote));
        let (tx, rtt_ms) = (self.tx.clone(), self.rtt_ms.clone());
        tokio::spawn(async move {
            let mut assembler = FrameAssembler::default();
            let mut clock = PlayoutClock::new(Instant::now());
            // Whole frames waiting for their time to be shown.
            let mut held: VecDeque<(Instant, VideoFrameIn)> = VecDeque::new();
            // After a frame was dropped as stale, the next ones until a keyframe
            // would be decoded from a picture that never was.
            let mut awaiting_keyframe = false;
            loop {
                let due = held.front().map(|(at, _)| tokio::time::Instant::from_std(*at));
                let event = tokio::select! {
                    event = track.poll() => event,
                    () = async { tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)).await },
                        if due.is_some() => {
                        show_due(&mut held, &tx);
                        continue;
                    }
                };
                let Some(event) = event else { break };
                let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
                let h = &packet.header;
                count_arrival(&mut counter, &arrivals, h.sequence_number);
                let now = Instant::now();
                clock.heard(h.timestamp, now);
                assembler.set_max_wait(retransmission_wait(rtt_ms.load(Ordering::Relaxed)));
                for assembled in assembler.push(h.sequence_number, h.timestamp, h.marker, &packet.payload, now) {
                    let frame = match assembled {
                        Assembled::Frame { data, rtp_timestamp, repaired } => {
                            if repaired {
                                clock.repaired(now);
                            }
                            VideoFrameIn { data, rtp_timestamp }
                        }
                        Assembled::Lost => {
                            remote.request_keyframe().await;
                            let _ = tx.send(RtcEvent::VideoLost);
                            continue;
                        }
                    };
                    let keyframe = is_keyframe(&frame.data);
                    if awaiting_keyframe && !keyframe {
                        remote.request_keyframe().await;
                        continue;
                    }
                    match clock.frame(frame.rtp_timestamp, keyframe, now) {
                        Playout::At(at) => {
                            awaiting_keyframe = false;
                            held.push_back((at, frame));
                        }
                        Playout::Stale => {
                            awaiting_keyframe = true;
                            remote.request_keyframe().await;
                            let _ = tx.send(RtcEvent::VideoLost);
                        }
                    }
                }
                show_due(&mut held, &tx);
            }
        });
    }
}

/// How long a frame with a hole waits for its retransmission on a path of
/// `rtt_ms` (0: not known yet): the NACK goes out within `NACK_INTERVAL`, is
/// asked again `NACKS_PER_PACKET` times at that pace, and the answer takes a
/// round trip; with a margin for jitter. Never under the default (enough on
/// any path under 120 ms), never over `MAX_RETRANSMISSION_WAIT`: a path that
/// slow is better served by a keyframe.
fn retransmission_wait(rtt_ms: u32) -> Duration {
    let asked_for = NACK_INTERVAL * u32::from(NACKS_PER_PACKET);
    let wait = Duration::from_millis(u64::from(rtt_ms)) + asked_for + RETRANSMISSION_MARGIN;
    wait.clamp(assemble::DEFAULT_MAX_WAIT, MAX_RETRANSMISSION_WAIT)
}

/// Hands on the held frames whose time has come.
fn show_due(held: &mut VecDeque<(Instant, VideoFrameIn)>, tx: &mpsc::UnboundedSender<RtcEvent>) {
    let now = Instant::now();
    while held.front().is_some_and(|(at, _)| *at <= now) {
        if let Some((_, frame)) = held.pop_front() {
            let _ = tx.send(RtcEvent::Video(frame));
        }
    }
}

/// Wakes the peer connection's driver every `NUDGE_INTERVAL` while the
/// connection comes up (and `NUDGE_AFTER` longer, for the data channels' opening).
///
/// The driver hands what goes out through a TURN relay to the network only when
/// its loop next runs: it flushes the TURN client's queue before it takes the
/// connection's own packets, so a DTLS flight sent through the relay waits for
/// the next wake, which with nothing else flowing is ICE's 200 ms tick. Each
/// flight of the handshake paid that wait, one way and back. Setting the same
/// configuration again is a no-op for the connection that wakes the loop.
async fn nudge_while_connecting(
    pc: Weak<dyn PeerConnection>,
    configuration: webrtc::peer_connection::RTCConfiguration,
    settled: Arc<AtomicBool>,
) {
    let give_up = Instant::now() + NUDGE_FOR;
    let mut stop_at = None;
    loop {
        tokio::time::sleep(NUDGE_INTERVAL).await;
        let now = Instant::now();
        if settled.load(Ordering::Relaxed) && *stop_at.get_or_insert(now + NUDGE_AFTER) <= now || now >= give_up {
            return;
        }
        let Some(pc) = pc.upgrade() else { return };
        if pc.set_configuration(configuration.clone()).await.is_err() {
            return;
        }
    }
}

/// The kinds of candidates of the pair ICE selected, if it selected one.
fn selected_route(report: &RTCStatsReport) -> Option<Route> {
    let selected = report.transport().map(|t| t.selected_candidate_pair_id.as_str()).filter(|id| !id.is_empty());
    let pair = report
        .candidate_pairs()
        .find(|p| selected.is_some_and(|id| p.stats.id == id))
        .or_else(|| report.candidate_pairs().find(|p| p.nominated))?;
    // A pair names its candidates by their candidate ids; the candidates' own stats ids
    // carry a prefix before them.
    let (mut local, mut remote) = (None, None);
    for entry in report.iter() {
        match entry {
            RTCStatsReportEntry::LocalCandidate(c) if c.stats.id.ends_with(&pair.local_candidate_id) => local = Some(c),
            RTCStatsReportEntry::RemoteCandidate(c) if c.stats.id.ends_with(&pair.remote_candidate_id) => {
                remote = Some(c)
            }
            _ => {}
        }
    }
    let (local, remote) = (local?, remote?);
    Some(Route {
        local: local.candidate_type.to_string(),
        remote: remote.candidate_type.to_string(),
        protocol: local.protocol.clone(),
        remote_address: address(remote),
    })
}

/// `ip:port` of a candidate.
fn address(candidate: &RTCIceCandidateStats) -> String {
    format!("{}:{}", candidate.address.as_deref().unwrap_or("?"), candidate.port)
}

/// Every candidate the report knows, both sides, sorted.
fn candidates(report: &RTCStatsReport) -> Candidates {
    let mut all = Candidates::default();
    for entry in report.iter() {
        let (list, c) = match entry {
            RTCStatsReportEntry::LocalCandidate(c) => (&mut all.local, c),
            RTCStatsReportEntry::RemoteCandidate(c) => (&mut all.remote, c),
            _ => continue,
        };
        list.push(format!("{} {}", c.candidate_type, address(c)));
    }
    all.local.sort();
    all.remote.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_waits_for_its_retransmission_by_the_round_trip() {
        assert_eq!(retransmission_wait(0), assemble::DEFAULT_MAX_WAIT, "not known yet");
        assert_eq!(retransmission_wait(50), assemble::DEFAULT_MAX_WAIT, "a short path");
        // 218 ms, as 100 ms each way measured: 218 + 3 NACKs 30 ms apart + 40 ms.
        assert_eq!(retransmission_wait(218), Duration::from_millis(348));
        assert_eq!(retransmission_wait(2_000), MAX_RETRANSMISSION_WAIT, "a keyframe serves better");
    }
}
