//! Statistical tests of the channel simulator against independent oracles:
//! an FFT (rustfft) for spectra, closed-form distributions for fading, and
//! tolerances computed from the number of independent samples. Seeds are
//! fixed, so each test is deterministic; its tolerance is the one a random
//! seed would pass with high probability (4-5 standard errors).

mod channel_util;

use baram_radio::channel::*;
use channel_util::*;
use num_complex::Complex64 as C;
use std::f64::consts::PI;

fn noiseless(mut cfg: ChannelConfig) -> ChannelConfig {
    cfg.snr_db = f64::INFINITY;
    cfg
}

/// Noise measured by subtraction of the noiseless output (same seed, so
/// the same fading), its power in 0–3 kHz measured with an FFT.
fn measured_noise(x: &[f32], cfg: &ChannelConfig) -> (Vec<f64>, f64, f64, ChannelReport) {
    let (y, rep) = simulate(x, cfg).unwrap();
    let (y0, _) = simulate(x, &noiseless(cfg.clone())).unwrap();
    assert_eq!(y.len(), y0.len());
    let n: Vec<f64> = y
        .iter()
        .zip(&y0)
        .map(|(a, b)| f64::from(*a) - f64::from(*b))
        .collect();
    let total = n.iter().map(|v| v * v).sum::<f64>() / n.len() as f64;
    let spec = fft(&n.iter().map(|&v| C::new(v, 0.0)).collect::<Vec<_>>());
    let len = n.len();
    let mut inband = 0.0;
    let mut all = 0.0;
    for (k, c) in spec.iter().enumerate() {
        let f = k.min(len - k) as f64 * FS / len as f64;
        all += c.norm_sqr();
        if f <= 3000.0 {
            inband += c.norm_sqr();
        }
    }
    (n, total, total * inband / all, rep)
}

#[test]
fn snr_in_3khz_matches_the_request() {
    let n = 40_000; // 5 s
    let x = multitone(n, 0.5);
    let p = mean_square(&x);
    for (profile, snr) in [
        (Profile::Awgn, 10.0),
        (Profile::Poor, 3.0),
        (Profile::Awgn, -5.0),
    ] {
        let cfg = ChannelConfig::new(profile, snr, 11);
        let (noise, total, in3k, rep) = measured_noise(&x, &cfg);
        // The noise is white over 0-4 kHz: 3/4 of it lies below 3 kHz.
        // Standard error of that fraction from the n/2 independent FFT bins.
        let frac = in3k / total;
        let bins = n as f64 / 2.0;
        let se_frac = 0.75 * 0.25 * (1.0 / (0.75 * bins) + 1.0 / (0.25 * bins)).sqrt();
        assert!(
            (frac - 0.75).abs() < 5.0 * se_frac,
            "{profile:?}: fraction in 3 kHz {frac}"
        );
        // Measured SNR against the request: +-0.2 dB, and within 5 standard
        // errors of a variance estimate from 0.75 n degrees of freedom.
        let measured = db(p / in3k);
        let se_db = 10.0 / 10f64.ln() * (2.0 / (0.75 * n as f64)).sqrt();
        let err = measured - snr;
        assert!(
            err.abs() < 0.2 && err.abs() < 5.0 * se_db,
            "{profile:?}: SNR {measured} for {snr} (se {se_db} dB)"
        );
        // The simulator's own report agrees with the independent measurement.
        assert!(
            (rep.snr_ref_3k_db - measured).abs() < 0.05,
            "{rep:?} vs {measured}"
        );
        assert!((rep.noise_power - total).abs() / total < 1e-6);
        // Noise is zero-mean Gaussian: kurtosis 3 within 5 standard errors.
        let m2 = noise.iter().map(|v| v * v).sum::<f64>() / n as f64;
        let m4 = noise.iter().map(|v| v.powi(4)).sum::<f64>() / n as f64;
        let kurt = m4 / (m2 * m2);
        assert!(
            (kurt - 3.0).abs() < 5.0 * (24.0 / n as f64).sqrt(),
            "kurtosis {kurt}"
        );
    }
    // AWGN: the received signal power is the input's.
    let (_, rep) = simulate(&x, &ChannelConfig::new(Profile::Awgn, 10.0, 1)).unwrap();
    assert!((rep.signal_power / p - 1.0).abs() < 1e-3);
}

/// sqrt of (1/T) integral |rho|^2: the standard error of a time average of
/// |h|^2 / P or of a normalised autocorrelation, T seconds, sigma in Hz.
fn se_fading(sigma: f64, seconds: f64) -> f64 {
    let t_int = 1.0 / (2.0 * PI.sqrt() * sigma);
    (t_int / seconds).sqrt()
}

fn taps(spread: f64, seconds: f64, seed: u64, stream: u64) -> Vec<C> {
    let mut g = fading::TapGen::new(spread / 2.0, 0.5, FS, rng::Gaussian::new(seed, stream));
    // Every 8th sample (1 ms): far denser than the fading.
    let n = (seconds * FS) as usize;
    let mut out = Vec::with_capacity(n / 8);
    for i in 0..n {
        let t = g.next_tap();
        if i % 8 == 0 {
            out.push(t);
        }
    }
    out
}

/// Normalised autocorrelation at lag `lag` (samples of `h`).
fn autocorr(h: &[C], lag: usize) -> C {
    let p: f64 = h.iter().map(|v| v.norm_sqr()).sum();
    let mut s = C::new(0.0, 0.0);
    for i in 0..h.len() - lag {
        s += h[i + lag] * h[i].conj();
    }
    s / p * (h.len() as f64 / (h.len() - lag) as f64)
}

/// Kolmogorov-Smirnov distance of |h|^2 / mean from Exp(1).
fn ks_exponential(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let mut s: Vec<f64> = v.iter().map(|x| x / mean).collect();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len() as f64;
    s.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = 1.0 - (-x).exp();
            (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn flutter_taps_are_rayleigh_with_a_gaussian_doppler_spectrum() {
    let spread = 10.0;
    let sigma = spread / 2.0;
    let secs = 300.0;
    let se = se_fading(sigma, secs);
    let h1 = taps(spread, secs, 5, rng::STREAM_PATH);
    let h2 = taps(spread, secs, 5, rng::STREAM_PATH + 1);
    for h in [&h1, &h2] {
        // Mean power 1/2 per path (total 1).
        let p = h.iter().map(|v| v.norm_sqr()).sum::<f64>() / h.len() as f64;
        assert!((p / 0.5 - 1.0).abs() < 4.0 * se, "path power {p} (se {se})");
        // |h|^2 exponential (|h| Rayleigh): KS on samples 3 correlation
        // times apart (correlation exp(-4.5) = 0.01): D < 1.95/sqrt(n) (0.1%).
        let step = (3.0 / (2.0 * PI * sigma) * 1000.0).ceil() as usize;
        let pw: Vec<f64> = h.iter().step_by(step).map(|v| v.norm_sqr()).collect();
        let d = ks_exponential(&pw);
        assert!(
            d < 1.95 / (pw.len() as f64).sqrt(),
            "KS {d} over {} samples",
            pw.len()
        );
        // Autocorrelation exp(-2 pi^2 sigma^2 tau^2) at lags where it is
        // 0.9 ... 0.01; the imaginary part is 0 (no Doppler shift).
        for target in [0.9f64, 0.7, 0.5, 0.3, 0.1, 0.01] {
            let tau = (-target.ln() / (2.0 * PI * PI * sigma * sigma)).sqrt();
            let lag = (tau * 1000.0).round() as usize;
            let want = (-2.0 * PI * PI * sigma * sigma * (lag as f64 / 1000.0).powi(2)).exp();
            let r = autocorr(h, lag);
            assert!(
                (r.re - want).abs() < 4.0 * se,
                "lag {lag} ms: {} want {want} (se {se})",
                r.re
            );
            assert!(r.im.abs() < 4.0 * se, "lag {lag} ms: imaginary {}", r.im);
        }
    }
    // The two paths are independent: cross-correlation 0.
    let p1: f64 = h1.iter().map(|v| v.norm_sqr()).sum();
    let p2: f64 = h2.iter().map(|v| v.norm_sqr()).sum();
    let x: C = h1.iter().zip(&h2).map(|(a, b)| a * b.conj()).sum::<C>() / (p1 * p2).sqrt();
    assert!(x.norm() < 4.0 * se, "paths correlate: {x}");
}

#[test]
fn slow_profiles_scale_the_correlation_time() {
    // Poor (1 Hz spread, sigma 0.5 Hz): the lag where the correlation is
    // 1/2 is 10 times that of flutter. Coarse, from 300 s (~530 independent samples).
    let sigma = 0.5;
    let h = taps(1.0, 300.0, 9, rng::STREAM_PATH);
    let se = se_fading(sigma, 300.0);
    for target in [0.8f64, 0.5, 0.2] {
        let tau = (-target.ln() / (2.0 * PI * PI * sigma * sigma)).sqrt();
        let r = autocorr(&h, (tau * 1000.0).round() as usize);
        assert!(
            (r.re - target).abs() < 4.0 * se,
            "{target}: {} (se {se})",
            r.re
        );
    }
}

#[test]
fn a_tone_through_the_channel_fades_as_the_model_says() {
    // End to end: the complex envelope of a 1 kHz tone after the flutter
    // channel is h1 + h2 exp(-j w d): complex Gaussian, mean power 1, with
    // the paths' Gaussian autocorrelation. 30 s (debug builds are slow).
    let secs = 30.0;
    let n = (secs * FS) as usize;
    let x = tone(1000.0, 0.5, n);
    let (y, _) = simulate(&x, &ChannelConfig::new(Profile::Flutter, f64::INFINITY, 2)).unwrap();
    let z = analytic_band(&y, 900.0, 1100.0);
    // Envelope: z / (0.5 exp(j w n - j pi/2)).
    let env: Vec<C> = z
        .iter()
        .enumerate()
        .skip(8)
        .step_by(8)
        .map(|(i, v)| v * C::from_polar(2.0, -(2.0 * PI * 1000.0 * i as f64 / FS - PI / 2.0)))
        .collect();
    let se = se_fading(5.0, secs);
    let p = env.iter().map(|v| v.norm_sqr()).sum::<f64>() / env.len() as f64;
    assert!((p - 1.0).abs() < 4.0 * se, "mean power gain {p} (se {se})");
    for target in [0.7f64, 0.3] {
        let tau = (-target.ln() / (2.0 * PI * PI * 25.0)).sqrt();
        let r = autocorr(&env, (tau * 1000.0).round() as usize);
        assert!((r.re - target).abs() < 4.0 * se, "{target}: {}", r.re);
    }
}

#[test]
fn the_second_path_arrives_later_by_the_profile_delay() {
    // Repeated 0.25 s chirps through each profile without noise; the
    // complex cross-correlation of output and input, summed in power over
    // the chirps, peaks at lag 0 and at the delay, nowhere else.
    let one = chirp(300.0, 2700.0, 2000, 0.5);
    let x: Vec<f32> = one.iter().cycle().take(40 * 2000).copied().collect();
    for profile in [Profile::Poor, Profile::Moderate, Profile::Awgn] {
        let (y, _) = simulate(&x, &ChannelConfig::new(profile, f64::INFINITY, 4)).unwrap();
        let xa = analytic_band(&x, 0.0, 4000.0);
        let ya = analytic_band(&y, 0.0, 4000.0);
        let lags = 0..40usize;
        let mut energy = vec![0.0; lags.len()];
        for c in 1..39 {
            let s = c * 2000;
            for lag in lags.clone() {
                let mut acc = C::new(0.0, 0.0);
                for i in s..s + 2000 {
                    acc += ya[i + lag] * xa[i].conj();
                }
                energy[lag] += acc.norm_sqr();
            }
        }
        let total: f64 = energy.iter().sum();
        let delay = profile.watterson().map(|w| w.delay_samples()).unwrap_or(0);
        // The chirp's main lobe is about 3 samples wide: take +-1.
        let near = |d: usize| -> f64 { energy[d.saturating_sub(2)..=d + 2].iter().sum() };
        let argmax = |r: std::ops::Range<usize>| {
            r.max_by(|&a, &b| energy[a].partial_cmp(&energy[b]).unwrap())
                .unwrap()
        };
        if delay == 0 {
            assert!(near(0) / total > 0.8, "{profile:?}: {energy:?}");
        } else {
            assert_eq!(argmax(0..delay / 2), 0, "{profile:?}: {energy:?}");
            assert_eq!(argmax(delay / 2 + 1..40), delay, "{profile:?}: {energy:?}");
            assert!(
                (near(0) + near(delay)) / total > 0.8,
                "{profile:?}: {energy:?}"
            );
            // Both paths carry power (equal on average; 40 chirps over a 1 Hz
            // or 0.5 Hz fading give a few independent looks: each >= 15%).
            assert!(
                near(0) / total > 0.15 && near(delay) / total > 0.15,
                "{profile:?}: {energy:?}"
            );
            let mid = energy[delay / 2];
            assert!(mid / total < 0.01, "{profile:?}: {energy:?}");
        }
    }
}

#[test]
fn awgn_without_noise_is_the_identity() {
    let x = multitone(8000, 0.7);
    let (y, rep) = simulate(&x, &ChannelConfig::new(Profile::Awgn, f64::INFINITY, 1)).unwrap();
    assert_eq!(x, y);
    assert_eq!(rep.noise_power, 0.0);
}

#[test]
fn frequency_offset_moves_a_tone_by_exactly_the_offset() {
    let n = 64_000; // 8 s: bins of 0.125 Hz
    let x = tone(1000.0, 0.5, n);
    for off in [37.5, -50.0, 12.3] {
        let mut cfg = ChannelConfig::new(Profile::Awgn, f64::INFINITY, 1);
        cfg.freq_offset_hz = off;
        let (y, _) = simulate(&x, &cfg).unwrap();
        let (f, a) = peak(&y[..n], FS);
        assert!(
            (f - (1000.0 + off)).abs() < 0.02,
            "offset {off}: peak at {f}"
        );
        // A clean shift: the mirror image (imperfect Hilbert) under -50 dB.
        let s = spectrum(&y[..n]);
        let mirror = ((1000.0 - off) / FS * n as f64).round() as usize;
        let img = s[mirror - 2..=mirror + 2]
            .iter()
            .cloned()
            .fold(0.0, f64::max);
        assert!(
            20.0 * (img / a).log10() < -50.0,
            "offset {off}: image {img} vs {a}"
        );
    }
}

#[test]
fn clock_error_stretches_the_recording_by_the_ratio() {
    let n = 40_000;
    let x = tone(2000.0, 0.5, n);
    for ppm in [300.0, -300.0, 1000.0] {
        let mut cfg = ChannelConfig::new(Profile::Awgn, f64::INFINITY, 1);
        cfg.clock_ppm = ppm;
        let (y, rep) = simulate(&x, &cfg).unwrap();
        let want = (n as f64 * (1.0 + ppm * 1e-6)).round() as usize;
        assert_eq!(y.len(), want, "{ppm} ppm");
        assert_eq!(rep.samples_out as usize, want);
        // Every tone lower by the same ratio (300 ppm: 0.6 Hz at 2 kHz).
        let (f, _) = peak(&y[..n - 1000], FS);
        let fw = 2000.0 / (1.0 + ppm * 1e-6);
        assert!((f - fw).abs() < 0.03, "{ppm} ppm: {f} want {fw}");
    }
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let x = multitone(16_000, 0.5);
    let mut cfg = ChannelConfig::new(Profile::Poor, 5.0, 42);
    cfg.freq_offset_hz = 20.0;
    cfg.clock_ppm = 150.0;
    let a = wav_bytes(&simulate(&x, &cfg).unwrap().0).0;
    let b = wav_bytes(&simulate(&x, &cfg).unwrap().0).0;
    assert_eq!(a, b);
    cfg.seed = 43;
    let c = wav_bytes(&simulate(&x, &cfg).unwrap().0).0;
    assert_ne!(a, c);
}

#[test]
fn output_is_independent_of_chunking() {
    let x = multitone(20_000, 0.5);
    let mut ssb = ChannelConfig::new(Profile::Flutter, 8.0, 7);
    ssb.clock_ppm = -250.0;
    ssb.freq_offset_hz = -33.0;
    let mut am = ChannelConfig::new(Profile::Poor, 15.0, 7);
    am.am = Some(Am { depth: 0.8 });
    am.agc = Some(Agc::default());
    am.clip = Some(0.5);
    for cfg in [ssb, am] {
        let (whole, rep) = simulate(&x, &cfg).unwrap();
        let mut ch = Channel::new(&cfg, mean_square(&x)).unwrap();
        let mut out = Vec::new();
        let mut i = 0;
        let sizes = [1usize, 7, 1000, 333, 4096, 2, 50];
        let mut k = 0;
        while i < x.len() {
            let s = sizes[k % sizes.len()].min(x.len() - i);
            ch.process(&x[i..i + s], &mut out);
            i += s;
            k += 1;
        }
        let rep2 = ch.finish(&mut out);
        assert_eq!(whole, out);
        assert_eq!(rep, rep2);
    }
}

#[test]
fn am_envelope_detection_is_clean_without_fading_and_distorts_with_selective_fading() {
    let n = 32_000;
    let x = tone(1000.0, 0.9, n);
    let mut cfg = ChannelConfig::new(Profile::Awgn, f64::INFINITY, 3);
    cfg.am = Some(Am { depth: 0.9 });
    let (y, _) = simulate(&x, &cfg).unwrap();
    // Past the band-pass's edges the detected audio is the input.
    let err: f64 = x[400..n - 400]
        .iter()
        .zip(&y[400..n - 400])
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / (n - 800) as f64;
    assert!(
        db(err / mean_square(&x)) < -40.0,
        "AM error {} dB",
        db(err / mean_square(&x))
    );
    // Poor: carrier and sidebands fade apart, so the envelope carries the
    // second harmonic (and more): far above the clean case.
    let h2 = |y: &[f32]| {
        let s = spectrum(&y[..n]);
        let k = (2000.0 / FS * n as f64) as usize;
        let k1 = (1000.0 / FS * n as f64) as usize;
        20.0 * (s[k - 3..=k + 3].iter().cloned().fold(0.0, f64::max) / s[k1]).log10()
    };
    let clean = h2(&y);
    cfg.fading = Profile::Poor.watterson();
    let (yf, _) = simulate(&x, &cfg).unwrap();
    let faded = h2(&yf);
    assert!(
        clean < -60.0 && faded > clean + 25.0,
        "2nd harmonic {clean} dB clean, {faded} dB faded"
    );
    // With noise and no fading: the detected SNR close to the request.
    cfg.fading = None;
    cfg.snr_db = 20.0;
    let (_, rep) = simulate(&x, &cfg).unwrap();
    assert!((rep.snr_ref_3k_db - 20.0).abs() < 0.5, "{rep:?}");
}

#[test]
fn clipping_and_agc() {
    let x = multitone(16_000, 0.8);
    let mut cfg = ChannelConfig::new(Profile::Awgn, 20.0, 1);
    cfg.clip = Some(0.2);
    let (y, rep) = simulate(&x, &cfg).unwrap();
    assert!(y.iter().all(|v| v.abs() <= 0.2));
    assert!(rep.clipped > 1000, "{rep:?}");
    // AGC brings a quiet signal (-40 dBFS) to about RMS 0.25.
    let q = multitone(40_000, 0.01);
    let mut cfg = ChannelConfig::new(Profile::Awgn, 30.0, 1);
    cfg.agc = Some(Agc::default());
    let (y, _) = simulate(&q, &cfg).unwrap();
    let rms = mean_square(&y[20_000..]).sqrt();
    assert!((rms / 0.25 - 1.0).abs() < 0.3, "AGC rms {rms}");
}

#[test]
fn bad_input_and_settings_are_clear_errors() {
    let silent = vec![0.0f32; 1000];
    let e = simulate(&silent, &ChannelConfig::new(Profile::Good, 10.0, 1)).unwrap_err();
    assert!(e.to_string().contains("silent"), "{e}");
    // Silence with no noise is fine.
    assert!(
        simulate(
            &silent,
            &ChannelConfig::new(Profile::Good, f64::INFINITY, 1)
        )
        .is_ok()
    );
    assert!(matches!(
        simulate(&[], &ChannelConfig::new(Profile::Good, 1.0, 1)),
        Err(ChannelError::EmptyInput)
    ));
    let mut cfg = ChannelConfig::new(Profile::Good, 10.0, 1);
    cfg.clip = Some(1.5);
    assert!(
        simulate(&silent, &cfg)
            .unwrap_err()
            .to_string()
            .contains("clip")
    );
    let mut cfg = ChannelConfig::new(Profile::Good, f64::NAN, 1);
    assert!(simulate(&silent, &cfg).is_err());
    cfg.snr_db = 0.0;
    cfg.freq_offset_hz = f64::INFINITY;
    assert!(
        simulate(&silent, &cfg)
            .unwrap_err()
            .to_string()
            .contains("offset")
    );
    assert!("fast".parse::<Profile>().unwrap_err().contains("awgn"));
    assert_eq!("POOR".parse::<Profile>().unwrap(), Profile::Poor);
    // Pure noise in is just a signal.
    let noise: Vec<f32> = (0..8000)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3)
        .collect();
    assert!(simulate(&noise, &ChannelConfig::new(Profile::Poor, 0.0, 1)).is_ok());
}
