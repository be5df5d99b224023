// Settings: the devices calls use, what is done to the voice (echo
// cancellation, noise suppression, automatic gain), video quality, the beauty
// filter's defaults, the ringtone and its volume, the language, and starting Duet at login.

import { commands, type AppError, type AppInfo, type Beauty, type Language, type Managed, type NoiseSuppression, type Ringtone, type Settings, type Voice } from "../bindings";
import { h } from "../dom";
import { errorText, msg, t } from "../i18n";

/** The beauty filter's four levels, 0–9 each. */
export const BEAUTY_LEVELS: [keyof Omit<Beauty, "enabled">, string][] = [
  ["smoothing", msg("Smoothing")],
  ["whitening", msg("Whitening")],
  ["ruddiness", msg("Rosy cheeks")],
  ["sharpening", msg("Sharpening")],
];
const RINGTONES: [Ringtone, string][] = [
  ["chime", msg("Chime")],
  ["classic", msg("Classic bell")],
  ["bright", msg("Bright")],
];
const NOISE_LEVELS: [NoiseSuppression, string][] = [
  ["off", msg("Off")],
  ["moderate", msg("Moderate")],
  ["high", msg("High (noisy rooms)")],
];

/** Echo cancellation, noise suppression and automatic gain; what the policy fixes shows fixed. */
export function voiceControls(voice: Voice, policy: Managed): HTMLElement {
  const check = (key: "echo_cancellation" | "auto_gain", label: string, hint: string) => {
    const fixed = policy[key];
    const box = h("input", { type: "checkbox", id: `voice-${key.replace("_", "-")}`, checked: fixed ?? voice[key], disabled: fixed !== null });
    box.addEventListener("change", () => (voice[key] = box.checked));
    return [h("label", { class: "check" }, box, " ", t(label)), h("small", {}, t(hint))];
  };
  const fixedNoise = policy.noise_suppression;
  const noise = h("select", { id: "voice-noise-suppression", disabled: fixedNoise !== null },
    ...NOISE_LEVELS.map(([value, label]) => h("option", { value, selected: value === (fixedNoise ?? voice.noise_suppression) }, t(label))));
  noise.addEventListener("change", () => (voice.noise_suppression = noise.value as NoiseSuppression));
  return h("fieldset", { class: "voice", id: "voice-settings" }, h("legend", {}, t("Sound")),
    ...check("echo_cancellation", msg("Echo cancellation"), msg("The other person does not hear themselves back from your speakers. Leave it on unless you wear headphones and hear a problem.")),
    h("label", {}, t("Noise suppression"), noise),
    ...check("auto_gain", msg("Automatic gain"), msg("Your voice reaches the other person at an even level, near or far from the microphone.")));
}

/** Each language by its own name, so anyone finds theirs. */
const LANGUAGES: [Language, string][] = [
  ["en", "English"],
  ["zh", "中文"],
];

/** The beauty switch and sliders; `onChange` gets every change as it happens. */
export function beautyControls(initial: Beauty, onChange: (beauty: Beauty) => void, idPrefix = "beauty"): HTMLElement {
  const beauty = { ...initial };
  const enabled = h("input", { type: "checkbox", id: `${idPrefix}-enabled`, checked: beauty.enabled });
  enabled.addEventListener("change", () => {
    beauty.enabled = enabled.checked;
    onChange({ ...beauty });
  });
  const sliders = BEAUTY_LEVELS.map(([key, label]) => {
    const slider = h("input", { type: "range", min: "0", max: "9", step: "1", id: `${idPrefix}-${key}`, value: String(beauty[key]) });
    const value = h("output", { for: slider.id }, String(beauty[key]));
    slider.addEventListener("input", () => {
      beauty[key] = Number(slider.value);
      value.textContent = slider.value;
      onChange({ ...beauty });
    });
    return h("label", { class: "slider" }, t(label), slider, value);
  });
  return h("fieldset", { class: "beauty" }, h("legend", {}, t("Beauty")), h("label", { class: "check" }, enabled, " ", t("On")), ...sliders);
}

export interface SettingsOptions {
  onBack: () => void;
  onCheckDevices?: () => void;
  /** The settings were saved with another language: the screens are shown again in it. */
  onLanguage?: (language: Language | null) => void;
}

const CHANNELS = { stable: msg("stable releases"), beta: msg("beta releases"), off: msg("off: your administrator installs new versions") };

/** What the administrator's policy file sets, when there is one. */
function managedBox(info: AppInfo): HTMLElement | null {
  if (!info.policy_file) return null;
  const p = info.policy;
  const lines = [
    p.server && p.lock_server ? t("Server: {server} (locked)", { server: p.server }) : null,
    p.server && !p.lock_server ? t("Server: {server} (preset)", { server: p.server }) : null,
    p.allow_local_server ? null : t("The built-in server is turned off."),
    p.allow_registration ? null : t("Creating accounts is turned off."),
    p.relay_only ? t("Calls always go through your server's relay.") : null,
    p.echo_cancellation !== null || p.noise_suppression !== null || p.auto_gain !== null ? t("Some sound settings are set for you.") : null,
    t("Updates: {channel}", { channel: t(CHANNELS[p.update_channel]) }),
  ];
  return h("section", { class: "managed-box", id: "managed" }, h("h2", {}, t("Managed by your administrator")),
    ...lines.filter((l) => l !== null).map((l) => h("p", {}, l)), h("small", {}, info.policy_file));
}

/** "Check for updates": the newer version with its notes, then install and restart. */
function updatesBox(current: string): HTMLElement {
  const status = h("p", { class: "hint", id: "update-status", "aria-live": "polite" }, t("This is version {version}.", { version: current }));
  const notes = h("pre", { class: "release-notes", id: "release-notes", hidden: true });
  const check = h("button", { type: "button", id: "check-update" }, t("Check for updates"));
  const install = h("button", { type: "button", class: "primary", id: "install-update", hidden: true }, t("Install and restart"));
  const problem = h("p", { class: "error", role: "alert", id: "update-error" });
  /** Runs `command` with `button` disabled and `busy` shown; its result, or null after showing its error. */
  const attempt = async <T>(button: HTMLButtonElement, busy: string, command: () => Promise<{ status: "ok"; data: T } | { status: "error"; error: AppError }>) => {
    button.disabled = true;
    problem.textContent = "";
    status.textContent = busy;
    const result = await command();
    button.disabled = false;
    if (result.status === "ok") return { value: result.data };
    status.textContent = "";
    problem.textContent = errorText(result.error);
    problem.dataset.code = result.error.code;
    return null;
  };
  check.addEventListener("click", async () => {
    const result = await attempt(check, t("Checking…"), commands.checkForUpdate);
    if (!result) return;
    const update = result.value;
    status.textContent = update ? t("Version {version} is available.", { version: update.version }) : t("Duet is up to date.");
    notes.textContent = update?.notes ?? "";
    notes.hidden = !update?.notes;
    install.hidden = !update;
  });
  install.addEventListener("click", () => void attempt(install, t("Downloading and verifying…"), commands.installUpdate));
  return h("section", { class: "updates", id: "updates" }, h("h2", {}, t("Updates")), status, notes, h("div", { class: "actions" }, check, install), problem);
}

export function settingsScreen(options: SettingsOptions): HTMLElement {
  const form = h("form", { class: "card settings", id: "settings-form" }, h("p", {}, t("Loading…")));
  const message = h("p", { class: "error", role: "alert", id: "settings-error" });
  const saved = h("p", { class: "hint", id: "settings-saved", "aria-live": "polite" });
  const back = h("button", { type: "button", id: "settings-back" }, t("Back"));
  back.addEventListener("click", options.onBack);
  const check = h("button", { type: "button", id: "settings-check-devices" }, t("Check devices"));
  check.addEventListener("click", () => options.onCheckDevices?.());

  void Promise.all([commands.settings(), commands.devices(), commands.appInfo()]).then(([settings, devices, info]) => {
    const current: Settings = { ...settings, beauty: { ...settings.beauty }, voice: { ...settings.voice } };
    const savedLanguage = settings.language;
    const pick = (id: string, label: string, names: string[], chosen: string | null, set: (v: string | null) => void) => {
      const select = h("select", { id }, h("option", { value: "" }, t("System default")),
        ...names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
      if (chosen && !names.includes(chosen)) select.append(h("option", { value: chosen, selected: true }, t("{device} (not connected)", { device: chosen })));
      select.addEventListener("change", () => set(select.value || null));
      return h("label", {}, t(label), select);
    };
    const quality = (value: Settings["quality"], label: string) => {
      const radio = h("input", { type: "radio", name: "quality", id: `quality-${value}`, value, checked: current.quality === value });
      radio.addEventListener("change", () => (current.quality = value));
      return h("label", { class: "check" }, radio, " ", t(label));
    };
    const ringtone = h("select", { id: "setting-ringtone" },
      ...RINGTONES.map(([value, label]) => h("option", { value, selected: value === current.ringtone }, t(label))));
    ringtone.addEventListener("change", () => (current.ringtone = ringtone.value as Ringtone));
    const volume = h("input", { type: "range", min: "0", max: "100", step: "5", id: "setting-ringtone-volume", value: String(current.ringtone_volume) });
    const volumeShown = h("output", { for: volume.id }, `${current.ringtone_volume}%`);
    volume.addEventListener("input", () => {
      current.ringtone_volume = Number(volume.value);
      volumeShown.textContent = `${volume.value}%`;
    });
    const preview = h("button", { type: "button", id: "preview-ringtone" }, t("Play"));
    preview.addEventListener("click", async () => {
      message.textContent = "";
      const result = await commands.previewRingtone(current.ringtone, current.ringtone_volume, current.speaker);
      if (result.status === "error") message.textContent = errorText(result.error);
    });
    const languageSelect = h("select", { id: "setting-language", "aria-label": t("Language") }, h("option", { value: "" }, t("System language")),
      ...LANGUAGES.map(([value, label]) => h("option", { value, selected: value === current.language }, label)));
    languageSelect.addEventListener("change", () => (current.language = (languageSelect.value || null) as Language | null));
    const login = h("input", { type: "checkbox", id: "start-at-login", checked: current.start_at_login });
    login.addEventListener("change", () => (current.start_at_login = login.checked));
    // The policy may turn it on for everyone: then it shows on, and cannot be turned off.
    const relay = h("input", { type: "checkbox", id: "relay-only", "aria-describedby": "relay-only-hint",
      checked: current.relay_only || info.policy.relay_only, disabled: info.policy.relay_only });
    relay.addEventListener("change", () => (current.relay_only = relay.checked));
    form.replaceChildren(
      h("h2", {}, t("Devices")),
      pick("setting-camera", msg("Camera"), devices.cameras, current.camera, (v) => (current.camera = v)),
      pick("setting-microphone", msg("Microphone"), devices.microphones, current.microphone, (v) => (current.microphone = v)),
      pick("setting-speaker", msg("Speaker"), devices.speakers, current.speaker, (v) => (current.speaker = v)),
      devices.cameras.length === 0 ? h("small", {}, t("No camera found: calls go on with sound only.")) : "",
      voiceControls(current.voice, info.policy),
      h("h2", {}, t("Video")),
      quality("standard", msg("Standard: 960×540, 15 fps (less data)")),
      quality("hd", msg("HD: 1280×720, 30 fps")),
      beautyControls(current.beauty, (beauty) => (current.beauty = beauty), "default-beauty"),
      h("h2", {}, t("Incoming calls")),
      h("label", {}, t("Ringtone"), h("span", { class: "inline" }, ringtone, preview)),
      h("label", { class: "slider" }, t("Volume"), volume, volumeShown),
      h("h2", {}, t("Language")),
      languageSelect,
      h("h2", {}, t("Privacy")),
      h("label", { class: "check" }, relay, " ", t("Always relay calls")),
      h("small", { id: "relay-only-hint" }, t("Calls go through your server's relay, so the other person never learns your network address. Needs a relay on your server; calls may connect a little slower.")),
      h("h2", {}, t("Start")),
      h("label", { class: "check" }, login, " ", t("Start Duet when I log in to this computer")),
      h("button", { type: "submit", class: "primary" }, t("Save")),
    );
    const managed = managedBox(info);
    if (managed) form.prepend(managed);
    if (info.policy.update_channel !== "off") form.append(updatesBox(info.version));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      saved.textContent = "";
      const result = await commands.saveSettings(current);
      if (result.status === "error") {
        message.textContent = errorText(result.error);
        message.dataset.code = result.error.code;
        return;
      }
      if (current.language !== savedLanguage) return options.onLanguage?.(current.language);
      saved.textContent = t("Saved. Sound settings apply at once; devices, quality and relaying from the next call.");
    });
  });
  return h("main", { class: "screen settings-screen" }, h("header", { class: "bar" }, h("h2", {}, t("Settings")), check, back), message, form, saved);
}
