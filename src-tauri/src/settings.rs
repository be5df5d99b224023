//! The user's settings: devices, video quality, beauty defaults, start at
//! login. Kept as JSON in the app's config directory; a file that cannot be
//! read gives the defaults (and says so in the log), never a broken app.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specta::Type;

use crate::error::{AppError, AppResult, ErrorCode};

/// What calls send: the seed's default, or HD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum VideoQuality {
    /// 960x540 at 15 fps, 850 kbps.
    #[default]
    Standard,
    /// 1280x720 at 30 fps.
    Hd,
}

/// The beauty filter's switch and levels (0–9 each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Beauty {
    pub enabled: bool,
    pub smoothing: u8,
    pub whitening: u8,
    pub ruddiness: u8,
    pub sharpening: u8,
}

impl Beauty {
    /// The filter's settings; a level above 9 is bad input.
    pub fn to_filter(self) -> AppResult<duet_beauty::Settings> {
        let level = |value: u8, name: &str| {
            duet_beauty::Level::new(value).map_err(|_| {
                AppError::new(ErrorCode::BadInput, format!("The {name} level goes from 0 to 9, not {value}."))
            })
        };
        Ok(duet_beauty::Settings {
            enabled: self.enabled,
            smoothing: level(self.smoothing, "smoothing")?,
            whitening: level(self.whitening, "whitening")?,
            ruddiness: level(self.ruddiness, "ruddiness")?,
            sharpening: level(self.sharpening, "sharpening")?,
        })
    }

    /// What a new user gets when they turn the filter on.
    pub fn recommended() -> Beauty {
        let r = duet_beauty::Settings::recommended();
        Beauty {
            enabled: false,
            smoothing: r.smoothing.get(),
            whitening: r.whitening.get(),
            ruddiness: r.ruddiness.get(),
            sharpening: r.sharpening.get(),
        }
    }
}

/// The incoming-call rings to choose from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Ringtone {
    /// Two short rising chimes.
    #[default]
    Chime,
    /// A telephone bell.
    Classic,
    /// A bright rising arpeggio.
    Bright,
}

impl From<Ringtone> for duet_media::audio::Ringtone {
    fn from(ringtone: Ringtone) -> Self {
        match ringtone {
            Ringtone::Chime => Self::Chime,
            Ringtone::Classic => Self::Classic,
            Ringtone::Bright => Self::Bright,
        }
    }
}

/// How hard background noise is taken out of the microphone's sound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum NoiseSuppression {
    Off,
    #[default]
    Moderate,
    High,
}

/// What is done to this side's voice before it is sent: all on by default, as
/// a call on a laptop's own speakers and microphone needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Voice {
    /// The other side does not hear itself back from this computer's speakers.
    pub echo_cancellation: bool,
    pub noise_suppression: NoiseSuppression,
    /// The voice is brought to an even level whatever the microphone's.
    pub auto_gain: bool,
}

impl Default for Voice {
    fn default() -> Voice {
        Voice { echo_cancellation: true, noise_suppression: NoiseSuppression::Moderate, auto_gain: true }
    }
}

impl From<Voice> for duet_call::VoiceSettings {
    fn from(voice: Voice) -> Self {
        use duet_call::Suppression;
        duet_call::VoiceSettings {
            echo_cancellation: voice.echo_cancellation,
            noise_suppression: match voice.noise_suppression {
                NoiseSuppression::Off => Suppression::Off,
                NoiseSuppression::Moderate => Suppression::Moderate,
                NoiseSuppression::High => Suppression::High,
            },
            auto_gain: voice.auto_gain,
        }
    }
}

/// The languages of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    #[serde(rename = "zh")]
    Chinese,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Settings {
    /// A camera, microphone or speaker by name; `None`: the system's default.
    pub camera: Option<String>,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    pub quality: VideoQuality,
    pub beauty: Beauty,
    pub start_at_login: bool,
    /// How an incoming call rings: which ringtone, and its volume (0–100).
    pub ringtone: Ringtone,
    pub ringtone_volume: u8,
    /// `None`: the system's language.
    pub language: Option<Language>,
    /// "Always relay calls": media only through the server's TURN relay, so the
    /// other side never learns this computer's addresses.
    pub relay_only: bool,
    /// Echo cancellation, noise suppression and automatic gain.
    pub voice: Voice,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            camera: None,
            microphone: None,
            speaker: None,
            quality: VideoQuality::Standard,
            beauty: Beauty::recommended(),
            start_at_login: false,
            ringtone: Ringtone::Chime,
            ringtone_volume: duet_call::Ring::DEFAULT.volume,
            language: None,
            relay_only: false,
            voice: Voice::default(),
        }
    }
}

impl Settings {
    pub fn path(config_dir: &Path) -> PathBuf {
        config_dir.join("settings.json")
    }

    /// The saved settings, or the defaults when there are none or they cannot be read.
    pub fn load(config_dir: &Path) -> Settings {
        let path = Settings::path(config_dir);
        match std::fs::read(&path) {
            Ok(bytes) => Settings::from_saved(&bytes).unwrap_or_else(|error| {
                tracing::warn!("{} cannot be read ({error}); using the default settings", path.display());
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    /// Saved settings; what an older version did not save yet takes its default.
    fn from_saved(bytes: &[u8]) -> serde_json::Result<Settings> {
        let saved: serde_json::Value = serde_json::from_slice(bytes)?;
        let mut settings = serde_json::to_value(Settings::default())?;
        if let (Some(settings), serde_json::Value::Object(saved)) = (settings.as_object_mut(), saved) {
            settings.extend(saved);
        }
        serde_json::from_value(settings)
    }

    /// The ringtone and volume as the engine plays them; a volume above 100 is bad input.
    pub fn ring(&self) -> AppResult<duet_call::Ring> {
        if self.ringtone_volume > 100 {
            let message = format!("The ringtone volume goes from 0 to 100, not {}.", self.ringtone_volume);
            return Err(AppError::new(ErrorCode::BadInput, message));
        }
        Ok(duet_call::Ring { tone: self.ringtone.into(), volume: self.ringtone_volume })
    }

    /// Writes the settings (to a temporary file first, so a crash never leaves half a file).
    pub fn save(&self, config_dir: &Path) -> AppResult<()> {
        let failed =
            |e: std::io::Error| AppError::new(ErrorCode::Internal, format!("The settings could not be saved: {e}."));
        std::fs::create_dir_all(config_dir).map_err(failed)?;
        let path = Settings::path(config_dir);
        let temporary = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        std::fs::write(&temporary, json).map_err(failed)?;
        std::fs::rename(&temporary, &path).map_err(failed)
    }

    /// What calls capture from and play to, with `voice` done to the
    /// microphone's sound (the settings' as the policy leaves them). `DUET_SOURCES=synthetic`
    /// sends the moving test pattern and a tone instead (demos, machines without a camera).
    pub fn sources(&self, voice: Voice) -> duet_call::Sources {
        use duet_call::{AudioInput, AudioOutput, Sources, VideoInput};
        let hd = self.quality == VideoQuality::Hd;
        let output = AudioOutput::Speaker(self.speaker.clone());
        let ring = self.ring().unwrap_or(duet_call::Ring::DEFAULT);
        match synthetic_sources() {
            true => Sources { output, hd, ring, voice: voice.into(), ..Sources::SYNTHETIC },
            false => Sources {
                video: VideoInput::Camera(self.camera.clone()),
                audio: AudioInput::Microphone(self.microphone.clone()),
                output,
                hd,
                ring,
                first_frame: 0,
                voice: voice.into(),
            },
        }
    }
}

/// Whether `DUET_SOURCES=synthetic` asks for the test pattern and tone instead of the camera and microphone.
pub fn synthetic_sources() -> bool {
    std::env::var("DUET_SOURCES").is_ok_and(|v| v == "synthetic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_restart_and_a_damaged_file_gives_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Settings::load(dir.path()), Settings::default(), "nothing saved yet");
        let chosen = Settings {
            camera: Some("USB Camera".into()),
            quality: VideoQuality::Hd,
            beauty: Beauty { enabled: true, smoothing: 7, ..Beauty::recommended() },
            ..Settings::default()
        };
        chosen.save(dir.path()).expect("saves");
        assert_eq!(Settings::load(dir.path()), chosen);
        std::fs::write(Settings::path(dir.path()), b"{ not json").expect("writes");
        assert_eq!(Settings::load(dir.path()), Settings::default());
    }

    #[test]
    fn settings_saved_by_an_older_version_keep_their_choices_and_get_the_new_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let older = r#"{"camera":"USB Camera","microphone":null,"speaker":"Headset","quality":"hd",
            "beauty":{"enabled":true,"smoothing":4,"whitening":3,"ruddiness":2,"sharpening":1},"start_at_login":true}"#;
        std::fs::write(Settings::path(dir.path()), older).expect("writes");
        let loaded = Settings::load(dir.path());
        assert_eq!(loaded.camera.as_deref(), Some("USB Camera"));
        assert_eq!((loaded.quality, loaded.start_at_login, loaded.beauty.smoothing), (VideoQuality::Hd, true, 4));
        assert_eq!((loaded.ringtone, loaded.ringtone_volume, loaded.language), (Ringtone::Chime, 50, None));
        assert_eq!(loaded.voice, Voice::default(), "echo cancellation, suppression and gain are on");
    }

    #[test]
    fn the_chosen_ringtone_and_volume_ring_incoming_calls() {
        let settings = Settings { ringtone: Ringtone::Classic, ringtone_volume: 80, ..Settings::default() };
        let ring = settings.sources(settings.voice).ring;
        assert_eq!((ring.tone, ring.volume), (duet_media::audio::Ringtone::Classic, 80));
        let error = Settings { ringtone_volume: 101, ..settings }.ring().expect_err("too loud");
        assert_eq!(error.code, ErrorCode::BadInput);
    }

    #[test]
    fn beauty_levels_go_from_0_to_9() {
        let fine = Beauty { enabled: true, smoothing: 9, whitening: 0, ruddiness: 3, sharpening: 2 };
        assert_eq!(fine.to_filter().expect("valid").smoothing.get(), 9);
        let error = Beauty { smoothing: 10, ..fine }.to_filter().expect_err("too high");
        assert_eq!(error.code, ErrorCode::BadInput);
        assert!(error.message.contains("smoothing level goes from 0 to 9, not 10"), "{}", error.message);
    }
}
