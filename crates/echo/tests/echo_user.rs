//! `duet-server serve --echo-user echo`: a fresh server always has someone to
//! call (the `duet-echo` bot, a process of its own), and that someone sends the
//! caller's own audio and video back.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

mod common;
use common::server_with_echo;

/// Alice calls the echo user for a few seconds with `sources`: her exit code and report lines.
async fn call_echo(url: String, token: String, sources: duet_cli::Sources) -> (i32, Vec<serde_json::Value>) {
    call_echo_as("alice", url, token, sources, Duration::from_secs(5), |_| {}).await
}

/// `user` calls the echo user (talking for `talk` once connected) with `sources`, handing
/// each report line to `watch` as it comes: the exit code and every line.
async fn call_echo_as(
    user: &str,
    url: String,
    token: String,
    sources: duet_cli::Sources,
    talk: Duration,
    mut watch: impl FnMut(&serde_json::Value),
) -> (i32, Vec<serde_json::Value>) {
    let options = duet_cli::Options {
        server: url,
        user: user.into(),
        token,
        udp_addrs: vec!["127.0.0.1:0".into()],
        audio_only: false,
        duration: Some(talk),
        sources,
        video_out: None,
        processing: None,
        relay_only: false,
        ca_file: None,
    };
    let mut out = Vec::new();
    let (_controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let report = |line: serde_json::Value| {
        watch(&line);
        out.push(line);
    };
    let call = duet_cli::run(options, duet_cli::Mode::Call { peer: "echo".into() }, controls_rx, report);
    let code = tokio::time::timeout(Duration::from_secs(60), call).await.expect("the call ends");
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

/// A team's rollout day: eight testers call the echo user at once, each gets their own
/// picture back (their own stamps, never another caller's), and a ninth hears that the
/// test line is busy instead of a bare "busy".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_callers_at_once_each_get_their_own_frames_back_and_a_ninth_hears_the_line_is_busy() {
    const CALLERS: u32 = 8;
    /// Far apart stamp counters: a caller's frames are those in its own range.
    const RANGE: u32 = 1_000_000;
    let data = tempfile::tempdir().unwrap();
    let (server, url, _) = server_with_echo(data.path()).await;
    let hub = server.hub();
    let token_for = |user: &str| {
        duet_server::create_user(&*hub.store, user, user, "long enough password").expect("a tester");
        hub.signer.issue_token(user, duet_server::now_ms() + 3_600_000)
    };
    let (connected_tx, mut connected) = tokio::sync::mpsc::unbounded_channel();
    let mut calls = tokio::task::JoinSet::new();
    for n in 1..=CALLERS {
        let user = format!("tester{n}");
        let (url, token, connected_tx) = (url.clone(), token_for(&user), connected_tx.clone());
        let sources = duet_cli::Sources { first_frame: n * RANGE, ..duet_cli::Sources::SYNTHETIC };
        calls.spawn(async move {
            let watch = move |line: &serde_json::Value| {
                if line["event"] == "state" && line["state"] == "connected" {
                    let _ = connected_tx.send(());
                }
            };
            let (code, out) = call_echo_as(&user, url, token, sources, Duration::from_secs(8), watch).await;
            (n, code, out)
        });
    }
    for _ in 0..CALLERS {
        tokio::time::timeout(Duration::from_secs(30), connected.recv()).await.expect("every tester connects");
    }

    let ninth = call_echo_as(
        "tester9",
        url.clone(),
        token_for("tester9"),
        duet_cli::Sources::SYNTHETIC,
        Duration::from_secs(8),
        |_| {},
    );
    let (code, out) = ninth.await;
    let ended = out.iter().find(|l| l["event"] == "state" && l["state"] == "ended").expect("the ninth call ends");
    assert_eq!(ended["reason"], "test_line_busy", "{out:#?}");
    assert_ne!(code, 0, "the ninth call did not happen");

    while let Some(done) = calls.join_next().await {
        let (n, code, out) = done.expect("a tester's call");
        assert_eq!(code, 0, "tester{n}: {out:#?}");
        let stats: Vec<_> = out.iter().filter(|l| l["event"] == "stats").collect();
        let last = stats.last().unwrap_or_else(|| panic!("tester{n} has stats"));
        eprintln!("tester{n}: {last}");
        assert!(last["frames_decoded"].as_u64().unwrap() >= 20, "tester{n}'s video came back: {last}");
        for line in &stats {
            let Some(counter) = line["last_frame_counter"].as_u64() else { continue };
            let own = u64::from(n * RANGE)..u64::from((n + 1) * RANGE);
            assert!(own.contains(&counter), "tester{n} decoded another caller's frame {counter}: {line}");
        }
        assert!(last["audio_packets_received"].as_u64().unwrap() >= 50, "tester{n}'s sound came back: {last}");
    }
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
