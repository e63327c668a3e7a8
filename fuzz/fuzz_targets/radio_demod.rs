#![no_main]
//! Fuzz the demodulator's frame parsing: a real fast-mode frame, damaged by
//! the input (samples overwritten, the recording cut, a gain), must never
//! panic, and a frame that decodes must be the one that was sent (CRC-32 and
//! LDPC together make anything else astronomically unlikely). Plain noise
//! rarely reaches past detection, so the damage starts from a real frame.
use baram_radio::modem::Mode;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "radio_common.rs"]
mod radio_common;

fn frame() -> &'static (Vec<u8>, Vec<f32>) {
    static F: OnceLock<(Vec<u8>, Vec<f32>)> = OnceLock::new();
    F.get_or_init(|| radio_common::one_frame(Mode::Fast, 37))
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
    radio_common::damage_and_check(x, gain, &data[3..], sent);
});
