#!/usr/bin/env bash
# Installs what is needed and starts the Duet desktop app. Without DUET_SERVER set,
# a local duet-server is started first (data in ~/.local/share/duet-server), with
# two accounts, alice and bob (password "duet-demo-pass"), to call between.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

npm --prefix ui run build
cargo build --locked --bin duet --bin duet-server

if [ -z "${DUET_SERVER:-}" ]; then
  data="${XDG_DATA_HOME:-$HOME/.local/share}/duet-server"
  server="${CARGO_TARGET_DIR:-target}/debug/duet-server"
  for user in alice bob; do
    "$server" user list --data "$data" | grep -q "^$user	" ||
      printf 'duet-demo-pass\n' | "$server" user add "$user" --password-stdin --name "${user^}" --data "$data"
  done
  "$server" serve --listen 127.0.0.1:8443 --data "$data" --echo-user echo &
  server_pid=$!
  trap 'kill $server_pid 2>/dev/null || true' EXIT
  export DUET_SERVER=http://127.0.0.1:8443
  echo "run: local duet-server at $DUET_SERVER (users alice and bob, password duet-demo-pass; call echo for a test call)"
fi

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display found; starting the app under Xvfb"
  exec xvfb-run -a -s "-screen 0 1280x800x24" "${CARGO_TARGET_DIR:-target}/debug/duet"
fi
"${CARGO_TARGET_DIR:-target}/debug/duet"
