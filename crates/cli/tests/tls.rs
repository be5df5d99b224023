//! `https://` servers: duet-server serves HTTPS/WSS itself (`tls_cert`/`tls_key`)
//! with a certificate from a private CA made here. Trusted through `--ca-file`, or
//! through the system's trust store (a throwaway one, as an enterprise CA installed
//! there), calls work; an untrusted or expired certificate fails within seconds,
//! saying what is wrong with it, and is not retried.

#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use serde_json::Value;

mod common;
use common::{TestServer, finish, last_stats, server_with, states};

/// A private CA and a server certificate for `localhost` it signed, as PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path, expired: bool) -> Pki {
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Duet test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    if expired {
        leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let pki = Pki { ca: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key") };
    std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

async fn tls_server(pki: &Pki) -> TestServer {
    server_with("127.0.0.1", |config| {
        config.tls_cert = Some(pki.cert.clone());
        config.tls_key = Some(pki.key.clone());
    })
    .await
}

fn assert_talked(who: &str, lines: &[Value], code: i32) {
    assert_eq!(code, 0, "{who}: {:?}", states(lines));
    let stats = last_stats(lines);
    assert!(stats["frames_decoded"].as_u64().unwrap() >= 20, "{who} decoded too little video: {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_wss_works_with_the_ca_file_or_the_ca_in_the_system_store() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), false);
    let server = tls_server(&pki).await;
    let ca = pki.ca.to_str().unwrap();
    // Bob trusts the CA through the system's trust store (rustls-platform-verifier reads it), Alice through --ca-file.
    let mut bob = tokio::process::Command::new(env!("CARGO_BIN_EXE_duet-cli"));
    bob.env("SSL_CERT_FILE", ca);
    let mut callee = server.live_with_command(bob, "bob", &["answer", "--synthetic"]);
    callee.wait_for("bob online", |l| l["event"] == "state" && l["state"] == "prepared").await;
    let caller = server.cli("alice", &["--ca-file", ca, "call", "bob", "--synthetic", "--duration", "4s"]);
    let (caller_out, caller_code) = finish(caller).await;
    let (callee_out, callee_code) = callee.finish().await;
    assert_talked("alice", &caller_out, caller_code);
    assert_talked("bob", &callee_out, callee_code);
}

/// Each refused certificate ends the client at once with the reason, and the client does not retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_or_expired_certificate_fails_fast_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let (trusted, expired) = (make_pki(&dir.path().join("a"), false), make_pki(&dir.path().join("b"), true));
    for (pki, ca_file, why) in [
        (&trusted, None, "signed by an authority this computer does not trust"),
        (&expired, Some(&expired.ca), "has expired"),
    ] {
        let server = tls_server(pki).await;
        let mut args: Vec<&str> = Vec::new();
        if let Some(ca) = ca_file {
            args.extend(["--ca-file", ca.to_str().unwrap()]);
        }
        args.extend(["call", "bob", "--synthetic"]);
        let started = Instant::now();
        let (out, code) = finish(server.cli("alice", &args)).await;
        assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
        assert_eq!(code, 1, "{out:#?}");
        let refused: Vec<&Value> = out.iter().filter(|l| l["event"] == "certificate_rejected").collect();
        assert_eq!(refused.len(), 1, "one refusal, no retries: {out:#?}");
        let message = refused[0]["message"].as_str().unwrap();
        assert!(message.contains("the server's certificate") && message.contains(why), "{message}");
        assert!(!out.iter().any(|l| l["event"] == "connection"), "never connected, never retried: {out:#?}");
    }
}

/// Whether `duet-cli` signs in to `server` trusting `ca`, or why not.
async fn signs_in(server: &TestServer, ca: &Path) -> Result<(), String> {
    let args = ["--ca-file", ca.to_str().unwrap(), "answer", "--synthetic"];
    let mut bob = server.live("bob", &args);
    let line = bob
        .wait_for("signed in or refused", |l| l["state"] == "prepared" || l["event"] == "certificate_rejected")
        .await;
    match line["message"].as_str() {
        Some(why) => Err(why.to_owned()),
        None => Ok(()),
    }
}

/// An admin renews the certificate and sends SIGHUP: new connections get the new
/// one without a restart; a renewal that went wrong keeps the working one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_serves_a_renewed_certificate_and_keeps_the_old_one_when_the_new_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let expired = make_pki(dir.path(), true);
    let server = tls_server(&expired).await;
    let refused = signs_in(&server, &expired.ca).await.expect_err("the expired certificate is refused");
    assert!(refused.contains("has expired"), "{refused}");

    // The renewal writes over the same files (make_pki's paths are fixed).
    let renewed = make_pki(dir.path(), false);
    let hangup = || {
        // SAFETY: kill(2) with this process's own id and a signal the server handles.
        assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGHUP) }, 0);
    };
    hangup();
    let mut signed_in = Err(String::new());
    // The reload runs on the server's task: give it a moment.
    for _ in 0..20 {
        signed_in = signs_in(&server, &renewed.ca).await;
        if signed_in.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    signed_in.expect("the renewed certificate is served after SIGHUP");

    std::fs::write(&renewed.cert, "not a certificate").unwrap();
    hangup();
    tokio::time::sleep(Duration::from_millis(200)).await;
    signs_in(&server, &renewed.ca).await.expect("a broken renewal leaves the working certificate in place");
}
