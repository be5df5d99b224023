#!/usr/bin/env bash
# Builds the Linux packages: the desktop app's .deb and .rpm (tauri build, release) and
# duet-server's .deb with its systemd unit. Prints where they are. Unsigned: signing is the
# release workflow's (docs/admin.md, "Building and signing releases").
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/duet/target}"
out="$CARGO_TARGET_DIR/release/bundle"

# The server and the echo user build in the same cargo run as the app (tauri passes what
# follows `--` to cargo): a run of their own resolves the shared crates' features apart
# from the app's and rebuilds tokio and everything above it, minutes on a cold machine.
# DUET_UI_DIST names a UI already built (scripts/test.sh builds and checks it once, then this
# runs beside the smoke run, which rebuilds ui/dist); without it tauri builds the UI itself.
config=()
if [ -n "${DUET_UI_DIST:-}" ]; then
  config=(--config "{\"build\":{\"frontendDist\":\"$DUET_UI_DIST\",\"beforeBuildCommand\":null}}")
fi
ui/node_modules/.bin/tauri build "${config[@]}" --bundles deb,rpm -- --locked -p duet -p duet-server -p duet-echo >&2
version=$(sed -n 's/^version = "\(.*\)"/\1/p' crates/server/Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$CARGO_TARGET_DIR/release/duet-server" "$stage/usr/bin/duet-server"
# The echo user (`serve --echo-user`, on in the unit): the server starts it from beside itself.
install -D -m 0755 "$CARGO_TARGET_DIR/release/duet-echo" "$stage/usr/bin/duet-echo"
install -D -m 0644 packaging/duet-server.service "$stage/lib/systemd/system/duet-server.service"
install -D -m 0644 packaging/server.toml "$stage/etc/duet/server.toml"
install -D -m 0644 docs/admin.md "$stage/usr/share/doc/duet-server/admin.md"
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: duet-server
Version: $version
Architecture: $arch
Maintainer: Duet maintainers <maintainers@duet.invalid>
Depends: libc6, libasound2t64 | libasound2
Section: net
Priority: optional
Description: Duet signaling server
 Accounts, presence, call invitations, rooms, history, offline push and webhooks
 for the Duet desktop app, in one process with an embedded SQLite database; and
 duet-echo, the echo user that answers test calls.
CONTROL
echo /etc/duet/server.toml > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
POSTINST
chmod 0755 "$stage/DEBIAN/postinst"
mkdir -p "$out/server"
server_deb="$out/server/duet-server_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$server_deb" >&2

ls "$out"/deb/*.deb "$out"/rpm/*.rpm "$server_deb"
