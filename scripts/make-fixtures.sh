#!/usr/bin/env bash
# Regenerate the Hugging Face reference fixtures under tests/fixtures/models/ (tiny
# Llama / Llama 3 / Qwen2 / Qwen3 folders + PEFT LoRA gradients) and
# tests/fixtures/smollm2-greedy.json, using transformers + PEFT on CPU.
#
#   scripts/make-fixtures.sh              # everything
#   scripts/make-fixtures.sh --no-tiny    # only the SmolLM2 greedy reference
#   SKIP_SMOLLM2=1 scripts/make-fixtures.sh   # only the tiny families
#
# The virtualenv lives outside the repo: $DRAMATIS_REF_VENV, default ../venv-ref
# next to the checkout. Output is deterministic (rerunning rewrites identical files
# with the pinned versions in tests/fixtures/models/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="${DRAMATIS_REF_VENV:-$(dirname "$root")/venv-ref}"
req="$root/tests/fixtures/models/requirements.txt"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtualenv $venv" >&2
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  torch_pin=$(grep -E '^torch==' "$req")
  # CPU-only wheels are much smaller; fall back to PyPI's default build if unreachable.
  "$venv/bin/python" -m pip install --retries 1 --timeout 20 "${torch_pin}" \
      --index-url https://download.pytorch.org/whl/cpu \
    || "$venv/bin/python" -m pip install "${torch_pin}"
fi
# A CPU build reports e.g. 2.15.0+cpu, which satisfies torch==2.15.0.
"$venv/bin/python" -m pip install --quiet -r "$req"

args=("$@")
if [ "${SKIP_SMOLLM2:-0}" != 1 ]; then
  bash scripts/fetch-smollm2.sh >/dev/null
  args+=(--smollm2)
fi
export PYTHONHASHSEED=0
"$venv/bin/python" tests/fixtures/models/make_fixtures.py "${args[@]}"
PYTHONHASHSEED=0 "$venv/bin/python" tests/fixtures/models/make_spm_fixture.py
