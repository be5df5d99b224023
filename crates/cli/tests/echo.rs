//! A `duet-cli` in echo mode sends the caller's own media back.

use std::time::Duration;

mod common;
use common::{finish, last_stats, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_user_sends_the_callers_media_back() {
    let server = server().await;
    let echo = server.cli("echo", &["echo"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caller = server.cli("alice", &["call", "echo", "--synthetic", "--duration", "5s"]);
    let (lines, code) = finish(caller).await;
    drop(echo);
    let stats = last_stats(&lines);
    eprintln!("caller: {stats}");
    assert_eq!(code, 0);
    assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "own video came back: {stats}");
    assert!(stats["last_frame_counter"].is_u64(), "the returned frames are the caller's own, stamped: {stats}");
    assert!(stats["audio_packets_received"].as_u64().unwrap() >= 50, "own audio came back: {stats}");
}
