#!/usr/bin/env bash
# Makes a finding a regression test: scripts/promote.sh TARGET FILE [NAME]
#
# Minimizes FILE with libFuzzer (it must still fail TARGET), stores it as
# corpora/regressions/TARGET/NAME, and adds a named test to fuzz/tests/regressions.rs
# that replays it: it fails until the bug is fixed, and guards the fix afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/promote.sh TARGET FILE [NAME]}
file=${2:?usage: scripts/promote.sh TARGET FILE [NAME]}
name=${3:-$(sha256sum "${file}" | cut -c1-16)}
case "${name}" in
  *[!a-z0-9_]*) echo "NAME must be lowercase letters, digits and _ (it names a test)" >&2; exit 2 ;;
esac
[ -f "fuzz/fuzz_targets/${target}.rs" ] || { echo "unknown target ${target}" >&2; exit 2; }
tests=fuzz/tests/regressions.rs
[ -f "${tests}" ] || { echo "${tests} is missing (it holds the regression macro)" >&2; exit 2; }

source scripts/fuzz-env.sh
fuzz_env "${target}"
dest="corpora/regressions/${target}/${name}"
mkdir -p "$(dirname "${dest}")"
minimized=$(mktemp)
trap 'rm -f "${minimized}"' EXIT
if cargo fuzz run --sanitizer none ${CARGO_FUZZ_FLAGS} --target-dir "${BUILD_DIR}" --features libfuzzer "${target}" "${file}" -- \
    -minimize_crash=1 -max_total_time=60 -exact_artifact_path="${minimized}" > /dev/null 2>&1 \
    && [ -s "${minimized}" ]; then
  cp "${minimized}" "${dest}"
  echo "minimized $(wc -c < "${file}") to $(wc -c < "${dest}") bytes"
else
  # Nothing smaller still fails (or the input no longer fails): keep it as given.
  cp "${file}" "${dest}"
  echo "kept as given ($(wc -c < "${dest}") bytes)"
fi
test_name="${target}_${name}"
if ! grep -q "fn ${test_name}\b\|regression!(${test_name}," "${tests}"; then
  echo "regression!(${test_name}, \"${target}\", \"${name}\");" >> "${tests}"
fi
echo "stored ${dest}; cargo test -p lnfuzz --test regressions ${test_name} replays it"
