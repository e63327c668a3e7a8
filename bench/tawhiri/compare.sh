#!/usr/bin/env bash
# baram flight predict vs its peer (Tawhiri, else the NumPy reference) on the
# same GFS winds and the same settings (bench/tawhiri/cases.json).
#
# Per case it prints the landings, the haversine distance between them, the
# time per prediction of each and the speed ratio.  The bar: baram within
# 100 m of Tawhiri at landing and at least 20x faster.
#
# Usage: bench/tawhiri/compare.sh [CASE ...]        (default: every case)
#
# Environment:
#   PYTHON          interpreter with numpy (and eccodes, for the GRIB
#                   conversion); default python3
#   TAWHIRI_SRC     a built Tawhiri checkout (see README.md; not in this repo).
#                   When set, or when TAWHIRI_PYTHON can import tawhiri, the
#                   real Tawhiri runs too and becomes the peer.
#   TAWHIRI_PYTHON  interpreter for run_tawhiri.py (default: $PYTHON); it
#                   needs numpy and magicmemoryview
#   TAWHIRI_DATASET_DIR  where the 9.5 GB sparse (0.7 GB used) Tawhiri dataset
#                   goes; default $OUT/ds
#   BARAM           path to the baram binary (release build); if unset or
#                   lacking `flight predict`, only the peer side runs
#   GRIB            GRIB2 file (default: shared/data/grib/gfs.t12z.pgrbf120.2p5deg.grib2)
#   OUT             scratch folder (default /tmp/baram-bench-tawhiri)
#   REPEAT          timed predictions per case and tool (default 50)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3}"
TAWHIRI_PYTHON="${TAWHIRI_PYTHON:-$PYTHON}"
OUT="${OUT:-/tmp/baram-bench-tawhiri}"
REPEAT="${REPEAT:-50}"
if [ -z "${GRIB:-}" ]; then
  for g in "$HERE/../../../shared/data/grib" "$HERE/../../shared/data/grib" /work/shared/data/grib; do
    if [ -f "$g/gfs.t12z.pgrbf120.2p5deg.grib2" ]; then GRIB="$g/gfs.t12z.pgrbf120.2p5deg.grib2"; break; fi
  done
fi
[ -n "${GRIB:-}" ] && [ -f "$GRIB" ] || { echo "GRIB2 file not found; set GRIB=" >&2; exit 2; }
export TAWHIRI_DATASET_DIR="${TAWHIRI_DATASET_DIR:-$OUT/ds}"
mkdir -p "$OUT"

CASES=("$@")
case_flags=()
for c in "${CASES[@]}"; do case_flags+=(--case "$c"); done

# ----------------------------------------------------------------------------
# ADAPT HERE when baram's commands land: how to import winds, how to predict
# one case, and where the answer is in its JSON.
BARAM_WINDS="$OUT/baram-winds"
BARAM_LAT_FIELD="${BARAM_LAT_FIELD:-landing.lat}"
BARAM_LON_FIELD="${BARAM_LON_FIELD:-landing.lon}"
# If baram reports its own in-process time per prediction (say with a
# `--repeat N` option, given in BARAM_EXTRA_ARGS), name the JSON field here;
# when the field is absent, the wall time of the whole `baram` process is
# used (process start and opening the winds included, which favours the peer).
BARAM_MS_FIELD="${BARAM_MS_FIELD:-timing.median_ms}"
read -r -a BARAM_EXTRA <<<"${BARAM_EXTRA_ARGS:-}"
baram_available() {
  [ -n "${BARAM:-}" ] && [ -x "$BARAM" ] &&
    "$BARAM" flight predict --help >/dev/null 2>&1 &&
    "$BARAM" wind import --help >/dev/null 2>&1
}
baram_import() {
  "$BARAM" -q wind import "$GRIB" --region 25,50,110,145 -o "$BARAM_WINDS"
}
# args: name lat lon profile launch_time launch_alt ascent burst descent float_alt float_hours
baram_predict() {
  # Only the ascent-burst-descent cases: Tawhiri's float profile ends in
  # the air, baram's float ends with a release and a descent.
  [ "$4" = standard ] || return 1
  local args=(--json flight predict --cube "$BARAM_WINDS" --launch "$2,$3"
              --time "$5" --launch-alt "$6" --ascent-rate "$7"
              --burst-alt "$8" --descent-rate "$9" --repeat "$REPEAT")
  "$BARAM" "${args[@]}" "${BARAM_EXTRA[@]}"
}
# ----------------------------------------------------------------------------

NPZ="$OUT/gfs_winds.npz"
if [ ! -f "$NPZ" ] || [ "$GRIB" -nt "$NPZ" ]; then
  echo "== decoding $GRIB -> $NPZ" >&2
  "$PYTHON" "$HERE/grib_to_npy.py" "$GRIB" "$NPZ" >"$OUT/grib_to_npy.json"
fi

echo "== reference (NumPy, $REPEAT runs per case)" >&2
"$PYTHON" "$HERE/reference.py" "$NPZ" --repeat "$REPEAT" "${case_flags[@]}" >"$OUT/reference.jsonl"

: >"$OUT/tawhiri.jsonl"
if [ -n "${TAWHIRI_SRC:-}" ] || "$TAWHIRI_PYTHON" -c 'import tawhiri.solver' 2>/dev/null; then
  echo "== Tawhiri ($REPEAT runs per case)" >&2
  "$TAWHIRI_PYTHON" "$HERE/run_tawhiri.py" "$NPZ" --repeat "$REPEAT" "${case_flags[@]}" >"$OUT/tawhiri.jsonl"
else
  echo "== Tawhiri not available (set TAWHIRI_SRC or TAWHIRI_PYTHON; see README.md): the reference is the peer" >&2
fi

: >"$OUT/baram.jsonl"
BARAM_STATUS=""
if baram_available; then
  echo "== baram: wind import" >&2
  baram_import >&2
  echo "== baram: flight predict" >&2
  while IFS=$'\t' read -r name rest; do
    # shellcheck disable=SC2086
    t0=$(date +%s%N)
    if json=$(baram_predict "$name" $rest); then
      t1=$(date +%s%N)
      "$PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]); d["_case"]=sys.argv[2]; d["_wall_ms"]=float(sys.argv[3]); print(json.dumps(d))' \
        "$json" "$name" "$(( (t1 - t0) / 1000 ))e-3" >>"$OUT/baram.jsonl"
    else
      echo "baram failed on case $name" >&2
    fi
  done < <("$PYTHON" - "$HERE/cases.json" "${CASES[@]}" <<'PYEOF'
import json, sys
spec = json.load(open(sys.argv[1])); want = set(sys.argv[2:])
for c in spec["cases"]:
    if want and c["name"] not in want:
        continue
    f = dict(spec["defaults"]); f.update(c)
    print("\t".join([f["name"], " ".join(str(f[k]) for k in ("lat", "lon", "profile", "launch_time", "launch_alt",
                     "ascent_rate", "burst_alt", "descent_rate", "float_alt", "float_hours"))]))
PYEOF
)
else
  BARAM_STATUS="baram not available (BARAM=${BARAM:-unset}; needs \`baram wind import\` and \`baram flight predict --json\`): peer side only"
  echo "== $BARAM_STATUS" >&2
fi

"$PYTHON" - "$OUT" "$BARAM_LAT_FIELD" "$BARAM_LON_FIELD" "$BARAM_MS_FIELD" "$BARAM_STATUS" "$REPEAT" <<'PYEOF'
import json, math, os, sys
out, lat_f, lon_f, ms_f, status, repeat = sys.argv[1:7]

def load(name, key="case"):
    p = os.path.join(out, name)
    rows = [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []
    return {r[key]: r for r in rows}

def get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d

def hav(a, b):
    r = 6371008.8
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))

ref, tw, bm = load("reference.jsonl"), load("tawhiri.jsonl"), load("baram.jsonl", "_case")
peer_name = "tawhiri" if tw else "reference"
peer = tw or ref
print("peer: %s%s; %s timed runs per case (median ms per prediction, in-process, warm)" % (
    peer_name, "" if tw else " (Tawhiri not run)", repeat))
if status:
    print(status)
fmt = "%-14s %-22s %-22s %10s %-22s %10s %9s %9s %9s %7s"
print(fmt % ("case", "reference lat,lon", "tawhiri lat,lon", "ref-tw m", "baram lat,lon",
             "baram-peer", "ref ms", "tw ms", "baram ms", "ratio"))
ll = lambda p: "%.5f,%.5f" % tuple(p) if p else "-"
for name, r in ref.items():
    pr = (r["landing"]["lat"], r["landing"]["lon"])
    t = tw.get(name)
    pt = (t["landing"]["lat"], t["landing"]["lon"]) if t else None
    b = bm.get(name)
    pb = None
    b_ms, b_wall = None, False
    if b:
        la, lo = get(b, lat_f), get(b, lon_f)
        if la is not None and lo is not None:
            pb = (float(la), float(lo) - 360.0 if float(lo) > 180 else float(lo))
        b_ms = get(b, ms_f)
        b_wall = b_ms is None
        b_ms = float(b_ms) if b_ms is not None else b["_wall_ms"]
    p = peer[name]
    pp = (p["landing"]["lat"], p["landing"]["lon"])
    p_ms = p["timing"]["median_ms"]
    print(fmt % (name, ll(pr), ll(pt), "%.4f" % hav(pr, pt) if pt else "-", ll(pb),
                 "%.2f" % hav(pb, pp) if pb else "-", "%.3f" % r["timing"]["median_ms"],
                 "%.3f" % t["timing"]["median_ms"] if t else "-",
                 ("%.4f" % b_ms + ("w" if b_wall else "")) if b_ms else "-",
                 "%.3gx" % (p_ms / b_ms) if b_ms else "-"))
print("ratio = peer ms / baram ms; a 'w' after baram ms marks the wall time of a whole baram process "
      "(baram gave no in-process time).")
print("bar: baram-peer <= 100 m at landing on the standard cases and ratio >= 20x with Tawhiri as the peer")
PYEOF
