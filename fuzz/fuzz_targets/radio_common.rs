//! What the demodulator targets share (included by `#[path]`): the damage
//! the input does to a recording and the check of what decodes.
use baram_radio::modem::{Demodulator, Mode, Modulator};
use std::cell::RefCell;

thread_local! {
    // One demodulator for every run (building its seven LDPC codes took
    // most of each run's time); it keeps nothing from one recording to the
    // next but FFT plans and the known symbols' spectra.
    static DEMOD: RefCell<Demodulator> = RefCell::new(Demodulator::new());
}

/// Scales `x` by `gain`, overwrites one sample per 4 bytes of `rest` (a
/// 24-bit position and the sample), demodulates it, and checks that no
/// frame but `sent` decodes (CRC-32 and LDPC together make anything else
/// astronomically unlikely). Must never panic.
pub fn damage_and_check(mut x: Vec<f32>, gain: f32, rest: &[u8], sent: &[u8]) {
    x.iter_mut().for_each(|v| *v *= gain);
    let len = x.len().max(1);
    for c in rest.chunks_exact(4) {
        let at = u32::from_le_bytes([c[0], c[1], c[2], 0]) as usize;
        if let Some(v) = x.get_mut(at % len) {
            *v = f32::from(c[3] as i8) / 64.0;
        }
    }
    let got = DEMOD.with(|d| d.borrow_mut().demodulate(&x));
    for (_, p) in got.payloads() {
        assert_eq!(p, sent);
    }
}

/// One frame of `mode` (payload bytes `i * step`) and its audio.
pub fn one_frame(mode: Mode, step: usize) -> (Vec<u8>, Vec<f32>) {
    let p: Vec<u8> = (0..mode.payload_len()).map(|i| (i * step) as u8).collect();
    let audio = Modulator::new().modulate(mode, &[p.clone()]).unwrap();
    (p, audio)
}
