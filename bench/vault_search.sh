#!/usr/bin/env bash
# Vault search index: builds the in-memory index over DOCS generated
# documents (default 100,000; mixed Korean/English, 1-3 KB each), reports
# build time and memory, runs QUERIES varied queries (default 2,000) and
# prints p50/p95/p99 query time (goal: p95 < 50 ms), then age encryption
# throughput (the cost of the encrypted on-disk alternative).
#
#   bench/vault_search.sh [DOCS] [QUERIES]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p baram-vault --example search_bench -- "${1:-100000}" "${2:-2000}"
