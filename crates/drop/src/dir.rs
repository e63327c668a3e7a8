//! `--format dir`: a volume written as a plain folder tree, for a laptop's
//! disk (or to be copied by hand onto any medium).
//!
//! [`write_dir`] builds the whole tree in a fresh hidden sibling folder of
//! the destination and renames it into place at the end, so the destination
//! either does not change or holds the complete tree: a crash or an error
//! never leaves a half-written drop under the destination's name (after a
//! crash, a hidden `.NAME.partial-…` sibling may remain; errors remove it).
//!
//! What the tree holds depends only on the volume: names (validated with the
//! same rules as FAT32, so the tree can be copied to any stick or Windows
//! disk; names that differ only in case are refused), bytes (exactly the
//! declared size of each source, or an error), permissions (0644 files, 0755
//! folders, set explicitly so the builder's umask never shows) and times
//! (every modification and access time is `Volume::timestamp`, read as UTC;
//! whoever reads the tree afterwards may update access times, as the mount
//! options decide).
//! Ownership is the builder's (the tree is on the builder's disk); copying
//! tools do not carry it onto FAT or exFAT media. Every file and folder is
//! fsynced before the rename, and the parent folder after it.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, FileTimes, OpenOptions, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::source::{CopyError, check_size, copy_exact};
use crate::tree::{EntryKind, Source, Timestamp, Volume};

/// Mode of every file.
pub const FILE_MODE: u32 = 0o644;
/// Mode of every folder.
pub const DIR_MODE: u32 = 0o755;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("destination {dest} exists and is not an empty folder; give a new or empty folder")]
    DestNotEmpty { dest: PathBuf },
    #[error("cannot inspect destination {dest}: {error}")]
    Dest {
        dest: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("destination {dest} has no file name or no parent folder; give a folder path")]
    DestInvalid { dest: PathBuf },
    #[error("name {path:?} cannot be written: {reason}")]
    InvalidName { path: String, reason: String },
    #[error("an entry has an empty path; every file needs a name")]
    EmptyPath,
    #[error(
        "{path:?} is listed twice (names that differ only in case clash: also {other:?}); remove or rename one"
    )]
    Duplicate { path: String, other: String },
    #[error("{path:?} is both a file and a folder; rename one")]
    FileDirConflict { path: String },
    #[error(
        "path {path:?} is {units} UTF-16 units long; Windows XP programs open at most {max}: shorten names or nest less",
        max = crate::fat32::MAX_PATH_UNITS
    )]
    PathTooLong { path: String, units: usize },
    #[error("timestamp {ts:?} cannot be used (years 1980-2107, a real date and time)")]
    InvalidTimestamp { ts: Timestamp },
    #[error(
        "file {path:?} declares {declared} bytes of in-memory content but has {actual}; this is a bug in the planner"
    )]
    BytesSizeMismatch {
        path: String,
        declared: u64,
        actual: u64,
    },
    #[error(
        "source {source_path} of {path:?} has {actual} bytes but {declared} were planned; it changed since planning: plan again"
    )]
    SourceSizeMismatch {
        path: String,
        source_path: PathBuf,
        declared: u64,
        actual: String,
    },
    #[error("cannot read source {source_path} of {path:?}: {error}")]
    SourceRead {
        path: String,
        source_path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error(
        "copying source {source_path} of {path:?} to {dest} failed (reading the source or writing the copy): {error}"
    )]
    Copy {
        path: String,
        source_path: PathBuf,
        dest: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("cannot {what} {target}: {error}")]
    Io {
        what: &'static str,
        target: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

/// What [`write_dir`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirReport {
    /// Files written.
    pub files: u64,
    /// Folders written below the destination (the destination not counted).
    pub dirs: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// `vol.timestamp` as a UTC instant (checked: 1980-2107, a real date).
fn system_time(ts: &Timestamp) -> Result<SystemTime, Error> {
    crate::fat32::check_timestamp(ts).map_err(|_| Error::InvalidTimestamp { ts: *ts })?;
    // Days from 1970-01-01 to the date (proleptic Gregorian; H. Hinnant's
    // days_from_civil).
    let (y, m, d) = (ts.year as i64, ts.month as i64, ts.day as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + ts.hour as i64 * 3600 + ts.minute as i64 * 60 + ts.second as i64;
    // 1980 and later: positive.
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// Path -> Some((size, source)) for files, None for folders; validated.
type Plan<'a> = BTreeMap<Vec<&'a str>, Option<(u64, &'a Source)>>;

fn build(vol: &Volume) -> Result<Plan<'_>, Error> {
    let mut plan: Plan = BTreeMap::new();
    // (parent path, case-folded name) -> the name first seen.
    let mut folded: HashMap<(Vec<&str>, String), &str> = HashMap::new();
    for e in &vol.entries {
        if e.path.is_empty() {
            return Err(Error::EmptyPath);
        }
        let units: usize = e
            .path
            .iter()
            .map(|c| c.encode_utf16().count())
            .sum::<usize>()
            + e.path.len();
        if units > crate::fat32::MAX_PATH_UNITS {
            return Err(Error::PathTooLong {
                path: e.path.join("/"),
                units,
            });
        }
        let comps: Vec<&str> = e.path.iter().map(String::as_str).collect();
        for depth in 1..=comps.len() {
            let here = &comps[..depth];
            let name = comps[depth - 1];
            let shown = here.join("/");
            match crate::fat32::entry_slots(name) {
                Ok(_) => {}
                Err(crate::fat32::Error::InvalidName { reason, .. }) => {
                    return Err(Error::InvalidName {
                        path: shown,
                        reason,
                    });
                }
                Err(other) => {
                    return Err(Error::InvalidName {
                        path: shown,
                        reason: other.to_string(),
                    });
                }
            }
            let key = (
                comps[..depth - 1].to_vec(),
                name.chars()
                    .flat_map(char::to_uppercase)
                    .collect::<String>(),
            );
            if let Some(&other) = folded.get(&key)
                && other != name
            {
                return Err(Error::Duplicate {
                    path: shown,
                    other: other.to_string(),
                });
            }
            folded.insert(key, name);
            let file = match &e.kind {
                EntryKind::File { size, source } if depth == comps.len() => {
                    if let Source::Bytes(b) = source
                        && b.len() as u64 != *size
                    {
                        return Err(Error::BytesSizeMismatch {
                            path: shown,
                            declared: *size,
                            actual: b.len() as u64,
                        });
                    }
                    Some((*size, source))
                }
                _ => None,
            };
            match plan.get(here) {
                None => {
                    plan.insert(here.to_vec(), file);
                }
                Some(None) if file.is_none() => {} // a folder again: fine
                Some(Some(_)) if file.is_some() => {
                    return Err(Error::Duplicate {
                        path: shown,
                        other: name.to_string(),
                    });
                }
                Some(_) => return Err(Error::FileDirConflict { path: shown }),
            }
        }
    }
    Ok(plan)
}

fn copy_error(path: &str, source: &Source, dest: &Path, declared: u64, e: CopyError) -> Error {
    let path = path.to_string();
    let source_path = match source {
        Source::Path(p) => p.clone(),
        Source::Bytes(_) => PathBuf::new(),
    };
    match e {
        CopyError::BytesLength { actual } => Error::BytesSizeMismatch {
            path,
            declared,
            actual,
        },
        CopyError::Read(error) => Error::SourceRead {
            path,
            source_path,
            error,
        },
        CopyError::Size { actual } => Error::SourceSizeMismatch {
            path,
            source_path,
            declared,
            actual,
        },
        CopyError::Copy(error) => Error::Copy {
            path,
            source_path,
            dest: dest.to_path_buf(),
            error,
        },
    }
}

fn io(what: &'static str, target: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let target = target.to_path_buf();
    move |error| Error::Io {
        what,
        target,
        error,
    }
}

/// Sets a folder's times and syncs it.
fn finish_dir(path: &Path, times: FileTimes) -> Result<(), Error> {
    let d = File::open(path).map_err(io("open folder", path))?;
    d.set_times(times).map_err(io("set the times of", path))?;
    d.sync_all().map_err(io("sync", path))
}

/// Writes `vol` as a folder tree at `dest`, which must not exist or be an
/// empty folder. See the module documentation for what is guaranteed.
pub fn write_dir(vol: &Volume, dest: &Path) -> Result<DirReport, Error> {
    let when = system_time(&vol.timestamp)?;
    let times = FileTimes::new().set_accessed(when).set_modified(when);
    let plan = build(vol)?;

    // The destination: absent, or an empty folder (not a link to one).
    let name = dest.file_name().ok_or_else(|| Error::DestInvalid {
        dest: dest.to_path_buf(),
    })?;
    let parent = match dest.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => {
            return Err(Error::DestInvalid {
                dest: dest.to_path_buf(),
            });
        }
    };
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => {
            let mut it = std::fs::read_dir(dest).map_err(|error| Error::Dest {
                dest: dest.to_path_buf(),
                error,
            })?;
            if it.next().is_some() {
                return Err(Error::DestNotEmpty {
                    dest: dest.to_path_buf(),
                });
            }
        }
        Ok(_) => {
            return Err(Error::DestNotEmpty {
                dest: dest.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(Error::Dest {
                dest: dest.to_path_buf(),
                error,
            });
        }
    }
    // Every source has its declared size before anything is created.
    for (path, v) in &plan {
        if let Some((size, source)) = v {
            check_size(source, *size)
                .map_err(|e| copy_error(&path.join("/"), source, dest, *size, e))?;
        }
    }

    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| Error::Io {
        what: "get random bytes for a temporary name next to",
        target: dest.to_path_buf(),
        error: std::io::Error::other(e.to_string()),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".partial-{:016x}", u64::from_le_bytes(nonce)));
    let tmp = parent.join(tmp_name);
    std::fs::create_dir(&tmp).map_err(io("create folder", &tmp))?;

    let result = (|| -> Result<DirReport, Error> {
        let mut report = DirReport {
            files: 0,
            dirs: 0,
            bytes: 0,
        };
        std::fs::set_permissions(&tmp, Permissions::from_mode(DIR_MODE))
            .map_err(io("set the permissions of", &tmp))?;
        // Parents sort before their children.
        for (path, v) in &plan {
            let target = tmp.join(path.iter().collect::<PathBuf>());
            match v {
                None => {
                    std::fs::create_dir(&target).map_err(io("create folder", &target))?;
                    std::fs::set_permissions(&target, Permissions::from_mode(DIR_MODE))
                        .map_err(io("set the permissions of", &target))?;
                    report.dirs += 1;
                }
                Some((size, source)) => {
                    let mut f = OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&target)
                        .map_err(io("create file", &target))?;
                    f.set_permissions(Permissions::from_mode(FILE_MODE))
                        .map_err(io("set the permissions of", &target))?;
                    copy_exact(source, *size, &mut f)
                        .map_err(|e| copy_error(&path.join("/"), source, &target, *size, e))?;
                    f.set_times(times)
                        .map_err(io("set the times of", &target))?;
                    f.sync_all().map_err(io("sync", &target))?;
                    report.files += 1;
                    report.bytes += size;
                }
            }
        }
        // Folder times last (adding entries changes them), deepest first.
        for (path, _) in plan.iter().rev().filter(|(_, v)| v.is_none()) {
            finish_dir(&tmp.join(path.iter().collect::<PathBuf>()), times)?;
        }
        finish_dir(&tmp, times)?;
        Ok(report)
    })();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            // Only what this call created; the destination is untouched.
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // Replaces an empty destination folder atomically (rename(2)).
    if let Err(error) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::Io {
            what: "rename the finished tree to",
            target: dest.to_path_buf(),
            error,
        });
    }
    finish_dir(dest, times)?;
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", parent))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_instants() {
        let t = |year, month, day, hour, minute, second| {
            system_time(&Timestamp {
                year,
                month,
                day,
                hour,
                minute,
                second,
            })
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
        };
        assert_eq!(t(2010, 1, 1, 0, 0, 0), 1_262_304_000);
        assert_eq!(t(1980, 1, 1, 0, 0, 0), 315_532_800);
        assert_eq!(t(2000, 2, 29, 23, 59, 59), 951_868_799);
        assert_eq!(t(2107, 12, 31, 0, 0, 0), 4_354_732_800);
        assert!(
            system_time(&Timestamp {
                month: 13,
                ..Default::default()
            })
            .is_err()
        );
    }
}
