#!/usr/bin/env bash
# Installs what is needed and starts the Duet desktop app. Without DUET_SERVER set,
# a local duet-server is started first (data in ~/.local/share/duet-server), with
# two accounts, alice and bob (password "duet-demo-pass"), and the echo user for
# a test call.
#
# --smoke does all of that (a fresh server data folder and app profile in a temp
# folder, the server on a free port), then drives the real app as a newcomer
# would: signs in as alice, makes the test call for a few seconds, hangs up and
# exits 0 (scripts/smoke.mjs). scripts/test.sh runs it, so this command is tested.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
case "${1:-}" in
  --smoke) smoke=true ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac
./scripts/setup.sh
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

npm --prefix ui run build
# The app, the server and the echo user (which the server starts) are packages of the workspace: each is named.
cargo build --locked -p duet --bin duet -p duet-server --bin duet-server -p duet-echo --bin duet-echo
bin="${CARGO_TARGET_DIR:-target}/debug"

pids=()
tmp=""
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
# Its own process group, so what it starts (WebKitWebDriver, the app) stops with it.
start() {
  setsid "$@" &
  pids+=("$!")
}
# A TCP port nothing on this machine listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

port=8443
data="${XDG_DATA_HOME:-$HOME/.local/share}/duet-server"
if $smoke; then
  tmp=$(mktemp -d)
  data="$tmp/server"
  port=$(free_port)
  unset DUET_SERVER
fi

if [ -z "${DUET_SERVER:-}" ]; then
  for user in alice bob; do
    "$bin/duet-server" user list --data "$data" | grep -q "^$user	" ||
      printf 'duet-demo-pass\n' | "$bin/duet-server" user add "$user" --password-stdin --name "${user^}" --data "$data"
  done
  start "$bin/duet-server" serve --listen "127.0.0.1:$port" --data "$data" --echo-user echo
  export DUET_SERVER="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fsS "$DUET_SERVER/health" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "run: local duet-server at $DUET_SERVER (users alice and bob, password duet-demo-pass; \"Make a test call\" calls its echo user)"
fi

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if ! $smoke; then
    echo "run: no display found; starting the app under Xvfb"
    # Not exec: the local server stops with the app.
    xvfb-run -a -s "-screen 0 1280x800x24" "$bin/duet"
    exit
  fi
  for n in $(seq 90 120); do
    [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { export DISPLAY=":$n"; break; }
  done
  start Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${DISPLAY#:}" ] && break; sleep 0.1; done
  echo "run: no display found; the app runs under Xvfb at $DISPLAY"
fi

if ! $smoke; then
  "$bin/duet"
  exit
fi

command -v tauri-driver >/dev/null || { echo "run: tauri-driver is missing (scripts/setup.sh installs it)" >&2; exit 1; }
driver_port=$(free_port)
# The app's own profile (settings, the built-in server's data) in the temp folder.
start env XDG_DATA_HOME="$tmp/app-data" XDG_CONFIG_HOME="$tmp/app-config" \
  tauri-driver --port "$driver_port" --native-port "$(free_port)"
DUET_DRIVER="http://127.0.0.1:$driver_port" DUET_APP="$(realpath "$bin/duet")" DUET_USER=alice \
  DUET_PASSWORD=duet-demo-pass node scripts/smoke.mjs
