#!/usr/bin/env node
// Writes the update manifest of a release (what the app's updater reads):
//
//   node scripts/update-manifest.mjs --version 0.2.0 --notes NOTES.md \
//     --base-url https://downloads.example.com/duet/0.2.0/ \
//     linux-x86_64=dist/duet_0.2.0_amd64.deb windows-x86_64=dist/Duet_0.2.0_x64-setup.exe > latest.json
//
// Each package needs its signature next to it (PACKAGE.sig, from `tauri build`
// with createUpdaterArtifacts or `tauri signer sign --app-version VERSION`);
// a missing or empty one fails, so no unsigned package is ever announced.
// --notes-text gives the notes inline instead of from a file.

import { readFileSync } from "node:fs";
import { basename } from "node:path";

function fail(message) {
  process.stderr.write(`update-manifest: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const options = {};
const packages = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith("--")) options[args[i].slice(2)] = args[++i];
  else packages.push(args[i]);
}
const version = options.version ?? fail("--version is required");
if (!/^\d+\.\d+\.\d+([-+].*)?$/.test(version)) fail(`--version must be a semantic version, not "${version}"`);
const baseUrl = options["base-url"] ?? fail("--base-url is required");
if (!baseUrl.startsWith("https://") && !baseUrl.startsWith("http://")) fail("--base-url must be an http(s) address");
const notes = options["notes-text"] ?? (options.notes ? readFileSync(options.notes, "utf8") : fail("--notes or --notes-text is required"));
if (packages.length === 0) fail("name at least one PLATFORM=PACKAGE (e.g. linux-x86_64=dist/duet_0.2.0_amd64.deb)");

const platforms = {};
for (const entry of packages) {
  const [platform, file] = entry.split("=");
  if (!platform || !file || !/^(linux|windows|darwin)-(x86_64|aarch64|i686|armv7)$/.test(platform)) {
    fail(`"${entry}" is not PLATFORM=PACKAGE with PLATFORM like linux-x86_64`);
  }
  let signature;
  try {
    signature = readFileSync(`${file}.sig`, "utf8").trim();
  } catch {
    fail(`${file}.sig is missing: sign the package first (tauri signer sign --app-version ${version} ${file})`);
  }
  if (!signature) fail(`${file}.sig is empty`);
  platforms[platform] = { signature, url: new URL(encodeURIComponent(basename(file)), baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).href };
}

process.stdout.write(`${JSON.stringify({ version, notes, pub_date: new Date().toISOString(), platforms }, null, 2)}\n`);
