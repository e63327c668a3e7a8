//! Triage: the analyst's status, tags, cases and notes of each item.
//!
//! All of it is analyst data that can name a source or a place (a tag
//! `혜산 courier`, a case `Hyesan border post`, a note), so none of it is in
//! the catalog in clear. Each triaged item has one *triage blob*: JSON, padded
//! with spaces to a multiple of [`PAD`] bytes (so its length says little about
//! how much was written) and age-encrypted to the vault's recipient like every
//! other blob. The catalog's `triage` table (migration 3) holds only the item
//! id, the blob's ciphertext hash and its size. An item without a row is
//! `new`, with no tags, cases or notes.
//!
//! A case is a name shared by the items that belong to it: case membership is
//! kept in each member's triage blob, and [`Vault::cases`] gathers it from all
//! of them after decrypting them in memory.
//!
//! # Crash safety
//!
//! An update encrypts the new blobs in memory, marks them pending (committed),
//! writes them (temp, fsync, rename), then in one transaction points the rows
//! at them, ends their pending marks and marks the replaced blobs pending; the
//! replaced blobs are then removed and their marks ended. A kill at any point
//! leaves every item with either its old or its new triage (all items of one
//! `case add` together), and the next writer removes what no row refers to.

use crate::{Error, Keys, Vault, io_err};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Triage blobs are padded with spaces to a multiple of this many bytes.
pub const PAD: usize = 4096;
/// Most characters of a tag or case name.
pub const MAX_LABEL: usize = 100;
/// Most bytes of one note.
pub const MAX_NOTE: usize = 16 * 1024;
/// Version of the triage JSON.
pub const TRIAGE_VERSION: u32 = 1;

/// Where an item is in the analyst's work.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TriageStatus {
    #[default]
    New,
    Reviewed,
    Verified,
    Published,
    Rejected,
}

impl TriageStatus {
    pub const ALL: [TriageStatus; 5] = [
        TriageStatus::New,
        TriageStatus::Reviewed,
        TriageStatus::Verified,
        TriageStatus::Published,
        TriageStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriageStatus::New => "new",
            TriageStatus::Reviewed => "reviewed",
            TriageStatus::Verified => "verified",
            TriageStatus::Published => "published",
            TriageStatus::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for TriageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TriageStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        TriageStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{s:?} is no triage status; use one of new, reviewed, verified, published, rejected"
                ))
            })
    }
}

/// One note of the analyst's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    /// Goes into exports of the item's cases (default: no).
    pub export: bool,
    /// When it was written (UTC, RFC 3339). Never exported.
    pub added_at: String,
}

/// Everything the analyst decided about one item. Analyst-only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    #[serde(default)]
    pub status: TriageStatus,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    #[serde(default)]
    pub cases: BTreeSet<String>,
    #[serde(default)]
    pub notes: Vec<Note>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    item_id: String,
    #[serde(flatten)]
    triage: Triage,
}

/// A case and its items (import order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub name: String,
    pub items: Vec<String>,
}

/// A tag or case name as stored: NFC, trimmed, 1 to [`MAX_LABEL`] characters,
/// no control characters. `what` names it in the error ("tag", "case name").
pub fn normalize_label(s: &str, what: &str) -> Result<String, Error> {
    let n: String = s.trim().nfc().collect();
    if n.is_empty() {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    if n.chars().count() > MAX_LABEL {
        return Err(Error::Invalid(format!(
            "the {what} {n:?} is longer than {MAX_LABEL} characters"
        )));
    }
    if n.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "the {what} {n:?} holds a control character"
        )));
    }
    Ok(n)
}

fn check_note(text: &str) -> Result<String, Error> {
    let n: String = text.nfc().collect();
    if n.trim().is_empty() {
        return Err(Error::Invalid("the note is empty".into()));
    }
    if n.len() > MAX_NOTE {
        return Err(Error::Invalid(format!(
            "the note is longer than {MAX_NOTE} bytes"
        )));
    }
    if let Some(c) = n
        .chars()
        .find(|&c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(Error::Invalid(format!(
            "the note holds the control character U+{:04X} (only line breaks and tabs are allowed)",
            c as u32
        )));
    }
    Ok(n)
}

impl Vault {
    /// The full id of an item from its id or a unique prefix of it (at least
    /// 4 hex digits).
    pub fn resolve_item(&self, id: &str) -> Result<String, Error> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 4 || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::NoSuchItem(id));
        }
        let mut hits: Vec<String> = self
            .conn
            .prepare("SELECT id FROM items WHERE substr(id, 1, ?2) = ?1 ORDER BY id LIMIT 2")?
            .query_map(params![id, id.len() as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match hits.len() {
            1 => Ok(hits.remove(0)),
            0 => Err(Error::NoSuchItem(id)),
            _ => Err(Error::Invalid(format!(
                "item {id}: more than one item starts so (give more of the id; see `baram vault list`)"
            ))),
        }
    }

    /// The triage of an item (`new` and empty when never triaged).
    pub fn triage(&self, keys: &Keys, item_id: &str) -> Result<Triage, Error> {
        let id = self.resolve_item(item_id)?;
        let blob: Option<String> = self
            .conn
            .query_row("SELECT blob FROM triage WHERE item_id = ?1", [&id], |r| {
                r.get(0)
            })
            .optional()?;
        match blob {
            None => Ok(Triage::default()),
            Some(b) => self.read_triage(keys, &id, &b),
        }
    }

    /// The triage of every triaged item, by item id, decrypted in memory.
    pub fn triage_all(&self, keys: &Keys) -> Result<HashMap<String, Triage>, Error> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare("SELECT item_id, blob FROM triage")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut out = HashMap::with_capacity(rows.len());
        for (id, blob) in rows {
            let t = self.read_triage(keys, &id, &blob)?;
            out.insert(id, t);
        }
        Ok(out)
    }

    fn read_triage(&self, keys: &Keys, id: &str, blob: &str) -> Result<Triage, Error> {
        let p = self.store.path(blob);
        let cipher = crate::read_limited(&p, crate::MAX_RECORD).map_err(io_err(&p))?;
        let plain = crate::unseal(keys, cipher.as_slice(), "triage")
            .map_err(|e| Error::Crypto(format!("item {id}: its triage: {e}")))?;
        let s: Stored = serde_json::from_slice(&plain)
            .map_err(|e| Error::Invalid(format!("item {id}: its triage is damaged: {e}")))?;
        if s.item_id != id {
            return Err(Error::Invalid(format!(
                "item {id}: its triage belongs to another item (tampered vault?)"
            )));
        }
        Ok(s.triage)
    }

    /// Sets an item's triage status.
    pub fn set_status(
        &mut self,
        keys: &Keys,
        item_id: &str,
        status: TriageStatus,
    ) -> Result<Triage, Error> {
        self.modify(keys, item_id, |t| {
            t.status = status;
            Ok(())
        })
    }

    /// Adds tags to an item, or removes them with `remove`.
    pub fn tag(
        &mut self,
        keys: &Keys,
        item_id: &str,
        tags: &[String],
        remove: bool,
    ) -> Result<Triage, Error> {
        let tags: Vec<String> = tags
            .iter()
            .map(|t| normalize_label(t, "tag"))
            .collect::<Result<_, _>>()?;
        if tags.is_empty() {
            return Err(Error::Invalid("no tag given".into()));
        }
        self.modify(keys, item_id, |t| {
            for tag in tags {
                if remove {
                    t.tags.remove(&tag);
                } else {
                    t.tags.insert(tag);
                }
            }
            Ok(())
        })
    }

    /// Adds a note to an item; `export`: it goes into exports of its cases.
    pub fn add_note(
        &mut self,
        keys: &Keys,
        item_id: &str,
        text: &str,
        export: bool,
    ) -> Result<Triage, Error> {
        let text = check_note(text)?;
        self.modify(keys, item_id, |t| {
            t.notes.push(Note {
                text,
                export,
                added_at: crate::fsx::utc_now_rfc3339(),
            });
            Ok(())
        })
    }

    /// Puts items into a case (made by its first item), all in one
    /// transaction.
    pub fn case_add(&mut self, keys: &Keys, name: &str, item_ids: &[String]) -> Result<(), Error> {
        let name = normalize_label(name, "case name")?;
        self.case_change(keys, &name, item_ids, true)
    }

    /// Takes items out of a case (a case with no item left is gone).
    pub fn case_remove(
        &mut self,
        keys: &Keys,
        name: &str,
        item_ids: &[String],
    ) -> Result<(), Error> {
        let name = normalize_label(name, "case name")?;
        self.case_change(keys, &name, item_ids, false)
    }

    fn case_change(
        &mut self,
        keys: &Keys,
        name: &str,
        item_ids: &[String],
        add: bool,
    ) -> Result<(), Error> {
        self.need_writer()?;
        if item_ids.is_empty() {
            return Err(Error::Invalid("no item given".into()));
        }
        let mut changes: BTreeMap<String, Triage> = BTreeMap::new();
        for raw in item_ids {
            let id = self.resolve_item(raw)?;
            if changes.contains_key(&id) {
                continue;
            }
            let mut t = self.triage(keys, &id)?;
            if add {
                t.cases.insert(name.to_string());
            } else {
                t.cases.remove(name);
            }
            changes.insert(id, t);
        }
        self.write_triage(keys, changes.into_iter().collect())
    }

    /// Every case with its items (import order), by name.
    pub fn cases(&self, keys: &Keys) -> Result<Vec<Case>, Error> {
        let all = self.triage_all(keys)?;
        let order: Vec<String> = self
            .conn
            .prepare("SELECT id FROM items ORDER BY seq")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut cases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in order {
            if let Some(t) = all.get(&id) {
                for c in &t.cases {
                    cases.entry(c.clone()).or_default().push(id.clone());
                }
            }
        }
        Ok(cases
            .into_iter()
            .map(|(name, items)| Case { name, items })
            .collect())
    }

    /// The items of a case (import order); an error when there is no such case.
    pub fn case_items(&self, keys: &Keys, name: &str) -> Result<Vec<String>, Error> {
        let name = normalize_label(name, "case name")?;
        self.cases(keys)?
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.items)
            .ok_or(Error::NoSuchCase(name))
    }

    fn modify(
        &mut self,
        keys: &Keys,
        item_id: &str,
        f: impl FnOnce(&mut Triage) -> Result<(), Error>,
    ) -> Result<Triage, Error> {
        self.need_writer()?;
        let id = self.resolve_item(item_id)?;
        let mut t = self.triage(keys, &id)?;
        f(&mut t)?;
        self.write_triage(keys, vec![(id, t.clone())])?;
        Ok(t)
    }

    /// Stores new triage blobs for `changes`, crash-consistently (module docs).
    fn write_triage(&mut self, keys: &Keys, changes: Vec<(String, Triage)>) -> Result<(), Error> {
        self.need_writer()?;
        let mut blobs: Vec<(String, String, Vec<u8>)> = Vec::with_capacity(changes.len());
        for (id, t) in changes {
            let plain = Zeroizing::new(encode(&id, t));
            let cipher = crate::seal(keys, &plain)?;
            let hash = blake3::hash(&cipher).to_hex().to_string();
            blobs.push((id, hash, cipher));
        }
        let tx = self.conn.transaction()?;
        for (_, hash, _) in &blobs {
            tx.execute("INSERT OR IGNORE INTO pending(blob) VALUES (?1)", [hash])?;
        }
        tx.commit()?;
        let root = self.store.root().to_path_buf();
        for (_, hash, cipher) in &blobs {
            self.store.put(hash, cipher).map_err(io_err(&root))?;
        }
        let mut old: Vec<String> = Vec::new();
        let tx = self.conn.transaction()?;
        for (id, hash, cipher) in &blobs {
            let prev: Option<String> = tx
                .query_row("SELECT blob FROM triage WHERE item_id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            tx.execute(
                "INSERT OR REPLACE INTO triage(item_id, blob, cipher_size) VALUES (?1, ?2, ?3)",
                params![id, hash, cipher.len() as i64],
            )?;
            tx.execute("DELETE FROM pending WHERE blob = ?1", [hash])?;
            if let Some(p) = prev
                && p != *hash
            {
                tx.execute("INSERT OR IGNORE INTO pending(blob) VALUES (?1)", [&p])?;
                old.push(p);
            }
        }
        tx.commit()?;
        for b in &old {
            if !self.blob_referenced(b)? {
                self.store.remove(b).map_err(io_err(&root))?;
            }
            self.conn
                .execute("DELETE FROM pending WHERE blob = ?1", [b])?;
        }
        Ok(())
    }
}

/// The padded JSON of one item's triage.
fn encode(id: &str, triage: Triage) -> Vec<u8> {
    let s = Stored {
        version: TRIAGE_VERSION,
        item_id: id.to_string(),
        triage,
    };
    let mut v = serde_json::to_vec(&s).expect("serializable");
    let padded = v.len().div_ceil(PAD).max(1) * PAD;
    v.resize(padded, b' ');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_nfc_trimmed_and_bounded() {
        // NFD 한 (ᄒ ᅡ ᆫ) becomes NFC 한.
        assert_eq!(
            normalize_label("  \u{1112}\u{1161}\u{11ab}  ", "tag").unwrap(),
            "한"
        );
        assert!(normalize_label("   ", "tag").is_err());
        assert!(normalize_label("a\u{7}b", "tag").is_err());
        assert!(normalize_label(&"x".repeat(MAX_LABEL + 1), "tag").is_err());
        assert_eq!(
            normalize_label(&"가".repeat(MAX_LABEL), "tag")
                .unwrap()
                .chars()
                .count(),
            MAX_LABEL
        );
    }

    #[test]
    fn notes_are_checked() {
        assert!(check_note("line one\nline\ttwo").is_ok());
        assert!(check_note(" \n ").is_err());
        assert!(check_note("bell \u{7}").is_err());
        assert!(check_note("cr \r").is_err());
        assert!(check_note(&"x".repeat(MAX_NOTE + 1)).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in TriageStatus::ALL {
            assert_eq!(s.as_str().parse::<TriageStatus>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("done".parse::<TriageStatus>().is_err());
        assert_eq!(TriageStatus::default(), TriageStatus::New);
    }

    #[test]
    fn encoding_is_padded_and_reads_back() {
        let mut t = Triage::default();
        t.tags.insert("혜산".into());
        t.notes.push(Note {
            text: "x".repeat(5000),
            export: true,
            added_at: "2025-01-01T00:00:00Z".into(),
        });
        let e = encode("ab", t.clone());
        assert_eq!(e.len() % PAD, 0);
        assert_eq!(e.len(), 2 * PAD);
        let s: Stored = serde_json::from_slice(&e).unwrap();
        assert_eq!(s.item_id, "ab");
        assert_eq!(s.triage, t);
        assert_eq!(encode("ab", Triage::default()).len(), PAD);
    }
}
