//! The sender: files → signed manifest + an endless, deterministic packet carousel.

use ed25519_dalek::SigningKey;
use raptorq::{ObjectTransmissionInformation, SourceBlockEncoder, extended_source_block_symbols};

use super::manifest::{
    BLOCK_HASH_LEN, MAX_BLOCK_SYMBOLS, MAX_FILE_SIZE, MAX_FILES, Manifest, ManifestFile, key_id,
};
use super::packet::{
    BroadcastId, CRC_LEN, DATA_OVERHEAD, DataPacket, MANIFEST_HEADER_LEN, MAX_ESI, MAX_PAYLOAD,
    MIN_PAYLOAD, ManifestPacket,
};

/// Why a carousel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CarouselError {
    #[error("payload size {0} is outside {MIN_PAYLOAD}..={MAX_PAYLOAD}")]
    PayloadSize(usize),
    #[error("{0} files: at most {MAX_FILES} per broadcast")]
    TooManyFiles(usize),
    #[error("file {0:?}: name must be 1..=255 bytes of UTF-8")]
    BadName(String),
    #[error("file {0:?} is larger than {MAX_FILE_SIZE} bytes")]
    FileTooLarge(String),
    #[error("repair overhead {0} must be finite and within 0..=10")]
    BadOverhead(f64),
    #[error("manifest interval must be at least 1")]
    BadInterval,
    #[error("manifest needs {0} fragments, more than 65535")]
    ManifestTooLarge(usize),
}

/// Options of a carousel (see [`Carousel::with_options`]).
#[derive(Clone, Debug)]
pub struct CarouselOptions {
    /// Modem payload size in bytes: every packet has exactly this length.
    pub payload_size: usize,
    /// Repair symbols per source symbol in one round (round length = K·(1+overhead)).
    pub repair_overhead: f64,
    /// Broadcaster's sequence/version number, part of the broadcast id.
    pub sequence: u32,
    /// One manifest packet after every this many data packets.
    pub manifest_every: usize,
}

impl CarouselOptions {
    /// Defaults: sequence 0, one manifest packet every 16 data packets.
    pub fn new(payload_size: usize, repair_overhead: f64) -> CarouselOptions {
        CarouselOptions {
            payload_size,
            repair_overhead,
            sequence: 0,
            manifest_every: 16,
        }
    }
}

struct Block {
    file: u8,
    sbn: u8,
    k: u32,
    k_ext: u32,
    /// Symbols of this block in one round.
    per_round: u64,
    /// Zero-padded source block bytes (K·T).
    data: Vec<u8>,
    encoder: SourceBlockEncoder,
}

/// A built carousel: the signed manifest, its fragments and the data schedule.
pub struct Carousel {
    manifest: Manifest,
    blob: Vec<u8>,
    fragments: Vec<Vec<u8>>,
    blocks: Vec<Block>,
    /// One round of data: (block, symbol number within the round).
    order: Vec<(u32, u32)>,
    symbol_size: usize,
    manifest_every: usize,
}

impl Carousel {
    /// Build a carousel with default options (see [`CarouselOptions::new`]).
    pub fn new<N: AsRef<str>, B: AsRef<[u8]>>(
        files: &[(N, B)],
        signing_key: &SigningKey,
        payload_size: usize,
        repair_overhead: f64,
    ) -> Result<Carousel, CarouselError> {
        Self::with_options(
            files,
            signing_key,
            &CarouselOptions::new(payload_size, repair_overhead),
        )
    }

    /// Build a carousel.
    pub fn with_options<N: AsRef<str>, B: AsRef<[u8]>>(
        files: &[(N, B)],
        signing_key: &SigningKey,
        opts: &CarouselOptions,
    ) -> Result<Carousel, CarouselError> {
        let p = opts.payload_size;
        if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&p) {
            return Err(CarouselError::PayloadSize(p));
        }
        if files.len() > MAX_FILES {
            return Err(CarouselError::TooManyFiles(files.len()));
        }
        let o = opts.repair_overhead;
        if !o.is_finite() || !(0.0..=10.0).contains(&o) {
            return Err(CarouselError::BadOverhead(o));
        }
        if opts.manifest_every == 0 {
            return Err(CarouselError::BadInterval);
        }
        let t = p - DATA_OVERHEAD;
        let mut entries = Vec::new();
        let mut blocks = Vec::new();
        for (fi, (name, data)) in files.iter().enumerate() {
            let (name, data) = (name.as_ref(), data.as_ref());
            if name.is_empty() || name.len() > 255 {
                return Err(CarouselError::BadName(name.to_string()));
            }
            if data.len() as u64 > MAX_FILE_SIZE {
                return Err(CarouselError::FileTooLarge(name.to_string()));
            }
            let kt = (data.len() as u64).div_ceil(t as u64);
            let z = kt.div_ceil(MAX_BLOCK_SYMBOLS as u64);
            let oti =
                ObjectTransmissionInformation::new(data.len() as u64, t as u16, z as u8, 1, 1);
            let mut block_hashes = Vec::new();
            if kt > 0 {
                let (kl, ks, zl, zs) = raptorq::partition(kt as u32, z as u32);
                let mut start = 0usize;
                for sbn in 0..(zl + zs) {
                    let k = if sbn < zl { kl } else { ks };
                    let len = k as usize * t;
                    let mut bytes =
                        data[start.min(data.len())..(start + len).min(data.len())].to_vec();
                    bytes.resize(len, 0);
                    start += len;
                    if z > 1 {
                        let mut h = [0u8; BLOCK_HASH_LEN];
                        h.copy_from_slice(&blake3::hash(&bytes).as_bytes()[..BLOCK_HASH_LEN]);
                        block_hashes.push(h);
                    }
                    let encoder = SourceBlockEncoder::new(sbn as u8, &oti, &bytes);
                    blocks.push(Block {
                        file: fi as u8,
                        sbn: sbn as u8,
                        k,
                        k_ext: extended_source_block_symbols(k),
                        per_round: k as u64 + (k as f64 * o).ceil() as u64,
                        data: bytes,
                        encoder,
                    });
                }
            }
            entries.push(ManifestFile {
                name: name.to_string(),
                oti,
                blake3: *blake3::hash(data).as_bytes(),
                block_hashes,
            });
        }
        let mut manifest = Manifest {
            broadcast_id: BroadcastId([0; 4]),
            key_id: key_id(&signing_key.verifying_key()),
            sequence: opts.sequence,
            payload_size: p as u16,
            files: entries,
        };
        manifest.assign_broadcast_id();
        let blob = manifest.sign(signing_key);
        let chunk = p - MANIFEST_HEADER_LEN - CRC_LEN;
        let count = blob.len().div_ceil(chunk);
        if count > u16::MAX as usize {
            return Err(CarouselError::ManifestTooLarge(count));
        }
        let mut digest = [0u8; 4];
        digest.copy_from_slice(&blake3::hash(&blob).as_bytes()[..4]);
        let mut padded = blob.clone();
        padded.resize(count * chunk, 0);
        let fragments = padded
            .chunks(chunk)
            .enumerate()
            .map(|(i, c)| {
                ManifestPacket {
                    broadcast: manifest.broadcast_id,
                    digest,
                    index: i as u16,
                    count: count as u16,
                    chunk: c,
                }
                .encode()
            })
            .collect();
        // One round: block b's i-th symbol sits at (2i+1)/(2·L_b) of the round,
        // so every stretch of the carousel carries a share of every block.
        let mut order: Vec<(u32, u32)> = blocks
            .iter()
            .enumerate()
            .flat_map(|(b, blk)| (0..blk.per_round as u32).map(move |i| (b as u32, i)))
            .collect();
        order.sort_by(|&(b1, i1), &(b2, i2)| {
            let l1 = blocks[b1 as usize].per_round as u128;
            let l2 = blocks[b2 as usize].per_round as u128;
            ((2 * i1 as u128 + 1) * l2)
                .cmp(&((2 * i2 as u128 + 1) * l1))
                .then(b1.cmp(&b2))
        });
        Ok(Carousel {
            manifest,
            blob,
            fragments,
            blocks,
            order,
            symbol_size: t,
            manifest_every: opts.manifest_every,
        })
    }

    /// The manifest this carousel sends.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// The broadcast id on every packet.
    pub fn broadcast_id(&self) -> BroadcastId {
        self.manifest.broadcast_id
    }
    /// The signed manifest blob (unpadded).
    pub fn manifest_blob(&self) -> &[u8] {
        &self.blob
    }
    /// The manifest packets, in index order.
    pub fn manifest_packets(&self) -> &[Vec<u8>] {
        &self.fragments
    }
    /// RaptorQ symbol size T (payload − 12).
    pub fn symbol_size(&self) -> usize {
        self.symbol_size
    }
    /// Data packets in one round (Σ K·(1+overhead) over all blocks).
    pub fn data_packets_per_round(&self) -> u64 {
        self.order.len() as u64
    }
    /// Packets (data and manifest) in one round: long enough to carry every
    /// data packet of a round and every manifest fragment at least once.
    pub fn packets_per_round(&self) -> u64 {
        let d = self.data_packets_per_round();
        let m = self.fragments.len() as u64;
        if d == 0 {
            return m;
        }
        let e = self.manifest_every as u64;
        (d + d.div_ceil(e)).max((m - 1) * (e + 1) + 1)
    }

    /// The packet at position `n` of the endless carousel (deterministic).
    pub fn packet(&self, n: u64) -> Vec<u8> {
        let every = self.manifest_every as u64;
        if self.order.is_empty() {
            return self.fragments[(n % self.fragments.len() as u64) as usize].clone();
        }
        let group = n / (every + 1);
        let slot = n % (every + 1);
        if slot == 0 {
            return self.fragments[(group % self.fragments.len() as u64) as usize].clone();
        }
        let d = group * every + slot - 1;
        let round = d / self.order.len() as u64;
        let (b, i) = self.order[(d % self.order.len() as u64) as usize];
        let blk = &self.blocks[b as usize];
        self.data_packet(blk, round * blk.per_round + i as u64)
    }

    /// The `j`-th symbol of a block's endless stream: source symbols first,
    /// then fresh repair symbols, wrapping only after all 2^24 ESIs.
    fn data_packet(&self, blk: &Block, j: u64) -> Vec<u8> {
        let period = blk.k as u64 + (MAX_ESI as u64 + 1 - blk.k_ext as u64);
        let s = j % period;
        let t = self.symbol_size;
        let (esi, repair);
        let symbol: &[u8] = if s < blk.k as u64 {
            esi = s as u32;
            &blk.data[s as usize * t..(s as usize + 1) * t]
        } else {
            let r = (s - blk.k as u64) as u32;
            repair = blk
                .encoder
                .repair_packets(r, 1)
                .pop()
                .expect("one repair packet");
            esi = repair.payload_id().encoding_symbol_id();
            repair.data()
        };
        DataPacket {
            broadcast: self.manifest.broadcast_id,
            file: blk.file,
            sbn: blk.sbn,
            esi,
            symbol,
        }
        .encode()
    }

    /// The endless carousel from position 0.
    pub fn packets(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        (0u64..).map(move |n| self.packet(n))
    }
}
