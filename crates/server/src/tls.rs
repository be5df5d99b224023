//! HTTPS and WSS served by duet-server itself (`tls_cert` / `tls_key`), for
//! admins who put no TLS terminator in front. Handshakes run beside each other,
//! so a slow or broken client never holds up the next one. SIGHUP reads the
//! certificate files again (after a renewal).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::{Error, Result};

/// Handshakes that may wait to be taken by the server.
const BACKLOG: usize = 64;

/// The server's certificate, read from its PEM files again on [`reload`](Self::reload)
/// (SIGHUP): a renewed certificate is served to new connections without a restart.
#[derive(Debug)]
pub struct Certificate {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    /// The certificate chain and key of `cert` and `key` (PEM files).
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Certificate>> {
        let current = RwLock::new(certified_key(cert, key)?);
        Ok(Arc::new(Certificate { cert: cert.to_owned(), key: key.to_owned(), current }))
    }

    /// Reads the files again. A pair that cannot be used leaves the current one
    /// in place and says what is wrong.
    pub fn reload(&self) -> Result<()> {
        let fresh = certified_key(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// A TLS configuration that serves whatever this holds at each handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>> {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>> {
    let bad = |path: &Path, e: &dyn std::fmt::Display| Error::Config(format!("TLS: {}: {e}", path.display()));
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, &e))?;
    if chain.is_empty() {
        return Err(bad(cert, &"no PEM certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    let certified = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| Error::Config(format!("TLS: the certificate and key do not go together: {e}")))?;
    Ok(Arc::new(certified))
}

/// Reloads `certificate` on each SIGHUP, for as long as the server runs. Without
/// one, SIGHUP is only logged (rather than ending the process, its default).
#[cfg(unix)]
pub fn reload_on_hangup(certificate: Option<Arc<Certificate>>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(certificate) = &certificate else {
                tracing::info!("SIGHUP: no TLS certificate to reload (tls_cert is not set)");
                continue;
            };
            match certificate.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded from {}", certificate.cert.display()),
                Err(e) => tracing::error!("TLS certificate not reloaded, the current one stays: {e}"),
            }
        }
    }))
}

/// A listener whose connections are TLS, for `axum::serve`.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<TlsListener> {
        let acceptor = TlsAcceptor::from(config);
        let local = listener.local_addr()?;
        let (done, ready) = mpsc::channel(BACKLOG);
        let accepting = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment instead of spinning.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Signaling frames are small and latency-bound: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => drop(done.send((tls, peer)).await),
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake took too long"),
                    }
                });
            }
        });
        Ok(TlsListener { local, ready, accepting })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task ended (it only does when aborted): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
