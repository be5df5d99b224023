//! Missed calls the user has not been told of. At sign-in the calls missed while Duet
//! was closed or signed out are told of, one notification per caller ("2 missed calls
//! from Bob"); a call missed while Duet runs is told of as it ends (`forward.rs`). This
//! computer remembers, per account, up to when it has told, so that no missed call is
//! told of twice. Opening a notification opens the history.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;

use crate::session::{Account, CallRecord};
use crate::state::AppState;

/// How far back the first sign-in of an account on this computer looks.
const FIRST_LOOK_MS: u64 = 24 * 60 * 60 * 1000;
/// The history page read at sign-in.
const LOOK_AT: u32 = 100;

/// A missed-call notification was opened: the UI shows the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
pub struct HistoryRequested {
    /// The caller the notification was about.
    pub peer: String,
}

/// Up to when (Unix ms) each account's missed calls have been told of here.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Told(HashMap<String, u64>);

impl Told {
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("missed-calls-told.json")
    }

    fn load(data_dir: &Path) -> Told {
        let read = std::fs::read(Told::path(data_dir)).ok();
        read.and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    fn save(&self, data_dir: &Path) {
        let written = std::fs::create_dir_all(data_dir)
            .and_then(|()| std::fs::write(Told::path(data_dir), serde_json::to_vec(self).unwrap_or_default()));
        if let Err(error) = written {
            tracing::warn!("cannot remember which missed calls were told of: {error}");
        }
    }
}

fn key(account: &Account) -> String {
    format!("{}@{}", account.user_id, account.server)
}

/// The callers of the calls missed after `since` (Unix ms), the latest caller first,
/// each with how many calls.
pub fn by_caller(calls: &[CallRecord], since: u64) -> Vec<(String, usize)> {
    let mut callers: Vec<(String, usize)> = Vec::new();
    for call in calls.iter().filter(|c| c.is_missed() && c.started_at as u64 > since) {
        match callers.iter_mut().find(|(peer, _)| *peer == call.peer) {
            Some((_, count)) => *count += 1,
            None => callers.push((call.peer.clone(), 1)),
        }
    }
    callers
}

/// Just signed in: tells of the calls missed since this computer last told of any.
pub async fn tell_at_sign_in<R: Runtime>(app: AppHandle<R>) {
    let state = app.state::<AppState>();
    let (key, calls) = {
        let session = state.session.lock().await;
        let Some(session) = session.as_ref() else { return };
        (key(&session.account), session.history(LOOK_AT).await)
    };
    let calls = match calls {
        Ok(calls) => calls,
        Err(error) => {
            tracing::warn!("cannot tell of missed calls: {error}");
            return;
        }
    };
    let mut told = Told::load(&state.data_dir);
    let since = told.0.get(&key).copied().unwrap_or_else(|| duet_server::now_ms().saturating_sub(FIRST_LOOK_MS));
    for (peer, count) in by_caller(&calls, since) {
        crate::notify::missed(&app, &peer, count);
    }
    let newest = calls.iter().map(|c| c.started_at as u64).max().unwrap_or(0);
    told.0.insert(key, since.max(newest));
    told.save(&state.data_dir);
}

/// A missed call was told of as it ended: not again at the next sign-in.
pub fn told_now<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let Some(key) = state.session.lock().await.as_ref().map(|s| key(&s.account)) else { return };
        let mut told = Told::load(&state.data_dir);
        told.0.insert(key, duet_server::now_ms());
        told.save(&state.data_dir);
    });
}

/// Shows the history for the caller of an opened notification.
pub fn open_history<R: Runtime>(app: &AppHandle<R>, peer: String) {
    crate::shell::show_main(app);
    if let Err(error) = (HistoryRequested { peer }).emit(app) {
        tracing::warn!("cannot reach the UI: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(peer: &str, outgoing: bool, outcome: &str, started_at: f64) -> CallRecord {
        CallRecord {
            invite_id: format!("{peer}-{started_at}"),
            peer: peer.into(),
            outgoing,
            video: true,
            outcome: outcome.into(),
            started_at,
            duration_s: 0,
        }
    }

    #[test]
    fn missed_calls_after_the_mark_are_counted_per_caller_latest_caller_first() {
        let history = [
            call("carol", false, "missed", 900.0),
            call("bob", false, "missed", 800.0),
            call("bob", false, "busy", 700.0),
            call("bob", false, "completed", 650.0),
            call("dave", true, "missed", 600.0),
            call("erin", false, "rejected", 550.0),
            call("bob", false, "missed", 500.0),
            call("carol", false, "missed", 100.0),
        ];
        assert_eq!(by_caller(&history, 400), vec![("carol".into(), 1), ("bob".into(), 3)]);
        assert_eq!(by_caller(&history, 900), vec![]);
    }

    #[test]
    fn what_was_told_is_remembered_per_account() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut told = Told::load(dir.path());
        assert!(told.0.is_empty(), "nothing told yet");
        told.0.insert("alice@http://127.0.0.1:1".into(), 1234);
        told.save(dir.path());
        assert_eq!(Told::load(dir.path()).0.get("alice@http://127.0.0.1:1"), Some(&1234));
    }
}
