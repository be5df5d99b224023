//! `duet-server serve --echo-user echo`: a fresh server always has someone to
//! call, and that someone sends the caller's own audio and video back.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

fn server_cli(data: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duet-server"))
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "duet-server {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_the_echo_user_comes_back_to_the_caller() {
    let data = tempfile::tempdir().unwrap();
    server_cli(data.path(), &["user", "add", "--password-stdin", "alice"], "long enough password\n");
    let token = server_cli(data.path(), &["token", "issue", "--user", "alice"], "");
    let token = token.split_whitespace().last().unwrap().to_owned();

    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_duet-server"))
        .arg("--data")
        .arg(data.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--echo-user", "echo"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut url = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("duet-server listening on ") {
            url = Some(rest.to_owned());
        }
        if line.contains("echo user echo is answering calls") {
            break;
        }
    }
    let url = url.expect("the server said where it listens");

    let options = duet_cli::Options {
        server: url,
        user: "alice".into(),
        token,
        udp_addrs: vec!["127.0.0.1:0".into()],
        audio_only: false,
        duration: Some(Duration::from_secs(5)),
        sources: duet_cli::Sources::SYNTHETIC,
        video_out: None,
        processing: None,
    };
    let mut out = Vec::new();
    let (_controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let call = duet_cli::run(options, duet_cli::Mode::Call { peer: "echo".into() }, controls_rx, |line| out.push(line));
    let code = tokio::time::timeout(Duration::from_secs(30), call).await.expect("the call ends");
    let stats = out.iter().rev().find(|l| l["event"] == "stats").expect("stats");
    eprintln!("caller: {stats}");
    assert_eq!(code, 0, "{out:#?}");
    assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "own video came back: {stats}");
    assert!(stats["last_frame_counter"].is_u64(), "the frames are the caller's own: {stats}");
    assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "own audio came back: {stats}");
}
