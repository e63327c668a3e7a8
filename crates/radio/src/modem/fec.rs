//! Forward error correction of one frame: CRC-32, scrambling, a DVB-S2 short
//! LDPC code (ETSI EN 302 307-1, from `ldpc-toolbox`), repetition and a
//! pseudo-random bit interleaver.
//!
//! `payload ‖ CRC-32` is XORed with a fixed PN sequence (so a run of zeros
//! does not become a run of identical OFDM cells), encoded, interleaved over
//! the whole codeword and mapped two bits per QPSK cell; each cell is sent
//! `repeat` times, the copies a `1/repeat` of the frame apart in time and on
//! other carriers, and the receiver adds their LLRs.

use ldpc_toolbox::codes::dvbs2::Code;
use ldpc_toolbox::decoder::LdpcDecoder;
use ldpc_toolbox::decoder::factory::{DecoderFactory, DecoderImplementation};
use ldpc_toolbox::encoder::Encoder;
use ldpc_toolbox::gf2::GF2;
use ndarray::Array1;
use num_traits::{One, Zero};

/// Coded bits of a DVB-S2 short frame.
pub const N_BITS: usize = 16200;
/// Bytes of the CRC-32 (IEEE) that ends every frame's payload.
pub const CRC_BYTES: usize = 4;
/// Decoder iterations at most.
/// Decoder iterations at most. The layered decoder converges in 5-15
/// iterations when it converges at all (measured at the thresholds); each
/// failing frame costs all of them, which bounds the decoding speed on bad
/// channels.
pub const MAX_ITERATIONS: usize = 30;

/// A small, fast deterministic generator (xorshift64*), for the interleaver,
/// the scrambler and known cells. Not for anything secret.
#[derive(Clone)]
pub struct Pn(u64);

impl Pn {
    pub fn new(seed: u64) -> Pn {
        Pn(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn bit(&mut self) -> u8 {
        (self.next_u64() >> 63) as u8
    }
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

/// One mode's code: encoder, decoder, interleaver and scrambler.
pub struct Fec {
    k: usize,
    encoder: Encoder,
    decoder: Box<dyn LdpcDecoder>,
    /// `perm[i]`: the codeword bit sent as the i-th bit.
    perm: Vec<u32>,
    scramble: Vec<u8>,
}

impl std::fmt::Debug for Fec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fec").field("k", &self.k).finish()
    }
}

/// Why a frame did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FecFailure {
    /// The LDPC decoder did not converge to a codeword.
    NoCodeword,
    /// A codeword, but its CRC-32 is wrong.
    Crc,
}

impl Fec {
    pub fn new(code: Code, seed: u64) -> Fec {
        let h = code.h();
        assert_eq!(h.num_cols(), N_BITS, "a short DVB-S2 code");
        let k = N_BITS - h.num_rows();
        // The DVB-S2 parity part is a staircase, which ldpc-toolbox encodes
        // without a dense generator; `from_h` cannot fail for it.
        let encoder = Encoder::from_h(&h).expect("DVB-S2 codes have a staircase parity part");
        let decoder = DecoderImplementation::HLAminstari8.build_decoder(h);
        let mut pn = Pn::new(seed);
        let mut perm: Vec<u32> = (0..N_BITS as u32).collect();
        for i in (1..N_BITS).rev() {
            let j = pn.below(i + 1);
            perm.swap(i, j);
        }
        let mut pn = Pn::new(seed ^ 0x5C5C);
        let scramble = (0..k).map(|_| pn.bit()).collect();
        Fec {
            k,
            encoder,
            decoder,
            perm,
            scramble,
        }
    }

    /// Information bits (payload and CRC).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Payload bytes a frame carries.
    pub fn payload_len(&self) -> usize {
        self.k / 8 - CRC_BYTES
    }

    /// The frame's bits in the order they are sent (0/1 per byte).
    pub fn encode(&self, payload: &[u8]) -> Vec<u8> {
        assert_eq!(payload.len(), self.payload_len());
        let crc = crc32fast::hash(payload).to_be_bytes();
        let mut info = Vec::with_capacity(self.k);
        for &b in payload.iter().chain(&crc) {
            for i in (0..8).rev() {
                info.push((b >> i) & 1);
            }
        }
        let msg: Array1<GF2> = info
            .iter()
            .zip(&self.scramble)
            .map(|(&b, &s)| if b ^ s == 1 { GF2::one() } else { GF2::zero() })
            .collect();
        let cw = self.encoder.encode(&msg);
        let bits: Vec<u8> = cw.iter().map(|b| u8::from(*b == GF2::one())).collect();
        self.perm.iter().map(|&p| bits[p as usize]).collect()
    }

    /// Decodes LLRs of the bits as sent (positive: 0 more likely).
    pub fn decode(&mut self, llrs_sent: &[f64]) -> Result<(Vec<u8>, usize), FecFailure> {
        assert_eq!(llrs_sent.len(), N_BITS);
        let mut llrs = vec![0.0f64; N_BITS];
        for (i, &p) in self.perm.iter().enumerate() {
            llrs[p as usize] = llrs_sent[i].clamp(-40.0, 40.0);
        }
        let out = self
            .decoder
            .decode(&llrs, MAX_ITERATIONS)
            .map_err(|_| FecFailure::NoCodeword)?;
        let mut bytes = vec![0u8; self.k / 8];
        for (i, (&b, &s)) in out.codeword[..self.k]
            .iter()
            .zip(&self.scramble)
            .enumerate()
        {
            bytes[i / 8] |= (b ^ s) << (7 - i % 8);
        }
        let (payload, crc) = bytes.split_at(self.k / 8 - CRC_BYTES);
        if crc32fast::hash(payload).to_be_bytes() != crc {
            return Err(FecFailure::Crc);
        }
        Ok((payload.to_vec(), out.iterations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_without_noise_and_crc_catches_a_wrong_codeword() {
        let mut fec = Fec::new(Code::R1_2short, 7);
        assert_eq!(fec.k(), 7200);
        let payload: Vec<u8> = (0..fec.payload_len()).map(|i| (i * 7) as u8).collect();
        let bits = fec.encode(&payload);
        assert_eq!(bits.len(), N_BITS);
        let llrs: Vec<f64> = bits
            .iter()
            .map(|&b| if b == 0 { 4.0 } else { -4.0 })
            .collect();
        let (got, _) = fec.decode(&llrs).unwrap();
        assert_eq!(got, payload);
        // Another valid codeword (all zeros) whose CRC does not hold.
        let zeros = vec![4.0; N_BITS];
        // All-zero info bits XOR scramble is a codeword of scrambled bits;
        // its payload is the scramble sequence, whose CRC is (almost surely)
        // not its last 32 bits.
        assert_eq!(fec.decode(&zeros), Err(FecFailure::Crc));
    }

    #[test]
    fn corrects_errors() {
        let mut fec = Fec::new(Code::R1_4short, 3);
        let payload = vec![0xA5u8; fec.payload_len()];
        let bits = fec.encode(&payload);
        let mut pn = Pn::new(99);
        // 10% of the bits flipped with weak confidence.
        let llrs: Vec<f64> = bits
            .iter()
            .map(|&b| {
                let s = if b == 0 { 1.0 } else { -1.0 };
                if pn.below(10) == 0 { -0.5 * s } else { 2.0 * s }
            })
            .collect();
        assert_eq!(fec.decode(&llrs).unwrap().0, payload);
    }
}
