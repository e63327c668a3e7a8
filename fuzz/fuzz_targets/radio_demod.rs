#![no_main]
//! Fuzz the demodulator's frame parsing: a real fast-mode frame, damaged by
//! the input (samples overwritten, the recording cut, a gain), must never
//! panic, and a frame that decodes must be the one that was sent (CRC-32 and
//! LDPC together make anything else astronomically unlikely). Plain noise
//! rarely reaches past detection, so the damage starts from a real frame.
use baram_radio::modem::{Demodulator, Mode, Modulator};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::sync::OnceLock;

thread_local! {
    // One demodulator for every run (building its seven LDPC codes took
    // most of each run's time); it keeps nothing from one recording to the
    // next but FFT plans and the known symbols' spectra.
    static DEMOD: RefCell<Demodulator> = RefCell::new(Demodulator::new());
}

fn frame() -> &'static (Vec<u8>, Vec<f32>) {
    static F: OnceLock<(Vec<u8>, Vec<f32>)> = OnceLock::new();
    F.get_or_init(|| {
        let mode = Mode::Fast;
        let p: Vec<u8> = (0..mode.payload_len()).map(|i| (i * 37) as u8).collect();
        let audio = Modulator::new().modulate(mode, &[p.clone()]).unwrap();
        (p, audio)
    })
}

fuzz_target!(|data: &[u8]| {
    let (sent, audio) = frame();
    if data.len() < 3 {
        return;
    }
    let mut x = audio.clone();
    let cut = usize::from(u16::from_le_bytes([data[0], data[1]])) * x.len() / 65536;
    if data[2] & 1 == 1 {
        x.truncate(x.len() - cut / 2);
    } else {
        x.drain(..cut / 4);
    }
    let gain = f32::from(data[2] >> 1) / 16.0;
    x.iter_mut().for_each(|v| *v *= gain);
    let len = x.len().max(1);
    for c in data[3..].chunks_exact(4) {
        let at = u32::from_le_bytes([c[0], c[1], c[2], 0]) as usize;
        if let Some(v) = x.get_mut(at % len) {
            *v = f32::from(c[3] as i8) / 64.0;
        }
    }
    let got = DEMOD.with(|d| d.borrow_mut().demodulate(&x));
    for (_, p) in got.payloads() {
        assert_eq!(p, &sent[..]);
    }
});
