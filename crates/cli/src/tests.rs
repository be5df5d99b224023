//! The JSON lines `duet-cli` prints are a documented format (README): these
//! pin every event kind's shape, as it was when the engine printed them itself.

use duet_call::{
    CallStats, CallSummary, DeviceKind, DeviceNames, DeviceSwitch, Direction, EndReason, FailReason, MediaChange,
    MediaSent, MediaState, PeerMedia, StateChange,
};
use duet_protocol::{CallType, MediaOff, Status};
use serde_json::json;

use super::*;

#[test]
fn controls_parse_and_device_names_keep_their_spaces() {
    let parse = |line: &str| line.parse::<Control>().map(|c| c.0);
    assert_eq!(parse("mute"), Ok(Command::Mute(true)));
    assert_eq!(parse(" camera off "), Ok(Command::Camera(false)));
    assert_eq!(parse("use mic Built-in Microphone"), Ok(Command::UseMicrophone(Some("Built-in Microphone".into()))));
    assert_eq!(parse("use speaker"), Ok(Command::UseSpeaker(None)));
    assert_eq!(parse("use camera 0"), Ok(Command::UseCamera(Some("0".into()))));
    assert_eq!(parse("dial bob audio"), Ok(Command::Dial { peer: "bob".into(), audio_only: true }));
    assert_eq!(parse("accept"), Ok(Command::Accept { audio_only: false }));
    assert_eq!(parse("chat  hello  there"), Ok(Command::Chat { id: None, text: "hello  there".into() }));
    let error = parse("louder").unwrap_err().to_string();
    assert!(error.contains("unknown control \"louder\""), "{error}");
}

fn state(state: CallState, call: Option<CallSummary>, duration_ms: Option<u64>) -> Event {
    Event::State(StateChange { state, at_ms: 1.5, call, duration_ms })
}

#[test]
fn call_states_print_as_before() {
    let bob = CallSummary {
        peer: "bob".into(),
        direction: Direction::Outgoing,
        call_type: CallType::Video,
        invite_id: Some("i1".into()),
    };
    assert_eq!(
        event_json(&state(CallState::Prepared, None, None)),
        json!({"event": "state", "state": "prepared", "at_ms": 1.5})
    );
    assert_eq!(
        event_json(&state(CallState::Calling, Some(bob.clone()), None)),
        json!({"event": "state", "state": "calling", "at_ms": 1.5, "peer": "bob", "direction": "outgoing", "call_type": "video"})
    );
    assert_eq!(
        event_json(&state(CallState::Ended(EndReason::RemoteHangup), Some(bob.clone()), Some(4200))),
        json!({"event": "state", "state": "ended", "reason": "remote_hangup", "at_ms": 1.5, "peer": "bob",
            "direction": "outgoing", "call_type": "video", "duration_ms": 4200})
    );
    let failed = CallState::Failed(FailReason::MediaFailure("the media connection failed".into()));
    assert_eq!(
        event_json(&state(failed, None, Some(0))),
        json!({"event": "state", "state": "failed", "at_ms": 1.5, "duration_ms": 0,
            "reason": {"kind": "media_failure", "detail": "the media connection failed"}})
    );
}

#[test]
fn media_and_message_events_print_as_before() {
    let cases = [
        (Event::Accepted { at_ms: 2.0 }, json!({"event": "accepted", "at_ms": 2.0})),
        (
            Event::Media(MediaChange { state: MediaState::Connected, at_ms: Some(3.0) }),
            json!({"event": "media", "state": "connected", "at_ms": 3.0}),
        ),
        (
            Event::Media(MediaChange { state: MediaState::Failed, at_ms: None }),
            json!({"event": "media", "state": "failed"}),
        ),
        (Event::FirstFrame { at_ms: 4.0 }, json!({"event": "first_frame", "at_ms": 4.0})),
        (Event::Verification { code: "042917".into() }, json!({"event": "verification", "code": "042917"})),
        (
            Event::LocalMedia(MediaSent {
                audio: true,
                video: false,
                audio_off: None,
                video_off: Some(MediaOff::NoDevice),
            }),
            json!({"event": "local_media", "audio": true, "video": false, "video_off": "no_device"}),
        ),
        (
            Event::PeerMedia(PeerMedia {
                user: "bob".into(),
                media: MediaSent { audio: false, video: true, audio_off: Some(MediaOff::Off), video_off: None },
            }),
            json!({"event": "peer_media", "user": "bob", "audio": false, "video": true, "audio_off": "off"}),
        ),
        (
            Event::MessageSent { cmd: 1, seq: 7, id: Some(3) },
            json!({"event": "message_sent", "cmd": 1, "seq": 7, "id": 3}),
        ),
        (Event::MessageDelivered { seq: 7, id: None }, json!({"event": "message_delivered", "seq": 7, "id": null})),
        (
            Event::Message { channel: "duet.reliable".into(), cmd: 1, seq: 2, text: "hi".into() },
            json!({"event": "message", "channel": "duet.reliable", "cmd": 1, "seq": 2, "text": "hi"}),
        ),
        (
            Event::Control { control: format!("{:?}", Command::Mute(true)) },
            json!({"event": "control", "control": "Mute(true)"}),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(event_json(&event), expected, "{event:?}");
    }
}

#[test]
fn device_connection_and_error_events_print_as_before() {
    let cases = [
        (
            Event::Device(DeviceSwitch { kind: DeviceKind::Speaker, id: "vspeaker".into(), unplugged: false }),
            json!({"event": "device", "speaker": "vspeaker"}),
        ),
        (
            Event::Device(DeviceSwitch { kind: DeviceKind::Microphone, id: "vmic".into(), unplugged: true }),
            json!({"event": "device", "microphone": "vmic", "reason": "unplugged"}),
        ),
        (
            Event::Devices(DeviceNames {
                cameras: vec!["Cam".into()],
                microphones: vec![],
                speakers: vec!["s".into()],
            }),
            json!({"event": "devices", "cameras": ["Cam"], "microphones": [], "speakers": ["s"]}),
        ),
        (Event::Connection { online: true, reason: None }, json!({"event": "connection", "online": true})),
        (
            Event::Connection { online: false, reason: Some("reset".into()) },
            json!({"event": "connection", "online": false, "reason": "reset"}),
        ),
        (
            Event::Presence { user: "bob".into(), status: Status::Busy },
            json!({"event": "presence", "user": "bob", "status": "busy"}),
        ),
        (
            Event::AuthFailed { code: duet_protocol::ErrorCode::Unauthorized, message: "expired".into() },
            json!({"event": "auth_failed", "code": "unauthorized", "message": "expired"}),
        ),
        (
            Event::Error(EngineError::Device { code: Some(-1301), message: "no camera; the call goes on".into() }),
            json!({"event": "error", "code": -1301, "message": "no camera; the call goes on"}),
        ),
        (
            Event::Error(EngineError::Device { code: None, message: "the speaker failed".into() }),
            json!({"event": "error", "code": null, "message": "the speaker failed"}),
        ),
        (
            Event::Error(EngineError::Chat { id: Some(2), code: Some("too_large".into()), message: "too big".into() }),
            json!({"event": "error", "id": 2, "code": "too_large", "message": "too big"}),
        ),
        (
            Event::Error(EngineError::Chat { id: None, code: None, message: "no call".into() }),
            json!({"event": "error", "id": null, "message": "no call"}),
        ),
        (
            Event::Error(EngineError::Dial { peer: "bob".into(), message: "busy".into() }),
            json!({"event": "error", "message": "cannot call bob: busy"}),
        ),
        (
            Event::Error(EngineError::Accept("gone".into())),
            json!({"event": "error", "message": "cannot accept the call: gone"}),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(event_json(&event), expected, "{event:?}");
    }
}

#[test]
fn stats_print_every_counter_by_its_old_name() {
    let line =
        event_json(&Event::Stats(Box::new(CallStats { fps: 29.5, width: 1280, height: 720, ..CallStats::default() })));
    let keys: Vec<&str> = line.as_object().expect("an object").keys().map(String::as_str).collect();
    let mut expected = vec![
        "event",
        "frames_sent",
        "frames_decoded",
        "frames_lost",
        "frames_undecodable",
        "keyframe_requests",
        "ice_restarts",
        "last_frame_counter",
        "fps",
        "width",
        "height",
        "freeze_count",
        "total_freeze_ms",
        "glass_to_glass_p50_ms",
        "glass_to_glass_p95_ms",
        "bitrate_out_kbps",
        "bitrate_in_kbps",
        "target_bitrate_kbps",
        "video_bitrate_kbps",
        "audio_packets_sent",
        "audio_packets_received",
        "audio_frames_decoded",
        "audio_frames_recovered",
        "audio_frames_concealed",
        "rtt_ms",
        "loss",
        "jitter_ms",
        "quality",
        "peer_quality",
    ];
    let mut keys = keys;
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(
        (line["event"].clone(), line["fps"].clone(), line["rtt_ms"].clone()),
        (json!("stats"), json!(29.5), json!(null))
    );
}
