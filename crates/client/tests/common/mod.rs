//! A real server on 127.0.0.1:0 and call managers connected to it.
#![allow(dead_code)]

use std::time::Duration;

use duet_client::{CallEvent, CallManager, CallState, ClientConfig, ManagerConfig};
use duet_server::{Config, Server, ServerHandle};
use tokio::sync::mpsc::UnboundedReceiver;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub handle: Option<ServerHandle>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(dir.path());
        config.listen = "127.0.0.1:0".parse().expect("addr");
        tweak(&mut config);
        let server = Server::bind(config.clone()).await.expect("binds");
        for user in ["alice", "bob", "carol"] {
            duet_server::create_user(&*server.hub().store, user, user, "long enough password").expect("user");
        }
        config.listen = server.local_addr();
        TestServer { dir, config, handle: Some(server.spawn()) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.config.listen)
    }

    pub fn token(&self, user: &str, ttl_ms: i64) -> String {
        let hub = self.handle.as_ref().expect("running").hub();
        hub.signer.issue_token(user, (duet_server::now_ms() as i64 + ttl_ms) as u64)
    }

    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await.expect("clean shutdown");
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        for _ in 0..50 {
            if let Ok(server) = Server::bind(self.config.clone()).await {
                self.handle = Some(server.spawn());
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not come back");
    }

    /// A call manager for `user`, already `prepared`.
    pub async fn manager(&self, user: &str) -> Phone {
        self.manager_with(user, |_| {}).await
    }

    pub async fn manager_with(&self, user: &str, tweak: impl FnOnce(&mut ManagerConfig)) -> Phone {
        let mut config = self.config_for(user);
        tweak(&mut config);
        Phone::start(config).await
    }

    /// Settings for `user`'s call manager: a valid token, quick reconnects.
    pub fn config_for(&self, user: &str) -> ManagerConfig {
        let mut client = ClientConfig::new(self.url(), self.token(user, 3_600_000));
        client.backoff_min = Duration::from_millis(50);
        client.backoff_max = Duration::from_millis(300);
        ManagerConfig::new(client)
    }
}

/// A call manager and what it reported.
pub struct Phone {
    pub manager: CallManager,
    pub events: UnboundedReceiver<CallEvent>,
    /// Every state reported, in order.
    pub seen: Vec<CallState>,
}

impl Phone {
    /// Starts a call manager on the current runtime and waits until it is `prepared`.
    pub async fn start(config: ManagerConfig) -> Phone {
        let (manager, events) = CallManager::start(config);
        let mut phone = Phone { manager, events, seen: Vec::new() };
        phone.wait_state("prepared").await;
        phone
    }

    /// Waits for the next state named `name`; returns it.
    pub async fn wait_state(&mut self, name: &str) -> CallState {
        let wait = async {
            loop {
                match self.events.recv().await.expect("manager running") {
                    CallEvent::State { state, .. } => {
                        self.seen.push(state.clone());
                        if state.name() == name {
                            return state;
                        }
                    }
                    _ => continue,
                }
            }
        };
        tokio::time::timeout(WAIT, wait).await.unwrap_or_else(|_| panic!("no `{name}` state; saw {:?}", self.seen))
    }

    /// Waits for a connection event matching `pred`.
    pub async fn wait_connection(&mut self, pred: impl Fn(&duet_client::ClientEvent) -> bool) {
        let wait = async {
            loop {
                if let CallEvent::Connection(e) = self.events.recv().await.expect("manager running")
                    && pred(&e)
                {
                    return;
                }
            }
        };
        tokio::time::timeout(WAIT, wait).await.expect("connection event in time");
    }
}
