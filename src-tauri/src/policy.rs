//! The administrator's policy: a system-wide JSON file, shipped with the
//! package or deployed by an admin, read once at start. It presets the server
//! (and can lock it), can turn off the built-in server and creating accounts,
//! sets the update channel, can send every call through the server's relay, and
//! can fix echo cancellation, noise suppression and automatic gain.
//! The UI marks what the policy manages.
//!
//! Where it is read from (docs/admin.md):
//! - Linux: `/etc/duet/policy.json`
//! - macOS: `/Library/Application Support/Duet/policy.json`
//! - Windows: `%ProgramData%\Duet\policy.json`
//!
//! `DUET_POLICY` names another file (trials, tests). A policy file that exists
//! but cannot be read is an error the app shows at start, not a silent default:
//! an admin who locked the server must not get an unlocked app by a typo.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specta::Type;

use crate::settings::{NoiseSuppression, Voice};

/// Where updates come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum UpdateChannel {
    #[default]
    Stable,
    Beta,
    /// No update checks: the admin rolls out new versions.
    Off,
}

/// What an admin decided for every user of this computer. In the file every
/// key may be left out; the UI gets every field ([`Managed`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The server people sign in to, preset on the login screen.
    pub server: Option<String>,
    /// People cannot sign in to any other server.
    pub lock_server: bool,
    /// "Try it on this computer" (the built-in server) is offered.
    pub allow_local_server: bool,
    /// People may create an account from the login screen (when the server allows it).
    pub allow_registration: bool,
    pub update_channel: UpdateChannel,
    /// Every call goes through the server's TURN relay, whatever the user's setting.
    pub relay_only: bool,
    /// CA certificates (a PEM file) trusted besides the system's, for an `https://`
    /// server whose certificate the organisation's own CA signed.
    pub ca_file: Option<PathBuf>,
    /// Echo cancellation, noise suppression and automatic gain as the
    /// administrator fixed them (the user's setting where left out).
    pub echo_cancellation: Option<bool>,
    pub noise_suppression: Option<NoiseSuppression>,
    pub auto_gain: Option<bool>,
}

/// The policy as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Managed {
    pub server: Option<String>,
    pub lock_server: bool,
    pub allow_local_server: bool,
    pub allow_registration: bool,
    pub update_channel: UpdateChannel,
    pub relay_only: bool,
    pub echo_cancellation: Option<bool>,
    pub noise_suppression: Option<NoiseSuppression>,
    pub auto_gain: Option<bool>,
}

impl Policy {
    /// The user's `voice` settings with what the policy fixes.
    pub fn voice(&self, voice: Voice) -> Voice {
        Voice {
            echo_cancellation: self.echo_cancellation.unwrap_or(voice.echo_cancellation),
            noise_suppression: self.noise_suppression.unwrap_or(voice.noise_suppression),
            auto_gain: self.auto_gain.unwrap_or(voice.auto_gain),
        }
    }
}

impl From<Policy> for Managed {
    fn from(p: Policy) -> Managed {
        Managed {
            server: p.server,
            lock_server: p.lock_server,
            allow_local_server: p.allow_local_server,
            allow_registration: p.allow_registration,
            update_channel: p.update_channel,
            relay_only: p.relay_only,
            echo_cancellation: p.echo_cancellation,
            noise_suppression: p.noise_suppression,
            auto_gain: p.auto_gain,
        }
    }
}

impl Default for Policy {
    /// No policy file: nothing is managed.
    fn default() -> Policy {
        Policy {
            server: None,
            lock_server: false,
            allow_local_server: true,
            allow_registration: true,
            update_channel: UpdateChannel::Stable,
            relay_only: false,
            ca_file: None,
            echo_cancellation: None,
            noise_suppression: None,
            auto_gain: None,
        }
    }
}

/// The policy file of this OS, or the one `DUET_POLICY` names.
pub fn path() -> PathBuf {
    if let Some(path) = std::env::var_os("DUET_POLICY").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if cfg!(windows) {
        let data = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(data).join("Duet").join("policy.json")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Duet/policy.json")
    } else {
        PathBuf::from("/etc/duet/policy.json")
    }
}

/// Why the administrator's policy cannot be used (it then allows nothing until it is fixed).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("The administrator's policy {} cannot be read: {error}.", path.display())]
    Unreadable { path: std::path::PathBuf, error: std::io::Error },
    #[error("The administrator's policy {} is not valid: {why}.", path.display())]
    Invalid { path: std::path::PathBuf, why: String },
}

impl Policy {
    /// Reads the policy at `path`: none there is no policy; one that cannot be
    /// read or is invalid is an error saying which file and why.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(error) => return Err(PolicyError::Unreadable { path: path.to_owned(), error }),
        };
        let invalid = |why: String| PolicyError::Invalid { path: path.to_owned(), why };
        let policy: Policy = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        policy.check().map_err(invalid)?;
        Ok(policy)
    }

    /// What is wrong with the settings, in words.
    fn check(&self) -> Result<(), String> {
        match &self.server {
            Some(server) if !(server.starts_with("http://") || server.starts_with("https://")) => {
                Err(format!("\"server\" must start with http:// or https://, not \"{server}\""))
            }
            None if self.lock_server => Err("\"lock_server\" needs a \"server\" to lock".into()),
            _ => Ok(()),
        }
    }

    /// Whether the user may sign in to `server`.
    pub fn allows_server(&self, server: &str) -> bool {
        let normal = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
        match (&self.server, self.lock_server) {
            (Some(locked), true) => normal(locked) == normal(server),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Result<Policy, PolicyError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policy.json");
        std::fs::write(&path, json).expect("writes");
        Policy::load(&path)
    }

    #[test]
    fn no_policy_file_manages_nothing() {
        let policy = Policy::load(Path::new("/nonexistent/duet/policy.json")).expect("no file is no policy");
        assert_eq!(policy, Policy::default());
        assert!(policy.allows_server("https://anywhere.example"));
    }

    #[test]
    fn a_locked_server_allows_only_itself() {
        let policy = load(r#"{"server": "https://duet.corp.example/", "lock_server": true}"#).expect("valid");
        assert!(policy.allows_server("https://DUET.corp.example"));
        assert!(!policy.allows_server("https://elsewhere.example"));
        assert!(policy.allow_local_server, "what the file leaves out keeps its default");
    }

    #[test]
    fn the_built_in_server_and_registration_can_be_turned_off_and_updates_set() {
        let policy = load(r#"{"allow_local_server": false, "allow_registration": false, "update_channel": "off"}"#)
            .expect("valid");
        assert!(!policy.allow_local_server && !policy.allow_registration);
        assert_eq!(policy.update_channel, UpdateChannel::Off);
        assert!(!policy.relay_only, "calls are relayed only when the policy says so");
        assert!(load(r#"{"relay_only": true}"#).expect("valid").relay_only);
    }

    #[test]
    fn an_organisation_ca_file_is_trusted_besides_the_system_store() {
        assert_eq!(Policy::default().ca_file, None);
        let policy = load(r#"{"ca_file": "/etc/duet/corp-ca.pem"}"#).expect("valid");
        assert_eq!(policy.ca_file.as_deref(), Some(Path::new("/etc/duet/corp-ca.pem")));
    }

    #[test]
    fn a_broken_policy_is_an_error_naming_the_file_never_a_silent_default() {
        for (json, why) in [
            (r#"{"server": "https://a.example", "lock_server": true,"#, "not valid"),
            (r#"{"server": "https://a.example", "lock_sever": true}"#, "unknown field `lock_sever`"),
            (r#"{"lock_server": true}"#, "needs a \"server\""),
            (r#"{"server": "duet.example"}"#, "must start with http"),
        ] {
            let error = load(json).expect_err(json).to_string();
            assert!(error.contains("policy.json") && error.contains(why), "{json}: {error}");
        }
    }

    #[test]
    fn the_policy_fixes_the_voice_processing_it_names_and_leaves_the_rest_to_the_user() {
        let policy = load(r#"{"echo_cancellation": true, "noise_suppression": "high"}"#).expect("valid");
        let user = Voice { echo_cancellation: false, noise_suppression: NoiseSuppression::Off, auto_gain: false };
        let voice = policy.voice(user);
        assert_eq!(
            voice,
            Voice { echo_cancellation: true, noise_suppression: NoiseSuppression::High, auto_gain: false }
        );
        assert_eq!(Policy::default().voice(user), user, "no policy: the user's choice");
        let error = load(r#"{"noise_suppression": "loud"}"#).expect_err("not a level");
        assert!(error.to_string().contains("unknown variant `loud`"), "{error}");
    }
}
