#!/usr/bin/env bash
# Fuzzes one target for a while: scripts/fuzz.sh TARGET SECONDS [libfuzzer|afl]
#
# Seeds come from corpora/TARGET (read only); what the fuzzer learns goes to
# target/fuzz-work/ENGINE/TARGET (or FUZZ_WORK_DIR: an empty one starts from the seeds
# alone), findings to target/fuzz-findings/TARGET, the fuzzer's own output to
# target/fuzz-logs/TARGET-ENGINE.log. The last line printed is a summary: target,
# engine, execs/s, coverage, findings; a libFuzzer run of two windows or more
# (WINDOW_SECONDS, default 600) first prints its execs/s in each, since a whole-node
# target slows as its inputs grow. MAX_LEN sets libFuzzer's longest input (default per
# target, from scripts/fuzz-env.sh). FUZZ_FEATURES adds features of the fuzz crate
# (`planted-bugs`, with PLANTED_BUG naming one: scripts/recall.sh), built in a target
# directory of their own.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libfuzzer|afl]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libfuzzer|afl]}
engine=${3:-libfuzzer}

if [ ! -f "fuzz/fuzz_targets/${target}.rs" ]; then
  echo "unknown target ${target}; targets: $(ls fuzz/fuzz_targets | sed 's/\.rs$//' | tr '\n' ' ')" >&2
  exit 2
fi

source scripts/fuzz-env.sh
fuzz_env "${target}"
build_dir=${BUILD_DIR}${FUZZ_FEATURES:+-${FUZZ_FEATURES//,/-}}
features="libfuzzer${FUZZ_FEATURES:+,${FUZZ_FEATURES}}"
seeds="corpora/${target}"
mkdir -p "${seeds}"
work=${FUZZ_WORK_DIR:-target/fuzz-work/${engine}/${target}}
# A planted bug's findings and log are kept apart from real ones.
planted=${PLANTED_BUG:+-planted-${PLANTED_BUG}}
findings="target/fuzz-findings/${target}${planted}"
log="target/fuzz-logs/${target}-${engine}${planted}.log"
mkdir -p "${work}" "${findings}" "$(dirname "${log}")"
# Marks when the run started: findings newer than it are this run's.
started=$(mktemp)
trap 'rm -f "${started}"' EXIT
window=${WINDOW_SECONDS:-600}

# Execs/s in each whole window of the run, from libFuzzer's log: each status line
# carries the runs so far ("#N") and their average rate since start ("exec/s: R"), so
# it was written N/R seconds in.
rate_windows() {
  awk -v window="$1" '
    /^#[0-9]+[ \t]/ {
      rate = 0
      for (i = 1; i < NF; i++) if ($i == "exec/s:") rate = $(i + 1) + 0
      if (rate == 0) next
      runs = substr($1, 2) + 0
      t = runs / rate
      if (t >= (k + 1) * window) {
        rates = rates sprintf(" %.0f", (runs - last_runs) / (t - last_t))
        last_runs = runs; last_t = t; k++
      }
    }
    END { if (k > 0) print rates }' "$2"
}

case "${engine}" in
  libfuzzer)
    command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked
    # Stable Rust: no sanitizer (the address sanitizer needs nightly or RUSTC_BOOTSTRAP=1).
    cargo fuzz build --sanitizer none ${CARGO_FUZZ_FLAGS} --target-dir "${build_dir}" --features "${features}" "${target}" 2>&1 | tail -1 >&2
    set +e
    GLIBC_TUNABLES="${FUZZ_GLIBC_TUNABLES}" cargo fuzz run --sanitizer none ${CARGO_FUZZ_FLAGS} --target-dir "${build_dir}" --features "${features}" "${target}" "${work}" "${seeds}" -- \
      -max_total_time="${seconds}" -max_len="${MAX_LEN:-${DEFAULT_MAX_LEN}}" ${LIBFUZZER_OPTIONS:+$(printf -- '-%s ' ${LIBFUZZER_OPTIONS})} \
      -print_final_stats=1 -artifact_prefix="${findings}/" \
      > "${log}" 2>&1
    status=$?
    set -e
    execs=$(awk '/stat::average_exec_per_sec/ { print $2 }' "${log}" | tail -1)
    # A crash before libFuzzer's first status line leaves no coverage to read: still a
    # summary, with the finding, not an exit from `set -e`.
    cov=$(grep -ao 'cov: [0-9]*' "${log}" | tail -1 | awk '{ print $2 }' || true)
    windows=$(rate_windows "${window}" "${log}")
    if [ -n "${windows}" ] && [ "${seconds}" -ge $((2 * window)) ]; then
      echo "${target} execs/s per ${window} s:${windows}"
    fi
    ;;
  afl)
    command -v cargo-afl > /dev/null || cargo install cargo-afl --locked
    afl_dir="$(pwd)/${build_dir}/afl"
    cargo afl build --release --target-dir "${afl_dir}" --manifest-path fuzz/afl/Cargo.toml 2>&1 | tail -1 >&2
    if [ -z "$(ls -A "${seeds}")" ]; then printf '\0' > "${seeds}/empty"; fi
    set +e
    GLIBC_TUNABLES="${FUZZ_GLIBC_TUNABLES}" AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_BENCH_UNTIL_CRASH=0 \
      cargo afl fuzz -V "${seconds}" -i "${seeds}" -o "${work}" \
      "${afl_dir}/release/lnfuzz-afl" "${target}" > "${log}" 2>&1
    status=$?
    set -e
    stats="${work}/default/fuzzer_stats"
    execs=$(awk -F': *' '/^execs_per_sec/ { print $2 }' "${stats}" 2>/dev/null || true)
    cov=$(awk -F': *' '/^bitmap_cvg/ { print $2 }' "${stats}" 2>/dev/null || true)
    for crash in "${work}"/default/crashes/id:*; do
      [ -e "${crash}" ] && cp "${crash}" "${findings}/afl-$(basename "${crash}" | tr ':,' '__')"
    done
    ;;
  *)
    echo "engine must be libfuzzer or afl" >&2
    exit 2
    ;;
esac

# Only this run's findings; older ones stay on disk until promoted.
new_findings=$(find "${findings}" -type f -newer "${started}" | sort)
found=$(echo -n "${new_findings}" | grep -c . || true)
if [ "${status}" -ne 0 ] && [ "${found}" = 0 ]; then
  echo "the ${engine} run failed without a finding:" >&2
  tail -20 "${log}" >&2
  exit 3
fi
for file in ${new_findings}; do
  echo "finding ${file}:"
  od -An -tx1 -v "${file}" | tr -d ' \n' | fold -w 64
  echo
done
printf '%-22s %-10s %10s execs/s  coverage %-8s findings %s\n' \
  "${target}" "${engine}" "${execs:-?}" "${cov:-?}" "${found}"
[ "${found}" = 0 ]
