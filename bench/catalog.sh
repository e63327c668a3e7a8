#!/usr/bin/env bash
# Catalog scale: with 100,000 items, `library list --limit 50` and `library
# search` must answer in under 100 ms (whole process, as a user runs it).
# Usage: bench/catalog.sh [N_ITEMS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
RUNS=${2:-20}
cargo build --release -q -p baram --example bench_fill -p baram-library 2>/dev/null || cargo build --release -q -p baram -p baram-library --examples
cargo build --release -q -p baram
B=target/release/baram
WS=$(mktemp -d)/ws
t0=$(date +%s%N)
target/release/examples/bench_fill "$WS" "$N"
echo "fill: $(( ($(date +%s%N) - t0) / 1000000 )) ms for $N items"

# Median and worst wall time of RUNS runs of a command, in ms.
time_cmd() {
  local label=$1; shift
  local times=()
  "$@" >/dev/null  # warm the page cache once
  for _ in $(seq "$RUNS"); do
    local s=$(date +%s%N)
    "$@" >/dev/null
    times+=($(( ($(date +%s%N) - s) / 100000 )))
  done
  local sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  local med=${sorted[$(( RUNS / 2 ))]} max=${sorted[$(( RUNS - 1 ))]}
  local hits=$("$@" --json | grep -c '"id"' || true)
  printf '%-44s median %3d.%d ms  max %3d.%d ms  (%s results)\n' "$label" $((med/10)) $((med%10)) $((max/10)) $((max%10)) "$hits"
}

echo "machine: $(nproc) cores, $(uname -m); $RUNS runs each"
time_cmd "library list --limit 50" $B --workspace "$WS" library list --limit 50
time_cmd "library list --limit 50 --offset 90000" $B --workspace "$WS" library list --limit 50 --offset 90000
time_cmd "library list --kind video --tag 평양" $B --workspace "$WS" library list --kind video --tag 평양
time_cmd "library search 평양 (2 syllables: scan)" $B --workspace "$WS" library search 평양
time_cmd "library search 불시착 (trigram index)" $B --workspace "$WS" library search 불시착
time_cmd "library search 사랑의 불시착" $B --workspace "$WS" library search 사랑의 불시착
time_cmd "library search history 99999" $B --workspace "$WS" library search history 99999
time_cmd "library search zzzz (no hit)" $B --workspace "$WS" library search zzzz
time_cmd "library search 서 (1 syllable: scan)" $B --workspace "$WS" library search 서
rm -rf "$(dirname "$WS")"
