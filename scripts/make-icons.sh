#!/usr/bin/env bash
# Render every icon size the bundles need from the one source, icons/dramatis.svg,
# into src-tauri/icons/ (PNG sizes for Linux and the window, icon.ico for
# Windows with 16–256 px images). Needs rsvg-convert (Debian: librsvg2-bin)
# and Python 3. The results are committed; run this after changing the SVG.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src-tauri/icons
svg=icons/dramatis.svg
mkdir -p "$out"
render() { rsvg-convert -w "$1" -h "$1" "$svg" -o "$2"; }
render 32 "$out/32x32.png"
render 128 "$out/128x128.png"
render 256 "$out/128x128@2x.png"
render 512 "$out/icon.png"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in 16 24 32 48 64 128 256; do render "$n" "$tmp/$n.png"; done
python3 - "$tmp" "$out/icon.ico" <<'PY'
import struct, sys
from pathlib import Path
tmp, out = Path(sys.argv[1]), sys.argv[2]
sizes = [16, 24, 32, 48, 64, 128, 256]
images = [(n, (tmp / f"{n}.png").read_bytes()) for n in sizes]
header = struct.pack("<HHH", 0, 1, len(images))
offset = 6 + 16 * len(images)
entries, data = b"", b""
for n, png in images:
    entries += struct.pack("<BBBBHHII", n % 256, n % 256, 0, 0, 1, 32, len(png), offset + len(data))
    data += png
Path(out).write_bytes(header + entries + data)
PY
ls -l "$out"
