//! The `duet-server` binary as an admin uses it: add users, issue a token, serve,
//! answer /health and /metrics, and stop cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_duet-server");

fn duet(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write");
    child.wait_with_output().expect("exits")
}

#[tokio::test]
async fn an_admin_adds_users_issues_a_token_and_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    let added =
        duet(&["user", "add", "alice", "--password-stdin", "--name", "Alice", "--data", data], "a good password\n");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let weak = duet(&["user", "add", "bob", "--password-stdin", "--data", data], "short\n");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 8 characters"));
    let list = duet(&["user", "list", "--data", data], "");
    assert_eq!(String::from_utf8_lossy(&list.stdout), "alice\tAlice\n");

    let issued = duet(&["token", "issue", "--user", "alice", "--ttl", "1h", "--data", data], "");
    assert!(issued.status.success());
    let stdout = String::from_utf8_lossy(&issued.stdout);
    let token = stdout.split_whitespace().last().expect("token is the last word").to_string();
    let unknown = duet(&["token", "issue", "--user", "nobody", "--data", data], "");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user `nobody`"));

    let mut server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serves");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout")).read_line(&mut line).expect("banner");
    let base = line.trim().rsplit(' ').next().expect("address").to_string();

    let health = reqwest::get(format!("{base}/health")).await.expect("health").text().await.expect("body");
    assert_eq!(health, r#"{"status":"ok"}"#);
    let ws_url = format!("{}/v1/ws", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.expect("ws");
    ws.send(Message::Text(format!(r#"{{"type":"auth","token":"{token}"}}"#).into())).await.expect("send");
    let reply = ws.next().await.expect("reply").expect("frame");
    assert!(reply.to_text().expect("text").contains("auth.ok"), "{reply}");
    let metrics = reqwest::get(format!("{base}/metrics")).await.expect("metrics").text().await.expect("body");
    assert!(metrics.contains("duet_connections 1\n"), "{metrics}");
    assert!(metrics.contains("# TYPE duet_message_handling_seconds histogram"));

    let pid = server.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("closed in time");
    assert!(matches!(closed, Some(Ok(Message::Close(Some(_))))), "close frame on shutdown: {closed:?}");
    let status = server.wait().expect("exits");
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}

#[test]
fn help_documents_every_command() {
    let help = duet(&["--help"], "");
    let text = String::from_utf8_lossy(&help.stdout);
    for word in ["serve", "user", "token", "--data", "--config"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
    let serve = duet(&["serve", "--help"], "");
    let text = String::from_utf8_lossy(&serve.stdout);
    for word in ["--listen", "DUET_LISTEN", "--webhook-urls", "--push-urls", "--turn-secret"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
}
