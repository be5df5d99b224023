// The UI's languages: English, the source text, and Chinese. Every string a
// person reads goes through `t()`, keyed by its English text; a test checks that
// each has its Chinese translation (ui/tests/i18n.test.mjs).

import type { ErrorCode, Language } from "./bindings";
import { ZH } from "./locales/zh";
import { ZH_CALL_PROBLEM, ZH_DEVICES, ZH_ERROR_PATTERNS, ZH_ERRORS, ZH_HEADLINES } from "./locales/zh-errors";

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

/** The hour and minute of `ms` ("14:02"), as the language writes them. */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(current === "zh" ? "zh-CN" : undefined, { hour: "2-digit", minute: "2-digit" });
}

/** Marks `text` for translation where it is translated later, by `t(variable)` (tables of labels). */
export function msg(text: string): string {
  return text;
}

/** One sentence or part of one in Chinese, or null when there is no translation for it. */
function zhPart(text: string): string | null {
  const part = text.charAt(0).toUpperCase() + text.slice(1);
  const exact = ZH_ERRORS[part] ?? ZH_ERRORS[`${part}.`];
  if (exact) return exact;
  for (const [pattern, zh] of ZH_ERROR_PATTERNS) {
    const found = pattern.exec(part);
    if (found) return zh.replace(/\$(\d)/g, (_, n: string) => ZH_DEVICES[found[Number(n)]] ?? found[Number(n)] ?? "");
  }
  return null;
}

/**
 * A message from the app's Rust side (a command's error, a call problem) in
 * the current language: translated whole, or part by part ("…; …"); failing
 * that, a headline for its code with the English detail.
 */
export function errorText(error: { code: ErrorCode | string | null; message: string }): string {
  if (current !== "zh" || !error.message) return error.message;
  const whole = zhPart(error.message);
  if (whole) return whole;
  const parts = error.message.replace(/\.$/, "").split("; ").map(zhPart);
  if (parts.length > 1 && parts.every((p) => p !== null)) return `${parts.map((p) => p!.replace(/。$/, "")).join("；")}。`;
  // A call problem's code is the seed's device code (-1301 camera, -1302 microphone …).
  const code = error.code?.startsWith("-13") ? "device" : error.code;
  const headline = (code && ZH_HEADLINES[code as ErrorCode]) || ZH_CALL_PROBLEM;
  return `${headline}（${error.message}）`;
}
