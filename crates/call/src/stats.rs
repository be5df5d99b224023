//! The counters a call keeps, and the [`CallStats`] reported from them every second.

use duet_media::RenderStats;
use duet_media::audio::{JitterStats, VoiceStats};
use duet_rtc::{NetworkStats, Quality};

use crate::event::CallStats;

/// Counters reported every second.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub frames_sent: u64,
    pub frames_decoded: u64,
    pub frames_lost: u64,
    pub frames_undecodable: u64,
    /// Keyframe requests (PLI/FIR) the peer sent us.
    pub keyframe_requests: u64,
    /// ICE restarts this side made or asked for.
    pub ice_restarts: u32,
    pub audio_packets_sent: u64,
    pub audio_packets_received: u64,
    pub last_counter: Option<u32>,
    /// Payload bytes, for the bitrates.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Bytes at the previous report and when it was taken (µs).
    pub previous: Option<(u64, u64, u64)>,
    pub render: RenderStats,
    /// Glass to glass (capture → decoded here) of every stamped frame, ms.
    pub glass_to_glass_ms: Vec<f32>,
    /// The largest of those since the previous report.
    pub oldest_shown_ms: Option<f32>,
    pub audio: Option<JitterStats>,
    pub network: NetworkStats,
    pub quality: Quality,
    /// What the peer reported of its own network quality.
    pub peer_quality: Option<Quality>,
    /// The video encoder's target, once it follows the network estimate.
    pub video_bitrate_bps: Option<u32>,
    /// The echo canceller's figures, when this side's microphone is processed.
    pub voice: Option<VoiceStats>,
}

impl Counters {
    /// The figures at `now_us` (a monotonic clock in µs); rates since the previous call.
    pub fn snapshot(&mut self, now_us: u64) -> CallStats {
        let render = self.render.snapshot(now_us);
        let (kbps_out, kbps_in) = match self.previous {
            // Rates over less than half a second (the report at hangup) would mislead.
            Some((sent, received, at)) if now_us > at + 500_000 => {
                let kbps = |bytes: u64| ((bytes * 8_000) as f64 / (now_us - at) as f64).round();
                (kbps(self.bytes_sent - sent), kbps(self.bytes_received - received))
            }
            _ => (0.0, 0.0),
        };
        self.previous = Some((self.bytes_sent, self.bytes_received, now_us));
        let audio = self.audio.unwrap_or_default();
        let voice = self.voice.unwrap_or_default();
        let mut latencies = self.glass_to_glass_ms.clone();
        latencies.sort_by(f32::total_cmp);
        let percentile = |p: f32| {
            (!latencies.is_empty()).then(|| {
                let at = ((latencies.len() - 1) as f32 * p).round() as usize;
                (f64::from(latencies[at]) * 10.0).round() / 10.0
            })
        };
        CallStats {
            frames_sent: self.frames_sent,
            frames_decoded: self.frames_decoded,
            frames_lost: self.frames_lost,
            frames_undecodable: self.frames_undecodable,
            keyframe_requests: self.keyframe_requests,
            ice_restarts: self.ice_restarts,
            last_frame_counter: self.last_counter,
            fps: (f64::from(render.fps) * 10.0).round() / 10.0,
            width: render.width,
            height: render.height,
            freeze_count: render.freeze_count,
            total_freeze_ms: render.total_freeze_ms,
            glass_to_glass_p50_ms: percentile(0.5),
            glass_to_glass_p95_ms: percentile(0.95),
            glass_to_glass_recent_max_ms: self.oldest_shown_ms.take().map(|ms| (f64::from(ms) * 10.0).round() / 10.0),
            bitrate_out_kbps: kbps_out,
            bitrate_in_kbps: kbps_in,
            target_bitrate_kbps: self.network.target_bitrate_bps.map(|bps| (bps / 1000.0).round()),
            video_bitrate_kbps: self.video_bitrate_bps.map(|bps| bps / 1000),
            audio_packets_sent: self.audio_packets_sent,
            audio_packets_received: self.audio_packets_received,
            audio_frames_decoded: audio.decoded,
            audio_frames_recovered: audio.recovered,
            audio_frames_concealed: audio.concealed,
            rtt_ms: self.network.rtt_ms.map(|ms| (ms * 10.0).round() / 10.0),
            loss: self.network.loss,
            jitter_ms: (self.network.jitter_ms * 10.0).round() / 10.0,
            quality: self.quality,
            peer_quality: self.peer_quality,
            route_local: self.network.route.as_ref().map(|r| r.local.clone()),
            route_remote: self.network.route.as_ref().map(|r| r.remote.clone()),
            route_protocol: self.network.route.as_ref().map(|r| r.protocol.clone()),
            route_remote_address: self.network.route.as_ref().map(|r| r.remote_address.clone()),
            candidates_local: self.network.candidates.local.clone(),
            candidates_remote: self.network.candidates.remote.clone(),
            echo_return_loss_enhancement_db: voice.erle_db.map(|db| (db * 10.0).round() / 10.0),
            echo_delay_ms: voice.echo_delay_ms,
            residual_echo_likelihood: voice.residual_echo_likelihood.map(|l| (l * 100.0).round() / 100.0),
            echo_clock_drift_ppm: voice.clock_drift_ppm,
        }
    }
}
