//! The embedded server: with no server configured, the app runs `duet-server`
//! itself (data in the app's data directory, on 127.0.0.1), so a newcomer can
//! sign in and place a test call at once.

use std::path::Path;

use duet_server::{Config, Server, ServerHandle};
use rand::Rng;

use crate::error::{AppError, AppResult, ErrorCode};

/// The user that answers test calls on the embedded server.
pub const ECHO_USER: &str = "echo";

pub struct LocalServer {
    handle: ServerHandle,
    pub url: String,
}

impl LocalServer {
    /// Starts the server on a free loopback port with its data under `data_dir`.
    pub async fn start(data_dir: &Path) -> AppResult<LocalServer> {
        let failed = |e: &dyn std::fmt::Display| {
            AppError::new(ErrorCode::LocalServer, format!("The built-in server could not start: {e}."))
        };
        std::fs::create_dir_all(data_dir).map_err(|e| failed(&e))?;
        let mut config = Config::new(data_dir);
        config.listen = ([127, 0, 0, 1], 0).into();
        config.echo_user = Some(ECHO_USER.to_owned());
        let server = Server::bind(config).await.map_err(|e| failed(&e))?;
        let url = format!("http://{}", server.local_addr());
        // Someone to call from the first minute: the echo sends the caller's own picture and voice
        // back. The app has the call engine, so the bot runs in this process.
        let echo = duet_server::echo::login(&server, ECHO_USER).map_err(|e| failed(&e))?;
        // Two lines: the built-in server's own users (one person, at most two accounts) calling at once.
        let login =
            duet_echo::EchoLogin { server: echo.server, user: echo.user, token: echo.token, lines: 2, ca_file: None };
        tokio::spawn(async move {
            if let Err(error) = duet_echo::run(login).await {
                tracing::error!("the built-in server's echo user stopped: {error}");
            }
        });
        Ok(LocalServer { handle: server.spawn(), url })
    }

    /// Creates `user_id` unless it exists, with a random password nobody needs:
    /// the app signs its own users in with tokens it issues.
    pub fn ensure_user(&self, user_id: &str, display_name: &str) -> AppResult<()> {
        let store = &*self.handle.hub().store;
        let exists = store.user(user_id).map_err(|e| AppError::new(ErrorCode::LocalServer, e.to_string()))?;
        if exists.is_none() {
            let password: String =
                rand::thread_rng().sample_iter(rand::distributions::Alphanumeric).take(32).map(char::from).collect();
            duet_server::create_user(store, user_id, display_name, &password).map_err(|e| {
                AppError::new(ErrorCode::LocalServer, format!("Cannot create the user {user_id}: {e}."))
            })?;
        }
        Ok(())
    }

    /// A token for `user_id`, valid as long as the server's tokens are; with its expiry (Unix ms).
    pub fn issue(&self, user_id: &str) -> (String, u64) {
        let hub = self.handle.hub();
        let expires_at = duet_server::now_ms() + hub.config.token_ttl.as_millis() as u64;
        (hub.signer.issue_token(user_id, expires_at), expires_at)
    }

    pub async fn stop(self) {
        if let Err(error) = self.handle.shutdown().await {
            tracing::warn!("the built-in server did not stop cleanly: {error}");
        }
    }
}

/// A user id for the person at this computer: their login name where it is a
/// valid id, else "me".
pub fn local_user_id() -> String {
    let name = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default().to_lowercase();
    if duet_protocol::is_valid_user_id(&name) && name != ECHO_USER { name } else { "me".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duet_client::{ClientConfig, ClientEvent, SignalingClient};

    #[tokio::test]
    async fn the_built_in_server_signs_its_user_in_and_knows_the_echo_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = LocalServer::start(dir.path()).await.expect("starts");
        local.ensure_user("me", "Me").expect("creates the user");
        local.ensure_user("me", "Me").expect("an existing user is fine");
        let (token, expires_at) = local.issue("me");
        assert!(expires_at > duet_server::now_ms());
        let (client, mut events) = SignalingClient::connect(ClientConfig::new(local.url.clone(), token));
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await.expect("in time");
        assert!(matches!(first, Some(ClientEvent::Connected { ref user_id, .. }) if user_id == "me"), "{first:?}");
        let reply = client
            .request(duet_protocol::ClientMessage::ContactsAdd(duet_protocol::ContactsChange {
                req: None,
                user: ECHO_USER.into(),
            }))
            .await;
        assert!(reply.is_ok(), "the echo user exists: {reply:?}");
        client.close();
        local.stop().await;
        // Its data stays: a second start finds the users again.
        let again = LocalServer::start(dir.path()).await.expect("starts again");
        assert!(again.handle.hub().store.user("me").expect("reads").is_some());
        again.stop().await;
    }
}
