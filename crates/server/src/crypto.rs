//! Secrets and signatures: password hashes, access tokens, room tickets, TURN
//! credentials and the signatures of outgoing webhooks.

use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::Sha256;

use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Password(e.to_string()))
}

/// Whether `password` matches a hash made by [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Why a token or ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not made by this server, altered, or of the wrong kind.
    Invalid,
    Expired,
}

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    /// Unix milliseconds.
    pub exp: u64,
}

/// What a room ticket says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    pub room: String,
    pub sub: String,
    pub perm: u32,
    /// Unix milliseconds.
    pub exp: u64,
}

/// Signs and checks tokens and tickets with keys derived from the server secret.
pub struct Signer {
    token_key: [u8; 32],
    ticket_key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// A signer over `secret`; tokens and tickets use separate derived keys so one
    /// can never be passed off as the other.
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            token_key: derive(secret, b"duet access token v1"),
            ticket_key: derive(secret, b"duet room ticket v1"),
        }
    }

    /// Loads the secret from `dir/secret.key`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<Signer> {
        let path = dir.join("secret.key");
        let hex = match std::fs::read_to_string(&path) {
            Ok(hex) => hex,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&path, &hex)?;
                hex
            }
            Err(e) => return Err(e.into()),
        };
        let secret =
            decode_hex(hex.trim()).ok_or_else(|| Error::Config(format!("{} is not a hex secret", path.display())))?;
        Ok(Signer::new(&secret))
    }

    /// An access token for `user` valid until `exp` (unix ms).
    pub fn issue_token(&self, user: &str, exp: u64) -> String {
        seal(&self.token_key, &TokenClaims { sub: user.into(), exp })
    }

    /// Checks a token made by [`Signer::issue_token`] at time `now` (unix ms).
    pub fn verify_token(&self, token: &str, now: u64) -> Result<TokenClaims, TokenError> {
        let claims: TokenClaims = open(&self.token_key, token)?;
        if claims.exp <= now { Err(TokenError::Expired) } else { Ok(claims) }
    }

    /// A room ticket.
    pub fn issue_ticket(&self, claims: &TicketClaims) -> String {
        seal(&self.ticket_key, claims)
    }

    /// Checks a room ticket at time `now` (unix ms).
    pub fn verify_ticket(&self, ticket: &str, now: u64) -> Result<TicketClaims, TokenError> {
        let claims: TicketClaims = open(&self.ticket_key, ticket)?;
        if claims.exp <= now { Err(TokenError::Expired) } else { Ok(claims) }
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    hmac_sha256(secret, label)
}

fn seal<T: Serialize>(key: &[u8], claims: &T) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(key, payload.as_bytes()));
    format!("{payload}.{sig}")
}

fn open<T: for<'de> Deserialize<'de>>(key: &[u8], token: &str) -> Result<T, TokenError> {
    let (payload, sig) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Invalid)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// TURN REST API credentials: username `expiry:user`, password base64(HMAC-SHA1(secret, username)).
pub fn turn_credentials(secret: &str, user: &str, expiry_unix_s: u64) -> (String, String) {
    let username = format!("{expiry_unix_s}:{user}");
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    let password = STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// The headers that sign an outgoing webhook or push body: the seed's `Sign` and
/// the Standard Webhooks `webhook-id` / `webhook-timestamp` / `webhook-signature`.
pub fn webhook_headers(key: &str, id: &str, timestamp_s: u64, body: &str) -> [(&'static str, String); 4] {
    let sign = STANDARD.encode(hmac_sha256(key.as_bytes(), body.as_bytes()));
    let signed = format!("{id}.{timestamp_s}.{body}");
    let standard = STANDARD.encode(hmac_sha256(key.as_bytes(), signed.as_bytes()));
    [
        ("Sign", sign),
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp_s.to_string()),
        ("webhook-signature", format!("v1,{standard}")),
    ]
}

/// A random identifier of `bytes` random bytes, URL-safe.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || hex.is_empty() {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options.open(path)?.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_tickets_are_not_tokens() {
        let signer = Signer::new(b"secret");
        let token = signer.issue_token("alice", 2_000);
        assert_eq!(signer.verify_token(&token, 1_000).map(|c| c.sub), Ok("alice".to_string()));
        assert_eq!(signer.verify_token(&token, 2_000), Err(TokenError::Expired));
        assert_eq!(Signer::new(b"other").verify_token(&token, 1_000), Err(TokenError::Invalid));

        let ticket = signer.issue_ticket(&TicketClaims { room: "r".into(), sub: "alice".into(), perm: 63, exp: 2_000 });
        assert_eq!(signer.verify_token(&ticket, 1_000), Err(TokenError::Invalid));
        assert!(signer.verify_ticket(&ticket, 1_000).is_ok());
        let tampered = ticket.replacen('e', "f", 1);
        assert_eq!(signer.verify_ticket(&tampered, 1_000), Err(TokenError::Invalid));
    }

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
    }

    #[test]
    fn turn_credentials_follow_the_rest_api_scheme() {
        // Known answer from: printf 1700000000:bob | openssl dgst -sha1 -hmac secret -binary | base64
        let (user, pass) = turn_credentials("secret", "bob", 1_700_000_000);
        assert_eq!(user, "1700000000:bob");
        assert_eq!(pass, "YeMuUjjOaxvglmPbYS9o30UEIYg=");
    }
}
