#!/usr/bin/env bash
# rustc for the whole-node fuzz builds (`RUSTC_WRAPPER`, set by scripts/fuzz-env.sh for
# `consistency` and `node`): crates from outside this repository (bitcoin, the hashes,
# libfuzzer-sys) build without coverage instrumentation. Those targets' inputs are
# opcode streams, so edges inside SHA-256 or transaction encoding say nothing about
# which input is new. Their counters are few (1,048 of 24,522) but sit in the hottest
# loops: 1.7% of the instructions, and up to 9% of the time (the same corpus through
# both builds, `-runs=0`). Generic code instantiated by our crates stays instrumented,
# as does everything in this repository.
# Physical paths on both sides: cargo's are, and a checkout reached through a symlink
# must not lose its own counters.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
manifest_dir="$(cd "${CARGO_MANIFEST_DIR:-/}" 2> /dev/null && pwd -P)"
case "${manifest_dir}" in
  "${root}" | "${root}"/*) exec "$@" ;;
esac

is_coverage_flag() {
  case "$1" in
    passes=sancov-module | passes=sancov | llvm-args=-sanitizer-coverage-*) return 0 ;;
    *) return 1 ;;
  esac
}

# Both spellings occur: `-Cpasses=...` (cargo fuzz) and `-C passes=...` (cargo afl).
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "-C" ] && [ $# -gt 1 ] && is_coverage_flag "$2"; then
    shift 2
    continue
  fi
  if [ "${1#-C}" != "$1" ] && is_coverage_flag "${1#-C}"; then
    shift
    continue
  fi
  args+=("$1")
  shift
done
exec "${args[@]}"
