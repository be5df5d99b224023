// Settings: the devices calls use, video quality, the beauty filter's
// defaults, and starting Duet at login.

import { commands, type Beauty, type Settings } from "../bindings";
import { h } from "../dom";

/** The beauty filter's four levels, 0–9 each. */
export const BEAUTY_LEVELS: [keyof Omit<Beauty, "enabled">, string][] = [
  ["smoothing", "Smoothing"],
  ["whitening", "Whitening"],
  ["ruddiness", "Rosy cheeks"],
  ["sharpening", "Sharpening"],
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
    return h("label", { class: "slider" }, label, slider, value);
  });
  return h("fieldset", { class: "beauty" }, h("legend", {}, "Beauty"), h("label", { class: "check" }, enabled, " On"), ...sliders);
}

export function settingsScreen(options: { onBack: () => void; onCheckDevices?: () => void }): HTMLElement {
  const form = h("form", { class: "card settings", id: "settings-form" }, h("p", {}, "Loading…"));
  const message = h("p", { class: "error", role: "alert", id: "settings-error" });
  const saved = h("p", { class: "hint", id: "settings-saved", "aria-live": "polite" });
  const back = h("button", { type: "button", id: "settings-back" }, "Back");
  back.addEventListener("click", options.onBack);
  const check = h("button", { type: "button", id: "settings-check-devices" }, "Check devices");
  check.addEventListener("click", () => options.onCheckDevices?.());

  void Promise.all([commands.settings(), commands.devices()]).then(([settings, devices]) => {
    const current: Settings = { ...settings, beauty: { ...settings.beauty } };
    const pick = (id: string, label: string, names: string[], chosen: string | null, set: (v: string | null) => void) => {
      const select = h("select", { id }, h("option", { value: "" }, "System default"),
        ...names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
      if (chosen && !names.includes(chosen)) select.append(h("option", { value: chosen, selected: true }, `${chosen} (not connected)`));
      select.addEventListener("change", () => set(select.value || null));
      return h("label", {}, label, select);
    };
    const quality = (value: Settings["quality"], label: string) => {
      const radio = h("input", { type: "radio", name: "quality", id: `quality-${value}`, value, checked: current.quality === value });
      radio.addEventListener("change", () => (current.quality = value));
      return h("label", { class: "check" }, radio, ` ${label}`);
    };
    const login = h("input", { type: "checkbox", id: "start-at-login", checked: current.start_at_login });
    login.addEventListener("change", () => (current.start_at_login = login.checked));
    form.replaceChildren(
      h("h2", {}, "Devices"),
      pick("setting-camera", "Camera", devices.cameras, current.camera, (v) => (current.camera = v)),
      pick("setting-microphone", "Microphone", devices.microphones, current.microphone, (v) => (current.microphone = v)),
      pick("setting-speaker", "Speaker", devices.speakers, current.speaker, (v) => (current.speaker = v)),
      devices.cameras.length === 0 ? h("small", {}, "No camera found: calls go on with sound only.") : "",
      h("h2", {}, "Video"),
      quality("standard", "Standard: 960×540, 15 fps (less data)"),
      quality("hd", "HD: 1280×720, 30 fps"),
      beautyControls(current.beauty, (beauty) => (current.beauty = beauty), "default-beauty"),
      h("label", { class: "check" }, login, " Start Duet when I log in to this computer"),
      h("button", { type: "submit", class: "primary" }, "Save"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      saved.textContent = "";
      const result = await commands.saveSettings(current);
      if (result.status === "error") {
        message.textContent = result.error.message;
        message.dataset.code = result.error.code;
        return;
      }
      saved.textContent = "Saved. Devices and quality apply from the next call.";
    });
  });
  return h("main", { class: "screen settings-screen" }, h("header", { class: "bar" }, h("h2", {}, "Settings"), check, back), message, form, saved);
}
