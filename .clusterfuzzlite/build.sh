#!/bin/bash
# Builds every libFuzzer target into $OUT with its seed corpus, for ClusterFuzzLite
# (run inside its builder image; the cargo steps also run locally: OUT=/tmp/out
# SRC=$PWD/.. bash .clusterfuzzlite/build.sh from the repository root).
set -euo pipefail
cd "${SRC}/lightning-testbed"
# Cheap signatures; hashes stay real (see fuzz/README.md). The builder's sanitizer
# flags come in through RUSTFLAGS and cargo fuzz's own.
export RUSTFLAGS="${RUSTFLAGS:-} --cfg=secp256k1_fuzz"
triple=$(rustc -vV | sed -n 's/^host: //p')
mkdir -p "${OUT}"
for entry in fuzz/fuzz_targets/*.rs; do
  name=$(basename "${entry}" .rs)
  # One target at a time: a plain `cargo fuzz build` would also instrument the
  # package's other binaries (the replayer), which cannot link without libFuzzer.
  # Whole-node targets use the unencrypted transport cipher, in a build of their own
  # (as scripts/fuzz.sh does).
  flags=${RUSTFLAGS} dir=target/fuzz-build
  case "${name}" in
    consistency | node) flags="${RUSTFLAGS} --cfg=lightning_cheap_aead" dir=target/fuzz-build-cheap-aead ;;
  esac
  RUSTFLAGS=${flags} cargo fuzz build -O --target-dir "${dir}" --features libfuzzer \
    ${SANITIZER:+--sanitizer "${SANITIZER/undefined/none}"} "${name}"
  cp "${dir}/${triple}/release/${name}" "${OUT}/"
  if [ -d "corpora/${name}" ] && [ -n "$(ls -A "corpora/${name}")" ]; then
    (cd "corpora/${name}" && zip -q -r "${OUT}/${name}_seed_corpus.zip" .)
  fi
done
