#!/usr/bin/env bash
# Build the desktop app with its real UI embedded (not the dev server):
# target/release/dramatis-app. Installs only Debian packages (when missing)
# and the UI's npm packages (ui/node_modules).
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
cargo build --release -p dramatis-app --features custom-protocol
echo "$(pwd)/target/release/dramatis-app"
