//! The SQLite catalog: schema, versioned migrations, connection settings.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Migrations, applied in order; `PRAGMA user_version` holds how many ran.
/// Never edit a migration that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: items, tags, pending blob operations, full-text index.
    r#"
    CREATE TABLE items (
        id            INTEGER PRIMARY KEY,
        hash          TEXT NOT NULL UNIQUE,   -- BLAKE3 of the stored (cleaned) bytes
        original_hash TEXT NOT NULL,          -- BLAKE3 of the bytes as given
        size          INTEGER NOT NULL,
        title         TEXT NOT NULL,
        file_name     TEXT NOT NULL,
        lang          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        format        TEXT NOT NULL,
        mime          TEXT NOT NULL,
        value         INTEGER NOT NULL,
        series        TEXT,
        episode       INTEGER,
        media         TEXT,                   -- JSON: ffprobe facts
        findings      TEXT NOT NULL,          -- JSON: sanitize report of the original
        sanitized     INTEGER NOT NULL,       -- 1 when the stored copy is the cleaned one
        status        TEXT NOT NULL DEFAULT 'ok',  -- ok | missing | corrupt
        added_at      INTEGER NOT NULL
    );
    CREATE INDEX items_kind ON items(kind);
    CREATE INDEX items_series ON items(series, episode);
    CREATE INDEX items_original ON items(original_hash);
    CREATE TABLE tags (
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        tag     TEXT NOT NULL,
        PRIMARY KEY (item_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX tags_tag ON tags(tag, item_id);
    -- A blob operation under way: the blob may exist on disk without an item
    -- (add) or an item may be gone while its blob is not (rm). Recovery finishes
    -- or undoes each one. See Library::recover.
    CREATE TABLE pending (
        hash TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    -- Trigram index over the text a curator searches. Queries shorter than three
    -- characters (common in Korean: 평양) fall back to a scan; see search().
    CREATE VIRTUAL TABLE items_fts USING fts5(
        title, file_name, series, tags,
        tokenize = 'trigram'
    );
    "#,
    // 2: an item (a video) may name another item (a text, SRT) as its
    // subtitles; drops burn them in or put them beside the video.
    r#"
    ALTER TABLE items ADD COLUMN subtitles INTEGER REFERENCES items(id) ON DELETE SET NULL;
    "#,
];

pub(crate) fn open(path: &Path, create: bool) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a committed add survives power loss, not only a process kill.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Applies the migrations that have not run yet, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<u32> {
    let have: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(MIGRATIONS.len() as u32)
}

/// The schema version this build writes.
pub(crate) fn latest() -> u32 {
    MIGRATIONS.len() as u32
}
