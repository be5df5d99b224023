//! `duet-cli doctor --json`: every check that needs no person, against the
//! virtual PulseAudio devices, the synthetic camera and a real server.

use serde_json::Value;

mod common;
use common::server;

async fn doctor(server: &common::TestServer, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["doctor", "--json", "--up", "1000", "--down", "1000"];
    all.extend_from_slice(args);
    let (lines, code) = common::finish(server.cli("alice", &all)).await;
    assert_eq!(lines.len(), 1, "one JSON report: {lines:#?}");
    (lines.into_iter().next().unwrap(), code)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} check"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_machine_passes_every_check_and_the_report_says_what_was_found() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let server = server().await;
    let (report, code) = doctor(&server, &["--synthetic-camera", "--mic", "vmic", "--speaker", "vspeaker"]).await;
    assert_eq!(code, 0, "nothing is broken: {report:#}");

    let system = &report["system"];
    assert_eq!(system["os"], std::env::consts::OS);
    assert!(system["cpus"].as_u64().unwrap() >= 1 && system["memory_mib"].as_u64().unwrap() > 0, "{system}");
    let ids = |kind: &str| -> Vec<String> {
        report["devices"][kind].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
    };
    assert!(ids("microphones").contains(&"vmic".to_owned()), "{:?}", ids("microphones"));
    assert!(ids("speakers").contains(&"vspeaker".to_owned()), "{:?}", ids("speakers"));

    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["camera", "microphone", "speaker", "network"]);
    for name in names {
        assert_eq!(check(&report, name)["status"], "ok", "{:#}", check(&report, name));
    }
    let camera = &check(&report, "camera")["details"];
    assert_eq!((camera["width"].as_u64(), camera["height"].as_u64()), (Some(1280), Some(720)));
    assert!(camera["measured_fps"].as_f64().unwrap() > 15.0, "{camera}");
    assert!(check(&report, "speaker")["details"]["loudest_level"].as_u64().unwrap() > 50, "the sound was played");

    let network = &report["network"];
    assert_eq!(network["success"], true, "{network}");
    assert_eq!(network["ip"], "127.0.0.1");
    assert_eq!(network["quality"], 1);
    assert!(network["available_up_bandwidth"].as_i64().unwrap() > 800, "{network}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_microphone_fails_the_doctor_with_the_seed_code_and_advice() {
    if !duet_testkit::pulse_virtual_devices() {
        return;
    }
    let server = server().await;
    let (report, code) =
        doctor(&server, &["--synthetic-camera", "--mic", "no such mic", "--speaker", "vspeaker"]).await;
    assert_eq!(code, 1, "something is broken");
    let mic = check(&report, "microphone");
    assert_eq!(mic["status"], "failed");
    assert_eq!(mic["code"], -1302);
    assert!(mic["summary"].as_str().unwrap().contains("no microphone called \"no such mic\""), "{mic}");
    assert_eq!(mic["advice"], "Choose one of the microphones this report lists.");
    assert_eq!(check(&report, "speaker")["status"], "ok", "the other checks still ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_server_the_network_check_is_skipped_and_an_unreachable_one_fails() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_duet-cli"))
        .args(["doctor", "--json", "--synthetic-camera"])
        .env_remove("DUET_SERVER")
        .env_remove("DUET_TOKEN")
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(check(&report, "network")["status"], "skipped");
    assert!(report.get("network").is_none());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_duet-cli"))
        .args(["--server", &format!("http://{closed}"), "--token", "t", "doctor", "--json", "--synthetic-camera"])
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let network = check(&report, "network");
    assert_eq!(network["status"], "failed");
    assert!(network["summary"].as_str().unwrap().starts_with("cannot reach the server"), "{network}");
    assert_eq!(out.status.code(), Some(1));
}
