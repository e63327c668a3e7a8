#!/bin/sh
# Goodput and frame error rate of every modem mode against SNR (in 3 kHz) on
# AWGN and CCIR Poor, with the Shannon capacity beside each point.
#
#   FRAMES=20 bench/radio_curve.sh > radio-curve.jsonl
#   cargo run --release -p baram-radio --example radio_plot -- radio-curve.jsonl docs/radio-curves.png
#
# Goodput counts every overhead: preamble, sync, pilot rows, cyclic prefix,
# code rate, CRC-32 and the carousel's 12-byte packet header.
#
# codec2 (the peer): its data modes are not in Debian's codec2 package. With
# CODEC2_BUILD set to a codec2 build folder (the one holding
# src/freedv_data_raw_tx and src/freedv_data_raw_rx), bench/codec2_curve.sh
# then runs DATAC4/13/3/1/0/14 through the same `baram radio channel` at the
# same SNRs, FRAMES frames each (see that script for how). This script never
# fetches or builds codec2.
set -eu
cd "$(dirname "$0")/.."
FRAMES=${FRAMES:-10}
cargo build --release -q -p baram-radio --example modem_curve
cargo build --release -q -p baram
E=target/release/examples/modem_curve
SNRS=${SNRS:-"-12 -10 -8 -6 -4 -2 0 2 4 6 8 10 12 15"}
for profile in awgn poor; do
  for mode in ${MODES:-deepest deep robust sturdy steady normal fast}; do
    # Deepest frames last 82 s, deep 41 s, robust 20 s: fewer of them.
    n=$FRAMES
    [ "$mode" = deepest ] && n=$(( (FRAMES + 2) / 3 ))
    [ "$mode" = deep ] && n=$(( (FRAMES + 1) / 2 ))
    [ "$mode" = robust ] && n=$(( (FRAMES + 3) / 4 ))
    [ "$mode" = sturdy ] && n=$(( (FRAMES + 1) / 2 ))
    SEED=${SEED:-1} FREQ=${FREQ:-0} PPM=${PPM:-0} $E "$mode" "$profile" "$n" $SNRS
  done
done
if [ -n "${CODEC2_BUILD:-}" ]; then
  BARAM=target/release/baram FRAMES=$FRAMES SNRS=$SNRS SEED=${SEED:-1} \
    sh bench/codec2_curve.sh
fi
