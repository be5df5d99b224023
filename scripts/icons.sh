#!/usr/bin/env bash
# Regenerates every application icon in icons/ from the single source image icons/source.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
npm --prefix ui exec -- tauri icon icons/source.svg --output icons
rm -rf icons/android icons/ios
