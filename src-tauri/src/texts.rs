//! The texts the shell shows outside the web UI (notifications, the tray menu,
//! the incoming-call window's title), in the UI's languages.

use crate::settings::Language;

/// The shell's texts in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts(Language);

impl Texts {
    /// In `chosen`, or in the system's language when none is chosen.
    pub fn new(chosen: Option<Language>) -> Texts {
        Texts(chosen.unwrap_or_else(system_language))
    }

    fn pick(self, english: &'static str, chinese: &'static str) -> &'static str {
        match self.0 {
            Language::English => english,
            Language::Chinese => chinese,
        }
    }

    pub fn is_calling(self, peer: &str) -> String {
        self.pick("{peer} is calling", "{peer} 来电").replace("{peer}", peer)
    }

    pub fn call_kind(self, video: bool) -> &'static str {
        if video { self.pick("Video call", "视频通话") } else { self.pick("Audio call", "语音通话") }
    }

    pub fn accept(self) -> &'static str {
        self.pick("Accept", "接听")
    }

    pub fn decline(self) -> &'static str {
        self.pick("Decline", "拒绝")
    }

    pub fn missed_call_from(self, peer: &str) -> String {
        self.pick("Missed call from {peer}", "{peer} 的未接来电").replace("{peer}", peer)
    }

    /// `count` calls from `peer` went unanswered.
    pub fn missed_calls_from(self, peer: &str, count: usize) -> String {
        if count == 1 {
            return self.missed_call_from(peer);
        }
        let text = self.pick("{count} missed calls from {peer}", "{peer} 的 {count} 个未接来电");
        text.replace("{peer}", peer).replace("{count}", &count.to_string())
    }

    pub fn open_history(self) -> &'static str {
        self.pick("Open history", "查看通话记录")
    }

    pub fn someone(self) -> &'static str {
        self.pick("Someone", "有人")
    }

    pub fn show_duet(self) -> &'static str {
        self.pick("Show Duet", "显示 Duet")
    }

    pub fn quit_duet(self) -> &'static str {
        self.pick("Quit Duet", "退出 Duet")
    }

    pub fn incoming_window_title(self) -> &'static str {
        self.pick("Incoming call — Duet", "来电 — Duet")
    }
}

/// The language of a locale such as `zh_CN.UTF-8` or `en_US`.
fn language_of(locale: &str) -> Language {
    if locale.to_ascii_lowercase().starts_with("zh") { Language::Chinese } else { Language::English }
}

/// The first of the locale variables that is set, as POSIX reads them.
fn system_language() -> Language {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .map_or(Language::English, |locale| language_of(&locale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_speak_the_chosen_language() {
        let chinese = Texts::new(Some(Language::Chinese));
        assert_eq!(chinese.is_calling("bob"), "bob 来电");
        assert_eq!(chinese.missed_call_from("bob"), "bob 的未接来电");
        assert_eq!(chinese.missed_calls_from("bob", 2), "bob 的 2 个未接来电");
        assert_eq!((chinese.accept(), chinese.decline()), ("接听", "拒绝"));
        let english = Texts::new(Some(Language::English));
        assert_eq!(english.missed_calls_from("bob", 1), "Missed call from bob");
        assert_eq!(english.missed_calls_from("bob", 3), "3 missed calls from bob");
        assert_eq!(english.is_calling("bob"), "bob is calling");
        assert_eq!(english.call_kind(false), "Audio call");
    }

    #[test]
    fn the_system_locale_picks_chinese_or_english() {
        assert_eq!(language_of("zh_CN.UTF-8"), Language::Chinese);
        assert_eq!(language_of("zh_TW"), Language::Chinese);
        assert_eq!(language_of("en_US.UTF-8"), Language::English);
        assert_eq!(language_of("C"), Language::English);
    }
}
