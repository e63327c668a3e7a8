//! `baram vault show`: everything the analyst may see about one item,
//! decrypted in memory. Analyst-only: it names the courier, the original
//! name and path, the Red Star serials; nothing of it goes into an export.

use crate::process::{Finding, ImageFacts, RedStar};
use crate::{Error, Keys, Record, Triage, Vault, io_err};
use rusqlite::params;
use serde::Serialize;
use sha2::Digest;
use std::io::{self, BufReader, Read};

/// How many characters of the extracted text [`ItemDetails::text_excerpt`] holds.
pub const EXCERPT_CHARS: usize = 600;
/// Near-duplicates are images whose perceptual hashes differ in at most this
/// many of 64 bits.
pub const NEAR_DISTANCE: u32 = 10;

/// One derivative of an item.
#[derive(Debug, Clone, Serialize)]
pub struct DerivativeInfo {
    pub kind: String,
    /// Plaintext bytes.
    pub size: u64,
    pub blake3: String,
    pub sha256: String,
}

/// Processing's view of an item.
#[derive(Debug, Clone, Serialize)]
pub struct Processing {
    /// processed | quarantined | unhandled.
    pub status: String,
    pub reason: Option<String>,
    /// The type found from its bytes.
    pub kind: Option<String>,
    pub mime: Option<String>,
    pub findings: Vec<Finding>,
    pub redstar: Option<RedStar>,
    pub sanitize_error: Option<String>,
    pub image: Option<ImageFacts>,
}

/// Items that are copies or look-alikes of this one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// Other items with exactly the same original bytes.
    pub same_content: Vec<String>,
    /// Other items whose safe image or text is byte-identical after cleaning.
    pub same_cleaned: Vec<String>,
    /// Other items with a similar image: (id, Hamming distance of 64 bits).
    pub similar_images: Vec<(String, u32)>,
}

/// Everything about one item ([`Vault::show`]).
#[derive(Debug, Clone, Serialize)]
pub struct ItemDetails {
    pub id: String,
    pub bundle_id: String,
    /// Integrity: ok | missing | corrupt (see `vault check`).
    pub integrity: String,
    /// The intake's record: original name and path, received time, courier,
    /// note. `None` when it cannot be read.
    pub record: Option<Record>,
    pub cipher_size: u64,
    /// The original's plaintext size and hashes, from decrypting it now
    /// (`None` when it cannot be read).
    pub size: Option<u64>,
    pub blake3: Option<String>,
    pub sha256: Option<String>,
    /// Why the original could not be read, if so.
    pub content_error: Option<String>,
    pub triage: Triage,
    /// `None`: not processed yet.
    pub processing: Option<Processing>,
    pub derivatives: Vec<DerivativeInfo>,
    pub duplicates: Duplicates,
    /// The first [`EXCERPT_CHARS`] characters of the extracted text.
    pub text_excerpt: Option<String>,
}

impl Vault {
    /// Everything the analyst may see about an item (id or unique prefix).
    pub fn show(&self, keys: &Keys, item_id: &str) -> Result<ItemDetails, Error> {
        let id = self.resolve_item(item_id)?;
        let (bundle_id, integrity, rec_blob, keyed, blob, cipher_size): (
            String,
            String,
            String,
            String,
            String,
            i64,
        ) = self.conn.query_row(
            "SELECT i.bundle_id, i.status, i.record_blob, i.keyed_hash, c.blob, c.cipher_size
             FROM items i JOIN contents c ON c.keyed_hash = i.keyed_hash WHERE i.id = ?1",
            [&id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )?;
        let record = crate::read_limited(&self.store.path(&rec_blob), crate::MAX_RECORD)
            .ok()
            .and_then(|c| crate::decrypt_record(keys, &c, &id, &bundle_id).ok());
        let (size, blake3, sha256, content_error) = match self.hash_blob(keys, &blob) {
            Ok((n, b, s)) => (Some(n), Some(b), Some(s), None),
            Err(e) => (None, None, None, Some(e)),
        };
        let triage = self.triage(keys, &id)?;
        let processing = self.process_report(keys, &id)?.map(|r| Processing {
            status: serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            reason: r.reason,
            kind: r.kind,
            mime: r.infer_mime,
            findings: r.findings,
            redstar: r.redstar,
            sanitize_error: r.sanitize_error,
            image: r.image,
        });
        let kinds: Vec<(String, String)> = self
            .conn
            .prepare(
                "SELECT kind, blob FROM derivatives WHERE keyed_hash = ?1 AND kind != 'report' ORDER BY kind",
            )?
            .query_map([&keyed], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut derivatives = Vec::new();
        for (kind, b) in kinds {
            let (size, blake3, sha256) = self
                .hash_blob(keys, &b)
                .map_err(|e| Error::Crypto(format!("item {id}: its {kind} derivative: {e}")))?;
            derivatives.push(DerivativeInfo {
                kind,
                size,
                blake3,
                sha256,
            });
        }
        let mut duplicates = Duplicates {
            same_content: self
                .conn
                .prepare("SELECT id FROM items WHERE keyed_hash = ?1 AND id != ?2 ORDER BY seq")?
                .query_map(params![keyed, id], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            ..Default::default()
        };
        for g in self.exact_duplicates()? {
            if g.contains(&id) {
                duplicates.same_cleaned.extend(
                    g.into_iter()
                        .filter(|o| *o != id && !duplicates.same_content.contains(o)),
                );
            }
        }
        if processing.as_ref().is_some_and(|p| p.image.is_some()) {
            let first = self.conn.query_row(
                "SELECT min(id) FROM items WHERE keyed_hash = ?1",
                [&keyed],
                |r| r.get::<_, String>(0),
            )?;
            for n in self.near_duplicates(keys, NEAR_DISTANCE)? {
                if n.a == first {
                    duplicates.similar_images.push((n.b, n.distance));
                } else if n.b == first {
                    duplicates.similar_images.push((n.a, n.distance));
                }
            }
        }
        let text_excerpt = self.derivative(keys, &id, "text")?.map(|t| {
            let s = String::from_utf8_lossy(&t);
            let mut e: String = s.chars().take(EXCERPT_CHARS).collect();
            if s.chars().nth(EXCERPT_CHARS).is_some() {
                e.push('…');
            }
            e
        });
        Ok(ItemDetails {
            id,
            bundle_id,
            integrity,
            record,
            cipher_size: cipher_size as u64,
            size,
            blake3,
            sha256,
            content_error,
            triage,
            processing,
            derivatives,
            duplicates,
            text_excerpt,
        })
    }

    /// Decrypts a blob as a stream into BLAKE3 and SHA-256, dropping the
    /// plaintext: (size, BLAKE3, SHA-256) of the plaintext.
    fn hash_blob(&self, keys: &Keys, blob: &str) -> Result<(u64, String, String), String> {
        let p = self.store.path(blob);
        let f = std::fs::File::open(&p)
            .map_err(io_err(&p))
            .map_err(|e| e.to_string())?;
        let dec = age::Decryptor::new(BufReader::new(f))
            .map_err(|e| format!("it is not an age file: {e}"))?;
        let mut r = dec
            .decrypt(std::iter::once(keys.identity() as &dyn age::Identity))
            .map_err(|e| crate::describe_decrypt(e, "content"))?;
        let mut b = blake3::Hasher::new();
        let mut s = sha2::Sha256::new();
        let mut buf = zeroize::Zeroizing::new(vec![0u8; 1 << 20]);
        let mut n_total = 0u64;
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("it does not decrypt: {e} (damaged or tampered)")),
            };
            b.update(&buf[..n]);
            s.update(&buf[..n]);
            n_total += n as u64;
        }
        Ok((
            n_total,
            b.finalize().to_hex().to_string(),
            crate::fsx::hex(&s.finalize()),
        ))
    }
}
