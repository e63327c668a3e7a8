//! The content library: baram's curated store of what goes into drops.
//!
//! A workspace is one folder:
//!
//! ```text
//! WORKSPACE/
//!   catalog.sqlite   SQLite (WAL): items, tags, full-text index, pending blob ops
//!   blobs/ab/cd/abcd…  content-addressed blobs, named by BLAKE3 of their bytes
//!   lock             held (flock) by the one process that writes
//! ```
//!
//! # Invariants
//!
//! * **The catalog and store are never left inconsistent.** Every item's blob
//!   exists and hashes to its name. Adding a file first records the blob as
//!   *pending* in the catalog, then writes the blob (temp file, fsync, rename),
//!   then in one transaction inserts the item and clears the pending mark.
//!   Removing does the reverse. A process killed at any moment leaves at most a
//!   pending mark, which the next writer resolves ([`Library::open_writer`]).
//! * **What is stored is the cleaned copy.** Unless the curator opts out per
//!   add, the blob is the output of [`baram_sanitize::clean`] and the findings
//!   of the original are kept beside it in the catalog. A file the sanitizer
//!   refuses is not added. Deduplication works on the cleaned bytes, so one photo
//!   that passed through different Red Star machines is one item.
//! * **One writer at a time**, enforced by an exclusive lock on `lock`.
//!   Readers (list, search, show) never block and never write.

mod catalog;
mod media;
mod store;

use baram_sanitize as sanitize;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use media::{MediaInfo, ffprobe_available};
pub use store::{Hash, hash_bytes};

/// Library errors: the workspace itself is unusable or an id does not exist.
/// Problems with one file being added are [`AddError`] instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: not a baram workspace (run `baram init` there first, or pass --workspace)")]
    NotAWorkspace(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("catalog: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the catalog was written by a newer baram (schema {found}, this one knows {known}); upgrade baram"
    )]
    TooNew { found: u32, known: u32 },
    #[error(
        "{path}: the catalog is from an older baram (schema {found}, this one writes {known}); upgrade it with `baram --workspace {path} init` (it keeps every item)"
    )]
    TooOld {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("no item with id {0} (see `baram library list`)")]
    NotFound(i64),
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What an item is, for planning and for the folders of a drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Video,
    Audio,
    Text,
    Image,
    Book,
    Archive,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Video,
        Kind::Audio,
        Kind::Text,
        Kind::Image,
        Kind::Book,
        Kind::Archive,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Video => "video",
            Kind::Audio => "audio",
            Kind::Text => "text",
            Kind::Image => "image",
            Kind::Book => "book",
            Kind::Archive => "archive",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown kind {s:?}: use one of video, audio, text, image, book, archive")
            })
    }
}

/// One item of the library.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: i64,
    pub hash: Hash,
    pub original_hash: Hash,
    pub size: u64,
    pub title: String,
    pub file_name: String,
    pub lang: String,
    pub kind: Kind,
    pub format: String,
    pub mime: String,
    pub value: u8,
    pub series: Option<String>,
    pub episode: Option<u32>,
    pub tags: Vec<String>,
    pub media: Option<MediaInfo>,
    /// The sanitizer's report on the original (JSON).
    pub findings: serde_json::Value,
    pub sanitized: bool,
    pub status: String,
    pub added_at: i64,
    /// The item holding this video's subtitles (an SRT text item), if any.
    pub subtitles: Option<i64>,
}

/// Options for [`Library::add_file`].
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// Title; the file name without extension when absent.
    pub title: Option<String>,
    pub lang: String,
    /// Kind; guessed from the content when absent.
    pub kind: Option<Kind>,
    pub tags: Vec<String>,
    /// The curator's priority, 1 to 100.
    pub value: u8,
    pub series: Option<String>,
    pub episode: Option<u32>,
    /// Store the cleaned copy (default). `false` stores the file as given and
    /// marks the item unsanitized; drops refuse such items.
    pub sanitize: bool,
    pub sanitize_options: sanitize::Options,
}

impl Default for AddOptions {
    fn default() -> Self {
        AddOptions {
            title: None,
            lang: "ko".into(),
            kind: None,
            tags: Vec::new(),
            value: 50,
            series: None,
            episode: None,
            sanitize: true,
            sanitize_options: sanitize::Options::default(),
        }
    }
}

impl AddOptions {
    /// Checks the options that do not depend on the file.
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=100).contains(&self.value) {
            return Err(Error::Invalid(format!(
                "--value {}: must be between 1 and 100",
                self.value
            )));
        }
        if self.episode.is_some() && self.series.is_none() {
            return Err(Error::Invalid("--episode needs --series".into()));
        }
        for t in &self.tags {
            validate_tag(t)?;
        }
        Ok(())
    }
}

fn validate_tag(t: &str) -> Result<(), Error> {
    if t.is_empty() || t.contains(',') || t.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "tag {t:?}: tags must be non-empty, without commas or control characters"
        )));
    }
    Ok(())
}

/// What happened to one added file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum AddOutcome {
    Added {
        id: i64,
        title: String,
        kind: Kind,
        /// Number of identifying things the sanitizer removed.
        findings: usize,
        /// Machines in a Red Star OS watermark, if one was found.
        redstar_blocks: Option<usize>,
    },
    /// The same (cleaned) bytes are already in the library.
    Duplicate { existing_id: i64, title: String },
}

/// Why one file was not added. The batch goes on.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("cannot read it: {0} (check the permissions)")]
    Unreadable(io::Error),
    #[error("it vanished before it could be read")]
    Vanished,
    #[error("it is empty (zero bytes); nothing to add")]
    Empty,
    #[error("not a regular file")]
    NotAFile,
    #[error(
        "unknown type{}: baram cannot clean it, so it is refused (use --no-sanitize to store it as it is; drops will refuse it)",
        .0.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
    )]
    UnknownType(Option<String>),
    #[error("{0}; the file was not added")]
    Sanitize(sanitize::Error),
    #[error("broken media: {0}")]
    BrokenMedia(String),
    #[error(transparent)]
    Library(#[from] Error),
}

impl AddError {
    /// A short reason for summaries: "empty", "unknown-type", ...
    pub fn reason(&self) -> &'static str {
        match self {
            AddError::Unreadable(_) => "unreadable",
            AddError::Vanished => "vanished",
            AddError::Empty => "empty",
            AddError::NotAFile => "not-a-file",
            AddError::UnknownType(_) => "unknown-type",
            AddError::Sanitize(sanitize::Error::Unknown) => "unknown-type",
            AddError::Sanitize(sanitize::Error::Malformed { .. }) => "malformed",
            AddError::Sanitize(_) => "cannot-clean",
            AddError::BrokenMedia(_) => "broken-media",
            AddError::Library(_) => "library-error",
        }
    }
    /// True when the whole batch must stop (the workspace itself failed).
    pub fn is_fatal(&self) -> bool {
        matches!(self, AddError::Library(_))
    }
}

/// Result of [`Library::check`].
#[derive(Debug, Default, Clone, Serialize)]
pub struct CheckReport {
    pub items: u64,
    pub blobs: u64,
    /// Items whose blob no longer hashes to its name.
    pub corrupt: Vec<(i64, Hash)>,
    /// Items whose blob is gone (and not yet marked so).
    pub missing: Vec<(i64, Hash)>,
    /// Items already marked missing or corrupt by an earlier repair.
    pub marked: Vec<(i64, String)>,
    /// Blobs no item refers to.
    pub orphaned: Vec<Hash>,
    /// Files in the store that are not blobs (leftover temporaries).
    pub stray: Vec<PathBuf>,
    /// What --repair did.
    pub repaired: Vec<String>,
}

impl CheckReport {
    /// No inconsistency left (items marked missing by a repair are known, not
    /// inconsistent).
    pub fn is_clean(&self) -> bool {
        self.corrupt.is_empty()
            && self.missing.is_empty()
            && self.orphaned.is_empty()
            && self.stray.is_empty()
    }
}

/// Filters for [`Library::list`].
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub kind: Option<Kind>,
    pub tag: Option<String>,
    pub limit: Option<u32>,
    pub offset: u32,
}

/// An open workspace.
pub struct Library {
    root: PathBuf,
    conn: Connection,
    store: store::Store,
    /// Held while this handle may write.
    _lock: Option<File>,
}

const CATALOG: &str = "catalog.sqlite";
const LOCK: &str = "lock";

impl Library {
    /// Creates a workspace (or opens an existing one) at `root`.
    pub fn init(root: &Path) -> Result<Library, Error> {
        fs::create_dir_all(root.join("blobs")).map_err(io_err(root))?;
        let mut conn = catalog::open(&root.join(CATALOG), true)?;
        catalog::migrate(&mut conn)?;
        drop(conn);
        Library::open_writer(root)
    }

    /// True when `root` holds a workspace.
    pub fn exists(root: &Path) -> bool {
        root.join(CATALOG).is_file()
    }

    /// Opens for reading. Never writes, never waits for a writer.
    pub fn open(root: &Path) -> Result<Library, Error> {
        Self::open_inner(root, false)
    }

    /// Opens for writing: takes the workspace lock (waiting for another writer
    /// to finish), applies migrations and resolves operations a killed process
    /// left pending.
    pub fn open_writer(root: &Path) -> Result<Library, Error> {
        Self::open_inner(root, true)
    }

    fn open_inner(root: &Path, write: bool) -> Result<Library, Error> {
        if !Self::exists(root) {
            return Err(Error::NotAWorkspace(root.to_path_buf()));
        }
        let lock = if write {
            let p = root.join(LOCK);
            let f = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
                .map_err(io_err(&p))?;
            f.lock().map_err(io_err(&p))?;
            Some(f)
        } else {
            None
        };
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
        } else if version < catalog::latest() {
            return Err(Error::TooOld {
                path: root.to_path_buf(),
                found: version,
                known: catalog::latest(),
            });
        }
        let lib = Library {
            root: root.to_path_buf(),
            conn,
            store: store::Store::new(root.join("blobs")),
            _lock: lock,
        };
        if write {
            lib.recover()?;
        }
        Ok(lib)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob of an item lives on disk.
    pub fn blob_path(&self, hash: &str) -> PathBuf {
        self.store.path(hash)
    }

    /// Reads an item's stored bytes.
    pub fn read_blob(&self, hash: &str) -> Result<Vec<u8>, Error> {
        let p = self.store.path(hash);
        fs::read(&p).map_err(io_err(&p))
    }

    fn is_writer(&self) -> bool {
        self._lock.is_some()
    }

    fn need_writer(&self) -> Result<(), Error> {
        if self.is_writer() {
            Ok(())
        } else {
            Err(Error::Invalid(
                "internal: this operation needs Library::open_writer".into(),
            ))
        }
    }

    /// Resolves blob operations a killed process left half done: a blob with a
    /// pending mark and no item is removed (the add never committed, or the rm
    /// did); leftover temporary files beside it go too.
    fn recover(&self) -> Result<(), Error> {
        let pending: Vec<String> = self
            .conn
            .prepare("SELECT hash FROM pending")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for hash in pending {
            let has_item: bool = self
                .conn
                .query_row("SELECT 1 FROM items WHERE hash = ?1", [&hash], |_| Ok(()))
                .optional()?
                .is_some();
            if !has_item {
                self.store
                    .remove(&hash)
                    .map_err(io_err(self.store.root()))?;
            } else {
                self.store
                    .remove_temps_for(&hash)
                    .map_err(io_err(self.store.root()))?;
            }
            self.conn
                .execute("DELETE FROM pending WHERE hash = ?1", [&hash])?;
            tracing::info!(%hash, "recovered an interrupted blob operation");
        }
        Ok(())
    }

    /// Adds one file. `Err` with [`AddError::is_fatal`] false means this file
    /// was refused and the batch may go on.
    pub fn add_file(&mut self, path: &Path, opts: &AddOptions) -> Result<AddOutcome, AddError> {
        self.need_writer()?;
        opts.validate()?;
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(AddError::Vanished),
            Err(e) => return Err(AddError::Unreadable(e)),
        };
        if !meta.is_file() {
            return Err(AddError::NotAFile);
        }
        let original = match fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(AddError::Vanished),
            Err(e) => return Err(AddError::Unreadable(e)),
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        self.add_bytes(&original, &file_name, opts)
    }

    /// Adds bytes under a file name (the name gives the default title).
    pub fn add_bytes(
        &mut self,
        original: &[u8],
        file_name: &str,
        opts: &AddOptions,
    ) -> Result<AddOutcome, AddError> {
        self.need_writer()?;
        opts.validate()?;
        if original.is_empty() {
            return Err(AddError::Empty);
        }
        let original_hash = hash_bytes(original);
        let format = sanitize::detect(original);
        let (stored, report, sanitized): (std::borrow::Cow<[u8]>, serde_json::Value, bool) =
            if opts.sanitize {
                if format.is_none() {
                    return Err(AddError::UnknownType(
                        infer::get(original).map(|t| t.mime_type().to_string()),
                    ));
                }
                let c = sanitize::clean(original, &opts.sanitize_options)
                    .map_err(AddError::Sanitize)?;
                let rep = serde_json::to_value(&c.report).expect("report serialises");
                (c.data.into(), rep, true)
            } else {
                let rep = match sanitize::inspect(original) {
                    Ok(r) => serde_json::to_value(&r).expect("report serialises"),
                    Err(e) => serde_json::json!({ "error": e.to_string() }),
                };
                (original.into(), rep, false)
            };
        // The findings keep the original's hash: the stored copy is the
        // cleaned one, and two originals that differ only in what was removed
        // (say, two Red Star chains) are one item.
        let mut report = report;
        if let Some(obj) = report.as_object_mut() {
            obj.insert("original_hash".into(), original_hash.clone().into());
        }
        let redstar_blocks = report
            .get("redstar")
            .and_then(|r| r.get("blocks"))
            .and_then(|b| b.as_u64())
            .map(|b| b as usize);
        let findings = report
            .get("findings")
            .and_then(|f| f.as_array())
            .map_or(0, |a| a.len());
        let hash = hash_bytes(&stored);
        if let Some((id, title)) = self
            .conn
            .query_row(
                "SELECT id, title FROM items WHERE hash = ?1",
                [&hash],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(Error::from)?
        {
            return Ok(AddOutcome::Duplicate {
                existing_id: id,
                title,
            });
        }
        let mime = format
            .map(mime_of)
            .map(str::to_string)
            .or_else(|| infer::get(original).map(|t| t.mime_type().to_string()))
            .unwrap_or_else(|| "application/octet-stream".into());
        let format_name = format.map_or("unknown".to_string(), |f| f.extension().to_string());

        // 1. Mark the blob pending, durably, before it touches the disk.
        self.conn
            .execute("INSERT OR IGNORE INTO pending(hash) VALUES (?1)", [&hash])
            .map_err(Error::from)?;
        // 2. Write the blob atomically.
        if let Err(e) = self.store.put(&hash, &stored) {
            let _ = self.store.remove(&hash);
            let _ = self
                .conn
                .execute("DELETE FROM pending WHERE hash = ?1", [&hash]);
            return Err(Error::Io {
                path: self.store.path(&hash),
                source: e,
            }
            .into());
        }
        // 3. Media facts from the stored copy.
        let guessed = guess_kind(format, file_name);
        let media = if matches!(guessed, Kind::Video | Kind::Audio) {
            match media::probe(&self.store.path(&hash)) {
                Ok(m) => m,
                Err(msg) => {
                    self.undo_pending(&hash)?;
                    return Err(AddError::BrokenMedia(msg));
                }
            }
        } else {
            None
        };
        let kind = opts.kind.unwrap_or_else(|| match (&media, guessed) {
            (Some(m), Kind::Video) if m.width.is_none() => Kind::Audio,
            _ => guessed,
        });
        let title = opts.title.clone().unwrap_or_else(|| {
            Path::new(file_name)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| file_name.to_string())
        });
        let media_json = media
            .as_ref()
            .map(|m| serde_json::to_string(m).expect("media serialises"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        // 4. The item, its tags and its index entry, and the end of the pending
        //    mark, in one transaction.
        let tx = self.conn.transaction().map_err(Error::from)?;
        let row = NewRow {
            hash: &hash,
            original_hash: &original_hash,
            size: stored.len() as u64,
            title: &title,
            file_name,
            lang: &opts.lang,
            kind,
            format: &format_name,
            mime: &mime,
            value: opts.value,
            series: opts.series.as_deref(),
            episode: opts.episode,
            media: media_json.as_deref(),
            findings: &report.to_string(),
            sanitized,
            added_at: now,
            tags: &opts.tags,
        };
        let id = insert_row(&tx, &row)?;
        tx.execute("DELETE FROM pending WHERE hash = ?1", [&hash])
            .map_err(Error::from)?;
        tx.commit().map_err(Error::from)?;
        Ok(AddOutcome::Added {
            id,
            title,
            kind,
            findings,
            redstar_blocks,
        })
    }

    /// Removes a blob whose add did not complete, then its pending mark.
    fn undo_pending(&self, hash: &str) -> Result<(), Error> {
        self.store
            .remove(hash)
            .map_err(io_err(&self.store.path(hash)))?;
        self.conn
            .execute("DELETE FROM pending WHERE hash = ?1", [hash])?;
        Ok(())
    }

    const ITEM_COLUMNS: &'static str = "id, hash, original_hash, size, title, file_name, lang, kind, format, mime, value,
         series, episode, media, findings, sanitized, status, added_at,
         (SELECT group_concat(tag, ',') FROM (SELECT tag FROM tags WHERE item_id = items.id ORDER BY tag)),
         subtitles";

    fn row_to_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
        let kind: String = r.get(7)?;
        let media: Option<String> = r.get(13)?;
        let findings: String = r.get(14)?;
        let tags: Option<String> = r.get(18)?;
        Ok(Item {
            id: r.get(0)?,
            hash: r.get(1)?,
            original_hash: r.get(2)?,
            size: r.get::<_, i64>(3)? as u64,
            title: r.get(4)?,
            file_name: r.get(5)?,
            lang: r.get(6)?,
            kind: kind.parse().unwrap_or(Kind::Archive),
            format: r.get(8)?,
            mime: r.get(9)?,
            value: r.get::<_, i64>(10)?.clamp(1, 100) as u8,
            series: r.get(11)?,
            episode: r.get::<_, Option<i64>>(12)?.map(|e| e as u32),
            tags: tags
                .map(|t| t.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            media: media.and_then(|m| serde_json::from_str(&m).ok()),
            findings: serde_json::from_str(&findings).unwrap_or(serde_json::Value::Null),
            sanitized: r.get(15)?,
            status: r.get(16)?,
            added_at: r.get(17)?,
            subtitles: r.get(19)?,
        })
    }

    /// Names item `subtitles` (a text item: SRT) as the subtitles of item
    /// `video` (a video), or clears the link with `None`.
    pub fn set_subtitles(&mut self, video: i64, subtitles: Option<i64>) -> Result<Item, Error> {
        self.need_writer()?;
        let v = self.get(video)?;
        if v.kind != Kind::Video {
            return Err(Error::Invalid(format!(
                "item {video} is {}, not a video: only videos take subtitles",
                v.kind
            )));
        }
        if let Some(s) = subtitles {
            let t = self.get(s)?;
            if t.kind != Kind::Text {
                return Err(Error::Invalid(format!(
                    "item {s} is {}, not a text: subtitles are an SRT file added as text",
                    t.kind
                )));
            }
        }
        self.conn.execute(
            "UPDATE items SET subtitles = ?2 WHERE id = ?1",
            rusqlite::params![video, subtitles],
        )?;
        self.get(video)
    }

    /// One item by id.
    pub fn get(&self, id: i64) -> Result<Item, Error> {
        let sql = format!("SELECT {} FROM items WHERE id = ?1", Self::ITEM_COLUMNS);
        self.conn
            .query_row(&sql, [id], Self::row_to_item)
            .optional()?
            .ok_or(Error::NotFound(id))
    }

    /// Number of items.
    pub fn count(&self) -> Result<u64, Error> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Items in id order, filtered.
    pub fn list(&self, q: &ListQuery) -> Result<Vec<Item>, Error> {
        let mut sql = format!("SELECT {} FROM items WHERE 1", Self::ITEM_COLUMNS);
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(k) = q.kind {
            sql.push_str(" AND kind = ?");
            args.push(k.as_str().to_string().into());
        }
        if let Some(t) = &q.tag {
            sql.push_str(" AND id IN (SELECT item_id FROM tags WHERE tag = ?)");
            args.push(t.clone().into());
        }
        sql.push_str(" ORDER BY id LIMIT ? OFFSET ?");
        args.push(q.limit.map_or(-1, i64::from).into());
        args.push(i64::from(q.offset).into());
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), Self::row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items whose title, file name, series or tags contain every word of
    /// `text` (case-insensitive for Latin letters; Hangul as written).
    pub fn search(&self, text: &str, limit: u32) -> Result<Vec<Item>, Error> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.is_empty() {
            return Err(Error::Invalid("search: give some text to look for".into()));
        }
        // Words of three or more characters use the trigram index; shorter
        // ones are matched by LIKE over the same columns.
        let long: Vec<String> = words
            .iter()
            .filter(|w| w.chars().count() >= 3)
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect();
        let short: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| w.chars().count() < 3)
            .collect();
        let mut sql = String::from("SELECT rowid FROM items_fts WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if !long.is_empty() {
            sql.push_str(" AND items_fts MATCH ?");
            args.push(long.join(" AND ").into());
        }
        for w in short {
            let pat = format!(
                "%{}%",
                w.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            sql.push_str(
                " AND (title LIKE ? ESCAPE '\\' OR file_name LIKE ? ESCAPE '\\' \
                 OR series LIKE ? ESCAPE '\\' OR tags LIKE ? ESCAPE '\\')",
            );
            for _ in 0..4 {
                args.push(pat.clone().into());
            }
        }
        sql.push_str(" ORDER BY rowid LIMIT ?");
        args.push(i64::from(limit).into());
        let ids: Vec<i64> = self
            .conn
            .prepare(&sql)?
            .query_map(rusqlite::params_from_iter(args), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.get(id)).collect()
    }

    /// Adds and removes tags of an item.
    pub fn tag(&mut self, id: i64, add: &[String], remove: &[String]) -> Result<Item, Error> {
        self.need_writer()?;
        for t in add {
            validate_tag(t)?;
        }
        self.get(id)?;
        let tx = self.conn.transaction()?;
        for t in add {
            tx.execute(
                "INSERT OR IGNORE INTO tags(item_id, tag) VALUES (?1, ?2)",
                params![id, t],
            )?;
        }
        for t in remove {
            tx.execute(
                "DELETE FROM tags WHERE item_id = ?1 AND tag = ?2",
                params![id, t],
            )?;
        }
        let tags: String = tx.query_row(
            "SELECT coalesce(group_concat(tag, ' '), '') FROM (SELECT tag FROM tags WHERE item_id = ?1 ORDER BY tag)",
            [id],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE items_fts SET tags = ?2 WHERE rowid = ?1",
            params![id, tags],
        )?;
        tx.commit()?;
        self.get(id)
    }

    /// Removes an item and its blob.
    pub fn remove(&mut self, id: i64) -> Result<Item, Error> {
        self.need_writer()?;
        let item = self.get(id)?;
        // Item gone and blob marked pending in one transaction; then the blob.
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO pending(hash) VALUES (?1)",
            [&item.hash],
        )?;
        tx.execute("DELETE FROM items_fts WHERE rowid = ?1", [id])?;
        tx.execute("DELETE FROM items WHERE id = ?1", [id])?;
        tx.commit()?;
        self.undo_pending(&item.hash)?;
        Ok(item)
    }

    /// Re-hashes every blob; reports corrupt, missing and orphaned blobs. With
    /// `repair`, removes orphans and stray files and marks items whose blob is
    /// gone or corrupt. `progress` is called once per blob checked.
    pub fn check(
        &mut self,
        repair: bool,
        progress: &dyn Fn(u64, u64),
    ) -> Result<CheckReport, Error> {
        self.need_writer()?;
        let mut rep = CheckReport::default();
        let items: Vec<(i64, String, String)> = self
            .conn
            .prepare("SELECT id, hash, status FROM items ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        rep.items = items.len() as u64;
        let (blobs, stray) = self.store.scan().map_err(io_err(self.store.root()))?;
        rep.blobs = blobs.len() as u64;
        rep.stray = stray;
        let known: std::collections::HashSet<&str> =
            items.iter().map(|(_, h, _)| h.as_str()).collect();
        let on_disk: std::collections::HashSet<&str> = blobs.iter().map(String::as_str).collect();
        let total = items.len() as u64;
        for (i, (id, hash, status)) in items.iter().enumerate() {
            progress(i as u64 + 1, total);
            if status != "ok" {
                if on_disk.contains(hash.as_str())
                    && self.store.rehash(hash).ok().as_deref() == Some(hash.as_str())
                {
                    // The blob came back (restored from a backup): heal.
                    if repair {
                        self.conn
                            .execute("UPDATE items SET status = 'ok' WHERE id = ?1", [id])?;
                        rep.repaired
                            .push(format!("item {id}: blob is back, marked ok"));
                    }
                } else {
                    rep.marked.push((*id, status.clone()));
                }
                continue;
            }
            if !on_disk.contains(hash.as_str()) {
                rep.missing.push((*id, hash.clone()));
                continue;
            }
            match self.store.rehash(hash) {
                Ok(h) if &h == hash => {}
                _ => rep.corrupt.push((*id, hash.clone())),
            }
        }
        rep.orphaned = blobs
            .iter()
            .filter(|h| !known.contains(h.as_str()))
            .cloned()
            .collect();
        if repair {
            for h in &rep.orphaned {
                self.store.remove(h).map_err(io_err(&self.store.path(h)))?;
                rep.repaired.push(format!("removed orphaned blob {h}"));
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
            for (id, _) in &rep.missing {
                self.conn
                    .execute("UPDATE items SET status = 'missing' WHERE id = ?1", [id])?;
                rep.repaired.push(format!("item {id}: marked missing"));
            }
            for (id, _) in &rep.corrupt {
                self.conn
                    .execute("UPDATE items SET status = 'corrupt' WHERE id = ?1", [id])?;
                rep.repaired.push(format!("item {id}: marked corrupt"));
            }
        }
        Ok(rep)
    }
}

/// One catalog row, as [`Library::add_bytes`] writes it.
struct NewRow<'a> {
    hash: &'a str,
    original_hash: &'a str,
    size: u64,
    title: &'a str,
    file_name: &'a str,
    lang: &'a str,
    kind: Kind,
    format: &'a str,
    mime: &'a str,
    value: u8,
    series: Option<&'a str>,
    episode: Option<u32>,
    media: Option<&'a str>,
    findings: &'a str,
    sanitized: bool,
    added_at: i64,
    tags: &'a [String],
}

/// Inserts an item, its tags and its search-index entry inside `tx`.
fn insert_row(tx: &rusqlite::Transaction<'_>, r: &NewRow<'_>) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO items (hash, original_hash, size, title, file_name, lang, kind, format, mime,
            value, series, episode, media, findings, sanitized, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            r.hash,
            r.original_hash,
            r.size as i64,
            r.title,
            r.file_name,
            r.lang,
            r.kind.as_str(),
            r.format,
            r.mime,
            r.value,
            r.series,
            r.episode,
            r.media,
            r.findings,
            r.sanitized,
            r.added_at
        ],
    )?;
    let id = tx.last_insert_rowid();
    let mut tags = r.tags.to_vec();
    tags.sort();
    tags.dedup();
    for t in &tags {
        tx.execute(
            "INSERT OR IGNORE INTO tags(item_id, tag) VALUES (?1, ?2)",
            params![id, t],
        )?;
    }
    tx.execute(
        "INSERT INTO items_fts(rowid, title, file_name, series, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, r.title, r.file_name, r.series, tags.join(" ")],
    )?;
    Ok(id)
}

/// A catalog row for [`Library::bench_fill`].
#[doc(hidden)]
pub struct BenchRow {
    pub title: String,
    pub file_name: String,
    pub kind: Kind,
    pub series: Option<String>,
    pub episode: Option<u32>,
    pub tags: Vec<String>,
    pub value: u8,
}

impl Library {
    /// Fills the catalog with rows written exactly as `add` writes them, in
    /// one transaction and without blobs. Only for the catalog benchmark
    /// (bench/catalog.sh): a workspace filled so fails `library check`.
    #[doc(hidden)]
    pub fn bench_fill(&mut self, rows: impl IntoIterator<Item = BenchRow>) -> Result<u64, Error> {
        self.need_writer()?;
        let tx = self.conn.transaction()?;
        let mut n = 0u64;
        for r in rows {
            let hash = hash_bytes(format!("bench {n} {}", r.title).as_bytes());
            insert_row(
                &tx,
                &NewRow {
                    hash: &hash,
                    original_hash: &hash,
                    size: 1000 + n,
                    title: &r.title,
                    file_name: &r.file_name,
                    lang: "ko",
                    kind: r.kind,
                    format: "txt",
                    mime: "text/plain",
                    value: r.value,
                    series: r.series.as_deref(),
                    episode: r.episode,
                    media: None,
                    findings: "{}",
                    sanitized: true,
                    added_at: 0,
                    tags: &r.tags,
                },
            )?;
            n += 1;
        }
        tx.commit()?;
        Ok(n)
    }
}

/// The MIME type of a sanitizer format.
pub fn mime_of(f: sanitize::Format) -> &'static str {
    use sanitize::Format as F;
    match f {
        F::Jpeg => "image/jpeg",
        F::Png => "image/png",
        F::Gif => "image/gif",
        F::Webp => "image/webp",
        F::Mp3 => "audio/mpeg",
        F::Mp4 => "video/mp4",
        F::Avi => "video/x-msvideo",
        F::Mkv => "video/x-matroska",
        F::Pdf => "application/pdf",
        F::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        F::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        F::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        F::Odt => "application/vnd.oasis.opendocument.text",
        F::Ods => "application/vnd.oasis.opendocument.spreadsheet",
        F::Odp => "application/vnd.oasis.opendocument.presentation",
        F::Text => "text/plain",
    }
}

/// Guesses the kind from content (and, for MP4 audio, the name).
pub fn guess_kind(f: Option<sanitize::Format>, file_name: &str) -> Kind {
    use sanitize::Format as F;
    let ext = Path::new(file_name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match f {
        Some(F::Jpeg | F::Png | F::Gif | F::Webp) => Kind::Image,
        Some(F::Mp3) => Kind::Audio,
        Some(F::Mp4) if matches!(ext.as_str(), "m4a" | "m4b" | "aac") => Kind::Audio,
        Some(F::Mp4 | F::Avi | F::Mkv) => Kind::Video,
        Some(F::Pdf) => Kind::Book,
        Some(F::Docx | F::Xlsx | F::Pptx | F::Odt | F::Ods | F::Odp | F::Text) => Kind::Text,
        None => Kind::Archive,
    }
}

/// Every file under `paths` (folders recursively, in sorted order; symbolic
/// links to folders are not followed). Paths that do not exist are returned as
/// errors so the caller can report them and go on.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, AddError)>) {
    let mut files = Vec::new();
    let mut bad = Vec::new();
    fn walk(p: &Path, files: &mut Vec<PathBuf>, bad: &mut Vec<(PathBuf, AddError)>) {
        match fs::symlink_metadata(p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bad.push((p.to_path_buf(), AddError::Vanished))
            }
            Err(e) => bad.push((p.to_path_buf(), AddError::Unreadable(e))),
            Ok(m) if m.is_dir() => match fs::read_dir(p) {
                Err(e) => bad.push((p.to_path_buf(), AddError::Unreadable(e))),
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
                Ok(_) => bad.push((p.to_path_buf(), AddError::NotAFile)),
                Err(_) => bad.push((p.to_path_buf(), AddError::Vanished)),
            },
            Ok(m) if m.is_file() => files.push(p.to_path_buf()),
            Ok(_) => bad.push((p.to_path_buf(), AddError::NotAFile)),
        }
    }
    for p in paths {
        walk(p, &mut files, &mut bad);
    }
    (files, bad)
}
