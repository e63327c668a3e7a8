#!/bin/sh
# Which recording formats carry the signal: frames of robust, steady, normal
# and fast through AWGN at each SNR, encoded by ffmpeg as phones and pocket
# recorders do (MP3, AAC, Opus, Vorbis, GSM at several rates), read back by
# `baram radio decode`'s reader and decoded. Prints a table: frames decoded
# of FRAMES, per mode and SNR (rows) and format (columns). No peer: the
# uncompressed WAV column is the reference.
#
#   FRAMES=4 SNRS="-4 0 4 8" sh bench/radio_codecs.sh
set -eu
cd "$(dirname "$0")/.."
FRAMES=${FRAMES:-4}
SNRS=${SNRS:-"-4 0 4 8"}
cargo build --release -q -p baram-radio --example radio_codecs
target/release/examples/radio_codecs "$FRAMES" $SNRS | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin]
codecs = list(dict.fromkeys(r['codec'] for r in rows))
print('| mode | SNR (dB) | ' + ' | '.join(codecs) + ' |')
print('|---|---|' + '---|' * len(codecs))
table = {}
for r in rows:
    table.setdefault((r['mode'], r['snr_db']), {})[r['codec']] = r['decoded']
for (mode, snr), v in table.items():
    print(f'| {mode} | {snr:g} | ' + ' | '.join(str(v[c]) for c in codecs) + ' |')
"
