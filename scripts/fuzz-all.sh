#!/usr/bin/env bash
# Fuzzes every target for SECONDS each: scripts/fuzz-all.sh SECONDS [libfuzzer|afl]
#
# Prints each target's summary (execs/s, coverage, findings, each finding as hex) and a
# table at the end; exits 1 if anything was found.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: scripts/fuzz-all.sh SECONDS [libfuzzer|afl]}
engine=${2:-libfuzzer}
table=$(mktemp)
trap 'rm -f "${table}"' EXIT
failed=0
for file in fuzz/fuzz_targets/*.rs; do
  target=$(basename "${file}" .rs)
  echo "==> ${target}"
  output=$(scripts/fuzz.sh "${target}" "${seconds}" "${engine}")
  status=$?
  echo "${output}"
  echo "${output}" | tail -1 >> "${table}"
  [ "${status}" -eq 0 ] || failed=1
done
echo
printf '%-22s %-10s %10s %s\n' target engine execs/s "coverage, findings"
cat "${table}"
exit "${failed}"
