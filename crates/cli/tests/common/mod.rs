//! A real `duet-server` on 127.0.0.1:0 and `duet-cli` processes against it.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use duet_server::{Config, Server, ServerHandle};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct TestServer {
    _dir: tempfile::TempDir,
    url: String,
    handle: ServerHandle,
}

pub async fn server() -> TestServer {
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
    pub fn cli(&self, user: &str, args: &[&str]) -> Child {
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
pub async fn finish(mut child: Child) -> (Vec<Value>, i32) {
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

pub fn states(lines: &[Value]) -> Vec<String> {
    lines.iter().filter(|l| l["event"] == "state").map(|l| l["state"].as_str().unwrap().to_owned()).collect()
}

pub fn last_stats(lines: &[Value]) -> &Value {
    lines.iter().rev().find(|l| l["event"] == "stats").expect("stats were printed")
}
