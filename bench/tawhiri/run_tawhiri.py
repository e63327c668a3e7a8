#!/usr/bin/env python3
"""Run the real Tawhiri predictor on the bench cases and print the same JSON
as reference.py (one object per case, "tool": "tawhiri").

Tawhiri is NOT part of this repository (GPL-3.0; see README.md for how to
obtain and build it).  Point this script at it with either
  TAWHIRI_SRC=/path/to/tawhiri-checkout   (a copy built with
                                           `python setup.py build_ext --inplace`)
or by having the `tawhiri` package importable (e.g. a venv where the PyPI
sdist was installed).  `magicmemoryview` must be importable too.

What it does:
1. Writes a Tawhiri wind dataset (the memory-mapped float32 array of shape
   (65 hours, 47 levels, 3 vars, 361 lat, 720 lon) = 9.5 GB, created sparse by
   Tawhiri's own `Dataset(..., new=True)`) from the wind cube .npz, holding the
   one valid time steady: every filled hour slot gets the same field.
   Only hour slots 0..--hours are written (default 12 h, ~0.7 GB on disk);
   the script refuses a prediction that reaches past them.
   The cube's grid is mapped onto Tawhiri's exactly, so that Tawhiri's
   interpolation of the dataset equals the reference's interpolation of the
   cube (up to float32 rounding of the written values):
   * 2.5 deg -> 0.5 deg: each 0.5 deg node gets the bilinear value of its
     2.5 deg cell.  Bilinear interpolation on the fine grid reproduces the
     coarse bilinear interpolant exactly (every fine cell lies inside one
     coarse cell, and bilinear interpolation is exact for bilinear functions).
   * 26 -> 47 levels: a Tawhiri level the GRIB lacks gets (height, u, v) on the
     straight line between its neighbouring GRIB levels (weight by log
     pressure; any weight would do), and the levels above 10 hPa (7..1 hPa)
     on the extension of the 20->10 hPa line.  Tawhiri's piecewise-linear
     interpolation in height, and its linear extrapolation above the top,
     then give exactly what the reference computes from the 26 levels.
     (Side effect: Tawhiri's "altitude_too_high" warning fires only above
     the synthetic 1 hPa level, not above 10 hPa; the reference counts
     against 10 hPa.)
2. Calls tawhiri.models.standard_profile / float_profile and
   tawhiri.solver.solve directly (not the Flask API), with the ground at 0 m
   (a stand-in for the ruaumoko elevation dataset whose get() returns 0).
3. Times N repeated predictions (after one warm-up run that faults in the
   mmap pages).

Usage: run_tawhiri.py WINDS.npz [--dataset-dir DIR] [--hours H] [--case NAME] [--repeat N]
"""
import argparse
import calendar
import datetime as dt
import hashlib
import importlib
import inspect
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as ref  # noqa: E402  (our own code: cases, JSON summary, timing)


def import_tawhiri():
    src = os.environ.get("TAWHIRI_SRC")
    if src:
        sys.path.insert(0, os.path.abspath(src))
    try:
        mods = {m: importlib.import_module("tawhiri." + m) for m in ("models", "solver", "dataset")}
    except ImportError as e:
        raise SystemExit("cannot import Tawhiri (%s). Set TAWHIRI_SRC to a built copy, "
                         "or install it; see bench/tawhiri/README.md" % e)
    try:
        mods["warnings"] = importlib.import_module("tawhiri.warnings")
    except ImportError:  # Tawhiri 0.2.0 (PyPI) has no WarningCounts
        mods["warnings"] = None
    import tawhiri
    mods["version"] = getattr(tawhiri, "__version__", "?")
    mods["path"] = os.path.dirname(tawhiri.__file__)
    return mods


def level_map(cube_levels, tawhiri_levels):
    """For each Tawhiri pressure: (a, b, w) meaning (1-w)*cube[a] + w*cube[b]."""
    cl = list(cube_levels)  # 1000 hPa first, decreasing pressure
    out = []
    for p in tawhiri_levels:
        if p in cl:
            k = cl.index(p)
            out.append((k, k, 0.0))
            continue
        if p > cl[0]:
            raise SystemExit("Tawhiri level %s hPa below the cube's lowest level" % p)
        if p < cl[-1]:
            a, b = len(cl) - 2, len(cl) - 1  # extend the top segment
        else:
            b = next(k for k, q in enumerate(cl) if q < p)
            a = b - 1
        w = math.log(cl[a] / p) / math.log(cl[a] / cl[b])
        out.append((a, b, w))
    return out


def upsample_matrix(n_coarse, factor, n_fine, wrap):
    """Rows of the bilinear weights taking a coarse axis to a fine one."""
    m = np.zeros((n_fine, n_coarse))
    for k in range(n_fine):
        i, r = divmod(k, factor)
        f = r / factor
        if wrap:
            m[k, i % n_coarse] += 1 - f
            m[k, (i + 1) % n_coarse] += f
        else:
            m[k, i] += 1 - f
            if f:
                m[k, i + 1] += f
    return m


def build_field(npz, ds_cls):
    """The (47, 3, 361, 720) float32 field for one hour slot."""
    d = np.load(npz)
    lat, lon = d["lat"], d["lon"]
    axes = ds_cls.axes
    t_lat, t_lon = np.array(axes.latitude), np.array(axes.longitude)
    step_lat, step_lon = lat[1] - lat[0], lon[1] - lon[0]
    f_lat = int(round(step_lat / (t_lat[1] - t_lat[0])))
    f_lon = int(round(step_lon / (t_lon[1] - t_lon[0])))
    if (lat[0] != t_lat[0] or lon[0] != t_lon[0] or
            abs(f_lat * (t_lat[1] - t_lat[0]) - step_lat) > 1e-9 or
            abs(f_lon * (t_lon[1] - t_lon[0]) - step_lon) > 1e-9):
        raise SystemExit("cube grid is not a whole multiple of Tawhiri's 0.5 deg grid")
    mlat = upsample_matrix(len(lat), f_lat, len(t_lat), wrap=False)
    mlon = upsample_matrix(len(lon), f_lon, len(t_lon), wrap=True)
    lm = level_map(d["levels_hpa"], axes.pressure)
    names = {"height": "hgt", "wind_u": "u", "wind_v": "v"}
    field = np.empty((len(axes.pressure), len(axes.variable), len(t_lat), len(t_lon)), np.float32)
    for vi, var in enumerate(axes.variable):
        c = d[names[var]].astype(np.float64)
        for li, (a, b, w) in enumerate(lm):
            g = c[a] if a == b else (1 - w) * c[a] + w * c[b]
            field[li, vi] = mlat @ g @ mlon.T
    return field, lm


class GroundAtZero:
    """Stands in for ruaumoko.Dataset: the ground is at 0 m everywhere."""
    def get(self, lat, lng):
        return 0.0


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_dataset(tw, npz, directory, hours, rebuild):
    Dataset = tw["dataset"].Dataset
    valid = str(np.load(npz)["valid_time"])
    ds_time = dt.datetime.strptime(valid, "%Y-%m-%dT%H:%M:%SZ")
    os.makedirs(directory, exist_ok=True)
    fn = Dataset.filename(ds_time, directory=directory)
    stamp_fn = fn + ".bench.json"
    stamp = {"npz_sha256": sha256(npz), "hours_filled": hours}
    if not rebuild and os.path.exists(fn) and os.path.exists(stamp_fn):
        with open(stamp_fn) as f:
            if json.load(f) == stamp:
                return ds_time, fn, False
    if os.path.exists(stamp_fn):
        os.remove(stamp_fn)
    field, _ = build_field(npz, Dataset)
    ds = Dataset(ds_time, directory=directory, new=True)
    arr = np.frombuffer(ds.array, dtype=np.float32).reshape(Dataset.shape)
    slots = [k for k, h in enumerate(Dataset.axes.hour) if h <= hours]
    for k in slots:
        arr[k] = field
    ds.array.flush()
    del arr
    ds.close()
    with open(stamp_fn, "w") as f:
        json.dump(stamp, f)
    return ds_time, fn, True


def tawhiri_solve(tw, ds, case):
    models, solver = tw["models"], tw["solver"]
    wc = tw["warnings"].WarningCounts() if tw["warnings"] else None
    extra = (wc,) if wc is not None else ()
    t0 = float(ref.iso_to_unix(case["launch_time"]))
    if case["profile"] == "standard":
        stages = models.standard_profile(case["ascent_rate"], case["burst_alt"], case["descent_rate"],
                                         ds, GroundAtZero(), *extra)
    else:
        stages = models.float_profile(case["ascent_rate"], case["float_alt"],
                                      ref.float_stop_time(case), ds, *extra)
    res = solver.solve(t0, case["lat"], case["lon"] % 360.0, case["launch_alt"], stages)
    warn = {}
    if wc is not None and wc.altitude_too_high:
        warn["altitude_too_high"] = wc.altitude_too_high
    return res, warn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ref.case_args(ap)
    ap.add_argument("--dataset-dir", default=os.environ.get("TAWHIRI_DATASET_DIR", "/tmp/baram-bench-tawhiri/ds"),
                    help="where the 9.5 GB (sparse) Tawhiri dataset file is written; default "
                         "$TAWHIRI_DATASET_DIR or /tmp/baram-bench-tawhiri/ds")
    ap.add_argument("--hours", type=int, default=12, help="fill hour slots 0..H (steady field)")
    ap.add_argument("--rebuild", action="store_true")
    a = ap.parse_args()

    tw = import_tawhiri()
    ds_time, fn, built = ensure_dataset(tw, a.winds, a.dataset_dir, a.hours, a.rebuild)
    print("tawhiri %s from %s; dataset %s (%s, hours 0..%d filled)" %
          (tw["version"], tw["path"], fn, "written" if built else "reused", a.hours), file=sys.stderr)
    ds = tw["dataset"].Dataset(ds_time, directory=a.dataset_dir)
    # Tawhiri interpolates between the hour slots either side of t: the last
    # filled slot must lie beyond the end of every flight.
    last_slot_h = max(h for h in tw["dataset"].Dataset.axes.hour if h <= a.hours)
    limit = calendar.timegm(ds_time.timetuple()) + last_slot_h * 3600.0
    for case in ref.cases_from(a):
        (stages, warn), timing = ref.timed(lambda: tawhiri_solve(tw, ds, case), a.repeat)
        if stages[-1][-1][0] >= limit:
            raise SystemExit("%s: flight ends past the filled hour slots; raise --hours" % case["name"])
        out = ref.summarise("tawhiri", case, stages, warn, timing, a.trajectory)
        out["tawhiri"] = {"version": tw["version"], "path": tw["path"]}
        print(json.dumps(out))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
