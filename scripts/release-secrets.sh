#!/usr/bin/env bash
# Fails, naming each one, when a secret the release of PLATFORM (linux-*, windows-*, darwin-*)
# needs is missing from the environment: a release is signed or it is not built.
# Used by .github/workflows/release.yml; docs/admin.md lists the secrets.
set -euo pipefail
platform=${1:?usage: scripts/release-secrets.sh PLATFORM}
missing=()
need() { for name in "$@"; do [ -n "${!name:-}" ] || missing+=("$name"); done; }
need TAURI_SIGNING_PRIVATE_KEY DUET_UPDATER_PUBKEY DUET_UPDATE_ENDPOINT
case "$platform" in
  windows-*) [ -n "${WINDOWS_CERTIFICATE_THUMBPRINT:-}${WINDOWS_SIGN_COMMAND:-}" ] ||
    missing+=("WINDOWS_CERTIFICATE_THUMBPRINT or WINDOWS_SIGN_COMMAND") ;;
  darwin-*) need APPLE_SIGNING_IDENTITY APPLE_ID APPLE_PASSWORD APPLE_TEAM_ID ;;
  linux-*) need LINUX_GPG_KEY ;;
  *) echo "release-secrets: unknown platform $platform" >&2; exit 2 ;;
esac
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'release-secrets: the %s release is not built unsigned; missing: %s\n' "$platform" "$(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')" >&2
  exit 1
fi
echo "release-secrets: everything the $platform release signs with is present"
