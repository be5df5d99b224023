//! Logging in over HTTP against a real server, and what a user sees when it fails.

mod common;

use common::TestServer;
use duet_client::{Error, account};
use duet_protocol::ErrorCode;

#[tokio::test]
async fn logging_in_returns_a_token_the_server_accepts() {
    let server = TestServer::start().await;
    let reply = account::login(&server.url(), "alice", "long enough password").await.expect("logs in");
    assert!(reply.expires_at > duet_server::now_ms(), "the token is still valid");
    let (_client, mut events) =
        duet_client::SignalingClient::connect(duet_client::ClientConfig::new(server.url(), reply.token));
    let first = tokio::time::timeout(common::WAIT, events.recv()).await.expect("in time").expect("an event");
    assert!(
        matches!(first, duet_client::ClientEvent::Connected { ref user_id, .. } if user_id == "alice"),
        "{first:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_says_so_in_plain_words() {
    let server = TestServer::start().await;
    let error = account::login(&server.url(), "alice", "not the password").await.expect_err("refused");
    assert_eq!(error, Error::Server { code: ErrorCode::Unauthorized, message: "wrong user name or password".into() });
}

#[tokio::test]
async fn registering_on_a_closed_server_is_forbidden() {
    let server = TestServer::start().await;
    let error = account::register(&server.url(), "dave", "long enough password", "Dave").await.expect_err("closed");
    assert!(matches!(error, Error::Server { code: ErrorCode::Forbidden, .. }), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_or_malformed_address_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let closed = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let error = account::login(&closed, "alice", "long enough password").await.expect_err("nobody listens");
    assert!(matches!(&error, Error::Connect(m) if m.contains("cannot reach the server at")), "{error:?}");
    let error = account::login("example.org:8443", "alice", "x").await.expect_err("no scheme");
    assert!(error.to_string().contains("starts with http://"), "{error}");
}

/// A server whose certificate this computer does not trust: signing in says so, naming
/// the certificate problem (the app shows it on the login screen), and nothing is retried.
#[tokio::test]
async fn signing_in_to_a_server_with_an_untrusted_certificate_names_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let self_signed = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&cert, self_signed.cert.pem()).expect("writes");
    std::fs::write(&key, self_signed.signing_key.serialize_pem()).expect("writes");
    let mut config = duet_server::Config::new(dir.path());
    config.listen = ([127, 0, 0, 1], 0).into();
    (config.tls_cert, config.tls_key) = (Some(cert), Some(key));
    let server = duet_server::Server::bind(config).await.expect("serves HTTPS");
    let url = format!("https://localhost:{}", server.local_addr().port());
    let _server = server.spawn();

    let error = account::login(&url, "alice", "long enough password").await.expect_err("not trusted");
    assert!(
        matches!(&error, Error::Certificate(m) if m.contains("the server's certificate is signed by an authority this computer does not trust")),
        "{error:?}"
    );
    // Trusted through a CA file (the app's policy `ca_file`), the same sign-in reaches the
    // server, which answers for the account (nobody named alice lives there).
    let trusted = account::Server { url: &url, ca_file: Some(&dir.path().join("server.pem")) };
    let error = account::login(trusted, "alice", "long enough password").await.expect_err("no such account");
    assert!(matches!(&error, Error::Server { code: duet_protocol::ErrorCode::Unauthorized, .. }), "{error:?}");
    let (_client, mut events) = duet_client::SignalingClient::connect(duet_client::ClientConfig::new(url, "token"));
    let first = tokio::time::timeout(common::WAIT, events.recv()).await.expect("in time").expect("an event");
    assert!(
        matches!(&first, duet_client::ClientEvent::CertificateRejected { message } if message.contains("does not trust")),
        "{first:?}"
    );
    assert!(
        tokio::time::timeout(common::WAIT, events.recv()).await.expect("ends").is_none(),
        "no retries: the client stopped"
    );
}
