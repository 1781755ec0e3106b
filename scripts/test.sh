#!/usr/bin/env bash
# Set up and run every check: formatting, lints, and all tests.
# Needs the Rust toolchain (rustup) and ../shared/samples beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
