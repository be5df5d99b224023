//! What the echo user's tests share.

use std::path::Path;

/// A server with alice and the echo user (the `duet-echo` program, started the way
/// `duet-server serve --echo-user echo` starts it): its URL and a token for alice.
pub async fn server_with_echo(data: &Path) -> (duet_server::ServerHandle, String, String) {
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
