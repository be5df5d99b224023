//! Updates through the real updater plugin and the real signing tools: a
//! release is signed with a test key (`tauri signer`), its manifest written by
//! `scripts/update-manifest.mjs` and served over HTTP on 127.0.0.1; the app's
//! check finds it with its notes and its download verifies. A modified byte, a
//! package signed with another key, an old package announced as new, and an
//! older version are each refused with their own message.

use std::path::{Path, PathBuf};
use std::process::Command;

use duet_app::policy::UpdateChannel;
use duet_app::update;
use tauri::test::{MockRuntime, mock_builder, mock_context, noop_assets};

/// The repository's copy of the Tauri CLI (`npm --prefix ui ci` installs it).
fn tauri_cli() -> Option<PathBuf> {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/.bin/tauri");
    if cli.exists() {
        return Some(cli);
    }
    assert!(std::env::var("CI").is_err(), "CI needs the Tauri CLI: npm --prefix ui ci");
    eprintln!("skipped: no ui/node_modules/.bin/tauri (npm --prefix ui ci)");
    None
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("runs");
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A key pair made with `tauri signer generate`: the private key's path and the public key.
fn key_pair(cli: &Path, dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    run(Command::new(cli).args(["signer", "generate", "--ci", "-p", "", "-w"]).arg(&key));
    let public = std::fs::read_to_string(key.with_extension("key.pub")).expect("public key");
    (key, public.trim().to_owned())
}

fn sign(cli: &Path, key: &Path, package: &Path, version: &str) {
    run(Command::new(cli).args(["signer", "sign", "-p", "", "--app-version", version, "-f"]).arg(key).arg(package));
}

/// Writes `stable/latest.json` announcing `version` with `package` (signed already).
fn manifest(served: &Path, base_url: &str, version: &str, package: &Path) {
    let json = run(Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/update-manifest.mjs"))
        .args(["--version", version, "--notes-text", "Sharper video on narrow links.", "--base-url", base_url])
        .arg(format!("{}={}", platform(), package.display())));
    std::fs::create_dir_all(served.join("stable")).expect("mkdir");
    std::fs::write(served.join("stable/latest.json"), json).expect("writes the manifest");
}

fn platform() -> String {
    let os = if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS };
    format!("{os}-{}", std::env::consts::ARCH)
}

/// Serves the files under `root` over HTTP on 127.0.0.1; the base address.
async fn serve(root: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let files = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let path = root.join(uri.path().trim_start_matches('/'));
        async move {
            match std::fs::read(&path) {
                Ok(bytes) => (axum::http::StatusCode::OK, bytes),
                Err(_) => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, files).await });
    format!("http://{address}/")
}

/// An app of version `current` whose updater reads `{base}{channel}/latest.json` and trusts `public_key`.
fn app_of_version(current: &str, base: &str, public_key: &str) -> tauri::App<MockRuntime> {
    let mut context = mock_context(noop_assets());
    context.package_info_mut().version = current.parse().expect("a version");
    context.config_mut().plugins.0.insert(
        "updater".into(),
        serde_json::json!({
            "pubkey": public_key,
            "endpoints": [format!("{base}{{channel}}/latest.json")],
            "requireSignedVersion": true,
            // Plain HTTP on loopback, for the test only; releases use https.
            "dangerousInsecureTransportProtocol": true,
        }),
    );
    mock_builder().plugin(tauri_plugin_updater::Builder::new().build()).build(context).expect("the app builds")
}

#[tokio::test]
async fn only_a_newer_package_signed_with_the_release_key_for_its_version_installs() {
    let Some(cli) = tauri_cli() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (release_key, release_public) = key_pair(&cli, dir.path(), "release.key");
    let (other_key, _) = key_pair(&cli, dir.path(), "other.key");
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).expect("mkdir");
    let base = serve(served.clone()).await;
    let package = served.join("duet_0.2.0_amd64.deb");
    let contents: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&package, &contents).expect("writes the package");
    sign(&cli, &release_key, &package, "0.2.0");
    manifest(&served, &base, "0.2.0", &package);

    let app = app_of_version("0.1.0", &base, &release_public);
    let found = update::check(app.handle(), UpdateChannel::Stable).await.expect("checks").expect("0.2.0 is newer");
    let info = update::UpdateInfo::from(&found);
    assert_eq!((info.version.as_str(), info.current_version.as_str()), ("0.2.0", "0.1.0"));
    assert_eq!(info.notes.as_deref(), Some("Sharper video on narrow links."));
    assert_eq!(update::download(&found).await.expect("a genuine package verifies"), contents);

    // One byte changed after signing.
    let mut tampered = contents.clone();
    tampered[25_000] ^= 1;
    std::fs::write(&package, &tampered).expect("writes");
    let refused = update::download(&found).await.expect_err("a modified byte is refused");
    assert!(refused.message.contains("not signed by Duet's release key"), "{}", refused.message);

    // Signed, but with another key.
    std::fs::write(&package, &contents).expect("writes");
    sign(&cli, &other_key, &package, "0.2.0");
    manifest(&served, &base, "0.2.0", &package);
    let found = update::check(app.handle(), UpdateChannel::Stable).await.expect("checks").expect("newer");
    let refused = update::download(&found).await.expect_err("another key is refused");
    assert!(refused.message.contains("not signed by Duet's release key"), "{}", refused.message);

    // A genuine old package announced as a new version.
    sign(&cli, &release_key, &package, "0.2.0");
    manifest(&served, &base, "0.3.0", &package);
    let found = update::check(app.handle(), UpdateChannel::Stable).await.expect("checks").expect("0.3.0 is newer");
    let refused = update::download(&found).await.expect_err("a replayed package is refused");
    assert!(
        refused.message.contains("announced version 0.3.0 but sent the package of version 0.2.0"),
        "{}",
        refused.message
    );

    // An older version is not offered, and says so.
    let newer = app_of_version("0.5.0", &base, &release_public);
    let refused = update::check(newer.handle(), UpdateChannel::Stable).await.err().expect("a downgrade is refused");
    assert!(refused.message.contains("offers version 0.3.0, older than this one (0.5.0)"), "{}", refused.message);

    // The administrator turned update checks off.
    let off = update::check(app.handle(), UpdateChannel::Off).await.err().expect("no checks");
    assert_eq!(off.code, duet_app::error::ErrorCode::Policy);
}
