// Every string the UI shows through t() or msg() has its Chinese translation,
// with the same {placeholders}, and the dictionary keeps no unused entries.
// Run: npm --prefix ui test.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src", import.meta.url));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "locales" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The literal strings passed to t("…") and msg("…"). */
function keys() {
  const found = new Set();
  for (const file of sources(src)) {
    for (const match of readFileSync(file, "utf8").matchAll(/\b(?:t|msg)\("((?:[^"\\]|\\.)*)"/g)) {
      found.add(JSON.parse(`"${match[1]}"`));
    }
  }
  return found;
}

/** The Chinese dictionary, read as data (its keys and values are plain string literals). */
function dictionary() {
  const text = readFileSync(join(src, "locales", "zh.ts"), "utf8");
  const entries = new Map();
  for (const match of text.matchAll(/^\s*("(?:[^"\\]|\\.)*"):\s*("(?:[^"\\]|\\.)*"),?$/gm)) {
    entries.set(JSON.parse(match[1]), JSON.parse(match[2]));
  }
  return entries;
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every string shown has a Chinese translation with the same placeholders", () => {
  const zh = dictionary();
  const shown = keys();
  assert.ok(shown.size > 150, `found ${shown.size} strings: the scan works`);
  const missing = [...shown].filter((key) => !zh.has(key));
  assert.deepEqual(missing, [], "strings without a translation");
  for (const key of shown) assert.deepEqual(placeholders(zh.get(key)), placeholders(key), `placeholders of "${key}"`);
});

test("the dictionary has no entry the UI no longer shows", () => {
  const shown = keys();
  assert.deepEqual([...dictionary().keys()].filter((key) => !shown.has(key)), []);
});

/** The English → Chinese table of the Rust side's messages (ZH_ERRORS), read as data. */
function errorDictionary() {
  const text = readFileSync(join(src, "locales", "zh-errors.ts"), "utf8");
  const table = text.slice(text.indexOf("ZH_ERRORS"), text.indexOf("ZH_ERROR_PATTERNS"));
  return new Set([...table.matchAll(/^\s*("(?:[^"\\]|\\.)*"):/gm)].map((m) => JSON.parse(m[1])));
}

function rustSources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return rustSources(path);
    return entry.name.endsWith(".rs") ? [path] : [];
  });
}

test("every fixed message the app's commands return has its Chinese", () => {
  const rust = fileURLToPath(new URL("../../src-tauri/src", import.meta.url));
  const messages = new Set();
  for (const file of rustSources(rust)) {
    // AppError::new(ErrorCode::X, "…") with a literal message (a `\` line continuation joins lines).
    const text = readFileSync(file, "utf8").replace(/\\\n\s*/g, "");
    for (const match of text.matchAll(/AppError::new\(\s*[\w:().]+,\s*"((?:[^"\\]|\\.)*)"\s*,?\s*\)/g)) {
      messages.add(JSON.parse(`"${match[1]}"`));
    }
  }
  assert.ok(messages.size > 12, `found ${messages.size} messages: the scan works`);
  const zh = errorDictionary();
  assert.deepEqual([...messages].filter((m) => !zh.has(m)), [], "messages without a translation in locales/zh-errors.ts");
});

test("every error code has a Chinese headline for messages without a translation", () => {
  const bindings = readFileSync(join(src, "bindings.ts"), "utf8");
  const union = bindings.slice(bindings.indexOf("export type ErrorCode")).replace(/\/\*[\s\S]*?\*\//g, "");
  const codes = [...union.slice(0, union.indexOf(";")).matchAll(/"(\w+)"/g)].map((m) => m[1]);
  assert.ok(codes.length > 10, `found ${codes.length} codes`);
  const text = readFileSync(join(src, "locales", "zh-errors.ts"), "utf8");
  const headlines = text.slice(text.indexOf("ZH_HEADLINES"));
  assert.deepEqual(codes.filter((code) => !new RegExp(`^\\s*${code}:`, "m").test(headlines)), []);
});
