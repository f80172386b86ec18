#!/usr/bin/env bash
# Mutation testing of the library: scripts/mutants.sh [--shard K/N] [--in-diff BASE]
#   [--carry-from EARLIER]... [-o DIR] [-j JOBS] [-- CARGO-MUTANTS-ARGS...]
#
# Without options, every mutant of lightning/ (mutation/mutants.toml says what is
# mutated, how it is tested and the timeouts). --shard K/N runs the K-th of N slices
# (0-based), for a matrix of machines; --in-diff BASE only the mutants on lines changed
# since git revision BASE, for a pull request. --carry-from EARLIER (repeatable, oldest
# first; an earlier run's output directory) makes a full run that reuses earlier ones:
# a mutant those caught, or found unviable, in code that has not changed keeps its
# outcome; every other mutant is tested (mutation-carry). Outcomes go to DIR/mutants.out
# (default target/mutants/full, shard-K-of-N, diff or carried; with --carry-from, the
# tested ones in DIR/run and the reused ones in DIR/carried); then mutation-report prints
# the score per area and exits 1 if any survivor is missing from mutation/accepted.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

shard="" base="" out="" jobs=2 extra=() carry=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shard) shard=${2:?--shard K/N}; shift 2 ;;
    --in-diff) base=${2:?--in-diff BASE}; shift 2 ;;
    --carry-from) carry+=("${2:?--carry-from EARLIER}"); shift 2 ;;
    -o) out=${2:?-o DIR}; shift 2 ;;
    -j) jobs=${2:?-j JOBS}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: scripts/mutants.sh [--shard K/N] [--in-diff BASE] [--carry-from EARLIER]... [-o DIR] [-j JOBS] [-- ARGS]" >&2; exit 2 ;;
  esac
done

command -v cargo-mutants > /dev/null || cargo install cargo-mutants --locked
command -v cargo-nextest > /dev/null || cargo install cargo-nextest --locked

args=(--config mutation/mutants.toml --jobs "${jobs}" --no-shuffle)
if [ -n "${shard}" ]; then
  args+=(--shard "${shard}" --sharding round-robin)
  out=${out:-target/mutants/shard-${shard/\//-of-}}
fi
if [ -n "${base}" ]; then
  diff_file=$(mktemp)
  trap 'rm -f "${diff_file}"' EXIT
  git diff "${base}" -- lightning/src > "${diff_file}"
  args+=(--in-diff "${diff_file}")
  out=${out:-target/mutants/diff}
fi
top=""
if [ ${#carry[@]} -gt 0 ]; then
  [ -z "${shard}${base}" ] || { echo "--carry-from plans a full run: not with --shard or --in-diff" >&2; exit 2; }
  top=${out:-target/mutants/carried}
  mkdir -p "${top}"
  cargo mutants --config mutation/mutants.toml --list --json --diff > "${top}/list.json"
  cargo run -q -p mutation --bin mutation-carry -- --list "${top}/list.json" --out "${top}" "${carry[@]}"
  if [ ! -s "${top}/to-test.txt" ]; then
    # No --re at all would mean every mutant.
    echo "nothing to test: every outcome carried over"
    exec cargo run -q -p mutation --bin mutation-report -- --markdown "${top}/report.md" "${top}/carried"
  fi
  while read -r re; do args+=(--re "${re}"); done < "${top}/to-test.txt"
  out="${top}/run"
fi
out=${out:-target/mutants/full}
mkdir -p "${out}"

# The nextest profile: fail fast, no simulator sweep demonstration.
export NEXTEST_PROFILE=mutants
set +e
cargo mutants "${args[@]}" --output "${out}" "${extra[@]}"
status=$?
set -e
# 0: all caught; 2: survivors; 3: timeouts. Anything else means the run itself failed.
case "${status}" in
  0 | 2 | 3) ;;
  *) echo "cargo mutants failed (exit ${status}); see ${out}/mutants.out/debug.log" >&2; exit "${status}" ;;
esac
if [ -n "${base}" ] && [ ! -e "${out}/mutants.out/caught.txt" ] && [ ! -e "${out}/mutants.out/missed.txt" ]; then
  echo "no mutants in the change since ${base}"
  exit 0
fi
if [ -n "${top}" ]; then
  exec cargo run -q -p mutation --bin mutation-report -- --markdown "${top}/report.md" "${top}/carried" "${out}"
fi
cargo run -q -p mutation --bin mutation-report -- --markdown "${out}/report.md" "${out}"
