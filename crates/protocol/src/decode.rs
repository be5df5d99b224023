//! Text frame → message, with errors instead of panics.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{CLIENT_TYPES, ClientMessage, MAX_FRAME_BYTES, SERVER_TYPES, ServerMessage};

/// Why a frame is not a valid message. The server answers it with `bad_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// The `req` of the frame, when it could be read, so the error reply can carry it.
    pub req: Option<u64>,
    pub message: String,
}

/// Reads a client frame.
pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    decode(text, CLIENT_TYPES)
}

/// Reads a server frame.
pub fn decode_server(text: &str) -> Result<ServerMessage, DecodeError> {
    decode(text, SERVER_TYPES)
}

fn decode<T: DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError {
            req: None,
            message: format!("frame of {} bytes exceeds the limit of {MAX_FRAME_BYTES} bytes", text.len()),
        });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| DecodeError { req: None, message: format!("invalid JSON: {e}") })?;
    let Value::Object(map) = &value else {
        return Err(DecodeError { req: None, message: "a message must be a JSON object".into() });
    };
    let req = map.get("req").and_then(Value::as_u64);
    let fail = |message: String| DecodeError { req, message };
    let kind = match map.get("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err(fail("field `type` must be a string".into())),
        None => return Err(fail("missing field `type`".into())),
    };
    if !known.contains(&kind.as_str()) {
        return Err(fail(format!("unknown message type `{kind}`")));
    }
    let kind = kind.clone();
    serde_json::from_value(value).map_err(|e| fail(format!("invalid `{kind}` message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientMessage;

    #[test]
    fn malformed_frames_become_errors_with_their_req() {
        let cases = [
            ("not json", None, "invalid JSON"),
            ("[1,2]", None, "JSON object"),
            (r#"{"req":3}"#, Some(3), "missing field `type`"),
            (r#"{"type":7,"req":4}"#, Some(4), "must be a string"),
            (r#"{"type":"fly","req":5}"#, Some(5), "unknown message type `fly`"),
            (r#"{"type":"accept","req":6}"#, Some(6), "missing field `invite_id`"),
            (r#"{"type":"invite","req":7,"to":"bob"}"#, Some(7), "invalid `invite` message"),
        ];
        for (text, req, needle) in cases {
            let err = decode_client(text).expect_err(text);
            assert_eq!(err.req, req, "{text}");
            assert!(err.message.contains(needle), "{text}: {}", err.message);
        }
    }

    #[test]
    fn oversize_frames_are_refused_before_parsing() {
        let text = format!(r#"{{"type":"auth","token":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        let err = decode_client(&text).expect_err("oversize");
        assert!(err.message.contains("exceeds the limit"));
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let msg = decode_client(r#"{"type":"contacts.list","req":1,"future":true}"#).expect("decodes");
        assert_eq!(msg, ClientMessage::ContactsList(crate::ContactsList { req: Some(1) }));
    }
}
