//! Server settings: defaults, an optional TOML file, `DUET_*` environment variables
//! and command-line flags, in increasing order of precedence (the CLI layers the last two).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::{Error, Result};

/// Everything `duet-server serve` needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of the SQLite database and the signing secret; created on first use.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// UDP address of the network speed test. `None`: `listen`'s address, with
    /// the HTTP port's number when it is free (any port otherwise). Set it when
    /// the HTTP side sits behind a proxy the UDP probes cannot pass.
    pub speedtest_listen: Option<SocketAddr>,
    /// Whether `POST /v1/register` creates accounts.
    pub open_registration: bool,
    pub token_ttl: Duration,
    pub ticket_ttl: Duration,
    /// Messages per second a connection may send, sustained.
    pub rate_limit: u32,
    /// Messages a connection may send in one burst.
    pub rate_burst: u32,
    /// Rate-limit and malformed-message strikes after which a connection is closed.
    pub abuse_limit: u32,
    pub auth_timeout: Duration,
    pub keepalive_interval: Duration,
    pub idle_timeout: Duration,
    /// How long a room member whose connection is gone stays in the room.
    pub watchdog: Duration,
    /// Initial size of each connection's WebSocket read buffer, in bytes. Every idle
    /// connection holds it; larger messages grow it as needed.
    pub ws_read_buffer: usize,
    pub push: Endpoints,
    pub webhooks: Endpoints,
    pub ice: IceConfig,
    /// The user that answers test calls (`serve --echo-user`), told to clients in `auth.ok`.
    pub echo_user: Option<String>,
    /// Serve HTTPS and WSS with this certificate chain and key (PEM files) instead of plain HTTP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// Where the server POSTs signed JSON (push notices or webhooks), and how it retries.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub urls: Vec<String>,
    /// HMAC key for the `Sign` and `webhook-signature` headers.
    pub key: String,
    pub timeout: Duration,
    /// Pause between retries after the immediate one.
    pub retry_interval: Duration,
    /// Deliveries older than this are given up.
    pub max_age: Duration,
}

/// STUN/TURN servers handed to room members.
#[derive(Debug, Clone, Default)]
pub struct IceConfig {
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    /// TURN REST API shared secret (coturn `static-auth-secret`).
    pub turn_secret: String,
    pub turn_ttl: Duration,
}

impl Config {
    /// Defaults for a server keeping its data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        let endpoints = Endpoints {
            urls: Vec::new(),
            key: String::new(),
            timeout: Duration::from_secs(5),
            retry_interval: Duration::from_secs(10),
            max_age: Duration::from_secs(60),
        };
        Config {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            speedtest_listen: None,
            open_registration: false,
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            ticket_ttl: Duration::from_secs(2 * 3600),
            rate_limit: 50,
            rate_burst: 100,
            abuse_limit: 1000,
            auth_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            watchdog: Duration::from_secs(30),
            ws_read_buffer: 256,
            push: endpoints.clone(),
            webhooks: endpoints,
            ice: IceConfig { turn_ttl: Duration::from_secs(3600), ..IceConfig::default() },
            echo_user: None,
            tls_cert: None,
            tls_key: None,
        }
    }

    /// Applies the settings of a TOML file on top of these.
    pub fn apply_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read config file {}: {e}", path.display())))?;
        let file: FileConfig =
            toml::from_str(&text).map_err(|e| Error::Config(format!("invalid config file {}: {e}", path.display())))?;
        file.apply(self)
    }
}

/// Parses a duration such as `30s`, `1h` or `7d`.
pub fn parse_duration(text: &str) -> Result<Duration> {
    humantime::parse_duration(text).map_err(|e| Error::Config(format!("invalid duration `{text}`: {e}")))
}

/// Splits a comma-separated list, dropping empty items.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    speedtest_listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    open_registration: Option<bool>,
    token_ttl: Option<String>,
    ticket_ttl: Option<String>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    abuse_limit: Option<u32>,
    auth_timeout: Option<String>,
    keepalive_interval: Option<String>,
    idle_timeout: Option<String>,
    watchdog: Option<String>,
    ws_read_buffer: Option<usize>,
    push: Option<FileEndpoints>,
    webhooks: Option<FileEndpoints>,
    ice: Option<FileIce>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEndpoints {
    urls: Option<Vec<String>>,
    key: Option<String>,
    timeout: Option<String>,
    retry_interval: Option<String>,
    max_age: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIce {
    stun_urls: Option<Vec<String>>,
    turn_urls: Option<Vec<String>>,
    turn_secret: Option<String>,
    turn_ttl: Option<String>,
}

fn set_duration(slot: &mut Duration, text: Option<String>) -> Result<()> {
    if let Some(text) = text {
        *slot = parse_duration(&text)?;
    }
    Ok(())
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

impl FileEndpoints {
    fn apply(self, to: &mut Endpoints) -> Result<()> {
        set(&mut to.urls, self.urls);
        set(&mut to.key, self.key);
        set_duration(&mut to.timeout, self.timeout)?;
        set_duration(&mut to.retry_interval, self.retry_interval)?;
        set_duration(&mut to.max_age, self.max_age)
    }
}

impl FileConfig {
    fn apply(self, c: &mut Config) -> Result<()> {
        set(&mut c.listen, self.listen);
        if self.speedtest_listen.is_some() {
            c.speedtest_listen = self.speedtest_listen;
        }
        set(&mut c.open_registration, self.open_registration);
        if self.tls_cert.is_some() {
            c.tls_cert = self.tls_cert;
        }
        if self.tls_key.is_some() {
            c.tls_key = self.tls_key;
        }
        set_duration(&mut c.token_ttl, self.token_ttl)?;
        set_duration(&mut c.ticket_ttl, self.ticket_ttl)?;
        set(&mut c.rate_limit, self.rate_limit);
        set(&mut c.rate_burst, self.rate_burst);
        set(&mut c.abuse_limit, self.abuse_limit);
        set_duration(&mut c.auth_timeout, self.auth_timeout)?;
        set_duration(&mut c.keepalive_interval, self.keepalive_interval)?;
        set_duration(&mut c.idle_timeout, self.idle_timeout)?;
        set_duration(&mut c.watchdog, self.watchdog)?;
        set(&mut c.ws_read_buffer, self.ws_read_buffer);
        if let Some(push) = self.push {
            push.apply(&mut c.push)?;
        }
        if let Some(webhooks) = self.webhooks {
            webhooks.apply(&mut c.webhooks)?;
        }
        if let Some(ice) = self.ice {
            set(&mut c.ice.stun_urls, ice.stun_urls);
            set(&mut c.ice.turn_urls, ice.turn_urls);
            set(&mut c.ice.turn_secret, ice.turn_secret);
            set_duration(&mut c.ice.turn_ttl, ice.turn_ttl)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_overrides_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("duet.toml");
        std::fs::write(
            &path,
            "open_registration = true\nspeedtest_listen = \"0.0.0.0:9443\"\nwatchdog = \"2s\"\n[webhooks]\nurls = [\"http://127.0.0.1:9/hook\"]\nkey = \"k\"\n[ice]\nturn_secret = \"s\"\n",
        )
        .expect("write");
        let mut config = Config::new(dir.path());
        config.apply_file(&path).expect("valid file");
        assert!(config.open_registration);
        assert_eq!(config.speedtest_listen, Some("0.0.0.0:9443".parse().unwrap()));
        assert_eq!(config.watchdog, Duration::from_secs(2));
        assert_eq!(config.webhooks.urls, ["http://127.0.0.1:9/hook"]);
        assert_eq!(config.webhooks.retry_interval, Duration::from_secs(10));
        assert_eq!(config.ice.turn_secret, "s");

        std::fs::write(&path, "listen_on = \"x\"\n").expect("write");
        let err = config.apply_file(&path).expect_err("unknown key");
        assert!(err.to_string().contains("listen_on"), "{err}");
    }
}
