#!/usr/bin/env bash
# Sanitizer speed against mat2 on the same >= 1 GB of mixed media.
#
# The corpus is made once by real encoders (ffmpeg, then exiftool to plant
# metadata) in $BARAM_BENCH_CORPUS (default /tmp/baram-bench-corpus): H.264/AAC
# MP4, MPEG-4/MP3 AVI, MP3, large JPEGs and PNGs, and the project's document
# fixtures. Only formats both tools support are used (mat2 has no Matroska).
# Both tools read warm files and write cleaned copies; we print MB/s of input
# for each and the ratio. mat2 is single-threaded, so baram is measured with one
# thread (the fair figure) and with all cores.
#
# Usage: bench/sanitize_speed.sh          (needs ffmpeg, exiftool, mat2)
set -euo pipefail
cd "$(dirname "$0")/.."
for t in ffmpeg exiftool mat2; do
  command -v $t >/dev/null || { echo "$t not found: apt-get install ffmpeg libimage-exiftool-perl mat2" >&2; exit 1; }
done
C=${BARAM_BENCH_CORPUS:-/tmp/baram-bench-corpus}
cargo build --release -q -p baram -p baram-sanitize --examples --bins
B=$PWD/target/release/baram

ff() { ffmpeg -nostdin -v error -y "$@"; }
meta() { M=(-metadata "title=Pyongyang Secret Camera $1" -metadata artist=KimCheolsu -metadata "comment=planted comment $1"); }
if [ ! -f "$C/.done" ]; then
  echo "making the corpus in $C (once)..."
  rm -rf "$C"; mkdir -p "$C/src"
  ff -f lavfi -i testsrc2=size=1280x720:rate=25:duration=60 -f lavfi -i sine=frequency=300:duration=60 \
     -c:v libx264 -preset ultrafast -b:v 8M -pix_fmt yuv420p -c:a aac -b:a 128k "$C/src/base.mp4"
  ff -f lavfi -i testsrc2=size=720x480:rate=25:duration=60 -f lavfi -i sine=frequency=500:duration=60 \
     -c:v mpeg4 -b:v 5M -c:a libmp3lame -b:a 192k "$C/src/base.avi"
  ff -f lavfi -i sine=frequency=440:duration=300 -c:a libmp3lame -b:a 192k "$C/src/base.mp3"
  ff -f lavfi -i testsrc2=size=4000x3000 -frames:v 1 -q:v 2 "$C/src/base.jpg"
  ff -f lavfi -i testsrc2=size=2000x1500 -frames:v 1 "$C/src/base.png"
  for i in $(seq 1 10); do meta $i; ff -i "$C/src/base.mp4" -c copy "${M[@]}" "$C/video-$i.mp4"; done
  for i in $(seq 1 5); do meta $i; ff -i "$C/src/base.avi" -c copy "${M[@]}" "$C/video-$i.avi"; done
  for i in $(seq 1 20); do meta $i; ff -i "$C/src/base.mp3" -c copy "${M[@]}" -id3v2_version 3 "$C/song-$i.mp3"; done
  for i in $(seq 1 100); do cp "$C/src/base.jpg" "$C/photo-$i.jpg"; done
  for i in $(seq 1 20); do cp "$C/src/base.png" "$C/image-$i.png"; done
  exiftool -q -overwrite_original -Artist=KimCheolsu -SerialNumber=PLANTED-SERIAL-4471 \
    -Model="Pyongyang Secret Camera" -GPSLatitude=39.03 -GPSLatitudeRef=N -GPSLongitude=125.76 \
    -GPSLongitudeRef=E -DateTimeOriginal="2026:01:02 03:04:05" -XMP-dc:Creator=KimCheolsu \
    "$C"/photo-*.jpg "$C"/image-*.png
  fx=$(mktemp -d)
  target/release/examples/write_fixtures "$fx" >/dev/null
  for i in $(seq 1 20); do
    for f in report.docx sheet.xlsx slides.pptx report.odt book.pdf; do cp "$fx/$f" "$C/$i-$f"; done
  done
  rm -rf "$fx" "$C/src"
  touch "$C/.done"
fi

files=("$C"/*)
bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
mb=$(echo "$bytes / 1000000" | bc -l)
printf 'corpus: %d files, %.0f MB (%s)\n' "${#files[@]}" "$mb" \
  "$(ls "$C" | sed 's/.*\.//' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')"
# Inputs warm in the page cache and earlier outputs flushed before each timed
# run, so no run pays for another's writeback. Outputs land in the page cache
# for every tool alike (no fsync timed).
warm() { cat "${files[@]}" >/dev/null; sync; }
now() { date +%s.%N; }

out=$(mktemp -d)
RUNS=${RUNS:-3}
# Best of RUNS for each tool (the disk's writeback makes single runs noisy).
best() { printf '%s\n' "$@" | sort -g | head -1; }
t1s=(); tns=(); tms=()
mkdir -p "$out/m"; cp "${files[@]}" "$out/m/"
mfiles=("$out"/m/*)
cat "${mfiles[@]}" >/dev/null
for r in $(seq "$RUNS"); do
  rm -rf "$out/b1" "$out/bn" "$out"/m/*.cleaned.*
  warm
  t0=$(now); RAYON_NUM_THREADS=1 "$B" -q sanitize clean "${files[@]}" -o "$out/b1"; t1=$(now)
  t1s+=("$(echo "$t1 - $t0" | bc -l)")
  warm
  t0=$(now); "$B" -q sanitize clean "${files[@]}" -o "$out/bn"; t1=$(now)
  tns+=("$(echo "$t1 - $t0" | bc -l)")
  # mat2 writes NAME.cleaned.EXT beside each file: it works on a copy.
  cat "${mfiles[@]}" >/dev/null; warm
  t0=$(now); mat2 "${mfiles[@]}" >"$out/mat2.log" 2>&1 || true; t1=$(now)
  tms+=("$(echo "$t1 - $t0" | bc -l)")
done
ours1=$(best "${t1s[@]}"); oursn=$(best "${tns[@]}"); theirs=$(best "${tms[@]}")
echo "runs (s): baram-1 ${t1s[*]} | baram-$(nproc) ${tns[*]} | mat2 ${tms[*]}"
failed=$(grep -c -i "error\|not supported\|unable" "$out/mat2.log" || true)
cleaned=$(ls "$out"/m/*.cleaned.* 2>/dev/null | wc -l)

printf 'baram, 1 thread:   %7.2f s  %8.1f MB/s\n' "$ours1" "$(echo "$mb / $ours1" | bc -l)"
printf 'baram, %d threads:  %7.2f s  %8.1f MB/s\n' "$(nproc)" "$oursn" "$(echo "$mb / $oursn" | bc -l)"
printf 'mat2 %s:     %7.2f s  %8.1f MB/s  (%d of %d files cleaned, %d errors)\n' \
  "$(mat2 --version | awk '{print $2}')" "$theirs" "$(echo "$mb / $theirs" | bc -l)" "$cleaned" "${#files[@]}" "$failed"
printf 'ratio (baram 1 thread / mat2): %.1fx;  (baram %d threads / mat2): %.1fx\n' \
  "$(echo "$theirs / $ours1" | bc -l)" "$(nproc)" "$(echo "$theirs / $oursn" | bc -l)"
rm -rf "$out"
