#!/usr/bin/env bash
# Signs Linux packages for a release: a detached ASCII-armoured GPG signature next to each
# package (PACKAGE.asc), and SHA256SUMS with its clear-signed copy SHA256SUMS.asc, in the
# packages' directory. The key is LINUX_GPG_KEY (armoured secret key), its passphrase
# LINUX_GPG_PASSPHRASE (may be empty). Verify with:
#   gpg --verify duet_VERSION_amd64.deb.asc duet_VERSION_amd64.deb; gpg --verify SHA256SUMS.asc
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: scripts/sign-linux-packages.sh PACKAGE..." >&2; exit 2; }
[ -n "${LINUX_GPG_KEY:-}" ] || { echo "sign-linux-packages: LINUX_GPG_KEY is not set: nothing is signed" >&2; exit 1; }
export GNUPGHOME
GNUPGHOME=$(mktemp -d)
trap 'rm -rf "$GNUPGHOME"' EXIT
printf '%s\n' "$LINUX_GPG_KEY" | gpg --batch --quiet --import
sign() { gpg --batch --yes --quiet --pinentry-mode loopback --passphrase "${LINUX_GPG_PASSPHRASE:-}" "$@"; }
dir=$(dirname "$1")
for package in "$@"; do
  [ "$(dirname "$package")" = "$dir" ] || { echo "sign-linux-packages: put every package in one directory" >&2; exit 2; }
  sign --detach-sign --armor --output "$package.asc" "$package"
done
(cd "$dir" && sha256sum -- "${@##*/}" > SHA256SUMS)
sign --clearsign --output "$dir/SHA256SUMS.asc" "$dir/SHA256SUMS"
echo "sign-linux-packages: signed $# package(s) and $dir/SHA256SUMS"
