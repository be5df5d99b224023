//! `duet-cli` processes calling each other through a real `duet-server`: video and
//! audio flow both ways over WebRTC, and the echo user sends the caller's own
//! media back.

use std::process::Stdio;
use std::time::Duration;

use duet_server::{Config, Server, ServerHandle};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct TestServer {
    _dir: tempfile::TempDir,
    url: String,
    handle: ServerHandle,
}

async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = Server::bind(config).await.unwrap();
    for user in ["alice", "bob", "echo"] {
        duet_server::create_user(&*server.hub().store, user, user, "long enough password").unwrap();
    }
    let url = format!("http://{}", server.local_addr());
    TestServer { _dir: dir, url, handle: server.spawn() }
}

impl TestServer {
    fn cli(&self, user: &str, args: &[&str]) -> Child {
        let token = self.handle.hub().signer.issue_token(user, duet_server::now_ms() as u64 + 3_600_000);
        Command::new(env!("CARGO_BIN_EXE_duet-cli"))
            .args(["--server", &self.url, "--user", user, "--token", &token, "--udp", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }
}

/// Every JSON line the process printed, and its exit code.
async fn finish(mut child: Child) -> (Vec<Value>, i32) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push(serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), read).await.is_err() {
        panic!("the process did not finish within 30 s; it printed: {out:#?}");
    }
    let status = child.wait().await.unwrap();
    (out, status.code().unwrap_or(-1))
}

fn states(lines: &[Value]) -> Vec<String> {
    lines.iter().filter(|l| l["event"] == "state").map(|l| l["state"].as_str().unwrap().to_owned()).collect()
}

fn last_stats(lines: &[Value]) -> &Value {
    lines.iter().rev().find(|l| l["event"] == "stats").expect("stats were printed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_see_and_hear_each_other_then_hang_up() {
    let server = server().await;
    let callee = server.cli("bob", &["answer", "--synthetic"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caller = server.cli("alice", &["call", "bob", "--synthetic", "--duration", "3s"]);
    let ((caller_out, caller_code), (callee_out, callee_code)) = tokio::join!(finish(caller), finish(callee));

    for (who, lines) in [("caller", &caller_out), ("callee", &callee_out)] {
        eprintln!("{who}: {}", last_stats(lines));
    }
    for (who, lines, code) in [("caller", &caller_out, caller_code), ("callee", &callee_out, callee_code)] {
        let states = states(lines);
        assert!(states.contains(&"connected".to_owned()), "{who} states: {states:?}");
        assert!(states.contains(&"ended".to_owned()), "{who} states: {states:?}");
        let stats = last_stats(lines);
        assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "{who} decoded too little video: {stats}");
        assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "{who} heard too little: {stats}");
        assert_eq!(code, 0, "{who} exit code");
        assert!(stats["rtt_ms"].as_f64().is_some_and(|rtt| rtt < 100.0), "{who}: loopback RTT: {stats}");
        assert_eq!(stats["loss"], 0.0, "{who}: nothing is lost on loopback: {stats}");
        assert!(matches!(stats["quality"].as_u64(), Some(1 | 2)), "{who}: loopback is excellent or good: {stats}");
        assert!(stats["peer_quality"].is_u64(), "{who}: the peer's quality arrived: {stats}");
    }
    let ended = |lines: &[Value]| lines.iter().find(|l| l["state"] == "ended").cloned().unwrap();
    assert_eq!(ended(&caller_out)["reason"], "local_hangup");
    assert_eq!(ended(&callee_out)["reason"], "remote_hangup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_user_sends_the_callers_media_back() {
    let server = server().await;
    let echo = server.cli("echo", &["echo"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caller = server.cli("alice", &["call", "echo", "--synthetic", "--duration", "3s"]);
    let (lines, code) = finish(caller).await;
    drop(echo);
    let stats = last_stats(&lines);
    eprintln!("caller: {stats}");
    assert_eq!(code, 0);
    assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "own video came back: {stats}");
    assert!(stats["last_frame_counter"].is_u64(), "the returned frames are the caller's own, stamped: {stats}");
    assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "own audio came back: {stats}");
}
