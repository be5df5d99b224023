//! In-call controls and degraded calls between two real `duet-cli` processes:
//! mute and camera-off reach the peer's indicators and stop what is sent; an
//! audio-only call sends no video; a missing camera is reported and the call
//! goes on with audio.

use serde_json::Value;

mod common;
use common::{last_stats, server, states};

fn count(stats: &Value, field: &str) -> u64 {
    stats[field].as_u64().unwrap_or_else(|| panic!("{field} in {stats}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_and_camera_off_reach_the_peer_and_stop_sending() {
    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live("alice", &["call", "bob", "--synthetic"]);
    caller.wait_for("media", |l| l["event"] == "media" && l["state"] == "connected").await;
    caller.stats().await;

    caller.control("mute").await;
    caller.control("camera off").await;
    let off = |l: &Value| l["event"] == "peer_media" && l["audio"] == false && l["video"] == false;
    callee.wait_for("the peer's mute and camera-off", off).await;
    // One report for the controls to land, then two that must show nothing sent.
    caller.stats().await;
    let before = caller.stats().await;
    let after = caller.stats().await;
    for field in ["frames_sent", "audio_packets_sent"] {
        assert_eq!(count(&before, field), count(&after, field), "{field} stays still while off: {before} {after}");
    }
    // Bob receives nothing from her, yet her network is fine: not "down" (6), no reconnecting.
    let quiet = callee.stats().await;
    assert!(matches!(count(&quiet, "quality"), 1..=3), "a muted peer is not a network that is down: {quiet}");
    assert!(!callee.seen.iter().any(|l| l["event"] == "media" && l["state"] == "reconnecting"), "{:?}", callee.seen);

    caller.control("unmute").await;
    caller.control("camera on").await;
    let on = |l: &Value| l["event"] == "peer_media" && l["audio"] == true && l["video"] == true;
    callee.wait_for("the peer back on", on).await;
    let frames_at_resume = count(&callee.stats().await, "frames_decoded");
    caller.stats().await;
    let resumed = caller.stats().await;
    assert!(count(&resumed, "frames_sent") > count(&after, "frames_sent"), "video resumes: {resumed}");
    assert!(count(&resumed, "audio_packets_sent") > count(&after, "audio_packets_sent"), "audio resumes: {resumed}");
    let decoded = count(&callee.stats().await, "frames_decoded");
    assert!(decoded > frames_at_resume, "the peer decodes again after camera on (a keyframe came first)");

    caller.control("hangup").await;
    let (caller_out, caller_code) = caller.finish().await;
    let (callee_out, callee_code) = callee.finish().await;
    assert_eq!((caller_code, callee_code), (0, 0));
    assert!(states(&caller_out).contains(&"ended".to_owned()));
    assert!(states(&callee_out).contains(&"ended".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_only_call_sends_no_video_either_way() {
    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let caller = server.live("alice", &["call", "bob", "--synthetic", "--audio-only", "--duration", "3s"]);
    let (caller_out, caller_code) = caller.finish().await;
    let (callee_out, callee_code) = callee.finish().await;
    assert_eq!((caller_code, callee_code), (0, 0), "{caller_out:#?} {callee_out:#?}");
    for (who, lines) in [("caller", &caller_out), ("callee", &callee_out)] {
        let stats = last_stats(lines);
        assert_eq!((count(stats, "frames_sent"), count(stats, "frames_decoded")), (0, 0), "{who}: {stats}");
        assert!(count(stats, "audio_frames_decoded") >= 75, "{who} hears the other: {stats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_camera_the_caller_is_told_and_the_call_goes_on_with_audio() {
    if duet_media::cameras().is_ok_and(|cameras| !cameras.is_empty()) {
        eprintln!("skipped: this machine has a camera");
        return;
    }
    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live("alice", &["call", "bob", "--synthetic", "--camera", "--duration", "3s"]);
    let error = caller.wait_for("the camera error", |l| l["event"] == "error").await;
    assert_eq!(error["code"], -1301, "the seed's camera start failure: {error}");
    assert!(error["message"].as_str().unwrap().contains("no camera was found"), "{error}");
    callee.wait_for("camera-off indicator", |l| l["event"] == "peer_media" && l["video"] == false).await;

    let (caller_out, caller_code) = caller.finish().await;
    let (callee_out, callee_code) = callee.finish().await;
    assert_eq!(
        (caller_code, callee_code),
        (0, 0),
        "the call went on and ended normally: {caller_out:#?} {callee_out:#?}"
    );
    let (caller_stats, callee_stats) = (last_stats(&caller_out), last_stats(&callee_out));
    assert_eq!(count(caller_stats, "frames_sent"), 0, "{caller_stats}");
    assert_eq!(count(callee_stats, "frames_decoded"), 0, "{callee_stats}");
    assert!(count(caller_stats, "frames_decoded") > 0, "the caller still sees the callee: {caller_stats}");
    assert!(count(callee_stats, "audio_frames_decoded") >= 75, "the callee hears the caller: {callee_stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_a_device_that_fails_keeps_the_current_one() {
    let server = server().await;
    let mut callee = server.live("bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["state"] == "prepared").await;
    let mut caller = server.live("alice", &["call", "bob", "--synthetic"]);
    caller.wait_for("media", |l| l["event"] == "media" && l["state"] == "connected").await;

    caller.control("use mic no such microphone").await;
    let error = caller.wait_for("the microphone error", |l| l["event"] == "error").await;
    assert_eq!(error["code"], -1302, "{error}");
    assert!(error["message"].as_str().unwrap().contains("\"no such microphone\""), "{error}");
    assert!(error["message"].as_str().unwrap().contains("was not changed"), "{error}");
    if duet_media::cameras().is_ok_and(|cameras| cameras.is_empty()) {
        caller.control("use camera").await;
        let error = caller.wait_for("the camera error", |l| l["event"] == "error").await;
        assert_eq!(error["code"], -1301, "{error}");
    }
    caller.control("use speaker").await;
    caller.control("use").await;
    caller
        .wait_for("the bad control's error", |l| l["message"].as_str().is_some_and(|m| m.contains("unknown control")))
        .await;

    let before = caller.stats().await;
    let after = caller.stats().await;
    for field in ["frames_sent", "audio_packets_sent"] {
        assert!(count(&after, field) > count(&before, field), "{field} goes on with the old device: {after}");
    }
    caller.control("hangup").await;
    assert_eq!(caller.finish().await.1, 0);
    assert_eq!(callee.finish().await.1, 0);
}
