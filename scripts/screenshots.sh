#!/usr/bin/env bash
# The pictures lnsim draws, drawn and photographed in headless Chromium (Debian's
# `chromium` package) to look at: the sequence diagram of a two-node and a twenty-node
# run, and sweep reports of the two-node fault scenario and of a hundred-node star.
#
#   scripts/screenshots.sh [OUT_DIR]     # default target/screenshots
#
# Writes OUT_DIR/*.html (the pages), OUT_DIR/*.png (their screenshots), and the JUnit and
# JSON of the two-node sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/screenshots}
mkdir -p "$out"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "needs Chromium: apt-get install chromium" >&2
  exit 2
fi

cargo build --release -q -p sim --bin lnsim
lnsim=target/release/lnsim

# A run's status is not this script's concern: the pictures are (a failing run draws its
# failure too).
draw() { "$lnsim" "$@" >/dev/null || [ $? -eq 1 ]; }

draw run sim/scenarios/two_nodes_smoke.scn --diagram "$out/diagram-2-nodes.html" --window 239s..262s
draw run sim/scenarios/star20_faults.scn --seed 3 --diagram "$out/diagram-20-nodes.html" --window 2137.5s..2140s

draw sweep sim/scenarios/two_nodes_faults.scn --seeds 0..200 --jobs 2 \
  --report "$out/report-2-nodes.html" --junit "$out/junit-2-nodes.xml" --json >"$out/sweep-2-nodes.json"

# A hundred nodes: a star, every spoke paying and paid by the hub under faults.
{
  echo "nodes 100"
  echo "latency lognormal median=50ms sigma=0.6"
  echo "block_interval 10min"
  echo "redial 2s"
  for spoke in $(seq 1 99); do echo "channel 0 -> $spoke capacity=2000000sat push=500000sat"; done
  echo "warmup 35min"
  echo "traffic every=1s amount=1000sat..50000sat reject=5%"
  echo "payee_hold 0s..2s"
  echo "fault disconnect every=1min"
  echo "fault crash every=5min for=20s"
  echo "fault pause_monitors every=1min for=5s"
  echo "run 45min"
  echo "settle 30min"
  echo "expect sent >= 60%"
} >"$out/star100.scn"
draw sweep "$out/star100.scn" --seeds 0..10 --jobs 2 --report "$out/report-100-nodes.html"

shoot() {
  local page=$1 width=$2 height=$3
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size="$width,$height" \
    --screenshot="$out/${page%.html}.png" "file://$(realpath "$out/$page")" 2>/dev/null
  echo "$out/${page%.html}.png"
}
shoot diagram-2-nodes.html 900 1400
shoot diagram-20-nodes.html 2800 1300
shoot report-2-nodes.html 960 2300
shoot report-100-nodes.html 960 2300
