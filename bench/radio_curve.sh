#!/bin/sh
# Goodput and frame error rate of every modem mode against SNR (in 3 kHz) on
# AWGN and CCIR Poor, with the Shannon capacity beside each point.
#
#   FRAMES=20 bench/radio_curve.sh > radio-curve.jsonl
#
# Goodput counts every overhead: preamble, sync, pilot rows, cyclic prefix,
# code rate, CRC-32 and the carousel's 12-byte packet header.
#
# codec2 (the peer): its data modes are not in Debian's codec2 package. With
# CODEC2_BUILD set to a codec2 build folder (the one holding
# src/freedv_data_raw_tx and src/freedv_data_raw_rx), each SNR also runs
# DATAC0/1/3/4/13/14 through the same `baram radio channel`:
#   freedv_data_raw_tx --framesperburst 1 --bursts N MODE in.bin - | sox -t raw -r 8000 -e signed -b 16 -c 1 - tx.wav
#   baram radio channel tx.wav rx.wav --snr S --profile P
#   sox rx.wav -t raw - | freedv_data_raw_rx MODE - out.bin
# and prints its frames decoded. This script never fetches or builds codec2.
set -eu
cd "$(dirname "$0")/.."
FRAMES=${FRAMES:-10}
cargo build --release -q -p baram-radio --example modem_curve
cargo build --release -q -p baram
E=target/release/examples/modem_curve
SNRS=${SNRS:-"-12 -10 -8 -6 -4 -2 0 2 4 6 8 10 12 15"}
for profile in awgn poor; do
  for mode in robust normal fast; do
    # Robust frames last 20 s: fewer of them.
    n=$FRAMES; [ "$mode" = robust ] && n=$(( (FRAMES + 2) / 3 ))
    SEED=${SEED:-1} FREQ=${FREQ:-0} PPM=${PPM:-0} $E "$mode" "$profile" "$n" $SNRS
  done
done
if [ -n "${CODEC2_BUILD:-}" ]; then
  B=target/release/baram
  T=$(mktemp -d)
  for profile in awgn poor; do
    for m in DATAC4 DATAC13 DATAC3 DATAC1 DATAC0 DATAC14; do
      for s in $SNRS; do
        head -c 100000 /dev/urandom > "$T/in.bin"
        "$CODEC2_BUILD/src/freedv_data_raw_tx" --framesperburst 1 --bursts "$FRAMES" "$m" "$T/in.bin" - 2>/dev/null \
          | sox -t raw -r 8000 -e signed -b 16 -c 1 - "$T/tx.wav"
        "$B" -q radio channel "$T/tx.wav" "$T/rx.wav" --snr "$s" --profile "$profile" --seed 1
        got=$(sox "$T/rx.wav" -t raw - | "$CODEC2_BUILD/src/freedv_data_raw_rx" "$m" - "$T/out.bin" 2>&1 | grep -o 'nframes: *[0-9]*' | grep -o '[0-9]*$' || echo 0)
        echo "{\"peer\":\"codec2\",\"mode\":\"$m\",\"profile\":\"$profile\",\"snr_db\":$s,\"frames\":$FRAMES,\"decoded\":${got:-0}}"
      done
    done
  done
  rm -rf "$T"
fi
