#!/usr/bin/env bash
# Writing one image to 4 image files at once against `dd` writing the same
# total bytes one after the other.
#
# Makes a ~1 GB image of random bytes in $BARAM_BENCH_DIR (default: a fresh
# folder in /var/tmp; put it on a real disk, not tmpfs), then, REPS times:
#   peer: dd if=IMG of=OUT_i bs=4M conv=fsync, for i in 1..4, sequentially
#   ours: drop_write IMG OUT_1..OUT_4 (written at once, fsync'd, then
#         verified by O_DIRECT read-back; only write+fsync is compared,
#         verification time is printed apart)
# Output files are deleted before every run, so both create fresh files. The
# image is warm in the page cache for both. Prints median MB/s of each and the
# ratio (ours / dd; the goal is >= 0.90).
#
# Usage: bench/drop_write.sh            (SIZE_MB=1024 REPS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
REPS=${REPS:-3}
N=4
T=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p baram-drop --example drop_write
EX=$T/release/examples/drop_write
D=${BARAM_BENCH_DIR:-$(mktemp -d /var/tmp/baram-drop-write.XXXXXX)}
mkdir -p "$D"
trap 'rm -f "$D"/out-*' EXIT
fs=$(stat -f -c %T "$D")
IMG=$D/image.bin
if [ ! -f "$IMG" ] || [ "$(stat -c %s "$IMG")" -ne $((SIZE_MB * 1024 * 1024)) ]; then
  head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$IMG"
fi
cat "$IMG" > /dev/null   # warm, for both
BYTES=$((SIZE_MB * 1024 * 1024 * N))
echo "image: $SIZE_MB MiB in $D ($fs); $N targets; $REPS runs each"

now() { date +%s.%N; }
clean() { rm -f "$D"/out-*; sync; }
dd_s=(); ours_w=(); ours_v=()
for r in $(seq 1 "$REPS"); do
  clean
  t0=$(now)
  for i in $(seq 1 $N); do dd if="$IMG" of="$D/out-dd-$i" bs=4M conv=fsync status=none; done
  t1=$(now)
  dd_s+=("$(echo "$t1 - $t0" | bc -l)")
  clean
  out=$("$EX" "$IMG" $(for i in $(seq 1 $N); do echo "$D/out-ours-$i"; done))
  ours_w+=("$(echo "$out" | sed -n 's/^write_fsync_seconds=//p')")
  ours_v+=("$(echo "$out" | sed -n 's/^verify_seconds=//p')")
  echo "$out" | grep -q "Ok read_back=Some(Direct)" || { echo "unexpected report:"; echo "$out"; exit 1; }
  [ "$(echo "$out" | grep -c ': Ok ')" -eq $N ] || { echo "not all targets ok:"; echo "$out"; exit 1; }
  echo "run $r: dd ${dd_s[-1]} s, ours write+fsync ${ours_w[-1]} s, ours verify ${ours_v[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dd_m=$(median "${dd_s[@]}"); w_m=$(median "${ours_w[@]}"); v_m=$(median "${ours_v[@]}")
mbs() { echo "$BYTES / 1000000 / $1" | bc -l | xargs printf '%.0f'; }
echo "dd x$N sequential (write+fsync): $(mbs "$dd_m") MB/s ($dd_m s for $((BYTES / 1000000)) MB)"
echo "ours $N at once   (write+fsync): $(mbs "$w_m") MB/s ($w_m s)"
echo "ours verification (O_DIRECT read-back of all $N): $(mbs "$v_m") MB/s ($v_m s)"
echo "ratio ours/dd (write+fsync): $(echo "$dd_m / $w_m" | bc -l | xargs printf '%.2f')"
