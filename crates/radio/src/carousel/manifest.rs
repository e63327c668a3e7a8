//! The signed manifest: what files a broadcast carries and how to check them.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use raptorq::ObjectTransmissionInformation;

use super::packet::{BroadcastId, DATA_OVERHEAD, MAX_PAYLOAD, MIN_PAYLOAD};

/// Magic and version at the start of a manifest body.
pub const MANIFEST_MAGIC: [u8; 4] = *b"BRM\x01";
/// Domain separation for the Ed25519 signature.
pub const SIGNING_CONTEXT: &[u8] = b"baram-radio carousel manifest v1\0";
/// Largest number of files in one broadcast (the file index is one byte).
pub const MAX_FILES: usize = 255;
/// Largest source block (source symbols K) the carousel makes or accepts;
/// bounds decode time and memory (RFC 6330 allows 56403).
pub const MAX_BLOCK_SYMBOLS: u32 = 8192;
/// Largest file accepted (bounds what a manifest can make a receiver allocate).
pub const MAX_FILE_SIZE: u64 = 256 << 20;
/// Length of the signature that ends a signed blob.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of a per-block hash (only present when a file has several blocks).
pub const BLOCK_HASH_LEN: usize = 16;

/// 8-byte key id: the first bytes of BLAKE3(public key).
pub type KeyId = [u8; 8];

/// Key id of a public key.
pub fn key_id(key: &VerifyingKey) -> KeyId {
    let h = blake3::hash(key.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&h.as_bytes()[..8]);
    id
}

/// Lower-case hex of bytes (for messages).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One file of a broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    /// Name as the broadcaster gave it (sanitised again before writing).
    pub name: String,
    /// RaptorQ object transmission information; its transfer length is the file size.
    pub oti: ObjectTransmissionInformation,
    /// BLAKE3 of the whole file.
    pub blake3: [u8; 32],
    /// First 16 bytes of BLAKE3 of each zero-padded source block; empty when
    /// the file has a single block (the file hash then checks the block).
    pub block_hashes: Vec<[u8; BLOCK_HASH_LEN]>,
}

impl ManifestFile {
    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.oti.transfer_length()
    }
    /// Source symbols in total (Kt).
    pub fn source_symbols(&self) -> u64 {
        if self.oti.symbol_size() == 0 {
            return 0;
        }
        self.size().div_ceil(self.oti.symbol_size() as u64)
    }
    /// Source symbols K of each block, in block order.
    pub fn block_symbols(&self) -> Vec<u32> {
        let kt = self.source_symbols();
        if kt == 0 {
            return Vec::new();
        }
        let (kl, ks, zl, zs) = raptorq::partition(kt as u32, self.oti.source_blocks() as u32);
        let mut v = vec![kl; zl as usize];
        v.extend(std::iter::repeat_n(ks, zs as usize));
        v
    }
}

/// The manifest of one broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub broadcast_id: BroadcastId,
    pub key_id: KeyId,
    /// Broadcaster's sequence/version number for this broadcast.
    pub sequence: u32,
    /// The modem payload size every packet of this broadcast has.
    pub payload_size: u16,
    pub files: Vec<ManifestFile>,
}

/// Why a manifest was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is truncated or malformed: {0}")]
    Malformed(&'static str),
    #[error("manifest is signed by an unknown key {}", hex(.key_id))]
    UnknownKey { key_id: KeyId },
    #[error("manifest signature is not valid for key {}", hex(.key_id))]
    BadSignature { key_id: KeyId },
    #[error("manifest file {index}: {reason}")]
    BadFile { index: usize, reason: &'static str },
    #[error("manifest broadcast id {claimed} does not match its content ({derived})")]
    BadBroadcastId {
        claimed: BroadcastId,
        derived: BroadcastId,
    },
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ManifestError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or(ManifestError::Malformed("truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], ManifestError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
}

/// Check the OTI is one this carousel makes: alignment 1, one sub-block,
/// symbol size = payload − data overhead, blocks within limits.
fn check_oti(oti: &ObjectTransmissionInformation, payload: u16) -> Result<(), &'static str> {
    if oti.transfer_length() > MAX_FILE_SIZE {
        return Err("file too large");
    }
    if oti.symbol_alignment() != 1 || oti.sub_blocks() != 1 {
        return Err("unsupported alignment or sub-blocks");
    }
    if oti.symbol_size() as usize + DATA_OVERHEAD != payload as usize {
        return Err("symbol size does not fit the payload size");
    }
    let kt = oti.transfer_length().div_ceil(oti.symbol_size() as u64);
    let z = oti.source_blocks() as u64;
    if kt == 0 {
        if z != 0 {
            return Err("empty file with source blocks");
        }
        return Ok(());
    }
    if z == 0 || z > kt || kt.div_ceil(z) > MAX_BLOCK_SYMBOLS as u64 {
        return Err("bad source block count");
    }
    Ok(())
}

fn derive_broadcast_id(body: &[u8]) -> BroadcastId {
    let mut h = blake3::Hasher::new_derive_key("baram-radio carousel broadcast id v1");
    h.update(&body[..4]);
    h.update(&body[8..]);
    let mut id = [0u8; 4];
    id.copy_from_slice(&h.finalize().as_bytes()[..4]);
    BroadcastId(id)
}

impl Manifest {
    /// The canonical body bytes (what is signed).
    pub fn body(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&MANIFEST_MAGIC);
        v.extend_from_slice(&self.broadcast_id.0);
        v.extend_from_slice(&self.key_id);
        v.extend_from_slice(&self.sequence.to_be_bytes());
        v.extend_from_slice(&self.payload_size.to_be_bytes());
        v.push(self.files.len() as u8);
        for f in &self.files {
            v.push(f.name.len() as u8);
            v.extend_from_slice(f.name.as_bytes());
            v.extend_from_slice(&f.oti.serialize());
            v.extend_from_slice(&f.blake3);
            for h in &f.block_hashes {
                v.extend_from_slice(h);
            }
        }
        v
    }

    /// Set `broadcast_id` from the content (key id, sequence, payload, files).
    pub fn assign_broadcast_id(&mut self) {
        self.broadcast_id = BroadcastId([0; 4]);
        self.broadcast_id = derive_broadcast_id(&self.body());
    }

    /// Signed blob: body length (u32 BE), body, Ed25519 signature.
    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        let body = self.body();
        let sig = key.sign(&signed_message(&body));
        let mut v = Vec::with_capacity(4 + body.len() + SIGNATURE_LEN);
        v.extend_from_slice(&(body.len() as u32).to_be_bytes());
        v.extend_from_slice(&body);
        v.extend_from_slice(&sig.to_bytes());
        v
    }

    /// Parse the body (no signature check: use [`verify_blob`]).
    pub fn parse_body(body: &[u8]) -> Result<Manifest, ManifestError> {
        let mut r = Reader { b: body, at: 0 };
        if r.take(4)? != MANIFEST_MAGIC {
            return Err(ManifestError::Malformed("bad magic or version"));
        }
        let broadcast_id = BroadcastId(r.arr()?);
        let key_id = r.arr()?;
        let sequence = u32::from_be_bytes(r.arr()?);
        let payload_size = u16::from_be_bytes(r.arr()?);
        if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&(payload_size as usize)) {
            return Err(ManifestError::Malformed("payload size out of range"));
        }
        let count = r.take(1)?[0] as usize;
        let mut files = Vec::with_capacity(count);
        for index in 0..count {
            let bad = |reason| ManifestError::BadFile { index, reason };
            let n = r.take(1)?[0] as usize;
            let name = std::str::from_utf8(r.take(n)?).map_err(|_| bad("name is not UTF-8"))?;
            let oti_bytes: [u8; 12] = r.arr()?;
            if oti_bytes[5] != 0 {
                return Err(bad("reserved OTI byte is not zero"));
            }
            let oti = ObjectTransmissionInformation::deserialize(&oti_bytes);
            check_oti(&oti, payload_size).map_err(bad)?;
            let blake3 = r.arr()?;
            let z = oti.source_blocks() as usize;
            let mut block_hashes = Vec::new();
            if z > 1 {
                for _ in 0..z {
                    block_hashes.push(r.arr()?);
                }
            }
            files.push(ManifestFile {
                name: name.to_string(),
                oti,
                blake3,
                block_hashes,
            });
        }
        if r.at != body.len() {
            return Err(ManifestError::Malformed("trailing bytes"));
        }
        let derived = derive_broadcast_id(body);
        if derived != broadcast_id {
            return Err(ManifestError::BadBroadcastId {
                claimed: broadcast_id,
                derived,
            });
        }
        Ok(Manifest {
            broadcast_id,
            key_id,
            sequence,
            payload_size,
            files,
        })
    }
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(body);
    m
}

/// Length of the signed blob at the start of `bytes` (which may carry zero
/// padding after it), or an error if the length prefix is impossible.
pub fn blob_len(bytes: &[u8]) -> Result<usize, ManifestError> {
    if bytes.len() < 4 {
        return Err(ManifestError::Malformed("truncated"));
    }
    let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let total = n
        .checked_add(4 + SIGNATURE_LEN)
        .filter(|&t| t <= bytes.len())
        .ok_or(ManifestError::Malformed("truncated"))?;
    Ok(total)
}

/// Verify a signed blob (optionally followed by zero padding) against the
/// trusted key and parse it. The signature is checked before the file list is
/// parsed; the key id is checked before the signature so that a manifest from
/// another broadcaster is reported as such.
pub fn verify_blob(bytes: &[u8], trusted: &VerifyingKey) -> Result<Manifest, ManifestError> {
    let total = blob_len(bytes)?;
    if bytes[total..].iter().any(|&b| b != 0) {
        return Err(ManifestError::Malformed("non-zero padding"));
    }
    let body = &bytes[4..total - SIGNATURE_LEN];
    if body.len() < 16 {
        return Err(ManifestError::Malformed("truncated"));
    }
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&body[8..16]);
    if key_id != self::key_id(trusted) {
        return Err(ManifestError::UnknownKey { key_id });
    }
    let mut sig = [0u8; SIGNATURE_LEN];
    sig.copy_from_slice(&bytes[total - SIGNATURE_LEN..total]);
    let sig = Signature::from_bytes(&sig);
    trusted
        .verify_strict(&signed_message(body), &sig)
        .map_err(|_| ManifestError::BadSignature { key_id })?;
    Manifest::parse_body(body)
}

/// Ed25519 signing key from a 32-byte seed.
pub fn signing_key_from_seed(seed: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(seed)
}

/// Load a signing key from a seed file: 32 raw bytes, or 64 hex digits
/// (surrounding whitespace allowed).
pub fn load_signing_key(path: &std::path::Path) -> std::io::Result<SigningKey> {
    let bytes = std::fs::read(path)?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "seed file must hold 32 bytes or 64 hex digits",
        )
    };
    let seed: [u8; 32] = if bytes.len() == 32 {
        bytes.as_slice().try_into().map_err(|_| bad())?
    } else {
        let s = std::str::from_utf8(&bytes).map_err(|_| bad())?.trim();
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        seed
    };
    Ok(SigningKey::from_bytes(&seed))
}
