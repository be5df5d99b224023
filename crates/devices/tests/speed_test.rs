//! The speed test against a real `duet-server` on 127.0.0.1: a clean loopback,
//! and every way it can be refused. (Loss, delay and narrow links each way are
//! tested between network namespaces in `crates/cli/tests/speed_test_netlab.rs`.)

use std::time::Duration;

use duet_client::{CallEvent, CallManager, CallState, ClientConfig, ManagerConfig};
use duet_devices::{SpeedTestParams, SpeedTestProgress, speed_test};
use duet_protocol::CallType;
use duet_server::{Config, Server, ServerHandle};

struct Running {
    _dir: tempfile::TempDir,
    handle: ServerHandle,
}

impl Running {
    async fn start() -> Running {
        Running::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut Config)) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let server = Server::bind(config).await.unwrap();
        for user in ["alice", "bob"] {
            duet_server::create_user(&*server.hub().store, user, user, "long enough password").unwrap();
        }
        Running { _dir: dir, handle: server.spawn() }
    }

    fn url(&self) -> String {
        format!("http://{}", self.handle.local_addr())
    }

    fn token(&self, user: &str, ttl_ms: i64) -> String {
        self.handle.hub().signer.issue_token(user, (duet_server::now_ms() as i64 + ttl_ms) as u64)
    }

    fn params(&self, user: &str, up: u32, down: u32) -> SpeedTestParams {
        SpeedTestParams {
            server: self.url(),
            token: self.token(user, 3_600_000),
            expected_up_kbps: up,
            expected_down_kbps: down,
        }
    }
}

#[tokio::test]
async fn a_clean_loopback_measures_no_loss_a_short_rtt_and_the_bandwidth_asked_for() {
    let server = Running::start().await;
    let mut progress = Vec::new();
    let result = speed_test(&server.params("alice", 2000, 3000), |p| progress.push(p)).await;
    eprintln!("{result:?}");
    assert!(result.success, "{}", result.err_msg);
    assert_eq!(result.ip, "127.0.0.1");
    assert!(result.up_lost_rate < 0.01 && result.down_lost_rate < 0.01, "{result:?}");
    assert!(result.rtt < 20, "{result:?}");
    assert_eq!(result.quality, 1, "excellent");
    // A loopback carries far more than asked: the figures are what was sent, give or take pacing.
    assert!((1700..=2000).contains(&result.available_up_bandwidth), "{result:?}");
    assert!((2550..=3000).contains(&result.available_down_bandwidth), "{result:?}");

    assert_eq!(progress.first(), Some(&SpeedTestProgress::Connecting));
    for last in [
        SpeedTestProgress::Echo { percent: 100 },
        SpeedTestProgress::Upload { percent: 100 },
        SpeedTestProgress::Download { percent: 100 },
    ] {
        assert!(progress.contains(&last), "{last:?} in {progress:?}");
    }
    assert!(progress.iter().any(|p| matches!(p, SpeedTestProgress::Echo { percent: 1..=99 })), "progress in between");
}

#[tokio::test]
async fn zero_expected_bandwidth_skips_that_direction_and_the_udp_address_can_be_chosen() {
    let chosen = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = Running::start_with(|config| config.speedtest_listen = Some(chosen)).await;
    let taken = std::net::UdpSocket::bind(chosen).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "the server holds the chosen UDP address");
    let result = speed_test(&server.params("alice", 0, 0), |_| {}).await;
    assert!(result.success, "{}", result.err_msg);
    assert_eq!((result.available_up_bandwidth, result.available_down_bandwidth), (-1, -1));
}

#[tokio::test]
async fn bad_input_an_expired_sign_in_and_an_unreachable_server_say_what_is_wrong() {
    let server = Running::start().await;
    let too_much = speed_test(&server.params("alice", 6000, 0), |_| {}).await;
    assert!(!too_much.success);
    assert!(too_much.err_msg.contains("10–5000 kbps, got 6000"), "{}", too_much.err_msg);

    let expired = SpeedTestParams { token: server.token("alice", -1000), ..server.params("alice", 0, 0) };
    let result = speed_test(&expired, |_| {}).await;
    assert_eq!(result.err_msg, "your sign-in has expired; log in again");

    let forged = SpeedTestParams { token: "not-a-token".into(), ..server.params("alice", 0, 0) };
    assert_eq!(speed_test(&forged, |_| {}).await.err_msg, "the sign-in token is not valid");

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = SpeedTestParams { server: format!("http://{closed}"), ..server.params("alice", 0, 0) };
    let result = speed_test(&nowhere, |_| {}).await;
    assert!(!result.success);
    assert!(result.err_msg.starts_with(&format!("cannot reach the server at http://{closed}")), "{}", result.err_msg);
}

async fn wait_state(events: &mut tokio::sync::mpsc::UnboundedReceiver<CallEvent>, name: &str) {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let CallEvent::State { state, .. } = event
                && state.name() == name
            {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await.unwrap_or_else(|_| panic!("no `{name}` state"));
}

#[tokio::test]
async fn the_test_is_refused_during_a_call_and_runs_after_it() {
    let server = Running::start().await;
    let phone = |user: &str| {
        CallManager::start(ManagerConfig::new(ClientConfig::new(server.url(), server.token(user, 3_600_000))))
    };
    let ((alice, mut alice_events), (bob, mut bob_events)) = (phone("alice"), phone("bob"));
    wait_state(&mut alice_events, "prepared").await;
    wait_state(&mut bob_events, "prepared").await;
    alice.dial("bob", CallType::Audio).await.unwrap();
    wait_state(&mut bob_events, "ringing").await;
    bob.accept(false).await.unwrap();
    wait_state(&mut alice_events, "connected").await;

    let during = speed_test(&server.params("alice", 0, 0), |_| {}).await;
    assert!(!during.success);
    assert_eq!(during.err_msg, "a speed test cannot run during a call; try again when the call has ended");

    alice.hangup().await.unwrap();
    wait_state(&mut alice_events, "prepared").await;
    let _ = CallState::Prepared;
    let after = speed_test(&server.params("alice", 0, 0), |_| {}).await;
    assert!(after.success, "{}", after.err_msg);
}
