//! Recordings as phones and pocket recorders make them: MP3, AAC (M4A),
//! Opus and Vorbis, read through ffmpeg (`channel::read_recording`), decode
//! as WAV does; what is not audio, or ffmpeg missing, is one clear error;
//! WAV needs no ffmpeg.

use baram_radio::channel::{self, ChannelConfig, Profile, WavProblem};
use baram_radio::modem::{Demodulator, Mode, Modulator};
use std::path::Path;
use std::process::Command;

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

/// Encodes `wav` with ffmpeg (the independent encoder) into `out`.
fn encode(wav: &Path, opts: &[&str], out: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(wav)
        .args(opts)
        .arg(out)
        .status()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(st.success(), "ffmpeg {opts:?}");
}

/// Every frame of normal and of robust, through AWGN 1.5-3 dB above the
/// mode's threshold, decodes bit-exact from each lossy format at a phone's
/// usual rates (44.1 kHz, 32-64 kbit/s), as it does from the WAV. (Lower
/// rates cost a few dB: bench/radio_codecs.sh.)
#[test]
fn compressed_recordings_decode_as_the_wav_does() {
    let d = tempfile::tempdir().unwrap();
    let wav = d.path().join("in.wav");
    let codecs: &[(&str, &[&str])] = &[
        (
            "mp3",
            &["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "32k"],
        ),
        ("m4a", &["-ar", "44100", "-c:a", "aac", "-b:a", "64k"]),
        ("opus", &["-c:a", "libopus", "-b:a", "32k"]),
        ("ogg", &["-ar", "44100", "-c:a", "libvorbis", "-q:a", "3"]),
    ];
    for (mode, snr) in [(Mode::Normal, 1.0), (Mode::Robust, -5.0)] {
        let sent = payloads(mode, 3, 21);
        let audio = Modulator::new().modulate(mode, &sent).unwrap();
        let rx = channel::simulate(&audio, &ChannelConfig::new(Profile::Awgn, snr, 8))
            .unwrap()
            .0;
        channel::write_wav(&wav, &rx).unwrap();
        for (ext, opts) in codecs {
            // A phone names recordings by the time: a colon in the name.
            let rec_path = d.path().join(format!("2024-03-01T12:30 rec.{ext}"));
            encode(&wav, opts, &rec_path);
            let rec = channel::read_recording(&rec_path).unwrap();
            assert_eq!(rec.truncated, None, "{ext}: a whole file is no truncation");
            // The length survives (codecs pad by a few ms at most).
            let secs = rec.duration_s() - rx.len() as f64 / 8000.0;
            assert!((-0.01..0.2).contains(&secs), "{ext}: {secs} s longer");
            let got = Demodulator::new().demodulate(&rec.samples);
            let ok: Vec<_> = got.payloads().map(|(_, p)| p.to_vec()).collect();
            for p in &ok {
                assert!(sent.contains(p), "{mode} {ext}: a false frame");
            }
            assert_eq!(ok.len(), sent.len(), "{mode} through {ext} at {snr} dB");
        }
    }
}

#[test]
fn what_is_not_audio_or_without_ffmpeg_is_one_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let text = d.path().join("notes.mp3");
    std::fs::write(&text, "this is a shopping list, not a recording\n").unwrap();
    let e = channel::read_recording(&text).unwrap_err();
    let empty = d.path().join("empty.m4a");
    std::fs::write(&empty, b"").unwrap();
    let e0 = channel::read_recording(&empty).unwrap_err();
    assert!(matches!(e0.problem, WavProblem::EmptyFile), "{e0}");
    assert!(matches!(e.problem, WavProblem::NotAudio(_)), "{e}");
    let s = e.to_string();
    assert!(s.starts_with(&text.display().to_string()), "{s}");
    assert!(
        s.contains("neither a WAV file nor audio ffmpeg can read (not a format ffmpeg knows)"),
        "{s}"
    );
    assert_eq!(s.lines().count(), 1, "{s}");

    // A video without sound.
    let silent_video = d.path().join("video.mkv");
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=duration=1:size=64x64:rate=5")
        .arg(&silent_video)
        .status()
        .unwrap();
    assert!(st.success());
    let e = channel::read_recording(&silent_video).unwrap_err();
    assert!(matches!(e.problem, WavProblem::NotAudio(_)), "{e}");
    assert!(e.to_string().ends_with("(it holds no sound)"), "{e}");

    // No ffmpeg: an MP3 is refused saying how to get it; a WAV still reads.
    let wav = d.path().join("in.wav");
    channel::write_wav(&wav, &vec![0.25; 8000]).unwrap();
    let mp3 = d.path().join("in.mp3");
    encode(&wav, &["-c:a", "libmp3lame"], &mp3);
    let none = d.path().join("no-ffmpeg-here");
    let e = channel::read_recording_with(&mp3, &none).unwrap_err();
    assert!(matches!(e.problem, WavProblem::NoFfmpeg(_)), "{e}");
    assert!(e.to_string().contains("apt-get install ffmpeg"), "{e}");
    let rec = channel::read_recording_with(&wav, &none).unwrap();
    assert_eq!(rec.samples.len(), 8000);
    // And a broken WAV is the WAV reader's error, not ffmpeg's.
    let broken = d.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF\x04\x00\x00\x00WAVE").unwrap();
    let e = channel::read_recording_with(&broken, &none).unwrap_err();
    assert!(!matches!(e.problem, WavProblem::NoFfmpeg(_)), "{e}");
}
