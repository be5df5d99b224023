//! The release tooling, run for real: a release without its signing secrets is refused
//! naming each one; Linux packages get GPG signatures and a signed checksum file that
//! verify, and stop verifying when a byte changes; the update manifest refuses an
//! unsigned package.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name)
}

const SECRETS: [&str; 12] = [
    "TAURI_SIGNING_PRIVATE_KEY",
    "DUET_UPDATER_PUBKEY",
    "DUET_UPDATE_ENDPOINT",
    "WINDOWS_CERTIFICATE_THUMBPRINT",
    "WINDOWS_SIGN_COMMAND",
    "APPLE_SIGNING_IDENTITY",
    "APPLE_ID",
    "APPLE_PASSWORD",
    "APPLE_TEAM_ID",
    "LINUX_GPG_KEY",
    "LINUX_GPG_PASSPHRASE",
    "TAURI_SIGNING_PRIVATE_KEY_PASSWORD",
];

/// `release-secrets.sh PLATFORM` with only `set` among the secrets.
fn secrets_check(platform: &str, set: &[&str]) -> Output {
    let mut command = Command::new(script("release-secrets.sh"));
    command.arg(platform);
    for name in SECRETS {
        command.env_remove(name);
    }
    for name in set {
        command.env(name, "value");
    }
    command.output().expect("runs")
}

#[test]
fn a_release_missing_a_signing_secret_is_refused_naming_it() {
    let none = secrets_check("linux-x86_64", &[]);
    assert!(!none.status.success());
    let said = String::from_utf8_lossy(&none.stderr);
    for name in ["TAURI_SIGNING_PRIVATE_KEY", "DUET_UPDATER_PUBKEY", "DUET_UPDATE_ENDPOINT", "LINUX_GPG_KEY"] {
        assert!(said.contains(name), "{name} in {said}");
    }
    let updater = ["TAURI_SIGNING_PRIVATE_KEY", "DUET_UPDATER_PUBKEY", "DUET_UPDATE_ENDPOINT"];
    let windows = secrets_check("windows-x86_64", &updater);
    assert!(
        String::from_utf8_lossy(&windows.stderr).contains("WINDOWS_CERTIFICATE_THUMBPRINT or WINDOWS_SIGN_COMMAND")
    );
    let mac = secrets_check("darwin-aarch64", &[&updater[..], &["APPLE_SIGNING_IDENTITY", "APPLE_ID"]].concat());
    let said = String::from_utf8_lossy(&mac.stderr);
    assert!(!mac.status.success() && said.contains("APPLE_PASSWORD, APPLE_TEAM_ID"), "{said}");

    assert!(secrets_check("windows-x86_64", &[&updater[..], &["WINDOWS_SIGN_COMMAND"]].concat()).status.success());
    assert!(secrets_check("linux-x86_64", &[&updater[..], &["LINUX_GPG_KEY"]].concat()).status.success());
}

fn gpg(home: &Path, args: &[&str]) -> Output {
    Command::new("gpg").env("GNUPGHOME", home).args(["--batch", "--quiet"]).args(args).output().expect("gpg runs")
}

#[test]
fn linux_packages_get_signatures_that_verify_until_a_byte_changes() {
    if Command::new("gpg").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "CI needs gpg");
        eprintln!("skipped: no gpg");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (signer, verifier, packages) =
        (dir.path().join("signer"), dir.path().join("verifier"), dir.path().join("dist"));
    for d in [&signer, &verifier, &packages] {
        std::fs::create_dir_all(d).expect("mkdir");
        // gpg wants its home private.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    }
    let made = gpg(
        &signer,
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "Duet release test <release@duet.invalid>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let secret =
        gpg(&signer, &["--armor", "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys"]).stdout;
    let public = dir.path().join("release.pub");
    std::fs::write(&public, gpg(&signer, &["--armor", "--export"]).stdout).expect("writes");
    assert!(gpg(&verifier, &["--import", public.to_str().expect("utf-8")]).status.success());

    let (deb, rpm) = (packages.join("duet_0.2.0_amd64.deb"), packages.join("duet-0.2.0-1.x86_64.rpm"));
    std::fs::write(&deb, vec![7u8; 40_000]).expect("writes");
    std::fs::write(&rpm, vec![9u8; 30_000]).expect("writes");
    let unsigned =
        Command::new(script("sign-linux-packages.sh")).env_remove("LINUX_GPG_KEY").arg(&deb).output().expect("runs");
    assert!(!unsigned.status.success(), "no key, no signing");

    let signed = Command::new(script("sign-linux-packages.sh"))
        .env("LINUX_GPG_KEY", String::from_utf8(secret).expect("armoured"))
        .env("LINUX_GPG_PASSPHRASE", "")
        .args([&deb, &rpm])
        .output()
        .expect("runs");
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    let verify = |signature: &Path, file: Option<&Path>| {
        let mut args = vec!["--verify", signature.to_str().expect("utf-8")];
        args.extend(file.map(|f| f.to_str().expect("utf-8")));
        gpg(&verifier, &args).status.success()
    };
    let asc = |p: &Path| PathBuf::from(format!("{}.asc", p.display()));
    assert!(verify(&asc(&deb), Some(&deb)) && verify(&asc(&rpm), Some(&rpm)), "the detached signatures verify");
    assert!(verify(&packages.join("SHA256SUMS.asc"), None), "the checksum file's signature verifies");
    let sums = Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&packages).output().expect("runs");
    assert!(sums.status.success(), "the checksums match the packages");

    let mut bytes = std::fs::read(&deb).expect("reads");
    bytes[20_000] ^= 1;
    std::fs::write(&deb, bytes).expect("writes");
    assert!(!verify(&asc(&deb), Some(&deb)), "a changed byte breaks the signature");
    let sums = Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&packages).output().expect("runs");
    assert!(!sums.status.success(), "and the checksum");
}

#[test]
fn the_update_manifest_never_announces_an_unsigned_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let package = dir.path().join("duet_0.2.0_amd64.deb");
    std::fs::write(&package, b"package").expect("writes");
    let out = Command::new("node")
        .arg(script("update-manifest.mjs"))
        .args(["--version", "0.2.0", "--notes-text", "notes", "--base-url", "https://downloads.example.org/duet/"])
        .arg(format!("linux-x86_64={}", package.display()))
        .output()
        .expect("node runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(".sig is missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
