//! `duet-server serve --echo-user echo`: a fresh server always has someone to
//! call, and that someone sends the caller's own audio and video back.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
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

/// `duet-server serve --echo-user echo` with alice, its URL and a token for alice.
async fn server_with_echo(data: &std::path::Path) -> (tokio::process::Child, String, String) {
    server_cli(data, &["user", "add", "--password-stdin", "alice"], "long enough password\n");
    let token = server_cli(data, &["token", "issue", "--user", "alice"], "");
    let token = token.split_whitespace().last().unwrap().to_owned();

    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_duet-server"))
        .arg("--data")
        .arg(data)
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
    (server, url.expect("the server said where it listens"), token)
}

/// Alice calls the echo user for a few seconds with `sources`: her exit code and report lines.
async fn call_echo(url: String, token: String, sources: duet_cli::Sources) -> (i32, Vec<serde_json::Value>) {
    let options = duet_cli::Options {
        server: url,
        user: "alice".into(),
        token,
        udp_addrs: vec!["127.0.0.1:0".into()],
        audio_only: false,
        duration: Some(Duration::from_secs(5)),
        sources,
        video_out: None,
        processing: None,
    };
    let mut out = Vec::new();
    let (_controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let call = duet_cli::run(options, duet_cli::Mode::Call { peer: "echo".into() }, controls_rx, |line| out.push(line));
    let code = tokio::time::timeout(Duration::from_secs(30), call).await.expect("the call ends");
    (code, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_the_echo_user_comes_back_to_the_caller() {
    let data = tempfile::tempdir().unwrap();
    let (_server, url, token) = server_with_echo(data.path()).await;
    let (code, out) = call_echo(url, token, duet_cli::Sources::SYNTHETIC).await;
    let stats = out.iter().rev().find(|l| l["event"] == "stats").expect("stats");
    eprintln!("caller: {stats}");
    assert_eq!(code, 0, "{out:#?}");
    assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "own video came back: {stats}");
    assert!(stats["last_frame_counter"].is_u64(), "the frames are the caller's own: {stats}");
    assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "own audio came back: {stats}");
}

/// A caller without a camera: the call goes on with sound, and both the
/// caller's own tile and the echo's say why there is no picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_camera_the_echo_says_why_there_is_no_picture() {
    let data = tempfile::tempdir().unwrap();
    let (_server, url, token) = server_with_echo(data.path()).await;
    let sources = duet_cli::Sources {
        video: duet_cli::VideoInput::Camera(Some("no camera by this name".into())),
        ..duet_cli::Sources::SYNTHETIC
    };
    let (code, out) = call_echo(url, token, sources).await;
    assert_eq!(code, 0, "{out:#?}");
    let error = out.iter().find(|l| l["event"] == "error").expect("the camera's error");
    assert_eq!(error["code"], -1301, "{error}");
    let ours = out.iter().find(|l| l["event"] == "local_media").expect("a local_media line");
    assert_eq!(
        (&ours["audio"], &ours["video"], &ours["video_off"]),
        (&json!(true), &json!(false), &json!("no_device"))
    );
    let theirs = out.iter().find(|l| l["event"] == "peer_media").expect("the echo's room.media");
    assert_eq!(
        (&theirs["user"], &theirs["video"], &theirs["video_off"]),
        (&json!("echo"), &json!(false), &json!("no_device"))
    );
    assert!(ours.get("audio_off").is_none() && theirs.get("audio_off").is_none(), "sound goes both ways: {theirs}");
    let stats = out.iter().rev().find(|l| l["event"] == "stats").expect("stats");
    assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "own audio came back: {stats}");
}
