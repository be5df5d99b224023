//! The caller cancels at the moment the callee accepts, 500 times with real call
//! managers on both sides: whichever reaches the server first, both people see
//! the same ending and both histories agree with it. Nobody is left on
//! "Connecting…" (each round must end within seconds, not the 20 s timeout).

mod common;

use common::{Phone, TestServer, WAIT};
use duet_client::{CallEvent, CallState, EndReason};
use duet_protocol::{CallOutcome, CallType};

const ROUNDS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_crossing_an_accept_ends_the_same_for_both_and_in_both_histories() {
    // Two people calling 500 times in seconds are far beyond a person's pace.
    let server = TestServer::start_with(|c| c.rate_limit = 10_000).await;
    let mut alice = server.manager("alice").await;
    let mut bob = server.manager("bob").await;
    let (mut crossed, mut seen_before_accept, mut answered_before_cancel) = (0, 0, 0);
    for round in 0..ROUNDS {
        alice.manager.dial("bob", CallType::Audio).await.expect("dial");
        let invite_id = ringing(&mut bob).await;
        // Alternate which command goes out first; the managers run on their own tasks.
        let (hangup, accept) = if round % 2 == 0 {
            tokio::join!(alice.manager.hangup(), bob.manager.accept(true))
        } else {
            let (accept, hangup) = tokio::join!(bob.manager.accept(true), alice.manager.hangup());
            (hangup, accept)
        };
        hangup.expect("alice was calling or connecting");
        let (alices_end, bobs_end) = (ending(&mut alice).await, ending(&mut bob).await);
        let histories = (outcome(&server, "alice", &invite_id), outcome(&server, "bob", &invite_id));
        let cancelled = CallState::Ended(EndReason::Cancelled);
        match (&alices_end, &bobs_end, accept.is_ok()) {
            // The accept crossed the cancel: cancelled for both, and Bob did answer.
            (a, b, true) if *a == cancelled && *b == cancelled => {
                assert_eq!(histories, (CallOutcome::Cancelled, CallOutcome::Cancelled), "round {round}");
                crossed += 1;
            }
            // Bob's phone had stopped ringing before he pressed accept.
            (a, b, false) if *a == cancelled && *b == cancelled => {
                assert_eq!(histories, (CallOutcome::Cancelled, CallOutcome::Missed), "round {round}");
                seen_before_accept += 1;
            }
            // Alice saw the accept before she pressed hang up: a (short) call.
            (CallState::Ended(EndReason::LocalHangup), CallState::Ended(EndReason::RemoteHangup), true) => {
                assert_eq!(histories, (CallOutcome::Completed, CallOutcome::Completed), "round {round}");
                answered_before_cancel += 1;
            }
            other => panic!("round {round}: the two sides disagree: {other:?}, histories {histories:?}"),
        }
    }
    println!(
        "crossed {crossed}, bob saw the cancel first {seen_before_accept}, alice saw the accept first {answered_before_cancel}"
    );
    let metrics = server.handle.as_ref().expect("running").hub().metrics.render();
    let count = |first: &str| -> u64 {
        let line = format!("duet_crossed_answers_total{{first=\"{first}\"}} ");
        let at = metrics.find(&line).expect("metric") + line.len();
        metrics[at..].lines().next().and_then(|n| n.parse().ok()).expect("count")
    };
    println!("the server saw the accept first {} times, the cancel first {} times", count("accept"), count("cancel"));
    assert!(count("accept") > 0 && count("cancel") > 0, "both orders reached the server");
}

/// Waits until `phone` rings; returns the invitation's id.
async fn ringing(phone: &mut Phone) -> String {
    let wait = async {
        loop {
            if let Some(CallEvent::State { state: CallState::Ringing, call: Some(call) }) = phone.events.recv().await {
                return call.invite_id.expect("an incoming call has its invitation");
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.expect("rings in time")
}

/// Waits until the call is over and the phone is ready again; returns how it ended.
async fn ending(phone: &mut Phone) -> CallState {
    let mut seen = Vec::new();
    let wait = async {
        let mut end = None;
        loop {
            let event = phone.events.recv().await.expect("manager running");
            seen.push(format!("{event:?}"));
            match event {
                CallEvent::State { state: state @ (CallState::Ended(_) | CallState::Failed(_)), .. } => {
                    end = Some(state)
                }
                CallEvent::State { state: CallState::Prepared, .. } if end.is_some() => return end.expect("ended"),
                _ => {}
            }
        }
    };
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), wait).await;
    ended.unwrap_or_else(|_| panic!("the call did not end within 5 s; saw {seen:#?}"))
}

fn outcome(server: &TestServer, user: &str, invite_id: &str) -> CallOutcome {
    let hub = server.handle.as_ref().expect("running").hub();
    let history = hub.store.history(user, 20, None).expect("history");
    history.iter().find(|e| e.invite_id == invite_id).expect("the call is in the history").outcome
}
