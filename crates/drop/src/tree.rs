//! The file tree of a volume, as every image writer (FAT32, ISO 9660, folder)
//! receives it. Writers must not depend on the order of `entries`: they sort.

use std::path::PathBuf;
use std::sync::Arc;

/// A timestamp written into the file system for every file and folder. Drops
/// use one fixed time for everything (default 2010-01-01 00:00:00), so no
/// image tells when or in which time zone it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp {
            year: 2010,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk (a library blob or a converted file in the cache).
    Path(PathBuf),
    /// Bytes made in memory (index.html, data files).
    Bytes(Arc<Vec<u8>>),
}

/// One file or folder. `path` holds the components below the root, in UTF-8
/// (Korean names allowed), e.g. `["video", "01 사랑의 불시착 1화.avi"]`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: Vec<String>,
    pub kind: EntryKind,
}

#[derive(Debug, Clone)]
pub enum EntryKind {
    Dir,
    /// `size` is exact: the writer reads exactly this many bytes from the
    /// source and fails if the source has more or fewer.
    File {
        size: u64,
        source: Source,
    },
}

/// A whole volume.
#[derive(Debug, Clone, Default)]
pub struct Volume {
    /// Volume label: ASCII, at most 11 characters (FAT) / 16 (ISO 9660 +
    /// Joliet: the Joliet volume id holds 16).
    pub label: String,
    /// Every timestamp on the volume.
    pub timestamp: Timestamp,
    /// Volume serial number / disk signature seed, derived from the plan hash.
    pub serial: u32,
    /// Files and folders. A folder's parents need not be listed: writers
    /// create them.
    pub entries: Vec<Entry>,
}
