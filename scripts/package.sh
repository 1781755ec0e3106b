#!/usr/bin/env bash
# Build an installer of the desktop app with Tauri's bundler:
#
#   scripts/package.sh deb        # Linux (also: rpm, appimage)
#   scripts/package.sh msi        # Windows (also: nsis)
#   scripts/package.sh dmg        # macOS (also: app)
#
# Installs what is missing (Debian packages on Linux, the UI's npm packages,
# which include the Tauri CLI), builds the UI and a release build of the app,
# and bundles it. The last line printed is the path of the installer.
#
# DRAMATIS_GPU=cuda (Windows, Linux: needs the CUDA toolkit's nvcc) or
# DRAMATIS_GPU=metal (macOS) builds the GPU variant; without it the build
# runs on the CPU only.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
  deb | rpm | appimage | msi | nsis | dmg | app) ;;
  *)
    echo "usage: scripts/package.sh deb|rpm|appimage|msi|nsis|dmg|app" >&2
    exit 2
    ;;
esac
if [ "$(uname -s)" = Linux ]; then
  ./scripts/app-deps.sh
fi
(cd ui && npm ci --no-audit --no-fund --loglevel=error)
# The CLI runs the UI build (beforeBuildCommand) in ui/ and the cargo build
# in src-tauri/ with the UI embedded.
export TAURI_FRONTEND_PATH="$PWD/ui" TAURI_APP_PATH="$PWD/src-tauri"
gpu=()
case "${DRAMATIS_GPU:-}" in
  "") ;;
  cuda | metal) gpu=(--features "$DRAMATIS_GPU") ;;
  *)
    echo "DRAMATIS_GPU must be cuda or metal (or unset for the CPU build)" >&2
    exit 2
    ;;
esac
ui/node_modules/.bin/tauri build --ci --bundles "$kind" ${gpu[@]+"${gpu[@]}"} >&2
dir="target/release/bundle/$kind"
case "$kind" in
  appimage) pattern='*.AppImage' ;;
  nsis) pattern='*-setup.exe' ;;
  app) pattern='*.app' ;;
  *) pattern="*.$kind" ;;
esac
found=$(find "$dir" -maxdepth 1 -name "$pattern" -newer src-tauri/tauri.conf.json -print 2>/dev/null | sort | tail -n 1)
if [ -z "$found" ]; then
  found=$(find "$dir" -maxdepth 1 -name "$pattern" -print 2>/dev/null | sort | tail -n 1)
fi
if [ -z "$found" ]; then
  echo "the bundler made no $kind in $dir" >&2
  exit 1
fi
# The NVIDIA build is a second installer beside the CPU one: name it so.
if [ "${DRAMATIS_GPU:-}" = cuda ] && [ -f "$found" ]; then
  case "$found" in
    *-cuda.*) ;;
    *)
      renamed="${found%.*}-cuda.${found##*.}"
      mv -f "$found" "$renamed"
      found=$renamed
      ;;
  esac
fi
echo "$(cd "$(dirname "$found")" && pwd)/$(basename "$found")"
