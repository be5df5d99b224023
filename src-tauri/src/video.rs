//! Video to the web UI: decoded and local frames go as binary WebSocket messages
//! on 127.0.0.1 to the webview, which draws their I420 planes with WebGL
//! (`ui/src/video.ts`). The render-path benchmark chose this path
//! (BENCHMARKS.md, "Video on screen").
//!
//! Each feed keeps only its newest frame, and sends the next one only after
//! the webview acknowledged drawing the previous (a one-byte message: the
//! feed's number). A renderer that falls behind skips frames instead of
//! queueing them, so the picture is never late by more than the frame in
//! flight, and the rest of the UI (commands, events) is never starved.
//!
//! A message is a 24-byte header, then the frame's Y, U and V planes:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | format version (1) |
//! | 1 | feed: 0 local, 1 remote |
//! | 2..4, 4..6 | width, height (u16, little-endian) |
//! | 6..8 | reserved (0) |
//! | 8..16 | capture time, µs since the Unix epoch (u64 LE) |
//! | 16..24 | when the app handed the frame over, µs since the Unix epoch (u64 LE) |

use std::sync::Arc;

use duet_call::{Feed, VideoOut};
use duet_media::I420Frame;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::{OnceCell, watch};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::error::{AppError, AppResult, ErrorCode};

pub const HEADER_LEN: usize = 24;
const VERSION: u8 = 1;

type Latest = watch::Sender<Option<Bytes>>;

/// The frames waiting to be drawn, and the socket the webview reads them from.
pub struct VideoServer {
    local: Latest,
    remote: Latest,
    /// The address (with its secret path) once listening.
    url: OnceCell<String>,
}

impl Default for VideoServer {
    fn default() -> Self {
        VideoServer { local: watch::Sender::new(None), remote: watch::Sender::new(None), url: OnceCell::new() }
    }
}

impl VideoServer {
    /// Where the media engine hands its frames.
    pub fn output(self: &Arc<Self>) -> VideoOut {
        let server = self.clone();
        VideoOut(Arc::new(move |feed, frame| server.show(feed, frame)))
    }

    /// Keeps `frame` as the newest of its feed.
    pub fn show(&self, feed: Feed, frame: &I420Frame) {
        let slot = match feed {
            Feed::Local => &self.local,
            Feed::Remote => &self.remote,
        };
        // Nobody watching: no copy.
        if slot.receiver_count() > 0 {
            slot.send_replace(Some(encode(feed, frame, duet_media::capture_clock_us())));
        }
    }

    /// Clears both pictures (the call ended).
    pub fn clear(&self) {
        self.local.send_replace(None);
        self.remote.send_replace(None);
    }

    /// `ws://127.0.0.1:PORT/SECRET`, listening from the first call on.
    pub async fn url(self: &Arc<Self>) -> AppResult<String> {
        let server = self.clone();
        self.url.get_or_try_init(|| server.listen()).await.cloned()
    }

    async fn listen(self: Arc<Self>) -> AppResult<String> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| AppError::new(ErrorCode::Internal, format!("Cannot open the local video channel: {e}.")))?;
        let port = listener.local_addr().map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?.port();
        // Other programs on this computer can connect to 127.0.0.1 too: only the path we gave the webview opens.
        let secret = format!("{:032x}", rand::random::<u128>());
        let url = format!("ws://127.0.0.1:{port}/{secret}");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = self.clone();
                let path = format!("/{secret}");
                tokio::spawn(async move {
                    // The handshake callback's type is tungstenite's.
                    #[allow(clippy::result_large_err)]
                    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
                        if request.uri().path() == path {
                            Ok(response)
                        } else {
                            let mut refused = ErrorResponse::new(Some("unknown path".into()));
                            *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
                            Err(refused)
                        }
                    };
                    if let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, check).await {
                        server.stream_to(socket).await;
                    }
                });
            }
        });
        Ok(url)
    }

    /// Sends each feed's newest frame, one at a time: the next only once the
    /// webview says it drew the previous one (a one-byte message with the
    /// feed's number). A slow renderer then gets fewer frames instead of a
    /// growing queue that would delay the picture and starve the rest of the UI.
    async fn stream_to(&self, socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) {
        let (mut sink, mut acks) = socket.split();
        let mut feeds = [self.local.subscribe(), self.remote.subscribe()];
        let mut drawing = [false, false];
        loop {
            let [local, remote] = &mut feeds;
            let changed = tokio::select! {
                changed = local.changed(), if !drawing[0] => changed.map(|()| 0),
                changed = remote.changed(), if !drawing[1] => changed.map(|()| 1),
                ack = acks.next() => {
                    match ack {
                        Some(Ok(Message::Binary(ack))) if ack.len() == 1 && ack[0] < 2 => drawing[usize::from(ack[0])] = false,
                        Some(Ok(_)) => {}
                        _ => return,
                    }
                    continue;
                }
            };
            let Ok(feed) = changed else { return };
            let frame = feeds[feed].borrow_and_update().clone();
            let Some(frame) = frame else { continue };
            if sink.send(Message::Binary(frame)).await.is_err() {
                return;
            }
            drawing[feed] = true;
        }
    }
}

/// The render-path benchmark's load (`DUET_RENDER_BENCH=1`, see
/// `benches/render.rs`): two moving 1280x720 patterns at 30 fps, as local and
/// remote video, for as long as the app runs.
pub fn start_render_bench(server: Arc<VideoServer>) {
    use duet_media::{SyntheticSource, VideoFormat, VideoSource};
    std::thread::spawn(move || {
        let format = VideoFormat { width: 1280, height: 720, fps: 30.0 };
        let (Ok(mut local), Ok(mut remote)) = (SyntheticSource::new(format), SyntheticSource::new(format)) else {
            return;
        };
        let interval = std::time::Duration::from_secs_f32(1.0 / format.fps);
        let mut next = std::time::Instant::now();
        loop {
            next += interval;
            for (feed, source) in [(Feed::Local, &mut local), (Feed::Remote, &mut remote)] {
                if let Ok(frame) = source.next_frame() {
                    server.show(feed, &frame);
                }
            }
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        }
    });
}

/// The message for `frame` (see the module's table).
pub fn encode(feed: Feed, frame: &I420Frame, handed_us: u64) -> Bytes {
    let planes = frame.as_bytes();
    let mut message = Vec::with_capacity(HEADER_LEN + planes.len());
    message.push(VERSION);
    message.push(match feed {
        Feed::Local => 0,
        Feed::Remote => 1,
    });
    // Frames are at most 4096 pixels a side (H.264 level 5.1); larger ones are clamped, not wrapped.
    message.extend_from_slice(&(frame.width().min(u32::from(u16::MAX)) as u16).to_le_bytes());
    message.extend_from_slice(&(frame.height().min(u32::from(u16::MAX)) as u16).to_le_bytes());
    message.extend_from_slice(&[0, 0]);
    message.extend_from_slice(&frame.timestamp_us.to_le_bytes());
    message.extend_from_slice(&handed_us.to_le_bytes());
    message.extend_from_slice(planes);
    Bytes::from(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_message_is_the_header_then_the_planes() {
        let mut frame = I420Frame::black(4, 2).expect("frame");
        frame.timestamp_us = 7;
        let message = encode(Feed::Remote, &frame, 9);
        assert_eq!(&message[..8], &[1, 1, 4, 0, 2, 0, 0, 0]);
        assert_eq!(u64::from_le_bytes(message[8..16].try_into().unwrap()), 7);
        assert_eq!(u64::from_le_bytes(message[16..24].try_into().unwrap()), 9);
        assert_eq!(&message[HEADER_LEN..], frame.as_bytes());
    }

    #[tokio::test]
    async fn the_webview_gets_the_newest_frame_of_each_feed_and_strangers_are_refused() {
        let server = Arc::new(VideoServer::default());
        let url = server.url().await.expect("listens");
        let wrong = url.rsplit_once('/').map(|(base, _)| format!("{base}/guess")).expect("a path");
        assert!(tokio_tungstenite::connect_async(&wrong).await.is_err(), "a wrong secret is refused");

        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("connects");
        // Until the socket is subscribed nothing is kept; wait for it.
        while server.remote.receiver_count() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let out = server.output();
        for n in 1..=3u64 {
            let mut frame = I420Frame::black(2, 2).expect("frame");
            frame.timestamp_us = n;
            out.show(Feed::Remote, &frame);
        }
        let mut local = I420Frame::black(2, 2).expect("frame");
        local.timestamp_us = 100;
        out.show(Feed::Local, &local);

        // Older remote frames may be skipped, never reordered; the newest of each feed arrives.
        let (mut remote_stamps, mut local_seen) = (Vec::new(), false);
        while !(local_seen && remote_stamps.last() == Some(&3)) {
            let message = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
                .await
                .expect("the newest frames arrive in time")
                .expect("open")
                .expect("a message");
            let data = message.into_data();
            let stamp = u64::from_le_bytes(data[8..16].try_into().unwrap());
            // Drawn: the next frame of this feed may come.
            socket.send(Message::Binary(Bytes::copy_from_slice(&data[1..2]))).await.expect("acks");
            match data[1] {
                0 => local_seen = stamp == 100,
                _ => remote_stamps.push(stamp),
            }
        }
        assert!(remote_stamps.windows(2).all(|w| w[0] < w[1]), "{remote_stamps:?}");
    }
}
