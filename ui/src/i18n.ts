// The UI's languages: English, the source text, and Chinese. Every string a
// person reads goes through `t()`, keyed by its English text; a test checks that
// each has its Chinese translation (ui/tests/i18n.test.mjs).

import type { Language } from "./bindings";
import { ZH } from "./locales/zh";

let current: Language = "en";

/** The system's language when it is one the app speaks, else English. */
export function systemLanguage(): Language {
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** Switches the UI's language (`null`: the system's); screens shown afterwards use it. */
export function setLanguage(language: Language | null): void {
  current = language ?? systemLanguage();
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

export function language(): Language {
  return current;
}

/** `text` in the current language, with `{name}` placeholders filled from `values`. */
export function t(text: string, values: Record<string, string | number> = {}): string {
  const translated = current === "zh" ? (ZH[text] ?? text) : text;
  return translated.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}

/** A date and time as people of the current language write it. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toLocaleString(current === "zh" ? "zh-CN" : undefined);
}

/** Marks `text` for translation where it is translated later, by `t(variable)` (tables of labels). */
export function msg(text: string): string {
  return text;
}
