//! Authentication: HTTP login and registration, and the token check of the first
//! WebSocket message.

mod common;

use std::time::Duration;

use common::{Client, PASSWORD, TestServer};
use duet_server::crypto::Signer;
use serde_json::{Value, json};

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", server.addr()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("HTTP answer");
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().await.expect("body")).expect("JSON body"))
}

async fn refused(server: &TestServer, token: &str) -> Value {
    let mut client = Client::connect(server.addr()).await;
    client.send(json!({"type": "auth", "token": token})).await;
    let error = client.next().await.expect("an error before closing");
    client.expect_closed().await;
    error
}

#[tokio::test]
async fn login_returns_a_token_that_opens_a_websocket() {
    let server = TestServer::start().await;
    let (status, body) = post(&server, "/v1/login", json!({"user_id": "alice", "password": PASSWORD})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_at"].as_u64().expect("expires_at") > duet_server::now_ms() + 6 * 24 * 3_600_000);
    let mut client = Client::connect(server.addr()).await;
    client.send(json!({"type": "auth", "token": body["token"]})).await;
    assert_eq!(client.expect("auth.ok").await["user_id"], "alice");

    let (status, body) = post(&server, "/v1/login", json!({"user_id": "alice", "password": "wrong password"})).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = post(&server, "/v1/login", json!({"user_id": "nobody", "password": PASSWORD})).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = post(&server, "/v1/login", json!({"user": "alice"})).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
}

#[tokio::test]
async fn auth_ok_names_the_echo_user_only_where_there_is_one() {
    async fn auth_ok(server: &TestServer) -> Value {
        let mut client = Client::connect(server.addr()).await;
        client.send(json!({"type": "auth", "token": server.token("alice")})).await;
        client.expect("auth.ok").await
    }
    let plain = auth_ok(&TestServer::start().await).await;
    assert!(plain.get("echo_user").is_none(), "{plain}");
    let with_echo = auth_ok(&TestServer::start_with(|c| c.echo_user = Some("echo".into())).await).await;
    assert_eq!(with_echo["echo_user"], "echo");
}

#[tokio::test]
async fn registration_works_only_when_open() {
    let closed = TestServer::start().await;
    let body = json!({"user_id": "erin", "password": "long enough", "display_name": "Erin"});
    let (status, reply) = post(&closed, "/v1/register", body.clone()).await;
    assert_eq!((status, reply["code"].as_str()), (403, Some("forbidden")));

    let open = TestServer::start_with(|c| c.open_registration = true).await;
    let (status, reply) = post(&open, "/v1/register", body.clone()).await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = post(&open, "/v1/register", body).await;
    assert_eq!((status, reply["code"].as_str()), (400, Some("bad_request")), "taken: {reply}");
    let bad = json!({"user_id": "Bad Id", "password": "long enough", "display_name": "X"});
    assert_eq!(post(&open, "/v1/register", bad).await.0, 400);
    let short = json!({"user_id": "frank", "password": "short", "display_name": "Frank"});
    assert!(post(&open, "/v1/register", short).await.1["message"].as_str().expect("message").contains("8 characters"));
}

/// Like every request, `auth` may carry a `req` (PROTOCOL.md "Transport"): its answer,
/// `auth.ok` or the refusal, carries it back.
#[tokio::test]
async fn the_auth_messages_req_comes_back_in_its_answer() {
    let server = TestServer::start().await;
    let mut client = Client::connect(server.addr()).await;
    client.send(json!({"type": "auth", "req": 7, "token": server.token("alice")})).await;
    let ok = client.expect("auth.ok").await;
    assert_eq!((ok["req"].clone(), ok["user_id"].clone()), (json!(7), json!("alice")), "{ok}");

    let mut refused = Client::connect(server.addr()).await;
    refused.send(json!({"type": "auth", "req": 8, "token": "garbage"})).await;
    let error = refused.next().await.expect("an error before closing");
    assert_eq!((error["req"].clone(), error["code"].clone()), (json!(8), json!("unauthorized")), "{error}");
    let mut not_auth = Client::connect(server.addr()).await;
    not_auth.send(json!({"type": "contacts.list", "req": 9})).await;
    assert_eq!(not_auth.next().await.expect("an error")["req"], 9);
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_refused_and_the_socket_closed() {
    let server = TestServer::start_with(|c| c.auth_timeout = Duration::from_millis(300)).await;
    let forged = Signer::new(b"not the server's secret").issue_token("alice", duet_server::now_ms() + 60_000);
    assert_eq!(refused(&server, &forged).await["code"], "unauthorized");
    let expired = server.hub().signer.issue_token("alice", duet_server::now_ms() - 1);
    assert_eq!(refused(&server, &expired).await["code"], "token_expired");
    assert_eq!(refused(&server, "garbage").await["code"], "unauthorized");
    let ghost = server.hub().signer.issue_token("ghost", duet_server::now_ms() + 60_000);
    assert_eq!(refused(&server, &ghost).await["code"], "unauthorized");

    let mut first_not_auth = Client::connect(server.addr()).await;
    first_not_auth.send(json!({"type": "contacts.list", "req": 1})).await;
    assert_eq!(first_not_auth.next().await.expect("error")["code"], "unauthorized");
    first_not_auth.expect_closed().await;

    let mut silent = Client::connect(server.addr()).await;
    assert_eq!(silent.next().await.expect("error after the auth timeout")["code"], "unauthorized");
    silent.expect_closed().await;
}

#[tokio::test]
async fn a_signed_in_connection_learns_when_its_token_expires_and_can_renew_it() {
    let server = TestServer::start().await;
    let (_, login) = post(&server, "/v1/login", json!({"user_id": "alice", "password": PASSWORD})).await;
    let mut client = Client::connect(server.addr()).await;
    client.send(json!({"type": "auth", "token": login["token"]})).await;
    let ok = client.expect("auth.ok").await;
    assert_eq!(ok["token_expires_at"], login["expires_at"], "{ok}");

    let renewed = client.request(json!({"type": "token.renew"})).await;
    assert_eq!(renewed["type"], "token.ok", "{renewed}");
    let expires_at = renewed["expires_at"].as_u64().expect("expires_at");
    assert!(expires_at > duet_server::now_ms() + 6 * 24 * 3_600_000, "a full lifetime from now");
    let mut again = Client::connect(server.addr()).await;
    again.send(json!({"type": "auth", "token": renewed["token"]})).await;
    let ok = again.expect("auth.ok").await;
    assert_eq!((&ok["user_id"], &ok["token_expires_at"]), (&json!("alice"), &json!(expires_at)));
}
