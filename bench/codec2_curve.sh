#!/bin/sh
# The peer's curve: codec2's OFDM data modes (the ones FreeDATA uses) through
# the same `baram radio channel` as our modem, one JSON line per
# (mode, profile, SNR):
#
#   CODEC2_BUILD=/path/to/codec2/build bench/codec2_curve.sh > codec2-curve.jsonl
#
# This script never fetches or builds codec2: CODEC2_BUILD must be a codec2
# build folder holding src/freedv_data_raw_tx and src/freedv_data_raw_rx.
# Needs POSIX sh, sox, od and awk.
#
# Environment: BARAM (default target/release/baram), FRAMES (20), MODES,
# PROFILES ("awgn poor"), SNRS, SEED (1), DELAY_MS (50).
#
# How each point is made:
#   - FRAMES frames of random bytes, payload = bits_per_modem_frame/8 - 2
#     (codec2's CRC-16 is not counted), as FreeDATA sends them: one frame per
#     burst (preamble, frame, postamble), bursts DELAY_MS apart:
#       freedv_data_raw_tx --delay 50 MODE in.bin tx.raw
#     50 ms is near the shortest gap codec2's receiver copes with (DATAC13
#     loses frames below 25 ms even without noise); codec2's own default gap
#     (2 modem frames) costs up to 1.4 dB of mean power on the short modes.
#     The file's mean square, silences included, is what the channel takes as
#     the signal power: snr_db is referred to it, like our own modem's.
#     snr_offset_db is codec2's own mark:space figure (10 log10 of the on
#     fraction): the SNR during a burst is snr_db - snr_offset_db.
#   - attenuated by 20 dB (RMS about -33 dBFS) so that noise at -12 dB SNR
#     does not clip the 16-bit output, then
#       baram radio channel tx.wav rx.wav --snr S --profile P --seed SEED
#   - 3 s of digital silence appended after the channel (not counted in
#     seconds) so the receiver flushes its last burst, then
#       freedv_data_raw_rx MODE - out.bin
#   - decoded = distinct sent frames found byte for byte in out.bin;
#     rx_frames is the receiver's own count of frames that passed its CRC.
#   - goodput_bps = decoded * payload_bytes * 8 / seconds, seconds being the
#     length of the transmitted audio (silences included).
set -eu
cd "$(dirname "$0")/.."
LC_ALL=C; export LC_ALL
: "${CODEC2_BUILD:?set CODEC2_BUILD to a codec2 build folder (src/freedv_data_raw_tx)}"
BARAM=${BARAM:-target/release/baram}
FRAMES=${FRAMES:-20}
MODES=${MODES:-"DATAC4 DATAC13 DATAC3 DATAC1 DATAC0 DATAC14"}
PROFILES=${PROFILES:-"awgn poor"}
SNRS=${SNRS:-"-12 -10 -8 -6 -4 -2 0 2 4 6 8 10 12 15"}
SEED=${SEED:-1}
DELAY_MS=${DELAY_MS:-50}
TX=$CODEC2_BUILD/src/freedv_data_raw_tx
RX=$CODEC2_BUILD/src/freedv_data_raw_rx
for x in "$TX" "$RX" "$BARAM"; do
  [ -x "$x" ] || { echo "codec2_curve.sh: $x is not an executable" >&2; exit 2; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

# Hex of a file, one frame of $1 bytes a line.
frames_hex() {
  od -An -v -tx1 "$2" | tr -d ' \n' | awk -v n=$(( $1 * 2 )) \
    '{ for (i = 1; i + n - 1 <= length($0); i += n) print substr($0, i, n) }'
}

for mode in $MODES; do
  p=$("$TX" "$mode" /dev/zero /dev/null --testframes 1 2>&1 |
    sed -n 's/.*payload bytes_per_modem_frame: *\([0-9]*\).*/\1/p')
  [ -n "$p" ] || { echo "codec2_curve.sh: no payload size for $mode" >&2; exit 2; }
  n=$FRAMES
  head -c $(( p * n )) /dev/urandom > "$T/in.bin"
  frames_hex "$p" "$T/in.bin" | sort -u > "$T/in.hex"
  "$TX" --delay "$DELAY_MS" "$mode" "$T/in.bin" "$T/tx.raw" 2> "$T/tx.log"
  off=$(sed -n 's/.*SNR offset: *\(-*[0-9.]*\).*/\1/p' "$T/tx.log")
  sox -t raw -r 8000 -e signed-integer -b 16 -c 1 "$T/tx.raw" "$T/tx.wav" vol 0.1
  secs=$(awk -v b="$(wc -c < "$T/tx.raw")" 'BEGIN { printf "%.3f", b / 16000 }')
  for profile in $PROFILES; do
    for s in $SNRS; do
      "$BARAM" --json radio channel "$T/tx.wav" "$T/rx.wav" --snr "$s" \
        --profile "$profile" --seed "$SEED" > "$T/ch.json"
      if grep -q '"clipped_full_scale": *[1-9]' "$T/ch.json"; then
        echo "codec2_curve.sh: $mode $profile $s dB: channel output clipped" >&2
      fi
      sox "$T/rx.wav" -t raw -e signed-integer -b 16 -c 1 -r 8000 - pad 0 3 |
        "$RX" "$mode" - "$T/out.bin" 2> "$T/rx.log" || true
      rxf=$(sed -n 's/.*Frms\.: *\([0-9]*\).*/\1/p' "$T/rx.log")
      frames_hex "$p" "$T/out.bin" | sort -u > "$T/out.hex"
      got=$(comm -12 "$T/in.hex" "$T/out.hex" | wc -l | tr -d ' ')
      awk -v m="$mode" -v pr="$profile" -v s="$s" -v n="$n" -v g="$got" \
        -v p="$p" -v t="$secs" -v o="${off:-0}" -v r="${rxf:-0}" -v sd="$SEED" 'BEGIN {
        printf "{\"peer\":\"codec2\",\"mode\":\"%s\",\"profile\":\"%s\",\"snr_db\":%s,", m, pr, s
        printf "\"frames\":%d,\"decoded\":%d,\"fer\":%.4f,\"goodput_bps\":%.2f,\"seconds\":%s,", n, g, 1 - g / n, g * p * 8 / t, t
        printf "\"payload_bytes\":%d,\"rx_frames\":%d,\"snr_offset_db\":%s,\"seed\":%s}\n", p, r, o, sd
      }'
    done
  done
done
