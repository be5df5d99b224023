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
