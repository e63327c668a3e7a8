//! baram's streaming FAT32 image writer.
//!
//! [`layout`] computes the whole image (geometry, every cluster, every short
//! alias) from a [`Volume`] and an image size; [`write_image`] then writes it
//! strictly sequentially to any [`Write`] (a file, a block device, a pipe):
//! MBR (optional), reserved sectors, both FATs, directories, file data, and
//! zeros for the free space (so a reused card keeps nothing of its past).
//! Nothing is buffered beyond a few MiB, nothing seeks, and the bytes depend
//! only on the volume (names, sizes, contents, label, serial, timestamp),
//! never on entry order, host, time or thread count.
//!
//! # On-disk choices
//! - Sector 512 B. With `partition` (default) an MBR with one type-0x0C
//!   (FAT32 LBA) partition starting at 1 MiB and running to the image end; the
//!   disk signature is derived from `Volume::serial`. Without, a bare volume.
//! - 32 reserved sectors (boot sector 0, FSInfo 1, backups at 6 and 7), two
//!   FATs, root directory at cluster 2. The data region starts on a cluster
//!   boundary of the whole disk (the FATs are grown by a few sectors for
//!   that), so clusters line up with flash pages.
//! - Cluster size: the largest of 32 KiB, 16 KiB, ... 512 B that still gives
//!   at least [`MIN_CLUSTERS`] clusters (FAT32 needs >= 65,525; we keep a
//!   margin of 16 as Microsoft advises). So 32 KiB from about 2.1 GB up;
//!   small test images get smaller clusters; images below
//!   [`min_fat32_image_size`] are refused.
//! - Data layout: all directories first (depth-first, name order), then all
//!   files in the same order, each in CONTIGUOUS clusters; free space last.
//!   FSInfo holds the exact free count and the first free cluster as hint.
//! - Entries of a directory are sorted by name in Unicode code point order
//!   (= byte order of UTF-8, Rust's `str` order). Non-root directories start
//!   with "." and ".."; the root starts with the volume-label entry.
//! - Names: see [`names`] (LFN for everything but exact upper-case 8.3 names,
//!   ASCII short aliases with numeric tails).
//! - Every create/modify/access time is `Volume::timestamp` (odd seconds are
//!   kept in the create-time 10 ms field; the others have 2 s resolution).
//!
//! # Capacity accounting for the planner
//! The space a volume takes on an image is exactly
//! `usage(vol, cluster_size_for(image_size, partition)?)?.bytes()`, and it
//! fits iff that is `<= data_capacity(image_size, partition)?`. For
//! incremental planning the pieces are public: a file takes
//! [`file_bytes`]`(size, cluster)`; a directory takes
//! [`dir_bytes`]`(slots, cluster)` where `slots` is 2 ("." and "..") — or, for
//! the root, 1 if the label is non-empty, else 0 — plus [`entry_slots`]`(name)`
//! for every child. [`min_image_size`] gives the smallest image that holds a
//! volume.

pub(crate) mod names;
mod writer;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use crate::tree::{EntryKind, Source, Timestamp, Volume};

pub use writer::{write_image, write_image_file};

/// Largest file FAT32 can hold: 4 GiB - 1 byte.
pub const MAX_FILE_SIZE: u64 = 0xFFFF_FFFF;
/// Sector size of every image.
pub const SECTOR: u64 = 512;
/// Where the partition starts when there is an MBR: 1 MiB.
pub const PARTITION_OFFSET: u64 = 1 << 20;
/// Fewest clusters we make (FAT32 needs >= 65,525; +16 margin).
pub const MIN_CLUSTERS: u32 = 65_525 + 16;
/// Most clusters FAT32 allows.
pub const MAX_CLUSTERS: u32 = 0x0FFF_FFF5;
/// Largest cluster we use (larger ones are not read by everything).
pub const MAX_CLUSTER_SIZE: u32 = 32 * 1024;
/// Reserved sectors before the first FAT.
pub const RESERVED_SECTORS: u32 = 32;
/// Most entries a FAT directory may have (2 MiB of entries).
pub const MAX_DIR_SLOTS: u64 = 65_536;
/// Longest path (components joined with '\', in UTF-16 units) that Windows XP
/// programs can open: "X:\" + path + NUL must fit MAX_PATH = 260.
pub const MAX_PATH_UNITS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "image size {size} bytes is not a multiple of 512 bytes; give a size in whole sectors (e.g. in MiB)"
    )]
    UnalignedSize { size: u64 },
    #[error(
        "image size {size} bytes is too small for FAT32 ({what}); the minimum is {minimum} bytes ({} MiB)",
        minimum.div_ceil(1 << 20)
    )]
    ImageTooSmall {
        size: u64,
        minimum: u64,
        what: &'static str,
    },
    #[error("image size {size} bytes is too large: FAT32 volumes end at 2 TiB; use a smaller size")]
    ImageTooLarge { size: u64 },
    #[error(
        "file {path} is {size} bytes; FAT32 cannot hold files of 4 GiB (4294967296 bytes) or more: split or re-encode it"
    )]
    FileTooLarge { path: String, size: u64 },
    #[error(
        "the content needs {needed} bytes of clusters but a {image_size}-byte image holds {available} ({cluster_size}-byte clusters); the smallest image that holds it is {min_image_size} bytes"
    )]
    ContentTooLarge {
        needed: u64,
        available: u64,
        cluster_size: u32,
        image_size: u64,
        min_image_size: u64,
    },
    #[error("the content needs more than a 2 TiB FAT32 volume can hold")]
    ContentTooLargeForFat32,
    #[error("name {path:?} cannot be written to FAT: {reason}")]
    InvalidName { path: String, reason: String },
    #[error("an entry has an empty path; every file needs a name")]
    EmptyPath,
    #[error(
        "{path:?} is listed twice (FAT names are case-insensitive: also clashes with {other:?}); remove or rename one"
    )]
    Duplicate { path: String, other: String },
    #[error("{path:?} is both a file and a folder; rename one")]
    FileDirConflict { path: String },
    #[error(
        "path {path:?} is {units} UTF-16 units long; Windows XP programs open at most {MAX_PATH_UNITS}: shorten names or nest less"
    )]
    PathTooLong { path: String, units: usize },
    #[error(
        "folder {path:?} needs {slots} directory entries; FAT allows {MAX_DIR_SLOTS}: split it into subfolders"
    )]
    DirTooLarge { path: String, slots: u64 },
    #[error("folder {path:?} has too many names with the same 8.3 alias; split it into subfolders")]
    AliasesExhausted { path: String },
    #[error(
        "volume label {label:?} cannot be used on FAT: {reason} (use at most 11 ASCII letters, digits, spaces or !#$%&'()-@^_`{{}}~)"
    )]
    InvalidLabel { label: String, reason: &'static str },
    #[error("timestamp {ts:?} cannot be stored in FAT (years 1980-2107, a real date and time)")]
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

/// Options of the FAT32 writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fat32Options {
    /// An MBR with one partition at 1 MiB (true, the default) or a bare
    /// volume ("super floppy", false).
    pub partition: bool,
    /// 1 (default): everything in the calling thread; file data goes through
    /// `std::io::copy`, so when the output is a `File` the kernel copies it
    /// (copy_file_range, like `cp`), which measured fastest. 2 or more: one
    /// extra thread reads file data ahead in 4 MiB buffers while the caller's
    /// thread writes (may help slow sources with a non-file output). The
    /// bytes written are the same either way.
    pub threads: usize,
}

impl Default for Fat32Options {
    fn default() -> Self {
        Fat32Options {
            partition: true,
            threads: 1,
        }
    }
}

/// Geometry of the FAT32 volume inside an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes before the volume (1 MiB with an MBR, else 0).
    pub volume_offset: u64,
    /// Sectors of the volume (BPB_TotSec32).
    pub volume_sectors: u32,
    pub sectors_per_cluster: u32,
    /// Sectors of each of the two FATs.
    pub fat_sectors: u32,
    /// Number of data clusters (clusters 2 ..= cluster_count + 1).
    pub cluster_count: u32,
}

impl Geometry {
    pub fn cluster_size(&self) -> u32 {
        self.sectors_per_cluster * SECTOR as u32
    }
    /// First data sector, relative to the volume.
    pub fn data_start(&self) -> u32 {
        RESERVED_SECTORS + 2 * self.fat_sectors
    }
    /// Bytes of the data region usable for clusters.
    pub fn data_capacity(&self) -> u64 {
        self.cluster_count as u64 * self.cluster_size() as u64
    }

    /// Geometry for `volume_sectors` with `spc` sectors per cluster, or None
    /// if the cluster count would be out of FAT32's range.
    fn compute(volume_offset: u64, volume_sectors: u32, spc: u32) -> Option<Geometry> {
        Self::raw(volume_offset, volume_sectors, spc)
            .filter(|g| g.cluster_count >= MIN_CLUSTERS && g.cluster_count <= MAX_CLUSTERS)
    }

    /// Like `compute` without the cluster-count range check.
    fn raw(volume_offset: u64, volume_sectors: u32, spc: u32) -> Option<Geometry> {
        let vs = volume_sectors as u64;
        let spc64 = spc as u64;
        let rsvd = RESERVED_SECTORS as u64;
        if vs <= rsvd + 2 {
            return None;
        }
        // Upper bound for the FAT, then shrink to the smallest that covers
        // every cluster (each FAT sector holds 128 entries; 2 are reserved).
        let mut fat = ((vs - rsvd) / spc64 + 2).div_ceil(128);
        let clusters = |fat: u64| (vs.saturating_sub(rsvd + 2 * fat)) / spc64;
        while fat > 1 && (fat - 1) * 128 >= clusters(fat - 1) + 2 {
            fat -= 1;
        }
        // Start the data region on a cluster boundary of the disk.
        let off = volume_offset / SECTOR;
        let mut tries = 0;
        while !(off + rsvd + 2 * fat).is_multiple_of(spc64) && tries < spc64 {
            fat += 1;
            tries += 1;
        }
        if rsvd + 2 * fat >= vs {
            return None;
        }
        let count = clusters(fat);
        if count == 0 || fat * 128 < count + 2 {
            return None;
        }
        Some(Geometry {
            volume_offset,
            volume_sectors,
            sectors_per_cluster: spc,
            fat_sectors: u32::try_from(fat).ok()?,
            cluster_count: u32::try_from(count).ok()?,
        })
    }
}

/// Volume offset and sector count for an image size.
fn volume_extent(image_size: u64, partition: bool) -> Result<(u64, u32), Error> {
    if !image_size.is_multiple_of(SECTOR) {
        return Err(Error::UnalignedSize { size: image_size });
    }
    let offset = if partition { PARTITION_OFFSET } else { 0 };
    let min = min_fat32_image_size(partition);
    if image_size < min {
        return Err(Error::ImageTooSmall {
            size: image_size,
            minimum: min,
            what: "it would have fewer than 65,541 clusters of 512 bytes",
        });
    }
    let sectors = (image_size - offset) / SECTOR;
    let sectors = u32::try_from(sectors).map_err(|_| Error::ImageTooLarge { size: image_size })?;
    Ok((offset, sectors))
}

/// Geometry of an image of `image_size` bytes.
pub fn geometry(image_size: u64, partition: bool) -> Result<Geometry, Error> {
    let (offset, sectors) = volume_extent(image_size, partition)?;
    let mut spc = MAX_CLUSTER_SIZE / SECTOR as u32;
    while spc >= 1 {
        if let Some(g) = Geometry::compute(offset, sectors, spc) {
            return Ok(g);
        }
        spc /= 2;
    }
    Err(Error::ImageTooSmall {
        size: image_size,
        minimum: min_fat32_image_size(partition),
        what: "it would have too few clusters",
    })
}

/// The smallest image size (bytes) that makes a valid FAT32 volume.
pub fn min_fat32_image_size(partition: bool) -> u64 {
    let offset = if partition { PARTITION_OFFSET } else { 0 };
    // 512-byte clusters: data + two FATs + reserved, then step to the exact
    // first size that works.
    let mut s = MIN_CLUSTERS as u64 + RESERVED_SECTORS as u64 + 2 * (MIN_CLUSTERS as u64 + 2) / 128;
    while Geometry::compute(offset, s as u32, 1).is_none() {
        s += 1;
    }
    offset + s * SECTOR
}

/// Cluster size (bytes) the writer uses for an image of `image_size` bytes.
pub fn cluster_size_for(image_size: u64, partition: bool) -> Result<u32, Error> {
    Ok(geometry(image_size, partition)?.cluster_size())
}

/// Bytes of clusters available to directories and files on an image of
/// `image_size` bytes (cluster count x cluster size).
pub fn data_capacity(image_size: u64, partition: bool) -> Result<u64, Error> {
    Ok(geometry(image_size, partition)?.data_capacity())
}

/// Bytes of clusters a file of `size` bytes takes (0 for an empty file).
pub fn file_bytes(size: u64, cluster_size: u32) -> u64 {
    size.div_ceil(cluster_size as u64) * cluster_size as u64
}

/// Bytes of clusters a directory with `slots` 32-byte entries takes (at least
/// one cluster).
pub fn dir_bytes(slots: u64, cluster_size: u32) -> u64 {
    file_bytes((slots * 32).max(1), cluster_size)
}

/// Directory slots (32-byte entries) one file or folder named `name` takes
/// in its parent: 1, plus ceil(UTF-16 length / 13) unless the name is an
/// exact upper-case 8.3 name. Errors if the name cannot be on FAT.
pub fn entry_slots(name: &str) -> Result<u32, Error> {
    names::check_long_name(name).map_err(|reason| Error::InvalidName {
        path: name.to_string(),
        reason,
    })?;
    Ok(names::slots(name))
}

/// Space a volume takes in the data region of an image with a given cluster
/// size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub cluster_size: u32,
    /// Bytes of directory clusters (root included).
    pub dir_bytes: u64,
    /// Bytes of file clusters.
    pub file_bytes: u64,
}

impl Usage {
    pub fn bytes(&self) -> u64 {
        self.dir_bytes + self.file_bytes
    }
    pub fn clusters(&self) -> u64 {
        self.bytes() / self.cluster_size as u64
    }
}

/// Exact space `vol` takes with clusters of `cluster_size` bytes. Validates
/// every name, size and path like [`layout`].
pub fn usage(vol: &Volume, cluster_size: u32) -> Result<Usage, Error> {
    let tree = Tree::build(vol)?;
    Ok(tree.usage(cluster_size))
}

/// The smallest image size (a multiple of 512 bytes) that holds `vol`.
pub fn min_image_size(vol: &Volume, partition: bool) -> Result<u64, Error> {
    let tree = Tree::build(vol)?;
    tree.min_image_size(partition)
}

// ---------------------------------------------------------------------------
// The tree of a volume.

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) name: String,
    /// Index into `Volume::entries` for files; None for folders.
    pub(crate) file: Option<usize>,
    pub(crate) size: u64,
    pub(crate) parent: usize,
    pub(crate) children: Vec<usize>,
    pub(crate) short: [u8; 11],
    pub(crate) lfn: bool,
    pub(crate) first_cluster: u32,
    pub(crate) clusters: u32,
}

impl Node {
    fn is_dir(&self) -> bool {
        self.file.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Nodes in depth-first name order (root first).
    pub(crate) order: Vec<usize>,
    pub(crate) label: [u8; 11],
    pub(crate) has_label: bool,
}

fn display(path: &[String]) -> String {
    path.join("/")
}

fn check_label(label: &str) -> Result<[u8; 11], Error> {
    let bad = |reason| Error::InvalidLabel {
        label: label.to_string(),
        reason,
    };
    if !label.is_ascii() {
        return Err(bad("it is not ASCII"));
    }
    if label.len() > 11 {
        return Err(bad("it is longer than 11 characters"));
    }
    if label.starts_with(' ') {
        return Err(bad("it starts with a space"));
    }
    let mut out = [b' '; 11];
    for (i, b) in label.bytes().enumerate() {
        let u = b.to_ascii_uppercase();
        if !(u == b' '
            || u.is_ascii_uppercase()
            || u.is_ascii_digit()
            || b"!#$%&'()-@^_`{}~".contains(&u))
        {
            return Err(bad("it contains a character FAT labels do not allow"));
        }
        out[i] = u;
    }
    Ok(out)
}

pub(crate) fn check_timestamp(ts: &Timestamp) -> Result<(), Error> {
    let leap =
        ts.year.is_multiple_of(4) && (!ts.year.is_multiple_of(100) || ts.year.is_multiple_of(400));
    let days = match ts.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if !(1980..=2107).contains(&ts.year)
        || ts.day == 0
        || ts.day > days
        || ts.hour > 23
        || ts.minute > 59
        || ts.second > 59
    {
        return Err(Error::InvalidTimestamp { ts: *ts });
    }
    Ok(())
}

impl Tree {
    pub(crate) fn build(vol: &Volume) -> Result<Tree, Error> {
        let label = check_label(&vol.label)?;
        check_timestamp(&vol.timestamp)?;
        let mut nodes = vec![Node {
            name: String::new(),
            file: None,
            size: 0,
            parent: 0,
            children: Vec::new(),
            short: [b' '; 11],
            lfn: false,
            first_cluster: 0,
            clusters: 0,
        }];
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
                names::check_long_name(comp).map_err(|reason| Error::InvalidName {
                    path: here.clone(),
                    reason,
                })?;
                let key = names::fold(comp);
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
                            (true, false) => cur = n, // folder seen again: fine
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
                        nodes.push(Node {
                            name: comp.clone(),
                            file: file.map(|f| f.0),
                            size: file.map_or(0, |f| f.1),
                            parent: cur,
                            children: Vec::new(),
                            short: [b' '; 11],
                            lfn: false,
                            first_cluster: 0,
                            clusters: 0,
                        });
                        index.push(HashMap::new());
                        index[cur].insert(key, id);
                        nodes[cur].children.push(id);
                        cur = id;
                    }
                }
            }
        }
        // Sort children by name (code point order), assign short names,
        // check directory sizes.
        for d in 0..nodes.len() {
            if !nodes[d].is_dir() {
                continue;
            }
            let mut ch = std::mem::take(&mut nodes[d].children);
            ch.sort_by(|&a, &b| nodes[a].name.cmp(&nodes[b].name));
            let names: Vec<&str> = ch.iter().map(|&c| nodes[c].name.as_str()).collect();
            let path_of = |nodes: &[Node]| {
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
            };
            let shorts = names::assign(&names).ok_or_else(|| Error::AliasesExhausted {
                path: path_of(&nodes),
            })?;
            for (&c, (s, lfn)) in ch.iter().zip(shorts) {
                nodes[c].short = s;
                nodes[c].lfn = lfn;
            }
            nodes[d].children = ch;
        }
        let has_label = vol.label.bytes().any(|b| b != b' ');
        let mut tree = Tree {
            nodes,
            order: Vec::new(),
            label,
            has_label,
        };
        for d in 0..tree.nodes.len() {
            if tree.nodes[d].is_dir() {
                let slots = tree.dir_slots(d);
                if slots > MAX_DIR_SLOTS {
                    let mut parts = Vec::new();
                    let mut n = d;
                    while n != 0 {
                        parts.push(tree.nodes[n].name.clone());
                        n = tree.nodes[n].parent;
                    }
                    parts.reverse();
                    return Err(Error::DirTooLarge {
                        path: if parts.is_empty() {
                            "/".into()
                        } else {
                            parts.join("/")
                        },
                        slots,
                    });
                }
            }
        }
        // Depth-first order without recursion (deep trees cannot overflow).
        let mut stack = vec![0usize];
        while let Some(n) = stack.pop() {
            tree.order.push(n);
            stack.extend(tree.nodes[n].children.iter().rev());
        }
        Ok(tree)
    }

    /// 32-byte slots of directory `d`.
    pub(crate) fn dir_slots(&self, d: usize) -> u64 {
        let own = if d == 0 { self.has_label as u64 } else { 2 };
        own + self.nodes[d]
            .children
            .iter()
            .map(|&c| names::slots(&self.nodes[c].name) as u64)
            .sum::<u64>()
    }

    fn usage(&self, cluster_size: u32) -> Usage {
        let mut u = Usage {
            cluster_size,
            dir_bytes: 0,
            file_bytes: 0,
        };
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_dir() {
                u.dir_bytes += dir_bytes(self.dir_slots(i), cluster_size);
            } else {
                u.file_bytes += file_bytes(n.size, cluster_size);
            }
        }
        u
    }

    fn fits(&self, image_size: u64, partition: bool) -> bool {
        match geometry(image_size, partition) {
            Ok(g) => self.usage(g.cluster_size()).bytes() <= g.data_capacity(),
            Err(_) => false,
        }
    }

    fn min_image_size(&self, partition: bool) -> Result<u64, Error> {
        let offset = if partition { PARTITION_OFFSET } else { 0 };
        let lo_all = min_fat32_image_size(partition) / SECTOR;
        let hi_all = (offset / SECTOR) + u32::MAX as u64;
        let mut best: Option<u64> = None;
        // For each cluster size, the smallest volume whose capacity with that
        // cluster size covers the content; keep the smallest such size at
        // which the writer really picks that cluster size and fits.
        let mut spc = 1u32;
        while spc <= MAX_CLUSTER_SIZE / SECTOR as u32 {
            let need = self.usage(spc * SECTOR as u32).bytes();
            let ok = |s: u64| {
                Geometry::raw(offset, (s - offset / SECTOR) as u32, spc)
                    .is_some_and(|g| g.data_capacity() >= need)
            };
            if ok(hi_all) {
                let (mut lo, mut hi) = (lo_all, hi_all);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if ok(mid) {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                // Capacity is monotone up to a one-cluster wobble where the
                // FAT grows: step forward to a size that really fits.
                let mut s = lo;
                let mut steps = 0;
                while !self.fits(s * SECTOR, partition) && steps < 4096 {
                    s += 1;
                    steps += 1;
                }
                if self.fits(s * SECTOR, partition) && best.is_none_or(|b| s * SECTOR < b) {
                    best = Some(s * SECTOR);
                }
            }
            spc *= 2;
        }
        best.ok_or(Error::ContentTooLargeForFat32)
    }

    /// Assigns clusters: directories first, then files, in `order`.
    fn assign_clusters(&mut self, cluster_size: u32) -> u64 {
        let mut next: u64 = 2;
        let order = self.order.clone();
        for pass_dirs in [true, false] {
            for &n in &order {
                if self.nodes[n].is_dir() != pass_dirs {
                    continue;
                }
                let bytes = if pass_dirs {
                    dir_bytes(self.dir_slots(n), cluster_size)
                } else {
                    file_bytes(self.nodes[n].size, cluster_size)
                };
                let count = bytes / cluster_size as u64;
                let node = &mut self.nodes[n];
                node.clusters = count as u32;
                node.first_cluster = if count == 0 { 0 } else { next as u32 };
                next += count;
            }
        }
        next - 2
    }
}

/// Everything [`write_image`] needs, computed up front.
#[derive(Debug, Clone)]
pub struct Layout {
    pub image_size: u64,
    pub options: Fat32Options,
    pub geometry: Geometry,
    /// Clusters holding directories and files.
    pub used_clusters: u32,
    pub(crate) tree: Tree,
    /// Number of entries of the volume it was made for.
    pub(crate) entry_count: usize,
}

impl Layout {
    pub fn cluster_size(&self) -> u32 {
        self.geometry.cluster_size()
    }
    /// Free clusters, as written in FSInfo.
    pub fn free_clusters(&self) -> u32 {
        self.geometry.cluster_count - self.used_clusters
    }
    /// The partition/volume serial and the MBR disk signature.
    pub(crate) fn disk_signature(serial: u32) -> u32 {
        let k = blake3::derive_key(
            "baram drop fat32 2025-01 MBR disk signature",
            &serial.to_le_bytes(),
        );
        let s = u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
        // Windows writes its own signature onto a disk whose signature is 0.
        if s == 0 { 1 } else { s }
    }
}

/// Computes the complete layout of `vol` on an image of `image_size` bytes.
pub fn layout(vol: &Volume, image_size: u64, opts: &Fat32Options) -> Result<Layout, Error> {
    let geometry = geometry(image_size, opts.partition)?;
    let mut tree = Tree::build(vol)?;
    let cs = geometry.cluster_size();
    let u = tree.usage(cs);
    if u.bytes() > geometry.data_capacity() {
        return Err(Error::ContentTooLarge {
            needed: u.bytes(),
            available: geometry.data_capacity(),
            cluster_size: cs,
            image_size,
            min_image_size: tree.min_image_size(opts.partition)?,
        });
    }
    let used = tree.assign_clusters(cs);
    debug_assert_eq!(used * cs as u64, u.bytes());
    Ok(Layout {
        image_size,
        options: opts.clone(),
        geometry,
        used_clusters: used as u32,
        tree,
        entry_count: vol.entries.len(),
    })
}

/// Lays out and writes in one call.
pub fn build_image(
    vol: &Volume,
    image_size: u64,
    opts: &Fat32Options,
    out: &mut impl Write,
) -> Result<Layout, Error> {
    let l = layout(vol, image_size, opts)?;
    write_image(vol, &l, out)?;
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_sizes() {
        let mib = 1u64 << 20;
        assert_eq!(cluster_size_for(64 * mib, true).unwrap(), 512);
        assert_eq!(cluster_size_for(100 * mib, true).unwrap(), 1024);
        assert_eq!(cluster_size_for(300 * mib, true).unwrap(), 4096);
        assert_eq!(cluster_size_for(4096 * mib, true).unwrap(), 32768);
        assert_eq!(cluster_size_for(32_000 * mib, true).unwrap(), 32768);
        let min = min_fat32_image_size(true);
        assert!(cluster_size_for(min, true).is_ok());
        assert!(matches!(
            cluster_size_for(min - 512, true),
            Err(Error::ImageTooSmall { .. })
        ));
        assert!(matches!(
            cluster_size_for(min + 1, true),
            Err(Error::UnalignedSize { .. })
        ));
    }

    #[test]
    fn geometry_sweep_is_valid_and_aligned() {
        // Many sizes around every cluster-size threshold.
        for partition in [false, true] {
            let min = min_fat32_image_size(partition);
            let mut s = min;
            while s < (9u64 << 30) {
                let g = geometry(s, partition).unwrap();
                assert!(g.cluster_count >= MIN_CLUSTERS);
                assert!(g.fat_sectors as u64 * 128 >= g.cluster_count as u64 + 2);
                let abs = g.volume_offset / SECTOR + g.data_start() as u64;
                assert_eq!(abs % g.sectors_per_cluster as u64, 0);
                assert!(
                    g.data_start() as u64 + g.cluster_count as u64 * g.sectors_per_cluster as u64
                        <= g.volume_sectors as u64
                );
                s = s * 1009 / 1000 / 512 * 512 + 512;
            }
        }
    }

    #[test]
    fn label_and_timestamp_checks() {
        assert_eq!(&check_label("drop 1").unwrap(), b"DROP 1     ");
        assert!(check_label("사랑").is_err());
        assert!(check_label("ABCDEFGHIJKL").is_err());
        assert!(check_label("A.B").is_err());
        assert!(check_timestamp(&Timestamp::default()).is_ok());
        let mut t = Timestamp {
            month: 2,
            day: 30,
            ..Default::default()
        };
        assert!(check_timestamp(&t).is_err());
        t.day = 1;
        t.year = 1979;
        assert!(check_timestamp(&t).is_err());
    }
}
