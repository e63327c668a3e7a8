//! age v1 files written on every core: intake's encryption of the data it
//! takes in.
//!
//! The age crate encrypts the payload (STREAM of ChaCha20-Poly1305 in 64 KiB
//! chunks) on one thread, which on a field laptop is slower than the disk.
//! This writer produces the same bytes the age crate would for the same file
//! key and nonce, but seals many chunks at once on all cores while one thread
//! reads and hashes and another writes. Everything but the payload is the age
//! crate's:
//!
//! * the header (file key, recipient stanzas, MAC) and the 16-byte payload
//!   nonce are written by [`age::Encryptor`] itself. A recipient wrapper sees
//!   the file key as age hands it to the first recipient, so the payload key
//!   can be derived from it;
//! * the payload key is HKDF-SHA-256 (salt: the nonce, input: the file key,
//!   info `payload`), as in the age specification. Before any data is written
//!   the derivation is checked against the age crate itself: age's own writer
//!   seals an empty last chunk (counter 0) under its payload key and the tag
//!   must equal ours, or nothing is written;
//! * STREAM: chunk `i` (from 0) is sealed with the 12-byte nonce of an 11-byte
//!   big-endian `i` and a last-chunk byte (1 on the last chunk, else 0), no
//!   associated data; every chunk is 64 KiB but the last, which is shorter or
//!   exactly 64 KiB, and empty only when the whole file is empty.
//!
//! Plaintext is only in memory, in buffers that are sealed in place (after
//! which they hold ciphertext) and zeroized when they are dropped.

use crate::Error;
use age::secrecy::ExposeSecret;
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, mpsc};
use zeroize::Zeroizing;

/// Plaintext bytes per STREAM chunk (age v1).
pub const CHUNK: usize = 64 * 1024;
/// Poly1305 tag after every chunk.
pub const TAG: usize = 16;
const SEALED: usize = CHUNK + TAG;
/// Chunks per block: the unit a worker seals and the writer writes (1 MiB).
pub const CHUNKS_PER_BLOCK: usize = 16;
/// Written data is handed to the disk (asynchronous writeback) in steps of
/// this many bytes, so the fsync at the end finds little left to write.
const WRITEBACK_STEP: u64 = 8 << 20;

/// Why an encryption stopped.
#[derive(Debug)]
pub enum Fail {
    /// Reading the source failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
    /// The age crate refused the recipients, or the self-check failed.
    Crypto(Error),
}

/// The STREAM key of one age file.
pub struct PayloadKey(Zeroizing<[u8; 32]>);

impl PayloadKey {
    fn aead(&self) -> ChaCha20Poly1305 {
        let key: &[u8; 32] = &self.0;
        ChaCha20Poly1305::new(key.into())
    }
}

/// The nonce of chunk `counter`: 11 bytes big-endian counter, 1 byte flag.
fn chunk_nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Seals one chunk in place; returns its tag.
fn seal(aead: &ChaCha20Poly1305, counter: u64, last: bool, chunk: &mut [u8]) -> [u8; TAG] {
    debug_assert!(chunk.len() <= CHUNK);
    aead.encrypt_inout_detached(&chunk_nonce(counter, last).into(), b"", chunk.into())
        .expect("a 64 KiB chunk is far below ChaCha20's limit")
        .into()
}

/// Passes the first recipient's wrapping through and keeps a copy of the
/// file key age gives it.
struct KeepFileKey<'a> {
    inner: &'a dyn age::Recipient,
    file_key: RefCell<Option<Zeroizing<[u8; 16]>>>,
}

impl age::Recipient for KeepFileKey<'_> {
    fn wrap_file_key(
        &self,
        file_key: &age_core::format::FileKey,
    ) -> Result<(Vec<age_core::format::Stanza>, HashSet<String>), age::EncryptError> {
        let mut k = Zeroizing::new([0u8; 16]);
        k.copy_from_slice(file_key.expose_secret());
        *self.file_key.borrow_mut() = Some(k);
        self.inner.wrap_file_key(file_key)
    }
}

/// A new age file for `recipients`: the header and payload nonce (to be
/// written first, as they are) and the payload key. Fails unless the key
/// derivation agrees with the age crate (see the module documentation).
pub fn begin(recipients: &[&dyn age::Recipient]) -> Result<(Vec<u8>, PayloadKey), Error> {
    let crypto = |e: &dyn std::fmt::Display| Error::Crypto(e.to_string());
    let (first, rest) = recipients
        .split_first()
        .ok_or_else(|| Error::Crypto("no recipient".into()))?;
    let keep = KeepFileKey {
        inner: *first,
        file_key: RefCell::new(None),
    };
    let all = std::iter::once(&keep as &dyn age::Recipient).chain(rest.iter().copied());
    let enc = age::Encryptor::with_recipients(all).map_err(|e| crypto(&e))?;
    let mut head = Vec::new();
    // Header, nonce, then age's seal of an empty last chunk 0 (16 bytes).
    enc.wrap_output(&mut head)
        .and_then(|w| w.finish())
        .map_err(|e| crypto(&e))?;
    let file_key = keep
        .file_key
        .into_inner()
        .ok_or_else(|| Error::Crypto("age did not wrap a file key".into()))?;
    if head.len() < 16 + TAG {
        return Err(Error::Crypto("age wrote no header".into()));
    }
    let age_tag = head.split_off(head.len() - TAG);
    let nonce = &head[head.len() - 16..];
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<sha2::Sha256>::new(Some(nonce), file_key.as_ref())
        .expand(b"payload", okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA-256 length");
    let key = PayloadKey(okm);
    if seal(&key.aead(), 0, true, &mut []) != age_tag[..] {
        return Err(Error::Crypto(
            "the payload key does not match the age crate's (refusing to write)".into(),
        ));
    }
    Ok((head, key))
}

/// The tuning of [`encrypt_to`]: block size and threads (tests make blocks
/// small to cross their boundaries with small inputs).
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub chunks_per_block: usize,
    pub workers: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            chunks_per_block: CHUNKS_PER_BLOCK,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)),
        }
    }
}

/// A block of up to `chunks_per_block` chunks laid out as they are written:
/// chunk `j` at `j * (CHUNK + TAG)`, read into place and sealed there.
struct Block {
    seq: u64,
    buf: Zeroizing<Vec<u8>>,
    /// Plaintext bytes in the block.
    plain: usize,
    last: bool,
    /// Bytes to write once sealed.
    sealed: usize,
}

/// Reads up to one chunk into `buf` (short only at the end of the source).
fn read_chunk(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Seals the chunks of a block in place with counters from its position.
fn seal_block(aead: &ChaCha20Poly1305, cpb: usize, b: &mut Block) {
    let chunks = b.plain.div_ceil(CHUNK).max(1);
    debug_assert!(b.last || b.plain == cpb * CHUNK);
    debug_assert!(b.plain > 0 || (b.last && b.seq == 0));
    let first = b.seq * cpb as u64;
    let mut end = 0;
    for j in 0..chunks {
        let len = (b.plain - j * CHUNK).min(CHUNK);
        let at = j * SEALED;
        let last = b.last && j == chunks - 1;
        let tag = seal(aead, first + j as u64, last, &mut b.buf[at..at + len]);
        b.buf[at + len..at + len + TAG].copy_from_slice(&tag);
        end = at + len + TAG;
    }
    b.sealed = end;
}

/// Starts writeback of `out` up to `to` (rounded down to a page), from
/// `*from`; a hint, errors are left to the final fsync.
fn start_writeback(out: &File, from: &mut u64, to: u64) {
    let to = to & !4095;
    if to < *from + WRITEBACK_STEP {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid descriptor and range; the call only schedules I/O.
        unsafe {
            libc::sync_file_range(
                out.as_raw_fd(),
                *from as libc::off64_t,
                (to - *from) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = out;
    *from = to;
}

/// Encrypts all of `src` into `out` (at its current position, normally an
/// empty new file) as an age v1 file for `recipients`, hashing the plaintext
/// with BLAKE3 as it is read. `progress` gets the plaintext bytes written so
/// far. Returns the plaintext size and hash. `out` is not fsynced.
pub fn encrypt_to<R: Read + Send>(
    src: &mut R,
    out: &mut File,
    recipients: &[&dyn age::Recipient],
    tuning: Tuning,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, blake3::Hash), Fail> {
    let (head, key) = begin(recipients).map_err(Fail::Crypto)?;
    out.write_all(&head).map_err(Fail::Write)?;
    let cpb = tuning.chunks_per_block.max(1);
    let workers = tuning.workers.max(1);
    // Each worker seals one block while one more waits for it; the reader
    // holds one back (it is the last only if nothing follows) and fills one;
    // the writer writes one and may hold some out of order.
    let nbufs = 2 * workers + 3;
    let block_len = cpb * SEALED;

    let mut written = head.len() as u64;
    let mut writeback_from = 0u64;
    let mut size = 0u64;
    let mut write_error = None;
    let mut saw_last = false;
    let hashed = std::thread::scope(|scope| {
        let (empty_tx, empty_rx) = mpsc::channel::<Zeroizing<Vec<u8>>>();
        let (work_tx, work_rx) = mpsc::channel::<Block>();
        let (done_tx, done_rx) = mpsc::channel::<Block>();
        for _ in 0..nbufs {
            empty_tx
                .send(Zeroizing::new(vec![0u8; block_len]))
                .expect("the receiver is here");
        }
        let reader = scope.spawn(move || -> io::Result<blake3::Hash> {
            let mut hasher = blake3::Hasher::new();
            let mut pending: Option<Block> = None;
            let mut seq = 0u64;
            loop {
                let Ok(mut buf) = empty_rx.recv() else {
                    return Ok(hasher.finalize()); // the writer stopped
                };
                let mut plain = 0;
                for j in 0..cpb {
                    let at = j * SEALED;
                    let n = read_chunk(src, &mut buf[at..at + CHUNK])?;
                    hasher.update(&buf[at..at + n]);
                    plain += n;
                    if n < CHUNK {
                        break;
                    }
                }
                if plain == 0 {
                    // End of the source: what is held back is the last
                    // block; an empty source is one empty last chunk.
                    let last = match pending.take() {
                        Some(mut b) => {
                            b.last = true;
                            b
                        }
                        None => Block {
                            seq: 0,
                            buf,
                            plain: 0,
                            last: true,
                            sealed: 0,
                        },
                    };
                    let _ = work_tx.send(last);
                    return Ok(hasher.finalize());
                }
                let block = Block {
                    seq,
                    buf,
                    plain,
                    last: false,
                    sealed: 0,
                };
                seq += 1;
                if let Some(prev) = pending.replace(block)
                    && work_tx.send(prev).is_err()
                {
                    return Ok(hasher.finalize());
                }
            }
        });
        let work_rx = Arc::new(Mutex::new(work_rx));
        for _ in 0..workers {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            let aead = key.aead();
            scope.spawn(move || {
                loop {
                    let next = work_rx.lock().expect("no worker panics").recv();
                    let Ok(mut b) = next else { return };
                    seal_block(&aead, cpb, &mut b);
                    if done_tx.send(b).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        drop(work_rx);
        // The writer: blocks in order, then back to the reader.
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        'recv: for b in done_rx.iter() {
            waiting.insert(b.seq, b);
            while let Some(b) = waiting.remove(&next) {
                if let Err(e) = out.write_all(&b.buf[..b.sealed]) {
                    write_error = Some(e);
                    break 'recv;
                }
                written += b.sealed as u64;
                size += b.plain as u64;
                next += 1;
                saw_last = b.last;
                start_writeback(out, &mut writeback_from, written);
                progress(size);
                let _ = empty_tx.send(b.buf);
            }
        }
        drop(done_rx);
        drop(empty_tx);
        drop(waiting);
        reader.join().expect("the reader thread does not panic")
    });
    if let Some(e) = write_error {
        return Err(Fail::Write(e));
    }
    let hash = hashed.map_err(Fail::Read)?;
    if !saw_last {
        return Err(Fail::Read(io::Error::other(
            "the source ended without its last block",
        )));
    }
    Ok((size, hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;
    use std::io::Seek;

    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut s = seed.wrapping_mul(2).wrapping_add(1);
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            v.extend_from_slice(&s.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        v.truncate(len);
        v
    }

    /// A source that returns at most `max` bytes per read, with an
    /// interruption now and then.
    struct Trickle<'a> {
        data: &'a [u8],
        max: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(7) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.max).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn encrypt(data: &[u8], r: &age::x25519::Recipient, tuning: Tuning, max: usize) -> Vec<u8> {
        let mut f = tempfile::tempfile().unwrap();
        let mut src = Trickle {
            data,
            max,
            calls: 0,
        };
        let mut last_progress = 0;
        let (size, hash) = encrypt_to(&mut src, &mut f, &[r], tuning, &mut |n| {
            assert!(n > last_progress || (n == 0 && data.is_empty()));
            last_progress = n;
        })
        .unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(last_progress, size);
        assert_eq!(hash, blake3::hash(data));
        let mut out = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut out).unwrap();
        out
    }

    fn age_decrypt(ct: &[u8], id: &age::x25519::Identity) -> Result<Vec<u8>, String> {
        let d = age::Decryptor::new(ct).map_err(|e| e.to_string())?;
        let mut r = d
            .decrypt(std::iter::once(id as &dyn age::Identity))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// The length of the header and payload nonce of an age file (age adds
    /// a grease stanza of random length, so headers differ in length).
    fn header_len(ct: &[u8]) -> usize {
        let mac = ct.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
        mac + ct[mac..].iter().position(|&c| c == b'\n').unwrap() + 1 + 16
    }

    const SIZES: &[usize] = &[
        0,
        1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        2 * CHUNK,
        3 * CHUNK,
        3 * CHUNK + 17,
        CHUNKS_PER_BLOCK * CHUNK - 1,
        CHUNKS_PER_BLOCK * CHUNK,
        CHUNKS_PER_BLOCK * CHUNK + 1,
        (CHUNKS_PER_BLOCK + 1) * CHUNK,
        3 * CHUNKS_PER_BLOCK * CHUNK + 12_345,
    ];

    #[test]
    fn the_age_crate_decrypts_every_size_and_tuning() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public();
        let tunings = [
            Tuning::default(),
            Tuning {
                chunks_per_block: 1,
                workers: 3,
            },
            Tuning {
                chunks_per_block: 2,
                workers: 1,
            },
            Tuning {
                chunks_per_block: 3,
                workers: 2,
            },
        ];
        for (i, &len) in SIZES.iter().enumerate() {
            let data = noise(i as u64, len);
            for (t, &tuning) in tunings.iter().enumerate() {
                let max = [usize::MAX, 1000, 65_537, 3][(i + t) % 4];
                if max == 3 && len > 4 * CHUNK {
                    continue; // too slow a trickle for the large ones
                }
                let ct = encrypt(&data, &r, tuning, max);
                let chunks = len.div_ceil(CHUNK).max(1);
                assert_eq!(
                    ct.len(),
                    header_len(&ct) + len + chunks * TAG,
                    "len {len} {tuning:?}"
                );
                assert_eq!(
                    age_decrypt(&ct, &id).unwrap(),
                    data,
                    "len {len} {tuning:?} max {max}"
                );
            }
        }
    }

    #[test]
    fn truncation_at_a_chunk_boundary_and_a_flipped_byte_fail() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public();
        let data = noise(9, 3 * CHUNK + 5);
        let ct = encrypt(
            &data,
            &r,
            Tuning {
                chunks_per_block: 2,
                workers: 2,
            },
            usize::MAX,
        );
        let payload = header_len(&ct);
        assert_eq!(ct.len(), payload + data.len() + 4 * TAG);
        // Cut after one, two, three whole chunks: no chunk before the last
        // carries the last-chunk flag, so each is refused.
        for k in 1..=3 {
            let cut = &ct[..payload + k * SEALED];
            assert!(age_decrypt(cut, &id).is_err(), "cut after {k} chunks");
        }
        let mut bad = ct.clone();
        bad[payload + CHUNK + 3] ^= 1;
        assert!(age_decrypt(&bad, &id).is_err());
        assert_eq!(age_decrypt(&ct, &id).unwrap(), data);
    }

    #[test]
    fn nonces_are_the_age_layout() {
        assert_eq!(chunk_nonce(0, false), [0; 12]);
        assert_eq!(chunk_nonce(0, true), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            chunk_nonce(0x0102_0304_0506_0708, true),
            [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1]
        );
        assert_eq!(chunk_nonce(256, false)[9..], [1, 0, 0]);
    }

    #[test]
    fn two_recipients_and_the_header_is_ages() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let (ra, rb) = (a.to_public(), b.to_public());
        let (head, _key) = begin(&[&ra, &rb]).unwrap();
        assert!(head.starts_with(b"age-encryption.org/v1\n-> X25519 "));
        assert!(head.windows(5).any(|w| w == b"\n--- "));
        // The header ends with its MAC line; then come the 16 nonce bytes.
        let text = &head[..head.len() - 16];
        let mac_line = text[..text.len() - 1]
            .iter()
            .rposition(|&c| c == b'\n')
            .unwrap();
        assert!(text[mac_line + 1..].starts_with(b"--- ") && text.ends_with(b"\n"));
        let data = noise(3, 2 * CHUNK + 1);
        let mut f = tempfile::tempfile().unwrap();
        encrypt_to(
            &mut &data[..],
            &mut f,
            &[&ra, &rb],
            Tuning::default(),
            &mut |_| {},
        )
        .unwrap();
        let mut ct = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut ct).unwrap();
        assert_eq!(age_decrypt(&ct, &a).unwrap(), data);
        assert_eq!(age_decrypt(&ct, &b).unwrap(), data);
        assert!(
            a.to_string()
                .expose_secret()
                .starts_with("AGE-SECRET-KEY-1")
        );
    }

    #[test]
    fn a_read_error_stops_with_the_error() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("bad sector"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(7);
                self.0 -= n;
                Ok(n)
            }
        }
        let r = age::x25519::Identity::generate().to_public();
        for at in [0, 5, CHUNK, 5 * CHUNK + 3, 40 * CHUNK] {
            let mut f = tempfile::tempfile().unwrap();
            let e = encrypt_to(
                &mut Broken(at),
                &mut f,
                &[&r],
                Tuning::default(),
                &mut |_| {},
            )
            .unwrap_err();
            assert!(
                matches!(e, Fail::Read(ref e) if e.to_string() == "bad sector"),
                "{e:?}"
            );
        }
    }
}
