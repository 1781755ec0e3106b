#!/usr/bin/env bash
# Set up and run the main job, no display needed: build the CLI, turn the
# bundled sample personas into training datasets (out/demo), fetch the small
# SmolLM2-135M-Instruct model (93 MB, once), train a quick LoRA adapter for
# the English persona and let the base model and the persona answer the same
# line. DEMO_STEPS=0 stops after the datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${DEMO_STEPS:-30}"
if [ "$steps" = "0" ]; then
  # The dev profile builds dependencies optimised (Cargo.toml).
  exec cargo run --quiet -- demo --out out/demo "$@"
fi
./scripts/fetch-smollm2.sh
cargo run --quiet -- demo --out out/demo \
  --model .cache/models/SmolLM2-135M-Instruct.Q4_1.gguf --steps "$steps" "$@"
