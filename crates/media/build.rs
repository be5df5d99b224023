//! OpenH264's build quietly drops its x86 assembly when `nasm` is missing, and the
//! encoder then runs about 2.5x slower; it also leaves out the AVX2 routines unless
//! `.cargo/config.toml` asks for them. Fail the build instead, with the fix.

use std::process::Command;

const ALLOW: &str = "DUET_ALLOW_SLOW_H264";

fn main() {
    println!("cargo:rerun-if-env-changed={ALLOW}");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if !matches!(arch.as_str(), "x86_64" | "x86") || std::env::var_os(ALLOW).is_some() {
        return;
    }
    let nasm = Command::new("nasm").arg("-v").output();
    if !nasm.is_ok_and(|out| out.status.success()) {
        panic!(
            "nasm is not installed: OpenH264 would build without its assembly and encode about 2.5x slower.\n\
             Install it (Debian/Ubuntu: `apt-get install nasm`, macOS: `brew install nasm`, Windows: `choco install nasm`),\n\
             or set {ALLOW}=1 to build anyway."
        );
    }
    if arch != "x86_64" {
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default().replace('-', "_");
    for variable in ["NASMENV".to_owned(), format!("CXXFLAGS_{target}")] {
        println!("cargo:rerun-if-env-changed={variable}");
        let value = std::env::var(&variable).unwrap_or_default();
        if !value.split_whitespace().any(|flag| flag == "-DHAVE_AVX2") {
            panic!(
                "{variable} lacks -DHAVE_AVX2 (it is {value:?}): OpenH264 would build without its AVX2 routines.\n\
                 Build inside the workspace, whose .cargo/config.toml sets it for x86_64 Linux, macOS and Windows,\n\
                 add the flag to {variable}, or set {ALLOW}=1 to build anyway."
            );
        }
    }
}
