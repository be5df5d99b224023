#!/usr/bin/env bash
# Installs what the tests need, starts the services they use (Xvfb, PulseAudio), and runs every
# check: rustfmt, clippy -D warnings, the UI's lint and type check, all tests, and the Linux
# packages (built, inspected, installed, started and removed).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/duet/target}"
export CARGO_TERM_COLOR=never
# CI builds once from nothing: incremental compilation's bookkeeping only costs time there.
[ "${CI:-}" = "true" ] && export CARGO_INCREMENTAL=0
# Mesa (the GPU tests run on lavapipe here) wants a private runtime dir and a shader cache.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -w "${XDG_RUNTIME_DIR}" ]; then
  export XDG_RUNTIME_DIR="$CARGO_TARGET_DIR/xdg-runtime"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
export MESA_SHADER_CACHE_DIR="${MESA_SHADER_CACHE_DIR:-$CARGO_TARGET_DIR/mesa-shader-cache}"

cleanup() {
  # The package build runs in a session of its own: end cargo and rustc with it.
  [ -n "${PACKAGE_PID:-}" ] && kill -- -"$PACKAGE_PID" 2>/dev/null
  for pid in ${UI_TESTS_PID:-} ${DUNST_PID:-} ${KEYRING_PID:-} ${DBUS_PID:-} ${XVFB_PID:-}; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
if [ -z "${DISPLAY:-}" ]; then
  for n in $(seq 90 120); do
    [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { display=":$n"; break; }
  done
  Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$!
  export DISPLAY="$display"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
fi

# A D-Bus session with an unlocked keyring (the app's "remember me") and a notification daemon.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  rm -f "$XDG_RUNTIME_DIR/bus"
  DBUS_PID=$(dbus-daemon --session --fork --address="unix:path=$XDG_RUNTIME_DIR/bus" --print-pid)
  export DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG_RUNTIME_DIR/bus"
fi
if command -v gnome-keyring-daemon >/dev/null; then
  # A keyring of its own, created fresh and unlocked: a developer's own login keyring (another
  # password) would stay locked and answer every write with a password prompt.
  KEYRING_HOME="$CARGO_TARGET_DIR/keyring-home"
  rm -rf "$KEYRING_HOME" && mkdir -p "$KEYRING_HOME"
  KEYRING_PID=$(printf 'duet-tests' | XDG_DATA_HOME="$KEYRING_HOME" gnome-keyring-daemon --unlock \
    --components=secrets --daemonize | sed -n 's/^GNOME_KEYRING_PID=//p')
fi
if command -v dunst >/dev/null; then
  # Its context menu goes to a script, so the tests can press a notification's buttons.
  printf '[global]\n    dmenu = %s/scripts/dunst-menu.sh\n' "$PWD" > "$XDG_RUNTIME_DIR/dunstrc"
  dunst -config "$XDG_RUNTIME_DIR/dunstrc" >/dev/null 2>&1 &
  DUNST_PID=$!
  export DUET_DUNST_MENU=1
fi

# Virtual microphone and speaker for the audio tests.
./scripts/pulse.sh

echo "== ui: lint, type check, build"
npm --prefix ui run lint
npm --prefix ui run typecheck
npm --prefix ui run build

# The Linux packages' release build starts now, beside the smoke run's debug build: each
# build has stretches where it waits on one crate and leaves a core idle, which the other
# fills, so the two together take little longer than one. It is waited for before the tests,
# which have the machine to themselves; the packages are inspected and installed after them.
# That needs root for apt-get: CI runs as root, and a developer without it gets a note instead.
if [ "$(id -u)" -eq 0 ]; then
  package_ui="$CARGO_TARGET_DIR/package-ui"
  rm -rf "$package_ui" && cp -r ui/dist "$package_ui"
  package_log="$CARGO_TARGET_DIR/package.log"
  DUET_UI_DIST="$package_ui" setsid ./scripts/package.sh >"$package_log" 2>&1 &
  PACKAGE_PID=$!
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but not root: the package checks need apt-get" >&2
  exit 1
fi

echo "== the README's first command, as a newcomer runs it (scripts/run.sh --smoke)"
./scripts/run.sh --smoke

# The UI's screens run beside rustfmt and clippy (Chromium waits on pages while clippy
# computes); after the smoke run, which builds ui/dist again, and before anything else does.
echo "== ui: every screen in headless Chromium, IPC mocked (beside rustfmt and clippy)"
ui_log="$CARGO_TARGET_DIR/ui-screens.log"
npm --prefix ui test >"$ui_log" 2>&1 &
UI_TESTS_PID=$!
echo "== rustfmt"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
ui_status=0
wait "$UI_TESTS_PID" || ui_status=$?
UI_TESTS_PID=""
echo "== ui: every screen in headless Chromium (its output)"
cat "$ui_log"
[ "$ui_status" -eq 0 ] || { echo "the UI's screen tests failed (exit $ui_status)" >&2; exit 1; }
if [ -n "${PACKAGE_PID:-}" ]; then
  echo "== packages: the release build (begun with the smoke run)"
  package_status=0
  wait "$PACKAGE_PID" || package_status=$?
  PACKAGE_PID=""
  cat "$package_log"
  [ "$package_status" -eq 0 ] || { echo "building the packages failed (exit $package_status)" >&2; exit 1; }
  packages_built=true
fi
echo "== tests"
# nextest runs the test binaries side by side (.config/nextest.toml says what takes turns);
# the examples in the docs are compiled and run by cargo test.
cargo nextest run --workspace --locked --no-tests=warn
cargo test --workspace --locked --doc

if [ -n "${packages_built:-}" ]; then
  echo "== packages: inspect, install, start, remove"
  ./scripts/check-packages.sh
else
  echo "== packages: skipped (run as root to build and install them)"
fi
