//! Helpers shared by the channel tests: FFTs (rustfft, an independent
//! implementation) and test signals.
#![allow(dead_code)]

use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

pub const FS: f64 = 8000.0;

pub fn fft(x: &[Complex64]) -> Vec<Complex64> {
    let mut v = x.to_vec();
    FftPlanner::new().plan_fft_forward(v.len()).process(&mut v);
    v
}

pub fn ifft(x: &[Complex64]) -> Vec<Complex64> {
    let mut v = x.to_vec();
    FftPlanner::new().plan_fft_inverse(v.len()).process(&mut v);
    let n = v.len() as f64;
    v.iter_mut().for_each(|c| *c /= n);
    v
}

pub fn tone(f: f64, amp: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * f * i as f64 / FS).sin()) as f32)
        .collect()
}

/// Hann-windowed magnitude spectrum (amplitude-calibrated at bin centres:
/// a sine of amplitude A at a bin centre reads A).
pub fn spectrum(x: &[f32]) -> Vec<f64> {
    let n = x.len();
    let w: Vec<Complex64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let h = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
            Complex64::new(f64::from(v) * h, 0.0)
        })
        .collect();
    fft(&w)[..n / 2]
        .iter()
        .map(|c| c.norm() * 4.0 / n as f64)
        .collect()
}

/// The strongest frequency (Hz), refined by a parabola through the log
/// magnitudes of the peak bin and its neighbours, and the peak magnitude.
pub fn peak(x: &[f32], fs: f64) -> (f64, f64) {
    let s = spectrum(x);
    let k = (1..s.len() - 1)
        .max_by(|&a, &b| s[a].partial_cmp(&s[b]).unwrap())
        .unwrap();
    let (a, b, c) = (s[k - 1].ln(), s[k].ln(), s[k + 1].ln());
    let d = 0.5 * (a - c) / (a - 2.0 * b + c);
    ((k as f64 + d) * fs / x.len() as f64, s[k])
}

/// The analytic signal of a real signal (FFT method), optionally keeping
/// only positive frequencies in [lo, hi] Hz.
pub fn analytic_band(x: &[f32], lo: f64, hi: f64) -> Vec<Complex64> {
    let n = x.len();
    let c: Vec<Complex64> = x
        .iter()
        .map(|&v| Complex64::new(f64::from(v), 0.0))
        .collect();
    let mut s = fft(&c);
    for (k, v) in s.iter_mut().enumerate() {
        let f = k as f64 * FS / n as f64;
        if k == 0 || k >= n / 2 || f < lo || f > hi {
            *v = Complex64::new(0.0, 0.0);
        } else {
            *v *= 2.0;
        }
    }
    ifft(&s)
}

/// A linear chirp from f0 to f1 Hz over n samples.
pub fn chirp(f0: f64, f1: f64, n: usize, amp: f64) -> Vec<f32> {
    let t1 = n as f64 / FS;
    (0..n)
        .map(|i| {
            let t = i as f64 / FS;
            (amp * (2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * t1))).sin()) as f32
        })
        .collect()
}

/// A modem-like test signal: tones spread over 300–2700 Hz.
pub fn multitone(n: usize, amp: f64) -> Vec<f32> {
    let fs = [317.0, 733.0, 1109.0, 1499.0, 1913.0, 2311.0, 2687.0];
    (0..n)
        .map(|i| {
            let t = i as f64 / FS;
            let v: f64 = fs
                .iter()
                .enumerate()
                .map(|(j, f)| (2.0 * PI * f * t + j as f64).sin())
                .sum();
            (amp * v / fs.len() as f64) as f32
        })
        .collect()
}

pub fn db(x: f64) -> f64 {
    10.0 * x.log10()
}
