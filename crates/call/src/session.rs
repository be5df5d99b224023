//! The media session's side of a call: what the WebRTC session, the video
//! pump and the microphone deliver, and what the engine does with it.

use duet_media::audio::FRAME;
use duet_media::stamp;
use duet_rtc::{ConnectionState, RtcEvent};
use serde_json::json;

use crate::Feed;
use crate::engine::Engine;
use crate::event::{Event, MediaChange, MediaState, wall_ms};
use crate::media::{AUDIO_FRAME, Media};
use crate::signaling::signal;

pub(crate) enum MediaInput {
    Rtc(RtcEvent),
    /// A frame from the video pump; `None` when it stopped.
    Encoded(Option<duet_media::EncodedFrame>),
    /// 20 ms from the microphone.
    Microphone(Box<[i16; FRAME]>),
}

/// The next thing the current call's media has for the engine.
pub(crate) async fn next_media(media: &mut Option<Media>) -> MediaInput {
    let Some(Media { rtc, pump, mic_frames, .. }) = media.as_mut() else { return std::future::pending().await };
    let encoded = async {
        match pump {
            Some(pump) => pump.frames.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        Some(event) = rtc.next_event() => MediaInput::Rtc(event),
        frame = encoded => MediaInput::Encoded(frame),
        Some(frame) = mic_frames.recv() => MediaInput::Microphone(Box::new(frame)),
    }
}

impl Engine {
    pub(crate) async fn on_rtc_event(&mut self, event: RtcEvent) {
        let now = self.now_us();
        let from_peer = matches!(
            event,
            RtcEvent::Audio(_)
                | RtcEvent::Video(_)
                | RtcEvent::PeerQuality(_)
                | RtcEvent::Message { .. }
                | RtcEvent::Delivered(_)
        );
        if from_peer {
            self.on_heard().await;
        }
        let Some(m) = self.media.as_mut() else { return };
        match event {
            RtcEvent::Candidate(c) => {
                let kind = candidate_kind(&c.candidate).to_owned();
                signal(&self.manager, m, json!({"candidate": c}));
                self.emit(Event::Candidate { kind, at_ms: wall_ms() });
            }
            RtcEvent::State(ConnectionState::Connected) => {
                m.on_connected();
                let fingerprints = m.rtc.fingerprints().await;
                let code = fingerprints.map(|(local, remote)| duet_rtc::safety_code(&m.room_id, &local, &remote));
                self.emit(Event::Media(MediaChange { state: MediaState::Connected, at_ms: Some(wall_ms()) }));
                match code {
                    Some(code) => self.emit(Event::Verification { code }),
                    None => tracing::warn!("no DTLS fingerprints to make the safety code from"),
                }
            }
            // ICE gave up on a path that worked: restart rather than end the call.
            RtcEvent::State(ConnectionState::Failed) if m.connected => self.restart_path("ICE failed").await,
            RtcEvent::State(ConnectionState::Failed) => self.on_media_unreachable().await,
            RtcEvent::Video(frame) => self.on_video(frame.data, now).await,
            RtcEvent::VideoLost => m.stats.frames_lost += 1,
            RtcEvent::KeyframeRequested => {
                m.stats.keyframe_requests += 1;
                if let Some(pump) = &m.pump {
                    pump.request_keyframe();
                }
            }
            RtcEvent::PeerQuality(q) => m.stats.peer_quality = Some(q),
            RtcEvent::Delivered(seq) => {
                let id = m.chats_in_flight.remove(&seq).flatten();
                self.emit(Event::MessageDelivered { seq, id });
            }
            RtcEvent::Message { channel, message } => self.emit(Event::Message {
                channel: channel.label().to_owned(),
                cmd: message.cmd,
                seq: message.seq,
                text: String::from_utf8_lossy(&message.payload).into_owned(),
            }),
            RtcEvent::Audio(packet) => {
                m.stats.audio_packets_received += 1;
                m.stats.bytes_received += packet.data.len() as u64;
                if m.echo {
                    let _ = m.rtc.send_audio(&packet.data, AUDIO_FRAME).await;
                    m.stats.audio_packets_sent += 1;
                } else {
                    self.mixer.push_voice(packet.sequence_number, packet.data);
                }
            }
            _ => {}
        }
    }

    /// A video frame from the peer: decoded, measured and drawn (and, for the echo, sent back).
    async fn on_video(&mut self, data: Vec<u8>, now_us: u64) {
        let Some(m) = self.media.as_mut() else { return };
        m.stats.bytes_received += data.len() as u64;
        if m.echo {
            let _ = m.rtc.send_video(&data, m.frame_interval()).await;
            m.stats.frames_sent += 1;
        }
        match m.decoder.decode(&data) {
            Ok(Some(picture)) => {
                if m.stats.frames_decoded == 0 {
                    let _ = self.events.send(Event::FirstFrame { at_ms: wall_ms() });
                }
                m.stats.frames_decoded += 1;
                let stamp = stamp::read(&picture);
                m.stats.last_counter = stamp.map(|s| s.counter);
                if let Some(stamp) = stamp {
                    let age = stamp.age_us(duet_media::capture_clock_us());
                    let ms = age as f32 / 1000.0;
                    m.stats.glass_to_glass_ms.push(ms);
                    m.stats.oldest_shown_ms = Some(m.stats.oldest_shown_ms.map_or(ms, |oldest| oldest.max(ms)));
                }
                m.stats.render.frame_rendered(now_us, picture.width(), picture.height());
                if let Some(out) = &self.config.video_out {
                    out.show(Feed::Remote, &picture);
                }
            }
            Ok(None) => {}
            Err(_) => {
                // A lost reference frame: nothing decodes until a keyframe.
                m.stats.frames_undecodable += 1;
                m.rtc.request_keyframe().await;
            }
        }
    }
}

impl Media {
    /// Sends one encoded frame of the video pump.
    pub(crate) async fn send_encoded(&mut self, encoded: &duet_media::EncodedFrame) {
        if self.rtc.send_video(&encoded.data, self.frame_interval()).await.is_ok() {
            self.stats.frames_sent += 1;
            self.stats.bytes_sent += encoded.data.len() as u64;
        }
    }

    /// 20 ms of this side's voice (processed already): encoded and sent.
    pub(crate) async fn send_audio_frame(&mut self, frame: &[i16; FRAME]) {
        if let Ok(packet) = self.opus.encode(frame)
            && self.rtc.send_audio(&packet, AUDIO_FRAME).await.is_ok()
        {
            self.stats.audio_packets_sent += 1;
            self.stats.bytes_sent += packet.len() as u64;
        }
    }
}

/// The type of an SDP candidate line (`candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host`).
fn candidate_kind(candidate: &str) -> &str {
    candidate.split_whitespace().skip_while(|w| *w != "typ").nth(1).unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::candidate_kind;

    #[test]
    fn a_candidate_line_names_its_kind() {
        assert_eq!(candidate_kind("candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host"), "host");
        let relay = "candidate:2 1 udp 16777215 203.0.113.5 50000 typ relay raddr 0.0.0.0 rport 0";
        assert_eq!(candidate_kind(relay), "relay");
        assert_eq!(candidate_kind("garbage"), "unknown");
    }
}
