//! A real `duet-server` on 127.0.0.1:0 and `duet-cli` processes against it.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use duet_server::{Config, Server, ServerHandle};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub mod natlab;
pub mod netlab;

pub struct TestServer {
    _dir: tempfile::TempDir,
    url: String,
    port: u16,
    handle: Option<ServerHandle>,
    /// As started, on the port it got: a restart comes back on the same one.
    config: Config,
}

pub async fn server() -> TestServer {
    server_on("127.0.0.1").await
}

/// A server listening on `address` (port chosen by the system).
pub async fn server_on(address: &str) -> TestServer {
    server_with(address, |_| {}).await
}

/// A server on `address` whose config `tweak` adjusts (its ICE servers, say).
pub async fn server_with(address: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.listen = format!("{address}:0").parse().unwrap();
    tweak(&mut config);
    let server = Server::bind(config.clone()).await.unwrap();
    config.listen = server.local_addr();
    for user in ["alice", "bob", "echo"] {
        duet_server::create_user(&*server.hub().store, user, user, "long enough password").unwrap();
    }
    // A TLS certificate names a host, not an address.
    let url = match server.hub().config.tls_cert {
        Some(_) => format!("https://localhost:{}", server.local_addr().port()),
        None => format!("http://{}", server.local_addr()),
    };
    TestServer { _dir: dir, url, port: server.local_addr().port(), handle: Some(server.spawn()), config }
}

impl TestServer {
    /// Stops the server (every connection closes), waits `outage`, and starts it
    /// again on the same port and data.
    pub async fn restart_after(&mut self, outage: Duration) {
        self.handle.take().expect("running").shutdown().await.unwrap();
        tokio::time::sleep(outage).await;
        let server = Server::bind(self.config.clone()).await.unwrap();
        self.handle = Some(server.spawn());
    }

    fn hub(&self) -> &std::sync::Arc<duet_server::Hub> {
        self.handle.as_ref().expect("running").hub()
    }

    /// `user`'s call history as the server recorded it, newest first.
    pub fn history(&self, user: &str) -> Vec<duet_protocol::HistoryEntry> {
        self.hub().store.history(user, 10, None).unwrap()
    }

    pub fn cli(&self, user: &str, args: &[&str]) -> Child {
        let token = self.hub().signer.issue_token(user, duet_server::now_ms() as u64 + 3_600_000);
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

/// A running `duet-cli` whose lines are read as they come, and whose standard
/// input takes controls.
pub struct Live {
    child: Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::sync::mpsc::UnboundedReceiver<Value>,
    pub seen: Vec<Value>,
}

impl TestServer {
    pub fn live(&self, user: &str, args: &[&str]) -> Live {
        self.live_with_command(Command::new(env!("CARGO_BIN_EXE_duet-cli")), user, args)
    }

    /// [`live`](Self::live) with `command` (`duet-cli` with an environment of its own, say).
    pub fn live_with_command(&self, mut command: Command, user: &str, args: &[&str]) -> Live {
        command.args(["--server", &self.url, "--udp", "127.0.0.1:0"]);
        self.live_with(command, user, args)
    }

    /// `duet-cli` run by `command` (e.g. inside a network namespace), reaching
    /// the server at `server_host` and sending media from `media_host`.
    pub fn live_at(
        &self,
        mut command: Command,
        server_host: &str,
        media_host: &str,
        user: &str,
        args: &[&str],
    ) -> Live {
        command.args(["--server", &format!("http://{server_host}:{}", self.port), "--udp", &format!("{media_host}:0")]);
        self.live_with(command, user, args)
    }

    fn live_with(&self, mut command: Command, user: &str, args: &[&str]) -> Live {
        let token = self.hub().signer.issue_token(user, duet_server::now_ms() as u64 + 3_600_000);
        let mut child = command
            .args(["--user", user, "--token", &token])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                let value = serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Live { child, stdin, lines, seen: Vec::new() }
    }
}

impl Live {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Waits (up to 20 s) for a line that `matches`, and returns it.
    pub async fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let wait = async {
            loop {
                let line = self.lines.recv().await?;
                self.seen.push(line.clone());
                if matches(&line) {
                    return Some(line);
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(20), wait).await {
            Ok(Some(line)) => line,
            _ => panic!("no {what} within 20 s; seen: {:#?}", self.seen),
        }
    }

    /// Waits for the media event `state` (`connected`, `reconnecting`) and returns it.
    pub async fn media(&mut self, state: &str) -> Value {
        self.wait_for(&format!("media {state}"), |l| l["event"] == "media" && l["state"] == state).await
    }

    /// The first stats line printed from now on (lines already printed are skipped).
    pub async fn stats(&mut self) -> Value {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.wait_for("stats", |l| l["event"] == "stats").await
    }

    pub async fn control(&mut self, line: &str) {
        use tokio::io::AsyncWriteExt;
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    }

    /// Every line up to the end, and the exit code.
    pub async fn finish(self) -> (Vec<Value>, i32) {
        self.finish_within(Duration::from_secs(30)).await
    }

    /// [`finish`](Self::finish), for a process that may take up to `wait` to end.
    pub async fn finish_within(mut self, wait: Duration) -> (Vec<Value>, i32) {
        let drain = async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line);
            }
        };
        if tokio::time::timeout(wait, drain).await.is_err() {
            panic!("the process did not finish within {wait:?}; it printed: {:#?}", self.seen);
        }
        let status = self.child.wait().await.unwrap();
        (self.seen, status.code().unwrap_or(-1))
    }
}
