#!/usr/bin/env bash
# Geography lookups of baram-flight: ns per area_at / within_airport /
# distance_to_mdl_m call (release build, 1,000,000 calls each, points from a
# fixed seed), and for scale the same area question asked of GEOS through
# shapely (prepared geometries, 100,000 points, one call per point).
#
# Usage: bench/geo_lookup.sh   (the shapely line needs python3-shapely)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p baram-flight --example geo_speed
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if "$PY" -c 'import shapely' 2>/dev/null; then
  "$PY" - crates/flight/data/geo/korea_region_ne10m_countries.geojson <<'PYEOF'
import json, random, sys, time
from shapely.geometry import shape, Point
from shapely.prepared import prep
fc = json.load(open(sys.argv[1]))
geoms = [prep(shape(f["geometry"])) for f in fc["features"]]
rng = random.Random(42)
pts = [Point(117 + rng.random() * 17, 31 + rng.random() * 14) for _ in range(100_000)]
t = time.perf_counter()
n = 0
for p in pts:
    for g in geoms:
        if g.contains(p):
            n += 1
            break
dt = time.perf_counter() - t
print(f"shapely (GEOS, prepared), uniform in the box: {dt / len(pts) * 1e9:7.1f} ns/lookup ({n} on land)")
PYEOF
else
  echo "shapely not found (apt-get install python3-shapely): peer line skipped" >&2
fi
