//! The vault: encrypted intake and storage of material smuggled out of North
//! Korea, so that nothing at rest can betray the people who carried it.
//!
//! Two machines, two roles:
//!
//! * **Intake** (a field laptop) holds only the analyst's public recipients.
//!   [`Intake`] encrypts each file while reading it, with an encrypted record
//!   (time received, courier code, note, original name and path, size,
//!   BLAKE3), into a bundle folder meant for a USB stick ([`bundle`]). It
//!   cannot read back anything it wrote.
//! * **Vault** (the analyst's machine) holds the identity, encrypted with the
//!   analyst's passphrase, a catalog with only non-secret structure in clear,
//!   and content-addressed ciphertext:
//!
//! ```text
//! VAULT/
//!   identity.age     the X25519 identity, age-encrypted with the passphrase (scrypt), mode 0600
//!   recipient.txt    the public recipient (age1…), for intake machines
//!   catalog.sqlite   SQLite (WAL): random ids, ciphertext hashes, keyed plaintext hashes, status
//!   blobs/ab/cd/…    age files named by the BLAKE3 of their ciphertext: items and records
//!   lock             held (flock) by the one process that writes
//! ```
//!
//! # Invariants
//!
//! * **No plaintext at rest.** Files are encrypted while they are read
//!   (intake's data by [`payload`], age v1 exactly, on every core);
//!   import and check decrypt as a stream into hashers and drop the plaintext.
//!   Buffers that held plaintext are zeroized. The catalog's deduplication key
//!   is a BLAKE3 keyed with a key derived from the identity, so it does not
//!   say which known file is inside.
//! * **The catalog and store are never left inconsistent.** A blob is written
//!   to a temporary file, fsynced, marked *pending* in the catalog (committed),
//!   renamed into place; its rows and the end of the pending mark are one
//!   transaction. The next writer removes pending blobs no row refers to and
//!   leftover temporaries ([`Vault::open_writer`]). One writer at a time.
//! * **Nothing unverified is taken.** Import decrypts every item and checks
//!   the plaintext's BLAKE3 against its record before it stores anything; an
//!   item that fails is reported and not taken, the rest go on.
//! * **Analyst data is secret too.** Triage (status, tags, notes, cases) is
//!   one encrypted blob per item ([`triage`]); the catalog knows only which
//!   items have one.
//! * **An export names no source.** [`export`] writes only safe derivatives,
//!   extracted text and notes marked for export, each checked again by the
//!   sanitizer and searched for every record's courier, names, paths, times
//!   and ids; never an original, a finding, a record or triage data. It is
//!   the one plaintext baram writes on purpose, for partners.

pub mod bundle;
mod catalog;
pub mod details;
pub mod export;
mod fsx;
pub mod keys;
pub mod ocr;
pub mod payload;
pub mod process;
pub mod render;
pub mod sandbox;
pub mod search;
mod store;
pub mod triage;
pub mod video;

pub use bundle::{BundleInfo, Intake, IntakeError, IntakeOptions, Record, Taken, collect_files};
pub use keys::{Keys, fingerprint, parse_recipient, read_recipients_file};
pub use triage::{Case, Note, Triage, TriageStatus};

use age::secrecy::SecretString;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Vault errors: the vault, a bundle or the passphrase is unusable. Problems
/// with one item of a bundle are reported in [`ImportReport`] instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0}: not a baram vault (create one with `baram vault keygen`, or pass --vault / set BARAM_VAULT)"
    )]
    NotAVault(PathBuf),
    #[error(
        "{0}: not a baram intake bundle (no bundle.json; an intake stopped before it began leaves such a folder, with nothing taken)"
    )]
    NotABundle(PathBuf),
    #[error(
        "{0}: the vault already has an identity; keygen never replaces one (items encrypted to it would be lost)"
    )]
    IdentityExists(PathBuf),
    #[error("{0}: wrong passphrase (the identity could not be decrypted); try again")]
    WrongPassphrase(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("catalog: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the catalog was written by a newer baram (schema {found}, this one knows {known}); upgrade baram"
    )]
    TooNew { found: u32, known: u32 },
    #[error("encryption: {0}")]
    Crypto(String),
    #[error("{0}")]
    Invalid(String),
    #[error("item {0}: no such item in this vault (see `baram vault list`)")]
    NoSuchItem(String),
    #[error(
        "case {0:?}: no such case (see `baram vault case list`; `baram vault case add` makes one)"
    )]
    NoSuchCase(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub const IDENTITY: &str = "identity.age";
pub const RECIPIENT: &str = "recipient.txt";
const CATALOG: &str = "catalog.sqlite";
const LOCK: &str = "lock";
/// Records are small; anything larger is not a record.
const MAX_RECORD: u64 = 1 << 20;
const BUF: usize = 1 << 20;

/// Options for [`Vault::keygen`].
#[derive(Debug, Clone, Default)]
pub struct KeygenOptions {
    /// scrypt work factor (log2 N) protecting the identity. `None`: age's
    /// calibration, about one second on this machine. Tests use a small one.
    pub scrypt_log_n: Option<u8>,
}

/// What happened to one item of a bundle.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ItemOutcome {
    /// Verified and stored.
    Imported { id: String },
    /// Verified; the same plaintext is already stored (its record is kept).
    Duplicate { id: String, same_as: String },
    /// This item is in the vault already (the bundle was imported before).
    AlreadyImported { id: String },
    /// Not taken: it failed to decrypt or verify.
    Failed { id: String, reason: String },
    /// Not taken: an intake was killed while writing it (never complete).
    Incomplete { file: String },
}

/// Result of importing one bundle.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub bundle: PathBuf,
    pub bundle_id: String,
    pub items: Vec<ItemOutcome>,
    pub imported: u64,
    pub duplicate: u64,
    pub already_imported: u64,
    pub failed: u64,
    pub incomplete: u64,
    /// Files in the bundle's items folder that baram did not write.
    pub stray: Vec<String>,
}

/// One item as [`Vault::list`] shows it (decrypted in memory).
#[derive(Debug, Clone, Serialize)]
pub struct ListedItem {
    pub id: String,
    pub bundle_id: String,
    pub status: String,
    /// The earlier item with the same plaintext, if any.
    pub same_as: Option<String>,
    pub cipher_size: u64,
    /// `None` when the record could not be read (see `status`, `vault check`).
    pub record: Option<Record>,
}

/// A problem [`Vault::check`] found with one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemProblem {
    pub id: String,
    /// "record" or "content".
    pub part: &'static str,
    pub blob: String,
    /// "missing" or "corrupt".
    pub kind: &'static str,
    pub reason: String,
}

/// Result of [`Vault::check`].
#[derive(Debug, Default, Clone, Serialize)]
pub struct CheckReport {
    pub items: u64,
    pub contents: u64,
    pub blobs: u64,
    pub problems: Vec<ItemProblem>,
    /// Items an earlier repair marked missing or corrupt, still so.
    pub marked: Vec<(String, String)>,
    pub orphaned: Vec<String>,
    pub stray: Vec<PathBuf>,
    /// Pending marks left, and temporaries removed, when the vault was opened.
    pub recovered: Vec<String>,
    pub repaired: Vec<String>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.orphaned.is_empty() && self.stray.is_empty()
    }
}

/// An open vault.
pub struct Vault {
    root: PathBuf,
    conn: Connection,
    store: store::Store,
    _lock: Option<File>,
    recovered: Vec<String>,
}

impl Vault {
    /// Creates the vault at `root` (if needed) and its identity, protected by
    /// `passphrase`. Returns the public recipient (`age1…`). Refuses when the
    /// vault already has an identity.
    pub fn keygen(
        root: &Path,
        passphrase: &SecretString,
        opts: &KeygenOptions,
    ) -> Result<String, Error> {
        use age::secrecy::ExposeSecret;
        if passphrase.expose_secret().is_empty() {
            return Err(Error::Invalid(
                "the passphrase is empty; choose a long one".into(),
            ));
        }
        let idp = root.join(IDENTITY);
        if idp.exists() {
            return Err(Error::IdentityExists(idp));
        }
        fs::create_dir_all(root.join("blobs")).map_err(io_err(root))?;
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700)).map_err(io_err(root))?;
        }
        let lock = take_lock(root)?;
        if idp.exists() {
            return Err(Error::IdentityExists(idp));
        }
        let mut conn = catalog::open(&root.join(CATALOG), true)?;
        catalog::migrate(&mut conn)?;
        drop(conn);
        let id = age::x25519::Identity::generate();
        let sealed = keys::seal_identity(&id, passphrase, opts.scrypt_log_n)?;
        let recipient = id.to_public().to_string();
        let rp = root.join(RECIPIENT);
        fsx::write_atomic(&rp, format!("{recipient}\n").as_bytes(), 0o644, false)
            .map_err(io_err(&rp))?;
        // Last: the identity's rename makes the vault usable.
        fsx::write_atomic(&idp, &sealed, 0o600, false).map_err(io_err(&idp))?;
        drop(lock);
        Ok(recipient)
    }

    /// True when `root` holds a vault with an identity.
    pub fn exists(root: &Path) -> bool {
        root.join(CATALOG).is_file() && root.join(IDENTITY).is_file()
    }

    /// Opens for reading (list). Never writes, never waits for a writer.
    pub fn open(root: &Path) -> Result<Vault, Error> {
        Self::open_inner(root, false)
    }

    /// Opens for writing: takes the lock (waiting for another writer) and
    /// resolves what a killed process left pending.
    pub fn open_writer(root: &Path) -> Result<Vault, Error> {
        Self::open_inner(root, true)
    }

    fn open_inner(root: &Path, write: bool) -> Result<Vault, Error> {
        if !Self::exists(root) {
            return Err(Error::NotAVault(root.to_path_buf()));
        }
        let lock = if write { Some(take_lock(root)?) } else { None };
        let mut conn = catalog::open(&root.join(CATALOG), false)?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > catalog::latest() {
            return Err(Error::TooNew {
                found: version,
                known: catalog::latest(),
            });
        }
        if write {
            catalog::migrate(&mut conn)?;
        }
        let mut v = Vault {
            root: root.to_path_buf(),
            conn,
            store: store::Store::new(root.join("blobs")),
            _lock: lock,
            recovered: Vec::new(),
        };
        if write {
            v.recover()?;
        }
        Ok(v)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The public recipient (`age1…`) of this vault.
    pub fn recipient(&self) -> Result<String, Error> {
        let p = self.root.join(RECIPIENT);
        Ok(fs::read_to_string(&p)
            .map_err(io_err(&p))?
            .trim()
            .to_string())
    }

    /// Decrypts the identity with the passphrase.
    pub fn unlock(&self, passphrase: &SecretString) -> Result<Keys, Error> {
        unlock(&self.root, passphrase)
    }

    fn need_writer(&self) -> Result<(), Error> {
        if self._lock.is_some() {
            Ok(())
        } else {
            Err(Error::Invalid(
                "internal: this operation needs Vault::open_writer".into(),
            ))
        }
    }

    /// Removes blobs with a pending mark that no row refers to, then the
    /// marks, then leftover temporaries (in the store and beside the identity).
    fn recover(&mut self) -> Result<(), Error> {
        let pending: Vec<String> = self
            .conn
            .prepare("SELECT blob FROM pending")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for blob in pending {
            if !self.blob_referenced(&blob)? {
                self.store
                    .remove(&blob)
                    .map_err(io_err(self.store.root()))?;
            }
            self.conn
                .execute("DELETE FROM pending WHERE blob = ?1", [&blob])?;
            tracing::info!(%blob, "recovered an interrupted blob operation");
            self.recovered.push(format!("resolved pending blob {blob}"));
        }
        let n = self
            .store
            .remove_temps()
            .map_err(io_err(self.store.root()))?;
        if n > 0 {
            self.recovered.push(format!(
                "removed {n} temporary file(s) of an interrupted import"
            ));
        }
        for e in fs::read_dir(&self.root).map_err(io_err(&self.root))? {
            let e = e.map_err(io_err(&self.root))?;
            if e.file_name().to_string_lossy().starts_with(fsx::TMP_PREFIX) {
                fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
                self.recovered
                    .push("removed a temporary file of an interrupted keygen".into());
            }
        }
        // What a killed `process --no-sandbox` left on /dev/shm: the plaintext
        // its tools were working on. Not this vault's alone (the folders do not
        // say whose they are), but no live run's: those hold a lock.
        match sandbox::remove_stale_work_folders() {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(n, "removed work folders of killed unconfined runs");
                self.recovered.push(format!(
                    "removed {n} work folder(s) of a killed unconfined process run from /dev/shm"
                ));
            }
            Err(e) => tracing::warn!("/dev/shm: work folders of killed runs not removed: {e}"),
        }
        Ok(())
    }

    fn blob_referenced(&self, blob: &str) -> Result<bool, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM contents WHERE blob = ?1 UNION ALL SELECT 1 FROM items WHERE record_blob = ?1 UNION ALL SELECT 1 FROM derivatives WHERE blob = ?1 UNION ALL SELECT 1 FROM triage WHERE blob = ?1 LIMIT 1",
                [blob],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Number of items.
    pub fn count(&self) -> Result<u64, Error> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Imports one bundle: verifies every complete item (decrypts it and
    /// checks its plaintext BLAKE3 against its record) and stores the
    /// ciphertext. Items already in the vault are skipped; a plaintext
    /// already stored is kept once. `progress(done, total)` counts items.
    pub fn import(
        &mut self,
        keys: &Keys,
        bundle_dir: &Path,
        progress: &dyn Fn(u64, u64),
    ) -> Result<ImportReport, Error> {
        self.need_writer()?;
        let info = bundle::read_info(bundle_dir)?;
        let mine = keys::fingerprint(&keys.recipient());
        if !info.recipients.contains(&mine) {
            return Err(Error::Invalid(format!(
                "{}: this bundle is not encrypted to this vault's key (fingerprint {mine}); import it into the vault it was made for",
                bundle_dir.display()
            )));
        }
        let items_dir = bundle_dir.join(bundle::ITEMS);
        let scan = bundle::scan_items(&items_dir)?;
        let mut rep = ImportReport {
            bundle: bundle_dir.to_path_buf(),
            bundle_id: info.bundle_id.clone(),
            items: Vec::new(),
            imported: 0,
            duplicate: 0,
            already_imported: 0,
            failed: 0,
            incomplete: 0,
            stray: scan.stray.clone(),
        };
        for f in scan
            .partial
            .iter()
            .cloned()
            .chain(scan.incomplete.iter().map(|id| format!("{id}.age")))
        {
            rep.incomplete += 1;
            rep.items.push(ItemOutcome::Incomplete { file: f });
        }
        let total = scan.complete.len() as u64;
        for (i, id) in scan.complete.iter().enumerate() {
            progress(i as u64, total);
            let out = match self.import_item(keys, &items_dir, &info, id)? {
                Ok(o) => o,
                Err(reason) => ItemOutcome::Failed {
                    id: id.clone(),
                    reason,
                },
            };
            match &out {
                ItemOutcome::Imported { .. } => rep.imported += 1,
                ItemOutcome::Duplicate { .. } => rep.duplicate += 1,
                ItemOutcome::AlreadyImported { .. } => rep.already_imported += 1,
                ItemOutcome::Failed { .. } => rep.failed += 1,
                ItemOutcome::Incomplete { .. } => rep.incomplete += 1,
            }
            rep.items.push(out);
        }
        progress(total, total);
        Ok(rep)
    }

    /// Outer `Err`: the vault failed (stop). Inner `Err`: this item is not
    /// taken, with the reason.
    fn import_item(
        &mut self,
        keys: &Keys,
        items_dir: &Path,
        info: &BundleInfo,
        id: &str,
    ) -> Result<Result<ItemOutcome, String>, Error> {
        // 1. The record: small, read whole (it is ciphertext).
        let rec_path = items_dir.join(format!("{id}.rec.age"));
        let rec_cipher = match read_limited(&rec_path, MAX_RECORD) {
            Ok(b) => b,
            Err(e) => return Ok(Err(format!("its record cannot be read: {e}"))),
        };
        let rec_hash = blake3::hash(&rec_cipher).to_hex().to_string();
        let existing: Option<String> = self
            .conn
            .query_row("SELECT record_blob FROM items WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(h) = existing {
            return Ok(if h == rec_hash {
                Ok(ItemOutcome::AlreadyImported { id: id.into() })
            } else {
                Err("an item with this id is already in the vault with another record (tampered bundle?)".into())
            });
        }
        let record = match decrypt_record(keys, &rec_cipher, id, &info.bundle_id) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };

        // 2. The data: one streaming pass copies the ciphertext into a
        // temporary blob while decrypting it into a hasher.
        let data_path = items_dir.join(format!("{id}.age"));
        let src = match File::open(&data_path) {
            Ok(f) => f,
            Err(e) => return Ok(Err(format!("its data cannot be read: {e}"))),
        };
        let (tmp_file, tmp) = self.store.temp().map_err(io_err(self.store.root()))?;
        let cap = buf_len(&src);
        let mut tee = Tee::new(BufReader::with_capacity(BUF, src), tmp_file);
        let verified = verify_stream(keys, &mut tee, cap);
        let Tee {
            sink: tmp_file,
            hasher: cipher_hasher,
            sink_error,
            cipher_len,
            ..
        } = tee;
        if let Some(e) = sink_error {
            let _ = fs::remove_file(&tmp);
            return Err(Error::Io {
                path: tmp,
                source: e,
            });
        }
        let (plain_hash, plain_len) = match verified {
            Ok(v) => v,
            Err(reason) => {
                let _ = fs::remove_file(&tmp);
                return Ok(Err(reason));
            }
        };
        if plain_len != record.size || plain_hash.to_hex().as_str() != record.blake3 {
            let _ = fs::remove_file(&tmp);
            return Ok(Err(format!(
                "its content does not match its record (BLAKE3 {}, {} bytes; the record says {}, {} bytes): damaged or tampered",
                plain_hash.to_hex(),
                plain_len,
                record.blake3,
                record.size
            )));
        }
        let keyed = keys.keyed_hash(&plain_hash);
        let data_hash = cipher_hasher.finalize().to_hex().to_string();
        let same_as: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM items WHERE keyed_hash = ?1 ORDER BY seq LIMIT 1",
                [&keyed],
                |r| r.get(0),
            )
            .optional()?;
        let have_content: bool = self
            .conn
            .query_row(
                "SELECT 1 FROM contents WHERE keyed_hash = ?1",
                [&keyed],
                |_| Ok(()),
            )
            .optional()?
            .is_some();

        // 3. Pending marks, durably, before any blob takes its final name.
        {
            let tx = self.conn.transaction()?;
            if !have_content {
                tx.execute(
                    "INSERT OR IGNORE INTO pending(blob) VALUES (?1)",
                    [&data_hash],
                )?;
            }
            tx.execute(
                "INSERT OR IGNORE INTO pending(blob) VALUES (?1)",
                [&rec_hash],
            )?;
            tx.commit()?;
        }
        // 4. The blobs.
        let root = self.store.root().to_path_buf();
        if have_content {
            drop(tmp_file);
            fs::remove_file(&tmp).map_err(io_err(&tmp))?;
        } else {
            tmp_file.sync_all().map_err(io_err(&tmp))?;
            drop(tmp_file);
            self.store.commit(&tmp, &data_hash).map_err(io_err(&root))?;
        }
        self.store
            .put(&rec_hash, &rec_cipher)
            .map_err(io_err(&root))?;
        // 5. Rows and the end of the pending marks, in one transaction.
        let tx = self.conn.transaction()?;
        if !have_content {
            tx.execute(
                "INSERT INTO contents(keyed_hash, blob, cipher_size) VALUES (?1, ?2, ?3)",
                params![keyed, data_hash, cipher_len as i64],
            )?;
        }
        tx.execute(
            "INSERT INTO items(id, bundle_id, keyed_hash, record_blob) VALUES (?1, ?2, ?3, ?4)",
            params![id, info.bundle_id, keyed, rec_hash],
        )?;
        tx.execute(
            "DELETE FROM pending WHERE blob IN (?1, ?2)",
            params![data_hash, rec_hash],
        )?;
        tx.commit()?;
        Ok(Ok(match same_as {
            Some(s) => ItemOutcome::Duplicate {
                id: id.into(),
                same_as: s,
            },
            None => ItemOutcome::Imported { id: id.into() },
        }))
    }

    /// The search index over every item whose record reads (title: its
    /// original name; text: its extracted text, if processing made one; date:
    /// when it was received; tags, status and cases: its triage), built in
    /// memory from decrypted data (nothing is written to disk), with the items
    /// in import order: a hit's `doc_id` n is `items[n]`.
    pub fn search_index(
        &self,
        keys: &Keys,
    ) -> Result<(search::SearchIndex, Vec<ListedItem>), Error> {
        let items = self.list(keys)?;
        let mut triage = self.triage_all(keys)?;
        let mut index = search::SearchIndex::new();
        for (n, it) in items.iter().enumerate() {
            let Some(rec) = &it.record else { continue };
            let text = self.derivative(keys, &it.id, "text")?;
            let kind = self
                .process_report(keys, &it.id)?
                .and_then(|r| r.kind)
                .unwrap_or_default();
            let t = triage.remove(&it.id).unwrap_or_default();
            let mut fields = search::DocFields {
                title: rec.original_name.clone(),
                text: text
                    .as_ref()
                    .map(|t| String::from_utf8_lossy(t).into_owned())
                    .unwrap_or_default(),
                date: fsx::parse_rfc3339(&rec.received_at),
                tags: t.tags.into_iter().collect(),
                status: t.status.as_str().to_string(),
                kind,
                cases: t.cases.into_iter().collect(),
            };
            let added = index.add(n as u64, &fields);
            {
                use zeroize::Zeroize;
                fields.text.zeroize();
                fields.title.zeroize();
            }
            added.map_err(|e| Error::Invalid(format!("item {}: {e}", it.id)))?;
        }
        Ok((index, items))
    }

    /// Every item in import order, its record decrypted in memory.
    pub fn list(&self, keys: &Keys) -> Result<Vec<ListedItem>, Error> {
        let rows: Vec<(String, String, String, String, String, i64)> = self
            .conn
            .prepare(
                "SELECT i.id, i.bundle_id, i.status, i.record_blob, i.keyed_hash, c.cipher_size
                 FROM items i JOIN contents c ON c.keyed_hash = i.keyed_hash ORDER BY i.seq",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut first: std::collections::HashMap<String, String> = Default::default();
        let mut out = Vec::with_capacity(rows.len());
        for (id, bundle_id, status, rec_blob, keyed, cipher_size) in rows {
            let same_as = match first.get(&keyed) {
                Some(f) => Some(f.clone()),
                None => {
                    first.insert(keyed.clone(), id.clone());
                    None
                }
            };
            let record = read_limited(&self.store.path(&rec_blob), MAX_RECORD)
                .ok()
                .and_then(|c| decrypt_record(keys, &c, &id, &bundle_id).ok());
            out.push(ListedItem {
                id,
                bundle_id,
                status,
                same_as,
                cipher_size: cipher_size as u64,
                record,
            });
        }
        Ok(out)
    }

    /// Decrypts every blob and checks it: contents against their keyed hash
    /// and ciphertext name, records against their item. Reports orphans and
    /// stray files. With `repair`, removes orphans and strays and marks items
    /// whose blobs are missing or corrupt. `progress(done, total)` counts items.
    pub fn check(
        &mut self,
        keys: &Keys,
        repair: bool,
        progress: &dyn Fn(u64, u64),
    ) -> Result<CheckReport, Error> {
        self.need_writer()?;
        let mut rep = CheckReport {
            recovered: self.recovered.clone(),
            ..Default::default()
        };
        let items: Vec<(String, String, String, String, String)> = self
            .conn
            .prepare(
                "SELECT i.id, i.bundle_id, i.status, i.record_blob, i.keyed_hash FROM items i ORDER BY i.seq",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<Result<_, _>>()?;
        let contents: Vec<(String, String)> = self
            .conn
            .prepare("SELECT keyed_hash, blob FROM contents")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rep.items = items.len() as u64;
        rep.contents = contents.len() as u64;
        let (blobs, stray) = self.store.scan().map_err(io_err(self.store.root()))?;
        rep.blobs = blobs.len() as u64;
        rep.stray = stray;
        for e in fs::read_dir(&self.root).map_err(io_err(&self.root))? {
            let e = e.map_err(io_err(&self.root))?;
            if e.file_name().to_string_lossy().starts_with(fsx::TMP_PREFIX) {
                rep.stray.push(e.path());
            }
        }
        // Derivatives of processing (process.rs): known blobs; a missing or
        // undecryptable one is a problem of the first item of its content.
        let derivs: Vec<(String, String, String)> = self
            .conn
            .prepare(
                "SELECT d.blob, d.kind, (SELECT min(i.id) FROM items i WHERE i.keyed_hash = d.keyed_hash)
                 FROM derivatives d",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default())))?
            .collect::<Result<_, _>>()?;
        let mut known: std::collections::HashSet<&str> = Default::default();
        for (blob, kind, id) in &derivs {
            known.insert(blob);
            if let Err((k, reason)) = self.verify_derivative(keys, blob) {
                rep.problems.push(ItemProblem {
                    id: id.clone(),
                    part: "derivative",
                    blob: blob.clone(),
                    kind: k,
                    reason: format!("its {kind} derivative: {reason}"),
                });
            }
        }
        // Triage blobs (triage.rs): known; a bad one is a problem of its item.
        let triages: Vec<(String, String)> = self
            .conn
            .prepare("SELECT item_id, blob FROM triage ORDER BY item_id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, blob) in &triages {
            known.insert(blob);
            if let Err((k, reason)) = self.verify_derivative(keys, blob) {
                rep.problems.push(ItemProblem {
                    id: id.clone(),
                    part: "triage",
                    blob: blob.clone(),
                    kind: k,
                    reason: format!("its triage (status, tags, cases, notes): {reason}"),
                });
            }
        }
        // Each content once.
        let mut content_state: std::collections::HashMap<&str, (&str, Verdict)> =
            Default::default();
        for (keyed, blob) in &contents {
            known.insert(blob);
            content_state.insert(keyed, (blob, self.verify_content(keys, keyed, blob)));
        }
        let total = items.len() as u64;
        let mut bad_items: Vec<(String, &'static str)> = Vec::new();
        for (i, (id, bundle_id, status, rec_blob, keyed)) in items.iter().enumerate() {
            progress(i as u64, total);
            known.insert(rec_blob);
            let mut problems = Vec::new();
            match self.verify_record(keys, id, bundle_id, rec_blob, keyed) {
                Ok(()) => {}
                Err((kind, reason)) => problems.push(ItemProblem {
                    id: id.clone(),
                    part: "record",
                    blob: rec_blob.clone(),
                    kind,
                    reason,
                }),
            }
            if let Some((blob, Err((kind, reason)))) = content_state.get(keyed.as_str()) {
                problems.push(ItemProblem {
                    id: id.clone(),
                    part: "content",
                    blob: blob.to_string(),
                    kind,
                    reason: reason.clone(),
                });
            }
            if status != "ok" {
                if problems.is_empty() {
                    if repair {
                        self.conn
                            .execute("UPDATE items SET status = 'ok' WHERE id = ?1", [id])?;
                        rep.repaired
                            .push(format!("item {id}: its blobs are back, marked ok"));
                    } else {
                        rep.marked.push((id.clone(), status.clone()));
                    }
                } else {
                    rep.marked.push((id.clone(), status.clone()));
                }
                continue;
            }
            if let Some(p) = problems.first() {
                bad_items.push((id.clone(), p.kind));
            }
            rep.problems.extend(problems);
        }
        progress(total, total);
        rep.orphaned = blobs
            .iter()
            .filter(|b| !known.contains(b.as_str()))
            .cloned()
            .collect();
        if repair {
            for b in &rep.orphaned {
                self.store.remove(b).map_err(io_err(&self.store.path(b)))?;
                rep.repaired.push(format!("removed orphaned blob {b}"));
            }
            for p in &rep.stray {
                if p.is_dir() {
                    fs::remove_dir_all(p).map_err(io_err(p))?;
                } else {
                    fs::remove_file(p).map_err(io_err(p))?;
                }
                rep.repaired
                    .push(format!("removed stray file {}", p.display()));
            }
            for (id, kind) in &bad_items {
                self.conn
                    .execute("UPDATE items SET status = ?2 WHERE id = ?1", [id, *kind])?;
                rep.repaired.push(format!("item {id}: marked {kind}"));
            }
        }
        Ok(rep)
    }

    fn verify_content(&self, keys: &Keys, keyed: &str, blob: &str) -> Verdict {
        let f = match File::open(self.store.path(blob)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(("missing", "the blob is gone".into()));
            }
            Err(e) => return Err(("corrupt", format!("the blob cannot be read: {e}"))),
        };
        let cap = buf_len(&f);
        let mut tee = Tee::new(BufReader::with_capacity(BUF, f), io::sink());
        let (plain, _) = verify_stream(keys, &mut tee, cap).map_err(|e| ("corrupt", e))?;
        if tee.hasher.finalize().to_hex().as_str() != blob {
            return Err(("corrupt", "the ciphertext does not hash to its name".into()));
        }
        if keys.keyed_hash(&plain) != keyed {
            return Err(("corrupt", "the plaintext is not the one catalogued".into()));
        }
        Ok(())
    }

    fn verify_derivative(&self, keys: &Keys, blob: &str) -> Verdict {
        let f = match File::open(self.store.path(blob)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(("missing", "the blob is gone".into()));
            }
            Err(e) => return Err(("corrupt", format!("the blob cannot be read: {e}"))),
        };
        let cap = buf_len(&f);
        let mut tee = Tee::new(BufReader::with_capacity(BUF, f), io::sink());
        verify_stream(keys, &mut tee, cap).map_err(|e| ("corrupt", e))?;
        if tee.hasher.finalize().to_hex().as_str() != blob {
            return Err(("corrupt", "the ciphertext does not hash to its name".into()));
        }
        Ok(())
    }

    fn verify_record(
        &self,
        keys: &Keys,
        id: &str,
        bundle_id: &str,
        blob: &str,
        keyed: &str,
    ) -> Verdict {
        let c = match read_limited(&self.store.path(blob), MAX_RECORD) {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(("missing", "the record blob is gone".into()));
            }
            Err(e) => return Err(("corrupt", format!("the record cannot be read: {e}"))),
        };
        if blake3::hash(&c).to_hex().as_str() != blob {
            return Err(("corrupt", "the record does not hash to its name".into()));
        }
        let r = decrypt_record(keys, &c, id, bundle_id).map_err(|e| ("corrupt", e))?;
        let h = blake3::Hash::from_hex(&r.blake3)
            .map_err(|_| ("corrupt", "the record's BLAKE3 is malformed".to_string()))?;
        if keys.keyed_hash(&h) != keyed {
            return Err((
                "corrupt",
                "the record names another content than the catalog".into(),
            ));
        }
        Ok(())
    }
}

/// A blob's check: fine, or ("missing" | "corrupt", why).
type Verdict = Result<(), (&'static str, String)>;

/// A date or time given on the command line, as Unix seconds: `YYYY-MM-DD`
/// (the day's first second, or with `end_of_day` its last) or RFC 3339 UTC
/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time_bound(s: &str, end_of_day: bool) -> Result<i64, Error> {
    let bad = || {
        Error::Invalid(format!(
            "{s:?} is no date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"
        ))
    };
    if s.len() == 10 {
        let day = fsx::parse_rfc3339(&format!("{s}T00:00:00Z")).ok_or_else(bad)?;
        return Ok(if end_of_day { day + 86_399 } else { day });
    }
    fsx::parse_rfc3339(s).ok_or_else(bad)
}

/// Decrypts the vault's identity with the passphrase.
pub fn unlock(root: &Path, passphrase: &SecretString) -> Result<Keys, Error> {
    let p = root.join(IDENTITY);
    let sealed = match fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotAVault(root.to_path_buf()));
        }
        Err(e) => return Err(io_err(&p)(e)),
    };
    Ok(Keys::from_identity(keys::open_identity(
        &p, &sealed, passphrase,
    )?))
}

fn take_lock(root: &Path) -> Result<File, Error> {
    let p = root.join(LOCK);
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(io_err(&p))?;
    f.lock().map_err(io_err(&p))?;
    Ok(f)
}

fn read_limited(p: &Path, max: u64) -> io::Result<Vec<u8>> {
    let f = File::open(p)?;
    let mut v = Vec::new();
    f.take(max + 1).read_to_end(&mut v)?;
    if v.len() as u64 > max {
        return Err(io::Error::other("too large"));
    }
    Ok(v)
}

/// Decrypts a record in memory and checks it belongs where it was found.
fn decrypt_record(keys: &Keys, cipher: &[u8], id: &str, bundle_id: &str) -> Result<Record, String> {
    let dec = age::Decryptor::new_buffered(cipher)
        .map_err(|e| format!("its record is not an age file: {e}"))?;
    let mut r = dec
        .decrypt(std::iter::once(keys.identity() as &dyn age::Identity))
        .map_err(|e| describe_decrypt(e, "record"))?;
    let mut plain = zeroize::Zeroizing::new(Vec::new());
    r.read_to_end(&mut plain)
        .map_err(|e| format!("its record does not decrypt: {e}"))?;
    let rec = bundle::parse_record(&plain)?;
    if rec.item_id != id || rec.bundle_id != bundle_id {
        return Err("its record belongs to another item (tampered bundle?)".into());
    }
    if !fsx::is_hex(&rec.blake3, 64) {
        return Err("its record's BLAKE3 is malformed".into());
    }
    Ok(rec)
}

/// Encrypts to the vault's own recipient, in memory (reports, derivatives,
/// triage).
pub(crate) fn seal(keys: &Keys, plain: &[u8]) -> Result<Vec<u8>, Error> {
    let r = keys.recipient();
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| Error::Crypto(e.to_string()))?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut w = enc
        .wrap_output(&mut out)
        .map_err(|e| Error::Crypto(e.to_string()))?;
    w.write_all(plain)
        .map_err(|e| Error::Crypto(e.to_string()))?;
    w.finish().map_err(|e| Error::Crypto(e.to_string()))?;
    Ok(out)
}

/// Decrypts a whole age stream with the vault's identity into memory that is
/// zeroized when dropped; `what` names it in errors.
pub(crate) fn unseal<R: Read>(
    keys: &Keys,
    input: R,
    what: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let dec = age::Decryptor::new(input).map_err(|e| format!("it is not an age file: {e}"))?;
    let mut r = dec
        .decrypt(std::iter::once(keys.identity() as &dyn age::Identity))
        .map_err(|e| describe_decrypt(e, what))?;
    let mut plain = zeroize::Zeroizing::new(Vec::new());
    r.read_to_end(&mut plain)
        .map_err(|e| format!("it does not decrypt: {e} (damaged or tampered)"))?;
    Ok(plain)
}

fn describe_decrypt(e: age::DecryptError, what: &str) -> String {
    match e {
        age::DecryptError::NoMatchingKeys => {
            format!("its {what} is not encrypted to this vault's key")
        }
        e => format!("its {what} does not decrypt: {e}"),
    }
}

/// The plaintext buffer for decrypting `f`: its size (the plaintext is no
/// longer than the ciphertext), at most [`BUF`]. Zeroizing a whole [`BUF`]
/// for every small blob made `check` of a vault of small items slow.
fn buf_len(f: &File) -> usize {
    f.metadata()
        .map_or(BUF, |m| m.len().min(BUF as u64) as usize)
        .max(4096)
}

/// Decrypts an age stream into a hasher, dropping the plaintext, through a
/// buffer of `buf` bytes. Returns the plaintext's BLAKE3 and length; fails on
/// any decryption error or on bytes after the end of the age stream.
fn verify_stream<R: Read>(
    keys: &Keys,
    input: &mut R,
    buf: usize,
) -> Result<(blake3::Hash, u64), String> {
    let dec =
        age::Decryptor::new(&mut *input).map_err(|e| format!("it is not an age file: {e}"))?;
    let mut r = dec
        .decrypt(std::iter::once(keys.identity() as &dyn age::Identity))
        .map_err(|e| describe_decrypt(e, "content"))?;
    let mut h = blake3::Hasher::new();
    let mut buf = zeroize::Zeroizing::new(vec![0u8; buf]);
    let mut n_total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("it does not decrypt: {e} (damaged or tampered)")),
        };
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    drop(r);
    let mut rest = [0u8; 1];
    match input.read(&mut rest) {
        Ok(0) => {}
        Ok(_) => return Err("it has data after its end (tampered?)".into()),
        Err(e) => return Err(format!("it cannot be read: {e}")),
    }
    Ok((h.finalize(), n_total))
}

/// A reader that hashes everything read through it and copies it to a sink.
/// A sink error is kept aside (it is the vault's failure, not the item's).
struct Tee<R, W> {
    inner: R,
    sink: W,
    hasher: blake3::Hasher,
    sink_error: Option<io::Error>,
    cipher_len: u64,
}

impl<R, W> Tee<R, W> {
    fn new(inner: R, sink: W) -> Self {
        Tee {
            inner,
            sink,
            hasher: blake3::Hasher::new(),
            sink_error: None,
            cipher_len: 0,
        }
    }
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.sink_error.is_some() {
            return Err(io::Error::other("the vault could not be written"));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.cipher_len += n as u64;
        if let Err(e) = self.sink.write_all(&buf[..n]) {
            self.sink_error = Some(e);
            return Err(io::Error::other("the vault could not be written"));
        }
        Ok(n)
    }
}
