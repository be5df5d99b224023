//! `duet-server serve --echo-user echo`: a fresh server always has someone to
//! call (the `duet-echo` bot, a process of its own), and that someone sends the
//! caller's own audio and video back.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

/// A server with alice and the echo user (the `duet-echo` program, started the way
/// `duet-server serve --echo-user echo` starts it): its URL and a token for alice.
async fn server_with_echo(data: &Path) -> (duet_server::ServerHandle, String, String) {
    let mut config = duet_server::Config::new(data);
    config.listen = ([127, 0, 0, 1], 0).into();
    config.echo_user = Some("echo".into());
    let server = duet_server::Server::bind(config).await.expect("the server starts");
    duet_server::create_user(&*server.hub().store, "alice", "Alice", "long enough password").expect("alice");
    let token = server.hub().signer.issue_token("alice", duet_server::now_ms() + 3_600_000);
    duet_server::echo::spawn(&server, "echo", Path::new(env!("CARGO_BIN_EXE_duet-echo"))).expect("the echo starts");
    let url = format!("http://{}", server.local_addr());
    (server.spawn(), url, token)
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

/// The server starts the echo with a pipe for its standard input: when the
/// server goes, so does the echo.
#[tokio::test]
async fn the_echo_stops_when_its_server_does() {
    let mut echo = tokio::process::Command::new(env!("CARGO_BIN_EXE_duet-echo"))
        .args(["--server", "http://127.0.0.1:9", "--user", "echo", "--until-stdin-closes"])
        .env("DUET_TOKEN", "not a token")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(echo.try_wait().expect("waits").is_none(), "it runs while its input is open");
    drop(echo.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(5), echo.wait()).await.expect("it stops").expect("waits");
    assert!(status.success(), "{status}");
}
