//! Broadcast: files over AM and shortwave radio, rebuilt from any recordings.
//!
//! * [`channel`]: the HF channel simulator (ITU-R F.1487 / CCIR Watterson
//!   two-path model, AWGN at an SNR measured in 3 kHz, frequency offset,
//!   sample-clock error, AM envelope detection, clipping) and WAV I/O.
//! * [`carousel`]: files split and RaptorQ-encoded into packets, a signed
//!   manifest (Ed25519), and a receiver that adds up symbols across
//!   recordings and writes each file once it is rebuilt and verified.
//! * [`broadcast`]: files → carousel → modem → WAV audio, and recordings →
//!   modem → receiver.
//! * [`modem`]: OFDM with DVB-S2 LDPC codes, seven modes (deepest, deep,
//!   robust, sturdy, steady, normal, fast): carousel packets to 8 kHz audio between 300 and
//!   2700 Hz and back, tolerating ±50 Hz offset, ±300 ppm clock error,
//!   fading, AM and clipping.

pub mod broadcast;
pub mod carousel;
pub mod channel;
pub mod modem;
