#!/usr/bin/env bash
# FAT32 image building speed: baram's streaming writer against `cp -r` (the
# ceiling: target >= 90% of its throughput) and against mkfs.fat + mcopy
# (the usual way to fill an image; target: baram >= 3x faster).
#
# The input (>= 1 GB: big videos, mid-size songs, many small files, Korean
# names, nested folders) is generated once into $BARAM_BENCH_FAT32 (default
# /tmp/baram-bench-fat32/src). All outputs go to the same disk, next to it.
# Every timing includes `sync`, so the page cache flatters no one; sources are
# read once before each run so every tool reads warm input. Best of $RUNS
# (default 2) runs each.
#
# Usage: bench/fat32_build.sh      (needs dosfstools and mtools)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
command -v mkfs.fat >/dev/null || [ -x /usr/sbin/mkfs.fat ] || { echo "mkfs.fat not found: apt-get install dosfstools" >&2; exit 1; }
command -v mcopy >/dev/null || { echo "mcopy not found: apt-get install mtools" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"
RUNS=${RUNS:-2}
W=${BARAM_BENCH_FAT32:-/tmp/baram-bench-fat32}
S="$W/src"

cargo build --release -q -p baram-drop --example fat32_build
T=${CARGO_TARGET_DIR:-$PWD/target}
B="$T/release/examples/fat32_build"

if [ ! -f "$W/.done" ]; then
  echo "making the input in $S (once)..."
  rm -rf "$W"; mkdir -p "$S/video" "$S/음악" "$S/사진/2010" "$S/docs"
  for i in $(seq -w 1 12); do
    head -c $((85 * 1000 * 1000 + 10#$i * 4099)) /dev/urandom > "$S/video/$i 사랑의 불시착 ${i}화.avi"
  done
  for i in $(seq -w 1 40); do
    head -c $((4 * 1000 * 1000 + 10#$i * 777)) /dev/urandom > "$S/음악/$i 노래 song $i.mp3"
  done
  for i in $(seq -w 1 300); do
    head -c $((300 * 1000 + 10#$i * 13)) /dev/urandom > "$S/사진/2010/IMG_$i.JPG"
  done
  for i in $(seq -w 1 500); do
    head -c $((2000 + 10#$i * 31)) /dev/urandom > "$S/docs/page $i.html"
  done
  touch "$W/.done"
fi

bytes=$(du -sb --apparent-size "$S" | cut -f1)
files=$(find "$S" -type f | wc -l)
mb=$(echo "$bytes / 1000000" | bc -l)
# Image: the smallest that holds the input + 2 % (whole MiB), so all three
# write about the same bytes; mkfs.fat gets our size and cluster size.
read -r size cluster < <("$B" "$S" /dev/null auto+2% --no-partition --plan)
printf 'input: %d files, %.0f MB; image %d MiB, %d-byte clusters\n' "$files" "$mb" $((size / 1048576)) "$cluster"

warm() { find "$S" -type f -exec cat {} + >/dev/null; }
now() { date +%s.%N; }
best() { # best time of RUNS runs of "$1_run" (each after "$1_prep", a warm read and a sync)
  local b=""
  for _ in $(seq 1 "$RUNS"); do
    "$1_prep"; warm; sync
    local t0 t1 t
    t0=$(now); "$1_run"; sync; t1=$(now)
    t=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}

O="$W/out"
mkdir -p "$O"
cp_prep() { rm -rf "$O/cp"; }
cp_run() { cp -r "$S" "$O/cp"; }
mtools_prep() { rm -f "$O/mtools.img"; }
mtools_run() {
  truncate -s "$size" "$O/mtools.img"
  mkfs.fat -F 32 -s $((cluster / 512)) -n DROP "$O/mtools.img" >/dev/null
  MTOOLS_SKIP_CHECK=1 LANG=C.UTF-8 mcopy -s -i "$O/mtools.img" "$S"/* ::/
}
# The disk's own ceiling: the image's byte count written from memory with
# O_DIRECT in 8 MiB blocks (no page cache to flush). No tool that puts the
# files' bytes into an image on this disk can be faster, unless the file
# system shares the blocks instead (reflinks: XFS, btrfs).
dd_prep() { rm -f "$O/dd.bin"; }
dd_run() { dd if=/dev/zero of="$O/dd.bin" bs=8M count=$((size / 8388608)) oflag=direct status=none; }
ours_prep() { rm -f "$O/ours.img"; }
ours_run() { "$B" "$S" "$O/ours.img" "$size" --no-partition 2>/dev/null; }

t_cp=$(best cp)
t_mt=$(best mtools)
t_ours=$(best ours)
t_dd=$(best dd)

# The image we timed must be sound.
fsck.fat -n "$O/ours.img" >/dev/null || { echo "fsck.fat found errors in our image" >&2; exit 1; }

rate() { echo "$mb / $1" | bc -l; }
printf '%-28s %8.2f s %8.1f MB/s\n' "cp -r (ceiling)" "$t_cp" "$(rate "$t_cp")"
printf '%-28s %8.2f s %8.1f MB/s\n' "mkfs.fat + mcopy" "$t_mt" "$(rate "$t_mt")"
printf '%-28s %8.2f s %8.1f MB/s\n' "baram fat32" "$t_ours" "$(rate "$t_ours")"
printf '%-28s %8.2f s %8.1f MB/s\n' "dd O_DIRECT (disk ceiling)" "$t_dd" "$(rate "$t_dd")"
printf 'baram / cp throughput:        %5.0f %%  (target >= 90 %%)\n' "$(echo "100 * $t_cp / $t_ours" | bc -l)"
printf 'baram vs mkfs.fat + mcopy:    %5.2f x  (target >= 3x)\n' "$(echo "$t_mt / $t_ours" | bc -l)"
printf 'disk ceiling vs mcopy:        %5.2f x  (the most any writer could reach here)\n' "$(echo "$t_mt / $t_dd" | bc -l)"
rm -rf "$O"
