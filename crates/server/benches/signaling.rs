//! Signaling benchmark against a real `duet-server` process on loopback.
//!
//! 1. Memory per idle authenticated connection: the server's RSS before and after
//!    opening `DUET_BENCH_CONNECTIONS` (default 20,000) WebSocket connections from
//!    several 127.0.0.x source addresses.
//! 2. `invite` → `invitation` delivery latency (p50/p99) at increasing sustained
//!    rates, and the highest rate the server keeps up with.
//!
//! Run: `cargo bench -p duet-server --bench signaling` (raise `ulimit -n` above 20,100 when allowed).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet_server::crypto::Signer;
use duet_server::store::{SqliteStore, Store, UserRecord};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

const SOURCE_ADDRESSES: u8 = 8;
const RATES: [u64; 8] = [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000];
/// The latency goal: p99 at or under this many milliseconds.
const P99_GOAL_MS: f64 = 10.0;
const STEP: Duration = Duration::from_secs(8);
const PAIRS: usize = 500;
/// Descriptors a process needs besides its connections (stdio, epoll, SQLite, listener).
const FD_MARGIN: usize = 40;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(data: &std::path::Path) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duet-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("DUET_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("duet-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("banner");
    let addr = line.trim().rsplit("http://").next().expect("address").parse().expect("socket address");
    ServerProcess { child, addr }
}

async fn connect(server: SocketAddr, source: u8, token: &str) -> Ws {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, source)), 0)).expect("bind source");
    let stream = socket.connect(server).await.expect("tcp connect");
    stream.set_nodelay(true).expect("nodelay");
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(format!("ws://{server}/v1/ws"), stream, Some(config))
        .await
        .expect("ws handshake");
    ws.send(Message::Text(format!(r#"{{"type":"auth","token":"{token}"}}"#).into())).await.expect("auth");
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("auth.ok") => ws,
        other => panic!("auth failed: {other:?}"),
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // Each process (this one and the server) needs one descriptor per connection plus
    // a few of its own; a lower open-file limit caps the count, and the output says so.
    let limit = open_files_limit() as usize;
    let wanted = env_usize("DUET_BENCH_CONNECTIONS", 20_000);
    let connections = wanted.min(limit.saturating_sub(FD_MARGIN));
    if connections < wanted {
        println!("open-file limit {limit}: measuring {connections} connections instead of {wanted}");
    }
    if connections < 2 * PAIRS {
        eprintln!("the open-file limit ({limit}) is too low; raise it with `ulimit -n`");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench(connections));
}

async fn bench(connections: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let users = connections.max(2 * PAIRS);
    {
        let store = SqliteStore::open(dir.path()).expect("store");
        let hash = duet_server::crypto::hash_password("bench password").expect("hash");
        for i in 0..users {
            let user = UserRecord {
                id: format!("u{i}"),
                display_name: format!("User {i}"),
                avatar_url: None,
                password_hash: hash.clone(),
            };
            store.create_user(&user).expect("user");
        }
    }
    let signer = Signer::load_or_create(dir.path()).expect("secret");
    let exp = duet_server::now_ms() + 3_600_000;
    let server = start_server(dir.path());
    let pid = server.child.id();
    println!("duet-server pid {pid} on {}", server.addr);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 1. Memory per idle connection.
    let base = rss_kib(pid);
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(connections);
    let mut pending = futures_util::stream::iter((0..connections).map(|i| {
        let token = signer.issue_token(&format!("u{i}"), exp);
        let addr = server.addr;
        async move { (i, connect(addr, 2 + (i % SOURCE_ADDRESSES as usize) as u8, &token).await) }
    }))
    .buffer_unordered(256);
    while let Some(opened) = pending.next().await {
        sockets.push(opened);
    }
    drop(pending);
    // Connections finish in any order; index i must be user u{i}.
    sockets.sort_unstable_by_key(|(i, _)| *i);
    let mut sockets: Vec<Ws> = sockets.into_iter().map(|(_, ws)| ws).collect();
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded = rss_kib(pid);
    let per_conn = (loaded.saturating_sub(base)) as f64 * 1024.0 / connections as f64;
    println!("connections: {connections} authenticated in {:.1} s", opened.as_secs_f64());
    println!("server RSS: {base} KiB idle, {loaded} KiB with {connections} connections");
    println!("memory per idle connection: {per_conn:.0} bytes ({:.2} KiB)", per_conn / 1024.0);

    // 2. Invite delivery latency. The first PAIRS connections invite the next PAIRS;
    // the other connections stay open and answer the server's keepalive pings, as
    // real clients do.
    let mut inviters = Vec::new();
    let mut invitees = Vec::new();
    for (i, ws) in sockets.drain(..2 * PAIRS).enumerate() {
        if i < PAIRS { inviters.push(ws) } else { invitees.push(ws) }
    }
    let idle = sockets.len();
    for mut ws in sockets {
        tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    }
    let clock = Instant::now();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let delivered = Arc::new(AtomicU64::new(0));
    for mut ws in invitees {
        let latencies = latencies.clone();
        let delivered = delivered.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                if v["type"] != "invitation" {
                    continue;
                }
                let sent: u64 = v["data"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0);
                let now = clock.elapsed().as_micros() as u64;
                latencies.lock().expect("lock").push(now.saturating_sub(sent));
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let (senders, mut sender_rx): (Vec<_>, Vec<_>) = (0..PAIRS).map(|_| tokio::sync::watch::channel(0u64)).unzip();
    for (i, ws) in inviters.into_iter().enumerate() {
        let invitee = format!("u{}", PAIRS + i);
        let mut rate_rx = sender_rx.remove(0);
        tokio::spawn(async move {
            // Replies (invite.ok) are read and dropped so the socket never backs up.
            let (mut tx, mut rx) = ws.split();
            tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
            loop {
                let rate = *rate_rx.borrow_and_update();
                if rate == 0 {
                    if rate_rx.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                let period = Duration::from_secs_f64(PAIRS as f64 / rate as f64);
                // Spread the inviters evenly over the period: a steady stream, not bursts.
                let offset = period.mul_f64(i as f64 / PAIRS as f64);
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            let sent = clock.elapsed().as_micros() as u64;
                            let msg = format!(r#"{{"type":"invite","to":["{invitee}"],"data":"{sent}","timeout_s":60}}"#);
                            if tx.send(Message::Text(msg.into())).await.is_err() { return; }
                        }
                        changed = rate_rx.changed() => { if changed.is_err() { return; } break; }
                    }
                }
            }
        });
    }
    println!(
        "\ninvite -> invitation delivery ({PAIRS} inviters, {PAIRS} invitees, {idle} more idle connections, {} s per rate)",
        STEP.as_secs()
    );
    println!("{:>12} {:>14} {:>10} {:>10} {:>10}", "target/s", "delivered/s", "p50 ms", "p99 ms", "max ms");
    let mut best = None;
    let mut within_goal = None;
    for rate in RATES {
        latencies.lock().expect("lock").clear();
        let before = delivered.load(Ordering::Relaxed);
        for s in &senders {
            let _ = s.send(rate);
        }
        tokio::time::sleep(STEP).await;
        for s in &senders {
            let _ = s.send(0);
        }
        let count = delivered.load(Ordering::Relaxed) - before;
        let mut l = std::mem::take(&mut *latencies.lock().expect("lock"));
        l.sort_unstable();
        let achieved = count as f64 / STEP.as_secs_f64();
        let (p50, p99, max) = (percentile(&l, 0.5), percentile(&l, 0.99), l.last().copied().unwrap_or(0));
        println!(
            "{rate:>12} {achieved:>14.0} {:>10.2} {:>10.2} {:>10.2}",
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            max as f64 / 1000.0
        );
        if achieved >= rate as f64 * 0.97 {
            best = Some((rate, p99));
            if p99 as f64 / 1000.0 <= P99_GOAL_MS {
                within_goal = Some(rate);
            }
        } else {
            break;
        }
        // Let the backlog drain before the next rate.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if let Some((rate, p99)) = best {
        println!("highest sustained rate: {rate} invitations/s (p99 {:.2} ms)", p99 as f64 / 1000.0);
    }
    if let Some(rate) = within_goal {
        println!("highest rate with p99 <= {P99_GOAL_MS} ms: {rate} invitations/s");
    }
    println!("server RSS at the end: {} KiB", rss_kib(pid));
    let metrics = reqwest::get(format!("http://{}/metrics", server.addr)).await.expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    println!("server-side message handling (from /metrics):");
    for line in metrics.lines().filter(|l| l.starts_with("duet_message_handling_seconds")) {
        println!("  {line}");
    }
}
