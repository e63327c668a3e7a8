#!/usr/bin/env python3
"""Decode a GFS GRIB2 file into a wind cube .npz for reference.py / run_tawhiri.py.

Reads geopotential height (gh), U and V on every isobaric level present in
all three variables, for ONE valid time, and writes

    levels_hpa  (L,)        float64  pressure, 1000 hPa first (height ascending)
    lat         (NLAT,)     float64  ascending, -90 .. 90
    lon         (NLON,)     float64  ascending from 0, step dlon (wraps at 360)
    hgt, u, v   (L, NLAT, NLON) float32  metres, m/s, m/s
    valid_time  str         ISO 8601 UTC of the field
    source      str         input file name and decoder

Arrays are float32 because Tawhiri's dataset is float32: both the reference and
Tawhiri then start from identical numbers.

Decoders (--decoder):
  eccodes        the ecCodes Python binding (`pip install eccodes`, which pulls
                 the binary `eccodeslib` wheel)  [default]
  grib_get_data  Debian's ecCodes command-line tools
                 (`apt-get install libeccodes-tools`), parsed as text
--cross-check decodes with both and reports the largest difference.

Usage: grib_to_npy.py GRIB2 OUT.npz [--decoder eccodes|grib_get_data] [--cross-check]
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys

import numpy as np

VARS = ("gh", "u", "v")


def _grid_checks(ni, nj, lat1, lon1, di, dj, iscan_neg, jscan_pos, jcons):
    if lat1 != (-90.0 if jscan_pos else 90.0):
        raise SystemExit("first latitude is %g, expected a pole matching the scan order" % lat1)
    if iscan_neg or jcons:
        raise SystemExit("unsupported scanning mode (iScansNegatively/jPointsAreConsecutive)")
    if abs(ni * di - 360.0) > 1e-6:
        raise SystemExit("grid does not cover 360 degrees of longitude: Ni=%d Di=%g" % (ni, di))
    if abs((nj - 1) * dj - 180.0) > 1e-6:
        raise SystemExit("grid does not cover -90..90 latitude: Nj=%d Dj=%g" % (nj, dj))
    if lon1 != 0.0:
        raise SystemExit("first longitude is %g, expected 0" % lon1)


def decode_eccodes(path):
    import eccodes

    fields = {}
    meta = None
    # U and V of this file are two fields of one GRIB2 message (sections 4-7
    # repeated): without multi-field support ecCodes returns only the first.
    eccodes.codes_grib_multi_support_on()
    with open(path, "rb") as f:
        while True:
            h = eccodes.codes_grib_new_from_file(f)
            if h is None:
                break
            try:
                if eccodes.codes_get(h, "typeOfLevel") != "isobaricInhPa":
                    continue
                sn = eccodes.codes_get(h, "shortName")
                if sn not in VARS:
                    continue
                lev = eccodes.codes_get(h, "level")
                ni = eccodes.codes_get(h, "Ni")
                nj = eccodes.codes_get(h, "Nj")
                m = dict(
                    ni=ni, nj=nj,
                    lat1=eccodes.codes_get_double(h, "latitudeOfFirstGridPointInDegrees"),
                    lon1=eccodes.codes_get_double(h, "longitudeOfFirstGridPointInDegrees"),
                    di=eccodes.codes_get_double(h, "iDirectionIncrementInDegrees"),
                    dj=eccodes.codes_get_double(h, "jDirectionIncrementInDegrees"),
                    jpos=eccodes.codes_get(h, "jScansPositively"),
                    ineg=eccodes.codes_get(h, "iScansNegatively"),
                    jcons=eccodes.codes_get(h, "jPointsAreConsecutive"),
                    valid="%08d%04d" % (eccodes.codes_get(h, "validityDate"),
                                        eccodes.codes_get(h, "validityTime")),
                )
                if meta is None:
                    meta = m
                elif m != meta:
                    raise SystemExit("messages differ in grid or valid time: %r vs %r" % (m, meta))
                vals = eccodes.codes_get_values(h).reshape(nj, ni)
                fields[(sn, lev)] = vals
            finally:
                eccodes.codes_release(h)
    if meta is None:
        raise SystemExit("no isobaric gh/u/v messages in %s" % path)
    return fields, meta


def decode_grib_get_data(path):
    """Decode with Debian's grib_get_data / grib_ls (text output)."""
    out = subprocess.run(
        ["grib_ls", "-p",
         "shortName,level,Ni,Nj,latitudeOfFirstGridPointInDegrees,"
         "longitudeOfFirstGridPointInDegrees,iDirectionIncrementInDegrees,"
         "jDirectionIncrementInDegrees,jScansPositively,iScansNegatively,"
         "jPointsAreConsecutive,validityDate,validityTime",
         "-w", "typeOfLevel=isobaricInhPa", path],
        check=True, capture_output=True, text=True).stdout
    fields, meta = {}, None
    for line in out.splitlines():
        p = line.split()
        if len(p) != 13 or p[0] not in VARS:
            continue
        sn, lev = p[0], int(p[1])
        m = dict(ni=int(p[2]), nj=int(p[3]), lat1=float(p[4]), lon1=float(p[5]),
                 di=float(p[6]), dj=float(p[7]), jpos=int(p[8]), ineg=int(p[9]),
                 jcons=int(p[10]), valid="%08d%04d" % (int(p[11]), int(p[12])))
        if meta is None:
            meta = m
        elif m != meta:
            raise SystemExit("messages differ in grid or valid time")
        txt = subprocess.run(
            ["grib_get_data", "-F", "%.10e", "-w",
             "typeOfLevel=isobaricInhPa,shortName=%s,level=%d" % (sn, lev), path],
            check=True, capture_output=True, text=True).stdout
        rows = [r.split() for r in txt.splitlines()[1:] if r.strip()]
        vals = np.array([float(r[2]) for r in rows])
        if vals.size != m["ni"] * m["nj"]:
            raise SystemExit("grib_get_data gave %d values for %s %d" % (vals.size, sn, lev))
        fields[(sn, lev)] = vals.reshape(m["nj"], m["ni"])
    if meta is None:
        raise SystemExit("no isobaric gh/u/v messages in %s" % path)
    return fields, meta


DECODERS = {"eccodes": decode_eccodes, "grib_get_data": decode_grib_get_data}


def to_cube(fields, meta):
    _grid_checks(meta["ni"], meta["nj"], meta["lat1"], meta["lon1"], meta["di"],
                 meta["dj"], meta["ineg"], meta["jpos"], meta["jcons"])
    levels = sorted({lev for (sn, lev) in fields if all((v, lev) in fields for v in VARS)},
                    reverse=True)  # 1000 hPa first: height ascending
    cube = {}
    for sn in VARS:
        a = np.stack([fields[(sn, lev)] for lev in levels])
        if not meta["jpos"]:  # stored north to south: flip to ascending latitude
            a = a[:, ::-1, :]
        cube[sn] = a
    nj, ni = meta["nj"], meta["ni"]
    lat = -90.0 + meta["dj"] * np.arange(nj)
    lon = meta["lon1"] + meta["di"] * np.arange(ni)
    v = meta["valid"]
    valid = dt.datetime(int(v[:4]), int(v[4:6]), int(v[6:8]), int(v[8:10]), int(v[10:12]),
                        tzinfo=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return np.array(levels, dtype=np.float64), lat, lon, cube, valid


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("grib")
    ap.add_argument("out")
    ap.add_argument("--decoder", choices=sorted(DECODERS), default="eccodes")
    ap.add_argument("--cross-check", action="store_true",
                    help="also decode with the other decoder and compare every value")
    a = ap.parse_args()

    fields, meta = DECODERS[a.decoder](a.grib)
    levels, lat, lon, cube, valid = to_cube(fields, meta)
    np.savez(a.out, levels_hpa=levels, lat=lat, lon=lon,
             hgt=cube["gh"].astype(np.float32), u=cube["u"].astype(np.float32),
             v=cube["v"].astype(np.float32), valid_time=np.array(valid),
             source=np.array("%s (decoder: %s)" % (os.path.basename(a.grib), a.decoder)))
    report = {"out": a.out, "decoder": a.decoder, "valid_time": valid,
              "levels_hpa": [int(x) for x in levels], "shape": list(cube["u"].shape),
              "grid_deg": [meta["dj"], meta["di"]]}
    # A few values a human can check against the GRIB (after the latitude flip).
    j = int(round((37.5 + 90.0) / meta["dj"]))
    i = int(round(127.5 / meta["di"]))
    k = list(levels).index(250) if 250 in levels else len(levels) // 2
    report["sample_37.5N_127.5E_%dhPa" % levels[k]] = {
        "gh": float(cube["gh"][k, j, i]), "u": float(cube["u"][k, j, i]),
        "v": float(cube["v"][k, j, i])}

    if a.cross_check:
        other = "grib_get_data" if a.decoder == "eccodes" else "eccodes"
        f2, m2 = DECODERS[other](a.grib)
        l2, _, _, c2, v2 = to_cube(f2, m2)
        assert list(l2) == list(levels) and v2 == valid
        diffs = {sn: float(np.max(np.abs(c2[sn] - cube[sn]))) for sn in VARS}
        report["cross_check"] = {"other_decoder": other, "max_abs_diff": diffs}
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
