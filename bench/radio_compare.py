#!/usr/bin/env python3
"""Ours against codec2 from the JSON lines of bench/radio_curve.sh (ours,
and codec2's when CODEC2_BUILD was set): at each SNR and channel, the best
goodput of any mode whose frame error rate is at most 10%... and of any mode
at all (goodput already counts lost frames), both sides, and the ratio; then,
per mode on AWGN, the SNR where FER first reaches 10% or less against the
Shannon SNR for its goodput.

    python3 bench/radio_compare.py radio-curve.jsonl [codec2.jsonl]
"""
import json
import math
import sys

rows = []
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))

ours = [r for r in rows if r.get("peer", "baram") == "baram"]
peer = [r for r in rows if r.get("peer") == "codec2"]


def best(rs, profile, snr):
    c = [r for r in rs if r["profile"] == profile and abs(r["snr_db"] - snr) < 1e-9]
    if not c:
        return None, None
    b = max(c, key=lambda r: r["goodput_bps"])
    return b["goodput_bps"], b["mode"]


snrs = sorted({r["snr_db"] for r in ours})
for profile in ("awgn", "poor"):
    print(f"\n{profile}: best goodput (b/s) at each SNR in 3 kHz")
    print(f"{'SNR':>5} {'baram':>9} {'mode':>7} {'codec2':>9} {'mode':>8} {'ratio':>7} {'Shannon':>8}")
    for s in snrs:
        g, m = best(ours, profile, s)
        pg, pm = best(peer, profile, s)
        shannon = 3000 * math.log2(1 + 10 ** (s / 10))
        if pg:
            ratio = f"{g / pg:7.2f}"
        elif peer:
            ratio = "    inf" if g else "      -"
        else:
            ratio = "      ?"
        print(f"{s:5.1f} {g or 0:9.1f} {m or '-':>7} {pg or 0:9.1f} {pm or '-':>8} {ratio} {shannon:8.0f}")

print("\nAWGN: first SNR with FER <= 10%, against Shannon for that goodput")
for mode in sorted({r["mode"] for r in ours}):
    c = sorted((r for r in ours if r["mode"] == mode and r["profile"] == "awgn"), key=lambda r: r["snr_db"])
    ok = [r for r in c if r["fer"] <= 0.1]
    if not ok:
        print(f"{mode:>7}: never")
        continue
    r = ok[0]
    need = 10 * math.log10(2 ** (r["goodput_bps"] / 3000) - 1)
    print(f"{mode:>7}: {r['goodput_bps']:7.1f} b/s at {r['snr_db']:+.1f} dB; Shannon needs {need:+.1f} dB: {r['snr_db'] - need:.1f} dB away")
