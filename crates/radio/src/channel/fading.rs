//! Rayleigh-fading tap gains with a Gaussian Doppler spectrum.
//!
//! Method: complex white Gaussian noise at a low rate `fs_low` (about 128
//! times the spectrum's sigma) is filtered by a Gaussian FIR, then linearly
//! interpolated up to the audio rate. Why this and not a sum of sinusoids:
//! filtered noise is a true Gaussian process, so the tap is exactly complex
//! Gaussian (its magnitude exactly Rayleigh) and ergodic: one long run's time
//! averages converge to the ensemble statistics, which is what the tests
//! check. A sum of N sinusoids is only Gaussian as N grows and each run's
//! time autocorrelation is a fixed sum of N cosines, off by about 1/sqrt(N).
//!
//! The Gaussian FIR `h(t) = exp(-4 pi^2 sigma^2 t^2)` has `|H(f)|^2 =
//! exp(-f^2 / (2 sigma^2))`, so the tap's spectrum is a Gaussian of standard
//! deviation sigma and its autocorrelation is `exp(-2 pi^2 sigma^2 tau^2)`.
//! The FIR spans ±5 of its own time standard deviations (tail below 4e-6).
//! Linear interpolation leaves spectral images of total relative power
//! about (pi^2 / 3) (sigma / fs_low)^2 = 2e-4 (-37 dB) and lowers the
//! variance by as much.

use super::rng::Gaussian;
use num_complex::Complex64;
use std::collections::VecDeque;

/// Low-rate samples per sigma of the Doppler spectrum.
const OVERSAMPLE: f64 = 128.0;

/// One path's complex tap gain, sample by sample at the audio rate.
#[derive(Clone, Debug)]
pub struct TapGen {
    rng: Gaussian,
    /// Standard deviation of each quadrature of the white input.
    std: f64,
    fir: Vec<f64>,
    white: VecDeque<Complex64>,
    /// Audio samples per low-rate sample.
    m: u64,
    g0: Complex64,
    g1: Complex64,
    n: u64,
}

impl TapGen {
    /// A tap of mean power `power` (E|h|^2), Gaussian Doppler spectrum with
    /// standard deviation `sigma_hz`, at audio rate `fs`, drawing from `rng`.
    pub fn new(sigma_hz: f64, power: f64, fs: f64, rng: Gaussian) -> Self {
        assert!(sigma_hz > 0.0 && sigma_hz.is_finite());
        let m = ((fs / (OVERSAMPLE * sigma_hz)).round() as u64).max(1);
        let fs_low = fs / m as f64;
        let a = 4.0 * std::f64::consts::PI.powi(2) * (sigma_hz / fs_low).powi(2);
        // Time standard deviation of h in low-rate samples: 1 / sqrt(2 a).
        let half = (5.0 / (2.0 * a).sqrt()).ceil() as usize;
        let mut fir: Vec<f64> = (0..=2 * half)
            .map(|j| {
                let k = j as f64 - half as f64;
                (-a * k * k).exp()
            })
            .collect();
        let e: f64 = fir.iter().map(|v| v * v).sum::<f64>().sqrt();
        fir.iter_mut().for_each(|v| *v /= e);
        let mut t = TapGen {
            rng,
            std: (power / 2.0).sqrt(),
            white: VecDeque::with_capacity(fir.len()),
            fir,
            m,
            g0: Complex64::new(0.0, 0.0),
            g1: Complex64::new(0.0, 0.0),
            n: 0,
        };
        // Fill the filter so the process is stationary from sample 0.
        for _ in 0..t.fir.len() - 1 {
            let w = t.draw();
            t.white.push_back(w);
        }
        t.g0 = t.step_low();
        t.g1 = t.step_low();
        t
    }

    fn draw(&mut self) -> Complex64 {
        let re = self.rng.sample() * self.std;
        let im = self.rng.sample() * self.std;
        Complex64::new(re, im)
    }

    fn step_low(&mut self) -> Complex64 {
        let w = self.draw();
        self.white.push_back(w);
        if self.white.len() > self.fir.len() {
            self.white.pop_front();
        }
        let mut acc = Complex64::new(0.0, 0.0);
        for (h, w) in self.fir.iter().zip(&self.white) {
            acc += w * *h;
        }
        acc
    }

    /// The tap at the next audio sample.
    #[inline]
    pub fn next_tap(&mut self) -> Complex64 {
        let r = self.n % self.m;
        if r == 0 && self.n > 0 {
            self.g0 = self.g1;
            self.g1 = self.step_low();
        }
        self.n += 1;
        let a = r as f64 / self.m as f64;
        self.g0 + (self.g1 - self.g0) * a
    }

    /// Audio samples per low-rate sample.
    pub fn decimation(&self) -> u64 {
        self.m
    }
}
