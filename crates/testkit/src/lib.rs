//! What Duet's tests share. Tests that need a system service run only where it
//! is present — except under CI (`CI` set), where its absence fails them.

pub mod speech;

use std::process::Command;

/// Whether a service a test needs is `found`; where it is not, says why the test is
/// skipped, and fails it under CI (where `needs` says what provides it).
fn service(found: bool, needs: &str, skipped: &str) -> bool {
    if !found {
        assert!(std::env::var("CI").is_err(), "CI needs {needs}");
        eprintln!("skipped: {skipped}");
    }
    found
}

/// Whether PulseAudio runs with the virtual devices of `scripts/pulse.sh`
/// (`vspeaker`, `vmic` fed by `vmic_feed`). Prints why a test is skipped.
pub fn pulse_virtual_devices() -> bool {
    // A busy machine can leave one `pactl` without an answer: ask three times before
    // deciding, and say what pactl said.
    let mut said = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        match Command::new("pactl").args(["list", "short", "sources"]).output() {
            Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split('\t').nth(1) == Some("vmic")) => {
                return true;
            }
            Ok(out) => {
                said = format!("{} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
            }
            Err(e) => said = e.to_string(),
        }
    }
    service(
        false,
        &format!("PulseAudio with the virtual devices (scripts/pulse.sh); pactl said: {}", said.trim()),
        "no PulseAudio with virtual devices (run scripts/pulse.sh)",
    )
}

/// Runs `pactl` with `args`; its output. Panics with pactl's message on failure.
pub fn pactl(args: &[&str]) -> String {
    let out = Command::new("pactl").args(args).output().expect("pactl (pulseaudio-utils) runs");
    assert!(out.status.success(), "pactl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether dunst runs with `scripts/dunst-menu.sh` as its menu (`scripts/test.sh` starts
/// it so), which lets a test press a notification's buttons. Prints why a test is skipped.
pub fn dunst_menu() -> bool {
    service(
        std::env::var_os("DUET_DUNST_MENU").is_some(),
        "dunst with scripts/dunst-menu.sh (scripts/test.sh starts it)",
        "dunst was not started by scripts/test.sh with its menu script",
    )
}

/// A D-Bus session bus with nothing on it and nothing it can start (no
/// service directories): a desktop without a keyring or a notification
/// daemon. It stops when dropped. `None` (a skip) where `dbus-daemon` is
/// missing, except under CI.
pub struct EmptyBus {
    daemon: std::process::Child,
    /// For `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
    dir: std::path::PathBuf,
}

impl EmptyBus {
    pub fn start() -> Option<EmptyBus> {
        let found = Command::new("dbus-daemon").arg("--version").output().is_ok();
        if !service(found, "dbus-daemon (scripts/setup.sh installs dbus)", "no dbus-daemon") {
            return None;
        }
        // Plain characters only: a D-Bus address escapes others, and the daemon then listens elsewhere.
        let dir = fresh_dir("duet-empty-bus");
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
"#
            ),
        )
        .expect("the bus's configuration");
        let daemon = Command::new("dbus-daemon")
            .arg("--nofork")
            .arg(format!("--config-file={}", config.display()))
            .spawn()
            .expect("dbus-daemon starts");
        let bus = EmptyBus { daemon, address, dir };
        for _ in 0..100 {
            if socket.exists() {
                return Some(bus);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("dbus-daemon did not listen on {} within 5 s", bus.address);
    }
}

impl Drop for EmptyBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real coturn STUN/TURN server with the TURN REST API's shared secret
/// (`use-auth-secret`, as duet-server's `turn_secret` expects), in a temp folder
/// of its own. It stops when dropped. `None` (a skip) where `turnserver` is
/// missing, except under CI.
pub struct Coturn {
    process: std::process::Child,
    dir: std::path::PathBuf,
    pub ip: String,
    pub port: u16,
    pub secret: String,
}

impl Coturn {
    /// On `127.0.0.1`, relaying to loopback peers.
    pub fn start() -> Option<Coturn> {
        Coturn::start_on("127.0.0.1")
    }

    /// Listening and relaying on `ip` (an address of this host's).
    pub fn start_on(ip: &str) -> Option<Coturn> {
        let found = Command::new("turnserver").arg("--help").output().is_ok();
        if !service(found, "coturn (scripts/setup.sh installs it)", "no turnserver (apt install coturn)") {
            return None;
        }
        let dir = fresh_dir("duet-coturn");
        let port = free_port();
        let secret = format!("duet-test-secret-{port}-{}", std::process::id());
        let log = std::fs::File::create(dir.join("turnserver.log")).expect("coturn's log");
        let process = Command::new("turnserver")
            .args(["-n", &format!("--listening-ip={ip}"), &format!("--relay-ip={ip}"), "--realm=duet.test"])
            .arg(format!("--listening-port={port}"))
            .args(["--use-auth-secret", &format!("--static-auth-secret={secret}")])
            // The test's peers are on loopback: coturn refuses to relay to them unless told.
            .args(["--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli", "--fingerprint"])
            .args(["--min-port=40000", "--max-port=60000", "--simple-log", "--log-file=stdout", "--verbose"])
            .arg(format!("--userdb={}", dir.join("turndb").display()))
            .arg(format!("--pidfile={}", dir.join("turnserver.pid").display()))
            .stdout(log.try_clone().expect("the log again"))
            .stderr(log)
            .spawn()
            .expect("turnserver starts");
        let coturn = Coturn { process, dir, ip: ip.to_owned(), port, secret };
        for _ in 0..100 {
            if std::net::TcpStream::connect((ip, port)).is_ok() {
                return Some(coturn);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("coturn did not listen on {port} within 5 s: {}", coturn.log());
    }

    /// `turn:` URLs for duet-server's `turn_urls`, over `transport` (`udp` or `tcp`).
    pub fn url(&self, transport: &str) -> String {
        format!("turn:{}:{}?transport={transport}", self.ip, self.port)
    }

    /// The `stun:` URL of the same server, for duet-server's `stun_urls`.
    pub fn stun_url(&self) -> String {
        format!("stun:{}:{}", self.ip, self.port)
    }

    /// What coturn logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("turnserver.log")).unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new empty folder of this process, named `prefix-PID-N`: plain characters only.
fn fresh_dir(prefix: &str) -> std::path::PathBuf {
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A TCP port nobody listens on now (UDP is free too, by the same number, in practice).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}
