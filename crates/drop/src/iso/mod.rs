//! baram's streaming ISO 9660 + Joliet image writer, for DVDs.
//!
//! [`layout`] computes the whole image (every name, directory, path table and
//! file extent) from a [`Volume`]; [`write_image`] then writes it strictly
//! sequentially to any [`Write`] (a file, a pipe, a burner's stdin): no
//! seeking, nothing buffered beyond one directory. The bytes depend only on
//! the volume (names, sizes, contents, label, timestamp), never on entry
//! order, host, time or locale. [`image_size`] tells a planner the exact size
//! before anything is written; [`IsoModel`] is the planner's cost model.
//!
//! # On-disk choices (ECMA-119 and the Joliet specification)
//! - 2048-byte sectors. Sectors 0-15: the system area, all zeros (not
//!   bootable, no hybrid MBR). 16: Primary Volume Descriptor; 17: Joliet
//!   Supplementary Volume Descriptor (escape sequence `%/E`, UCS-2 level 3);
//!   18: the terminator.
//! - Path tables from sector 19: primary L (little-endian), primary M
//!   (big-endian), Joliet L, Joliet M, each in whole sectors; no optional
//!   copies. Then the primary directories, then the Joliet directories, both
//!   in path table order (breadth first), then every file in one contiguous
//!   extent, depth first in code point order. No padding after the last file.
//!   Both trees point to the same file extents; an empty file has extent 0
//!   and length 0.
//! - Joliet names are the real names in UCS-2 big-endian (files with ";1",
//!   as mkisofs and libisofs write them), at most 64 units, Basic
//!   Multilingual Plane only (Hangul is), without `;` and with the FAT rules
//!   (no `* / : < > ? \ |`, no trailing dot or space): a volume valid for
//!   FAT is valid here. Names that differ only in case are refused (Windows
//!   could not tell them apart).
//! - Primary names are ISO 9660 level 1 (8.3 d-characters, folders 8), ASCII
//!   only: see `iso/names.rs`. Folders deeper than the 8 levels of ECMA-119 are
//!   written as they are (like `mkisofs -D`): Windows, Linux and macOS read
//!   them; there is no Rock Ridge relocation.
//! - Directory entries are sorted: the primary tree by ECMA-119 9.3, the
//!   Joliet tree by name in code point order (= UCS-2 order, BMP only).
//!   Entries never cross a sector boundary.
//! - No Rock Ridge and no extended attribute records: they would carry
//!   owner, group and permissions of the builder's files. Readers show
//!   default permissions instead.
//! - Every date (volume creation, modification, effective; every directory
//!   record) is `Volume::timestamp` in GMT (offset 0); the expiration date is
//!   "not specified" (all zeros). The volume id is `Volume::label` (primary:
//!   upper-cased, Joliet: as given, at most 16 characters); the system,
//!   volume set, publisher, data preparer and application ids and the
//!   copyright/abstract/bibliographic file ids are blank, so nothing names
//!   the tool, the host or the person who built the image.
//!
//! # Capacity accounting for the planner
//! [`image_size`] is exact. [`IsoModel`] gives the planner conservative
//! linear pieces whose sum never under-estimates it; see its documentation.

mod names;
mod writer;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use crate::plan::{FsFigures, FsModel};
use crate::tree::{EntryKind, Source, Timestamp, Volume};

pub use writer::write_image;

/// Logical sector (and block) size.
pub const SECTOR: u64 = 2048;
/// Sectors of the system area before the first descriptor.
pub const SYSTEM_SECTORS: u64 = 16;
/// Largest file: one extent's length is a 32-bit field (4 GiB - 1 byte).
pub const MAX_FILE_SIZE: u64 = 0xFFFF_FFFF;
/// Longest Joliet name in UCS-2 units (without the ";1" of files).
pub const MAX_NAME_UNITS: usize = 64;
/// Most folders (root included): path table parent numbers are 16 bits.
pub const MAX_DIRS: usize = 65_535;
/// Longest volume label (the Joliet volume id holds 16 UCS-2 characters).
pub const MAX_LABEL_CHARS: usize = 16;
/// Longest path (UTF-16 units, components joined with '\') that Windows XP
/// programs can open; the same limit as the FAT32 writer's.
pub const MAX_PATH_UNITS: usize = crate::fat32::MAX_PATH_UNITS;

/// Sectors before the path tables: system area and three descriptors.
const DESCRIPTOR_END: u64 = SYSTEM_SECTORS + 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "file {path} is {size} bytes; an ISO 9660 extent holds less than 4 GiB (4294967296 bytes): split or re-encode it"
    )]
    FileTooLarge { path: String, size: u64 },
    #[error("name {path:?} cannot be written to ISO 9660/Joliet: {reason}")]
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
        "path {path:?} is {units} UTF-16 units long; Windows XP programs open at most {MAX_PATH_UNITS}: shorten names or nest less"
    )]
    PathTooLong { path: String, units: usize },
    #[error(
        "the volume has {count} folders; ISO 9660 path tables number at most {MAX_DIRS}: merge folders"
    )]
    TooManyDirs { count: usize },
    #[error(
        "folder {path:?} has too many names with the same ISO 9660 8.3 name; split it into subfolders"
    )]
    AliasesExhausted { path: String },
    #[error("folder {path:?} has too many entries for one ISO 9660 directory; split it")]
    DirTooLarge { path: String },
    #[error(
        "volume label {label:?} cannot be used on ISO 9660/Joliet: {reason} (use at most 16 ASCII letters, digits, spaces or !#$%&'()-@^_`{{}}~)"
    )]
    InvalidLabel { label: String, reason: &'static str },
    #[error("timestamp {ts:?} cannot be used (years 1980-2107, a real date and time)")]
    InvalidTimestamp { ts: Timestamp },
    #[error("the content needs {sectors} sectors, more than an ISO 9660 volume can address")]
    ImageTooLarge { sectors: u64 },
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
        "copying source {source_path} of {path:?} into the image failed (reading the source or writing the image): {error}"
    )]
    Copy {
        path: String,
        source_path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("cannot write the image: {0}")]
    Write(#[source] std::io::Error),
    #[error("the layout was computed for another volume; call layout() again with this volume")]
    LayoutMismatch,
}

/// Where one directory or file lies: first sector and length in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extent {
    pub(crate) sector: u32,
    pub(crate) bytes: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The real name (Joliet); empty for the root.
    pub(crate) name: String,
    /// Index into `Volume::entries` for files; None for folders.
    pub(crate) file: Option<usize>,
    pub(crate) size: u64,
    pub(crate) parent: usize,
    /// Children in Joliet order (real name, code point order).
    pub(crate) children: Vec<usize>,
    /// Children in primary order (ECMA-119 9.3 on the primary identifiers).
    pub(crate) children_p: Vec<usize>,
    /// Primary identifier as recorded ("NAME.EXT;1", folders "NAME").
    pub(crate) primary: Vec<u8>,
    /// Joliet identifier as recorded (UCS-2 BE, files with ";1").
    pub(crate) joliet: Vec<u8>,
    /// Folders: the primary and the Joliet directory.
    pub(crate) dir_p: Extent,
    pub(crate) dir_j: Extent,
    /// Files: the data.
    pub(crate) data: Extent,
}

impl Node {
    pub(crate) fn is_dir(&self) -> bool {
        self.file.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Folders in primary path table order (breadth first); root first.
    pub(crate) dirs_p: Vec<usize>,
    /// Folders in Joliet path table order.
    pub(crate) dirs_j: Vec<usize>,
    /// Files in data order (depth first, code point order).
    pub(crate) files: Vec<usize>,
}

/// Length of a directory record with an identifier of `id_len` bytes
/// (ECMA-119 9.1: 33 bytes + identifier + a pad byte to make it even).
pub(crate) fn record_len(id_len: usize) -> usize {
    (33 + id_len + 1) & !1
}

/// Length of a path table record (ECMA-119 9.4).
pub(crate) fn path_record_len(id_len: usize) -> usize {
    8 + id_len + (id_len & 1)
}

/// Sectors of a directory whose children's records have the given lengths,
/// after "." and ".." (34 bytes each); a record never crosses a sector.
pub(crate) fn dir_sectors(lens: impl Iterator<Item = usize>) -> u64 {
    let mut sectors = 1;
    let mut pos = 68;
    for l in lens {
        if pos + l > SECTOR as usize {
            sectors += 1;
            pos = 0;
        }
        pos += l;
    }
    sectors
}

fn display(path: &[String]) -> String {
    path.join("/")
}

/// Primary (upper-cased) and Joliet (as given, UCS-2) volume ids.
fn check_label(label: &str) -> Result<([u8; 32], [u8; 32]), Error> {
    let bad = |reason| Error::InvalidLabel {
        label: label.to_string(),
        reason,
    };
    if !label.is_ascii() {
        return Err(bad("it is not ASCII"));
    }
    if label.len() > MAX_LABEL_CHARS {
        return Err(bad(
            "it is longer than 16 characters, which the Joliet volume id holds",
        ));
    }
    if label.starts_with(' ') {
        return Err(bad("it starts with a space"));
    }
    let mut p = [b' '; 32];
    let mut j = [0u8; 32];
    for k in 0..16 {
        j[2 * k + 1] = b' ';
    }
    for (i, b) in label.bytes().enumerate() {
        if !(b == b' ' || b.is_ascii_alphanumeric() || b"!#$%&'()-@^_`{}~".contains(&b)) {
            return Err(bad("it contains a character labels may not have"));
        }
        p[i] = b.to_ascii_uppercase();
        j[2 * i + 1] = b;
    }
    Ok((p, j))
}

fn fold(name: &str) -> String {
    name.chars().flat_map(char::to_uppercase).collect()
}

fn check_name(comp: &str) -> Result<(), String> {
    match crate::fat32::entry_slots(comp) {
        Ok(_) => {}
        Err(crate::fat32::Error::InvalidName { reason, .. }) => return Err(reason),
        Err(e) => return Err(e.to_string()),
    }
    names::check_joliet(comp)
}

impl Tree {
    pub(crate) fn build(vol: &Volume) -> Result<Tree, Error> {
        crate::fat32::check_timestamp(&vol.timestamp)
            .map_err(|_| Error::InvalidTimestamp { ts: vol.timestamp })?;
        let empty = |name: String, file, size, parent| Node {
            name,
            file,
            size,
            parent,
            children: Vec::new(),
            children_p: Vec::new(),
            primary: vec![0],
            joliet: vec![0],
            dir_p: Extent::default(),
            dir_j: Extent::default(),
            data: Extent::default(),
        };
        let mut nodes = vec![empty(String::new(), None, 0, 0)];
        // Per folder: case-folded name -> node.
        let mut index: Vec<HashMap<String, usize>> = vec![HashMap::new()];
        for (ei, e) in vol.entries.iter().enumerate() {
            if e.path.is_empty() {
                return Err(Error::EmptyPath);
            }
            let units: usize = e
                .path
                .iter()
                .map(|c| c.encode_utf16().count())
                .sum::<usize>()
                + e.path.len();
            if units > MAX_PATH_UNITS {
                return Err(Error::PathTooLong {
                    path: display(&e.path),
                    units,
                });
            }
            let mut cur = 0usize;
            for (depth, comp) in e.path.iter().enumerate() {
                let last = depth + 1 == e.path.len();
                let here = display(&e.path[..=depth]);
                check_name(comp).map_err(|reason| Error::InvalidName {
                    path: here.clone(),
                    reason,
                })?;
                let file = match (&e.kind, last) {
                    (EntryKind::File { size, source }, true) => {
                        if *size > MAX_FILE_SIZE {
                            return Err(Error::FileTooLarge {
                                path: here,
                                size: *size,
                            });
                        }
                        if let Source::Bytes(b) = source
                            && b.len() as u64 != *size
                        {
                            return Err(Error::BytesSizeMismatch {
                                path: here,
                                declared: *size,
                                actual: b.len() as u64,
                            });
                        }
                        Some((ei, *size))
                    }
                    _ => None,
                };
                let key = fold(comp);
                match index[cur].get(&key) {
                    Some(&n) => {
                        let node = &nodes[n];
                        if node.name != *comp {
                            return Err(Error::Duplicate {
                                path: here,
                                other: node.name.clone(),
                            });
                        }
                        match (node.is_dir(), file.is_some()) {
                            (true, false) => cur = n,
                            (false, false) | (true, true) => {
                                return Err(Error::FileDirConflict { path: here });
                            }
                            (false, true) => {
                                return Err(Error::Duplicate {
                                    path: here,
                                    other: node.name.clone(),
                                });
                            }
                        }
                    }
                    None => {
                        let id = nodes.len();
                        nodes.push(empty(
                            comp.clone(),
                            file.map(|f| f.0),
                            file.map_or(0, |f| f.1),
                            cur,
                        ));
                        index.push(HashMap::new());
                        index[cur].insert(key, id);
                        nodes[cur].children.push(id);
                        cur = id;
                    }
                }
            }
        }
        drop(index);
        let dir_count = nodes.iter().filter(|n| n.is_dir()).count();
        if dir_count > MAX_DIRS {
            return Err(Error::TooManyDirs { count: dir_count });
        }
        // Names and both sort orders.
        for d in 0..nodes.len() {
            if !nodes[d].is_dir() {
                continue;
            }
            let mut ch = std::mem::take(&mut nodes[d].children);
            ch.sort_by(|&a, &b| nodes[a].name.cmp(&nodes[b].name));
            let list: Vec<(&str, bool)> = ch
                .iter()
                .map(|&c| (nodes[c].name.as_str(), nodes[c].is_dir()))
                .collect();
            let ids = names::assign(&list).ok_or_else(|| Error::AliasesExhausted {
                path: path_of(&nodes, d),
            })?;
            for (&c, id) in ch.iter().zip(ids) {
                let n = &mut nodes[c];
                n.primary = id;
                n.joliet = names::joliet(&n.name, n.is_dir());
            }
            let mut chp = ch.clone();
            chp.sort_by(|&a, &b| {
                names::primary_key(&nodes[a].primary).cmp(names::primary_key(&nodes[b].primary))
            });
            nodes[d].children = ch;
            nodes[d].children_p = chp;
        }
        let bfs = |primary: bool| {
            let mut order = vec![0usize];
            let mut i = 0;
            while i < order.len() {
                let n = &nodes[order[i]];
                let ch = if primary { &n.children_p } else { &n.children };
                order.extend(ch.iter().copied().filter(|&c| nodes[c].is_dir()));
                i += 1;
            }
            order
        };
        let dirs_p = bfs(true);
        let dirs_j = bfs(false);
        // Files depth first without recursion (deep trees cannot overflow).
        let mut files = Vec::new();
        let mut stack = vec![0usize];
        while let Some(n) = stack.pop() {
            if !nodes[n].is_dir() {
                files.push(n);
            }
            stack.extend(nodes[n].children.iter().rev());
        }
        Ok(Tree {
            nodes,
            dirs_p,
            dirs_j,
            files,
        })
    }

    /// Sectors of folder `d`'s directory in the primary or Joliet tree.
    fn dir_sectors(&self, d: usize, primary: bool) -> u64 {
        let n = &self.nodes[d];
        if primary {
            dir_sectors(
                n.children_p
                    .iter()
                    .map(|&c| record_len(self.nodes[c].primary.len())),
            )
        } else {
            dir_sectors(
                n.children
                    .iter()
                    .map(|&c| record_len(self.nodes[c].joliet.len())),
            )
        }
    }

    /// Bytes of the primary or Joliet path table.
    fn path_table_bytes(&self, primary: bool) -> u64 {
        let dirs = if primary { &self.dirs_p } else { &self.dirs_j };
        dirs.iter()
            .map(|&d| {
                let n = &self.nodes[d];
                path_record_len(if primary {
                    n.primary.len()
                } else {
                    n.joliet.len()
                }) as u64
            })
            .sum()
    }
}

fn path_of(nodes: &[Node], d: usize) -> String {
    let mut parts = Vec::new();
    let mut n = d;
    while n != 0 {
        parts.push(nodes[n].name.clone());
        n = nodes[n].parent;
    }
    parts.reverse();
    if parts.is_empty() {
        "/".to_string()
    } else {
        parts.join("/")
    }
}

/// Everything [`write_image`] needs, computed up front.
#[derive(Debug, Clone)]
pub struct IsoLayout {
    /// Sectors of the whole image.
    sectors: u32,
    pub(crate) tree: Tree,
    /// Bytes of the primary and the Joliet path table.
    pub(crate) path_table_bytes: [u32; 2],
    /// First sector of: primary L, primary M, Joliet L, Joliet M.
    pub(crate) path_table_sectors: [u32; 4],
    pub(crate) label_primary: [u8; 32],
    pub(crate) label_joliet: [u8; 32],
    /// Number of entries of the volume it was made for.
    pub(crate) entry_count: usize,
}

impl IsoLayout {
    /// Bytes of the image (whole sectors).
    pub fn image_size(&self) -> u64 {
        self.sectors as u64 * SECTOR
    }
    /// Sectors of the image (the volume space size in the descriptors).
    pub fn sectors(&self) -> u32 {
        self.sectors
    }
}

/// Computes the complete layout of `vol`. Validates every name, size, path
/// and the label; reads no source.
pub fn layout(vol: &Volume) -> Result<IsoLayout, Error> {
    let (label_primary, label_joliet) = check_label(&vol.label)?;
    let mut tree = Tree::build(vol)?;
    let too_large = |sectors| Error::ImageTooLarge { sectors };
    let pt_p = tree.path_table_bytes(true);
    let pt_j = tree.path_table_bytes(false);
    let mut next = DESCRIPTOR_END;
    let mut pts = [0u32; 4];
    for (i, bytes) in [pt_p, pt_p, pt_j, pt_j].into_iter().enumerate() {
        pts[i] = next as u32; // small: at most 19 + 4 * 4,500 sectors
        next += bytes.div_ceil(SECTOR);
    }
    for primary in [true, false] {
        let dirs = if primary {
            tree.dirs_p.clone()
        } else {
            tree.dirs_j.clone()
        };
        for d in dirs {
            let s = tree.dir_sectors(d, primary);
            let bytes = u32::try_from(s * SECTOR).map_err(|_| Error::DirTooLarge {
                path: path_of(&tree.nodes, d),
            })?;
            let e = Extent {
                sector: u32::try_from(next).map_err(|_| too_large(next))?,
                bytes,
            };
            if primary {
                tree.nodes[d].dir_p = e;
            } else {
                tree.nodes[d].dir_j = e;
            }
            next += s;
        }
    }
    for i in 0..tree.files.len() {
        let f = tree.files[i];
        let size = tree.nodes[f].size;
        if size > 0 {
            tree.nodes[f].data = Extent {
                sector: u32::try_from(next).map_err(|_| too_large(next))?,
                bytes: size as u32, // checked <= MAX_FILE_SIZE in build
            };
            next += size.div_ceil(SECTOR);
        }
    }
    let sectors = u32::try_from(next).map_err(|_| too_large(next))?;
    Ok(IsoLayout {
        sectors,
        tree,
        path_table_bytes: [pt_p as u32, pt_j as u32],
        path_table_sectors: pts,
        label_primary,
        label_joliet,
        entry_count: vol.entries.len(),
    })
}

/// Exact size in bytes of the image of `vol` (what [`write_image`] writes).
pub fn image_size(vol: &Volume) -> Result<u64, Error> {
    Ok(layout(vol)?.image_size())
}

/// Lays out and writes in one call; returns the layout (its
/// [`IsoLayout::image_size`] is the number of bytes written).
pub fn build_image(vol: &Volume, out: &mut impl Write) -> Result<IsoLayout, Error> {
    let l = layout(vol)?;
    write_image(vol, &l, out)?;
    Ok(l)
}

// ---------------------------------------------------------------------------
// The planner's cost model.

/// Longest primary directory record: "NNNNNNNN.EEE;1" (14 bytes) -> 48.
const MAX_PRIMARY_RECORD: u64 = 48;
/// Longest record in either tree: a Joliet file of 64 units -> 166.
const MAX_RECORD: u64 = 166;
/// Bytes of records a directory sector surely holds: a sector is only left
/// for the next when a record (< MAX_RECORD bytes) does not fit.
const SURE_PER_SECTOR: u64 = SECTOR + 1 - MAX_RECORD;
/// Path table bytes of one non-root folder in all four tables: primary
/// records of at most 8 + 8, Joliet of at most 8 + 128, each twice (L, M).
const DIR_PATH_TABLE: u64 = 2 * (8 + 8) + 2 * (8 + 128);
/// Path table bytes of the root in all four tables.
const ROOT_PATH_TABLE: u64 = 4 * 10;
/// Sectors the model keeps out of the allocatable area: system area, three
/// descriptors, and one sector per path table for the rounding of the four
/// tables to whole sectors.
const FIXED_SECTORS: u64 = DESCRIPTOR_END + 4;

/// ISO 9660 + Joliet as [`layout`] builds it, for the planner
/// ([`crate::plan::plan_with`]): `IsoModel::new(v).map(|m| Box::new(m) as _)`.
///
/// The costs are upper bounds chosen so that the planner's sum never
/// under-estimates the image: if [`FsModel::layout_bytes`] of a set of files
/// is at most `figures().allocatable_bytes`, the image of those files is at
/// most `volume_bytes` (tested on random volumes).
/// - Outside the allocatable area: 23 sectors (system area, three
///   descriptors, and one sector per path table, which covers rounding
///   each of the four tables up to whole sectors).
/// - A file: its size rounded up to whole sectors.
/// - A name in its folder: the longest possible primary record (48 bytes)
///   plus the Joliet record of a file of that name (38 + 2 x UTF-16 units).
/// - A folder whose children's names cost `e`: its primary and Joliet
///   directories together take at most `floor((136 + e) / 1883) + 2`
///   sectors (each sector holds at least 1883 bytes of records, each tree
///   starts with 68 bytes of "." and ".."), plus its records in the four path
///   tables (40 bytes for the root, at most 304 for any other folder).
#[derive(Debug, Clone)]
pub struct IsoModel {
    figures: FsFigures,
}

impl IsoModel {
    /// The model of an ISO image of at most `volume_bytes` (whole sectors are
    /// used; a tail under 2048 bytes is ignored).
    pub fn new(volume_bytes: u64) -> Result<IsoModel, String> {
        let sectors = volume_bytes / SECTOR;
        if sectors > u32::MAX as u64 {
            return Err(format!(
                "{volume_bytes} bytes is more than an ISO 9660 volume can address"
            ));
        }
        // The smallest image: descriptors, path tables, two root directories.
        if sectors < FIXED_SECTORS + 2 {
            return Err(format!(
                "{volume_bytes} bytes is too small for an ISO 9660 image (at least {} bytes)",
                (FIXED_SECTORS + 2) * SECTOR
            ));
        }
        let allocatable = (sectors - FIXED_SECTORS) * SECTOR;
        Ok(IsoModel {
            figures: FsFigures {
                model: "iso9660+joliet".to_string(),
                volume_bytes: sectors * SECTOR,
                sector_bytes: SECTOR,
                cluster_bytes: SECTOR,
                clusters: sectors - FIXED_SECTORS,
                reserved_sectors: FIXED_SECTORS,
                fat_sectors: 0,
                fixed_overhead_bytes: FIXED_SECTORS * SECTOR,
                allocatable_bytes: allocatable,
            },
        })
    }
}

impl FsModel for IsoModel {
    fn figures(&self) -> FsFigures {
        self.figures.clone()
    }
    fn max_file_size(&self) -> u64 {
        MAX_FILE_SIZE
    }
    fn file_data_bytes(&self, size: u64) -> u64 {
        size.div_ceil(SECTOR) * SECTOR
    }
    fn entry_bytes(&self, name: &str) -> u64 {
        let units = name.encode_utf16().count() as u64;
        MAX_PRIMARY_RECORD + record_len(2 * units as usize + 4) as u64
    }
    fn dir_bytes(&self, child_entry_bytes: u64, root: bool) -> Option<u64> {
        let sectors = (2 * 68 + child_entry_bytes) / SURE_PER_SECTOR + 2;
        let tables = if root {
            ROOT_PATH_TABLE
        } else {
            DIR_PATH_TABLE
        };
        Some(sectors * SECTOR + tables)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lengths() {
        assert_eq!(record_len(1), 34);
        assert_eq!(record_len(14), 48);
        assert_eq!(record_len(128 + 4), MAX_RECORD as usize);
        assert_eq!(path_record_len(1), 10);
        assert_eq!(path_record_len(8), 16);
        assert_eq!(path_record_len(128), 136);
        assert_eq!(dir_sectors(std::iter::empty()), 1);
        // 2048 - 68 = 1980 bytes of 48-byte records: 41 fit (1968).
        assert_eq!(dir_sectors(std::iter::repeat_n(48, 41)), 1);
        assert_eq!(dir_sectors(std::iter::repeat_n(48, 42)), 2);
    }

    #[test]
    fn labels() {
        let (p, j) = check_label("Drop 7").unwrap();
        assert_eq!(&p[..7], b"DROP 7 ");
        assert_eq!(&j[..6], &[0, b'D', 0, b'r', 0, b'o']);
        assert_eq!(&j[30..], &[0, b' ']);
        assert!(check_label("").is_ok());
        assert!(check_label("사랑").is_err());
        assert!(check_label("ABCDEFGHIJKLMNOPQ").is_err());
        assert!(check_label("A/B").is_err());
    }

    #[test]
    fn model_costs() {
        let m = IsoModel::new(4_700_000_000).unwrap();
        let f = m.figures();
        assert_eq!(f.volume_bytes, 4_700_000_000 / 2048 * 2048);
        assert_eq!(f.allocatable_bytes + f.fixed_overhead_bytes, f.volume_bytes);
        assert_eq!(m.file_data_bytes(0), 0);
        assert_eq!(m.file_data_bytes(1), 2048);
        assert_eq!(m.file_data_bytes(2049), 4096);
        assert_eq!(m.entry_bytes("a"), 48 + 40);
        assert_eq!(m.dir_bytes(0, true), Some(2 * 2048 + 40));
        assert!(IsoModel::new(20 * 2048).is_err());
        for e in [0u64, 1, 1000, 5000, 1 << 20] {
            let b = m.dir_bytes(e, false).unwrap();
            assert!(b >= e);
            assert!(m.dir_bytes(e + 1, false).unwrap() >= b);
        }
    }
}
