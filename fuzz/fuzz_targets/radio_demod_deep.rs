#![no_main]
//! Fuzz the demodulator's long-preamble path: the start of a real deep-mode
//! frame (its 1 s preamble, the ten known symbols it is timed on and the
//! pilot rows its signal is first measured on), cut where the input says,
//! scaled and overwritten by it, must never panic, and a frame that decodes
//! must be the one that was sent. The whole 41 s frame is too slow to run
//! often, so most inputs keep only its first seconds (reported cut off).
use baram_radio::modem::Mode;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "radio_common.rs"]
mod radio_common;

fn frame() -> &'static (Vec<u8>, Vec<f32>) {
    static F: OnceLock<(Vec<u8>, Vec<f32>)> = OnceLock::new();
    F.get_or_init(|| radio_common::one_frame(Mode::Deep, 41))
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
    let x = audio[..keep].to_vec();
    let gain = f32::from(data[2] & 0x7f) / 16.0;
    radio_common::damage_and_check(x, gain, &data[3..], sent);
});
