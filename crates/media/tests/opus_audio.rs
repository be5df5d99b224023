//! A tone through Opus arrives at its pitch; lost packets are concealed or
//! rebuilt from the next packet's FEC.

use duet_media::audio::{FRAME, OpusDecoder, OpusEncoder, ToneSource, tone_amplitude};

fn encoded_tone(frequency: f32, frames: usize) -> Vec<Vec<u8>> {
    let mut tone = ToneSource::new(frequency, 0.5);
    let mut encoder = OpusEncoder::new(32_000).unwrap();
    (0..frames).map(|_| encoder.encode(&tone.next_frame()).unwrap()).collect()
}

#[test]
fn a_tone_arrives_at_the_right_frequency() {
    let packets = encoded_tone(440.0, 50);
    let mut decoder = OpusDecoder::new().unwrap();
    // Skip the codec's start-up (its look-ahead and the encoder's ramp).
    let decoded: Vec<i16> = packets.iter().flat_map(|p| decoder.decode(p).unwrap()).skip(10 * FRAME).collect();
    let at_tone = tone_amplitude(&decoded, 440.0);
    assert!((0.35..0.65).contains(&at_tone), "440 Hz came back at {at_tone:.3}, sent at 0.5");
    for other in [300.0, 880.0, 1000.0] {
        assert!(tone_amplitude(&decoded, other) < at_tone / 10.0, "{other} Hz is not in the signal");
    }
}

#[test]
fn lost_packets_are_concealed_or_recovered_from_fec() {
    let packets = encoded_tone(440.0, 40);
    let mut decoder = OpusDecoder::new().unwrap();
    for packet in &packets[..30] {
        decoder.decode(packet).unwrap();
    }
    // Packet 30 is lost: rebuild it from packet 31's FEC, then play 31.
    let recovered = decoder.recover(&packets[31]).unwrap();
    decoder.decode(&packets[31]).unwrap();
    assert!(tone_amplitude(&recovered, 440.0) > 0.2, "FEC keeps the tone");
    // Packet 32 is lost with nothing after it yet: conceal.
    let concealed = decoder.conceal().unwrap();
    assert!(tone_amplitude(&concealed, 440.0) > 0.1, "concealment continues the tone");
    decoder.decode(&packets[33]).unwrap();
}
