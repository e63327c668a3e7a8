//! Which recorders' formats carry the signal: frames of each mode, through
//! AWGN at a given SNR, written as WAV, encoded by ffmpeg as a phone or a
//! pocket recorder would (MP3, AAC, Opus, Vorbis, GSM, at 44.1 kHz where
//! the format allows), read back with `channel::read_recording` and
//! decoded. Prints one line per mode, codec and SNR: frames decoded of sent.
//!
//! `cargo run --release -p baram-radio --example radio_codecs -- [FRAMES] [SNR...]`
//! (bench/radio_codecs.sh). Needs ffmpeg with libmp3lame, libopus, libvorbis
//! and libgsm (Debian's has them).

use baram_radio::channel::{self, ChannelConfig, Profile};
use baram_radio::modem::{Demodulator, Mode, Modulator};
use std::process::Command;

/// (name, file extension, ffmpeg output arguments).
pub const CODECS: &[(&str, &str, &[&str])] = &[
    ("wav", "wav", &["-c:a", "pcm_s16le"]),
    (
        "mp3 128k",
        "mp3",
        &["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k"],
    ),
    (
        "mp3 64k",
        "mp3",
        &["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k"],
    ),
    (
        "mp3 32k",
        "mp3",
        &["-ar", "22050", "-c:a", "libmp3lame", "-b:a", "32k"],
    ),
    (
        "mp3 16k",
        "mp3",
        &["-ar", "8000", "-c:a", "libmp3lame", "-b:a", "16k"],
    ),
    (
        "aac 128k",
        "m4a",
        &["-ar", "44100", "-c:a", "aac", "-b:a", "128k"],
    ),
    (
        "aac 64k",
        "m4a",
        &["-ar", "44100", "-c:a", "aac", "-b:a", "64k"],
    ),
    (
        "aac 32k",
        "m4a",
        &["-ar", "44100", "-c:a", "aac", "-b:a", "32k"],
    ),
    ("opus 64k", "opus", &["-c:a", "libopus", "-b:a", "64k"]),
    ("opus 32k", "opus", &["-c:a", "libopus", "-b:a", "32k"]),
    ("opus 16k", "opus", &["-c:a", "libopus", "-b:a", "16k"]),
    (
        "vorbis q0",
        "ogg",
        &["-ar", "44100", "-c:a", "libvorbis", "-q:a", "0"],
    ),
    (
        "gsm",
        "gsm",
        &["-ar", "8000", "-c:a", "libgsm", "-f", "gsm"],
    ),
];

fn payloads(mode: Mode, n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            (0..mode.payload_len())
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: usize = args.first().map_or(4, |s| s.parse().expect("FRAMES"));
    let snrs: Vec<f64> = if args.len() > 1 {
        args[1..].iter().map(|s| s.parse().expect("SNR")).collect()
    } else {
        vec![20.0]
    };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("in.wav");
    for mode in [Mode::Robust, Mode::Steady, Mode::Normal, Mode::Fast] {
        let sent = payloads(mode, frames, 7);
        let audio = Modulator::new().modulate(mode, &sent).unwrap();
        for &snr in &snrs {
            let cfg = ChannelConfig::new(Profile::Awgn, snr, 3);
            let (rx, _) = channel::simulate(&audio, &cfg).unwrap();
            channel::write_wav(&wav, &rx).unwrap();
            for (name, ext, opts) in CODECS {
                let out = dir.path().join(format!("rec.{ext}"));
                let st = Command::new("ffmpeg")
                    .args(["-nostdin", "-v", "error", "-y", "-i"])
                    .arg(&wav)
                    .args(*opts)
                    .arg(&out)
                    .status()
                    .expect("ffmpeg");
                assert!(st.success(), "ffmpeg {name}");
                let size = std::fs::metadata(&out).unwrap().len();
                let rec = channel::read_recording(&out).unwrap();
                let got = Demodulator::new().demodulate(&rec.samples);
                let n = got
                    .payloads()
                    .filter(|(_, p)| sent.iter().any(|s| s[..] == **p))
                    .count();
                println!(
                    "{{\"mode\":\"{mode}\",\"snr_db\":{snr},\"codec\":\"{name}\",\"bytes\":{size},\"decoded\":{n},\"sent\":{frames}}}"
                );
            }
        }
    }
}
