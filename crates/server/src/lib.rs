//! `duet-server`: the Duet signaling service as a library, so the desktop app
//! can embed it and tests can run it in-process on `127.0.0.1:0`.
//!
//! ```no_run
//! # async fn demo() -> duet_server::Result<()> {
//! let server = duet_server::Server::bind(duet_server::Config::new("duet-data")).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(duet_server::shutdown::signal()).await
//! # }
//! ```

pub mod bus;
pub mod config;
mod conn;
pub mod crypto;
pub mod deliver;
pub mod echo;
mod error;
pub mod hub;
pub mod metrics;
mod routes;
pub mod shutdown;
pub mod speedtest;
pub mod store;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

pub use config::Config;
pub use error::{Error, Result};
pub use hub::Hub;

use crate::bus::LocalBus;
use crate::crypto::{Signer, hash_password};
use crate::store::{SqliteStore, Store, UserRecord};

/// Current time in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Opens the data directory: the SQLite store and the signing secret.
pub fn open_data(config: &Config) -> Result<(Arc<dyn Store>, Signer)> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = SqliteStore::open(&config.data_dir)?;
    let signer = Signer::load_or_create(&config.data_dir)?;
    Ok((Arc::new(store), signer))
}

/// Refuses passwords shorter than 8 characters.
pub fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 { Err(Error::WeakPassword) } else { Ok(()) }
}

/// Creates an account after checking the id and the password.
pub fn create_user(store: &dyn Store, id: &str, display_name: &str, password: &str) -> Result<()> {
    if !duet_protocol::is_valid_user_id(id) {
        return Err(Error::InvalidUserId(id.to_string()));
    }
    check_password(password)?;
    let display_name = if display_name.trim().is_empty() { id } else { display_name.trim() };
    store.create_user(&UserRecord {
        id: id.to_string(),
        display_name: display_name.to_string(),
        avatar_url: None,
        password_hash: hash_password(password)?,
    })
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Server {
    hub: Arc<Hub>,
    listener: TcpListener,
    /// HTTPS/WSS instead of plain HTTP (`tls_cert` / `tls_key`).
    tls: Option<Arc<tls::Certificate>>,
    speed_tests: Arc<speedtest::SpeedTests>,
}

/// A server running in the background; see [`Server::spawn`].
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    hub: Arc<Hub>,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Server {
    /// Opens the data directory, restores open invitations and binds the listener.
    pub async fn bind(config: Config) -> Result<Server> {
        let (store, signer) = open_data(&config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls::Certificate::load(cert, key)?),
            (None, None) => None,
            _ => return Err(Error::Config("TLS needs both tls_cert and tls_key".into())),
        };
        let hub = Arc::new(Hub::new(config, store, Arc::new(LocalBus::default()), signer));
        hub.restore()?;
        let speed_tests = match hub.config.speedtest_listen {
            Some(addr) => speedtest::SpeedTests::bind_exactly(addr).await,
            // The HTTP port's number when it is free.
            None => {
                let addr = listener.local_addr()?;
                speedtest::SpeedTests::bind(addr.ip(), addr.port()).await
            }
        }
        .map_err(|e| Error::Config(format!("cannot open the speed-test UDP port: {e}")))?;
        Ok(Server { hub, listener, tls, speed_tests: Arc::new(speed_tests) })
    }

    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The shared state, for in-process helpers.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Serves until `shutdown` completes, then stops accepting, closes every
    /// WebSocket with a close frame and returns. Undelivered webhooks and pushes
    /// stay stored for the next start.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let hub = self.hub;
        let sockets = TaskTracker::new();
        let worker = tokio::spawn(hub.deliveries.clone().run(hub.stop.clone()));
        let stop = hub.stop.clone();
        let speed_tests = tokio::spawn(self.speed_tests.clone().serve(hub.stop.clone()));
        let app = routes::router(hub.clone(), sockets.clone(), self.speed_tests);
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!("duet-server listening on {scheme}://{}", self.listener.local_addr()?);
        let stopped = async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stop.cancelled() => {}
            }
        };
        #[cfg(unix)]
        let reloading = tls::reload_on_hangup(self.tls.clone())?;
        let served = match self.tls {
            Some(certificate) => {
                let listener = tls::TlsListener::new(self.listener, certificate.server_config()?)?;
                axum::serve(listener, app).with_graceful_shutdown(stopped).await
            }
            None => {
                // Signaling frames are small and latency-bound: no Nagle delay.
                let listener = self.listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, app).with_graceful_shutdown(stopped).await
            }
        };
        #[cfg(unix)]
        reloading.abort();
        served?;
        hub.stop.cancel();
        sockets.close();
        if tokio::time::timeout(Duration::from_secs(5), sockets.wait()).await.is_err() {
            tracing::warn!("some connections did not close within 5 s");
        }
        let _ = worker.await;
        let _ = speed_tests.await;
        tracing::info!("duet-server stopped");
        Ok(())
    }

    /// Runs the server on the current runtime until [`ServerHandle::shutdown`].
    pub fn spawn(self) -> ServerHandle {
        let addr = self.local_addr();
        let hub = self.hub.clone();
        let stop = hub.stop.clone();
        let task = tokio::spawn(self.run(std::future::pending()));
        ServerHandle { addr, hub, stop, task }
    }
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn shutdown(self) -> Result<()> {
        self.stop.cancel();
        self.task.await.map_err(|e| Error::Io(std::io::Error::other(e)))?
    }
}
