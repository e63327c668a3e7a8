#!/usr/bin/env bash
# Fuzz the sanitizer's parsers and the vault's HWP reader with cargo-fuzz (nightly toolchain, libFuzzer).
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 s, all targets)
# Seeds come from the project's own fixtures; crashes land in fuzz/artifacts/TARGET/.
# Logs go to fuzz/logs/TARGET.log. Runs JOBS targets at once (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jpeg png gif webp mp3 mp4 avi mkv pdf docx odt text hwp)
jobs=${JOBS:-$(nproc)}
command -v cargo-fuzz >/dev/null || { echo "install cargo-fuzz: cargo install cargo-fuzz" >&2; exit 1; }

seeds=$(mktemp -d)
cargo run -q --release -p baram-sanitize --example write_fixtures "$seeds" >/dev/null
cargo run -q --release -p baram-hwp --example write_fixtures "$seeds" >/dev/null
exts_for() {
  case $1 in
    jpeg) echo jpg ;; mkv) echo "mkv webm" ;; mp4) echo "mp4 mov m4a" ;;
    docx) echo "docx xlsx pptx" ;; hwp) echo "hwp hwpx" ;; odt) echo "odt ods odp" ;; text) echo "srt txt" ;;
    *) echo "$1" ;;
  esac
}
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  for e in $(exts_for "$t"); do cp "$seeds"/*."$e" "fuzz/corpus/$t/" 2>/dev/null || true; done
done
rm -rf "$seeds"
(cd fuzz && cargo +nightly fuzz build -O 2>&1 | tail -1)

run_one() {
  local t=$1
  (cd fuzz && cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 -timeout=20 \
      -print_final_stats=1) >"fuzz/logs/$t.log" 2>&1
  local rc=$?
  local stats
  stats=$(grep -E "stat::number_of_executed_units|cov: " "fuzz/logs/$t.log" | tail -2 | tr '\n' ' ')
  echo "$t: exit $rc; $stats; crashes: $(ls "fuzz/artifacts/$t" 2>/dev/null | wc -l)"
}
export -f run_one
export secs
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
