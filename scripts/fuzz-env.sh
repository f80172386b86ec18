# Sourced by the fuzz scripts: `fuzz_env TARGET` sets RUSTFLAGS and BUILD_DIR for it.
#
# Every target gets cheap signatures; hashes stay real (fake hashes make distinct
# channels share an id). Whole-node targets make their own traffic, so none of their
# seeds needs the real transport cipher: they also get the unencrypted one
# (lightning_cheap_aead), built in a target directory of their own so the two builds do
# not undo each other.
fuzz_env() {
  export RUSTFLAGS="${RUSTFLAGS:-} --cfg=secp256k1_fuzz"
  BUILD_DIR=target/fuzz-build
  case "$1" in
    consistency | node)
      RUSTFLAGS="${RUSTFLAGS} --cfg=lightning_cheap_aead"
      BUILD_DIR=target/fuzz-build-cheap-aead
      ;;
  esac
}
