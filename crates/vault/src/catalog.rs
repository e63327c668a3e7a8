//! The vault's SQLite catalog. Only structure is in clear: random ids,
//! ciphertext hashes, keyed plaintext hashes, statuses. Everything that could
//! identify a person, a file or a time is in the encrypted records.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Migrations, applied in order; `PRAGMA user_version` holds how many ran.
/// Never edit a migration that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
    -- One row per distinct plaintext.
    CREATE TABLE contents (
        keyed_hash  TEXT PRIMARY KEY,   -- BLAKE3 keyed with the vault key over the plaintext's BLAKE3
        blob        TEXT NOT NULL,      -- BLAKE3 of the ciphertext in blobs/
        cipher_size INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- One row per item taken in (an item's record says who brought it and when;
    -- the same plaintext brought twice is two items sharing one content).
    CREATE TABLE items (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,  -- the random id the intake gave it
        bundle_id   TEXT NOT NULL,         -- the random id of its bundle
        keyed_hash  TEXT NOT NULL REFERENCES contents(keyed_hash),
        record_blob TEXT NOT NULL,         -- BLAKE3 of the encrypted record in blobs/
        status      TEXT NOT NULL DEFAULT 'ok'  -- ok | missing | corrupt
    );
    CREATE INDEX items_content ON items(keyed_hash);
    -- A blob being written or removed: it may exist without a row. Recovery
    -- removes such blobs. See Vault::recover.
    CREATE TABLE pending (
        blob TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    "#,
    r#"
    -- 2: processing (see process.rs). One row per processed content; its
    -- reason, type and findings are in its encrypted report derivative.
    CREATE TABLE processed (
        keyed_hash TEXT PRIMARY KEY REFERENCES contents(keyed_hash),
        status     TEXT NOT NULL,     -- processed | quarantined | unhandled
        version    INTEGER NOT NULL   -- process::PROCESS_VERSION
    ) WITHOUT ROWID;
    -- Encrypted blobs derived from a content: its report (findings), its safe
    -- image, its text.
    CREATE TABLE derivatives (
        keyed_hash  TEXT NOT NULL REFERENCES contents(keyed_hash),
        kind        TEXT NOT NULL,    -- report | safe-image | text
        blob        TEXT NOT NULL,    -- BLAKE3 of the ciphertext in blobs/
        cipher_size INTEGER NOT NULL,
        plain_keyed TEXT NOT NULL,    -- keyed BLAKE3 of the derivative's plaintext (exact dedup)
        PRIMARY KEY (keyed_hash, kind)
    ) WITHOUT ROWID;
    CREATE INDEX derivatives_blob ON derivatives(blob);
    CREATE INDEX derivatives_plain ON derivatives(plain_keyed);
    "#,
    r#"
    -- 3: triage (see triage.rs). One row per item the analyst has triaged:
    -- its status, tags, cases and notes are all in the encrypted blob (JSON,
    -- padded), never in the catalog, since tags, notes and case names can
    -- name sources and places.
    CREATE TABLE triage (
        item_id     TEXT PRIMARY KEY REFERENCES items(id),
        blob        TEXT NOT NULL,    -- BLAKE3 of the ciphertext in blobs/
        cipher_size INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX triage_blob ON triage(blob);
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
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted rows hold only non-secret structure, but overwrite them anyway.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}

pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let have: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn latest() -> u32 {
    MIGRATIONS.len() as u32
}
