#!/usr/bin/env bash
# rustc for this workspace's own crates in fuzz builds (`RUSTC_WORKSPACE_WRAPPER`, set by
# scripts/fuzz-env.sh): debug assertions and overflow checks on. The fuzz builds are
# `cargo fuzz build -O`, so dependencies (secp256k1, the hashes, bitcoin) run as their
# release builds: their assertions check their own internals, which these targets do not
# aim at, and cost the whole-node targets 5 to 13% of each run (measured on a sample of
# their evolved corpus).
exec "$@" -C debug-assertions=on -C overflow-checks=on
