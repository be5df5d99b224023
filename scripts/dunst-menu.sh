#!/bin/sh
# dunst's "dmenu" for the test run: dunst writes a notification's actions here, one per line
# ("#Decline (bob is calling) [7,decline]"), and does the one written back. The tests name
# the action key to press in $XDG_RUNTIME_DIR/duet-dunst-pick; without it nothing is pressed.
pick="${XDG_RUNTIME_DIR:-/tmp}/duet-dunst-pick"
[ -f "$pick" ] || exit 0
key=$(cat "$pick")
grep -F ",$key]" | head -n 1
