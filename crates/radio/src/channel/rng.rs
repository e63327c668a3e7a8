//! The simulator's random numbers: ChaCha20 (RFC 8439's block function) in
//! counter mode, one independent stream per use, and Gaussian deviates by
//! Box–Muller.
//!
//! Why ChaCha20 and not a crate's `StdRng`: the output of a seeded channel
//! must stay the same bytes across versions of baram (tests and field
//! reports quote seeds), and `StdRng` is documented as allowed to change.
//! ChaCha20 is fixed by RFC 8439 and checked here against its test vector.
//!
//! Layout: the 256-bit key is four SplitMix64 outputs of the user's 64-bit
//! seed; state words 12–13 are a 64-bit block counter and words 14–15 a
//! 64-bit stream id (the original Bernstein layout), so every stream
//! ([`STREAM_NOISE`], [`STREAM_PATH`]` + i`) is an independent keystream.
//! Each consumer draws its numbers strictly in sample order, so the output
//! does not depend on how the audio is split into chunks.

/// The stream of additive noise.
pub const STREAM_NOISE: u64 = 0;
/// The first fading path's stream; path `i` uses `STREAM_PATH + i`.
pub const STREAM_PATH: u64 = 1;

/// One SplitMix64 step (Steele, Lea & Flood 2014), used only to expand seeds.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[inline(always)]
fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The ChaCha20 block function of RFC 8439 section 2.3 on a full input state.
pub fn chacha20_block(input: &[u32; 16]) -> [u32; 16] {
    let mut s = *input;
    for _ in 0..10 {
        quarter(&mut s, 0, 4, 8, 12);
        quarter(&mut s, 1, 5, 9, 13);
        quarter(&mut s, 2, 6, 10, 14);
        quarter(&mut s, 3, 7, 11, 15);
        quarter(&mut s, 0, 5, 10, 15);
        quarter(&mut s, 1, 6, 11, 12);
        quarter(&mut s, 2, 7, 8, 13);
        quarter(&mut s, 3, 4, 9, 14);
    }
    for (o, i) in s.iter_mut().zip(input) {
        *o = o.wrapping_add(*i);
    }
    s
}

/// A ChaCha20 keystream read as 64-bit words.
#[derive(Clone, Debug)]
pub struct ChaCha {
    state: [u32; 16],
    block: [u32; 16],
    next: usize,
}

impl ChaCha {
    /// The keystream `stream` of the key derived from `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut sm = seed;
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..4 {
            let k = splitmix64(&mut sm);
            state[4 + 2 * i] = k as u32;
            state[5 + 2 * i] = (k >> 32) as u32;
        }
        state[14] = stream as u32;
        state[15] = (stream >> 32) as u32;
        ChaCha {
            state,
            block: [0; 16],
            next: 16,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        if self.next >= 16 {
            self.block = chacha20_block(&self.state);
            let ctr =
                (u64::from(self.state[12]) | (u64::from(self.state[13]) << 32)).wrapping_add(1);
            self.state[12] = ctr as u32;
            self.state[13] = (ctr >> 32) as u32;
            self.next = 0;
        }
        let v = u64::from(self.block[self.next]) | (u64::from(self.block[self.next + 1]) << 32);
        self.next += 2;
        v
    }

    /// Uniform in (0, 1]: 53 random bits, never 0 (so its logarithm is finite).
    pub fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Standard normal deviates (mean 0, variance 1) by the Box–Muller transform,
/// both deviates of each pair used in order.
#[derive(Clone, Debug)]
pub struct Gaussian {
    rng: ChaCha,
    spare: Option<f64>,
}

impl Gaussian {
    pub fn new(seed: u64, stream: u64) -> Self {
        Gaussian {
            rng: ChaCha::new(seed, stream),
            spare: None,
        }
    }

    pub fn sample(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let r = (-2.0 * self.rng.uniform_open0().ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * self.rng.uniform_open0()).sin_cos();
        self.spare = Some(r * s);
        r * c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 section 2.3.2: the block function's test vector.
    #[test]
    fn rfc8439_block_vector() {
        let mut s = [0u32; 16];
        s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            let b = 4 * i as u32;
            s[4 + i] = u32::from_le_bytes([b as u8, (b + 1) as u8, (b + 2) as u8, (b + 3) as u8]);
        }
        s[12] = 1;
        s[13] = 0x0900_0000;
        s[14] = 0x4a00_0000;
        s[15] = 0;
        let out = chacha20_block(&s);
        let want = [
            0xe4e7f110u32,
            0x15593bd1,
            0x1fdd0f50,
            0xc47120a3,
            0xc7f4d1c7,
            0x0368c033,
            0x9aaa2204,
            0x4e6cd4c3,
            0x466482d2,
            0x09aa9f07,
            0x05d7c214,
            0xa2028bd9,
            0xd19c12b5,
            0xb94e16de,
            0xe883d0cb,
            0x4e3c50a2,
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = ChaCha::new(7, 0);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = ChaCha::new(7, 0);
        assert!(a.iter().all(|&v| v == r.next_u64()));
        let mut r1 = ChaCha::new(7, 1);
        assert!(a.iter().all(|&v| v != r1.next_u64()));
    }

    #[test]
    fn gaussian_moments() {
        let mut g = Gaussian::new(1, 0);
        let n = 200_000;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let x = g.sample();
            s1 += x;
            s2 += x * x;
            s4 += x * x * x * x;
        }
        let nf = n as f64;
        // Standard errors: mean 1/sqrt(n), variance sqrt(2/n), 4th moment sqrt(96/n).
        assert!((s1 / nf).abs() < 5.0 / nf.sqrt());
        assert!((s2 / nf - 1.0).abs() < 5.0 * (2.0 / nf).sqrt());
        assert!((s4 / nf - 3.0).abs() < 5.0 * (96.0 / nf).sqrt());
    }
}
