#!/bin/bash
# Builds every libFuzzer target into $OUT with its seed corpus, for ClusterFuzzLite
# (run inside its builder image, which sets SANITIZER and has a nightly toolchain). The
# cargo steps also run locally on stable, from the repository root, with the checkout
# reachable as $SRC/lightning-testbed:
#   mkdir -p /tmp/src && ln -sfn "$PWD" /tmp/src/lightning-testbed &&
#     SANITIZER=none OUT=/tmp/out SRC=/tmp/src bash .clusterfuzzlite/build.sh
set -euo pipefail
cd "${SRC}/lightning-testbed"
# The builder's sanitizer flags come in through RUSTFLAGS and cargo fuzz's own; each
# target adds its own (scripts/fuzz-env.sh).
base_rustflags=${RUSTFLAGS:-}
source scripts/fuzz-env.sh
triple=$(rustc -vV | sed -n 's/^host: //p')
mkdir -p "${OUT}"
for entry in fuzz/fuzz_targets/*.rs; do
  name=$(basename "${entry}" .rs)
  # One target at a time: a plain `cargo fuzz build` would also instrument the
  # package's other binaries (the replayer), which cannot link without libFuzzer.
  RUSTFLAGS=${base_rustflags}
  fuzz_env "${name}"
  cargo fuzz build ${CARGO_FUZZ_FLAGS} --target-dir "${BUILD_DIR}" --features libfuzzer \
    ${SANITIZER:+--sanitizer "${SANITIZER/undefined/none}"} "${name}"
  cp "${BUILD_DIR}/${triple}/release/${name}" "${OUT}/"
  # The options fuzz.sh gives this target, for ClusterFuzzLite's runs of it.
  {
    printf '[libfuzzer]\nmax_len = %s\n' "${DEFAULT_MAX_LEN}"
    for option in ${LIBFUZZER_OPTIONS}; do printf '%s = %s\n' "${option%%=*}" "${option#*=}"; done
  } > "${OUT}/${name}.options"
  if [ -d "corpora/${name}" ] && [ -n "$(ls -A "corpora/${name}")" ]; then
    (cd "corpora/${name}" && zip -q -r "${OUT}/${name}_seed_corpus.zip" .)
  fi
done
