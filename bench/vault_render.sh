#!/usr/bin/env bash
# Document rendering speed of the vault against Dangerzone's converter
# (`dangerzone-insecure-conversion`, PyPI), on the same documents, same
# machine, one run.
#
# Ours: examples/render_bench = `render::render_document` per document, one
# after another as `vault process` does, each step in a bubblewrap sandbox:
# LibreOffice -> PDF (not for PDFs), pdftotext for the text layer, pdftoppm
# 150 dpi per page (pages in parallel, one per core), tesseract kor+eng on a
# page only when it has no text layer, then our rebuilt PDF of page images
# with an invisible text layer, checked by the sanitizer.
#
# Peer: what Dangerzone runs per document, unsandboxed ("insecure" = without
# the gVisor container it is meant to run in): `python3 -m
# dangerzone_insecure_conversion.doc_to_pixels` (document on stdin;
# LibreOffice --safe-mode -> PDF for office files, PyMuPDF renders every page
# at 150 dpi to raw RGB on stdout), then, as Dangerzone's host side does (that
# part is in dangerzone itself, not in the PyPI package, so the driver below
# does the same PyMuPDF calls): each page's pixels -> a PDF page, with OCR
# (PyMuPDF's `pdfocr_tobytes`, MuPDF's built-in tesseract, every page) when a
# language is given, else image only; pages joined and saved. One document at
# a time (Dangerzone's `get_max_parallel_conversions` is 1), pixels streamed
# while the converter renders, as Dangerzone reads them.
#
# Documents (made here, the same files for both): N DOCX, N ODT and N PDFs
# with a Korean text layer (LibreOffice from HTML), and N image-only PDFs
# ("scans": the same pages rendered at 150 dpi gray, no text layer), P pages
# each. Cases:
#   text:  ours (text layer kept, no OCR)     vs dangerzone without OCR (no
#          text in its output) and dangerzone with OCR (searchable, like ours)
#   scans: ours (tesseract on every page)     vs dangerzone with OCR
# Ours is also run with one thread (Dangerzone renders and OCRs on one core).
#
# Install the peer (outside the repository):
#   python3 -m venv /work/peers/dzvenv
#   /work/peers/dzvenv/bin/pip install dangerzone-insecure-conversion
#   (pulls PyMuPDF and python-magic; needs libmagic1, libreoffice,
#   tesseract-ocr-kor for the tessdata folder)
#
# Usage: DANGERZONE=/work/peers/dzvenv/bin/python bench/vault_render.sh [N] [P]
#   N documents per format (default 3), P pages each (default 3).
#   DZ_OCR_LANG (default kor+eng, ours' languages), TESSDATA (default
#   /usr/share/tesseract-ocr/5/tessdata).
# Needs: soffice, poppler-utils, tesseract-ocr-kor, bwrap, fonts-nanum. Run by
# hand, not in CI. The peer writes /tmp/input_file and /tmp/input_file.pdf
# (fixed names in its code): do not run two of these at once.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
p=${2:-3}
dz=${DANGERZONE:?set DANGERZONE to the python of a venv with dangerzone-insecure-conversion (see the header)}
lang=${DZ_OCR_LANG:-kor+eng}
tessdata=${TESSDATA:-/usr/share/tesseract-ocr/5/tessdata}
"$dz" -c 'import dangerzone_insecure_conversion.doc_to_pixels' 2>/dev/null ||
  { echo "$dz cannot import dangerzone_insecure_conversion.doc_to_pixels" >&2; exit 1; }
for f in /tmp/input_file /tmp/input_file.pdf; do
  [ -e "$f" ] && { echo "$f exists: another dangerzone-insecure-conversion run?" >&2; exit 1; }
done
work=$(mktemp -d /dev/shm/baram-bench-render.XXXXXX)
trap 'rm -rf "$work" /tmp/input_file /tmp/input_file.pdf' EXIT
cargo build -q --release -p baram-vault --example render_bench
ours=${CARGO_TARGET_DIR:-target}/release/examples/render_bench

echo "load before: $(uptime)"
mkdir -p "$work/src" "$work/text" "$work/scans" "$work/home" "$work/lo"
# N HTML documents of P pages of Korean text (different lines per document).
python3 - "$work/src" "$n" "$p" <<'PY'
import sys
lines = ["평양 시내 배급소 앞에 사람들이 줄을 서 있다",
         "인민위원회는 다음 달부터 전기 공급을 줄인다고 발표하였다",
         "국경 경비대의 검문이 강화되어 장마당 상인들이 걱정한다",
         "함흥의 공장 노동자들은 석 달째 배급을 받지 못했다",
         "The report was carried out in March 2024"]
out, n, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(1, n + 1):
    body = []
    for p in range(pages):
        style = "page-break-before:always;" if p else ""
        paras = "".join(f'<p style="font-family:NanumGothic;font-size:12pt">{lines[(d + p + i) % len(lines)]} ({d}-{p + 1}-{i + 1})</p>' for i in range(28))
        body.append(f'<div style="{style}">{paras}</div>')
    open(f"{out}/d{d}.html", "w").write('<html><head><meta charset="utf-8"></head><body>' + "".join(body) + "</body></html>")
PY
lo() { HOME=$work/home soffice --headless --norestore "-env:UserInstallation=file://$work/lo" \
  "--infilter=HTML (StarWriter)" --convert-to "$1" --outdir "$2" "$work"/src/*.html >/dev/null 2>&1; }
lo 'docx:MS Word 2007 XML' "$work/text"
lo odt "$work/text"
lo pdf "$work/text"
# Scans: each text PDF's pages at 150 dpi gray, as an image-only PDF.
for f in "$work"/text/*.pdf; do
  b=$(basename "$f" .pdf)
  pdftoppm -r 150 -gray "$f" "$work/src/$b-p"
  python3 - "$work/scans/scan-$b.pdf" "$work/src/$b"-p*.pgm <<'PY'
import sys, zlib
def pgm(path):
    data = open(path, "rb").read()
    tok, i = [], 0
    while len(tok) < 4:
        while data[i:i + 1].isspace(): i += 1
        j = i
        while not data[j:j + 1].isspace(): j += 1
        tok.append(data[i:j]); i = j
    assert tok[0] == b"P5" and tok[3] == b"255"
    return int(tok[1]), int(tok[2]), data[i + 1:]
objs = {}
pages = sys.argv[2:]
kids = []
for k, path in enumerate(pages):
    w, h, px = pgm(path)
    pid, iid, cid = 3 + 3 * k, 4 + 3 * k, 5 + 3 * k
    kids.append(pid)
    W, H = w * 72 / 150, h * 72 / 150
    objs[pid] = f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {W:.2f} {H:.2f}] /Resources << /XObject << /Im0 {iid} 0 R >> >> /Contents {cid} 0 R >>".encode()
    z = zlib.compress(px, 6)
    objs[iid] = f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length {len(z)} >>\nstream\n".encode() + z + b"\nendstream"
    c = f"q {W:.2f} 0 0 {H:.2f} 0 0 cm /Im0 Do Q".encode()
    objs[cid] = f"<< /Length {len(c)} >>\nstream\n".encode() + c + b"\nendstream"
objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
objs[2] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
out = bytearray(b"%PDF-1.4\n")
offs = {}
for k in sorted(objs):
    offs[k] = len(out)
    out += f"{k} 0 obj\n".encode() + objs[k] + b"\nendobj\n"
x = len(out)
out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
out += b"".join(f"{offs[k]:010d} 00000 n \n".encode() for k in sorted(objs))
out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n".encode()
open(sys.argv[1], "wb").write(out)
PY
done
rm -f "$work"/src/*.pgm
text_docs=("$work"/text/*)
scan_docs=("$work"/scans/*)
text_pages=$(( ${#text_docs[@]} * p ))
scan_pages=$(( ${#scan_docs[@]} * p ))

# The peer's driver: Dangerzone's per-document steps (see the header).
cat >"$work/dz_drive.py" <<'PY'
import os, subprocess, sys, time
os.environ["PYMUPDF_MESSAGE"] = "fd:2"
import pymupdf
lang, tessdata, outdir, home = sys.argv[1:5]
files = sys.argv[5:]
def need(f, k):
    b = f.read(k)
    if len(b) != k:
        sys.exit("dz_drive: the converter's output ended early")
    return b
def num(f):
    return int.from_bytes(need(f, 2), "big")
env = dict(os.environ, HOME=home)
t0 = time.monotonic()
pages = 0
for path in files:
    with open(path, "rb") as src:
        proc = subprocess.Popen([sys.executable, "-m", "dangerzone_insecure_conversion.doc_to_pixels"],
                                stdin=src, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    safe = pymupdf.Document()
    for _ in range(num(proc.stdout)):
        w, h = num(proc.stdout), num(proc.stdout)
        pix = pymupdf.Pixmap(pymupdf.Colorspace(pymupdf.CS_RGB), w, h, need(proc.stdout, w * h * 3), False)
        pix.set_dpi(150, 150)
        if lang != "none":
            page = pix.pdfocr_tobytes(compress=True, language=lang, tessdata=tessdata)
        else:
            one = pymupdf.Document()
            one.insert_file(pix)
            page = one.tobytes(deflate_images=True)
        safe.insert_pdf(pymupdf.open("pdf", page))
        pages += 1
    if proc.wait() != 0:
        sys.exit(f"dz_drive: {path}: doc_to_pixels exited with {proc.returncode}")
    safe.save(os.path.join(outdir, os.path.basename(path) + ".pdf"))
    for f in ("/tmp/input_file", "/tmp/input_file.pdf"):
        if os.path.exists(f):
            os.remove(f)
print(f"{time.monotonic() - t0:.3f} s for {len(files)} documents, {pages} pages")
PY

# Hangul syllables in a tool's output PDFs (is the text there, searchable?).
count() { python3 -c 'import sys; print(sum(0xAC00 <= ord(c) <= 0xD7A3 for c in sys.stdin.buffer.read().decode()))'; }
hangul() { for f in "$1"/*.pdf; do pdftotext -enc UTF-8 "$f" -; done | count; }
expected=$(for f in "${text_docs[@]}"; do case $f in *.pdf) pdftotext -enc UTF-8 "$f" -;; esac; done | count)

run_ours() { # name threads docs...
  local name=$1 threads=$2; shift 2
  mkdir -p "$work/out/$name"
  local line; line=$("$ours" --threads "$threads" --out "$work/out/$name" "$@")
  echo "${line%% s *}" >"$work/t.$name"
  echo "  $name: $line, $(hangul "$work/out/$name") hangul in output" >&2
}
run_dz() { # name lang docs...
  local name=$1 l=$2; shift 2
  mkdir -p "$work/out/$name"
  local line; line=$("$dz" "$work/dz_drive.py" "$l" "$tessdata" "$work/out/$name" "$work/home" "$@")
  echo "${line%% s *}" >"$work/t.$name"
  echo "  $name: $line, $(hangul "$work/out/$name") hangul in output" >&2
}
t() { cat "$work/t.$1"; }

# Warm up both (binaries, fonts, tessdata, LibreOffice's first start).
"$ours" "${text_docs[0]}" >/dev/null
"$dz" "$work/dz_drive.py" none "$tessdata" "$work" "$work/home" "${text_docs[0]}" >/dev/null
cores=$(nproc)
echo "documents: ${#text_docs[@]} with a text layer (DOCX, ODT, PDF; $text_pages pages), ${#scan_docs[@]} scans ($scan_pages pages); $p pages each; $cores cores"
echo "($expected hangul syllables in the PDFs' text layers, so $((expected * 3)) expected per text run; ours and dangerzone both 150 dpi)" >&2
run_ours ours-text "$cores" "${text_docs[@]}"
run_ours ours-text-1 1 "${text_docs[@]}"
run_dz dz-text none "${text_docs[@]}"
run_dz dz-text-ocr "$lang" "${text_docs[@]}"
run_ours ours-scans "$cores" "${scan_docs[@]}"
run_ours ours-scans-1 1 "${scan_docs[@]}"
run_dz dz-scans-ocr "$lang" "${scan_docs[@]}"
echo "load after: $(uptime)"

row() { # label pages seconds
  printf '%-52s %7.2f s  (%.2f pages/s)\n' "$1" "$3" "$(echo "$2 / $3" | bc -l)"
}
ratio() { printf 'ratio %s: %.2f\n' "$1" "$(echo "$3 / $2" | bc -l)"; }
echo "text layer ($text_pages pages):"
row "ours (sandboxed, text layer, no OCR, $cores threads)" "$text_pages" "$(t ours-text)"
row "ours (same, 1 thread)" "$text_pages" "$(t ours-text-1)"
row "dangerzone (unsandboxed, no OCR, no text)" "$text_pages" "$(t dz-text)"
row "dangerzone (unsandboxed, OCR $lang)" "$text_pages" "$(t dz-text-ocr)"
ratio "dangerzone no OCR / ours" "$(t ours-text)" "$(t dz-text)"
ratio "dangerzone OCR / ours" "$(t ours-text)" "$(t dz-text-ocr)"
echo "scans ($scan_pages pages, no text layer):"
row "ours (sandboxed, OCR kor+eng, $cores threads)" "$scan_pages" "$(t ours-scans)"
row "ours (same, 1 thread)" "$scan_pages" "$(t ours-scans-1)"
row "dangerzone (unsandboxed, OCR $lang)" "$scan_pages" "$(t dz-scans-ocr)"
ratio "dangerzone OCR / ours" "$(t ours-scans)" "$(t dz-scans-ocr)"
ratio "dangerzone OCR / ours 1 thread" "$(t ours-scans-1)" "$(t dz-scans-ocr)"
echo "ours $(t ours-text) s, dangerzone $(t dz-text) s, ratio $(printf %.2f "$(echo "$(t dz-text) / $(t ours-text)" | bc -l)") (text, dangerzone without OCR)"
echo "ours $(t ours-scans) s, dangerzone $(t dz-scans-ocr) s, ratio $(printf %.2f "$(echo "$(t dz-scans-ocr) / $(t ours-scans)" | bc -l)") (scans, both OCR)"
