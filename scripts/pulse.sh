#!/usr/bin/env bash
# Starts a PulseAudio server with the virtual devices the audio tests use, unless
# one already runs: `vspeaker` (a speaker; record its `vspeaker.monitor`) and
# `vmic` (a microphone that plays whatever is sent to the `vmic_feed` sink).
set -euo pipefail
if pactl info >/dev/null 2>&1; then
  pactl list short sinks | grep -q vspeaker || pactl load-module module-null-sink sink_name=vspeaker rate=48000 >/dev/null
  pactl list short sinks | grep -q vmic_feed || pactl load-module module-null-sink sink_name=vmic_feed rate=48000 >/dev/null
  pactl list short sources | grep -qw vmic || pactl load-module module-remap-source source_name=vmic master=vmic_feed.monitor >/dev/null
  exit 0
fi
# As root (containers, CI) PulseAudio warns but runs as a per-user server, as wanted here.
pulseaudio -n --daemonize=yes --exit-idle-time=-1 --log-target=stderr \
  -L module-native-protocol-unix \
  -L "module-null-sink sink_name=vspeaker rate=48000" \
  -L "module-null-sink sink_name=vmic_feed rate=48000" \
  -L "module-remap-source source_name=vmic master=vmic_feed.monitor" 2>/dev/null
for _ in $(seq 50); do pactl info >/dev/null 2>&1 && exit 0; sleep 0.1; done
echo "pulse.sh: PulseAudio did not start" >&2
exit 1
