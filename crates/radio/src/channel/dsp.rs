//! Filters for the channel: Kaiser-windowed designs, a streaming
//! linear-phase FIR that keeps its output aligned with its input, and an
//! arbitrary-ratio polyphase windowed-sinc resampler.

use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

/// The last resampler kernel bank built, by (from, to) bits: reading many
/// files of one rate builds it once.
type Bank = ((u64, u64), Arc<Vec<f64>>);
static BANK: Mutex<Option<Bank>> = Mutex::new(None);

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// The Kaiser window at `u` in [-1, 1] (0 outside).
pub fn kaiser(u: f64, beta: f64) -> f64 {
    if u.abs() > 1.0 {
        return 0.0;
    }
    bessel_i0(beta * (1.0 - u * u).max(0.0).sqrt()) / bessel_i0(beta)
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// Kaiser-windowed low-pass, `2 * half + 1` taps, cutoff `fc` as a fraction
/// of the sample rate (0 < fc < 0.5), DC gain exactly 1.
pub fn lowpass(half: usize, fc: f64, beta: f64) -> Vec<f64> {
    let mut h: Vec<f64> = (0..=2 * half)
        .map(|j| {
            let k = j as f64 - half as f64;
            2.0 * fc * sinc(2.0 * fc * k) * kaiser(k / (half as f64 + 1.0), beta)
        })
        .collect();
    let s: f64 = h.iter().sum();
    h.iter_mut().for_each(|v| *v /= s);
    h
}

/// Kaiser-windowed band-pass between `lo` and `hi` (fractions of the sample
/// rate): the difference of two unit-DC low-passes, so its DC gain is 0.
pub fn bandpass(half: usize, lo: f64, hi: f64, beta: f64) -> Vec<f64> {
    let a = lowpass(half, hi, beta);
    let b = lowpass(half, lo, beta);
    a.iter().zip(&b).map(|(x, y)| x - y).collect()
}

/// Kaiser-windowed Hilbert transformer (type III, `2 * half + 1` taps, half
/// odd-indexed taps zero), as coefficients on the window `x[n-half..=n+half]`.
pub fn hilbert(half: usize, beta: f64) -> Vec<f64> {
    (0..=2 * half)
        .map(|j| {
            // Coefficient of x[n - half + j] is h[k] with k = half - j.
            let k = half as i64 - j as i64;
            if k % 2 == 0 {
                0.0
            } else {
                2.0 / (PI * k as f64) * kaiser(k as f64 / (half as f64 + 1.0), beta)
            }
        })
        .collect()
}

/// A dot product with four accumulators (lets the compiler vectorise).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        s[0] += x[0] * y[0];
        s[1] += x[1] * y[1];
        s[2] += x[2] * y[2];
        s[3] += x[3] * y[3];
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        t += x * y;
    }
    t
}

/// A streaming FIR whose output `y[n] = sum_j c[j] x[n - half + j]` is
/// aligned with its input (zero delay, zeros before the start and after the
/// end). It emits `y[n]` once `x[n + half]` has arrived; [`CenteredFir::finish`]
/// emits the rest. Each output comes with the centre sample `x[n]`.
#[derive(Clone, Debug)]
pub struct CenteredFir {
    coef: Vec<f64>,
    /// For an antisymmetric filter with zero even-offset taps (a Hilbert
    /// transformer whose half-length is odd): the taps c[0], c[2], ... up to
    /// the centre, applied as c[2m] (w[2m] - w[len-1-2m]).
    odd: Option<Vec<f64>>,
    half: usize,
    buf: Vec<f64>,
    received: u64,
    emitted: u64,
}

impl CenteredFir {
    pub fn new(coef: Vec<f64>) -> Self {
        assert!(coef.len() % 2 == 1, "a centred FIR has an odd length");
        let half = coef.len() / 2;
        let len = coef.len();
        let sparse = half % 2 == 1
            && (0..len).all(|j| {
                let k = j.abs_diff(half);
                (k % 2 == 1 || coef[j] == 0.0) && coef[j] == -coef[len - 1 - j]
            });
        let odd = sparse.then(|| (0..half).step_by(2).map(|j| coef[j]).collect());
        CenteredFir {
            odd,
            coef,
            half,
            buf: vec![0.0; half],
            received: 0,
            emitted: 0,
        }
    }

    fn run(&mut self, out: &mut Vec<(f64, f64)>) {
        let len = self.coef.len();
        let mut i = 0;
        while i + len <= self.buf.len() && self.emitted < self.received {
            let w = &self.buf[i..i + len];
            let y = match &self.odd {
                // Half the taps are zero: only odd offsets from the centre.
                Some(c) => c
                    .iter()
                    .enumerate()
                    .map(|(m, c)| c * (w[2 * m] - w[len - 1 - 2 * m]))
                    .sum(),
                None => dot(&self.coef, w),
            };
            out.push((w[self.half], y));
            self.emitted += 1;
            i += 1;
        }
        self.buf.drain(..i);
    }

    /// Feeds samples; appends the (centre, filtered) pairs now complete.
    pub fn process(&mut self, input: &[f64], out: &mut Vec<(f64, f64)>) {
        self.buf.extend_from_slice(input);
        self.received += input.len() as u64;
        self.run(out);
    }

    /// Ends the input: appends the outputs still owed.
    pub fn finish(&mut self, out: &mut Vec<(f64, f64)>) {
        self.buf.extend(std::iter::repeat_n(0.0, self.half));
        self.run(out);
    }
}

/// Arbitrary-ratio resampler: `y[m] = sum_k x[k] g(m * step - k)` with `g`
/// a Kaiser-windowed sinc (32 zero crossings each side, beta 8.6, about
/// -85 dB stop band) whose cutoff is 0.9 of the lower Nyquist frequency.
/// The kernel is tabulated in 256 phases per input sample and linearly
/// interpolated between neighbouring phases. Output `m` is the input at
/// time `m * step` (no delay); the output has `round(n_in / step)` samples.
#[derive(Clone, Debug)]
pub struct Resampler {
    step: f64,
    /// Taps per output (2 H).
    taps: usize,
    /// H: taps run from floor(t) - H + 1 to floor(t) + H.
    h: usize,
    bank: Arc<Vec<f64>>,
    buf: Vec<f64>,
    /// Absolute index of buf[0].
    base: i64,
    received: u64,
    next: u64,
}

const PHASES: usize = 256;

impl Resampler {
    /// A resampler from rate `from` to rate `to` (any positive ratio).
    pub fn new(from: f64, to: f64) -> Self {
        let step = from / to;
        let c = 0.9 * (to / from).min(1.0);
        let zeros = 32.0;
        let r = zeros / c;
        let h = r.ceil() as usize;
        let taps = 2 * h;
        let key = (from.to_bits(), to.to_bits());
        let cached = BANK.lock().ok().and_then(|g| {
            g.as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, b)| b.clone())
        });
        let bank = cached.unwrap_or_else(|| {
            let b = Arc::new(Self::bank(c, r, h, taps));
            if let Ok(mut g) = BANK.lock() {
                *g = Some((key, b.clone()));
            }
            b
        });
        Resampler {
            step,
            taps,
            h,
            bank,
            buf: vec![0.0; h],
            base: -(h as i64),
            received: 0,
            next: 0,
        }
    }

    fn bank(c: f64, r: f64, h: usize, taps: usize) -> Vec<f64> {
        let beta = 8.6;
        let mut bank = vec![0.0; (PHASES + 1) * taps];
        for p in 0..=PHASES {
            let frac = p as f64 / PHASES as f64;
            let row = &mut bank[p * taps..(p + 1) * taps];
            for (j, v) in row.iter_mut().enumerate() {
                let u = frac + h as f64 - 1.0 - j as f64;
                *v = c * sinc(c * u) * kaiser(u / r, beta);
            }
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        bank
    }

    /// The number of outputs for `n_in` inputs.
    pub fn output_len(&self, n_in: u64) -> u64 {
        (n_in as f64 / self.step).round() as u64
    }

    fn run(&mut self, out: &mut Vec<f64>, limit: u64, available: i64) {
        while self.next < limit {
            let t = self.next as f64 * self.step;
            let fl = t.floor();
            let last = fl as i64 + self.h as i64;
            if last >= available {
                break;
            }
            let first = fl as i64 - self.h as i64 + 1;
            let pos = (t - fl) * PHASES as f64;
            let p = (pos as usize).min(PHASES - 1);
            let a = pos - p as f64;
            let start = (first - self.base) as usize;
            let w = &self.buf[start..start + self.taps];
            let y0 = dot(&self.bank[p * self.taps..(p + 1) * self.taps], w);
            let y1 = dot(&self.bank[(p + 1) * self.taps..(p + 2) * self.taps], w);
            out.push(y0 + a * (y1 - y0));
            self.next += 1;
        }
        // Drop what no later output needs.
        let t = self.next as f64 * self.step;
        let keep_from = t.floor() as i64 - self.h as i64;
        let drop = (keep_from - self.base).max(0) as usize;
        if drop > 4096 && drop <= self.buf.len() {
            self.buf.drain(..drop);
            self.base += drop as i64;
        }
    }

    pub fn process(&mut self, input: &[f64], out: &mut Vec<f64>) {
        self.buf.extend_from_slice(input);
        self.received += input.len() as u64;
        let avail = self.base + self.buf.len() as i64;
        self.run(out, u64::MAX, avail);
    }

    pub fn finish(&mut self, out: &mut Vec<f64>) {
        let limit = self.output_len(self.received);
        let t_last = limit as f64 * self.step;
        let need = t_last.ceil() as i64 + self.h as i64 + 1;
        let end = self.base + self.buf.len() as i64;
        if need > end {
            self.buf
                .extend(std::iter::repeat_n(0.0, (need - end) as usize));
        }
        let avail = self.base + self.buf.len() as i64;
        self.run(out, limit, avail);
    }

    /// Resamples a whole buffer.
    pub fn run_all(from: f64, to: f64, input: &[f64]) -> Vec<f64> {
        let mut r = Resampler::new(from, to);
        let mut out = Vec::with_capacity(r.output_len(input.len() as u64) as usize);
        r.process(input, &mut out);
        r.finish(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centered_fir_identity_and_chunking() {
        let mut c = vec![0.0; 9];
        c[4] = 1.0;
        let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let mut f = CenteredFir::new(c);
        let mut out = Vec::new();
        for ch in x.chunks(7) {
            f.process(ch, &mut out);
        }
        f.finish(&mut out);
        let y: Vec<f64> = out.iter().map(|p| p.1).collect();
        assert_eq!(y, x);
    }

    #[test]
    fn resampler_identity_ratio_is_near_exact() {
        let x: Vec<f64> = (0..4000).map(|i| (i as f64 * 0.3).sin()).collect();
        let y = Resampler::run_all(8000.0, 8000.0, &x);
        assert_eq!(y.len(), x.len());
        // 0.3 rad/sample is 382 Hz: well inside the pass band.
        for i in 100..3900 {
            assert!((y[i] - x[i]).abs() < 1e-3, "{i}: {} {}", y[i], x[i]);
        }
    }

    #[test]
    fn hilbert_gain_is_flat_in_band() {
        let h = hilbert(127, 8.0);
        for f in [300.0, 1000.0, 2700.0] {
            let w = 2.0 * PI * f / 8000.0;
            // Response of coefficients c[j] on x[n-half+j] to sin(w n): cos component.
            let mut re = 0.0;
            let mut im = 0.0;
            for (j, c) in h.iter().enumerate() {
                let k = j as f64 - 127.0;
                re += c * (w * k).cos();
                im += c * (w * k).sin();
            }
            // A cosine input cos(w n) gives sum c[j] cos(w (n + k)) = re cos - im sin;
            // the Hilbert transform of cos is sin, so we need re = 0, im = -1.
            assert!(re.abs() < 1e-9 && (im + 1.0).abs() < 2e-3, "{f}: {re} {im}");
        }
    }
}
