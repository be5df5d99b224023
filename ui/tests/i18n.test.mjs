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
