#!/usr/bin/env bash
# Run every fuzz target for a while (default 60 s each): ingest, extract,
# dataset_import, pack_import. Needs a nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly`, `cargo install cargo-fuzz`).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(ingest extract dataset_import pack_import)
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz on a nightly toolchain is needed: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 1
fi
for t in "${targets[@]}"; do
  echo "== $t ($secs s)"
  # The seed corpus lives in fuzz/corpus/<target> (made by the first run).
  cargo +nightly fuzz run --sanitizer none "$t" -- -max_total_time="$secs" -rss_limit_mb=4096
done
