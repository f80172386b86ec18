#!/usr/bin/env bash
# The testbed's recall: for each of the library's planted bugs (lightning/src/chan/
# planted.rs), whether the consistency target finds it within SECONDS of fuzzing on one
# core, starting from the project's seeds, and how many of SEEDS seeds of a fault scenario
# catch it.
#
#   scripts/recall.sh [SECONDS] [SEEDS] [BUG...]      # defaults: 300 200, every bug
#
# SCENARIO picks the sweep's script (default sim/scenarios/star20_faults.scn, which has
# every fault kind), JOBS its parallelism (default 1). The fuzzer and the sweep run side
# by side, one core each. Writes a Markdown table to stdout and to target/recall/table.md;
# each row says what caught the bug and how fast: the fuzzer's seconds to its first
# finding, the sweep's count of failing seeds and its first. The table kept in
# docs/recall.md was made so.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
seeds=${2:-200}
shift $(($# > 2 ? 2 : $#))
scenario=${SCENARIO:-sim/scenarios/star20_faults.scn}
jobs=${JOBS:-1}

if [ $# -gt 0 ]; then
  bugs=("$@")
else
  mapfile -t bugs < <(grep -o '=> "[a-z-]*",' lightning/src/chan/planted.rs | sed 's/=> "//; s/",//')
fi
[ ${#bugs[@]} -gt 0 ] || { echo "no planted bugs found in lightning/src/chan/planted.rs" >&2; exit 2; }

out=target/recall
mkdir -p "${out}"
cargo build --release -q -p sim --features planted-bugs --bin lnsim
lnsim=target/release/lnsim

table="${out}/table.md"
{
  echo "| planted bug | consistency (${seconds} s) | first finding after | sweep (${seeds} seeds of $(basename "${scenario}")) | first failing seed | caught |"
  echo "|---|---|---|---|---|---|"
} > "${table}"
cat "${table}"

caught_count=0
for bug in "${bugs[@]}"; do
  # The fuzzer, from the project's seeds in a fresh work directory, and beside it the
  # sweep.
  work=$(mktemp -d)
  log="${out}/${bug}.fuzz.log"
  sweep_log="${out}/${bug}.sweep.log"
  "${lnsim}" sweep "${scenario}" --seeds "0..${seeds}" --jobs "${jobs}" --planted-bug "${bug}" \
    > "${sweep_log}" 2>&1 &
  sweep_pid=$!
  FUZZ_FEATURES=planted-bugs PLANTED_BUG="${bug}" FUZZ_WORK_DIR="${work}" \
    scripts/fuzz.sh consistency "${seconds}" > "${log}" 2>&1 && fuzz_status=0 || fuzz_status=$?
  wait "${sweep_pid}" || true
  rm -rf "${work}"
  fuzz_log="target/fuzz-logs/consistency-libfuzzer-planted-${bug}.log"
  if [ "${fuzz_status}" = 1 ]; then
    fuzz="found"
    # Runs before the crash over the average rate: the seconds to the finding (libFuzzer
    # has no rate yet for a crash within its first second).
    after=$(awk '/stat::number_of_executed_units/ { runs = $2 } /stat::average_exec_per_sec/ { rate = $2 }
      END { if (rate > 0 && runs / rate >= 1) printf "%.0f s", runs / rate; else printf "< 1 s (%d runs)", runs }' \
      "${fuzz_log}")
  elif [ "${fuzz_status}" = 0 ]; then
    fuzz="missed"
    after="-"
  else
    echo "the fuzzer failed on ${bug} without a finding: see ${log}" >&2
    exit 3
  fi

  failing=$(sed -n 's/.*: [0-9]* seeds, \([0-9]*\) failing$/\1/p' "${sweep_log}" | tail -1)
  [ -n "${failing}" ] || { echo "the sweep on ${bug} gave no summary: see ${sweep_log}" >&2; exit 3; }
  first=$(sed -n 's/^failing seeds: \[\([0-9]*\).*/\1/p' "${sweep_log}" | tail -1)

  caught=no
  if [ "${fuzz}" = found ] || [ "${failing}" -gt 0 ]; then
    caught=yes
    caught_count=$((caught_count + 1))
  fi
  row="| ${bug} | ${fuzz} | ${after} | ${failing}/${seeds} | ${first:--} | ${caught} |"
  echo "${row}" | tee -a "${table}"
done

summary="caught ${caught_count} of ${#bugs[@]} planted bugs"
echo
echo "${summary}"
printf '\n%s\n' "${summary}" >> "${table}"
