//! Broadcast: files over AM and shortwave radio, rebuilt from any recordings.
//!
//! * [`channel`]: the HF channel simulator (ITU-R F.1487 / CCIR Watterson
//!   two-path model, AWGN at an SNR measured in 3 kHz, frequency offset,
//!   sample-clock error, AM envelope detection, clipping) and WAV I/O.
//! * [`carousel`]: files split and RaptorQ-encoded into packets, a signed
//!   manifest (Ed25519), and a receiver that adds up symbols across
//!   recordings and writes each file once it is rebuilt and verified.

pub mod carousel;
pub mod channel;
