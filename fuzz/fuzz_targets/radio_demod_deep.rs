#![no_main]
//! Fuzz the demodulator's long-preamble path: the start of a real deep-mode
//! frame (its 1 s preamble, the ten known symbols it is timed on and the
//! pilot rows its signal is first measured on), cut where the input says,
//! scaled and overwritten by it, must never panic, and a frame that decodes
//! must be the one that was sent. The whole 41 s frame is too slow to run
//! often, so most inputs keep only its first seconds (reported cut off).
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
        let mode = Mode::Deep;
        let p: Vec<u8> = (0..mode.payload_len()).map(|i| (i * 41) as u8).collect();
        let audio = Modulator::new().modulate(mode, &[p.clone()]).unwrap();
        (p, audio)
    })
}

fuzz_target!(|data: &[u8]| {
    let (sent, audio) = frame();
    if data.len() < 3 {
        return;
    }
    // Keep 1.5 s plus up to 8 s more, and rarely (top bit) the whole frame.
    let keep = if data[2] & 0x80 != 0 {
        audio.len()
    } else {
        (12_000 + usize::from(u16::from_le_bytes([data[0], data[1]])) * 64_000 / 65536)
            .min(audio.len())
    };
    let mut x = audio[..keep].to_vec();
    let gain = f32::from(data[2] & 0x7f) / 16.0;
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
