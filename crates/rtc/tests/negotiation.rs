//! Offer only what Duet sends and takes (PROTOCOL.md "Media negotiation"): a
//! browser's offer lists VP8, VP9 and AV1 before H.264, and other audio codecs
//! beside Opus; Duet's answer still picks H.264 constrained baseline
//! (`42e01f`, packetization mode 1) and Opus, and nothing else.

mod common;
use common::loopback;
use duet_rtc::{RtcSession, SessionDescription};

/// An offer shaped as a current browser writes it: VP8 first, RTX for each video codec.
fn browser_offer() -> String {
    let fingerprint = (0..32).map(|i| format!("{:02X}", i * 7 % 256)).collect::<Vec<_>>().join(":");
    let lines = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic: WMS stream",
        "m=audio 9 UDP/TLS/RTP/SAVPF 63 111 9 0 8",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Bv4F",
        "a=ice-pwd:yoj6Ugq8bB3ZhzqQAkYxAQsK",
        "a=ice-options:trickle",
        &format!("a=fingerprint:sha-256 {fingerprint}"),
        "a=setup:actpass",
        "a=mid:0",
        "a=sendrecv",
        "a=msid:stream audio",
        "a=rtcp-mux",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=ssrc:1001 cname:browser",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 45 46 102 103",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Bv4F",
        "a=ice-pwd:yoj6Ugq8bB3ZhzqQAkYxAQsK",
        "a=ice-options:trickle",
        &format!("a=fingerprint:sha-256 {fingerprint}"),
        "a=setup:actpass",
        "a=mid:1",
        "a=sendrecv",
        "a=msid:stream video",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=rtpmap:98 VP9/90000",
        "a=fmtp:98 profile-id=0",
        "a=rtpmap:99 rtx/90000",
        "a=fmtp:99 apt=98",
        "a=rtpmap:45 AV1/90000",
        "a=rtpmap:46 rtx/90000",
        "a=fmtp:46 apt=45",
        "a=rtpmap:102 H264/90000",
        "a=rtcp-fb:102 nack",
        "a=rtcp-fb:102 nack pli",
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "a=rtpmap:103 rtx/90000",
        "a=fmtp:103 apt=102",
        "a=ssrc:2001 cname:browser",
    ];
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// The payload types of the answer's `m=KIND` line, and each one's `rtpmap` and `fmtp`.
fn negotiated(sdp: &str, kind: &str) -> Vec<(String, String)> {
    let section: Vec<&str> = sdp
        .split("\r\nm=")
        .find(|s| s.starts_with(&format!("{kind} ")))
        .unwrap_or_else(|| panic!("no m={kind} in {sdp}"))
        .lines()
        .collect();
    let types = section[0].split_whitespace().skip(3);
    let attribute = |name: &str, pt: &str| {
        let prefix = format!("a={name}:{pt} ");
        section.iter().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("").to_owned()
    };
    types.map(|pt| (attribute("rtpmap", pt), attribute("fmtp", pt))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_offer_with_vp8_first_is_answered_with_h264_and_opus_only() {
    let mut duet = RtcSession::new(loopback(true)).await.unwrap();
    let offer = SessionDescription::offer(browser_offer()).unwrap();
    let answer = duet.answer(offer).await.unwrap();

    let video = negotiated(&answer.sdp, "video");
    assert_eq!(
        video,
        [(
            "H264/90000".to_owned(),
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned()
        )],
        "{}",
        answer.sdp
    );
    let audio = negotiated(&answer.sdp, "audio");
    assert_eq!(audio.len(), 1, "{}", answer.sdp);
    assert_eq!(audio[0].0, "opus/48000/2", "{}", answer.sdp);
}

/// Duet's own offer names only what it sends: Opus and the one H.264 profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duets_offer_names_only_h264_and_opus() {
    let mut duet = RtcSession::new(loopback(true)).await.unwrap();
    let offer = duet.create_offer().await.unwrap();
    let video: Vec<String> = negotiated(&offer.sdp, "video").into_iter().map(|(rtpmap, _)| rtpmap).collect();
    assert_eq!(video, ["H264/90000"], "{}", offer.sdp);
    let audio: Vec<String> = negotiated(&offer.sdp, "audio").into_iter().map(|(rtpmap, _)| rtpmap).collect();
    assert_eq!(audio, ["opus/48000/2"], "{}", offer.sdp);
}
