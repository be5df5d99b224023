#!/bin/sh
# dunst's "dmenu" for the test run: dunst writes a notification's actions here, one per line
# ("#Decline (bob is calling) [7,decline]"), and does the one written back. The tests name
# the action key to press in $XDG_RUNTIME_DIR/duet-dunst-pick; without it nothing is pressed.
# What dunst offered is kept in $XDG_RUNTIME_DIR/duet-dunst-menu for the tests to read.
dir="${XDG_RUNTIME_DIR:-/tmp}"
offered=$(cat)
printf '%s\n' "$offered" > "$dir/duet-dunst-menu"
[ -f "$dir/duet-dunst-pick" ] || exit 0
key=$(cat "$dir/duet-dunst-pick")
printf '%s\n' "$offered" | grep -F ",$key]" | head -n 1
