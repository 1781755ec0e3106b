#!/usr/bin/env bash
# Set up and run the main job: build the CLI and turn the bundled sample
# personas into training datasets (out/demo). No display is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile builds dependencies optimised (Cargo.toml), so no release build is needed.
cargo run --quiet -- demo --out out/demo "$@"
