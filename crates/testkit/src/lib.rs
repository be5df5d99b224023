//! What Duet's tests share. Tests that need a system service run only where it
//! is present — except under CI (`CI` set), where its absence fails them.

use std::process::Command;

/// Whether PulseAudio runs with the virtual devices of `scripts/pulse.sh`
/// (`vspeaker`, `vmic` fed by `vmic_feed`). Prints why a test is skipped.
pub fn pulse_virtual_devices() -> bool {
    let found = Command::new("pactl")
        .args(["list", "short", "sources"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split('\t').nth(1) == Some("vmic")));
    if !found {
        assert!(std::env::var("CI").is_err(), "CI needs PulseAudio with the virtual devices (scripts/pulse.sh)");
        eprintln!("skipped: no PulseAudio with virtual devices (run scripts/pulse.sh)");
    }
    found
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
    let found = std::env::var_os("DUET_DUNST_MENU").is_some();
    if !found {
        assert!(std::env::var("CI").is_err(), "CI needs dunst with scripts/dunst-menu.sh (scripts/test.sh starts it)");
        eprintln!("skipped: dunst was not started by scripts/test.sh with its menu script");
    }
    found
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
        if Command::new("dbus-daemon").arg("--version").output().is_err() {
            assert!(std::env::var("CI").is_err(), "CI needs dbus-daemon (scripts/setup.sh installs dbus)");
            eprintln!("skipped: no dbus-daemon");
            return None;
        }
        // Plain characters only: a D-Bus address escapes others, and the daemon then listens elsewhere.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("duet-empty-bus-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for the bus");
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
