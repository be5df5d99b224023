//! OpenH264's build quietly drops its x86 assembly when `nasm` is missing, and the
//! encoder then runs about 2.5x slower. Fail the build instead, with the fix.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=DUET_ALLOW_SLOW_H264");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if !matches!(arch.as_str(), "x86_64" | "x86") || std::env::var_os("DUET_ALLOW_SLOW_H264").is_some() {
        return;
    }
    let nasm = Command::new("nasm").arg("-v").output();
    if !nasm.is_ok_and(|out| out.status.success()) {
        panic!(
            "nasm is not installed: OpenH264 would build without its assembly and encode about 2.5x slower.\n\
             Install it (Debian/Ubuntu: `apt-get install nasm`, macOS: `brew install nasm`, Windows: `choco install nasm`),\n\
             or set DUET_ALLOW_SLOW_H264=1 to build anyway."
        );
    }
}
