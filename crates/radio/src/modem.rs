//! The modem: carousel packets ⇄ 8 kHz audio between 300 and 2700 Hz.
//!
//! # Signal
//!
//! OFDM, 256-point FFT at 8 kHz (31.25 Hz carrier spacing), 77 carriers
//! centred on 1500 Hz (312.5 to 2687.5 Hz), a 32-sample (4 ms) cyclic prefix
//! (the CCIR Poor channel's echo is 2 ms), QPSK on every carrier. One frame
//! carries one packet:
//!
//! ```text
//! | preamble 1024 | sync | D D D P | D D D P | … | D D P |
//! ```
//!
//! * **Preamble**: 16 repetitions of one 64-sample waveform (19 carriers, every
//!   fourth). The receiver finds it with a Schmidl–Cox autocorrelation at lag
//!   64, which needs no knowledge of the frequency offset and ignores the
//!   channel's echoes, and reads the frequency offset from that
//!   correlation's phase: unambiguous within ±62.5 Hz.
//! * **Long preamble** (the deep modes): 128 periods (1.02 s). Its own
//!   detector sums eight times as many products, so it finds frames at
//!   -12 dB; at that threshold noise crosses it about once a second, so a
//!   long candidate is timed on ten known symbols at once (the sync and the
//!   first nine pilot rows, correlated by FFT and added without phase along
//!   a few clock slopes, since ±300 ppm moves the tenth by 3 samples), timed
//!   on the middle of the echoes it shows (a lock on the later of two paths
//!   would put the earlier at the prefix's edge), and measured on its first
//!   24 pilot rows before it is demodulated or counted in a chain of frames.
//! * **Sync**: one OFDM symbol of known cells, a different sequence per mode;
//!   cross-correlation with it gives the exact timing (to a fraction of a
//!   sample, by parabolic interpolation) and the mode, and it is the first
//!   pilot row.
//! * **Pilot rows** (`P`): known cells on every carrier every few symbols.
//!   The channel is estimated at each row (smoothed over neighbouring
//!   carriers) and interpolated linearly in time, which also follows what is
//!   left of the frequency offset, the phase drift of a sample-clock error,
//!   AGC and selective fading.
//! * **Sample clock**: frames are sent back to back and the broadcast ends with
//!   one more preamble and sync, so every frame's length is measured
//!   (the next sync's position): the ratio gives the recorder's clock error
//!   (±300 ppm drifts 12 samples over a 5 s frame), every symbol's window is
//!   placed at its true position and its fractional part corrected per
//!   carrier. A frame without a successor uses the median of the others.
//!   Chains link frames of one mode. A long frame also fits the clock on its
//!   own pilot rows (first eighth, half, all), applied only where the slope
//!   stands out of the fit's noise.
//! * **Channel estimate over time** (every mode): each pilot row's
//!   estimate is averaged with the rows around it, over the window that best
//!   predicts each row from the others (leave-one-out): many rows on a
//!   steady channel, few on a fading one. At -12 dB one row's estimate is
//!   about as noisy as the signal, which alone would cost 3 dB; at 0 dB it
//!   was worth 0.5 dB to the normal mode.
//!
//! # Coding
//!
//! See [`fec`]: CRC-32, scrambling, DVB-S2 short-frame LDPC codes (16200
//! bits), a bit interleaver over the whole frame, repetition in the deep,
//! robust and sturdy modes. Soft decisions: `LLR = 2√2·Re(conj(H)·y)/σ²` per bit, σ² measured on
//! the pilot rows; the copies of a repeated cell add up.
//!
//! | mode | code | repeat | pilot every | smoothing | frame | payload |
//! |---|---|---|---|---|---|---|
//! | deepest | 1/5 (k = 3240) | 16 | 3 symbols | 11 carriers | 81.9 s | 401 B |
//! | deep | 1/5 | 8 | 3 | 11 | 41.5 s | 401 B |
//! | robust | 1/5 (k = 3240) | 4 | 3 symbols | 9 carriers | 20.4 s | 401 B |
//! | sturdy | 1/5 | 2 | 3 | 7 | 10.3 s | 401 B |
//! | steady | 1/5 | 1 | 3 | 5 | 5.3 s | 401 B |
//! | normal | 4/9 (k = 7200) | 1 | 6 | 5 | 4.6 s | 896 B |
//! | fast | 7/9 (k = 12600) | 1 | 6 | 5 | 4.6 s | 1571 B |
//!
//! (Figures of each mode: [`Mode::frame_seconds`], [`Mode::payload_len`];
//! measured thresholds are in `bench/RESULTS.md`.)

pub mod fec;

use fec::{Fec, FecFailure, N_BITS, Pn};
use ldpc_toolbox::codes::dvbs2::Code;
use num_complex::{Complex32, Complex64};
use rustfft::{Fft, FftPlanner};
use serde::Serialize;
use std::f64::consts::TAU;
use std::sync::Arc;

/// Sample rate of the modem's audio (Hz).
pub const FS: f64 = 8000.0;
/// FFT size.
pub const N: usize = 256;
/// Cyclic prefix (samples).
pub const CP: usize = 32;
/// One OFDM symbol with its prefix (samples).
pub const SYM: usize = N + CP;
/// Centre of the band (Hz).
pub const CENTER_HZ: f64 = 1500.0;
/// Carriers, at bins -38..=38 around the centre.
pub const CARRIERS: usize = 77;
const HALF: i32 = 38;
const PERIOD: usize = 64;
const PERIODS: usize = 16;
/// Preamble length (samples).
pub const PREAMBLE: usize = PERIOD * PERIODS;
/// Periods of the deep mode's preamble (1.02 s): its detector sums eight
/// times as many products, so it finds frames 4-5 dB weaker.
const LONG_PERIODS: usize = 128;
/// The long preamble (samples).
pub const LONG_PREAMBLE: usize = PERIOD * LONG_PERIODS;
/// Detection threshold of the long preamble's autocorrelation (its noise
/// floor is about 8 times lower than the short one's).
const DETECT_LONG: f32 = 0.0012;
/// Known symbols (the sync and the first pilot rows) the deep mode's timing
/// search adds up: one symbol alone is lost among noise peaks at -12 dB over
/// the long preamble's wide timing uncertainty.
const LONG_SYNC_ROWS: usize = 10;
/// How far (samples) around the long preamble's end its sync is looked for.
const SEARCH_LONG: usize = 3584;
/// Pilot rows a long frame's signal is measured on before the whole frame
/// is demodulated.
const EARLY_ROWS: usize = 24;
/// How far (dB) under its mode's gate the signal of a long frame's first
/// pilot rows may measure (a fade at the start) and still be demodulated.
const EARLY_MARGIN_DB: f64 = 2.0;
/// The FFT window starts this many samples before the end of the prefix, so
/// echoes up to this much earlier or later than the strongest path stay
/// inside the prefix.
const BACKOFF: usize = 16;
/// Silence before and after a broadcast (samples).
const LEAD: usize = 2000;
/// Peak RMS of the transmitted audio (full scale 1).
const TX_RMS: f64 = 0.2;
/// Schmidl–Cox detection threshold on |P|²/(E0·E1).
const DETECT: f32 = 0.012;
/// How far (samples) around a short preamble's end its sync is looked for:
/// the autocorrelation's peak is broad (its window slides over the whole
/// preamble) and noisy at low SNR.
const SEARCH: usize = 400;
/// Normalised sync correlation (|c|²) a candidate must reach.
const SYNC_MIN: f64 = 0.02;
/// FFT size of the fine frequency search (0.98 Hz bins).
const FREQ_FFT: usize = 8192;
/// Largest sample-clock error looked for (±500 ppm).
const MAX_CLOCK: f64 = 5e-4;

/// A transmission mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// For the weakest signals, -12 to -8 dB: the robust code with eight
    /// copies, behind a preamble eight times as long.
    Deep,
    /// Deep with sixteen copies: for fading channels at -12 dB.
    Deepest,
    /// For poor channels and low SNR (decodes on CCIR Poor at -5 dB).
    Robust,
    /// Between robust and steady: the robust code with two copies.
    Sturdy,
    /// The robust code without copies: for fair channels around 0 dB.
    Steady,
    /// The default.
    Normal,
    /// Good channels, 8 dB and up.
    Fast,
}

struct Spec {
    code: Code,
    repeat: usize,
    pilot_every: usize,
    smooth: usize,
    seed: u64,
    /// Frames whose pilots measure a lower Es/N0 (dB) are not decoded: far
    /// below the code's threshold they cannot decode, and a false detection
    /// measures ≈ -20 dB.
    min_esn0_db: f64,
    /// Repetitions of the 64-sample preamble period.
    periods: usize,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::Deepest,
        Mode::Deep,
        Mode::Robust,
        Mode::Sturdy,
        Mode::Steady,
        Mode::Normal,
        Mode::Fast,
    ];

    fn spec(self) -> Spec {
        match self {
            Mode::Deepest => Spec {
                code: Code::R1_4short,
                repeat: 16,
                pilot_every: 3,
                smooth: 11,
                seed: 0xB8,
                min_esn0_db: -17.0,
                periods: LONG_PERIODS,
            },
            Mode::Deep => Spec {
                code: Code::R1_4short,
                repeat: 8,
                pilot_every: 3,
                smooth: 11,
                seed: 0xB7,
                min_esn0_db: -15.0,
                periods: LONG_PERIODS,
            },
            Mode::Robust => Spec {
                code: Code::R1_4short,
                repeat: 4,
                pilot_every: 3,
                smooth: 9,
                seed: 0xB1,
                min_esn0_db: -11.0,
                periods: PERIODS,
            },
            Mode::Sturdy => Spec {
                code: Code::R1_4short,
                repeat: 2,
                pilot_every: 3,
                smooth: 7,
                seed: 0xB4,
                min_esn0_db: -8.0,
                periods: PERIODS,
            },
            Mode::Steady => Spec {
                code: Code::R1_4short,
                repeat: 1,
                pilot_every: 3,
                smooth: 5,
                seed: 0xB5,
                min_esn0_db: -5.5,
                periods: PERIODS,
            },
            Mode::Normal => Spec {
                code: Code::R1_2short,
                repeat: 1,
                pilot_every: 6,
                smooth: 5,
                seed: 0xB2,
                min_esn0_db: -2.5,
                periods: PERIODS,
            },
            Mode::Fast => Spec {
                code: Code::R4_5short,
                repeat: 1,
                pilot_every: 6,
                smooth: 5,
                seed: 0xB3,
                min_esn0_db: 0.5,
                periods: PERIODS,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Deepest => "deepest",
            Mode::Deep => "deep",
            Mode::Robust => "robust",
            Mode::Sturdy => "sturdy",
            Mode::Steady => "steady",
            Mode::Normal => "normal",
            Mode::Fast => "fast",
        }
    }

    pub fn from_name(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }

    fn k(self) -> usize {
        match self.spec().code {
            Code::R1_4short => 3240,
            Code::R1_2short => 7200,
            Code::R4_5short => 12600,
            _ => unreachable!("modes use these codes"),
        }
    }

    /// Payload bytes per frame (one carousel packet).
    pub fn payload_len(self) -> usize {
        self.k() / 8 - fec::CRC_BYTES
    }

    fn cells(self) -> usize {
        N_BITS / 2 * self.spec().repeat
    }

    fn data_symbols(self) -> usize {
        self.cells().div_ceil(CARRIERS)
    }

    /// OFDM symbols after the preamble: sync, data and pilot rows.
    fn symbols(self) -> usize {
        let d = self.data_symbols();
        1 + d + d.div_ceil(self.spec().pilot_every)
    }

    /// Samples of the frame's preamble.
    pub fn preamble_samples(self) -> usize {
        PERIOD * self.spec().periods
    }

    /// Whether the frame has the long preamble (found by its own detector).
    fn long(self) -> bool {
        self.spec().periods > PERIODS
    }

    /// Samples of one frame.
    pub fn frame_samples(self) -> usize {
        self.preamble_samples() + self.symbols() * SYM
    }

    /// Seconds of one frame.
    pub fn frame_seconds(self) -> f64 {
        self.frame_samples() as f64 / FS
    }

    /// Payload bits per second of audio (frames back to back).
    pub fn payload_bit_rate(self) -> f64 {
        (self.payload_len() * 8) as f64 / self.frame_seconds()
    }

    /// What each symbol after the preamble is: `Some(row)` a pilot row,
    /// `None` data.
    fn layout(self) -> Vec<Option<usize>> {
        let every = self.spec().pilot_every;
        let d = self.data_symbols();
        let mut out = vec![Some(0)];
        let mut row = 1;
        let mut done = 0;
        while done < d {
            let n = every.min(d - done);
            out.extend(std::iter::repeat_n(None, n));
            done += n;
            out.push(Some(row));
            row += 1;
        }
        out
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Modem errors.
#[derive(Debug, thiserror::Error)]
pub enum ModemError {
    #[error("a {mode} frame carries exactly {want} bytes, got {got}")]
    PayloadSize { mode: Mode, want: usize, got: usize },
    #[error("nothing to send")]
    Empty,
}

fn qpsk(b0: u8, b1: u8) -> Complex32 {
    let s = std::f32::consts::FRAC_1_SQRT_2;
    Complex32::new(if b0 == 0 { s } else { -s }, if b1 == 0 { s } else { -s })
}

fn random_cells(pn: &mut Pn, n: usize) -> Vec<Complex32> {
    (0..n).map(|_| qpsk(pn.bit(), pn.bit())).collect()
}

/// Known cells of pilot row `row` of a mode.
fn pilot_row(mode: Mode, row: usize) -> Vec<Complex32> {
    let mut pn = Pn::new(mode.spec().seed << 20 | row as u64);
    random_cells(&mut pn, CARRIERS)
}

fn bin(c: usize) -> usize {
    (c as i32 - HALF).rem_euclid(N as i32) as usize
}

fn carrier_k(c: usize) -> f64 {
    (c as i32 - HALF) as f64
}

/// The time-domain symbol (with prefix) of 77 cells, unnormalised IFFT.
fn ofdm_symbol(ifft: &dyn Fft<f32>, cells: &[Complex32]) -> Vec<Complex32> {
    let mut buf = vec![Complex32::new(0.0, 0.0); N];
    for (c, &v) in cells.iter().enumerate() {
        buf[bin(c)] = v;
    }
    ifft.process(&mut buf);
    let mut out = Vec::with_capacity(SYM);
    out.extend_from_slice(&buf[N - CP..]);
    out.extend_from_slice(&buf);
    out
}

/// The preamble's baseband waveform: `periods` repetitions of one
/// 64-sample period.
fn preamble_wave(ifft: &dyn Fft<f32>, periods: usize) -> Vec<Complex32> {
    let mut pn = Pn::new(0x5EED);
    let amp = (CARRIERS as f32 / 19.0).sqrt();
    let mut buf = vec![Complex32::new(0.0, 0.0); N];
    for k in (-36i32..=36).step_by(4) {
        buf[k.rem_euclid(N as i32) as usize] = qpsk(pn.bit(), pn.bit()) * amp;
    }
    ifft.process(&mut buf);
    let period = &buf[..PERIOD];
    (0..PERIOD * periods).map(|i| period[i % PERIOD]).collect()
}

/// The sender: packets to audio.
pub struct Modulator {
    ifft: Arc<dyn Fft<f32>>,
    fec: Vec<(Mode, Fec)>,
}

impl Default for Modulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Modulator {
    pub fn new() -> Modulator {
        let ifft = FftPlanner::new().plan_fft_inverse(N);
        Modulator {
            ifft,
            fec: Vec::new(),
        }
    }

    fn fec(&mut self, mode: Mode) -> &Fec {
        if let Some(i) = self.fec.iter().position(|(m, _)| *m == mode) {
            return &self.fec[i].1;
        }
        self.fec
            .push((mode, Fec::new(mode.spec().code, mode.spec().seed)));
        &self.fec.last().expect("just pushed").1
    }

    /// Baseband of one frame (preamble to last pilot row).
    fn frame(&mut self, mode: Mode, payload: &[u8]) -> Vec<Complex32> {
        let bits = self.fec(mode).encode(payload);
        let ifft = self.ifft.clone();
        let spec = mode.spec();
        let m = N_BITS / 2;
        let cells_needed = mode.data_symbols() * CARRIERS;
        let mut pad = Pn::new(spec.seed ^ 0xFADE);
        let cells: Vec<Complex32> = (0..cells_needed)
            .map(|c| {
                if c < m * spec.repeat {
                    let i = c % m;
                    qpsk(bits[2 * i], bits[2 * i + 1])
                } else {
                    qpsk(pad.bit(), pad.bit())
                }
            })
            .collect();
        let mut out = preamble_wave(&*ifft, spec.periods);
        let mut d = 0;
        for sym in mode.layout() {
            let s = match sym {
                Some(row) => ofdm_symbol(&*ifft, &pilot_row(mode, row)),
                None => {
                    let s = ofdm_symbol(&*ifft, &cells[d * CARRIERS..(d + 1) * CARRIERS]);
                    d += 1;
                    s
                }
            };
            out.extend(s);
        }
        out
    }

    /// The audio of a broadcast: frames back to back, then an end marker
    /// (preamble and sync) so the last frame's length can be measured.
    pub fn modulate<P: AsRef<[u8]>>(
        &mut self,
        mode: Mode,
        payloads: &[P],
    ) -> Result<Vec<f32>, ModemError> {
        if payloads.is_empty() {
            return Err(ModemError::Empty);
        }
        for p in payloads {
            let got = p.as_ref().len();
            if got != mode.payload_len() {
                return Err(ModemError::PayloadSize {
                    mode,
                    want: mode.payload_len(),
                    got,
                });
            }
        }
        let mut bb: Vec<Complex32> = vec![Complex32::new(0.0, 0.0); LEAD];
        for p in payloads {
            let f = self.frame(mode, p.as_ref());
            bb.extend(f);
        }
        let ifft = self.ifft.clone();
        bb.extend(preamble_wave(&*ifft, mode.spec().periods));
        bb.extend(ofdm_symbol(&*ifft, &pilot_row(mode, 0)));
        bb.extend(std::iter::repeat_n(Complex32::new(0.0, 0.0), LEAD));
        Ok(upconvert(&bb))
    }
}

/// Mean power of a baseband sample of a symbol with unit cells (unnormalised
/// IFFT): 77. The real passband signal has half of it.
fn tx_gain() -> f64 {
    TX_RMS / (CARRIERS as f64 / 2.0).sqrt() * std::f64::consts::SQRT_2
}

/// `Re{x·e^{jωn}}`, scaled to [`TX_RMS`] and limited to full scale.
fn upconvert(bb: &[Complex32]) -> Vec<f32> {
    let g = tx_gain() / std::f64::consts::SQRT_2;
    // 1500 Hz at 8 kHz: the oscillator has period 16.
    let osc: Vec<Complex64> = (0..16)
        .map(|n| Complex64::from_polar(1.0, TAU * CENTER_HZ / FS * n as f64))
        .collect();
    bb.iter()
        .enumerate()
        .map(|(n, &x)| {
            let v = Complex64::new(x.re.into(), x.im.into()) * osc[n % 16];
            (v.re * g).clamp(-1.0, 1.0) as f32
        })
        .collect()
}

/// What happened to one detected frame.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum FrameStatus {
    Decoded,
    /// Its pilots measure an Es/N0 far below the mode's threshold: most such
    /// detections are noise that looked like a preamble; not decoded.
    TooWeak,
    /// The LDPC decoder found no codeword.
    Undecodable,
    /// A codeword whose CRC failed.
    BadCrc,
    /// The recording ends inside the frame.
    CutOff,
}

/// One detected frame.
#[derive(Clone, Debug, Serialize)]
pub struct FrameReport {
    pub mode: Mode,
    /// Position of its sync symbol in the recording (s).
    pub at_s: f64,
    pub status: FrameStatus,
    /// Frequency offset measured on its preamble (Hz).
    pub freq_offset_hz: f64,
    /// Recorder's clock against the sender's (ppm).
    pub clock_ppm: f64,
    /// Es/N0 per cell measured on the pilot rows (dB).
    pub esn0_db: f64,
    pub iterations: usize,
}

/// The result of demodulating one recording.
#[derive(Debug, Default)]
pub struct Demodulated {
    /// Frames in the order of the recording; decoded ones have a payload.
    pub frames: Vec<(FrameReport, Option<Vec<u8>>)>,
}

impl Demodulated {
    pub fn payloads(&self) -> impl Iterator<Item = (Mode, &[u8])> {
        self.frames
            .iter()
            .filter_map(|(r, p)| p.as_deref().map(|p| (r.mode, p)))
    }
}

struct Candidate {
    mode: Mode,
    /// Start of the sync symbol's prefix (fractional samples).
    at: f64,
    freq: f64,
    /// Normalised sync correlation.
    quality: f64,
}

/// A known symbol of a frame: its offset (samples) from the sync and its
/// waveform.
type Known = (usize, Vec<Complex32>);

/// The receiver: audio to packets.
pub struct Demodulator {
    fft: Arc<dyn Fft<f32>>,
    fec: Vec<(Mode, Fec)>,
    /// Each mode's known symbols its timing is found with, with their
    /// offsets (samples) from the sync: the sync alone, and for the deep
    /// mode the sync and its first pilot rows.
    syncs: Vec<(Mode, Vec<Known>)>,
    /// The long preamble (its first 1024 samples are the short one).
    preamble: Vec<Complex32>,
    freq_fft: Arc<dyn Fft<f32>>,
    lowpass: Vec<f32>,
    /// Plans of the timing search's FFT correlations, by size.
    planner: FftPlanner<f32>,
    /// Spectra of the known symbols (conjugated), by (mode, symbol, FFT
    /// size).
    spectra: std::collections::HashMap<(Mode, usize, usize), Arc<Vec<Complex32>>>,
}

impl Default for Demodulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Demodulator {
    pub fn new() -> Demodulator {
        let mut planner = FftPlanner::new();
        let ifft = planner.plan_fft_inverse(N);
        let fft = planner.plan_fft_forward(N);
        let syncs = Mode::ALL
            .iter()
            .map(|&m| {
                let rows = if m.long() { LONG_SYNC_ROWS } else { 1 };
                let known = m
                    .layout()
                    .iter()
                    .enumerate()
                    .filter_map(|(j, s)| s.filter(|&r| r < rows).map(|r| (j, r)))
                    .map(|(j, r)| (j * SYM, ofdm_symbol(&*ifft, &pilot_row(m, r))))
                    .collect();
                (m, known)
            })
            .collect();
        let lowpass = crate::channel::dsp::lowpass(40, 1320.0 / FS, 8.0)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        Demodulator {
            preamble: preamble_wave(&*ifft, LONG_PERIODS),
            freq_fft: planner.plan_fft_forward(FREQ_FFT),
            fft,
            fec: Mode::ALL
                .iter()
                .map(|&m| (m, Fec::new(m.spec().code, m.spec().seed)))
                .collect(),
            syncs,
            lowpass,
            planner,
            spectra: std::collections::HashMap::new(),
        }
    }

    /// Complex baseband: mixed down by 1500 Hz and low-passed.
    fn baseband(&self, audio: &[f32]) -> Vec<Complex32> {
        let osc: Vec<Complex32> = (0..16)
            .map(|n| Complex32::from_polar(2.0, -(TAU * CENTER_HZ / FS * n as f64) as f32))
            .collect();
        let mixed: Vec<Complex32> = audio
            .iter()
            .enumerate()
            .map(|(n, &x)| osc[n % 16] * x)
            .collect();
        let h = &self.lowpass;
        let half = h.len() / 2;
        let len = mixed.len();
        let mut out = vec![Complex32::new(0.0, 0.0); len];
        for (n, o) in out.iter_mut().enumerate() {
            let mut acc = Complex32::new(0.0, 0.0);
            if n >= half && n + half < len {
                let w = &mixed[n - half..=n + half];
                for (a, &b) in w.iter().zip(h) {
                    acc += a * b;
                }
            } else {
                for (j, &b) in h.iter().enumerate() {
                    let i = n as isize + j as isize - half as isize;
                    if i >= 0 && (i as usize) < len {
                        acc += mixed[i as usize] * b;
                    }
                }
            }
            *o = acc;
        }
        out
    }

    /// Schmidl–Cox candidates of preambles of `periods` periods: (preamble
    /// start, frequency offset).
    fn preambles(bb: &[Complex32], periods: usize, detect: f32) -> Vec<(usize, f64)> {
        let w = (periods - 1) * PERIOD;
        let len = periods * PERIOD;
        if bb.len() < w + PERIOD + 1 {
            return Vec::new();
        }
        let last = bb.len() - w - PERIOD;
        let term = |n: usize| {
            let a = bb[n];
            let b = bb[n + PERIOD];
            let p = a.conj() * b;
            (
                Complex64::new(p.re.into(), p.im.into()),
                f64::from(a.norm_sqr()),
                f64::from(b.norm_sqr()),
            )
        };
        let mut p = Complex64::new(0.0, 0.0);
        let (mut e0, mut e1) = (0.0f64, 0.0f64);
        for n in 0..w {
            let (q, a, b) = term(n);
            p += q;
            e0 += a;
            e1 += b;
        }
        let mut metric = Vec::with_capacity(last + 1);
        let mut phase = Vec::with_capacity(last + 1);
        for d in 0..=last {
            if d > 0 {
                let (q, a, b) = term(d - 1);
                let (q2, a2, b2) = term(d + w - 1);
                p += q2 - q;
                e0 += a2 - a;
                e1 += b2 - b;
                if d % 4096 == 0 {
                    // Re-sum now and then so rounding cannot accumulate.
                    p = Complex64::new(0.0, 0.0);
                    e0 = 0.0;
                    e1 = 0.0;
                    for n in d..d + w {
                        let (q, a, b) = term(n);
                        p += q;
                        e0 += a;
                        e1 += b;
                    }
                }
            }
            let den = e0 * e1;
            metric.push(if den > 1e-30 {
                (p.norm_sqr() / den) as f32
            } else {
                0.0
            });
            phase.push(p.arg() as f32);
        }
        // Local maxima above the threshold, at least a preamble apart (a
        // false peak in front of a real preamble must not hide it).
        let above: Vec<usize> = (0..metric.len()).filter(|&d| metric[d] > detect).collect();
        let mut out = Vec::new();
        let mut lo = 0;
        let mut hi = 0;
        for (i, &d) in above.iter().enumerate() {
            while above[lo] + len < d {
                lo += 1;
            }
            while hi + 1 < above.len() && above[hi + 1] <= d + len {
                hi += 1;
            }
            let peak = above[lo..=hi]
                .iter()
                .all(|&e| metric[e] < metric[d] || (metric[e] == metric[d] && e >= d));
            if peak {
                let f = f64::from(phase[d]) * FS / (TAU * PERIOD as f64);
                out.push((d, f));
            }
            let _ = i;
        }
        out
    }

    /// Fine timing and mode of a candidate by correlation with the syncs
    /// of the modes with short preambles (`long` false) or long ones,
    /// looked for `search` samples around the preamble's end.
    fn sync(
        &mut self,
        bb: &[Complex32],
        start: usize,
        freq: f64,
        long: bool,
        search: usize,
    ) -> Option<(Candidate, f64)> {
        let pre = if long { LONG_PREAMBLE } else { PREAMBLE };
        let syncs: Vec<&(Mode, Vec<Known>)> = self
            .syncs
            .iter()
            .filter(|(m, _)| m.long() == long)
            .collect();
        let span = syncs
            .iter()
            .flat_map(|(_, k)| k.iter().map(|(o, _)| o + SYM))
            .max()
            .unwrap_or(SYM);
        let expect = start + pre;
        let lo = expect.saturating_sub(search);
        let hi = (expect + search).min(bb.len().saturating_sub(span));
        if hi <= lo {
            return None;
        }
        // The frequency-corrected recording from the preamble in front of the
        // earliest lag (as much of it as the score uses) to the end of the
        // latest known symbol.
        let scored = pre.min(4096);
        let pre_lo = lo.checked_sub(scored);
        let base = pre_lo.unwrap_or(lo);
        let full: Vec<Complex32> = (base..hi + span).map(|n| bb[n] * rot(freq, n)).collect();
        let seg = &full[lo - base..];
        // Energy of every SYM-sample window of the segment.
        let mut sums = Vec::with_capacity(seg.len() + 1);
        sums.push(0.0f64);
        let mut e = 0.0f64;
        for v in seg {
            e += f64::from(v.norm_sqr());
            sums.push(e);
        }
        let energy = |a: usize| (sums[a + SYM] - sums[a]).max(1e-30);
        // Each mode's sync correlation at every lag: with several known
        // symbols, the mean of their normalised correlations (added without
        // phase: fading and what is left of the frequency offset turn them).
        // (Each symbol's correlation at every lag at once, by FFT.)
        let lags = hi - lo + 1;
        let m = (lags + SYM - 1).next_power_of_two();
        let fwd = self.planner.plan_fft_forward(m);
        let inv = self.planner.plan_fft_inverse(m);
        let mut corrs: Vec<(Mode, Vec<f64>)> = Vec::with_capacity(syncs.len());
        let mut buf = vec![Complex32::new(0.0, 0.0); m];
        for (mode, known) in &syncs {
            let mut per_row: Vec<Vec<f64>> = Vec::with_capacity(known.len());
            for (j, (off, r)) in known.iter().enumerate() {
                let spectrum = self
                    .spectra
                    .entry((*mode, j, m))
                    .or_insert_with(|| {
                        let mut b = vec![Complex32::new(0.0, 0.0); m];
                        b[..r.len()].copy_from_slice(r);
                        fwd.process(&mut b);
                        b.iter_mut().for_each(|v| *v = v.conj() / m as f32);
                        Arc::new(b)
                    })
                    .clone();
                let er: f64 = r.iter().map(|v| f64::from(v.norm_sqr())).sum();
                buf.iter_mut().for_each(|v| *v = Complex32::new(0.0, 0.0));
                buf[..lags + SYM - 1].copy_from_slice(&seg[*off..off + lags + SYM - 1]);
                fwd.process(&mut buf);
                for (b, s) in buf.iter_mut().zip(spectrum.iter()) {
                    *b *= s;
                }
                inv.process(&mut buf);
                per_row.push(
                    (0..lags)
                        .map(|i| f64::from(buf[i].norm_sqr()) / (er * energy(i + off)))
                        .collect(),
                );
            }
            // The known symbols of a long frame span 36 symbols, over which
            // a clock error of 300 ppm moves the last by 3 samples: their
            // correlations are added along each of a few clock slopes, and
            // the best slope counts at each lag.
            let clocks: &[f64] = if known.len() > 1 {
                &[-4.5e-4, -3e-4, -1.5e-4, 0.0, 1.5e-4, 3e-4, 4.5e-4]
            } else {
                &[0.0]
            };
            let mut total = vec![0.0f64; lags];
            for &clock in clocks {
                let shifts: Vec<isize> = known
                    .iter()
                    .map(|(off, _)| (*off as f64 * clock).round() as isize)
                    .collect();
                for (i, t) in total.iter_mut().enumerate() {
                    let (mut sum, mut n) = (0.0, 0usize);
                    for (row, &d) in per_row.iter().zip(&shifts) {
                        if let Some(v) = i.checked_add_signed(d).and_then(|k| row.get(k)) {
                            sum += v;
                            n += 1;
                        }
                    }
                    if n > 0 {
                        *t = t.max(sum / n as f64);
                    }
                }
            }
            corrs.push((*mode, total));
        }
        // The lag: the sync together with the preamble in front of it
        // (256-sample pieces added without phase, so fading and what is left
        // of the frequency offset over its 128 ms do not cancel them). A
        // noise peak of the sync alone, hundreds of samples off in a fade,
        // has no preamble before it.
        let pieces = scored / 256;
        let e_pre: f64 = self.preamble[..scored]
            .iter()
            .map(|v| f64::from(v.norm_sqr()))
            .sum();
        // Long frames are timed on their known symbols alone: inside the
        // long preamble the preamble term is perfect and the sync term noise,
        // which outscored true lags whose first symbols were in a fade
        // (measured, bench/radio_offsets.sh: deepest on CCIR Poor at -12 dB
        // decoded 17 of 48 frames with the term, 26 without).
        let score = |i: usize, sync: f64| -> f64 {
            if long || pre_lo.is_none() {
                return sync;
            }
            let mut acc_sum = 0.0f64;
            let mut e_seg = 0.0f64;
            for chunk in 0..pieces {
                let mut acc = Complex32::new(0.0, 0.0);
                let w = &full[i + chunk * 256..i + chunk * 256 + 256];
                for (p, v) in self.preamble[chunk * 256..chunk * 256 + 256].iter().zip(w) {
                    acc += p.conj() * v;
                    e_seg += f64::from(v.norm_sqr());
                }
                acc_sum += f64::from(acc.norm_sqr());
            }
            // Normalised like the sync: a perfect match of each piece gives
            // 1/pieces of the energy product per piece, so 0..1. (The
            // preamble is periodic, so this term alone would match as well
            // at 64-sample steps; the sync term decides between them.)
            sync + pieces as f64 * acc_sum / (e_pre * e_seg.max(1e-30))
        };
        let mut best: Option<(Mode, usize, f64, f64)> = None;
        for i in 0..=hi - lo {
            let (m, c) = corrs
                .iter()
                .map(|(m, c)| (*m, c[i]))
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            if c < SYNC_MIN {
                continue;
            }
            let sc = score(i, c);
            if best.as_ref().is_none_or(|b| sc > b.3) {
                best = Some((m, i, c, sc));
            }
        }
        let (mode, i, c, _) = best?;
        let corr = &corrs.iter().find(|(m, _)| *m == mode)?.1;
        let freq = fine_freq(
            &*self.freq_fft,
            bb,
            lo + i,
            &self.preamble[..pre.min(FREQ_FFT / 2)],
            freq,
        );
        // Parabolic interpolation on the correlation magnitude.
        let mut frac = 0.0;
        if i > 0 && i + 1 < corr.len() {
            let (a, b, cc) = (corr[i - 1].sqrt(), corr[i].sqrt(), corr[i + 1].sqrt());
            let den = a - 2.0 * b + cc;
            if den.abs() > 1e-12 {
                frac = (0.5 * (a - cc) / den).clamp(-0.5, 0.5);
            }
        }
        // A long frame is timed on the middle of the echoes its known
        // symbols show (a lag of two paths apart is as strong as the peak):
        // a lock on the later path would put the earlier one at the edge of
        // the prefix, and the frame-to-frame clock would see it as a jump.
        let mut at = (lo + i) as f64 + frac;
        if long {
            let mut sorted = corr.clone();
            sorted.sort_by(f64::total_cmp);
            let floor = sorted[sorted.len() / 2];
            let level = floor + 0.4 * (corr[i] - floor);
            let near = i.saturating_sub(24)..(i + 25).min(corr.len());
            let above: Vec<usize> = near.filter(|&k| corr[k] > level).collect();
            if let (Some(&a), Some(&b)) = (above.first(), above.last())
                && b - a >= 6
            {
                at = (lo + a) as f64 + (b - a) as f64 / 2.0;
            }
        }
        Some((
            Candidate {
                mode,
                at,
                freq,
                quality: c,
            },
            c,
        ))
    }

    /// Finds and decodes every frame of a recording (8 kHz mono).
    pub fn demodulate(&mut self, audio: &[f32]) -> Demodulated {
        self.demodulate_with_progress(audio, &mut |_| {})
    }

    /// [`Demodulator::demodulate`], telling `progress` how much of the work
    /// is done (0 to 1, rising; the shares of the stages are as measured on
    /// typical recordings: the search for preambles and their syncs about
    /// 45%, the frames the rest).
    pub fn demodulate_with_progress(
        &mut self,
        audio: &[f32],
        progress: &mut dyn FnMut(f64),
    ) -> Demodulated {
        let bb = self.baseband(audio);
        progress(0.05);
        let mut found: Vec<Candidate> = Vec::new();
        for (long, periods, detect, search, from, to) in [
            (false, PERIODS, DETECT, SEARCH, 0.05, 0.2),
            (true, LONG_PERIODS, DETECT_LONG, SEARCH_LONG, 0.2, 0.45),
        ] {
            let pre = Self::preambles(&bb, periods, detect);
            let n = pre.len().max(1) as f64;
            for (k, (start, freq)) in pre.into_iter().enumerate() {
                progress(from + (to - from) * (0.4 + 0.6 * k as f64 / n));
                let first = self.sync(&bb, start, freq, long, search);
                // Once more with the refined frequency (and timing).
                let again = first.map(|(c, q)| {
                    let start = (c.at.round() as usize).saturating_sub(periods * PERIOD);
                    match self.sync(&bb, start, c.freq, long, SEARCH) {
                        Some((c2, q2)) if q2 >= q => (c2, q2),
                        _ => (c, q),
                    }
                });
                if let Some((c, _)) = again {
                    found.push(c);
                }
            }
        }
        // One candidate per sync: the best of those within a symbol.
        found.sort_by(|a, b| a.at.total_cmp(&b.at));
        let mut cands: Vec<Candidate> = Vec::new();
        for c in found {
            if let Some(l) = cands.last_mut()
                && (l.at - c.at).abs() < SYM as f64
            {
                if c.quality > l.quality {
                    *l = c;
                }
                continue;
            }
            cands.push(c);
        }
        // Clock error from the spacing of frames: each frame's successor is
        // the best sync one frame length later (false detections may lie in
        // between); following successors gives chains of frames, and the
        // longest chain's length against what was sent is the recorder's
        // clock (one recorder, one clock). The sync peak of one frame may sit
        // on either path of a two-path channel (±16 samples), so the longest
        // baseline matters.
        //
        // The long preamble's detector is sensitive, so most of its
        // candidates are noise, and a long frame is long enough for noise
        // candidates to fall one frame apart: a long frame's signal is
        // measured on its first pilot rows first, and one without any stays
        // out of the chains (and is not demodulated).
        let early: Vec<Option<f64>> = cands
            .iter()
            .map(|c| c.mode.long().then(|| self.early_esn0(&bb, c)))
            .collect();
        let credible = |i: usize| early[i].is_none_or(|e| e >= cands[i].mode.spec().min_esn0_db);
        let next: Vec<Option<usize>> = (0..cands.len())
            .map(|i| {
                if !credible(i) {
                    return None;
                }
                let want = cands[i].mode.frame_samples() as f64;
                (i + 1..cands.len())
                    .take_while(|&j| cands[j].at - cands[i].at < want * (1.0 + MAX_CLOCK))
                    .filter(|&j| cands[j].mode == cands[i].mode && credible(j))
                    .filter(|&j| ((cands[j].at - cands[i].at) / want - 1.0).abs() < MAX_CLOCK)
                    .max_by(|&a, &b| cands[a].quality.total_cmp(&cands[b].quality))
            })
            .collect();
        let mut is_next = vec![false; cands.len()];
        for j in next.iter().flatten() {
            is_next[*j] = true;
        }
        // The longest chain: its members' positions against the sample
        // counts sent, a line fitted without the members more than 24
        // samples off the median link's line (a false detection near a
        // weak frame, a peak on the other path).
        let mut best: Option<Vec<(f64, f64)>> = None;
        for start in (0..cands.len()).filter(|&i| !is_next[i] && next[i].is_some()) {
            let (mut i, mut sent) = (start, 0.0);
            let mut pts = vec![(0.0, cands[start].at)];
            while let Some(j) = next[i] {
                sent += cands[i].mode.frame_samples() as f64;
                pts.push((sent, cands[j].at));
                i = j;
            }
            if best
                .as_ref()
                .is_none_or(|b| sent > b.last().map_or(0.0, |p| p.0))
            {
                best = Some(pts);
            }
        }
        let median = best.map_or(0.0, |pts| clock_fit(&pts));
        let mut out = Demodulated::default();
        let n = cands.len().max(1) as f64;
        for (k, (c, early)) in cands.iter().zip(early).enumerate() {
            progress(0.45 + 0.55 * k as f64 / n);
            out.frames.push(self.frame(&bb, c, median, early));
        }
        progress(1.0);
        out
    }

    /// Es/N0 (dB) on the first [`EARLY_ROWS`] pilot rows of a candidate's
    /// frame, smoothed as its mode smooths (NaN if the recording ends first).
    fn early_esn0(&self, bb: &[Complex32], c: &Candidate) -> f64 {
        let spec = c.mode.spec();
        let layout = c.mode.layout();
        let head = ((spec.pilot_every + 1) * EARLY_ROWS + 1).min(layout.len());
        self.symbols(bb, c, 0.0, head)
            .map_or(f64::NAN, |r| pilot_esn0(&r, &layout, c.mode, spec.smooth))
    }

    /// The cells of a frame's symbols (sync first), or `None` when the
    /// recording ends inside the frame.
    fn symbols(
        &self,
        bb: &[Complex32],
        c: &Candidate,
        eps: f64,
        count: usize,
    ) -> Option<Vec<Vec<Complex32>>> {
        let mut rows: Vec<Vec<Complex32>> = Vec::with_capacity(count);
        let mut buf = vec![Complex32::new(0.0, 0.0); N];
        for j in 0..count {
            let t = c.at + (j * SYM + CP - BACKOFF) as f64 * (1.0 + eps);
            if t < 0.0 {
                return None;
            }
            let n0 = t.floor() as usize;
            if n0 + N > bb.len() {
                return None;
            }
            let frac = t - n0 as f64;
            for (i, b) in buf.iter_mut().enumerate() {
                *b = bb[n0 + i] * rot(c.freq, n0 + i);
            }
            self.fft.process(&mut buf);
            let shift = BACKOFF as f64 + frac;
            rows.push(
                (0..CARRIERS)
                    .map(|k| {
                        let ph = TAU * carrier_k(k) * shift / N as f64;
                        buf[bin(k)] * Complex32::from_polar(1.0 / N as f32, ph as f32)
                    })
                    .collect(),
            );
        }
        Some(rows)
    }

    /// Demodulates and decodes the frame of candidate `c` with the
    /// recorder's clock error `eps`; `early` is the Es/N0 measured on its
    /// first pilot rows, if it was.
    fn frame(
        &mut self,
        bb: &[Complex32],
        c: &Candidate,
        eps: f64,
        early: Option<f64>,
    ) -> (FrameReport, Option<Vec<u8>>) {
        let mode = c.mode;
        let spec = mode.spec();
        let layout = mode.layout();
        let mut report = FrameReport {
            mode,
            at_s: c.at / FS,
            status: FrameStatus::CutOff,
            freq_offset_hz: c.freq,
            clock_ppm: eps * 1e6,
            esn0_db: f64::NAN,
            iterations: 0,
        };
        // Demodulate every symbol; then measure the timing drift left over
        // on the pilot rows (the slope of their delay against time) and, if
        // it moves the windows by more than a sample over the frame, again
        // with the corrected clock.
        // (NaN, a frame cut off in its first rows, counts as too weak.)
        let weak = |e: f64| e.is_nan() || e < spec.min_esn0_db - EARLY_MARGIN_DB;
        if let Some(esn0) = early.filter(|&e| weak(e)) {
            report.esn0_db = esn0;
            report.status = FrameStatus::TooWeak;
            return (report, None);
        }
        let Some(mut rows) = self.symbols(bb, c, eps, layout.len()) else {
            // Cut off by the end of the recording (or its start). Most such
            // detections near the end are noise that looked like a preamble:
            // called cut off only if the first pilot rows hold a signal.
            let head = (spec.pilot_every + 1) * 2 + 1;
            let esn0 = self
                .symbols(bb, c, eps, head.min(layout.len()))
                .map_or(f64::NAN, |r| pilot_esn0(&r, &layout, mode, 5));
            report.esn0_db = esn0;
            if esn0.is_nan() || esn0 < spec.min_esn0_db {
                report.status = FrameStatus::TooWeak;
            }
            return (report, None);
        };
        // A long frame drifts far (±300 ppm is ±200 samples over the
        // deepest frame) and is weak: its clock is fitted on its first
        // eighth, then half, then all of it, each time demodulated again
        // with the better clock, and only when the fit's slope stands out of
        // its noise (the chain of frames usually knows the clock better).
        let mut eps = eps;
        let parts: &[usize] = if mode.long() { &[8, 2, 1] } else { &[1] };
        for &part in parts {
            let n = layout.len() / part;
            let (slope, se_slope) = delay_fit(&rows[..n], &layout[..n], mode);
            let stands_out = !mode.long() || slope.abs() > 3.0 * se_slope;
            if !stands_out || (slope * n as f64).abs() <= 1.0 {
                continue;
            }
            eps += slope / SYM as f64;
            match self.symbols(bb, c, eps, layout.len()) {
                Some(r) => rows = r,
                None => return (report, None),
            }
            report.clock_ppm = eps * 1e6;
        }
        // What is left of the frequency offset: the mean phase step between
        // pilot rows (unambiguous within ±1/(2·spacing) ≈ ±3 Hz), removed
        // from every symbol.
        let step = spec.pilot_every + 1;
        let pilot_js: Vec<(usize, usize)> = layout
            .iter()
            .enumerate()
            .filter_map(|(j, s)| s.map(|r| (j, r)))
            .collect();
        let mut acc = Complex64::new(0.0, 0.0);
        for w in pilot_js.windows(2) {
            let ((ja, ra), (jb, rb)) = (w[0], w[1]);
            if jb - ja != step {
                continue;
            }
            let (xa, xb) = (pilot_row(mode, ra), pilot_row(mode, rb));
            for k in 0..CARRIERS {
                let v = rows[jb][k] * xb[k].conj() * (rows[ja][k] * xa[k].conj()).conj();
                acc += Complex64::new(v.re.into(), v.im.into());
            }
        }
        let per_symbol = if acc.norm() > 0.0 {
            acc.arg() / step as f64
        } else {
            0.0
        };
        report.freq_offset_hz += per_symbol / TAU * FS / SYM as f64;
        for (j, row) in rows.iter_mut().enumerate() {
            let r = Complex32::from_polar(1.0, (-per_symbol * j as f64) as f32);
            row.iter_mut().for_each(|v| *v *= r);
        }
        // Channel at the pilot rows, smoothed over carriers.
        let w = spec.smooth;
        let (mut pilots, sigma2, signal) = pilot_channel(&rows, &layout, mode, w);
        report.esn0_db = 10.0 * (signal / sigma2).log10();
        if report.esn0_db.is_nan() || report.esn0_db < spec.min_esn0_db {
            report.status = FrameStatus::TooWeak;
            return (report, None);
        }
        // Averaged over pilot rows as far as the channel holds still.
        let averaged = smooth_in_time(&mut pilots, sigma2 / w as f64);
        let sigma2_eff = sigma2 * (1.0 + 1.0 / (w as f64 * averaged));
        let scale = (2.0 * std::f64::consts::SQRT_2 / sigma2_eff) as f32;
        // LLRs of the cells, copies added.
        let m = N_BITS / 2;
        let mut llr = vec![0.0f64; N_BITS];
        let mut d = 0usize;
        let mut p = 0usize;
        for (j, sym) in layout.iter().enumerate() {
            if sym.is_some() {
                p += 1;
                continue;
            }
            let (ja, ha) = &pilots[p - 1];
            let (jb, hb) = &pilots[p];
            let t = (j - ja) as f32 / (jb - ja) as f32;
            for k in 0..CARRIERS {
                let cell = d * CARRIERS + k;
                if cell >= m * spec.repeat {
                    break;
                }
                let h = ha[k] + (hb[k] - ha[k]) * t;
                let z = h.conj() * rows[j][k] * scale;
                let i = cell % m;
                llr[2 * i] += f64::from(z.re);
                llr[2 * i + 1] += f64::from(z.im);
            }
            d += 1;
        }
        let fec = &mut self
            .fec
            .iter_mut()
            .find(|(mm, _)| *mm == mode)
            .expect("every mode has a code")
            .1;
        match fec.decode(&llr) {
            Ok((payload, it)) => {
                report.status = FrameStatus::Decoded;
                report.iterations = it;
                (report, Some(payload))
            }
            Err(FecFailure::NoCodeword) => {
                report.status = FrameStatus::Undecodable;
                report.iterations = fec::MAX_ITERATIONS;
                (report, None)
            }
            Err(FecFailure::Crc) => {
                report.status = FrameStatus::BadCrc;
                (report, None)
            }
        }
    }
}

/// The frequency offset measured again on the preamble that ends at `sync`
/// (the start of the sync symbol), now that its timing is known: the
/// received preamble times the conjugate of the known one is a tone at the
/// offset (signal times known signal, not noise times noise as in the
/// autocorrelation), found as the peak of a zero-padded FFT within ±64 Hz
/// and interpolated between bins.
fn fine_freq(
    fft: &dyn Fft<f32>,
    bb: &[Complex32],
    sync: usize,
    known: &[Complex32],
    coarse: f64,
) -> f64 {
    let Some(a) = sync.checked_sub(known.len()) else {
        return coarse;
    };
    let mut buf = vec![Complex32::new(0.0, 0.0); FREQ_FFT];
    for (i, (r, p)) in bb[a..sync].iter().zip(known).enumerate() {
        buf[i] = r * p.conj();
    }
    fft.process(&mut buf);
    let hz_per_bin = FS / FREQ_FFT as f64;
    let span = (64.0 / hz_per_bin).ceil() as i64;
    let at = |b: i64| buf[b.rem_euclid(FREQ_FFT as i64) as usize].norm();
    let Some(best) = (-span..=span).max_by(|&x, &y| at(x).total_cmp(&at(y))) else {
        return coarse;
    };
    let (l, c, r) = (
        f64::from(at(best - 1)),
        f64::from(at(best)),
        f64::from(at(best + 1)),
    );
    let den = l - 2.0 * c + r;
    let frac = if den.abs() > 1e-20 {
        (0.5 * (l - r) / den).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    (best as f64 + frac) * hz_per_bin
}

/// The channel at each pilot row among the first `rows.len()` symbols,
/// smoothed over `w` carriers (fewer at the band's edges), with the noise
/// variance σ² per cell and the signal power, both measured away from the
/// edges.
fn pilot_channel(
    rows: &[Vec<Complex32>],
    layout: &[Option<usize>],
    mode: Mode,
    w: usize,
) -> (Vec<(usize, Vec<Complex32>)>, f64, f64) {
    let mut pilots: Vec<(usize, Vec<Complex32>)> = Vec::new();
    let (mut resid, mut power, mut count) = (0.0f64, 0.0f64, 0usize);
    for (j, sym) in layout.iter().enumerate().take(rows.len()) {
        let Some(row) = *sym else { continue };
        let known = pilot_row(mode, row);
        let raw: Vec<Complex32> = rows[j]
            .iter()
            .zip(&known)
            .map(|(y, x)| y * x.conj())
            .collect();
        let smooth: Vec<Complex32> = (0..CARRIERS)
            .map(|k| {
                let a = k.saturating_sub(w / 2);
                let b = (k + w / 2 + 1).min(CARRIERS);
                raw[a..b].iter().sum::<Complex32>() / (b - a) as f32
            })
            .collect();
        for k in w / 2..CARRIERS - w / 2 {
            resid += f64::from((raw[k] - smooth[k]).norm_sqr());
            power += f64::from(smooth[k].norm_sqr());
            count += 1;
        }
        pilots.push((j, smooth));
    }
    if count == 0 {
        return (pilots, f64::NAN, f64::NAN);
    }
    let sigma2 = (resid / count as f64 / (1.0 - 1.0 / w as f64)).max(1e-12);
    let signal = (power / count as f64 - sigma2 / w as f64).max(1e-12);
    (pilots, sigma2, signal)
}

/// Averages each pilot row's channel with the rows around it, as far as the
/// channel holds still: the window (±R rows) is the one whose mean best
/// predicts each row from the others (leave-one-out, so a row's own noise,
/// `row_noise` per cell, does not flatter it). A steady channel is averaged
/// over many rows, a fading one over few or none. Returns how many rows
/// were averaged (the estimate's noise is that much lower).
fn smooth_in_time(pilots: &mut [(usize, Vec<Complex32>)], row_noise: f64) -> f64 {
    let n = pilots.len();
    if n < 3 {
        return 1.0;
    }
    // Running sums over rows, per carrier.
    let mut sums = vec![vec![Complex64::new(0.0, 0.0); CARRIERS]; n + 1];
    for (r, (_, h)) in pilots.iter().enumerate() {
        for k in 0..CARRIERS {
            sums[r + 1][k] = sums[r][k] + Complex64::new(h[k].re.into(), h[k].im.into());
        }
    }
    let window = |r: usize, half: usize| (r.saturating_sub(half), (r + half + 1).min(n));
    let mut best = (0usize, f64::INFINITY);
    for half in [1usize, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64] {
        if half >= n {
            break;
        }
        let mut err = 0.0f64;
        for (r, (_, h)) in pilots.iter().enumerate() {
            let (a, b) = window(r, half);
            let others = (b - a - 1) as f64;
            for k in 0..CARRIERS {
                let own = Complex64::new(h[k].re.into(), h[k].im.into());
                let mean = (sums[b][k] - sums[a][k] - own) / others;
                err += (own - mean).norm_sqr();
            }
        }
        // What a row predicted by the others misses, less its own noise:
        // the error of the averaged estimate.
        let mse = (err / (n * CARRIERS) as f64 - row_noise).max(0.0);
        if mse < best.1 {
            best = (half, mse);
        }
    }
    // Averaging only pays if it misses less than one row's noise.
    let (half, mse) = best;
    if mse >= row_noise {
        return 1.0;
    }
    let smoothed: Vec<Vec<Complex32>> = (0..n)
        .map(|r| {
            let (a, b) = window(r, half);
            (0..CARRIERS)
                .map(|k| {
                    let m = (sums[b][k] - sums[a][k]) / (b - a) as f64;
                    Complex32::new(m.re as f32, m.im as f32)
                })
                .collect()
        })
        .collect();
    for ((_, h), s) in pilots.iter_mut().zip(smoothed) {
        *h = s;
    }
    (2 * half + 1) as f64 * row_noise / (row_noise + mse * (2 * half + 1) as f64)
}

/// Es/N0 (dB) measured on the pilot rows among the first `rows.len()`
/// symbols, smoothed over `w` carriers.
fn pilot_esn0(rows: &[Vec<Complex32>], layout: &[Option<usize>], mode: Mode, w: usize) -> f64 {
    let (_, sigma2, signal) = pilot_channel(rows, layout, mode, w);
    10.0 * (signal / sigma2).log10()
}

/// The slope (samples per symbol) of the delay measured on each pilot row,
/// with its standard error: a delay of τ samples turns the channel by
/// `e^{-j2πkτ/N}` across carriers, so the phase step between neighbouring
/// carriers gives τ; a weighted line through (symbol, τ) gives how fast the
/// windows slide off the signal, and its residuals how far to trust that (at
/// -12 dB a row's delay is mostly noise).
fn delay_fit(rows: &[Vec<Complex32>], layout: &[Option<usize>], mode: Mode) -> (f64, f64) {
    let mut pts: Vec<(f64, f64, f64)> = Vec::new();
    for (j, sym) in layout.iter().enumerate().take(rows.len()) {
        let Some(r) = *sym else { continue };
        let known = pilot_row(mode, r);
        let h: Vec<Complex32> = rows[j]
            .iter()
            .zip(&known)
            .map(|(y, x)| y * x.conj())
            .collect();
        let acc: Complex32 = h.windows(2).map(|w| w[1] * w[0].conj()).sum();
        if acc.norm() > 0.0 {
            let tau = -f64::from(acc.arg()) * N as f64 / TAU;
            pts.push((j as f64, tau, f64::from(acc.norm())));
        }
    }
    let w: f64 = pts.iter().map(|p| p.2).sum();
    if pts.len() < 3 || w <= 0.0 {
        return (0.0, f64::INFINITY);
    }
    let mx = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / w;
    let my = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / w;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let delay = my - slope * mx;
    let n_eff = w * w / pts.iter().map(|p| p.2 * p.2).sum::<f64>();
    let var_r = pts
        .iter()
        .map(|p| p.2 * (p.1 - (delay + slope * p.0)).powi(2))
        .sum::<f64>()
        / w;
    (slope, (var_r / (sxx / w * n_eff).max(1e-30)).sqrt())
}

/// The clock error of a chain of frames: (samples sent, position found).
fn clock_fit(pts: &[(f64, f64)]) -> f64 {
    let mut links: Vec<f64> = pts
        .windows(2)
        .map(|w| (w[1].1 - w[0].1) / (w[1].0 - w[0].0) - 1.0)
        .collect();
    if links.is_empty() {
        return 0.0;
    }
    links.sort_by(f64::total_cmp);
    let m = links[links.len() / 2];
    let mut res: Vec<f64> = pts.iter().map(|&(x, y)| y - x * (1.0 + m)).collect();
    let mut sorted = res.clone();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted[sorted.len() / 2];
    let keep: Vec<(f64, f64)> = pts
        .iter()
        .zip(res.iter_mut())
        .filter(|(_, r)| (**r - mid).abs() <= 24.0)
        .map(|(p, _)| *p)
        .collect();
    if keep.len() < 2 {
        return m;
    }
    let n = keep.len() as f64;
    let mx = keep.iter().map(|p| p.0).sum::<f64>() / n;
    let my = keep.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = keep.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = keep.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return m;
    }
    let e = sxy / sxx - 1.0;
    if e.abs() < MAX_CLOCK { e } else { m }
}

/// `e^{-j2π·f·n/FS}`: removes a frequency offset `f` at sample `n`.
fn rot(f: f64, n: usize) -> Complex32 {
    let ph = -(TAU * f * n as f64 / FS) % TAU;
    Complex32::from_polar(1.0, ph as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(mode: Mode, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut pn = Pn::new(i as u64 + 1);
                (0..mode.payload_len())
                    .map(|_| pn.next_u64() as u8)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn progress_rises_to_one_and_changes_nothing() {
        let mode = Mode::Normal;
        let ps = payloads(mode, 3);
        let mut audio = vec![0.0f32; 4000];
        audio.extend(Modulator::new().modulate(mode, &ps).unwrap());
        let mut seen = Vec::new();
        let with = Demodulator::new().demodulate_with_progress(&audio, &mut |f| seen.push(f));
        let without = Demodulator::new().demodulate(&audio);
        assert_eq!(
            with.payloads().collect::<Vec<_>>(),
            without.payloads().collect::<Vec<_>>()
        );
        assert_eq!(with.payloads().count(), 3);
        assert!(seen.len() > 5, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert!(seen[0] > 0.0 && seen[0] < 0.1, "{seen:?}");
        assert_eq!(*seen.last().unwrap(), 1.0);
        // The frames' share starts where the search's ends.
        assert!(seen.iter().any(|&f| f > 0.45 && f < 1.0), "{seen:?}");
    }

    #[test]
    fn clean_round_trip_every_mode() {
        for mode in Mode::ALL {
            let ps = payloads(mode, 2);
            let audio = Modulator::new().modulate(mode, &ps).unwrap();
            let rms =
                (audio.iter().map(|v| f64::from(v * v)).sum::<f64>() / audio.len() as f64).sqrt();
            assert!(rms > 0.1 && rms < 0.25, "{rms}");
            let got = Demodulator::new().demodulate(&audio);
            let decoded: Vec<&[u8]> = got.payloads().map(|(_, p)| p).collect();
            assert_eq!(
                decoded.len(),
                2,
                "{mode}: {:?}",
                got.frames.iter().map(|f| &f.0).collect::<Vec<_>>()
            );
            assert_eq!(decoded[0], &ps[0][..]);
            assert_eq!(decoded[1], &ps[1][..]);
        }
    }

    #[test]
    fn frame_figures() {
        for mode in Mode::ALL {
            let l = mode.layout();
            assert_eq!(l.len(), mode.symbols());
            assert_eq!(
                l.iter().filter(|s| s.is_none()).count(),
                mode.data_symbols()
            );
            assert!(l.last().unwrap().is_some());
        }
        assert_eq!(Mode::Normal.payload_len(), 896);
        assert_eq!(Mode::Deep.payload_len(), 401);
        assert!((Mode::Deep.frame_seconds() - 41.5).abs() < 0.05);
        assert!((Mode::Deepest.frame_seconds() - 81.9).abs() < 0.05);
        assert_eq!(Mode::Deepest.preamble_samples(), LONG_PREAMBLE);
    }

    /// Pilot rows of a channel `h(row)` seen through noise of variance
    /// `noise` per cell.
    fn noisy_rows(
        n: usize,
        noise: f64,
        h: impl Fn(usize) -> Complex32,
    ) -> Vec<(usize, Vec<Complex32>)> {
        let mut pn = Pn::new(77);
        let mut gauss = || {
            let u1 = ((pn.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            let u2 = ((pn.next_u64() >> 11) as f64) / (1u64 << 53) as f64;
            (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
        };
        let sd = (noise / 2.0).sqrt();
        (0..n)
            .map(|r| {
                let row = (0..CARRIERS)
                    .map(|_| h(r) + Complex32::new((gauss() * sd) as f32, (gauss() * sd) as f32))
                    .collect();
                (4 * r, row)
            })
            .collect()
    }

    fn mse(rows: &[(usize, Vec<Complex32>)], h: impl Fn(usize) -> Complex32) -> f64 {
        let mut e = 0.0;
        for (r, (_, row)) in rows.iter().enumerate() {
            e += row
                .iter()
                .map(|v| f64::from((v - h(r)).norm_sqr()))
                .sum::<f64>();
        }
        e / (rows.len() * CARRIERS) as f64
    }

    #[test]
    fn time_smoothing_averages_a_steady_channel_and_follows_a_moving_one() {
        // Steady: the estimate's error falls by the rows averaged.
        let steady = |_: usize| Complex32::new(0.6, -0.3);
        let mut rows = noisy_rows(200, 0.5, steady);
        let gain = smooth_in_time(&mut rows, 0.5);
        assert!(gain > 20.0, "{gain}");
        assert!(mse(&rows, steady) < 0.5 / 20.0, "{}", mse(&rows, steady));
        // Turning by half a radian a row: averaging would cancel it, so the
        // rows are left nearly alone and stay close to the channel.
        let turning = |r: usize| Complex32::from_polar(1.0, 0.5 * r as f32);
        let mut rows = noisy_rows(200, 0.05, turning);
        let gain = smooth_in_time(&mut rows, 0.05);
        assert!(gain < 3.0, "{gain}");
        assert!(mse(&rows, turning) < 0.05, "{}", mse(&rows, turning));
    }
}
