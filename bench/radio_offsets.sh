#!/bin/sh
# Frames decoded by one modem mode over frequency offsets and sample-clock
# errors (0/0, -48 Hz/-300 ppm, +30 Hz/+200 ppm) and two channel seeds each,
# at each SNR: the robustness behind one curve point.
#
#   MODE=deepest PROFILE=poor FRAMES=8 SNRS="-12 -11" sh bench/radio_offsets.sh
set -eu
cd "$(dirname "$0")/.."
MODE=${MODE:-deepest}
PROFILE=${PROFILE:-poor}
FRAMES=${FRAMES:-8}
SNRS=${SNRS:-"-12 -11"}
cargo build --release -q -p baram-radio --example modem_curve
E=target/release/examples/modem_curve
for fp in "0 0" "-48 -300" "30 200"; do
  set -- $fp
  for seed in 5 6; do
    FREQ=$1 PPM=$2 SEED=$seed $E "$MODE" "$PROFILE" "$FRAMES" $SNRS 2>/dev/null |
      python3 -c "
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print('$MODE $PROFILE freq $1 Hz ppm $2 seed $seed: SNR', r['snr_db'], 'decoded', r['decoded'], 'of', r['frames'])"
  done
done | tee /dev/stderr | awk '{d[$11]+=$13; n[$11]+=$15} END {for (k in d) print "SNR " k ": " d[k] " of " n[k] " frames"}'
