#!/usr/bin/env python3
"""Coverage of baram's sanitizer against mat2 on the same fixtures.

Every fixture (crates/sanitize/src/fixtures, written by the write_fixtures
example) is cleaned by `baram sanitize clean` and by `mat2`. Then exiftool, an
independent reader, looks at each output:

  * planted: which of the planted strings survive (in the bytes or in what
    exiftool shows, which also decodes compressed text);
  * tags: identifying tags exiftool still shows (GPS, serials, make/model,
    authors, software, dates, comments, titles, XMP, thumbnails);
  * trailer: whether `exiftool -v3` sees data after the format's end, or
    the Red Star bytes are still there;
  * readable: whether the output is still a valid file (exiftool has no
    error and ffprobe reads media).

Usage: bench/mat2_coverage.py [--markdown]   (needs mat2, exiftool, ffprobe)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANTED = ["KimCheolsu", "PLANTED-SERIAL-4471", "PLANTED-LENS-0925",
           "Pyongyang Secret Camera", "planted comment", "planted-host"]
REDSTAR = ["WD-WCAV5R123456", "S2R6NX0H612345", "HITACHI-HTS5416"]
# Tags that identify a person, device, place, time or tool. Zeroed dates
# (0000:00:00 00:00:00) are not counted.
IDENT = re.compile(
    r"(GPS|Serial|Make$|Model|Artist|Author|Creator|Copyright(?!Flag)|Software|Comment|"
    r"DateTime|CreateDate|ModifyDate|DateCreated|Date/Time|Title|Encoder|Encoded|"
    r"HostComputer|Lens|Owner|By-line|Keywords|(?<!SampleGroup)Description|Caption|Thumbnail|"
    r"MuxingApp|WritingApp|Producer|LastModifiedBy|Company|Manager|Handler.*Name|"
    r"History|DocumentID|InstanceID|ToolName|Lyrics|Album|Band|Location)",
    re.I)
SKIP_GROUPS = ("[ExifTool]", "[System]", "[File]", "[Composite]")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)


def ident_tags(path):
    out = run(["exiftool", "-a", "-G1", "-u", "-s", path]).stdout
    tags = []
    for line in out.splitlines():
        if line.startswith(SKIP_GROUPS):
            continue
        m = re.match(r"\[(.*?)\]\s+(\S+)\s*:\s*(.*)", line)
        if not m:
            continue
        group, tag, value = m.groups()
        if not IDENT.search(tag):
            continue
        # Zeroed dates and the fixed 1980-01-01 00:00 a rebuilt ZIP must carry
        # (the DOS epoch) tell nothing.
        v = value.strip()
        if re.fullmatch(r"[0: ]*", v) or v in ("", "(none)") or v.startswith("1980:01:01 00:00:00"):
            continue
        tags.append(f"{group}:{tag}={v[:40]}")
    return sorted(set(tags))


def check(path):
    data = open(path, "rb").read()
    shown = run(["exiftool", "-a", "-G1", "-u", "-b", "-v3", path]).stdout
    planted = [p for p in PLANTED + REDSTAR if p.encode() in data or p in shown]
    v3 = run(["exiftool", "-v3", path]).stdout
    trailer = bool(re.search(r"trailer", v3, re.I)) or data.endswith(b"EOF")
    err = run(["exiftool", "-validate", "-error", "-warning", "-s", path]).stdout
    readable = "Error" not in err
    ext = path.rsplit(".", 1)[-1]
    if ext in ("mp3", "mp4", "avi", "mkv", "webm"):
        readable = readable and run(["ffprobe", "-v", "error", path]).returncode == 0 \
            and not run(["ffprobe", "-v", "error", path]).stderr.strip()
    return planted, ident_tags(path), trailer, readable


def make_real_files(fx):
    """Files written by real encoders (ffmpeg, then exiftool to plant tags),
    beside baram's hand-built fixtures, so neither tool is judged only on
    files one of them made."""
    meta = ["-metadata", "title=Pyongyang Secret Camera", "-metadata", "artist=KimCheolsu",
            "-metadata", "comment=planted comment", "-metadata", "encoded_by=planted-host"]
    src = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=2"]
    jobs = {
        "real.mp4": src + ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"] + meta,
        "real.mov": src + ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"] + meta,
        "real.mkv": src + ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"] + meta,
        "real.webm": src + ["-c:v", "libvpx", "-c:a", "libvorbis"] + meta,
        "real.avi": src + ["-c:v", "mpeg4", "-c:a", "libmp3lame"] + meta,
        "real.mp3": ["-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "libmp3lame"] + meta,
        "real.jpg": ["-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1"],
        "real.png": ["-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1"],
    }
    for name, args in jobs.items():
        out = os.path.join(fx, name)
        run(["ffmpeg", "-nostdin", "-v", "error", "-y"] + args + [out], check=True)
    for name in ("real.jpg", "real.png"):
        run(["exiftool", "-q", "-overwrite_original", "-Artist=KimCheolsu",
             "-SerialNumber=PLANTED-SERIAL-4471", "-LensSerialNumber=PLANTED-LENS-0925",
             "-Model=Pyongyang Secret Camera", "-Make=planted-host", "-UserComment=planted comment",
             "-GPSLatitude=39.0392", "-GPSLatitudeRef=N", "-GPSLongitude=125.7625",
             "-GPSLongitudeRef=E", "-DateTimeOriginal=2026:01:02 03:04:05",
             "-XMP-dc:Creator=KimCheolsu", os.path.join(fx, name)], check=True)


def main():
    md = "--markdown" in sys.argv
    for tool in ("mat2", "exiftool", "ffprobe"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install mat2 libimage-exiftool-perl ffmpeg")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "baram",
                    "-p", "baram-sanitize", "--examples", "--bins"], cwd=ROOT, check=True)
    baram = os.path.join(ROOT, "target/release/baram")
    work = tempfile.mkdtemp(prefix="baram-mat2-")
    fx = os.path.join(work, "fixtures")
    subprocess.run([os.path.join(ROOT, "target/release/examples/write_fixtures"), fx],
                   check=True, capture_output=True)
    make_real_files(fx)
    names = sorted(os.listdir(fx))
    rows = []
    totals = {"baram": [0, 0, 0, 0, 0], "mat2": [0, 0, 0, 0, 0]}
    for name in names:
        src = os.path.join(fx, name)
        before = check(src)
        # baram
        bdir = os.path.join(work, "baram")
        os.makedirs(bdir, exist_ok=True)
        r = run([baram, "-q", "sanitize", "clean", src, "-o", bdir])
        bres = ("refused: " + r.stderr.strip()) if r.returncode else check(os.path.join(bdir, name))
        # mat2 (writes NAME.cleaned.EXT beside a copy)
        mdir = os.path.join(work, "mat2")
        os.makedirs(mdir, exist_ok=True)
        shutil.copy(src, os.path.join(mdir, name))
        r = run(["mat2", os.path.join(mdir, name)])
        stem, ext = name.rsplit(".", 1)
        mout = os.path.join(mdir, f"{stem}.cleaned.{ext}")
        mres = check(mout) if os.path.exists(mout) and r.returncode == 0 else \
            "failed: " + (r.stderr.strip().splitlines() or ["no output"])[-1][:90]
        rows.append((name, before, bres, mres))
        for tool, res in (("baram", bres), ("mat2", mres)):
            t = totals[tool]
            if isinstance(res, str):
                t[4] += 1
            else:
                t[0] += len(res[0])
                t[1] += len(res[1])
                t[2] += res[2]
                t[3] += not res[3]

    def fmt(res):
        if isinstance(res, str):
            return res
        planted, tags, trailer, readable = res
        parts = []
        if planted:
            parts.append("planted: " + ", ".join(planted))
        if tags:
            parts.append("tags: " + ", ".join(tags))
        if trailer:
            parts.append("TRAILER")
        if not readable:
            parts.append("UNREADABLE")
        return "; ".join(parts) or "clean"

    if md:
        print("| fixture | before (tags) | baram | mat2 |")
        print("|---|---|---|---|")
        for name, before, b, m in rows:
            print(f"| {name} | {len(before[1])} tags, {len(before[0])} planted"
                  f"{', trailer' if before[2] else ''} | {fmt(b)} | {fmt(m)} |")
    else:
        for name, before, b, m in rows:
            print(f"{name}: before {len(before[1])} identifying tags, {len(before[0])} planted strings"
                  f"{', trailer' if before[2] else ''}")
            print(f"    baram: {fmt(b)}")
            print(f"    mat2:  {fmt(m)}")
    print()
    for tool, t in totals.items():
        print(f"{tool}: {t[0]} planted strings left, {t[1]} identifying tags left, "
              f"{t[2]} trailers left, {t[3]} unreadable outputs, {t[4]} files refused/failed "
              f"(of {len(rows)})")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
