# Sourced by the fuzz scripts: `fuzz_env TARGET` sets RUSTFLAGS, BUILD_DIR and
# CARGO_FUZZ_FLAGS (extra `cargo fuzz` options) for it.
#
# Every target gets cheap signatures; hashes stay real (a fake SHA-256 takes only 256
# values, so distinct channels share an id). Whole-node targets make their own traffic, so none of their
# seeds needs the real transport cipher: they also get the unencrypted one
# (lightning_cheap_aead), built in a target directory of their own so the two builds do
# not undo each other. Their input is an opcode stream, not bytes the library compares
# with its constants, so comparison tracing (`-sanitizer-coverage-trace-compares`) has
# nothing to guide and took more than half of each run: they build without it, which
# runs a sample of the consistency corpus 2.3x faster.
fuzz_env() {
  export RUSTFLAGS="${RUSTFLAGS:-} --cfg=secp256k1_fuzz"
  BUILD_DIR=target/fuzz-build
  CARGO_FUZZ_FLAGS=""
  case "$1" in
    consistency | node)
      RUSTFLAGS="${RUSTFLAGS} --cfg=lightning_cheap_aead"
      BUILD_DIR=target/fuzz-build-whole-node
      CARGO_FUZZ_FLAGS="--no-trace-compares"
      ;;
  esac
}
