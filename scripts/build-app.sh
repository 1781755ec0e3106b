#!/usr/bin/env bash
# Build the desktop app with its real UI embedded (not the dev server):
# target/release/dramatis-app. Installs only Debian packages (when missing)
# and the UI's npm packages (ui/node_modules).
#
# DRAMATIS_APP_PROFILE=dev builds with the test loop's profile (optimised
# dependencies, the app's own code lightly optimised) and puts that binary at
# the same path; the test script uses it to share the tests' build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/app-deps.sh
(
  cd ui
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run --silent build
)
profile=${DRAMATIS_APP_PROFILE:-release}
if [ "$profile" = "release" ]; then
  cargo build --release -p dramatis-app --features custom-protocol
else
  cargo build --profile "$profile" -p dramatis-app --features custom-protocol
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  mkdir -p target/release
  cp "target/$dir/dramatis-app" target/release/dramatis-app
fi
echo "$(pwd)/target/release/dramatis-app"
