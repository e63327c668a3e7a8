//! `baram vault process`, first part: what each stored content is, what in it
//! can identify a source, and safe derivatives of it.
//!
//! For every content not yet processed (contents are distinct plaintexts; two
//! items with the same bytes share one), with the unlocked [`Keys`]:
//!
//! 1. The original is decrypted **into memory** (never to disk) and checked
//!    against its keyed hash.
//! 2. Its type is found from its bytes, never its name: `baram_sanitize::detect`,
//!    `infer`, and own checks (HWP 5 is an OLE/CFB file `D0 CF 11 E0 …` with a
//!    `FileHeader` and `HwpSummaryInformation` stream; HWPX is a ZIP whose
//!    `mimetype` is `application/hwp+zip`).
//! 3. A ZIP (DOCX, HWPX, anything) is first checked against bombs: declared
//!    sizes, then a streaming inflate of every member up to a cap.
//! 4. `baram_sanitize::clean` reports the findings (Red Star chain with its
//!    decrypted serials, EXIF serials, GPS and times, authors, revision ids,
//!    trailers, unexplained streams). A Red Star chain is decoded even when
//!    the format is not one the sanitizer knows.
//! 5. Images (JPEG, PNG, GIF, WebP): the declared size is read from the header
//!    first by this module's own parser; more than [`Options::max_pixels`] or
//!    [`Options::max_side`] is refused as a decompression bomb before anything
//!    is decoded. Then the cleaned file is decoded with `image` under
//!    `image::Limits` and the pixels re-encoded as a PNG with no metadata
//!    chunk: the *safe image*. Its perceptual hash (see [`dhash`]) goes into
//!    the encrypted report.
//!    Images of at least [`Options::ocr_min_pixels`] are OCRed
//!    ([`crate::ocr`], in the sandbox) and the text kept when tesseract is
//!    confident enough ([`Options::ocr_min_conf`]).
//! 6. Text: the UTF-8 text is stored as a derivative for the search index.
//! 7. Documents (PDF, OOXML, ODF, old Office OLE files, HWP 97, HWP 5,
//!    HWPX) are rendered in the sandbox ([`crate::render`]) into a *safe
//!    PDF* (page images and an invisible text layer, built here) and text.
//!    HWP 5 and HWPX, which LibreOffice cannot read, are read first by
//!    baram's own reader in the same sandbox ([`baram_hwp`], through
//!    [`DocOptions::hwp_helper`]: the baram binary); their summary
//!    information (author, title, dates) is never read, so nothing of it
//!    can reach the safe PDF or the text.
//! 8. Videos (MP4/MOV, AVI, Matroska/WebM) are remuxed without metadata by
//!    ffmpeg in the sandbox, cleaned and checked by the sanitizer (the
//!    *safe video*), and a *poster* frame re-encoded from its pixels
//!    ([`crate::video`]).
//! 9. Anything else is marked `unhandled` with what it is: clearly, never
//!    silently.
//!
//! Every subprocess runs in the bubblewrap sandbox ([`crate::sandbox`]). When
//! it cannot start, what needs a subprocess is **not processed** (and not
//! marked: a later run with a sandbox takes it) unless the analyst chose
//! [`Isolation::Unconfined`] (`--no-sandbox`).
//!
//! A file the parsers refuse, or that trips a limit, is **quarantined** with
//! the reason; the batch goes on and the original stays encrypted, untouched,
//! for manual handling.
//!
//! # What is stored, and where
//!
//! Every processed content gets an encrypted *report* (JSON, age to the
//! vault's recipient): status, reason, type, findings, Red Star mark, image
//! size and perceptual hash. Findings can identify a source: they are
//! analyst-only and never exported. Derivatives (`safe-image`, `text`) are
//! age blobs too. In clear the catalog holds only the content's keyed hash, the
//! derivative kind, the blob's ciphertext hash, the keyed hash of the
//! derivative's plaintext (exact deduplication on cleaned bytes) and the
//! status (`processed`, `quarantined` or `unhandled`); the reason is in the
//! report.
//!
//! # Crash safety
//!
//! Blobs follow the store's pattern: encrypted in memory, marked pending
//! (committed), written (temp, fsync, rename), and then the rows and the end
//! of the pending marks are one transaction. A kill leaves a content either
//! processed (all its rows) or not (its blobs are removed by the next writer),
//! and processing again resumes with the contents that have no row.

use crate::render::{DocFacts, DocOptions};
use crate::sandbox::{Limits, Sandbox, Unavailable};
use crate::video::VideoFacts;
use crate::{Error, Keys, Vault, io_err};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::io::{self, Cursor, Read};
use zeroize::Zeroizing;

/// Version of the processing; stored with each result.
pub const PROCESS_VERSION: u32 = 2;

/// Where subprocess parsers run.
#[derive(Debug, Clone, Default)]
pub enum Isolation {
    /// In bubblewrap, probed once per run; without it, files that need a
    /// subprocess wait.
    #[default]
    Sandbox,
    /// Without a sandbox (`--no-sandbox`): see [`Sandbox::unconfined`].
    Unconfined,
}

/// Limits of processing. The defaults are for an analyst's workstation.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most pixels an image may declare (decompression bomb above).
    pub max_pixels: u64,
    /// Longest side an image may declare.
    pub max_side: u32,
    /// Most bytes a decoder may allocate (`image::Limits::max_alloc`).
    pub max_alloc: u64,
    /// Most bytes all members of a ZIP may inflate to (declared or real).
    pub max_unpacked: u64,
    /// Largest original decrypted into memory; larger ones are `unhandled`.
    pub max_in_memory: u64,
    /// Where subprocess parsers run.
    pub isolation: Isolation,
    /// Rendering documents: page cap, time limit, memory, resolution, threads.
    pub docs: DocOptions,
    /// OCR images (photos of documents).
    pub ocr_images: bool,
    /// Images with fewer pixels are not OCRed.
    pub ocr_min_pixels: u64,
    /// An image's OCR text is kept when the mean word confidence is at least this.
    pub ocr_min_conf: f32,
    /// Time limit of each tool run on an image or a video.
    pub tool_time: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_pixels: 100_000_000,
            max_side: 20_000,
            max_alloc: 1 << 30,
            max_unpacked: 1 << 30,
            max_in_memory: 2 << 30,
            isolation: Isolation::default(),
            docs: DocOptions::default(),
            ocr_images: true,
            ocr_min_pixels: 100_000,
            ocr_min_conf: 50.0,
            tool_time: std::time::Duration::from_secs(600),
        }
    }
}

/// What processing decided about one content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Processed,
    Quarantined,
    Unhandled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Processed => "processed",
            Status::Quarantined => "quarantined",
            Status::Unhandled => "unhandled",
        }
    }
}

/// The Red Star OS chain of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedStar {
    pub offset: u64,
    pub blocks: usize,
    pub serials: Vec<String>,
}

/// One finding of the sanitizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub category: String,
    pub field: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub offset: Option<u64>,
}

/// The decoded image's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    /// [`dhash`] of the decoded pixels, 16 hex digits.
    pub dhash: String,
}

/// The encrypted report of one content. Analyst-only: it can identify a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub status: Status,
    /// Why it was quarantined or is unhandled.
    pub reason: Option<String>,
    /// The type found from its bytes ("jpeg", "hwp", "zip", …), if any.
    pub kind: Option<String>,
    /// What `infer` says (a MIME type), for the analyst.
    pub infer_mime: Option<String>,
    pub size: u64,
    pub findings: Vec<Finding>,
    pub redstar: Option<RedStar>,
    /// The sanitizer's refusal, when it refused (the file is then quarantined
    /// or unhandled, see `status`).
    pub sanitize_error: Option<String>,
    pub image: Option<ImageFacts>,
    /// Derivatives stored ("safe-image", "safe-pdf", "safe-video",
    /// "safe-audio", "poster", "text").
    pub derivatives: Vec<String>,
    /// A rendered document: pages, and where its text came from.
    #[serde(default)]
    pub document: Option<DocFacts>,
    /// OCR of an image.
    #[serde(default)]
    pub ocr: Option<OcrFacts>,
    /// A video's safe copy and poster frame.
    #[serde(default)]
    pub video: Option<VideoFacts>,
    /// A recording's safe copy.
    #[serde(default)]
    pub audio: Option<crate::video::AudioFacts>,
    /// Whether subprocesses ran in the sandbox ("bwrap") or not ("none").
    #[serde(default)]
    pub sandbox: Option<String>,
}

/// OCR of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrFacts {
    pub words: u32,
    /// Mean tesseract confidence, 0..=100.
    pub mean_conf: u32,
    /// Whether the text was kept (confident enough).
    pub kept: bool,
    /// Why there is no OCR, when tesseract failed.
    pub error: Option<String>,
}

/// What happened to one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    pub id: String,
    /// The earlier item with the same content (processed once, for both).
    pub same_as: Option<String>,
    pub status: Status,
    pub reason: Option<String>,
    /// Not processed now and not marked: it needs a sandbox that could not
    /// start; a later run takes it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deferred: bool,
}

/// Result of [`Vault::process`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessReport {
    pub items: Vec<ItemResult>,
    pub processed: u64,
    pub quarantined: u64,
    pub unhandled: u64,
    /// Contents processed before (not again).
    pub already: u64,
    /// Contents left for a later run: they need a sandbox that could not start.
    pub deferred: u64,
    /// Why there was no sandbox, when there was none.
    pub no_sandbox: Option<String>,
}

/// Two items whose safe images look alike.
#[derive(Debug, Clone, Serialize)]
pub struct NearDuplicate {
    pub a: String,
    pub b: String,
    /// Hamming distance of the two [`dhash`]es (0..=64).
    pub distance: u32,
}

impl Vault {
    /// Processes every content that has not been processed yet. Outer `Err`:
    /// the vault failed (stop; what was committed stays). Problems with one
    /// file are its status in the report, and the batch goes on.
    pub fn process(
        &mut self,
        keys: &Keys,
        opts: &Options,
        progress: &dyn Fn(u64, u64),
    ) -> Result<ProcessReport, Error> {
        self.need_writer()?;
        let rows: Vec<(String, String, String, i64)> = self
            .conn
            .prepare(
                "SELECT i.id, i.keyed_hash, c.blob, c.cipher_size FROM items i
                 JOIN contents c ON c.keyed_hash = i.keyed_hash
                 WHERE i.status = 'ok' ORDER BY i.seq",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut rep = ProcessReport::default();
        let tools: Result<Sandbox, Unavailable> = match opts.isolation {
            Isolation::Sandbox => Sandbox::probe(),
            Isolation::Unconfined => Ok(Sandbox::unconfined()),
        };
        if let Err(u) = &tools {
            tracing::warn!("{u}");
            rep.no_sandbox = Some(u.to_string());
        }
        let mut first: std::collections::HashMap<String, String> = Default::default();
        let total = rows.len() as u64;
        for (i, (id, keyed, blob, cipher_size)) in rows.into_iter().enumerate() {
            progress(i as u64, total);
            let same_as = first.get(&keyed).cloned();
            first.entry(keyed.clone()).or_insert_with(|| id.clone());
            let done: Option<String> = self
                .conn
                .query_row(
                    "SELECT status FROM processed WHERE keyed_hash = ?1",
                    [&keyed],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(st) = done {
                if same_as.is_none() {
                    rep.already += 1;
                }
                let status = match st.as_str() {
                    "processed" => Status::Processed,
                    "quarantined" => Status::Quarantined,
                    _ => Status::Unhandled,
                };
                rep.items.push(ItemResult {
                    id,
                    same_as,
                    status,
                    reason: None,
                    deferred: false,
                });
                continue;
            }
            let (report, derivs, deferred) = if cipher_size as u64 > opts.max_in_memory + (1 << 20)
            {
                (
                    Report::new(
                        Status::Unhandled,
                        Some(format!(
                            "larger than the in-memory limit of {} bytes; not processed yet",
                            opts.max_in_memory
                        )),
                        0,
                    ),
                    Vec::new(),
                    false,
                )
            } else {
                let plain = match self.decrypt_content(keys, &keyed, &blob) {
                    Ok(p) => p,
                    Err(reason) => {
                        // The stored content is damaged: `vault check` says
                        // more. Not processed, not marked.
                        rep.items.push(ItemResult {
                            id,
                            same_as,
                            status: Status::Quarantined,
                            reason: Some(format!("its content cannot be read: {reason}")),
                            deferred: false,
                        });
                        rep.quarantined += 1;
                        continue;
                    }
                };
                analyse_guarded(&plain, opts, &tools)
            };
            if deferred {
                // Not marked: a run with a sandbox processes it.
                rep.deferred += 1;
                rep.items.push(ItemResult {
                    id,
                    same_as,
                    status: report.status,
                    reason: report.reason.clone(),
                    deferred: true,
                });
                continue;
            }
            self.commit_result(keys, &keyed, &report, &derivs)?;
            match report.status {
                Status::Processed => rep.processed += 1,
                Status::Quarantined => rep.quarantined += 1,
                Status::Unhandled => rep.unhandled += 1,
            }
            rep.items.push(ItemResult {
                id,
                same_as,
                status: report.status,
                reason: report.reason.clone(),
                deferred: false,
            });
        }
        progress(total, total);
        Ok(rep)
    }

    fn decrypt_content(
        &self,
        keys: &Keys,
        keyed: &str,
        blob: &str,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let f = std::fs::File::open(self.store.path(blob)).map_err(|e| e.to_string())?;
        let plain = crate::unseal(keys, io::BufReader::new(f), "content")?;
        if keys.keyed_hash(&blake3::hash(&plain)) != keyed {
            return Err("the plaintext is not the one catalogued".into());
        }
        Ok(plain)
    }

    /// Stores the report and derivatives of one content, crash-consistently.
    fn commit_result(
        &mut self,
        keys: &Keys,
        keyed: &str,
        report: &Report,
        derivs: &Derivs,
    ) -> Result<(), Error> {
        let json = Zeroizing::new(serde_json::to_vec(report).expect("serializable"));
        let mut blobs: Vec<(String, String, Vec<u8>, String)> = Vec::new();
        blobs.push((
            "report".into(),
            String::new(),
            crate::seal(keys, &json)?,
            keys.keyed_hash(&blake3::hash(&json)),
        ));
        for (kind, data) in derivs {
            blobs.push((
                kind.clone(),
                String::new(),
                crate::seal(keys, data)?,
                keys.keyed_hash(&blake3::hash(data)),
            ));
        }
        for b in &mut blobs {
            b.1 = blake3::hash(&b.2).to_hex().to_string();
        }
        let tx = self.conn.transaction()?;
        for b in &blobs {
            tx.execute("INSERT OR IGNORE INTO pending(blob) VALUES (?1)", [&b.1])?;
        }
        tx.commit()?;
        let root = self.store.root().to_path_buf();
        for b in &blobs {
            self.store.put(&b.1, &b.2).map_err(io_err(&root))?;
        }
        let tx = self.conn.transaction()?;
        for (kind, hash, cipher, plain_keyed) in &blobs {
            tx.execute(
                "INSERT OR REPLACE INTO derivatives(keyed_hash, kind, blob, cipher_size, plain_keyed)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![keyed, kind, hash, cipher.len() as i64, plain_keyed],
            )?;
            tx.execute("DELETE FROM pending WHERE blob = ?1", [hash])?;
        }
        tx.execute(
            "INSERT INTO processed(keyed_hash, status, version) VALUES (?1, ?2, ?3)",
            params![keyed, report.status.as_str(), PROCESS_VERSION],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn derivative_blob(&self, item_id: &str, kind: &str) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT d.blob FROM items i JOIN derivatives d ON d.keyed_hash = i.keyed_hash
                 WHERE i.id = ?1 AND d.kind = ?2",
                [item_id, kind],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A derivative of an item ("safe-image", "text", "report"), decrypted in
    /// memory. `None`: the item has none of this kind (not processed yet, or
    /// not that type).
    pub fn derivative(
        &self,
        keys: &Keys,
        item_id: &str,
        kind: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let Some(blob) = self.derivative_blob(item_id, kind)? else {
            return Ok(None);
        };
        let p = self.store.path(&blob);
        let f = std::fs::File::open(&p).map_err(io_err(&p))?;
        crate::unseal(keys, io::BufReader::new(f), "content")
            .map(Some)
            .map_err(|e| Error::Crypto(format!("derivative {blob}: {e}")))
    }

    /// The processing report of an item, decrypted in memory.
    pub fn process_report(&self, keys: &Keys, item_id: &str) -> Result<Option<Report>, Error> {
        match self.derivative(keys, item_id, "report")? {
            None => Ok(None),
            Some(j) => serde_json::from_slice(&j)
                .map(Some)
                .map_err(|e| Error::Invalid(format!("item {item_id}: its report is damaged: {e}"))),
        }
    }

    /// Groups of items whose safe images (or texts) are byte-identical after
    /// cleaning, though their originals differ or not. Each group has two or
    /// more item ids, in import order.
    pub fn exact_duplicates(&self) -> Result<Vec<Vec<String>>, Error> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare(
                "SELECT d.plain_keyed, i.id FROM items i JOIN derivatives d ON d.keyed_hash = i.keyed_hash
                 WHERE d.kind IN ('safe-image', 'text') ORDER BY d.plain_keyed, i.seq",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut last: Option<String> = None;
        for (k, id) in rows {
            if last.as_deref() == Some(&k) {
                out.last_mut().expect("a group").push(id);
            } else {
                out.push(vec![id]);
                last = Some(k);
            }
        }
        out.retain(|g| g.len() > 1);
        Ok(out)
    }

    /// Pairs of items with images whose perceptual hashes differ in at most
    /// `max_distance` bits, computed in memory from the encrypted reports.
    /// Items sharing one content are exact duplicates, not listed here.
    pub fn near_duplicates(
        &self,
        keys: &Keys,
        max_distance: u32,
    ) -> Result<Vec<NearDuplicate>, Error> {
        let ids: Vec<String> = self
            .conn
            .prepare(
                "SELECT min(i.id) FROM items i JOIN derivatives d ON d.keyed_hash = i.keyed_hash
                 WHERE d.kind = 'safe-image' GROUP BY i.keyed_hash ORDER BY min(i.seq)",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut hashes = Vec::new();
        for id in ids {
            if let Some(r) = self.process_report(keys, &id)?
                && let Some(img) = r.image
                && let Ok(h) = u64::from_str_radix(&img.dhash, 16)
            {
                hashes.push((id, h));
            }
        }
        let mut out = Vec::new();
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                let d = (hashes[i].1 ^ hashes[j].1).count_ones();
                if d <= max_distance {
                    out.push(NearDuplicate {
                        a: hashes[i].0.clone(),
                        b: hashes[j].0.clone(),
                        distance: d,
                    });
                }
            }
        }
        Ok(out)
    }
}

impl Report {
    fn new(status: Status, reason: Option<String>, size: u64) -> Report {
        Report {
            version: PROCESS_VERSION,
            status,
            reason,
            kind: None,
            infer_mime: None,
            size,
            findings: Vec::new(),
            redstar: None,
            sanitize_error: None,
            image: None,
            derivatives: Vec::new(),
            document: None,
            ocr: None,
            video: None,
            audio: None,
            sandbox: None,
        }
    }
}

/// [`analyse`], with a panic in any parser turned into a quarantine.
fn analyse_guarded(
    data: &[u8],
    opts: &Options,
    tools: &Result<Sandbox, Unavailable>,
) -> (Report, Derivs, bool) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyse(data, opts, tools))) {
        Ok(r) => r,
        Err(_) => (
            Report::new(
                Status::Quarantined,
                Some("a parser crashed on it (hostile or malformed input)".into()),
                data.len() as u64,
            ),
            Vec::new(),
            false,
        ),
    }
}

/// The type of a file from its bytes: the sanitizer's formats, then HWP and
/// ZIP/OLE by own checks, then `infer`.
pub fn kind_of(data: &[u8]) -> Option<String> {
    if is_hwp5(data) {
        return Some("hwp".into());
    }
    if data.starts_with(b"PK\x03\x04") && is_hwpx(data) {
        return Some("hwpx".into());
    }
    if data.starts_with(b"HWP Document File") {
        return Some("hwp3".into());
    }
    if let Some(f) = baram_sanitize::detect(data) {
        return Some(f.extension().to_string());
    }
    if data.starts_with(b"PK\x03\x04") {
        return Some("zip".into());
    }
    if data.starts_with(&CFB_MAGIC) {
        return Some("ole".into());
    }
    infer::get(data).map(|t| t.extension().to_string())
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// HWP 5: a CFB file whose directory names `FileHeader` and
/// `HwpSummaryInformation` (names are UTF-16LE in the directory entries).
fn is_hwp5(data: &[u8]) -> bool {
    if !data.starts_with(&CFB_MAGIC) {
        return false;
    }
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect() };
    let has = |s: &str| memfind(data, &utf16(s));
    has("FileHeader") && has("HwpSummaryInformation")
}

fn is_hwpx(data: &[u8]) -> bool {
    // The first entry of an OCF container: a stored `mimetype`.
    data.len() > 30 + 8
        && &data[30..38] == b"mimetype"
        && memfind(&data[..data.len().min(200)], b"application/hwp+zip")
}

fn memfind(h: &[u8], n: &[u8]) -> bool {
    !n.is_empty() && h.windows(n.len()).any(|w| w == n)
}

type Derivs = Vec<(String, Zeroizing<Vec<u8>>)>;

/// Everything processing does with one decrypted original: in memory, and
/// in the sandbox's tmpfs for subprocess parsers. The flag: deferred (it
/// needs a sandbox there is not).
fn analyse(
    data: &[u8],
    opts: &Options,
    tools: &Result<Sandbox, Unavailable>,
) -> (Report, Derivs, bool) {
    use baram_sanitize::Format as F;
    let mut rep = Report::new(Status::Processed, None, data.len() as u64);
    rep.kind = kind_of(data);
    rep.infer_mime = infer::get(data).map(|t| t.mime_type().to_string());
    // A Red Star chain whatever the format.
    if let Some((m, _)) = baram_sanitize::redstar::find_trailer(data) {
        rep.redstar = Some(RedStar {
            offset: m.offset,
            blocks: m.blocks,
            serials: m.serials,
        });
    }
    let quarantine = |mut rep: Report, why: String| {
        rep.status = Status::Quarantined;
        rep.reason = Some(why);
        (rep, Vec::new(), false)
    };
    if data.starts_with(b"PK\x03\x04")
        && let Err(why) = zip_check(data, opts.max_unpacked)
    {
        return quarantine(rep, why);
    }
    let format = baram_sanitize::detect(data);
    let is_image = matches!(format, Some(F::Jpeg | F::Png | F::Gif | F::Webp));
    let mut declared = None;
    if is_image {
        match check_declared_size(data, opts) {
            Err(why) => return quarantine(rep, why),
            Ok(wh) => declared = Some(wh),
        }
    }
    let is_hwp = format.is_none() && matches!(rep.kind.as_deref(), Some("hwp" | "hwpx"));
    if is_hwp && opts.docs.hwp_helper.is_none() {
        rep.status = Status::Unhandled;
        rep.reason = Some(
            "HWP 5 and HWPX are read by baram's own reader, which this run was not given (Options::docs.hwp_helper); `baram vault process` gives it".into(),
        );
        return (rep, Vec::new(), false);
    }
    let is_document = matches!(
        format,
        Some(F::Pdf | F::Docx | F::Xlsx | F::Pptx | F::Odt | F::Ods | F::Odp)
    ) || (format.is_none()
        && matches!(rep.kind.as_deref(), Some("ole" | "hwp3")))
        || is_hwp;
    // MP4 and Matroska may hold sound alone (a phone's voice memo): ffprobe
    // tells, below.
    let is_video = matches!(format, Some(F::Mp4 | F::Avi | F::Mkv));
    let is_audio = matches!(format, Some(F::Mp3));
    let transcoded_audio = format.is_none()
        && rep
            .kind
            .as_deref()
            .is_some_and(|k| crate::video::TRANSCODED_AUDIO.contains(&k));
    let ocr_image = is_image
        && opts.ocr_images
        && declared.is_some_and(|(w, h)| w as u64 * h as u64 >= opts.ocr_min_pixels);
    let sb = match tools {
        Ok(sb) => {
            rep.sandbox = Some(if sb.is_confined() { "bwrap" } else { "none" }.into());
            Some(sb)
        }
        Err(u) if is_document || is_video || is_audio || transcoded_audio || ocr_image => {
            rep.status = Status::Unhandled;
            rep.reason = Some(format!("not processed: {u}"));
            return (rep, Vec::new(), true);
        }
        Err(_) => None,
    };
    let tool_limits = Limits {
        wall: opts.tool_time,
        memory: opts.docs.memory,
        output: 1 << 30,
        tmpfs: opts.docs.tmpfs,
    };
    let mut sopts = baram_sanitize::Options::default();
    if let Some(sb) = sb {
        sopts.remux = Some(crate::video::remux_hook(sb, &tool_limits));
    }
    let findings_of = |c: &baram_sanitize::Cleaned| -> Vec<Finding> {
        c.report
            .findings
            .iter()
            .map(|f| Finding {
                category: serde_json::to_value(f.category)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                field: f.field.clone(),
                value: f.value.clone(),
                offset: f.offset,
            })
            .collect()
    };
    let cleaned = match format {
        None => None,
        Some(_) => match baram_sanitize::clean(data, &sopts) {
            Ok(c) => {
                rep.findings = findings_of(&c);
                if let Some(m) = &c.report.redstar {
                    rep.redstar = Some(RedStar {
                        offset: m.offset,
                        blocks: m.blocks,
                        serials: m.serials.clone(),
                    });
                }
                // The cleaned copy is plaintext too: zeroized when dropped.
                Some(Zeroizing::new(c.data))
            }
            Err(e) => {
                rep.sanitize_error = Some(e.to_string());
                return quarantine(rep, format!("the sanitizer refused it: {e}"));
            }
        },
    };
    match (format, cleaned) {
        (Some(f @ (F::Jpeg | F::Png | F::Gif | F::Webp)), Some(c)) => {
            let (png, facts) = match safe_image(&c, f, opts) {
                Ok(x) => x,
                Err(why) => return quarantine(rep, why),
            };
            rep.image = Some(facts);
            rep.derivatives.push("safe-image".into());
            let mut derivs: Derivs = Vec::new();
            if ocr_image && let Some(sb) = sb {
                match crate::ocr::ocr_png(sb, &png, &tool_limits) {
                    Ok(t) => {
                        let conf = t.mean_conf();
                        let kept = conf >= opts.ocr_min_conf && !t.text.trim().is_empty();
                        rep.ocr = Some(OcrFacts {
                            words: t.words.len() as u32,
                            mean_conf: conf.round() as u32,
                            kept,
                            error: None,
                        });
                        if kept {
                            rep.derivatives.push("text".into());
                            derivs
                                .push(("text".into(), Zeroizing::new(t.text.clone().into_bytes())));
                        }
                    }
                    Err(e) => {
                        rep.ocr = Some(OcrFacts {
                            words: 0,
                            mean_conf: 0,
                            kept: false,
                            error: Some(e),
                        })
                    }
                }
            }
            derivs.insert(0, ("safe-image".into(), png));
            (rep, derivs, false)
        }
        (Some(F::Text), Some(c)) => match std::str::from_utf8(&c) {
            Ok(_) => {
                rep.derivatives.push("text".into());
                (rep, vec![("text".into(), c)], false)
            }
            Err(e) => quarantine(rep, format!("text that is not UTF-8: {e}")),
        },
        (_, c) if is_document => {
            let sb = sb.expect("checked above");
            let kind = rep.kind.clone().unwrap_or_default();
            // The sanitizer's copy when it has one (macros and OLE objects
            // were refused, metadata removed), else the original.
            let input: &[u8] = c.as_deref().map_or(data, |c| c);
            match crate::render::render_document(sb, input, &kind, &opts.docs) {
                Ok(r) => {
                    rep.document = Some(r.facts);
                    let mut derivs: Derivs = vec![("safe-pdf".into(), r.pdf)];
                    rep.derivatives.push("safe-pdf".into());
                    if !r.text.trim().is_empty() {
                        rep.derivatives.push("text".into());
                        derivs.push(("text".into(), Zeroizing::new(r.text.as_bytes().to_vec())));
                    }
                    (rep, derivs, false)
                }
                Err(why) => quarantine(rep, why),
            }
        }
        (Some(f), Some(c)) if is_video || is_audio => {
            let sb = sb.expect("checked above");
            let sound_only = is_audio
                || match crate::video::stream_kinds(sb, &c, f, &tool_limits) {
                    Ok(k) => !k.iter().any(|k| k == "video") && k.iter().any(|k| k == "audio"),
                    Err(why) => return quarantine(rep, why),
                };
            if sound_only {
                return match safe_audio(sb, &c, f, &sopts, &tool_limits) {
                    Ok((facts, safe)) => {
                        rep.derivatives = vec!["safe-audio".into()];
                        rep.audio = Some(facts);
                        (rep, vec![("safe-audio".into(), safe)], false)
                    }
                    Err(why) => quarantine(rep, why),
                };
            }
            match safe_video(sb, &c, f, &sopts, &tool_limits, opts) {
                Ok((facts, derivs)) => {
                    rep.derivatives = derivs.iter().map(|(k, _)| k.clone()).collect();
                    rep.video = Some(facts);
                    (rep, derivs, false)
                }
                Err(why) => quarantine(rep, why),
            }
        }
        (None, _) if transcoded_audio => {
            let sb = sb.expect("checked above");
            let kind = rep.kind.clone().unwrap_or_default();
            let safe = crate::video::transcode_audio(sb, data, &kind, &tool_limits)
                .and_then(|m4a| cleaned_and_checked(&Zeroizing::new(m4a), "recording", &sopts));
            match safe {
                Ok((safe, remux_findings)) => {
                    rep.derivatives = vec!["safe-audio".into()];
                    rep.audio = Some(crate::video::AudioFacts {
                        container: "mp4".into(),
                        remux_findings,
                        transcoded_from: Some(kind),
                    });
                    (rep, vec![("safe-audio".into(), safe)], false)
                }
                Err(why) => quarantine(rep, why),
            }
        }
        (Some(f), _) => {
            rep.status = Status::Unhandled;
            rep.reason = Some(format!(
                "{} files are not converted; findings recorded",
                f.name()
            ));
            (rep, Vec::new(), false)
        }
        (None, _) => {
            rep.status = Status::Unhandled;
            rep.reason = Some(match rep.kind.as_deref() {
                Some("zip") => "a ZIP archive that is no known document: its members are not unpacked yet (unexplained ZIP)".into(),
                Some(k) => format!("{k} files are not handled yet"),
                None => "unknown type: not handled".into(),
            });
            (rep, Vec::new(), false)
        }
    }
}

/// A remux cleaned by the sanitizer and checked: cleaned again, it has
/// nothing left to remove. Returns it and what the sanitizer removed.
fn cleaned_and_checked(
    remuxed: &[u8],
    what: &str,
    sopts: &baram_sanitize::Options,
) -> Result<(Zeroizing<Vec<u8>>, Vec<String>), String> {
    let c = baram_sanitize::clean(remuxed, sopts)
        .map_err(|e| format!("the remuxed {what} does not pass the sanitizer: {e}"))?;
    let findings = c.report.findings.iter().map(|f| f.field.clone()).collect();
    let safe = Zeroizing::new(c.data);
    match baram_sanitize::clean(&safe, sopts) {
        Ok(again) if again.report.is_clean() && again.data[..] == safe[..] => Ok((safe, findings)),
        Ok(_) => Err(format!(
            "the remuxed {what} is not clean on a second check; not kept"
        )),
        Err(e) => Err(format!(
            "the remuxed {what} does not pass the sanitizer: {e}"
        )),
    }
}

/// The safe copy of a recording: its sound alone, remuxed in the sandbox,
/// cleaned, checked.
fn safe_audio(
    sb: &Sandbox,
    cleaned: &[u8],
    format: baram_sanitize::Format,
    sopts: &baram_sanitize::Options,
    limits: &Limits,
) -> Result<(crate::video::AudioFacts, Zeroizing<Vec<u8>>), String> {
    let (remuxed, container) = crate::video::remux_audio(sb, cleaned, format, limits)?;
    let remuxed = Zeroizing::new(remuxed);
    let (safe, remux_findings) = cleaned_and_checked(&remuxed, "recording", sopts)?;
    Ok((
        crate::video::AudioFacts {
            container: container.to_string(),
            remux_findings,
            transcoded_from: None,
        },
        safe,
    ))
}

/// The safe copy of a video (remuxed in the sandbox, cleaned, checked) and
/// its poster frame.
fn safe_video(
    sb: &Sandbox,
    cleaned: &[u8],
    format: baram_sanitize::Format,
    sopts: &baram_sanitize::Options,
    limits: &Limits,
    opts: &Options,
) -> Result<(VideoFacts, Derivs), String> {
    let remuxed = Zeroizing::new(crate::video::remux(sb, cleaned, format, limits)?);
    let (safe, remux_findings) = cleaned_and_checked(&remuxed, "video", sopts)?;
    let (container, _, _) = crate::video::container(format, cleaned).expect("a video");
    let mut facts = VideoFacts {
        container: container.trim_start_matches("in.").to_string(),
        remux_findings,
        poster: None,
        poster_error: None,
    };
    let mut derivs: Derivs = vec![("safe-video".into(), safe)];
    match crate::video::poster(sb, cleaned, format, limits)
        .and_then(|p| safe_image(&Zeroizing::new(p), baram_sanitize::Format::Png, opts))
    {
        Ok((png, img)) => {
            facts.poster = Some(img);
            derivs.push(("poster".into(), png));
        }
        Err(e) => facts.poster_error = Some(e),
    }
    Ok((facts, derivs))
}

/// Declared sizes, then a streaming inflate of every member up to `max`.
fn zip_check(data: &[u8], max: u64) -> Result<(), String> {
    let mut z =
        zip::ZipArchive::new(Cursor::new(data)).map_err(|e| format!("a malformed ZIP: {e}"))?;
    let mut declared: u64 = 0;
    for i in 0..z.len() {
        let f = z
            .by_index_raw(i)
            .map_err(|e| format!("a malformed ZIP member {i}: {e}"))?;
        declared = declared.saturating_add(f.size());
        if declared > max {
            return Err(format!(
                "a ZIP bomb: its members declare more than {max} bytes unpacked (member {:?} alone {} bytes from {} packed)",
                f.name(),
                f.size(),
                f.compressed_size()
            ));
        }
    }
    let mut total: u64 = 0;
    for i in 0..z.len() {
        let f = z
            .by_index(i)
            .map_err(|e| format!("a ZIP member {i} cannot be read: {e}"))?;
        let n = io::copy(&mut f.take(max - total + 1), &mut io::sink())
            .map_err(|e| format!("a ZIP member {i} does not unpack: {e}"))?;
        total += n;
        if total > max {
            return Err(format!(
                "a ZIP bomb: its members unpack to more than {max} bytes (the sizes it declares are false)"
            ));
        }
    }
    Ok(())
}

/// The size an image declares in its header, read by hand before any decoder
/// sees it.
pub fn declared_size(data: &[u8], format: baram_sanitize::Format) -> Option<(u32, u32)> {
    use baram_sanitize::Format as F;
    let be16 = |o: usize| Some(u16::from_be_bytes(data.get(o..o + 2)?.try_into().ok()?) as u32);
    let le16 = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?) as u32);
    let be32 = |o: usize| Some(u32::from_be_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let le24 = |o: usize| {
        let b = data.get(o..o + 3)?;
        Some(b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16)
    };
    match format {
        F::Png => {
            if data.get(12..16)? != b"IHDR" {
                return None;
            }
            Some((be32(16)?, be32(20)?))
        }
        F::Gif => Some((le16(6)?, le16(8)?)),
        F::Jpeg => {
            let mut o = 2;
            loop {
                while *data.get(o)? != 0xFF {
                    o += 1;
                }
                while *data.get(o)? == 0xFF {
                    o += 1;
                }
                let m = *data.get(o)?;
                o += 1;
                if (0xD0..=0xD9).contains(&m) || m == 0x01 {
                    continue;
                }
                if m == 0xDA {
                    // Scan data before any frame header: malformed.
                    return None;
                }
                let len = be16(o)? as usize;
                if matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
                    return Some((be16(o + 5)?, be16(o + 3)?));
                }
                o += len;
            }
        }
        F::Webp => match data.get(12..16)? {
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            b"VP8L" => {
                let b = u32::from_le_bytes(data.get(21..25)?.try_into().ok()?);
                Some(((b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1))
            }
            b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            _ => None,
        },
        _ => None,
    }
}

fn check_declared_size(data: &[u8], opts: &Options) -> Result<(u32, u32), String> {
    let f = baram_sanitize::detect(data).expect("an image");
    let (w, h) = declared_size(data, f)
        .ok_or_else(|| format!("a {} whose header gives no size (malformed)", f.name()))?;
    if w == 0 || h == 0 {
        return Err(format!("a {} that declares {w} x {h} pixels", f.name()));
    }
    if w > opts.max_side || h > opts.max_side || w as u64 * h as u64 > opts.max_pixels {
        return Err(format!(
            "a decompression bomb: the {} declares {w} x {h} pixels (limits: {} a side, {} in all); not decoded",
            f.name(),
            opts.max_side,
            opts.max_pixels
        ));
    }
    Ok((w, h))
}

/// Decodes (under limits) and re-encodes the pixels as a PNG with no metadata.
fn safe_image(
    data: &[u8],
    f: baram_sanitize::Format,
    opts: &Options,
) -> Result<(Zeroizing<Vec<u8>>, ImageFacts), String> {
    use baram_sanitize::Format as F;
    let fmt = match f {
        F::Jpeg => image::ImageFormat::Jpeg,
        F::Png => image::ImageFormat::Png,
        F::Gif => image::ImageFormat::Gif,
        _ => image::ImageFormat::WebP,
    };
    let mut r = image::ImageReader::with_format(Cursor::new(data), fmt);
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(opts.max_side);
    lim.max_image_height = Some(opts.max_side);
    lim.max_alloc = Some(opts.max_alloc);
    r.limits(lim);
    let img = r
        .decode()
        .map_err(|e| format!("the {} does not decode: {e}", f.name()))?;
    let mut png = Zeroizing::new(Vec::new());
    img.write_to(&mut Cursor::new(&mut *png), image::ImageFormat::Png)
        .map_err(|e| format!("the pixels could not be re-encoded: {e}"))?;
    let facts = ImageFacts {
        width: img.width(),
        height: img.height(),
        dhash: format!("{:016x}", dhash(&img)),
    };
    // The decoded pixels are plaintext: zeroized.
    drop(Zeroizing::new(img.into_bytes()));
    Ok((png, facts))
}

/// A 64-bit difference hash: the image is converted to 8-bit luma, shrunk
/// to 9 x 8 pixels (triangle filter), and bit `8*y + x` (most significant
/// first) is set when pixel (x, y) is brighter than pixel (x+1, y).
/// Re-compression and resizing change few bits; another picture about half.
pub fn dhash(img: &image::DynamicImage) -> u64 {
    let small = img
        .grayscale()
        .resize_exact(9, 8, image::imageops::FilterType::Triangle)
        .to_luma8();
    let mut h = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            h <<= 1;
            if small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0] {
                h |= 1;
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use baram_sanitize::fixtures;

    #[test]
    fn declared_size_agrees_with_the_decoder() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("jpeg", fixtures::jpeg_with_exif()),
            ("jpeg progressive", fixtures::jpeg_progressive_with_exif()),
            ("jpeg 40x24", fixtures::jpeg_plain_sized(40, 24)),
            ("png", fixtures::png_with_text()),
            ("gif", fixtures::gif_with_comment()),
            ("webp", fixtures::webp_with_exif()),
            ("webp plain", fixtures::webp_plain()),
            ("webp animated", fixtures::webp_animated_with_exif()),
        ];
        for (name, data) in cases {
            let f = baram_sanitize::detect(&data).unwrap();
            let mine = declared_size(&data, f).unwrap_or_else(|| panic!("{name}: no size"));
            let theirs = image::ImageReader::new(Cursor::new(&data))
                .with_guessed_format()
                .unwrap()
                .into_dimensions()
                .unwrap();
            assert_eq!(mine, theirs, "{name}");
        }
        // Cut inside the header: no size, never a panic.
        let j = fixtures::jpeg_with_exif();
        for n in 0..64 {
            let _ = declared_size(&j[..n], baram_sanitize::Format::Jpeg);
        }
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
    }

    #[test]
    fn hwp_and_hwpx_by_content() {
        let mut hwp = CFB_MAGIC.to_vec();
        hwp.resize(512, 0);
        hwp.extend(utf16("FileHeader"));
        hwp.resize(640, 0);
        hwp.extend(utf16("\u{5}HwpSummaryInformation"));
        hwp.resize(1024, 0);
        assert_eq!(kind_of(&hwp).as_deref(), Some("hwp"));
        // Another OLE file (an old .doc) is not HWP.
        let mut doc = CFB_MAGIC.to_vec();
        doc.resize(512, 0);
        doc.extend(utf16("WordDocument"));
        doc.resize(1024, 0);
        assert_eq!(kind_of(&doc).as_deref(), Some("ole"));
        // HWPX: a ZIP whose first, stored entry is `mimetype`.
        let mime = b"application/hwp+zip";
        let mut x = b"PK\x03\x04".to_vec();
        x.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        x.extend_from_slice(&[0; 4]);
        x.extend_from_slice(&(mime.len() as u32).to_le_bytes());
        x.extend_from_slice(&(mime.len() as u32).to_le_bytes());
        x.extend_from_slice(&8u16.to_le_bytes());
        x.extend_from_slice(&0u16.to_le_bytes());
        x.extend_from_slice(b"mimetype");
        x.extend_from_slice(mime);
        assert_eq!(kind_of(&x).as_deref(), Some("hwpx"));
        // Names do not matter; content does.
        assert_eq!(
            kind_of(&fixtures::docx_with_metadata()).as_deref(),
            Some("docx")
        );
        assert_eq!(kind_of(&fixtures::png_plain()).as_deref(), Some("png"));
        // Without the reader (the library's default), HWP is unhandled
        // and says why.
        let (r, d, _) = analyse(&hwp, &Options::default(), &Ok(Sandbox::unconfined()));
        assert_eq!(r.status, Status::Unhandled);
        assert!(r.reason.unwrap().contains("hwp_helper"));
        assert!(d.is_empty());
    }

    #[test]
    fn dhash_is_stable_and_documented_bit_order() {
        // Brighter on the left everywhere: every bit set.
        let img = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(90, 80, |x, _| {
            image::Luma([255 - (x * 2) as u8])
        }));
        assert_eq!(dhash(&img), u64::MAX);
        let flat = image::DynamicImage::ImageLuma8(image::GrayImage::new(90, 80));
        assert_eq!(dhash(&flat), 0);
    }
}
