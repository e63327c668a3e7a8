#!/usr/bin/env bash
# Wind import speed on a 0.25-degree GFS-sized file set over Korea.
# Usage: bench/wind_import.sh [FORECAST_HOURS (default 5)] [LEVELS (default 31)]
#
# The file set is built from the real GDAS 0.25° message in
# crates/flight/data/grib (1440x721 points, complex packing with spatial
# differencing, as GFS 0.25° files are): each copy is relabelled (section 4)
# as HGT, UGRD or VGRD on an isobaric level and forecast hour, and the HGT
# copies get a per-level offset in their reference value (section 5) so
# heights increase with level. One file per forecast hour, LEVELS x 3
# messages each, like the HGT/UGRD/VGRD subset of a GFS pgrb2.0p25 file.
# The decoding work per byte is that of real GFS data; the values are not
# weather. Prints the import speed in MB/s of GRIB input.
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-5}
levels=${2:-31}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build -q --release -p baram
bin=${CARGO_TARGET_DIR:-target}/release/baram

python3 - "$tmp" "$hours" "$levels" <<'PY'
import struct, sys
out, hours, nlev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = open("crates/flight/data/grib/gdas.t12z.pgrb2.0p25.f000.12", "rb").read()
def sections(m):
    pos, s = 16, {}
    while pos + 4 < len(m):
        n = struct.unpack(">I", m[pos:pos+4])[0]
        s[m[pos+4]] = pos
        pos += n
    return s
sec = sections(src)
s4, s5 = sec[4], sec[5]
levels = [1000, 975, 950, 925, 900, 850, 800, 750, 700, 650, 600, 550, 500, 450, 400,
          350, 300, 250, 200, 150, 100, 70, 50, 40, 30, 20, 15, 10, 7, 5, 3, 2, 1][:nlev]
def relabel(cat, num, hpa, hour, add):
    m = bytearray(src)
    m[s4+9], m[s4+10] = cat, num
    m[s4+17] = 1                                   # unit: hour
    m[s4+18:s4+22] = struct.pack(">I", hour)
    m[s4+22], m[s4+23] = 100, 0                    # isobaric, Pa
    m[s4+24:s4+28] = struct.pack(">I", hpa * 100)
    m[s4+28] = 255
    r = struct.unpack(">f", m[s5+11:s5+15])[0] + add
    m[s5+11:s5+15] = struct.pack(">f", r)
    return bytes(m)
for h in range(0, 3 * hours, 3):
    with open(f"{out}/gfs.t12z.pgrb2.0p25.f{h:03d}", "wb") as f:
        for k, hpa in enumerate(levels):
            f.write(relabel(3, 5, hpa, h, 200.0 * k))  # HGT: +200 km per level
            f.write(relabel(2, 2, hpa, h, 0.0))
            f.write(relabel(2, 3, hpa, h, 0.0))
PY

bytes=$(cat "$tmp"/gfs.* | wc -c)
echo "file set: $hours files, $levels levels x 3 fields, $((bytes / 1000000)) MB (0.25°, 1440x721)"
start=$(date +%s.%N)
"$bin" --json wind import --region 31,45,117,134 -o "$tmp/korea.cube" "$tmp"/gfs.* >"$tmp/out.json"
end=$(date +%s.%N)
python3 - "$tmp/out.json" "$bytes" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b, s, e = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
g = r["cube"]["grid"]
print(f"cube: {g['nlat']}x{g['nlon']} points, {len(r['cube']['levels_hpa'])} levels, "
      f"{len(r['cube']['times'])} times, {r['bytes_written'] / 1e6:.1f} MB")
print(f"import (in-process, decode + crop + write): {r['seconds']:.2f} s, {r['mb_per_s']:.0f} MB/s")
print(f"wall clock incl. process start: {e - s:.2f} s, {b / 1e6 / (e - s):.0f} MB/s")
PY
