//! End to end with the real app under Xvfb: the administrator's policy file
//! (`DUET_POLICY`) locks the server and turns the built-in server off, and the
//! app keeps to it even when asked directly through its commands; a broken
//! policy file stops signing in with a message naming the file.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{App, display_available, tauri_driver_available};

/// Calls a command the way the UI does, and returns its error (or `null`).
const INVOKE: &str = "
    const [command, args] = arguments;
    return window.__TAURI_INTERNALS__.invoke(command, args).then(() => null, (error) => error);";

async fn refusal(app: &App, command: &str, args: Value) -> Value {
    app.execute(INVOKE, json!([command, args])).await
}

#[tokio::test]
async fn a_locked_server_and_a_disabled_built_in_server_hold_in_the_app() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("skipped: needs an X display and tauri-driver (see scripts/setup.sh)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"server": "https://duet.corp.example", "lock_server": true, "allow_local_server": false, "allow_registration": false}"#,
    )
    .expect("writes the policy");
    let app = App::start(&[("DUET_POLICY", policy.to_str().expect("utf-8"))]).await;
    let server =
        app.execute("const s = document.querySelector('#server'); return [s.value, s.readOnly];", json!([])).await;
    assert_eq!(server, json!(["https://duet.corp.example", true]));
    assert!(app.text("#server-managed").await.contains("administrator"));
    let absent = "return [document.querySelector('#use-local'), document.querySelector('#create-account')]";
    assert_eq!(app.execute(absent, json!([])).await, json!([null, null]), "neither is offered");

    // Asked directly, the commands refuse too.
    let credentials = json!({"server": "https://elsewhere.example", "user_id": "mallory", "password": "long enough password",
        "remember": false, "create_account": false});
    let other = refusal(&app, "login", json!({"credentials": credentials})).await;
    assert_eq!(other["code"], "policy", "{other}");
    assert!(other["message"].as_str().is_some_and(|m| m.contains("https://duet.corp.example only")), "{other}");
    let local = refusal(&app, "use_local_server", json!({})).await;
    assert_eq!(local["code"], "policy", "{local}");
    app.quit().await;

    // A typo in the file: nobody signs in, and the message names the file.
    std::fs::write(&policy, r#"{"server": "https://duet.corp.example", "lock_sever": true}"#).expect("writes");
    let app = App::start(&[("DUET_POLICY", policy.to_str().expect("utf-8"))]).await;
    app.wait_for("#login-error[data-code='policy']", Duration::from_secs(10)).await;
    let error = app.text("#login-error").await;
    assert!(error.contains("policy.json") && error.contains("lock_sever"), "{error}");
    let disabled = app.execute("return document.querySelector('#login-form button.primary').disabled", json!([])).await;
    assert_eq!(disabled, json!(true));
    app.quit().await;
}
