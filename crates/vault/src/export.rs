//! `baram vault export`: a case's sanitized material for partners, as one
//! reproducible ZIP.
//!
//! # What goes in
//!
//! For each item of the case that has one, in the order of the items' random
//! ids (so neither received order nor import order shows), numbered
//! `item-0001`, `item-0002`, … over the items exported:
//!
//! * its **safe derivatives**: what processing made from decoded pixels,
//!   rendered pages or a remux (every derivative kind named `safe-*`), as
//!   `item-NNNN/<kind>.<ext>` with the extension of the format found in its
//!   bytes;
//! * its **extracted text** (`text` derivative), as `item-NNNN/text.txt`;
//! * the analyst's **notes marked for export**, as `item-NNNN/note-NN.txt`;
//!
//! and `manifest.json`, which lists every other entry with its size, BLAKE3
//! and SHA-256.
//!
//! # What never goes in
//!
//! Originals, processing reports and their findings (Red Star serials, EXIF
//! serials, GPS, authors), records (courier codes, intake notes, received
//! times, original names and paths), vault and bundle ids, tags, case names,
//! statuses, notes not marked for export, and the time notes were written.
//!
//! # Fail closed
//!
//! Every entry is run through the sanitizer once more before it is written
//! (`baram_sanitize::clean`, which parses all of it; text and notes as text):
//! if it refuses the entry or finds anything (a finding, a Red Star mark), the
//! whole item is refused and reported. Every entry is also searched for the
//! strings that name sources: every item's courier code, intake note, original
//! name and path, received time, vault and bundle id, and the case items'
//! Red Star serials (as text and as encrypted blocks) and identifying
//! findings (device ids, people, places). A hit refuses the item. An item with
//! no safe derivative yet (not processed, quarantined, or of a type not
//! converted yet) is left out with what to do.
//!
//! # Reproducible
//!
//! Entries are sorted by name; every entry is deflated (level 6) and dated
//! 1980-01-01 00:00:00 with mode 0644, made by "Unix", with no extra field and
//! no comment; the JSON is serde's, fields in a fixed order. So two exports of
//! the same case and vault are byte-identical, whatever the time zone, umask,
//! locale or the order items were added in. The ZIP is written to a temporary
//! file in the target folder, fsynced, given mode 0644 and the fixed time,
//! and renamed into place.

use crate::fsx::{self, TMP_PREFIX};
use crate::{Error, Keys, Triage, Vault, io_err};
use baram_sanitize::Format;
use serde::Serialize;
use sha2::Digest;
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

pub const FORMAT: &str = "baram-vault-export";
pub const VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
/// Needles shorter than this many bytes are not searched for (they would
/// match by chance).
const MIN_NEEDLE: usize = 4;

/// One entry of the export, as `manifest.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestEntry {
    pub path: String,
    pub size: u64,
    pub blake3: String,
    pub sha256: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    version: u32,
    items: u64,
    entries: &'a [ManifestEntry],
}

/// An item of the case that is not in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub id: String,
    /// Why, and what to do.
    pub reason: String,
    /// True when the sanitizer or the source check refused it (something
    /// identifying was found); false when it has no safe derivative yet.
    pub refused: bool,
}

/// Result of [`Vault::export_case`]. For the analyst only (it maps the
/// export's neutral names to vault ids): never put it in the export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The ZIP written; `None` when no item could be exported (nothing was
    /// written).
    pub path: Option<PathBuf>,
    /// Items exported.
    pub items: u64,
    /// Every entry but the manifest, in ZIP order.
    pub entries: Vec<ManifestEntry>,
    /// ZIP entries in all (the manifest included).
    pub entry_count: u64,
    /// (neutral name, vault id) of each exported item.
    pub map: Vec<(String, String)>,
    pub left_out: Vec<LeftOut>,
    /// Size and BLAKE3 of the ZIP.
    pub size: u64,
    pub blake3: Option<String>,
}

/// Strings that name sources, to search every entry for.
struct Needles(Vec<(Vec<u8>, &'static str)>);

impl Needles {
    fn add(&mut self, s: &str, what: &'static str) {
        let t = s.trim();
        for form in [t.nfc().collect::<String>(), t.nfd().collect::<String>()] {
            if form.len() >= MIN_NEEDLE && !self.0.iter().any(|(n, _)| n == form.as_bytes()) {
                self.0.push((form.into_bytes(), what));
            }
        }
    }
    fn add_bytes(&mut self, b: Vec<u8>, what: &'static str) {
        if b.len() >= MIN_NEEDLE {
            self.0.push((b, what));
        }
    }
    fn find(&self, data: &[u8]) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(n, _)| data.windows(n.len()).any(|w| w == &n[..]))
            .map(|(_, w)| *w)
    }
}

impl Vault {
    /// Exports the case `name` into the ZIP `out` (module docs). Outer `Err`:
    /// the vault or the target failed. Items that cannot be exported are in
    /// [`ExportReport::left_out`]; when none can, nothing is written.
    pub fn export_case(&self, keys: &Keys, name: &str, out: &Path) -> Result<ExportReport, Error> {
        let mut ids = self.case_items(keys, name)?;
        ids.sort();
        let triage = self.triage_all(keys)?;
        let needles = self.needles(keys, &ids)?;
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if out.is_dir() {
            return Err(Error::Invalid(format!(
                "{}: is a folder; give the ZIP file's name (-o case.zip)",
                out.display()
            )));
        }
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "{}: the folder for the export does not exist; create it first",
                dir.display()
            )));
        }
        let tmp = dir.join(format!("{TMP_PREFIX}export-{}", fsx::random_hex128()));
        let res = self.write_export(keys, &ids, &triage, &needles, &tmp);
        let mut rep = match res {
            Ok(r) => r,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if rep.items == 0 {
            fs::remove_file(&tmp).map_err(io_err(&tmp))?;
            return Ok(rep);
        }
        let finish = (|| -> io::Result<()> {
            fs::rename(&tmp, out)?;
            fsx::sync_dir(&dir)
        })();
        if let Err(e) = finish {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(out)(e));
        }
        rep.path = Some(out.to_path_buf());
        tracing::info!(
            items = rep.items,
            entries = rep.entry_count,
            "exported a case"
        );
        Ok(rep)
    }

    fn write_export(
        &self,
        keys: &Keys,
        ids: &[String],
        triage: &std::collections::HashMap<String, Triage>,
        needles: &Needles,
        tmp: &Path,
    ) -> Result<ExportReport, Error> {
        let file = fsx::create_new(tmp, 0o644).map_err(io_err(tmp))?;
        let mut zip = zip::ZipWriter::new(file);
        let mut rep = ExportReport {
            path: None,
            items: 0,
            entries: Vec::new(),
            entry_count: 0,
            map: Vec::new(),
            left_out: Vec::new(),
            size: 0,
            blake3: None,
        };
        let zerr = |e: zip::result::ZipError| Error::Io {
            path: tmp.to_path_buf(),
            source: io::Error::other(e),
        };
        for id in ids {
            let t = triage.get(id).cloned().unwrap_or_default();
            let entries = match self.item_entries(keys, id, &t, needles)? {
                Ok(e) => e,
                Err((reason, refused)) => {
                    tracing::info!(item = %id, %reason, "left out of the export");
                    rep.left_out.push(LeftOut {
                        id: id.clone(),
                        reason,
                        refused,
                    });
                    continue;
                }
            };
            rep.items += 1;
            let prefix = format!("item-{:04}", rep.items);
            rep.map.push((prefix.clone(), id.clone()));
            // Names within an item sort as written: note-NN < safe-* < text.
            let mut entries = entries;
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, data) in entries {
                let path = format!("{prefix}/{name}");
                add_entry(&mut zip, &path, &data).map_err(zerr)?;
                rep.entries.push(ManifestEntry {
                    path,
                    size: data.len() as u64,
                    blake3: blake3::hash(&data).to_hex().to_string(),
                    sha256: fsx::hex(&sha2::Sha256::digest(&data[..])),
                });
            }
        }
        // `item-…` sorts before `manifest.json`: the ZIP stays sorted.
        let mut m = serde_json::to_vec_pretty(&Manifest {
            format: FORMAT,
            version: VERSION,
            items: rep.items,
            entries: &rep.entries,
        })
        .expect("serializable");
        m.push(b'\n');
        add_entry(&mut zip, MANIFEST, &m).map_err(zerr)?;
        rep.entry_count = rep.entries.len() as u64 + 1;
        let mut file = zip.finish().map_err(zerr)?;
        file.flush().map_err(io_err(tmp))?;
        fsx::set_fixed_times(&file).map_err(io_err(tmp))?;
        file.sync_all().map_err(io_err(tmp))?;
        drop(file);
        let bytes = fs::read(tmp).map_err(io_err(tmp))?;
        rep.size = bytes.len() as u64;
        rep.blake3 = Some(blake3::hash(&bytes).to_hex().to_string());
        Ok(rep)
    }

    /// The entries of one item (name within its folder, bytes), or why it is
    /// left out (reason, refused).
    #[allow(clippy::type_complexity)]
    fn item_entries(
        &self,
        keys: &Keys,
        id: &str,
        triage: &Triage,
        needles: &Needles,
    ) -> Result<Result<Vec<(String, Zeroizing<Vec<u8>>)>, (String, bool)>, Error> {
        let report = self.process_report(keys, id)?;
        let Some(report) = report else {
            return Ok(Err((
                "not processed yet, so it has no safe copy: run `baram vault process`, then export again".into(),
                false,
            )));
        };
        let kinds: Vec<String> = self
            .conn
            .prepare(
                "SELECT d.kind FROM items i JOIN derivatives d ON d.keyed_hash = i.keyed_hash
                 WHERE i.id = ?1 AND (d.kind = 'text' OR d.kind LIKE 'safe-%') ORDER BY d.kind",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
        for kind in &kinds {
            let Some(data) = self.derivative(keys, id, kind)? else {
                continue;
            };
            if kind == "text" {
                if String::from_utf8_lossy(&data).trim().is_empty() {
                    continue;
                }
                if let Err(why) = check_entry(&data, Some(Format::Text)) {
                    return Ok(Err((format!("its extracted text: {why}"), true)));
                }
                out.push(("text.txt".into(), data));
            } else {
                let format = match check_entry(&data, None) {
                    Ok(f) => f,
                    Err(why) => return Ok(Err((format!("its {kind} derivative: {why}"), true))),
                };
                out.push((format!("{kind}.{}", format.extension()), data));
            }
        }
        if !out
            .iter()
            .any(|(n, _)| n.starts_with("safe-") || n == "text.txt")
        {
            use crate::process::Status;
            let why = report.reason.as_deref().unwrap_or("no reason recorded");
            let reason = match report.status {
                Status::Quarantined => format!(
                    "quarantined by processing ({why}): there is no safe copy to export; it stays out (handle the original by hand)"
                ),
                Status::Unhandled => format!(
                    "processing made no safe copy of it yet ({why}): run `baram vault process` with a baram that converts this type, then export again"
                ),
                Status::Processed => "processing made no safe copy of it (no image, document, video, recording or text): run `baram vault process` again, then export again".into(),
            };
            return Ok(Err((reason, false)));
        }
        let mut n = 0;
        for note in triage.notes.iter().filter(|n| n.export) {
            n += 1;
            let mut text = Zeroizing::new(note.text.clone().into_bytes());
            if !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            if let Err(why) = check_entry(&text, Some(Format::Text)) {
                return Ok(Err((format!("its note {n} for export: {why}"), true)));
            }
            out.push((format!("note-{n:02}.txt"), text));
        }
        for (name, data) in &out {
            if let Some(what) = needles.find(data) {
                return Ok(Err((
                    format!(
                        "its {name} holds {what}, which can name a source; it stays out (edit the note, or check the item by hand)"
                    ),
                    true,
                )));
            }
        }
        Ok(Ok(out))
    }

    /// Every item's record strings and ids, and the case items' serials and
    /// identifying findings.
    fn needles(&self, keys: &Keys, case_ids: &[String]) -> Result<Needles, Error> {
        let mut n = Needles(Vec::new());
        for it in self.list(keys)? {
            n.add(&it.id, "a vault item id");
            n.add(&it.bundle_id, "a bundle id");
            if let Some(r) = &it.record {
                if let Some(c) = &r.courier {
                    n.add(c, "a courier code");
                }
                if let Some(note) = &r.note {
                    n.add(note, "an intake note");
                }
                n.add(&r.original_name, "an original file name");
                n.add(&r.original_path, "an original path");
                n.add(&r.received_at, "a received time");
            }
        }
        let ids: BTreeSet<&String> = case_ids.iter().collect();
        for id in ids {
            let Some(rep) = self.process_report(keys, id)? else {
                continue;
            };
            if let Some(rs) = &rep.redstar {
                for s in &rs.serials {
                    n.add(s, "a Red Star serial");
                    n.add_bytes(
                        baram_sanitize::redstar::encode_blocks(&[s]),
                        "a Red Star block",
                    );
                }
            }
            for f in &rep.findings {
                let what = match f.category.as_str() {
                    "device-id" => "a device serial",
                    "person" => "a person's name from its metadata",
                    "location" => "a place from its metadata",
                    "watermark" => "a Red Star serial",
                    _ => continue,
                };
                if let Some(v) = &f.value {
                    n.add(v, what);
                }
            }
        }
        Ok(n)
    }
}

/// The sanitizer's check of one entry: it must parse whole and find nothing.
/// `as_format`: parse as this format; else by content. Returns the format.
fn check_entry(data: &[u8], as_format: Option<Format>) -> Result<Format, String> {
    let format = match as_format {
        Some(f) => f,
        None => baram_sanitize::detect(data).ok_or(
            "the sanitizer does not know its format, so it cannot be checked; refused".to_string(),
        )?,
    };
    let cleaned = baram_sanitize::clean_as(format, data, &Default::default())
        .map_err(|e| format!("the sanitizer refuses it ({e})"))?;
    if let Some(m) = &cleaned.report.redstar {
        return Err(format!(
            "the sanitizer finds a Red Star mark of {} blocks in it",
            m.blocks
        ));
    }
    if let Some(f) = cleaned.report.findings.first() {
        return Err(format!(
            "the sanitizer still finds {} ({} finding(s)) in it",
            f.field,
            cleaned.report.findings.len()
        ));
    }
    if baram_sanitize::redstar::find_trailer(data).is_some() {
        return Err("it ends in a Red Star chain".into());
    }
    Ok(format)
}

fn add_entry<W: Write + io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    path: &str,
    data: &[u8],
) -> zip::result::ZipResult<()> {
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip::DateTime::DEFAULT)
        .unix_permissions(0o644)
        .system(zip::System::Unix)
        .large_file(data.len() as u64 >= u32::MAX as u64);
    zip.start_file(path, opts)?;
    zip.write_all(data)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use baram_sanitize::fixtures;

    #[test]
    fn the_check_refuses_what_the_sanitizer_finds() {
        assert_eq!(
            check_entry(&fixtures::png_plain(), None).unwrap(),
            Format::Png
        );
        assert!(check_entry(&fixtures::png_with_text(), None).is_err());
        assert!(check_entry(&fixtures::jpeg_with_exif(), None).is_err());
        let marked = baram_sanitize::redstar::append_trailer(&fixtures::png_plain(), &["WD-1234"]);
        assert!(check_entry(&marked, None).is_err());
        assert!(check_entry(b"\x00\x01\x02garbage", None).is_err());
        assert!(check_entry("평양 보고\n".as_bytes(), Some(Format::Text)).is_ok());
        assert!(check_entry(b"bell \x07\n", Some(Format::Text)).is_err());
        let text_marked = baram_sanitize::redstar::append_trailer(b"hello text\n", &["WD-1234"]);
        assert!(check_entry(&text_marked, Some(Format::Text)).is_err());
    }

    #[test]
    fn needles_match_nfc_and_nfd_and_skip_short_ones() {
        let mut n = Needles(Vec::new());
        n.add("혜산 courier", "a courier code");
        n.add("ab", "short");
        assert_eq!(
            n.find("x 혜산 courier y".as_bytes()),
            Some("a courier code")
        );
        let nfd: String = "혜산 courier".nfd().collect();
        assert_eq!(n.find(nfd.as_bytes()), Some("a courier code"));
        assert_eq!(n.find(b"ab ab"), None);
    }

    /// A safe derivative the sanitizer finds something in (here one swapped
    /// for a PNG with text chunks and a Red Star chain, as a processing bug
    /// could leave) is refused: the item stays out, reported, fail closed.
    #[test]
    fn a_dirty_derivative_refuses_its_item() {
        use age::secrecy::SecretString;
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("vault");
        let pass = SecretString::from("p".to_string());
        let recipient = Vault::keygen(
            &root,
            &pass,
            &crate::KeygenOptions {
                scrypt_log_n: Some(10),
            },
        )
        .unwrap();
        let bundle = t.path().join("bundle");
        let mut it =
            crate::Intake::open(&bundle, &[crate::parse_recipient(&recipient).unwrap()]).unwrap();
        let mut ids = Vec::new();
        for (name, data) in [
            ("a.png", fixtures::png_plain()),
            ("b.gif", fixtures::gif_plain()),
        ] {
            let p = t.path().join(name);
            fs::write(&p, data).unwrap();
            ids.push(
                it.add_file(&p, &Default::default(), &mut |_| {})
                    .unwrap()
                    .id,
            );
        }
        drop(it);
        let mut v = Vault::open_writer(&root).unwrap();
        let keys = v.unlock(&pass).unwrap();
        v.import(&keys, &bundle, &|_, _| {}).unwrap();
        v.process(&keys, &Default::default(), &|_, _| {}).unwrap();
        v.case_add(&keys, "c", &ids).unwrap();
        let clean = v
            .export_case(&keys, "c", &t.path().join("clean.zip"))
            .unwrap();
        assert_eq!((clean.items, clean.left_out.len()), (2, 0));
        // Swap a's safe image for a dirty one, as processing could by a bug.
        let dirty = baram_sanitize::redstar::append_trailer(&fixtures::png_with_text(), &["WD-X1"]);
        let cipher = crate::seal(&keys, &dirty).unwrap();
        let hash = blake3::hash(&cipher).to_hex().to_string();
        v.store.put(&hash, &cipher).unwrap();
        v.conn
            .execute(
                "UPDATE derivatives SET blob = ?1 WHERE kind = 'safe-image' AND keyed_hash = (SELECT keyed_hash FROM items WHERE id = ?2)",
                rusqlite::params![hash, ids[0]],
            )
            .unwrap();
        let out = t.path().join("dirty.zip");
        let rep = v.export_case(&keys, "c", &out).unwrap();
        assert_eq!(rep.items, 1);
        assert_eq!(rep.left_out.len(), 1);
        assert_eq!(rep.left_out[0].id, ids[0]);
        assert!(rep.left_out[0].refused);
        assert!(
            rep.left_out[0].reason.contains("sanitizer"),
            "{:?}",
            rep.left_out[0]
        );
        let bytes = fs::read(&out).unwrap();
        assert!(!bytes.windows(5).any(|w| w == b"WD-X1"));
        assert_eq!(rep.entry_count, 2, "b's image and the manifest");
    }

    #[test]
    fn entries_are_dated_1980_with_no_extra_field() {
        let mut z = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        add_entry(&mut z, "a/b.txt", b"hello hello hello").unwrap();
        let bytes = z.finish().unwrap().into_inner();
        // Local header: time 0, date 0x0021 (1980-01-01), extra length 0.
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 8, "deflate");
        assert_eq!(u16::from_le_bytes([bytes[10], bytes[11]]), 0);
        assert_eq!(u16::from_le_bytes([bytes[12], bytes[13]]), 0x21);
        assert_eq!(u16::from_le_bytes([bytes[28], bytes[29]]), 0);
    }
}
