#![no_main]
//! Fuzz the WAV reader: any bytes must give a recording or an error, never
//! a panic, a hang or an unbounded allocation. A second pass plants a valid
//! RIFF/WAVE/fmt header in front of the bytes, so mutations reach the data
//! chunk, truncation mending and resampling instead of stopping at the magic.
use baram_radio::channel::read_wav_bytes;
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    if let Ok(r) = read_wav_bytes("fuzz.wav", data) {
        assert!(!r.samples.is_empty());
        assert!(r.samples.iter().all(|v| v.is_finite()));
        let _ = r.warning("fuzz.wav");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() >= 8 {
        // fmt fields from the first 8 bytes: tag, channels, rate, bits.
        let tag = if data[0] & 1 == 0 { 1u16 } else { 3 };
        let channels = u16::from(data[1] % 4) + 1;
        let rates = [8000u32, 11025, 16000, 22050, 44100, 48000, 1000, 96000];
        let rate = rates[usize::from(data[2] % 8)];
        let bits: u16 = [8, 16, 24, 32][usize::from(data[3] % 4)];
        let align = channels * bits / 8;
        let body = &data[8..];
        let mut w = Vec::with_capacity(44 + body.len());
        w.extend_from_slice(b"RIFF");
        w.extend_from_slice(&(36 + body.len() as u32).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&tag.to_le_bytes());
        w.extend_from_slice(&channels.to_le_bytes());
        w.extend_from_slice(&rate.to_le_bytes());
        w.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        w.extend_from_slice(&align.to_le_bytes());
        w.extend_from_slice(&bits.to_le_bytes());
        w.extend_from_slice(b"data");
        let declared = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        w.extend_from_slice(&declared.to_le_bytes());
        w.extend_from_slice(body);
        check(&w);
    }
});
