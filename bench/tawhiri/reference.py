#!/usr/bin/env python3
"""Python/NumPy reference of Tawhiri's predictor, written from its published
equations (cuspaceflight/tawhiri: tawhiri/solver.pyx, interpolate.pyx,
models.py; no code copied).  It reads a wind cube .npz from grib_to_npy.py and
prints one JSON object per case.

What it reproduces, step by step (Tawhiri's behaviour in brackets):

* State (lat deg, lon deg in [0, 360), alt m) integrated in time t (UNIX s)
  by classic RK4 with dt = 60 s.  Every "y + k*dy" wraps lon with Python's
  `% 360` [solver.pyx vecadd]; the final combination is four such additions
  (dt/6 k1, dt/3 k2, dt/3 k3, dt/6 k4) applied one after the other.
* A phase ends at the first step whose END point (t+dt, y2) satisfies the
  terminator.  Then a bisection on l in [0, 1] over the straight line between
  (t, y) and (t2, y2), while right-left > 0.01 (7 halvings), keeps the last
  midpoint tried as the phase's last point (whether or not it satisfied the
  terminator); longitude is interpolated the short way round the circle.
  If no halving runs, the point is (t2, y2).  The next phase starts there.
* Ascent: dalt/dt = ascent rate.  Descent: dalt/dt = -1.1045 * v_sea /
  sqrt(rho(alt)), rho from the NASA Glenn "Earth atmosphere model"
  (three branches at 11 km and 25 km, p in kPa, T in C, rho = p / (0.2869
  (T + 273.1))).
* Sideways: dlat/dt = (180/pi) v / R, dlon/dt = (180/pi) u / (R cos lat),
  R = 6371009 m + alt.
* Wind (u, v) at (lat, lon, alt): bilinear in lat/lon on the grid (cell
  index = int((x - x0) / step), out of range is an error; the longitude cell
  past the last column wraps to column 0), the same weights for every level;
  then the level index i is found by Tawhiri's binary search over levels
  0..L-2 for the highest level whose interpolated height is below alt (0 if
  none), and u = u_i * w + u_{i+1} * (1 - w), w = (h_{i+1} - alt) /
  (h_{i+1} - h_i) (0.5 if equal).  So below the lowest level and above the
  highest the wind is extrapolated linearly from the two nearest levels
  (Tawhiri counts the latter as an "altitude_too_high" warning; so do we).
* Time: the field is steady (one valid time); Tawhiri's time interpolation
  of identical fields is the identity.  As in Tawhiri, a launch before the
  dataset time or more than 192 h after it is an error.
* Termination: burst when alt >= burst altitude; landing when ground (0 m
  here, Tawhiri's ruaumoko elevation replaced by 0) > alt; float ends when
  t > stop time.

Usage: reference.py WINDS.npz [--case NAME|all] [--lat --lon ...] [--repeat N]
       [--trajectory]
"""
import argparse
import calendar
import datetime as dt
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DT = 60.0
TOLERANCE = 0.01
EARTH_R = 6371009.0
D2R = math.pi / 180.0
R2D = 180.0 / math.pi


class Winds:
    def __init__(self, path):
        d = np.load(path)
        self.levels = d["levels_hpa"]
        lat, lon = d["lat"], d["lon"]
        self.lat0, self.dlat, self.nlat = float(lat[0]), float(lat[1] - lat[0]), len(lat)
        self.lon0, self.dlon, self.nlon = float(lon[0]), float(lon[1] - lon[0]), len(lon)
        if abs(self.nlon * self.dlon - 360.0) > 1e-9:
            raise SystemExit("longitude axis must cover the globe")
        # (lat, lon, var, level) so that one grid corner is one contiguous block
        self.cube = np.ascontiguousarray(
            np.stack([d["hgt"], d["u"], d["v"]], axis=0).transpose(2, 3, 0, 1)
        ).astype(np.float64)
        self.nlev = self.cube.shape[3]
        self.valid_time = str(d["valid_time"])
        self.epoch = iso_to_unix(self.valid_time)
        self.too_high = 0

    @staticmethod
    def _pick(left, step, n, value, name):
        a = (value - left) / step
        b = int(a)  # C cast (truncation), as Tawhiri
        if b < 0 or b >= n - 1:
            raise ValueError("%s=%r out of range" % (name, value))
        return b, a - b

    def wind(self, t, lat, lon, alt):
        hour = (t - self.epoch) / 3600.0
        self._pick(0.0, 3.0, 65, hour, "hour")  # range check only: field is steady
        j, fj = self._pick(self.lat0, self.dlat, self.nlat, lat, "lat")
        i, fi = self._pick(self.lon0, self.dlon, self.nlon + 1, lon, "lng")
        i1 = i + 1
        if i1 == self.nlon:
            i1 = 0
        c = self.cube
        col = ((1 - fj) * (1 - fi)) * c[j, i] + ((1 - fj) * fi) * c[j, i1] \
            + (fj * (1 - fi)) * c[j + 1, i] + (fj * fi) * c[j + 1, i1]
        h = col[0]
        # Tawhiri's search: largest index < L-1 whose height is below alt
        lo, hi = 0, self.nlev - 2
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if alt <= h[mid]:
                hi = mid - 1
            else:
                lo = mid
        lower, upper = h[lo], h[lo + 1]
        w = (upper - alt) / (upper - lower) if lower != upper else 0.5
        if w < 0:
            self.too_high += 1
        u = col[1, lo] * w + col[1, lo + 1] * (1 - w)
        v = col[2, lo] * w + col[2, lo + 1] * (1 - w)
        return float(u), float(v)


def density(alt):
    if alt > 25000:
        temp = -131.21 + 0.00299 * alt
        pressure = 2.488 * ((temp + 273.1) / 216.6) ** (-11.388)
    elif 11000 < alt <= 25000:
        temp = -56.46
        pressure = 22.65 * math.exp(1.73 - 0.000157 * alt)
    else:
        temp = 15.04 - 0.00649 * alt
        pressure = 101.29 * ((temp + 273.1) / 288.08) ** 5.256
    return pressure / (0.2869 * (temp + 273.1))


def make_model(winds, vertical):
    """vertical: ('ascent', rate) | ('descent', sea-level rate) | ('float', None)"""
    kind, rate = vertical
    drag = rate * 1.1045 if kind == "descent" else 0.0

    def f(t, lat, lon, alt):
        u, v = winds.wind(t, lat, lon, alt)
        r = EARTH_R + alt
        dlat = R2D * v / r
        dlon = R2D * u / (r * math.cos(lat * D2R))
        if kind == "ascent":
            dalt = rate
        elif kind == "descent":
            dalt = -drag / math.sqrt(density(alt))
        else:
            dalt = 0.0
        return dlat, dlon, dalt
    return f


def vecadd(y, k, d):
    return (y[0] + k * d[0], (y[1] + k * d[1]) % 360.0, y[2] + k * d[2])


def lnglerp(a, b, l):
    l2 = 1 - l
    if a > b:
        a, b = b, a
        l, l2 = l2, l
    if b - a < 180.0:
        return l2 * a + l * b
    return (l2 * (a + 360) + l * b) % 360.0


def rk4(t, y, f, done):
    out = [(t,) + y]
    while True:
        k1 = f(t, *y)
        k2 = f(t + DT / 2, *vecadd(y, DT / 2, k1))
        k3 = f(t + DT / 2, *vecadd(y, DT / 2, k2))
        k4 = f(t + DT, *vecadd(y, DT, k3))
        y2 = vecadd(y, DT / 6, k1)
        y2 = vecadd(y2, DT / 3, k2)
        y2 = vecadd(y2, DT / 3, k3)
        y2 = vecadd(y2, DT / 6, k4)
        t2 = t + DT
        if done(t2, *y2):
            break
        t, y = t2, y2
        out.append((t,) + y)
    left, right = 0.0, 1.0
    t3, y3 = t2, y2
    while right - left > TOLERANCE:
        mid = (left + right) / 2
        t3 = (1 - mid) * t + mid * t2
        y3 = ((1 - mid) * y[0] + mid * y2[0], lnglerp(y[1], y2[1], mid),
              (1 - mid) * y[2] + mid * y2[2])
        if done(t3, *y3):
            right = mid
        else:
            left = mid
    out.append((t3,) + y3)
    return out


def stages_for(case, winds):
    p = case["profile"]
    if p == "standard":
        burst, ground = case["burst_alt"], 0.0
        return [(make_model(winds, ("ascent", case["ascent_rate"])),
                 lambda t, la, lo, al: al >= burst),
                (make_model(winds, ("descent", case["descent_rate"])),
                 lambda t, la, lo, al: ground > al)]
    if p == "float":
        fl = case["float_alt"]
        stop = float_stop_time(case)
        return [(make_model(winds, ("ascent", case["ascent_rate"])),
                 lambda t, la, lo, al: al >= fl),
                (make_model(winds, ("float", None)), lambda t, la, lo, al: t > stop)]
    raise SystemExit("unknown profile %r" % p)


def float_stop_time(case):
    """Stop time of a float case: float_hours after reaching float_alt."""
    return (iso_to_unix(case["launch_time"])
            + (case["float_alt"] - case["launch_alt"]) / case["ascent_rate"]
            + case["float_hours"] * 3600.0)


def solve(case, winds):
    t = float(iso_to_unix(case["launch_time"]))
    y = (case["lat"], case["lon"] % 360.0, case["launch_alt"])
    result = []
    for f, done in stages_for(case, winds):
        stage = rk4(t, y, f, done)
        result.append(stage)
        t, y = stage[-1][0], stage[-1][1:]
    return result


# ---------------------------------------------------------------- output ----

def iso_to_unix(s):
    d = dt.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    return calendar.timegm(d.utctimetuple())


def unix_to_iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def haversine_m(lat1, lon1, lat2, lon2, r=6371008.8):
    p1, p2 = lat1 * D2R, lat2 * D2R
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * D2R / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def point(p):
    t, lat, lon, alt = p
    return {"lat": lat, "lon": lon if lon <= 180 else lon - 360.0, "lon_0_360": lon,
            "alt": alt, "time": unix_to_iso(t), "t_unix": t}


def summarise(tool, case, stages, warnings, timing=None, trajectory=False):
    pts = [p for s in stages for p in s]
    ground = sum(haversine_m(a[1], a[2], b[1], b[2]) for a, b in zip(pts, pts[1:]))
    out = {
        "tool": tool, "case": case["name"], "profile": case["profile"],
        "launch": {"lat": case["lat"], "lon": case["lon"], "alt": case["launch_alt"],
                   "time": case["launch_time"]},
        "settings": {k: case[k] for k in ("ascent_rate", "burst_alt", "descent_rate",
                                          "float_alt", "float_hours") if k in case},
        "phase_end": [point(s[-1]) for s in stages],
        "landing": point(stages[-1][-1]),
        "flight_time_s": stages[-1][-1][0] - stages[0][0][0],
        "trajectory": {"points": len(pts), "points_per_stage": [len(s) for s in stages],
                       "ground_track_km": ground / 1000.0,
                       "launch_to_landing_km": haversine_m(pts[0][1], pts[0][2],
                                                           pts[-1][1], pts[-1][2]) / 1000.0},
        "warnings": warnings,
    }
    if timing:
        out["timing"] = timing
    if trajectory:
        out["trajectory"]["path"] = [list(p) for p in pts]
    return out


def load_cases(path, names=None, extra=None):
    with open(path) as f:
        spec = json.load(f)
    cases = []
    for c in spec["cases"]:
        full = dict(spec["defaults"])
        full.update(c)
        cases.append(full)
    if extra:
        full = dict(spec["defaults"])
        full.update(extra)
        return [full]
    if names and names != ["all"]:
        want = set(names)
        cases = [c for c in cases if c["name"] in want]
        if len(cases) != len(want):
            raise SystemExit("unknown case in %s" % names)
    return cases


def case_args(ap):
    ap.add_argument("winds", help="wind cube .npz from grib_to_npy.py")
    ap.add_argument("--cases-file", default=os.path.join(HERE, "cases.json"))
    ap.add_argument("--case", action="append", help="case name from cases.json (repeatable; default all)")
    ap.add_argument("--lat", type=float, help="ad-hoc launch instead of cases.json")
    ap.add_argument("--lon", type=float)
    ap.add_argument("--profile", choices=("standard", "float"), default="standard")
    ap.add_argument("--launch-time")
    ap.add_argument("--ascent-rate", type=float)
    ap.add_argument("--burst-alt", type=float)
    ap.add_argument("--descent-rate", type=float)
    ap.add_argument("--repeat", type=int, default=1, help="time N predictions per case")
    ap.add_argument("--trajectory", action="store_true", help="include every point")


def cases_from(a):
    extra = None
    if a.lat is not None:
        extra = {"name": "adhoc", "lat": a.lat, "lon": a.lon, "profile": a.profile}
        for k in ("launch_time", "ascent_rate", "burst_alt", "descent_rate"):
            if getattr(a, k) is not None:
                extra[k] = getattr(a, k)
    return load_cases(a.cases_file, a.case, extra)


def timed(fn, repeat):
    """Run fn once untimed-warm, then `repeat` timed runs; returns (result, timing)."""
    res = fn()
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return res, {"runs": len(times), "min_ms": times[0] * 1e3,
                 "median_ms": times[len(times) // 2] * 1e3,
                 "mean_ms": sum(times) / len(times) * 1e3}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    case_args(ap)
    a = ap.parse_args()
    winds = Winds(a.winds)
    for case in cases_from(a):
        winds.too_high = 0
        stages, timing = timed(lambda: solve(case, winds), a.repeat)
        runs = timing["runs"] + 1
        warn = {"altitude_too_high": winds.too_high // runs} if winds.too_high else {}
        print(json.dumps(summarise("reference", case, stages, warn, timing, a.trajectory)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
