//! The call's safety code (PROTOCOL.md "Verification"): both sides show the same
//! six digits unless someone between them (a server relaying forged SDP) took
//! part in the DTLS handshake, so two people who read them to each other can
//! tell.

use sha2::{Digest, Sha256};

/// The code of a call in `room_id` whose two DTLS certificates have these
/// fingerprints (in either order): 6 digits, `000000` to `999999`.
pub fn safety_code(room_id: &str, fingerprint_a: &str, fingerprint_b: &str) -> String {
    let (a, b) = (normalize(fingerprint_a), normalize(fingerprint_b));
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    for (i, part) in ["DUET-SAS-1", room_id, &low, &high].iter().enumerate() {
        if i > 0 {
            hash.update([0u8]);
        }
        hash.update(part.as_bytes());
    }
    let code = hash.finalize();
    let first = u32::from_be_bytes([0, code[0], code[1], code[2]]);
    format!("{:06}", (first >> 4) % 1_000_000)
}

/// Upper-case hex with colons, as PROTOCOL.md writes fingerprints.
fn normalize(fingerprint: &str) -> String {
    fingerprint.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    const B: &str = "01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F:20";

    #[test]
    fn both_sides_get_the_same_six_digits_whatever_the_order_and_case() {
        let code = safety_code("room-1", A, B);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        assert_eq!(safety_code("room-1", B, A), code);
        assert_eq!(safety_code("room-1", &B.to_lowercase(), A), code);
    }

    #[test]
    fn the_code_follows_the_protocol_formula() {
        // SHA-256("DUET-SAS-1" 0x00 "room-1" 0x00 B 0x00 A) (B sorts first), computed apart.
        let mut input = b"DUET-SAS-1\0room-1\0".to_vec();
        input.extend_from_slice(format!("{B}\0{A}").as_bytes());
        let digest = Sha256::digest(&input);
        let expected =
            ((u32::from(digest[0]) << 16 | u32::from(digest[1]) << 8 | u32::from(digest[2])) >> 4) % 1_000_000;
        assert_eq!(safety_code("room-1", A, B), format!("{expected:06}"));
    }

    #[test]
    fn another_room_or_certificate_gives_another_code() {
        let code = safety_code("room-1", A, B);
        assert_ne!(safety_code("room-2", A, B), code);
        assert_ne!(safety_code("room-1", A, &B.replace("20", "21")), code);
    }
}
