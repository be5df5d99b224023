//! Every JSON example of `docs/protocol.md` decodes into the protocol types and
//! encodes back to the same JSON, and every message type is shown at least once.

use std::collections::BTreeSet;

use duet_protocol::{
    CLIENT_TYPES, HttpError, LoginRequest, PushNotice, RegisterRequest, SERVER_TYPES, TokenResponse, WebhookEvent,
    decode_client, decode_server,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn protocol_doc() -> String {
    // The run-time variable, so a test binary reused from another checkout of
    // the same tree (a shared target directory) still reads this one's document.
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let path = std::path::Path::new(&crate_dir).join("../../docs/protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is readable: {e}", path.display()))
}

/// Inline examples (`{"type":..}` in backticks) and the lines of ```json blocks.
fn examples(doc: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut prose = String::new();
    let mut in_block = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block && line.trim() == "```json";
            continue;
        }
        if in_block {
            if !line.trim().is_empty() {
                found.push(line.trim().to_string());
            }
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    for (i, span) in prose.split('`').enumerate() {
        if i % 2 == 1 && span.starts_with("{\"type\"") {
            found.push(span.to_string());
        }
    }
    found
}

/// Expands `"a"|"b"` alternatives into one example per choice, left to right.
fn expand_alternatives(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let end = text[i + 1..].find('"').map(|e| i + 1 + e).expect("closed string");
            if bytes.get(end + 1) == Some(&b'|') {
                let mut options = vec![&text[i..=end]];
                let mut j = end + 1;
                while bytes.get(j) == Some(&b'|') {
                    let close = text[j + 2..].find('"').map(|e| j + 2 + e).expect("closed alternative");
                    options.push(&text[j + 1..=close]);
                    j = close + 1;
                }
                return options
                    .into_iter()
                    .flat_map(|o| expand_alternatives(&format!("{}{}{}", &text[..i], o, &text[j..])))
                    .collect();
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    vec![text.to_string()]
}

/// Replaces the document's placeholders (`<unix ms>`, `..` values, `[..]`) by concrete values.
fn concretize(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('>').expect("closed placeholder");
        out.push('0');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.replace("[..]", "[]").replace("{..}", "{}").replace(":..", ":0")
}

fn round_trips_as<T: DeserializeOwned + Serialize>(value: &Value) -> bool {
    serde_json::from_value::<T>(value.clone())
        .ok()
        .and_then(|t| serde_json::to_value(t).ok())
        .is_some_and(|back| &back == value)
}

#[test]
fn every_documented_example_round_trips() {
    let doc = protocol_doc();
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    for example in examples(&doc) {
        for variant in expand_alternatives(&example) {
            let text = concretize(&variant);
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("example is not JSON after filling placeholders: {text}: {e}"));
            if let Some(kind) = value.get("type").and_then(Value::as_str) {
                let encoded = match decode_client(&text) {
                    Ok(msg) => msg.encode(),
                    Err(_) => {
                        decode_server(&text).unwrap_or_else(|e| panic!("{text} decodes as neither side: {e}")).encode()
                    }
                };
                let back: Value = serde_json::from_str(&encoded).expect("encoded JSON");
                assert_eq!(back, value, "round trip changed {text}");
                seen.insert(kind.to_string());
            } else {
                assert!(
                    round_trips_as::<PushNotice>(&value)
                        || round_trips_as::<WebhookEvent>(&value)
                        || round_trips_as::<RegisterRequest>(&value)
                        || round_trips_as::<LoginRequest>(&value)
                        || round_trips_as::<TokenResponse>(&value)
                        || round_trips_as::<HttpError>(&value),
                    "{text} is no protocol body"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} examples found");
    let missing: Vec<_> = CLIENT_TYPES.iter().chain(SERVER_TYPES).filter(|t| !seen.contains(**t)).collect();
    assert!(missing.is_empty(), "message types without an example in docs/protocol.md: {missing:?}");
}

#[test]
fn placeholders_are_filled_and_alternatives_expanded() {
    assert_eq!(
        expand_alternatives(r#"{"a":"x"|"y","b":"p"|"q"}"#),
        [r#"{"a":"x","b":"p"}"#, r#"{"a":"x","b":"q"}"#, r#"{"a":"y","b":"p"}"#, r#"{"a":"y","b":"q"}"#]
    );
    assert_eq!(concretize(r#"{"req":..,"t":<unix ms>,"l":[..]}"#), r#"{"req":0,"t":0,"l":[]}"#);
}
