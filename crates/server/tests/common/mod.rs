//! Helpers shared by the server's behaviour tests: a real server on 127.0.0.1:0,
//! real WebSocket clients and a real HTTP receiver for push and webhook POSTs.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use duet_server::{Config, Server, ServerHandle};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
pub const PASSWORD: &str = "correct horse battery";

/// How long a test waits for an expected frame.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server running in this process with its own data directory.
pub struct TestServer {
    pub dir: Arc<tempfile::TempDir>,
    pub config: Config,
    pub handle: Option<ServerHandle>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server whose config `tweak` adjusts, with the users of [`USERS`].
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut config = Config::new(dir.path());
        config.listen = "127.0.0.1:0".parse().expect("addr");
        tweak(&mut config);
        let server = Server::bind(config.clone()).await.expect("server binds");
        for user in USERS {
            let name = format!("{}{}", user[..1].to_uppercase(), &user[1..]);
            duet_server::create_user(&*server.hub().store, user, &name, PASSWORD).expect("user");
        }
        config.listen = server.local_addr();
        TestServer { dir, config, handle: Some(server.spawn()) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.config.listen
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn token(&self, user: &str) -> String {
        let hub = self.handle.as_ref().expect("running").hub();
        hub.signer.issue_token(user, duet_server::now_ms() + 3_600_000)
    }

    pub fn hub(&self) -> &Arc<duet_server::Hub> {
        self.handle.as_ref().expect("running").hub()
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await.expect("clean shutdown");
        }
    }

    /// Stops and starts again on the same address and data directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut tries = 0;
        let server = loop {
            match Server::bind(self.config.clone()).await {
                Ok(server) => break server,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("restart failed: {e}"),
            }
        };
        self.handle = Some(server.spawn());
    }

    /// An authenticated client for `user`.
    pub async fn client(&self, user: &str) -> Client {
        let mut client = Client::connect(self.addr()).await;
        client.send(json!({"type": "auth", "token": self.token(user)})).await;
        let ok = client.expect("auth.ok").await;
        assert_eq!(ok["user_id"], user);
        client
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw WebSocket client speaking JSON frames.
pub struct Client {
    ws: Ws,
    next_req: u64,
    /// Frames read while looking for another one.
    backlog: Vec<Value>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ws")).await.expect("connects");
        Client { ws, next_req: 1, backlog: Vec::new() }
    }

    pub async fn send(&mut self, msg: Value) {
        self.send_text(msg.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.expect("send");
    }

    /// Sends if the connection is still open; returns whether it was.
    pub async fn try_send_text(&mut self, text: String) -> bool {
        self.ws.send(Message::Text(text.into())).await.is_ok()
    }

    /// The next frame, or `None` when the connection closed.
    pub async fn next(&mut self) -> Option<Value> {
        if !self.backlog.is_empty() {
            return Some(self.backlog.remove(0));
        }
        self.read(WAIT).await.expect("a frame in time")
    }

    async fn read(&mut self, wait: Duration) -> Result<Option<Value>, tokio::time::error::Elapsed> {
        tokio::time::timeout(wait, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).expect("JSON frame")),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await
    }

    /// Waits for a frame of `kind`, keeping the others for later.
    pub async fn expect(&mut self, kind: &str) -> Value {
        if let Some(i) = self.backlog.iter().position(|v| v["type"] == kind) {
            return self.backlog.remove(i);
        }
        loop {
            let frame =
                self.read(WAIT).await.unwrap_or_else(|_| panic!("no `{kind}` within {WAIT:?}; saw {:?}", self.backlog));
            let frame = frame.unwrap_or_else(|| panic!("connection closed while waiting for `{kind}`"));
            if frame["type"] == kind {
                return frame;
            }
            self.backlog.push(frame);
        }
    }

    /// Asserts that no frame of `kind` arrives within `wait`.
    pub async fn expect_none(&mut self, kind: &str, wait: Duration) {
        assert!(!self.backlog.iter().any(|v| v["type"] == kind), "unexpected `{kind}`: {:?}", self.backlog);
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(frame) = self.read(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            let Some(frame) = frame else { return };
            assert_ne!(frame["type"], kind, "unexpected {frame}");
            self.backlog.push(frame);
        }
    }

    /// Sends a request with a fresh `req` and returns the reply carrying it.
    pub async fn request(&mut self, mut msg: Value) -> Value {
        let req = self.next_req;
        self.next_req += 1;
        msg["req"] = json!(req);
        self.send(msg).await;
        if let Some(i) = self.backlog.iter().position(|v| v["req"] == req) {
            return self.backlog.remove(i);
        }
        loop {
            let frame = self.read(WAIT).await.expect("reply in time").expect("connection open");
            if frame["req"] == req {
                return frame;
            }
            self.backlog.push(frame);
        }
    }

    /// Waits until the server closes the connection.
    pub async fn expect_closed(&mut self) {
        loop {
            match self.read(WAIT).await.expect("closed in time") {
                None => return,
                Some(frame) => self.backlog.push(frame),
            }
        }
    }
}

/// Invites `to` to a video call in a fresh room; returns (invite_id, room_id, inviter's ticket).
pub async fn invite(client: &mut Client, to: &str, timeout_s: u32) -> (String, String, String) {
    let room = format!("room-{}", uuid_like());
    let data = json!({"cmd": "av_call", "call_type": "video", "room_id": room}).to_string();
    let ok = client
        .request(json!({"type": "invite", "to": [to], "room_id": room, "data": data, "timeout_s": timeout_s}))
        .await;
    assert_eq!(ok["type"], "invite.ok", "{ok}");
    (ok["invite_id"].as_str().expect("id").into(), room, ok["room_ticket"].as_str().expect("ticket").into())
}

/// Sends an invitation to `to` and returns the next two frames as they came (for
/// answers the server gives at once, right after `invite.ok`).
pub async fn invite_raw(client: &mut Client, to: &[&str]) -> (Value, Value) {
    let room = format!("room-{}", uuid_like());
    let data = json!({"cmd": "av_call", "call_type": "video", "room_id": room}).to_string();
    client.send(json!({"type": "invite", "req": 1, "to": to, "room_id": room, "data": data, "timeout_s": 60})).await;
    let first = client.next().await.expect("a reply");
    let second = client.next().await.expect("an event");
    (first, second)
}

pub fn uuid_like() -> String {
    format!("{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(duet_server::now_ms());
    h.finish()
}

/// One POST seen by a [`Receiver`].
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
}

/// A local HTTP endpoint that records POSTs and answers them with scripted statuses.
pub struct Receiver {
    pub url: String,
    pub rx: mpsc::UnboundedReceiver<Received>,
    statuses: Arc<Mutex<Vec<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers 200 to everything unless [`Receiver::script`] says otherwise.
    pub async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().expect("addr")).await
    }

    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("receiver binds");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses: Arc<Mutex<Vec<u16>>> = Arc::default();
        let script = statuses.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                let script = script.clone();
                async move {
                    let body = String::from_utf8_lossy(&body).into_owned();
                    let _ = tx.send(Received { headers, body, at: std::time::Instant::now() });
                    let mut script = script.lock().expect("lock");
                    let status = if script.is_empty() { 200 } else { script.remove(0) };
                    StatusCode::from_u16(status).expect("status")
                }
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, rx, statuses, task }
    }

    /// The statuses of the next answers, in order; then 200 again.
    pub fn script(&self, statuses: &[u16]) {
        self.statuses.lock().expect("lock").extend_from_slice(statuses);
    }

    pub async fn next(&mut self, wait: Duration) -> Received {
        tokio::time::timeout(wait, self.rx.recv()).await.expect("a POST in time").expect("receiver open")
    }

    pub fn stop(self) -> SocketAddr {
        self.task.abort();
        self.url.trim_start_matches("http://").trim_end_matches("/hook").parse().expect("addr")
    }
}

/// Checks both signature schemes of a webhook or push POST.
pub fn assert_signed(received: &Received, key: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sign = b64.encode(duet_server::crypto::hmac_sha256(key.as_bytes(), received.body.as_bytes()));
    assert_eq!(received.header("Sign"), sign, "Sign header");
    let id = received.header("webhook-id");
    let ts = received.header("webhook-timestamp");
    assert!(!id.is_empty());
    let now = duet_server::now_ms() / 1000;
    let ts_n: u64 = ts.parse().expect("timestamp");
    assert!(now.abs_diff(ts_n) < 300, "timestamp within 5 minutes");
    let signed = format!("{id}.{ts}.{}", received.body);
    let expected = format!("v1,{}", b64.encode(duet_server::crypto::hmac_sha256(key.as_bytes(), signed.as_bytes())));
    assert_eq!(received.header("webhook-signature"), expected, "webhook-signature header");
}
