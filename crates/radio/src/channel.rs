//! The HF channel simulator and WAV I/O.
//!
//! The modem's audio (300–2700 Hz, 8 kHz mono) goes through what a
//! shortwave broadcast and a listener's recorder do to it:
//!
//! 1. **Sample clock** (`clock_ppm`): the recorder's clock against the
//!    sender's. The audio is resampled by `1 + ppm·1e-6` (a 300 ppm faster
//!    recorder takes 300 ppm more samples: the file is longer and every tone
//!    lower by the same ratio). Done first, so the noise below is white at the
//!    recorder's own rate.
//! 2. **Watterson channel** (ITU-R F.1487, CCIR Rep. 549/Rec. 520 profiles):
//!    the analytic signal of the audio (a 255-tap Kaiser-windowed Hilbert
//!    FIR, flat within 0.2% from 300 to 2700 Hz) is the complex envelope of
//!    an upper-sideband transmission with its suppressed carrier at 0 Hz, so a
//!    delay of that envelope is exactly a delay of the RF signal (the carrier
//!    phase term goes into the uniformly random tap phase). Two paths of equal
//!    mean power 1/2 (total 1), the second delayed by the profile's delay
//!    (whole samples: 4, 8 and 16 at 8 kHz), each multiplied by its own
//!    Rayleigh tap with a Gaussian Doppler spectrum whose 2σ is the profile's
//!    spread ([`fading`]). `Awgn` has no fading: one path of gain 1.
//! 3. **Frequency offset**: the analytic signal is multiplied by
//!    `exp(j 2π f n / fs)`; the real part is the received audio.
//! 4. **Noise**: white Gaussian over the whole 0–4 kHz band. The SNR is
//!    signal power over the noise power in 3 kHz, and 3 kHz is 3/4 of the
//!    band, so the noise variance is `(4/3) · P / 10^(SNR/10)`, where `P`
//!    is the reference signal power: the input's mean square over the whole
//!    input (the channel's mean power gain is 1, so it is also the received
//!    mean power), or a power given by the caller.
//! 5. **AM** (`am`): instead of 2–4, the audio (times `depth`, so a full-scale
//!    signal modulates to that index) amplitude-modulates a carrier of
//!    amplitude 1; the carrier and sidebands go through the same Watterson
//!    paths at complex baseband, so carrier and sidebands fade differently
//!    (selective fading: for a delay of 2 ms the notches are 500 Hz apart);
//!    complex noise is added at RF, scaled so that the detected audio has the
//!    requested SNR when nothing fades; then an envelope detector: magnitude,
//!    a 321-tap band-pass 120–3300 Hz (it removes the carrier's DC and its
//!    slow fading, and low-passes), divided by `depth`.
//! 6. **Recorder**: an optional AGC (gain = target RMS over the RMS from a
//!    200 ms exponential power average, at most 60 dB, starting at 40 dB), then optional hard clipping at
//!    `±clip` of full scale. The WAV writer clips at full scale.
//!
//! Random numbers: ChaCha20 streams of the seed ([`rng`]), one for noise and
//! one per path, each drawn in sample order: a seed gives the same output
//! bytes whatever the chunking ([`Channel::process`] in pieces or
//! [`simulate`] at once) and on any machine with IEEE-754 arithmetic.
//!
//! Every stage is aligned (zero delay): output sample `n` is input sample `n`
//! through the channel (the second path arrives `delay` samples later, as it
//! should). The streaming [`Channel`] emits each sample once the filters have
//! seen far enough ahead and [`Channel::finish`] emits the rest.

pub mod dsp;
pub mod fading;
pub mod rng;
pub mod wav;

pub use wav::{
    Recording, Truncation, WavError, WavInfo, WavProblem, read_recording, read_recording_with,
    read_wav, read_wav_bytes, wav_bytes, write_wav,
};

use dsp::{CenteredFir, Resampler};
use fading::TapGen;
use num_complex::Complex64;
use rng::{Gaussian, STREAM_NOISE, STREAM_PATH};
use serde::Serialize;
use std::collections::VecDeque;
use std::f64::consts::TAU;

/// The audio sample rate of the radio link (Hz).
pub const SAMPLE_RATE: u32 = 8000;
const FS: f64 = SAMPLE_RATE as f64;
/// The AGC's time constant (s).
const AGC_TIME_S: f64 = 0.2;
/// The bandwidth the SNR is measured in (Hz).
pub const SNR_BANDWIDTH_HZ: f64 = 3000.0;

/// A channel profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// No fading, noise only.
    Awgn,
    /// CCIR good: 0.5 ms, 0.1 Hz.
    Good,
    /// CCIR moderate: 1 ms, 0.5 Hz.
    Moderate,
    /// CCIR poor: 2 ms, 1 Hz.
    Poor,
    /// CCIR flutter: 0.5 ms, 10 Hz.
    Flutter,
}

impl Profile {
    pub const ALL: [Profile; 5] = [
        Profile::Awgn,
        Profile::Good,
        Profile::Moderate,
        Profile::Poor,
        Profile::Flutter,
    ];

    /// The two-path Watterson parameters, None for AWGN.
    pub fn watterson(self) -> Option<Watterson> {
        let (delay_s, spread_hz) = match self {
            Profile::Awgn => return None,
            Profile::Good => (0.5e-3, 0.1),
            Profile::Moderate => (1e-3, 0.5),
            Profile::Poor => (2e-3, 1.0),
            Profile::Flutter => (0.5e-3, 10.0),
        };
        Some(Watterson { delay_s, spread_hz })
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Awgn => "awgn",
            Profile::Good => "good",
            Profile::Moderate => "moderate",
            Profile::Poor => "poor",
            Profile::Flutter => "flutter",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown profile {s:?} (awgn, good, moderate, poor, flutter)"))
    }
}

/// Two equal-power Rayleigh paths.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Watterson {
    /// Delay of the second path (s).
    pub delay_s: f64,
    /// Doppler spread: 2σ of each path's Gaussian Doppler spectrum (Hz).
    pub spread_hz: f64,
}

impl Watterson {
    /// The delay in whole samples at 8 kHz.
    pub fn delay_samples(&self) -> usize {
        (self.delay_s * FS).round() as usize
    }
}

/// The AM broadcast model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Am {
    /// Modulation index of a full-scale signal (0 < depth <= 1).
    pub depth: f64,
}

/// The receiver's AGC.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Agc {
    /// The RMS level the AGC steers to (full scale 1).
    pub target_rms: f64,
}

impl Default for Agc {
    fn default() -> Self {
        Agc { target_rms: 0.25 }
    }
}

/// What the channel does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelConfig {
    /// Fading, None for AWGN only (see [`Profile::watterson`]).
    pub fading: Option<Watterson>,
    /// Signal over noise in 3 kHz (dB); +infinity adds no noise.
    pub snr_db: f64,
    pub seed: u64,
    pub freq_offset_hz: f64,
    pub clock_ppm: f64,
    pub am: Option<Am>,
    pub agc: Option<Agc>,
    /// Hard clipping at ±clip of full scale (0 < clip <= 1).
    pub clip: Option<f64>,
}

impl ChannelConfig {
    /// A profile at an SNR, nothing else.
    pub fn new(profile: Profile, snr_db: f64, seed: u64) -> Self {
        ChannelConfig {
            fading: profile.watterson(),
            snr_db,
            seed,
            freq_offset_hz: 0.0,
            clock_ppm: 0.0,
            am: None,
            agc: None,
            clip: None,
        }
    }

    fn validate(&self) -> Result<(), ChannelError> {
        let bad = |m: String| Err(ChannelError::Config(m));
        if self.snr_db.is_nan() || self.snr_db == f64::NEG_INFINITY {
            return bad(format!("SNR must be a number of dB, got {}", self.snr_db));
        }
        if let Some(w) = self.fading {
            if !(w.spread_hz > 0.0 && w.spread_hz <= 100.0) {
                return bad(format!(
                    "Doppler spread {} Hz is outside (0, 100]",
                    w.spread_hz
                ));
            }
            if !(0.0..=0.05).contains(&w.delay_s) {
                return bad(format!("path delay {} s is outside [0, 50 ms]", w.delay_s));
            }
        }
        if self.freq_offset_hz.is_nan() || self.freq_offset_hz.abs() > 1000.0 {
            return bad(format!(
                "frequency offset {} Hz is outside ±1000 Hz",
                self.freq_offset_hz
            ));
        }
        if self.clock_ppm.is_nan() || self.clock_ppm.abs() > 100_000.0 {
            return bad(format!(
                "clock error {} ppm is outside ±100000",
                self.clock_ppm
            ));
        }
        if let Some(a) = self.am
            && !(a.depth > 0.0 && a.depth <= 1.0)
        {
            return bad(format!("AM depth {} is outside (0, 1]", a.depth));
        }
        if let Some(g) = self.agc
            && !(g.target_rms > 0.0 && g.target_rms <= 1.0)
        {
            return bad(format!("AGC target {} is outside (0, 1]", g.target_rms));
        }
        if let Some(c) = self.clip
            && !(c > 0.0 && c <= 1.0)
        {
            return bad(format!(
                "clip level {c} is outside (0, 1] (a fraction of full scale)"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{0}")]
    Config(String),
    #[error("the input holds no audio (0 samples)")]
    EmptyInput,
    #[error(
        "the input is silent (signal power 0): an SNR has no meaning; use an SNR of inf for no noise"
    )]
    SilentInput,
}

/// What the channel measured while it ran.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelReport {
    pub samples_in: u64,
    pub samples_out: u64,
    pub snr_db_requested: f64,
    /// The power the SNR refers to (mean square, full scale 1).
    pub reference_power: f64,
    /// Mean square of the received signal without noise (faded).
    pub signal_power: f64,
    /// Mean square of the noise in the received audio (whole band).
    pub noise_power: f64,
    /// Mean square of that noise through a 0–3 kHz low-pass.
    pub noise_power_3k: f64,
    /// signal_power / noise_power_3k (dB): the SNR this run achieved.
    pub snr_3k_db: f64,
    /// reference_power / noise_power_3k (dB): against the mean signal power.
    pub snr_ref_3k_db: f64,
    /// Samples the hard clipper cut.
    pub clipped: u64,
}

/// A streaming Watterson/AM channel (see the module documentation).
pub struct Channel {
    cfg: ChannelConfig,
    reference_power: f64,
    clock: Option<Resampler>,
    hilbert: CenteredFir,
    paths: Vec<(TapGen, usize)>,
    history: VecDeque<Complex64>,
    max_delay: usize,
    noise: Gaussian,
    noise_std: f64,
    am_detect: Option<(CenteredFir, CenteredFir)>,
    measure: CenteredFir,
    n: u64,
    agc_power: f64,
    agc_alpha: f64,
    // Scratch and accumulators.
    stage1: Vec<f64>,
    pairs: Vec<(f64, f64)>,
    pairs2: Vec<(f64, f64)>,
    noise_buf: Vec<f64>,
    measured: Vec<(f64, f64)>,
    samples_in: u64,
    samples_out: u64,
    sum_signal: f64,
    sum_noise: f64,
    sum_noise_3k: f64,
    n_noise_3k: u64,
    clipped: u64,
}

impl Channel {
    /// A channel whose SNR refers to a signal of mean square
    /// `reference_power` (full scale 1).
    pub fn new(cfg: &ChannelConfig, reference_power: f64) -> Result<Self, ChannelError> {
        cfg.validate()?;
        let noiseless = cfg.snr_db == f64::INFINITY;
        let usable = reference_power > 0.0 && reference_power.is_finite();
        if !noiseless && !usable {
            return Err(ChannelError::SilentInput);
        }
        let clock =
            (cfg.clock_ppm != 0.0).then(|| Resampler::new(FS, FS * (1.0 + cfg.clock_ppm * 1e-6)));
        let mut paths = Vec::new();
        if let Some(w) = cfg.fading {
            for (i, delay) in [0, w.delay_samples()].into_iter().enumerate() {
                let g = Gaussian::new(cfg.seed, STREAM_PATH + i as u64);
                paths.push((TapGen::new(w.spread_hz / 2.0, 0.5, FS, g), delay));
            }
        }
        let max_delay = paths.iter().map(|p| p.1).max().unwrap_or(0);
        let noise_var = if noiseless {
            0.0
        } else {
            FS / 2.0 / SNR_BANDWIDTH_HZ * reference_power / 10f64.powf(cfg.snr_db / 10.0)
        };
        let (noise_std, am_detect) = match cfg.am {
            // Complex noise of variance 2 depth^2 var: its in-phase part,
            // divided by depth after detection, has variance var.
            Some(a) => (
                a.depth * noise_var.sqrt(),
                Some((
                    CenteredFir::new(dsp::bandpass(160, 120.0 / FS, 3300.0 / FS, 8.0)),
                    CenteredFir::new(dsp::bandpass(160, 120.0 / FS, 3300.0 / FS, 8.0)),
                )),
            ),
            None => (noise_var.sqrt(), None),
        };
        Ok(Channel {
            cfg: cfg.clone(),
            reference_power,
            clock,
            hilbert: CenteredFir::new(dsp::hilbert(127, 8.0)),
            paths,
            history: VecDeque::from(vec![Complex64::new(0.0, 0.0); max_delay + 1]),
            max_delay,
            noise: Gaussian::new(cfg.seed, STREAM_NOISE),
            noise_std,
            am_detect,
            measure: CenteredFir::new(dsp::lowpass(64, SNR_BANDWIDTH_HZ / FS, 8.0)),
            n: 0,
            agc_alpha: 1.0 - (-1.0 / (AGC_TIME_S * FS)).exp(),
            // The AGC starts at 40 dB of gain, as a receiver at rest would.
            agc_power: cfg
                .agc
                .map(|a| (a.target_rms / 100.0).powi(2))
                .unwrap_or(1.0),
            stage1: Vec::new(),
            pairs: Vec::new(),
            pairs2: Vec::new(),
            noise_buf: Vec::new(),
            measured: Vec::new(),
            samples_in: 0,
            samples_out: 0,
            sum_signal: 0.0,
            sum_noise: 0.0,
            sum_noise_3k: 0.0,
            n_noise_3k: 0,
            clipped: 0,
        })
    }

    /// Multipath and frequency offset on one complex sample.
    #[inline]
    fn fade(&mut self, z: Complex64) -> Complex64 {
        let mut y = if self.paths.is_empty() {
            z
        } else {
            self.history.pop_front();
            self.history.push_back(z);
            let mut acc = Complex64::new(0.0, 0.0);
            for (tap, delay) in self.paths.iter_mut() {
                acc += tap.next_tap() * self.history[self.max_delay - *delay];
            }
            acc
        };
        if self.cfg.freq_offset_hz != 0.0 {
            let cycles = (self.cfg.freq_offset_hz * self.n as f64 / FS).fract();
            let (s, c) = (TAU * cycles).sin_cos();
            y *= Complex64::new(c, s);
        }
        self.n += 1;
        y
    }

    /// The recorder: AGC and clipping.
    #[inline]
    fn record(&mut self, y: f64) -> f32 {
        let mut y = y;
        if let Some(a) = self.cfg.agc {
            self.agc_power += self.agc_alpha * (y * y - self.agc_power);
            let gain = (a.target_rms / self.agc_power.max(1e-12).sqrt()).min(1000.0);
            y *= gain;
        }
        if let Some(c) = self.cfg.clip
            && y.abs() > c
        {
            self.clipped += 1;
            y = y.clamp(-c, c);
        }
        y as f32
    }

    fn measure_noise(&mut self, flush: bool) {
        self.measured.clear();
        let nb = std::mem::take(&mut self.noise_buf);
        self.measure.process(&nb, &mut self.measured);
        if flush {
            self.measure.finish(&mut self.measured);
        }
        for &(_, v) in &self.measured {
            self.sum_noise_3k += v * v;
        }
        self.n_noise_3k += self.measured.len() as u64;
        self.noise_buf = nb;
        self.noise_buf.clear();
    }

    /// Runs the stages after the clock on `self.stage1`, appending to `out`.
    fn run(&mut self, flush: bool, out: &mut Vec<f32>) {
        let stage1 = std::mem::take(&mut self.stage1);
        if self.am_detect.is_some() {
            let am = self.cfg.am.expect("AM set");
            let mut clean = Vec::with_capacity(stage1.len());
            let mut noisy = Vec::with_capacity(stage1.len());
            for &x in &stage1 {
                let r = self.fade(Complex64::new(1.0 + am.depth * x, 0.0));
                let nz = Complex64::new(self.noise.sample(), self.noise.sample()) * self.noise_std;
                clean.push(r.norm());
                noisy.push((r + nz).norm());
            }
            let (bc, bn) = self.am_detect.as_mut().expect("AM set");
            self.pairs.clear();
            self.pairs2.clear();
            bc.process(&clean, &mut self.pairs);
            bn.process(&noisy, &mut self.pairs2);
            if flush {
                bc.finish(&mut self.pairs);
                bn.finish(&mut self.pairs2);
            }
            let pairs = std::mem::take(&mut self.pairs);
            let pairs2 = std::mem::take(&mut self.pairs2);
            for (c, nz) in pairs.iter().zip(&pairs2) {
                let s = c.1 / am.depth;
                let y = nz.1 / am.depth;
                self.sum_signal += s * s;
                self.sum_noise += (y - s) * (y - s);
                self.noise_buf.push(y - s);
                let v = self.record(y);
                out.push(v);
            }
            self.samples_out += pairs.len() as u64;
            self.pairs = pairs;
            self.pairs2 = pairs2;
        } else {
            self.pairs.clear();
            let mut pairs = std::mem::take(&mut self.pairs);
            self.hilbert.process(&stage1, &mut pairs);
            if flush {
                self.hilbert.finish(&mut pairs);
            }
            for &(re, im) in &pairs {
                let s = self.fade(Complex64::new(re, im)).re;
                let nz = if self.noise_std > 0.0 {
                    self.noise.sample() * self.noise_std
                } else {
                    0.0
                };
                self.sum_signal += s * s;
                self.sum_noise += nz * nz;
                self.noise_buf.push(nz);
                let v = self.record(s + nz);
                out.push(v);
            }
            self.samples_out += pairs.len() as u64;
            self.pairs = pairs;
        }
        self.measure_noise(flush);
        self.stage1 = stage1;
        self.stage1.clear();
    }

    /// Feeds audio (8 kHz, full scale 1); appends the output now complete.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.samples_in += input.len() as u64;
        let x: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
        match self.clock.as_mut() {
            Some(r) => r.process(&x, &mut self.stage1),
            None => self.stage1.extend_from_slice(&x),
        }
        self.run(false, out);
    }

    /// Ends the input: appends the rest of the output and returns the report.
    pub fn finish(mut self, out: &mut Vec<f32>) -> ChannelReport {
        if let Some(r) = self.clock.as_mut() {
            r.finish(&mut self.stage1);
        }
        self.run(true, out);
        let n = self.samples_out.max(1) as f64;
        let signal_power = self.sum_signal / n;
        let noise_power = self.sum_noise / n;
        let noise_power_3k = self.sum_noise_3k / self.n_noise_3k.max(1) as f64;
        let db = |a: f64, b: f64| 10.0 * (a / b).log10();
        ChannelReport {
            samples_in: self.samples_in,
            samples_out: self.samples_out,
            snr_db_requested: self.cfg.snr_db,
            reference_power: self.reference_power,
            signal_power,
            noise_power,
            noise_power_3k,
            snr_3k_db: db(signal_power, noise_power_3k),
            snr_ref_3k_db: db(self.reference_power, noise_power_3k),
            clipped: self.clipped,
        }
    }
}

/// Mean square of audio samples.
pub fn mean_square(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64
}

/// Runs a whole recording through the channel; the SNR refers to the
/// input's mean square.
pub fn simulate(
    input: &[f32],
    cfg: &ChannelConfig,
) -> Result<(Vec<f32>, ChannelReport), ChannelError> {
    if input.is_empty() {
        return Err(ChannelError::EmptyInput);
    }
    let mut ch = Channel::new(cfg, mean_square(input))?;
    let mut out = Vec::with_capacity(input.len() + input.len() / 100 + 16);
    ch.process(input, &mut out);
    let report = ch.finish(&mut out);
    Ok((out, report))
}
