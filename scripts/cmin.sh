#!/usr/bin/env bash
# Keeps corpora small: scripts/cmin.sh [TARGET...] (every target if none given)
#
# Replaces corpora/TARGET with the smallest subset libFuzzer finds that keeps its
# coverage (`cargo fuzz cmin`). Run it after the seed generator and after merging what
# a fuzzing run learned; corpora/regressions/ is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fuzz-env.sh

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(ls fuzz/fuzz_targets | sed 's/\.rs$//'))
fi
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked
base_rustflags=${RUSTFLAGS:-}
for target in "${targets[@]}"; do
  [ -f "fuzz/fuzz_targets/${target}.rs" ] || { echo "unknown target ${target}" >&2; exit 2; }
  [ -d "corpora/${target}" ] || continue
  RUSTFLAGS=${base_rustflags}
  fuzz_env "${target}"
  before=$(ls "corpora/${target}" | wc -l)
  cargo fuzz cmin --sanitizer none ${CARGO_FUZZ_FLAGS} --target-dir "${BUILD_DIR}" --features libfuzzer \
    "${target}" "corpora/${target}" > /dev/null 2>&1
  printf '%-22s %5s -> %5s inputs\n' "${target}" "${before}" "$(ls "corpora/${target}" | wc -l)"
done
