//! Intake bundles: the folder that travels on a USB stick from the field
//! laptop (which holds only recipients) to the analyst's vault.
//!
//! ```text
//! BUNDLE/
//!   bundle.json            format, version, random bundle id, recipient fingerprints
//!   lock                   empty; held (flock) by the one intake writing
//!   items/<id>.age         the file, age-encrypted to the recipients while it was read
//!   items/<id>.rec.age     its record (JSON, padded to 4 KiB steps), age-encrypted
//! ```
//!
//! What the clear parts show: that this is a baram bundle, the fingerprint of
//! the analyst key it is for, how many items it holds and each item's
//! ciphertext length (the plaintext length plus about 200 bytes per recipient
//! and 16 bytes per 64 KiB: the exact size, to that precision — padding is not
//! done, so the age tool can decrypt an item to exactly the original). Names,
//! paths, times, courier and note are only inside the records. Ids are random,
//! so their order says nothing. Every file and folder of the bundle has its
//! modification and access time set to 1980-01-01 00:00:00 UTC after writing;
//! what the file system itself stores beyond that (creation times on FAT and
//! exFAT, inode numbers, directory entry order) can still show when and in
//! which order items were written.
//!
//! An item is complete when both of its files are under their final names. The
//! data file is renamed first and the record last, so a record always has its
//! data; a data file without a record, and any `*.partial` file, is the trace
//! of an intake that was killed: the next intake removes them and import never
//! takes them.

use crate::fsx::{self, create_new, set_fixed_times, set_fixed_times_path, sync_dir};
use crate::keys;
use crate::payload;
use crate::{Error, io_err};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const BUNDLE_JSON: &str = "bundle.json";
pub const ITEMS: &str = "items";
pub const PARTIAL_SUFFIX: &str = ".partial";
pub const FORMAT: &str = "baram-vault-bundle";
pub const VERSION: u32 = 1;
/// Records are padded with spaces to a multiple of this many bytes.
pub const RECORD_PAD: usize = 4096;

/// The clear-text description of a bundle (`bundle.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BundleInfo {
    pub format: String,
    pub version: u32,
    /// 128 random bits, hex.
    pub bundle_id: String,
    /// [`keys::fingerprint`] of each recipient the items are encrypted to.
    pub recipients: Vec<String>,
}

/// The encrypted record of one item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub version: u32,
    pub item_id: String,
    pub bundle_id: String,
    /// When the intake read the file (UTC, RFC 3339).
    pub received_at: String,
    pub courier: Option<String>,
    pub note: Option<String>,
    /// The file name as it was (lossy UTF-8 if it was not valid UTF-8).
    pub original_name: String,
    /// The path as the intake saw it (absolute, lossy UTF-8).
    pub original_path: String,
    pub size: u64,
    /// BLAKE3 of the plaintext, computed while it was encrypted.
    pub blake3: String,
}

/// Who brought the files, what the intake operator noted.
#[derive(Debug, Clone, Default)]
pub struct IntakeOptions {
    pub courier: Option<String>,
    pub note: Option<String>,
}

impl IntakeOptions {
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(c) = &self.courier
            && (c.is_empty() || c.chars().count() > 64 || c.chars().any(char::is_control))
        {
            return Err(Error::Invalid(
                "--courier: 1 to 64 characters, no control characters".into(),
            ));
        }
        if let Some(n) = &self.note
            && n.len() > 16 * 1024
        {
            return Err(Error::Invalid("--note: at most 16 KiB".into()));
        }
        Ok(())
    }
}

/// One file taken in.
#[derive(Debug, Clone, Serialize)]
pub struct Taken {
    pub id: String,
    pub size: u64,
}

/// Why one file was not taken in. The batch goes on unless [`Self::is_fatal`].
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("cannot read it: {0} (check the permissions); it was not taken")]
    Unreadable(io::Error),
    #[error("it vanished before it could be read; it was not taken")]
    Vanished,
    #[error("not a regular file; it was not taken")]
    NotAFile,
    #[error(transparent)]
    Bundle(#[from] Error),
}

impl IntakeError {
    pub fn reason(&self) -> &'static str {
        match self {
            IntakeError::Unreadable(_) => "unreadable",
            IntakeError::Vanished => "vanished",
            IntakeError::NotAFile => "not-a-file",
            IntakeError::Bundle(_) => "bundle-error",
        }
    }
    /// Writing the bundle failed (a full or removed stick): stop the batch.
    pub fn is_fatal(&self) -> bool {
        matches!(self, IntakeError::Bundle(_))
    }
}

/// An intake bundle open for writing. Holds only recipients: nothing it
/// writes can be read back with what it has.
pub struct Intake {
    dir: PathBuf,
    info: BundleInfo,
    recipients: Vec<age::x25519::Recipient>,
    _lock: File,
    /// Leftovers of killed intakes removed when opening.
    pub cleaned: Vec<String>,
}

impl Intake {
    /// Opens (or creates) the bundle at `dir` for the given recipients. An
    /// existing bundle must be for the same recipients. Removes what killed
    /// intakes left (`*.partial`, data files without a record).
    pub fn open(dir: &Path, recipients: &[age::x25519::Recipient]) -> Result<Intake, Error> {
        if recipients.is_empty() {
            return Err(Error::Invalid(
                "no recipient: pass --to age1… (the analyst's public key)".into(),
            ));
        }
        let mut fps: Vec<String> = recipients.iter().map(keys::fingerprint).collect();
        fps.sort();
        fps.dedup();
        let items = dir.join(ITEMS);
        fs::create_dir_all(&items).map_err(io_err(&items))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        lock.try_lock().map_err(|_| {
            Error::Invalid(format!(
                "{}: another intake is writing this bundle; wait for it to finish",
                dir.display()
            ))
        })?;
        let bj = dir.join(BUNDLE_JSON);
        let info = if bj.is_file() {
            let info = read_info(dir)?;
            if info.recipients != fps {
                return Err(Error::Invalid(format!(
                    "{}: this bundle is for other recipients; use a new bundle folder",
                    dir.display()
                )));
            }
            info
        } else {
            let info = BundleInfo {
                format: FORMAT.into(),
                version: VERSION,
                bundle_id: fsx::random_hex128(),
                recipients: fps,
            };
            let mut json = serde_json::to_vec_pretty(&info).expect("serialises");
            json.push(b'\n');
            fsx::write_atomic(&bj, &json, 0o644, true).map_err(io_err(&bj))?;
            info
        };
        let mut intake = Intake {
            dir: dir.to_path_buf(),
            info,
            recipients: recipients.to_vec(),
            _lock: lock,
            cleaned: Vec::new(),
        };
        intake.clean_leftovers()?;
        intake.fix_dir_times()?;
        Ok(intake)
    }

    pub fn info(&self) -> &BundleInfo {
        &self.info
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn clean_leftovers(&mut self) -> Result<(), Error> {
        let items = self.dir.join(ITEMS);
        let scan = scan_items(&items)?;
        for name in &scan.partial {
            let p = items.join(name);
            fs::remove_file(&p).map_err(io_err(&p))?;
            self.cleaned.push(name.clone());
        }
        for id in &scan.incomplete {
            let p = items.join(format!("{id}.age"));
            fs::remove_file(&p).map_err(io_err(&p))?;
            self.cleaned.push(format!("{id}.age"));
        }
        // Temporaries of bundle.json.
        for e in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let e = e.map_err(io_err(&self.dir))?;
            if e.file_name().to_string_lossy().starts_with(fsx::TMP_PREFIX) {
                let _ = fs::remove_file(e.path());
            }
        }
        if !self.cleaned.is_empty() {
            sync_dir(&items).map_err(io_err(&items))?;
        }
        Ok(())
    }

    fn fix_dir_times(&self) -> Result<(), Error> {
        let items = self.dir.join(ITEMS);
        for p in [&items, &self.dir.join("lock"), &self.dir] {
            set_fixed_times_path(p).map_err(io_err(p))?;
        }
        Ok(())
    }

    /// Takes one file in: reads it once, hashing and encrypting as it goes
    /// into `items/<id>.age.partial` (no plaintext touches the disk), writes
    /// the encrypted record, then renames both into place. `progress` gets
    /// the bytes read so far.
    pub fn add_file(
        &mut self,
        path: &Path,
        opts: &IntakeOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Taken, IntakeError> {
        opts.validate()?;
        let mut src = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(IntakeError::Vanished),
            Err(e) => return Err(IntakeError::Unreadable(e)),
        };
        let meta = src.metadata().map_err(IntakeError::Unreadable)?;
        if !meta.is_file() {
            return Err(IntakeError::NotAFile);
        }
        let received_at = fsx::utc_now_rfc3339();
        let id = fsx::random_hex128();
        let items = self.dir.join(ITEMS);
        let data_final = items.join(format!("{id}.age"));
        let rec_final = items.join(format!("{id}.rec.age"));
        let data_tmp = items.join(format!("{id}.age{PARTIAL_SUFFIX}"));
        let rec_tmp = items.join(format!("{id}.rec.age{PARTIAL_SUFFIX}"));
        let res = self.write_item(
            &mut src,
            path,
            &id,
            &received_at,
            opts,
            [&data_tmp, &rec_tmp, &data_final, &rec_final],
            progress,
        );
        if res.is_err() {
            let _ = fs::remove_file(&data_tmp);
            let _ = fs::remove_file(&rec_tmp);
            if !rec_final.exists() {
                let _ = fs::remove_file(&data_final);
            }
        }
        res
    }

    #[allow(clippy::too_many_arguments)]
    fn write_item(
        &mut self,
        src: &mut File,
        path: &Path,
        id: &str,
        received_at: &str,
        opts: &IntakeOptions,
        [data_tmp, rec_tmp, data_final, rec_final]: [&PathBuf; 4],
        progress: &mut dyn FnMut(u64),
    ) -> Result<Taken, IntakeError> {
        let items = self.dir.join(ITEMS);
        let werr = |p: &Path| {
            let p = p.to_path_buf();
            move |e: io::Error| IntakeError::Bundle(Error::Io { path: p, source: e })
        };
        // 1. The data, streamed: read and hash on one thread, seal the
        // STREAM chunks on every core, write in order (see [`payload`]).
        let mut out = create_new(data_tmp, 0o644).map_err(werr(data_tmp))?;
        let recipients: Vec<&dyn age::Recipient> = self
            .recipients
            .iter()
            .map(|r| r as &dyn age::Recipient)
            .collect();
        let (size, hash) = payload::encrypt_to(
            src,
            &mut out,
            &recipients,
            payload::Tuning::default(),
            progress,
        )
        .map_err(|f| match f {
            payload::Fail::Read(e) => IntakeError::Unreadable(e),
            payload::Fail::Write(e) => werr(data_tmp)(e),
            payload::Fail::Crypto(e) => IntakeError::Bundle(e),
        })?;
        set_fixed_times(&out).map_err(werr(data_tmp))?;
        out.sync_all().map_err(werr(data_tmp))?;
        drop(out);

        // 2. The record, encrypted, padded to a multiple of RECORD_PAD.
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let record = Record {
            version: VERSION,
            item_id: id.to_string(),
            bundle_id: self.info.bundle_id.clone(),
            received_at: received_at.to_string(),
            courier: opts.courier.clone(),
            note: opts.note.clone(),
            original_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            original_path: abs.to_string_lossy().into_owned(),
            size,
            blake3: hash.to_hex().to_string(),
        };
        let mut json = zeroize::Zeroizing::new(serde_json::to_vec(&record).expect("serialises"));
        let padded = json.len().div_ceil(RECORD_PAD).max(1) * RECORD_PAD;
        json.resize(padded, b' ');
        let mut out = create_new(rec_tmp, 0o644).map_err(werr(rec_tmp))?;
        {
            let mut w = self
                .encryptor()?
                .wrap_output(&mut out)
                .map_err(werr(rec_tmp))?;
            w.write_all(&json).map_err(werr(rec_tmp))?;
            w.finish().map_err(werr(rec_tmp))?;
        }
        set_fixed_times(&out).map_err(werr(rec_tmp))?;
        out.sync_all().map_err(werr(rec_tmp))?;
        drop(out);

        // 3. Data first, record last: the record's rename completes the item.
        fs::rename(data_tmp, data_final).map_err(werr(data_final))?;
        fs::rename(rec_tmp, rec_final).map_err(werr(rec_final))?;
        set_fixed_times_path(&items).map_err(werr(&items))?;
        sync_dir(&items).map_err(werr(&items))?;
        Ok(Taken {
            id: id.to_string(),
            size,
        })
    }

    fn encryptor(&self) -> Result<age::Encryptor, Error> {
        age::Encryptor::with_recipients(self.recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| Error::Crypto(e.to_string()))
    }
}

/// Reads and checks `bundle.json`.
pub fn read_info(dir: &Path) -> Result<BundleInfo, Error> {
    let bj = dir.join(BUNDLE_JSON);
    let bytes = match fs::read(&bj) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotABundle(dir.to_path_buf()));
        }
        Err(e) => {
            return Err(Error::Io {
                path: bj,
                source: e,
            });
        }
    };
    let info: BundleInfo = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Invalid(format!(
            "{}: not a baram bundle description: {e}",
            bj.display()
        ))
    })?;
    if info.format != FORMAT || !fsx::is_hex(&info.bundle_id, 32) {
        return Err(Error::Invalid(format!(
            "{}: not a baram bundle description",
            bj.display()
        )));
    }
    if info.version > VERSION {
        return Err(Error::Invalid(format!(
            "{}: bundle format {} is newer than this baram knows ({VERSION}); upgrade baram",
            bj.display(),
            info.version
        )));
    }
    Ok(info)
}

/// What is in a bundle's `items/` folder.
#[derive(Debug, Default, Clone)]
pub struct ItemScan {
    /// Ids with both files: complete items, sorted.
    pub complete: Vec<String>,
    /// Ids with a data file and no record: an intake killed between renames.
    pub incomplete: Vec<String>,
    /// `*.partial` file names: an intake killed while writing.
    pub partial: Vec<String>,
    /// Any other file name (not written by baram).
    pub stray: Vec<String>,
}

/// Lists a bundle's items folder.
pub fn scan_items(items: &Path) -> Result<ItemScan, Error> {
    let mut data = std::collections::BTreeSet::new();
    let mut recs = std::collections::BTreeSet::new();
    let mut scan = ItemScan::default();
    let rd = match fs::read_dir(items) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(scan),
        Err(e) => return Err(io_err(items)(e)),
    };
    for e in rd {
        let e = e.map_err(io_err(items))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(PARTIAL_SUFFIX) {
            scan.partial.push(name);
        } else if let Some(id) = name.strip_suffix(".rec.age")
            && fsx::is_hex(id, 32)
        {
            recs.insert(id.to_string());
        } else if let Some(id) = name.strip_suffix(".age")
            && fsx::is_hex(id, 32)
        {
            data.insert(id.to_string());
        } else {
            scan.stray.push(name);
        }
    }
    for id in &data {
        if recs.contains(id) {
            scan.complete.push(id.clone());
        } else {
            scan.incomplete.push(id.clone());
        }
    }
    // A record without data cannot come from an intake (data is renamed
    // first): someone removed the data. Reported as stray.
    for id in recs.difference(&data) {
        scan.stray.push(format!("{id}.rec.age"));
    }
    scan.partial.sort();
    scan.stray.sort();
    Ok(scan)
}

/// Parses a decrypted record (trailing padding allowed).
pub fn parse_record(plain: &[u8]) -> Result<Record, String> {
    serde_json::from_slice(plain).map_err(|e| format!("the record is not valid: {e}"))
}

/// Every file under `paths` (folders recursively, in sorted order; symbolic
/// links to folders are not followed). Paths that cannot be walked are
/// returned as errors so the caller can report them and go on.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, IntakeError)>) {
    fn walk(p: &Path, files: &mut Vec<PathBuf>, bad: &mut Vec<(PathBuf, IntakeError)>) {
        match fs::symlink_metadata(p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bad.push((p.to_path_buf(), IntakeError::Vanished))
            }
            Err(e) => bad.push((p.to_path_buf(), IntakeError::Unreadable(e))),
            Ok(m) if m.is_dir() => match fs::read_dir(p) {
                Err(e) => bad.push((p.to_path_buf(), IntakeError::Unreadable(e))),
                Ok(rd) => {
                    let mut entries: Vec<PathBuf> =
                        rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    entries.sort();
                    for e in entries {
                        walk(&e, files, bad);
                    }
                }
            },
            Ok(m) if m.file_type().is_symlink() => match fs::metadata(p) {
                Ok(t) if t.is_file() => files.push(p.to_path_buf()),
                Ok(_) => bad.push((p.to_path_buf(), IntakeError::NotAFile)),
                Err(_) => bad.push((p.to_path_buf(), IntakeError::Vanished)),
            },
            Ok(m) if m.is_file() => files.push(p.to_path_buf()),
            Ok(_) => bad.push((p.to_path_buf(), IntakeError::NotAFile)),
        }
    }
    let mut files = Vec::new();
    let mut bad = Vec::new();
    for p in paths {
        walk(p, &mut files, &mut bad);
    }
    (files, bad)
}
