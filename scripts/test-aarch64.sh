#!/usr/bin/env bash
# The engine on 64-bit ARM (Apple Silicon, Windows on ARM, ARM Linux), from
# an x86-64 Debian/Ubuntu machine: cross-compile it and run the model tests
# (transformers' logits, PEFT's LoRA gradients, training) under qemu-user, so
# the NEON matrix kernels and the paths without Dramatis' AVX2 kernels are
# checked too. `--check` only compiles (what scripts/test.sh runs).
# Installs the aarch64 Rust target, cross C compiler and qemu when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  if ! rustup target add "$target"; then
    # Only the download can be missing here, not a compile error.
    echo "WARNING: the $target Rust target could not be installed (no network to the Rust servers?); the ARM build was not checked" >&2
    [ "${1:-}" = "--check" ] && exit 0
    exit 1
  fi
fi
pkgs=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
[ "${1:-}" = "--check" ] || command -v qemu-aarch64 >/dev/null 2>&1 || pkgs+=(qemu-user)
if [ ${#pkgs[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Cross-compiling for ARM needs: ${pkgs[*]} (Debian names)." >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# The engine without the command line's crates, as the app builds it.
if [ "${1:-}" = "--check" ]; then
  cargo check --quiet --target "$target" --lib --no-default-features
  echo "aarch64: the engine compiles"
  exit 0
fi
# Tests that start the `dramatis` command run an ARM program from an x86
# one: that needs qemu registered with binfmt_misc (which containers often
# lack), so they run there only. The real SmolLM2 runs would take an hour
# under qemu.
skip=(--skip smollm2 --skip balanced)
if [ -r /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
else
  echo "binfmt_misc has no qemu-aarch64: the tests that start the CLI are left out" >&2
  for t in generate_cli_runs greedy_decoding_is_plain_greedy a_killed_run_resumes eval_reports_the_adapter \
    presets_come_with_measured_estimates a_saved_run_is_in_the_library a_cuda_request_without_a_gpu; do
    skip+=(--skip "$t")
  done
fi
cargo test --target "$target" --test model_parity --test train -- "${skip[@]}"
