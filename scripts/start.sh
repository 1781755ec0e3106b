#!/usr/bin/env bash
# Set up and start Dramatis. With a display: install what is missing (Debian
# packages, the UI's npm packages), build the desktop app and open it.
# Without one: say so and run the command line's main job on the bundled
# sample persona instead (scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
has_display=0
case "$(uname -s)" in
  Darwin | MINGW* | MSYS* | CYGWIN*) has_display=1 ;;
  *) if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then has_display=1; fi ;;
esac
if [ "$has_display" = 0 ]; then
  echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset): running the command-line demo instead of the app." >&2
  exec ./scripts/demo.sh "$@"
fi
app=$(./scripts/build-app.sh | tail -n 1)
echo "Starting $app (your library is in the app-data folder; DRAMATIS_DATA_DIR moves it)" >&2
exec "$app"
