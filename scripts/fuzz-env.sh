# Sourced by the fuzz scripts: `fuzz_env TARGET` sets RUSTFLAGS, BUILD_DIR,
# CARGO_FUZZ_FLAGS (extra `cargo fuzz` options), DEFAULT_MAX_LEN (libFuzzer's longest
# input) and LIBFUZZER_OPTIONS (more libFuzzer options, as space-separated name=value
# pairs) for it.
#
# Every target builds with `-O` and scripts/fuzz-rustc.sh as the workspace's rustc
# wrapper: our crates keep debug assertions and overflow checks, dependencies run as
# released. Every target gets cheap signatures; hashes stay real (a fake SHA-256 takes
# only 256 values, so distinct channels share an id). Whole-node targets make their own
# traffic, so none of their seeds needs the real transport cipher or onion: they also
# get the unencrypted ones (lightning_cheap_aead), built in a target directory of their
# own so the two builds do not undo each other. Their input is an opcode stream, not bytes the
# library compares with its constants, so comparison tracing
# (`-sanitizer-coverage-trace-compares`) has nothing to guide and took more than half of
# each run: they build without it, and their dependencies without coverage counters
# (scripts/fuzz-deps-rustc.sh as `RUSTC_WRAPPER`, up to 9% of each run; cargo does not
# rebuild for a changed wrapper, so their directory's name changed with it).
# `consistency` runs at inputs up to 256 bytes unless MAX_LEN says otherwise: its
# findings so far needed fewer, and its throughput target is set at that size.
#
# A whole-node input's cost grows with what it does (a settled payment is two rounds of
# commitments), and coverage counters reward inputs that do more, so a long campaign
# drifts to slow inputs: entropic_scale_per_exec_time schedules the faster of inputs
# that find as much more often (1.7x the execs/s of a long `consistency` campaign). It
# makes runs with a fixed -seed irreproducible, which fuzzing campaigns do not need; a
# finding replays from its file.

# The caller's own wrapper, kept for the targets that set none (the scripts call
# fuzz_env once per target in one shell).
FUZZ_ENV_CALLER_RUSTC_WRAPPER=${RUSTC_WRAPPER:-}

fuzz_env() {
  if [ -n "${FUZZ_ENV_CALLER_RUSTC_WRAPPER}" ]; then
    export RUSTC_WRAPPER="${FUZZ_ENV_CALLER_RUSTC_WRAPPER}"
  else
    unset RUSTC_WRAPPER
  fi
  export RUSTFLAGS="${RUSTFLAGS:-} --cfg=secp256k1_fuzz"
  export RUSTC_WORKSPACE_WRAPPER
  RUSTC_WORKSPACE_WRAPPER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fuzz-rustc.sh"
  BUILD_DIR=target/fuzz-build
  CARGO_FUZZ_FLAGS="-O"
  DEFAULT_MAX_LEN=4096
  LIBFUZZER_OPTIONS=""
  case "$1" in
    consistency | node)
      RUSTFLAGS="${RUSTFLAGS} --cfg=lightning_cheap_aead"
      export RUSTC_WRAPPER
      RUSTC_WRAPPER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fuzz-deps-rustc.sh"
      BUILD_DIR=target/fuzz-build-whole-node-bare-deps
      CARGO_FUZZ_FLAGS="${CARGO_FUZZ_FLAGS} --no-trace-compares"
      LIBFUZZER_OPTIONS="entropic_scale_per_exec_time=1"
      ;;
  esac
  case "$1" in
    consistency) DEFAULT_MAX_LEN=256 ;;
  esac
}
