//! A standard WebRTC peer takes part in Duet calls: a page written from
//! docs/protocol.md alone (`browser/echo_call.html`), in a real headless
//! Chromium, calls the echo user (the real `duet-echo` process) with the
//! browser's own default offer — VP8, VP9 and AV1 listed before H.264 — and
//! gets its own camera and microphone back: the answer picks H.264 constrained
//! baseline and Opus, and the browser decodes both.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::server_with_echo;

/// Node, Debian's Chromium and the UI's playwright-core (scripts/setup.sh installs all three).
fn browser_found(ui: &Path) -> bool {
    let node = std::process::Command::new("node").arg("--version").output().is_ok();
    let found = node && Path::new("/usr/bin/chromium").exists() && ui.join("node_modules/playwright-core").exists();
    if !found {
        assert!(std::env::var("CI").is_err(), "CI needs node, chromium and ui/node_modules (scripts/setup.sh)");
        eprintln!("skipped: no node, /usr/bin/chromium or ui/node_modules/playwright-core (run scripts/setup.sh)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_page_written_from_the_protocol_calls_the_echo_user_and_decodes_h264_and_opus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ui = root.join("ui");
    if !browser_found(&ui) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_server, url, token) = server_with_echo(data.path()).await;

    let screenshot = std::env::temp_dir().join("duet-browser-echo-call.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/echo_call.mjs");
    let browser = tokio::process::Command::new("node")
        .arg(&script)
        .args([&url, &token])
        .env("DUET_UI_DIR", &ui)
        .env("DUET_SCREENSHOT", &screenshot)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), browser).await.expect("the page finishes").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "node: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("the page's report");
    eprintln!("{}", serde_json::to_string_pretty(&result).unwrap());

    assert!(result["error"].is_null(), "the page's call failed: {result:#}");
    assert_eq!(result["auth_req_echoed"], true, "auth.ok carries the auth's req back");
    let offered: Vec<&str> = result["offered_codecs"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let first = |codec: &str| offered.iter().position(|c| *c == codec).unwrap_or(usize::MAX);
    assert!(first("VP8") < first("H264"), "the browser offers VP8 before H.264: {offered:?}");

    // The answer names H.264 constrained baseline (packetization mode 1) and Opus alone.
    let answer = result["answer"].as_str().expect("an answer");
    let answered: Vec<&str> = answer.lines().filter(|l| l.starts_with("a=rtpmap:")).collect();
    assert!(answered.iter().all(|l| l.contains("H264/90000") || l.contains("opus/48000")), "{answered:?}");
    assert!(answer.contains("profile-level-id=42e01f") && answer.contains("packetization-mode=1"), "{answer}");

    assert_eq!(result["connection"], "connected");
    let video = &result["video"];
    assert_eq!(video["codec"], "video/H264", "the browser decodes H.264: {video}");
    assert!(video["frames_decoded"].as_u64().unwrap() >= 60, "its own video came back: {video}");
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(320), Some(240)), "its own size: {video}");
    assert_eq!(result["sent_video_codec"], "video/H264", "and sends H.264: {result}");
    let audio = &result["audio"];
    assert_eq!(audio["codec"], "audio/opus", "{audio}");
    assert!(audio["samples_received"].as_u64().unwrap() >= 96_000, "2 s of its own sound came back: {audio}");
    assert!(audio["total_audio_energy"].as_f64().unwrap() > 0.0, "the beep is heard, not silence: {audio}");
}
