//! Frame error rate and goodput of a modem mode through the channel simulator.
//!
//! `cargo run --release -p baram-radio --example modem_curve -- MODE PROFILE FRAMES SNR...`
//! prints one JSON line per SNR: frames sent, decoded, FER, goodput (payload
//! bits of decoded frames over the recording's length, every overhead
//! counted: preamble, sync, pilots, prefix, code, CRC, carousel header) and
//! decode time.
//!
//! Options through the environment: `SEED`, `FREQ` (Hz), `PPM`, `AM=1`,
//! `CLIP` (fraction of full scale).

use baram_radio::channel::{self, Am, ChannelConfig, Profile};
use baram_radio::modem::{Demodulator, Mode, Modulator};
use std::time::Instant;

fn env_f(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: modem_curve MODE PROFILE FRAMES SNR...");
        std::process::exit(2);
    }
    let mode = Mode::from_name(&args[0])
        .expect("mode: deepest, deep, robust, sturdy, steady, normal or fast");
    let profile: Profile = args[1].parse().expect("profile");
    let frames: usize = args[2].parse().expect("frames");
    let seed = env_f("SEED", 1.0) as u64;
    // The carousel's data header and CRC-16 are counted as overhead.
    let carousel_overhead = baram_radio::carousel::DATA_OVERHEAD;
    let payloads: Vec<Vec<u8>> = (0..frames)
        .map(|i| {
            (0..mode.payload_len())
                .map(|j| (i * 131 + j * 7 + (j >> 3)) as u8)
                .collect()
        })
        .collect();
    let audio = Modulator::new().modulate(mode, &payloads).unwrap();
    let seconds = audio.len() as f64 / 8000.0;
    let mut demod = Demodulator::new();
    for snr in &args[3..] {
        let snr: f64 = snr.parse().expect("snr");
        let mut cfg = ChannelConfig::new(profile, snr, seed);
        cfg.freq_offset_hz = env_f("FREQ", 0.0);
        cfg.clock_ppm = env_f("PPM", 0.0);
        if std::env::var("AM").is_ok_and(|v| v == "1") {
            cfg.am = Some(Am { depth: 0.8 });
        }
        if let Ok(c) = std::env::var("CLIP") {
            cfg.clip = c.parse().ok();
        }
        let (rx, rep) = channel::simulate(&audio, &cfg).unwrap();
        let t0 = Instant::now();
        let got = demod.demodulate(&rx);
        let dt = t0.elapsed().as_secs_f64();
        let mut ok = 0;
        for (_, p) in got.payloads() {
            if payloads.iter().any(|q| q[..] == *p) {
                ok += 1;
            } else {
                eprintln!("a decoded frame that was never sent");
            }
        }
        if std::env::var("DEBUG").is_ok() {
            for (r, p) in &got.frames {
                if r.esn0_db > -15.0
                    || p.is_some()
                    || std::env::var("DEBUG").is_ok_and(|v| v == "2")
                {
                    eprintln!("{r:?}");
                }
            }
        }
        let fer = 1.0 - ok as f64 / frames as f64;
        let goodput = (ok * (mode.payload_len() - carousel_overhead) * 8) as f64 / seconds;
        let shannon = 3000.0 * (1.0 + 10f64.powf(snr / 10.0)).log2();
        let esn0: Vec<String> = got
            .frames
            .iter()
            .map(|(r, _)| {
                if r.esn0_db.is_finite() {
                    format!("{:.1}", r.esn0_db)
                } else {
                    "null".to_string()
                }
            })
            .collect();
        println!(
            "{{\"mode\":\"{mode}\",\"profile\":\"{}\",\"snr_db\":{snr},\"measured_snr_db\":{:.2},\"frames\":{frames},\"detected\":{},\"decoded\":{ok},\"fer\":{fer:.3},\"goodput_bps\":{goodput:.1},\"shannon_bps\":{shannon:.0},\"decode_x_realtime\":{:.1},\"esn0\":[{}]}}",
            profile.name(),
            rep.snr_3k_db,
            got.frames.len(),
            seconds / dt,
            esn0.join(",")
        );
    }
}
