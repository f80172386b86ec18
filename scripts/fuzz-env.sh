# Sourced by the fuzz scripts: `fuzz_env TARGET` sets RUSTFLAGS, BUILD_DIR,
# CARGO_FUZZ_FLAGS (extra `cargo fuzz` options), DEFAULT_MAX_LEN (libFuzzer's longest
# input) and LIBFUZZER_OPTIONS (more libFuzzer options, as space-separated name=value
# pairs) for it; FUZZ_GLIBC_TUNABLES (below) is the same for every target.
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
# rebuild for a changed wrapper, so their directory's name changed with it), and they
# link a libFuzzer that does not record memcmp's bytes either (see below).
# `consistency` runs at inputs up to 256 bytes unless MAX_LEN says otherwise: its
# findings so far needed fewer, and its throughput target is set at that size.
#
# A whole-node input's cost grows with what it does (a settled payment is two rounds of
# commitments), and coverage counters reward inputs that do more, so a long campaign
# drifts to slow inputs: entropic_scale_per_exec_time schedules the faster of inputs
# that find as much more often (1.7x the execs/s of a long `consistency` campaign). It
# makes runs with a fixed -seed irreproducible, which fuzzing campaigns do not need; a
# finding replays from its file.

# glibc's allocator, for the fuzzer's run (FUZZ_GLIBC_TUNABLES, which scripts/fuzz.sh
# hands the fuzzer as GLIBC_TUNABLES, after the caller's own): keep freed memory
# instead of returning it. A whole-node run allocates its nodes and frees them all at
# its end; by default glibc then shrinks the heap, and the next run grows it again
# page by page (brk and page faults were 2.5% of `consistency`'s time) and maps its
# largest blocks afresh. Two fuzzers side by side on copies of one evolved corpus, two
# minutes, each way round: 5.5% more execs/s with these. Resident memory stays at the
# runs' peak (tens of MiB).
FUZZ_GLIBC_TUNABLES="glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=67108864:glibc.malloc.mmap_threshold=268435456"
FUZZ_GLIBC_TUNABLES="${GLIBC_TUNABLES:+${GLIBC_TUNABLES}:}${FUZZ_GLIBC_TUNABLES}"

# The caller's own wrapper and libFuzzer, kept for the targets that set none (the
# scripts call fuzz_env once per target in one shell).
FUZZ_ENV_CALLER_RUSTC_WRAPPER=${RUSTC_WRAPPER:-}
FUZZ_ENV_CALLER_LIBFUZZER=${CUSTOM_LIBFUZZER_PATH:-}

# libFuzzer without its comparison interceptors, for the whole-node targets: built
# once per libfuzzer-sys version from that crate's own sources, less
# FuzzerInterceptors.cpp, and named by CUSTOM_LIBFUZZER_PATH (which libfuzzer-sys
# links instead of its own). The interceptors wrap memcmp and bcmp, and record the
# bytes of every unequal comparison for mutations that splice them into inputs. An
# opcode stream has no use for them, and the library compares 32-byte ids in every
# map lookup: recording them took 12% of the instructions `consistency` spends outside
# SHA-256 (its evolved corpus, `-runs=0`, counted by callgrind). Prints the archive's
# path, or nothing if it cannot be built (no C++ compiler): the stock libFuzzer then.
libfuzzer_without_interceptors() {
  local manifest source version archive objects
  manifest=$(cargo metadata --format-version 1 --all-features 2> /dev/null |
    grep -o '"manifest_path":"[^"]*/libfuzzer-sys-[0-9][^"]*/Cargo.toml"' | head -1 |
    sed 's/^"manifest_path":"//; s/"$//')
  [ -n "${manifest}" ] || return 0
  source=$(dirname "${manifest}")/libfuzzer
  version=$(basename "$(dirname "${manifest}")")
  archive="$(pwd)/target/libfuzzer-without-interceptors/${version}/libfuzzer.a"
  if [ ! -f "${archive}" ]; then
    objects=$(mktemp -d)
    find "${source}" -maxdepth 1 -name '*.cpp' ! -name FuzzerInterceptors.cpp -print0 |
      xargs -0 -P "$(nproc)" -I{} sh -c \
        'c++ -O3 -fPIC -ffunction-sections -fdata-sections -fno-omit-frame-pointer -std=c++17 -w -c "$1" -o "$2/$(basename "$1" .cpp).o"' \
        _ {} "${objects}" &&
      mkdir -p "$(dirname "${archive}")" && ar rcs "${archive}.tmp" "${objects}"/*.o &&
      mv "${archive}.tmp" "${archive}"
    rm -rf "${objects}"
  fi
  [ -f "${archive}" ] && echo "${archive}"
  return 0
}

fuzz_env() {
  if [ -n "${FUZZ_ENV_CALLER_RUSTC_WRAPPER}" ]; then
    export RUSTC_WRAPPER="${FUZZ_ENV_CALLER_RUSTC_WRAPPER}"
  else
    unset RUSTC_WRAPPER
  fi
  if [ -n "${FUZZ_ENV_CALLER_LIBFUZZER}" ]; then
    export CUSTOM_LIBFUZZER_PATH="${FUZZ_ENV_CALLER_LIBFUZZER}"
  else
    unset CUSTOM_LIBFUZZER_PATH
  fi
  export RUSTFLAGS="${RUSTFLAGS:-} --cfg=secp256k1_fuzz"
  export RUSTC_WORKSPACE_WRAPPER
  RUSTC_WORKSPACE_WRAPPER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fuzz-rustc.sh"
  BUILD_DIR=target/fuzz-build
  CARGO_FUZZ_FLAGS="-O"
  DEFAULT_MAX_LEN=4096
  LIBFUZZER_OPTIONS=""
  case "$1" in
    consistency | forwarding | node)
      RUSTFLAGS="${RUSTFLAGS} --cfg=lightning_cheap_aead"
      export RUSTC_WRAPPER
      RUSTC_WRAPPER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fuzz-deps-rustc.sh"
      BUILD_DIR=target/fuzz-build-whole-node-bare-deps
      CARGO_FUZZ_FLAGS="${CARGO_FUZZ_FLAGS} --no-trace-compares"
      LIBFUZZER_OPTIONS="entropic_scale_per_exec_time=1"
      if [ -z "${FUZZ_ENV_CALLER_LIBFUZZER}" ]; then
        CUSTOM_LIBFUZZER_PATH=$(libfuzzer_without_interceptors)
        if [ -n "${CUSTOM_LIBFUZZER_PATH}" ]; then export CUSTOM_LIBFUZZER_PATH; else unset CUSTOM_LIBFUZZER_PATH; fi
      fi
      ;;
  esac
  case "$1" in
    consistency | forwarding) DEFAULT_MAX_LEN=256 ;;
  esac
}
