#!/usr/bin/env bash
# Set up and run the main job: build the CLI and turn the bundled sample
# personas into training datasets (out/demo). No display is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- demo --out out/demo "$@"
