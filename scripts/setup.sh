#!/usr/bin/env bash
# Installs everything Duet needs to build, run and test on Debian/Ubuntu:
# system packages, the Rust toolchain if missing, and the UI's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config file curl ca-certificates
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
  xvfb xauth xdotool webkit2gtk-driver
  # A second program's window (xmessage) to put Duet in the background in the ringing test.
  x11-utils
  # A Wayland desktop without a GPU (weston, headless, drawing with pixman) for the window test.
  weston
  # Headless Chromium for the UI's screen tests (driven by playwright-core).
  chromium
  # Vulkan loader + Mesa drivers: the beauty filter's GPU path (lavapipe where no GPU exists).
  libvulkan1 mesa-vulkan-drivers
  # OpenH264's x86 assembly (the build refuses to go on without it), libopus's and libjpeg-turbo's
  # builds, and libclang for the camera's V4L2 bindings.
  nasm cmake clang libclang-dev
  # Audio devices: ALSA headers for cpal, and a PulseAudio server with virtual devices for the tests.
  libasound2-dev pulseaudio pulseaudio-utils libasound2-plugins
  # A D-Bus session with the Secret Service (the app's "remember me" in the OS keyring) and a
  # notification daemon (incoming and missed calls), as a desktop session has them.
  dbus dbus-x11 gnome-keyring libsecret-tools dunst
  # gdbus: the tray test talks to the tray icon over D-Bus as a desktop panel does.
  libglib2.0-bin
  # A real TURN relay (coturn) for the relayed-call tests, and iptables for the NAT routers
  # of the calls between two homes (crates/cli/tests/nat_call.rs).
  coturn iptables
  # Reading the .rpm's file list in the package checks, and signing Linux packages (tests/release.rs).
  rpm gnupg
)
# Node.js may come from elsewhere (nodesource, nvm); only ask apt for it when absent.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_if_needed apt-get update -q
  # A first install on a fresh machine occasionally fails once and succeeds on a retry.
  for attempt in 1 2 3; do
    if sudo_if_needed apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"; then break; fi
    [ "$attempt" -eq 3 ] && { echo "setup: apt-get install failed" >&2; exit 1; }
    sleep 5
  done
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] || curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
# WebDriver for the end-to-end tests of the desktop app.
command -v tauri-driver >/dev/null 2>&1 || cargo install tauri-driver --locked
# The test runner of scripts/test.sh.
command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked

# npm install (not npm ci): it honours the lock file and tolerates lock files written without
# resolved URLs, which npm ci rejects for other platforms' optional packages.
(cd ui && npm install --no-audit --no-fund --loglevel=error)
