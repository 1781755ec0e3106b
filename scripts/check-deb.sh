#!/usr/bin/env bash
# Build the .deb, install it with dpkg on this machine, drive the installed
# app through the end-to-end test (Xvfb + WebKitWebDriver, a temporary
# DRAMATIS_DATA_DIR, screenshots in target/e2e-screens-deb/), uninstall it,
# and check that the user's data is still there. Needs root (dpkg).
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(./scripts/package.sh deb | tail -n 1)
echo "installer: $deb ($(du -h "$deb" | cut -f1))"
apt-get install -y -qq "$deb" >/dev/null
app=$(dpkg -L dramatis | grep -E '/bin/dramatis-app$' | head -n 1)
echo "installed: $app"
grep -l "dramatis-app" /usr/share/applications/*.desktop
# The installed app at rest (the README's idle-memory figure); xwd and
# netpbm let it check that the window painted.
command -v xwd >/dev/null 2>&1 || apt-get install -y -qq x11-apps netpbm >/dev/null
python3 scripts/idle-memory.py "$app" | tail -n 1
data=$(mktemp -d)/data
DRAMATIS_APP="$app" DRAMATIS_E2E_DATA="$data" DRAMATIS_E2E_SCREENS="$PWD/target/e2e-screens-deb" python3 tests/e2e/app_e2e.py
dpkg -r dramatis >/dev/null
if [ -e "$app" ]; then
  echo "uninstalling left $app behind" >&2
  exit 1
fi
test -s "$data/library.sqlite" || { echo "uninstalling removed the user's library" >&2; exit 1; }
echo "uninstalled; the library is still at $data/library.sqlite"
rm -rf "$(dirname "$data")"
