#!/usr/bin/env bash
# OCR throughput of the vault (tesseract in the bubblewrap sandbox, text and
# TSV outputs, OMP_THREAD_LIMIT=1, pages in parallel one per core) against
# bare tesseract on the same pages and cores
# (`tesseract page.png - -l kor+eng --psm 6` under `xargs -P $(nproc)`).
# Prints ours, peer and the ratio; the goal is ours within 10% of bare.
# Usage: bench/vault_ocr.sh [PAGES]   (default 16 pages of Korean text)
# Needs: soffice, pdftoppm, tesseract-ocr-kor, bwrap. Run by hand, not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-16}
work=$(mktemp -d /dev/shm/baram-bench-ocr.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build -q --release -p baram-vault --example ocr_pages
bin=${CARGO_TARGET_DIR:-target}/release/examples/ocr_pages

# Korean pages: HTML -> PDF with LibreOffice -> PNG at 150 dpi.
python3 - "$work/doc.html" "$pages" <<'PY'
import sys
lines = ["평양 시내 배급소 앞에 사람들이 줄을 서 있다",
         "인민위원회는 다음 달부터 전기 공급을 줄인다고 발표하였다",
         "국경 경비대의 검문이 강화되어 장마당 상인들이 걱정한다",
         "The report was carried out in March 2024"]
body = []
for p in range(int(sys.argv[2])):
    style = "page-break-before:always;" if p else ""
    paras = "".join(f'<p style="font-family:NanumGothic;font-size:12pt">{lines[(p + i) % 4]} ({p + 1}-{i + 1})</p>' for i in range(28))
    body.append(f'<div style="{style}">{paras}</div>')
open(sys.argv[1], "w").write('<html><head><meta charset="utf-8"></head><body>' + "".join(body) + "</body></html>")
PY
HOME=$work soffice --headless --norestore "-env:UserInstallation=file://$work/lo" \
  "--infilter=HTML (StarWriter)" --convert-to pdf --outdir "$work" "$work/doc.html" >/dev/null 2>&1
pdftoppm -r 150 -png "$work/doc.pdf" "$work/page"
n=$(ls "$work"/page-*.png | wc -l)
cores=$(nproc)

# Warm the page cache for both (tessdata, binaries).
OMP_THREAD_LIMIT=1 tesseract "$(ls "$work"/page-*.png | head -1)" - -l kor+eng --psm 6 >/dev/null 2>&1

start=$(date +%s.%N)
ls "$work"/page-*.png | OMP_THREAD_LIMIT=1 xargs -P "$cores" -I{} \
  tesseract {} - -l kor+eng --psm 6 >/dev/null 2>&1
end=$(date +%s.%N)
peer=$(echo "$end - $start" | bc -l)

ours_line=$("$bin" "$work"/page-*.png)
ours=${ours_line%% s *}

printf 'pages: %d, cores: %d\n' "$n" "$cores"
printf 'ours (sandboxed, txt+tsv): %.2f s  (%.2f pages/s)\n' "$ours" "$(echo "$n / $ours" | bc -l)"
printf 'peer (bare tesseract):     %.2f s  (%.2f pages/s)\n' "$peer" "$(echo "$n / $peer" | bc -l)"
printf 'ratio ours/peer: %.3f (goal <= 1.10)\n' "$(echo "$ours / $peer" | bc -l)"
