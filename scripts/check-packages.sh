#!/usr/bin/env bash
# Checks the Linux packages as an admin receives them (scripts/package.sh builds them):
# - the app's .deb holds the binary, a desktop entry that handles duet:// links, and icons;
#   its dependencies name WebKitGTK and ALSA; it installs with apt-get, the installed app
#   opens its window under X (Xvfb here), and it removes cleanly;
# - the .rpm holds the same binary and desktop entry;
# - duet-server's .deb holds the server, its systemd unit and its configuration, installs,
#   runs, and removes.
# Needs root (apt-get) and an X display. Prints each package's size.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/duet/target}"
bundle="$CARGO_TARGET_DIR/release/bundle"
app_deb=$(ls -t "$bundle"/deb/*.deb | head -1)
app_rpm=$(ls -t "$bundle"/rpm/*.rpm | head -1)
server_deb=$(ls -t "$bundle"/server/*.deb | head -1)

fail() { echo "check-packages: $*" >&2; exit 1; }
has() { grep -qE "$2" <<<"$1" || fail "$3"; }
size() { echo "$(basename "$1"): $(( $(stat -c %s "$1") / 1024 )) KiB"; }

# --- The app's .deb: contents, desktop entry, dependencies.
contents=$(dpkg-deb -c "$app_deb")
has "$contents" ' (\./)?usr/bin/duet$' "$app_deb has no /usr/bin/duet"
has "$contents" ' (\./)?usr/share/applications/[^/]+\.desktop$' "$app_deb has no desktop entry"
for size in 32x32 128x128 256x256@2; do
  has "$contents" " (\./)?usr/share/icons/hicolor/$size/apps/[^/]+\.png$" "$app_deb has no $size icon"
done
entry=$(dpkg-deb --fsys-tarfile "$app_deb" | tar -xO --wildcards '*usr/share/applications/*.desktop')
has "$entry" '^MimeType=.*x-scheme-handler/duet' "the desktop entry does not handle duet:// links: $entry"
has "$entry" '^Exec=duet %u$' "the desktop entry does not start duet with the link it opens: $entry"
depends=$(dpkg-deb -f "$app_deb" Depends)
for dependency in libwebkit2gtk-4.1-0 libgtk-3-0 libasound2; do
  has "$depends" "$dependency" "$app_deb does not depend on $dependency: $depends"
done
echo "app .deb depends on: $depends"

# --- Installed, it opens its window; removed, it is gone.
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q -o DPkg::Lock::Timeout=600 "$app_deb" >/dev/null
[ -x /usr/bin/duet ] || fail "/usr/bin/duet is not there after installing"
home=$(mktemp -d)
XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" DUET_LOG=warn /usr/bin/duet >"$home/log" 2>&1 &
pid=$!
window=""
for _ in $(seq 150); do
  window=$(xdotool search --pid "$pid" --name '^Duet$' 2>/dev/null | head -1 || true)
  [ -n "$window" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$home/log" >&2; fail "the installed app exited before showing its window"; }
  sleep 0.2
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -n "$window" ] || { cat "$home/log" >&2; fail "the installed app showed no window within 30 s"; }
echo "the installed app opened its window ($window)"
rm -rf "$home"
apt-get remove -y -q duet >/dev/null
[ ! -e /usr/bin/duet ] || fail "/usr/bin/duet is still there after removing the package"

# --- The .rpm: the same binary and desktop entry.
if command -v rpm >/dev/null; then
  files=$(rpm -qlp "$app_rpm")
  has "$files" '^/usr/bin/duet$' "$app_rpm has no /usr/bin/duet"
  has "$files" '^/usr/share/applications/[^/]+\.desktop$' "$app_rpm has no desktop entry"
fi

# --- duet-server's .deb.
contents=$(dpkg-deb -c "$server_deb")
has "$contents" ' (\./)?usr/bin/duet-server$' "$server_deb has no /usr/bin/duet-server"
has "$contents" ' (\./)?usr/bin/duet-echo$' "$server_deb has no /usr/bin/duet-echo"
has "$contents" ' (\./)?lib/systemd/system/duet-server\.service$' "$server_deb has no systemd unit"
has "$contents" ' (\./)?etc/duet/server\.toml$' "$server_deb has no /etc/duet/server.toml"
apt-get install -y -q -o DPkg::Lock::Timeout=600 "$server_deb" >/dev/null
/usr/bin/duet-server --version >/dev/null || fail "the installed duet-server does not run"
# As the unit starts it: the echo user runs beside the server, and stops with it.
echo_data=$(mktemp -d)
/usr/bin/duet-server serve --listen 127.0.0.1:0 --data "$echo_data" --echo-user echo >"$echo_data/out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q 'echo user echo is answering calls' "$echo_data/out" && break; sleep 0.1; done
grep -q 'echo user echo is answering calls' "$echo_data/out" || fail "the installed server did not start its echo user: $(cat "$echo_data/out")"
pgrep -f '^/usr/bin/duet-echo ' >/dev/null || fail "no duet-echo process runs beside the installed server"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
for _ in $(seq 50); do pgrep -f '^/usr/bin/duet-echo ' >/dev/null || break; sleep 0.1; done
! pgrep -f '^/usr/bin/duet-echo ' >/dev/null || fail "duet-echo still runs after its server stopped"
rm -rf "$echo_data"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/duet-server.service || fail "the systemd unit does not verify"
fi
apt-get remove -y -q duet-server >/dev/null
[ ! -e /usr/bin/duet-server ] && [ ! -e /usr/bin/duet-echo ] || fail "duet-server or duet-echo is still there after removing the package"

size "$app_deb"; size "$app_rpm"; size "$server_deb"
echo "check-packages: OK"
