//! `baram radio channel` and `baram radio decode` through the real binary.

use baram_radio::channel::{read_wav, read_wav_bytes, write_wav};
use std::f64::consts::PI;
use std::process::Command;

fn baram() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
    c.env_remove("BARAM_WORKSPACE");
    c
}

fn tone(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 * (2.0 * PI * 1500.0 * i as f64 / 8000.0).sin()) as f32)
        .collect()
}

#[test]
fn channel_writes_8k_mono_and_reports_the_snr() {
    let d = tempfile::tempdir().unwrap();
    let (inp, out) = (d.path().join("in.wav"), d.path().join("out.wav"));
    write_wav(&inp, &tone(40_000)).unwrap();
    let run = |extra: &[&str]| {
        let o = baram()
            .args(["--json", "radio", "channel"])
            .arg(&inp)
            .arg(&out)
            .args(["--snr", "12", "--profile", "poor"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, std::fs::read(&out).unwrap())
    };
    let (v, bytes) = run(&["--seed", "9"]);
    let r = &v["report"];
    assert_eq!(r["samples_out"], 40_000);
    let snr = r["snr_ref_3k_db"].as_f64().unwrap();
    assert!((snr - 12.0).abs() < 0.2, "{v}");
    assert!(
        r["signal_power"].as_f64().unwrap() > 0.0 && r["noise_power_3k"].as_f64().unwrap() > 0.0
    );
    assert_eq!(v["profile"], "poor");
    let rec = read_wav_bytes("out.wav", &bytes).unwrap();
    assert_eq!(
        (
            rec.info.sample_rate,
            rec.info.channels,
            rec.info.bits_per_sample
        ),
        (8000, 1, 16)
    );
    // Same seed, same bytes; another seed, other bytes.
    assert_eq!(run(&["--seed", "9"]).1, bytes);
    assert_ne!(run(&["--seed", "10"]).1, bytes);
    // Every option at once.
    let (v, _) = run(&[
        "--freq-offset",
        "-50",
        "--clock-ppm",
        "300",
        "--am",
        "--am-depth",
        "0.9",
        "--agc",
        "--clip",
        "0.5",
    ]);
    assert_eq!(v["report"]["samples_out"], 40_012);
    assert_eq!(v["config"]["am"]["depth"], 0.9);
    // Human line.
    let o = baram()
        .args(["radio", "channel"])
        .arg(&inp)
        .arg(&out)
        .args(["--snr", "inf"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && s.contains("awgn channel") && s.contains("no noise"),
        "{s}"
    );
    assert_eq!(read_wav(&out).unwrap().samples.len(), 40_000);
}

fn fails(args: &[&std::ffi::OsStr], want: &str) {
    let o = baram()
        .args(["radio", "channel"])
        .args(args)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains(want), "want {want:?} in {e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn bad_input_is_one_clear_line() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out.wav");
    let garbage = d.path().join("garbage.wav");
    std::fs::write(&garbage, b"this is not a wav file").unwrap();
    let silent = d.path().join("silent.wav");
    write_wav(&silent, &vec![0.0; 8000]).unwrap();
    let good = d.path().join("good.wav");
    write_wav(&good, &tone(8000)).unwrap();
    let s = |x: &str| std::ffi::OsString::from(x);
    fails(
        &[garbage.as_os_str(), out.as_os_str(), &s("--snr"), &s("10")],
        "garbage.wav: not a WAV file",
    );
    fails(
        &[silent.as_os_str(), out.as_os_str(), &s("--snr"), &s("10")],
        "silent",
    );
    fails(
        &[
            good.as_os_str(),
            out.as_os_str(),
            &s("--snr"),
            &s("10"),
            &s("--clip"),
            &s("2"),
        ],
        "clip level 2",
    );
    fails(
        &[
            good.as_os_str(),
            out.as_os_str(),
            &s("--snr"),
            &s("10"),
            &s("--profile"),
            &s("fast"),
        ],
        "unknown profile",
    );
    let missing = d.path().join("missing.wav");
    fails(
        &[missing.as_os_str(), out.as_os_str(), &s("--snr"), &s("10")],
        "missing.wav: cannot read",
    );

    // A truncated recording is read, with a warning.
    let mut bytes = std::fs::read(&good).unwrap();
    bytes.truncate(44 + 8000);
    let cut = d.path().join("cut.wav");
    std::fs::write(&cut, &bytes).unwrap();
    let o = baram()
        .args(["radio", "channel"])
        .arg(&cut)
        .arg(&out)
        .args(["--snr", "20"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("truncated recording") && e.contains("8000 frames"),
        "{e}"
    );
    assert_eq!(read_wav(&out).unwrap().samples.len(), 4000);
}

/// A phone's recording (AAC in M4A, 48 kHz stereo) of a broadcast through a
/// fading channel rebuilds the file; beside it, a file that is not audio is
/// one line naming it, the exit code says something was refused, and the
/// rest goes on.
#[test]
fn decode_reads_a_phone_recording_and_names_what_is_not_audio() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n);
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let news = "밖의 소식: the outside world, plainly described.\n".repeat(4);
    std::fs::write(p("news.txt"), &news).unwrap();
    ok(baram().args(["-q", "radio", "keygen", "-o"]).arg(p("k")));
    ok(baram()
        .args(["-q", "radio", "encode", "--mode", "normal", "--key"])
        .arg(p("k"))
        .arg("-o")
        .arg(p("b.wav"))
        .arg(p("news.txt")));
    ok(baram()
        .args(["-q", "radio", "channel"])
        .arg(p("b.wav"))
        .arg(p("rx.wav"))
        .args(["--snr", "8", "--profile", "moderate", "--seed", "4"]));
    ok(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(p("rx.wav"))
        .args(["-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a", "96k"])
        .arg(p("2024-03-01T12:30.m4a")));
    std::fs::write(p("memo.mp3"), "a shopping list\n").unwrap();
    // Named by a phone: the time, with a colon, given relative (as typed
    // in the folder), which ffmpeg would take for a protocol.
    let o = baram()
        .current_dir(d.path())
        .args(["radio", "decode"])
        .arg(p("memo.mp3"))
        .arg("2024-03-01T12:30.m4a")
        .arg("--into")
        .arg(p("got"))
        .arg("--key")
        .arg(p("k.pub"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    let memo: Vec<_> = e.lines().filter(|l| l.contains("memo.mp3")).collect();
    assert_eq!(memo.len(), 1, "{e}");
    assert!(
        memo[0].starts_with("baram: ")
            && memo[0].contains("neither a WAV file nor audio ffmpeg can read")
            && memo[0].ends_with("skipped"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(p("got/news.txt")).unwrap(), news);
}
