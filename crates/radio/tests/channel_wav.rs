//! WAV reading and writing: round trips, any PCM/float format resampled to
//! 8 kHz mono (tone frequency and amplitude checked with an FFT), truncated
//! and broken files, and sox as an independent reader and writer.

mod channel_util;

use baram_radio::channel::*;
use channel_util::*;
use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;

#[allow(clippy::too_many_arguments)]
fn write_tone(
    path: &Path,
    rate: u32,
    channels: u16,
    bits: u16,
    float: bool,
    f: f64,
    amp: f64,
    secs: f64,
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let n = (secs * rate as f64) as usize;
    let full = ((1i64 << (bits - 1)) - 1) as f64;
    for i in 0..n {
        let v = (2.0 * PI * f * i as f64 / rate as f64).sin();
        for c in 0..channels {
            // Channels at different levels: the mono mix is their mean, amp.
            let a = amp * (1.0 + 0.2 * (c as f64 - (channels as f64 - 1.0) / 2.0));
            if float {
                w.write_sample((a * v) as f32).unwrap();
            } else if bits == 8 {
                w.write_sample((a * v * full).round() as i8).unwrap();
            } else {
                w.write_sample((a * v * full).round() as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

/// Frequency and amplitude of the tone in 2 s (16384 samples, bin
/// 0.488 Hz) from the middle of a recording.
fn tone_of(r: &Recording) -> (f64, f64) {
    let s = &r.samples[4000..4000 + 16384];
    peak(s, FS)
}

#[test]
fn round_trip_8k_mono_16bit() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a.wav");
    let x = multitone(8000, 0.9);
    assert_eq!(write_wav(&p, &x).unwrap(), 0);
    let r = read_wav(&p).unwrap();
    assert_eq!(
        r.info,
        WavInfo {
            sample_rate: 8000,
            channels: 1,
            bits_per_sample: 16,
            float: false,
            frames: 8000
        }
    );
    assert!(r.truncated.is_none());
    for (a, b) in x.iter().zip(&r.samples) {
        assert!((a - b).abs() <= 0.5 / 32767.0 + 1e-7);
    }
    // Over full scale is clipped and counted.
    assert_eq!(write_wav(&p, &[1.5, -2.0, 0.5]).unwrap(), 2);
    let r = read_wav(&p).unwrap().samples;
    assert!(
        r[0] == 32767.0 / 32768.0 && r[1] == -1.0 && r[2] == 0.5,
        "{r:?}"
    );
}

#[test]
fn any_format_and_rate_becomes_8k_mono_with_the_tone_kept() {
    let d = tempfile::tempdir().unwrap();
    // 1234.375 Hz is a bin centre of the 16384-point FFT at 8 kHz.
    let f = 1234.375;
    for (rate, ch, bits, float) in [
        (44_100, 2, 24, false),
        (48_000, 1, 16, false),
        (11_025, 3, 8, false),
        (22_050, 2, 32, true),
        (16_000, 1, 32, false),
        (8_000, 2, 16, false),
    ] {
        let p = d.path().join(format!("t{rate}_{ch}_{bits}.wav"));
        write_tone(&p, rate, ch, bits, float, f, 0.5, 4.0);
        let r = read_wav(&p).unwrap();
        assert_eq!(r.samples.len(), 32_000, "{rate} Hz");
        assert_eq!(
            (r.info.sample_rate, r.info.channels, r.info.bits_per_sample),
            (rate, ch, bits)
        );
        let (ff, a) = tone_of(&r);
        assert!((ff - f).abs() < 0.01, "{rate} Hz: tone at {ff}");
        // Amplitude within 0.05 dB (8-bit: quantisation allows 0.1 dB).
        let tol = if bits == 8 { 0.1 } else { 0.05 };
        assert!(
            (20.0 * (a / 0.5).log10()).abs() < tol,
            "{rate} Hz {bits} bit: amplitude {a}"
        );
    }
    // A 6 kHz tone at 44.1 kHz is above the 4 kHz Nyquist frequency of the
    // output: the anti-alias filter removes it (it would alias to 2 kHz).
    let p = d.path().join("alias.wav");
    write_tone(&p, 44_100, 1, 16, false, 6000.0, 0.5, 4.0);
    let r = read_wav(&p).unwrap();
    let rms = mean_square(&r.samples[4000..28000]).sqrt();
    assert!(20.0 * (rms / 0.3536).log10() < -70.0, "alias rms {rms}");
}

fn pcm16_bytes(n: usize) -> Vec<u8> {
    wav_bytes(&tone(440.0, 0.5, n)).0
}

#[test]
fn truncated_recordings_are_read_and_reported() {
    let full = pcm16_bytes(10_000);
    // Cut mid-file, and at an odd byte (half a sample).
    for cut in [44 + 10_000, 44 + 10_001] {
        let r = read_wav_bytes("cut.wav", &full[..cut]).unwrap();
        assert_eq!(r.samples.len(), 5000);
        assert_eq!(
            r.truncated,
            Some(Truncation {
                declared_frames: Some(10_000),
                read_frames: 5000
            })
        );
        let w = r.warning("cut.wav").unwrap();
        assert!(
            w.contains("cut.wav") && w.contains("truncated") && w.contains("10000"),
            "{w}"
        );
    }
    // A header never finalised (data size 0 or 0xFFFFFFFF).
    for size in [0u32, u32::MAX] {
        let mut b = full.clone();
        b[40..44].copy_from_slice(&size.to_le_bytes());
        let r = read_wav_bytes("open.wav", &b).unwrap();
        assert_eq!(r.samples.len(), 10_000);
        assert_eq!(r.truncated.as_ref().unwrap().declared_frames, None);
    }
    // A whole file has no warning.
    assert!(
        read_wav_bytes("ok.wav", &full)
            .unwrap()
            .warning("ok.wav")
            .is_none()
    );
}

fn problem(bytes: &[u8]) -> String {
    let e = read_wav_bytes("x.wav", bytes).unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("x.wav: "), "{s}");
    s
}

#[test]
fn broken_files_give_clear_errors() {
    assert!(problem(b"").contains("empty file"));
    assert!(problem(b"hello, this is not audio at all").contains("not a WAV"));
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(problem(&garbage).contains("not a WAV"));
    let full = pcm16_bytes(100);
    // Header only: zero length.
    assert!(problem(&full[..44]).contains("zero length"));
    // No data chunk.
    let mut nodata = full[..36].to_vec();
    nodata.extend_from_slice(b"LIST\x04\x00\x00\x00abcd");
    assert!(problem(&nodata).contains("no \"data\" chunk"));
    // Compressed: IMA ADPCM, A-law, MP3.
    for (tag, name) in [(0x11u16, "IMA ADPCM"), (6, "A-law"), (0x55, "MP3")] {
        let mut b = full.clone();
        b[20..22].copy_from_slice(&tag.to_le_bytes());
        let s = problem(&b);
        assert!(s.contains("compressed") && s.contains(name), "{s}");
    }
    // RIFX, absurd rate.
    let mut b = full.clone();
    b[..4].copy_from_slice(b"RIFX");
    assert!(problem(&b).contains("big-endian"));
    let mut b = full.clone();
    b[24..28].copy_from_slice(&7u32.to_le_bytes());
    assert!(problem(&b).contains("sample rate 7"));
    // Found by the fuzzer: 2 frames at 96 kHz resample to no sample at 8 kHz.
    let mut b = full[..48].to_vec();
    b[24..28].copy_from_slice(&96_000u32.to_le_bytes());
    b[28..32].copy_from_slice(&192_000u32.to_le_bytes());
    b[40..44].copy_from_slice(&4u32.to_le_bytes());
    let s = problem(&b);
    assert!(s.contains("too short: 2 frames at 96000 Hz"), "{s}");
    // A missing file names it.
    let e = read_wav(Path::new("/nonexistent/rec.wav")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/rec.wav: cannot read"),
        "{e}"
    );
}

fn sox(args: &[&str]) -> String {
    let out = Command::new("sox")
        .args(args)
        .output()
        .expect("sox is the independent WAV oracle: apt-get install sox (scripts/test does)");
    assert!(
        out.status.success(),
        "sox {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn sox_reads_what_we_write_and_we_read_what_sox_writes() {
    let d = tempfile::tempdir().unwrap();
    let ours = d.path().join("ours.wav");
    let x = multitone(12_345, 0.6);
    write_wav(&ours, &x).unwrap();
    let o = ours.to_str().unwrap();
    assert_eq!(sox(&["--i", "-r", o]).trim(), "8000");
    assert_eq!(sox(&["--i", "-c", o]).trim(), "1");
    assert_eq!(sox(&["--i", "-b", o]).trim(), "16");
    assert_eq!(sox(&["--i", "-s", o]).trim(), "12345");
    // sox's RMS amplitude agrees with ours.
    let stat = sox(&[o, "-n", "stat"]);
    let rms: f64 = stat
        .lines()
        .find(|l| l.starts_with("RMS     amplitude"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ours_rms = mean_square(&read_wav(&ours).unwrap().samples).sqrt();
    assert!((rms - ours_rms).abs() < 1e-5, "sox {rms} ours {ours_rms}");

    // sox writes 24-bit stereo 44.1 kHz (WAVE_FORMAT_EXTENSIBLE) and 8-bit;
    // we read its tone with the right frequency and amplitude.
    for (bits, enc) in [
        ("24", "signed-integer"),
        ("8", "unsigned-integer"),
        ("32", "floating-point"),
    ] {
        let p = d.path().join(format!("sox{bits}.wav"));
        let ps = p.to_str().unwrap();
        sox(&[
            "-n", "-r", "44100", "-c", "2", "-b", bits, "-e", enc, ps, "synth", "4", "sine",
            "1234.375", "vol", "0.5",
        ]);
        let r = read_wav(&p).unwrap();
        assert_eq!((r.info.sample_rate, r.info.channels), (44_100, 2));
        let (f, a) = tone_of(&r);
        assert!((f - 1234.375).abs() < 0.01, "{bits}: {f}");
        assert!(
            (20.0 * (a / 0.5).log10()).abs() < 0.1,
            "{bits}: amplitude {a}"
        );
    }
    // sox's own resampler as an oracle for ours: the 8 kHz versions of the
    // same 44.1 kHz multitone agree within -50 dB (away from the ends).
    let src = d.path().join("mt44.wav");
    let dst = d.path().join("mt8.wav");
    let mt: Vec<String> = [317.0, 1109.0, 2311.0]
        .iter()
        .map(|f: &f64| format!("sine {f}"))
        .collect();
    let mut args = vec![
        "-n",
        "-r",
        "44100",
        "-b",
        "24",
        src.to_str().unwrap(),
        "synth",
        "3",
    ];
    let parts: Vec<&str> = mt.iter().flat_map(|s| s.split(' ')).collect();
    args.extend(parts);
    args.extend(["remix", "-", "vol", "0.3"]);
    sox(&args);
    // Three sines make three channels; remix - mixes them to one.
    sox(&[
        src.to_str().unwrap(),
        "-r",
        "8000",
        dst.to_str().unwrap(),
        "rate",
        "-v",
    ]);
    let a = read_wav(&src).unwrap().samples;
    let b = read_wav(&dst).unwrap().samples;
    assert_eq!(a.len(), 24_000);
    let n = a.len().min(b.len());
    let err: f64 = a[2000..n - 2000]
        .iter()
        .zip(&b[2000..n - 2000])
        .map(|(x, y)| f64::from(x - y).powi(2))
        .sum();
    let sig: f64 = a[2000..n - 2000]
        .iter()
        .map(|x| f64::from(*x).powi(2))
        .sum();
    assert!(
        db(err / sig) < -50.0,
        "ours vs sox resampler: {} dB",
        db(err / sig)
    );
    // A-law from sox is refused by name.
    let p = d.path().join("alaw.wav");
    sox(&[o, "-e", "a-law", p.to_str().unwrap()]);
    let e = read_wav(&p).unwrap_err().to_string();
    assert!(e.contains("A-law"), "{e}");
}
