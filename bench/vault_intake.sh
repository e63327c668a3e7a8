#!/usr/bin/env bash
# Vault intake speed against the disk: `baram vault intake` of ~1 GB of random
# files versus `dd` writing the same bytes to the same disk, both made durable
# at the end (intake fsyncs every item; dd uses conv=fsync). Prints MB/s and
# the ratio; the goal is intake >= 80% of dd. A second reference, dd with
# O_DIRECT in 4 MiB blocks (no page cache copy), shows the raw device rate,
# which buffered dd does not reach on a loaded machine.
#
#   bench/vault_intake.sh [DIR] [FILES] [MB_PER_FILE]
#
# DIR (default: a temporary folder under /work or $TMPDIR) must be on the disk
# to measure. Builds baram in release.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-}
files=${2:-16}
mb=${3:-64}
if [ -z "$base" ]; then
  base=$(mktemp -d "${TMPDIR:-/tmp}/vault-bench.XXXXXX")
fi
mkdir -p "$base"
trap 'rm -rf "$base/in" "$base/dd" "$base/bundle" "$base/vault"' EXIT

cargo build --release -q -p baram
target=${CARGO_TARGET_DIR:-target}
baram="$target/release/baram"

echo "generating $files files of $mb MiB in $base/in" >&2
mkdir -p "$base/in" "$base/dd"
for i in $(seq 1 "$files"); do
  head -c "$((mb << 20))" /dev/urandom >"$base/in/f$i.bin"
done
total=$((files * mb << 20))
# Read the inputs once so both runs start with them cached.
cat "$base/in"/* >/dev/null

export BARAM_VAULT_PASSPHRASE="bench passphrase"
"$baram" -q vault --vault "$base/vault" keygen --scrypt-log-n 10 >/dev/null
recipient=$(cat "$base/vault/recipient.txt")

now() { date +%s.%N; }
mbps() { awk -v t="$total" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", t / 1048576 / (b - a) }'; }

sync
t0=$(now)
for f in "$base/in"/*; do
  dd if="$f" of="$base/dd/$(basename "$f")" bs=1M conv=fsync status=none
done
t1=$(now)
dd_rate=$(mbps "$t0" "$t1")
rm -rf "$base/dd"
mkdir -p "$base/dd"

sync
t0=$(now)
direct_ok=1
for f in "$base/in"/*; do
  dd if="$f" of="$base/dd/$(basename "$f")" bs=4M oflag=direct conv=fsync status=none || direct_ok=
done
t1=$(now)
direct_rate=n/a # a file system without O_DIRECT
[ -n "$direct_ok" ] && direct_rate=$(mbps "$t0" "$t1")
rm -rf "$base/dd"

sync
t0=$(now)
"$baram" -q vault intake "$base/in" --bundle "$base/bundle" --to "$recipient" --courier BENCH
t1=$(now)
in_rate=$(mbps "$t0" "$t1")

ratio=$(awk -v a="$in_rate" -v b="$dd_rate" 'BEGIN { printf "%.2f", a / b }')
echo "bytes: $total ($files files of $mb MiB) on $(df --output=source "$base" | tail -1)"
echo "dd (conv=fsync per file):     $dd_rate MB/s"
echo "dd (O_DIRECT, 4 MiB blocks):  $direct_rate MB/s"
echo "baram vault intake:           $in_rate MB/s"
echo "ratio intake/dd:              $ratio (goal >= 0.80)"
[ -n "$direct_ok" ] && echo "ratio intake/dd O_DIRECT:     $(awk -v a="$in_rate" -v b="$direct_rate" 'BEGIN { printf "%.2f", a / b }')"
true
