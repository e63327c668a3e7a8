//! Speed of the channel on 10 minutes of audio. Ignored by default (it is
//! meant for release builds): `cargo test --release -p baram-radio --test
//! channel_speed -- --ignored --nocapture`.

use baram_radio::channel::*;
use std::time::Instant;

#[test]
#[ignore]
fn ten_minutes_of_audio() {
    let n = 600 * 8000;
    let x: Vec<f32> = (0..n)
        .map(|i| (0.4 * (i as f64 * 0.9).sin()) as f32)
        .collect();
    for (name, cfg) in [
        ("awgn", ChannelConfig::new(Profile::Awgn, 10.0, 1)),
        ("poor", ChannelConfig::new(Profile::Poor, 10.0, 1)),
        ("flutter+offset+ppm", {
            let mut c = ChannelConfig::new(Profile::Flutter, 10.0, 1);
            c.freq_offset_hz = 50.0;
            c.clock_ppm = 300.0;
            c
        }),
        ("poor am+agc+clip", {
            let mut c = ChannelConfig::new(Profile::Poor, 10.0, 1);
            c.am = Some(Am { depth: 0.8 });
            c.agc = Some(Agc::default());
            c.clip = Some(0.7);
            c
        }),
    ] {
        let t = Instant::now();
        let (y, _) = simulate(&x, &cfg).unwrap();
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "{name}: 600 s of audio in {s:.2} s ({:.0}x real time)",
            600.0 / s
        );
        assert!(y.len() >= n);
    }
    let bytes = wav_bytes(&x).0;
    let t = Instant::now();
    read_wav_bytes("x.wav", &bytes).unwrap();
    eprintln!("read 600 s 8 kHz WAV: {:.2} s", t.elapsed().as_secs_f64());
}
