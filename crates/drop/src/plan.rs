//! The drop planner: which library items go on a medium.
//!
//! # Problem
//!
//! Given candidates (id, size after conversion, curator value 1–100, optional
//! series + episode, tags, kind, on-volume file name) and a medium, choose the
//! set with the most curator value that fits. A series goes in whole or not at
//! all, so it is one *group*; every other item is a group of its own.
//!
//! # Capacity
//!
//! `volume = nominal - margin` (margin default 3 %, rounded up to whole bytes,
//! the volume rounded down to whole sectors). The file system laid out on that
//! volume ([`FsModel`], FAT32 by default: [`Fat32Model`]) leaves `allocatable`
//! bytes of clusters; the chosen files cost their cluster-rounded data plus
//! the cluster-rounded directories that list them (one folder per kind, the
//! root directory in the data area). The final check recomputes the exact
//! layout cost from scratch ([`FsModel::layout_bytes`]) and the plan is refused
//! (an internal error) if it does not fit, so no plan can overflow its volume.
//!
//! # Method
//!
//! Groups are sorted by value density (value per byte of *linear* cost: data
//! clusters + directory-entry bytes), ties broken by a key derived from the
//! seed, then by the group key, so input order never matters.
//!
//! * Small instances (at most [`CORE`] groups) are solved exactly by
//!   depth-first branch and bound: feasibility of every node is checked with
//!   the exact, non-linear file-system cost; the bound is the LP relaxation
//!   (fractional knapsack) over the linear costs, which never exceed the exact
//!   ones, so pruning is sound. The search has a node budget (deterministic:
//!   counted, not timed); a plan says whether it finished (`proven_optimal`).
//!   Runs of identical groups (same value and file costs) are searched only
//!   as prefixes, so a library of many equal items does not blow up.
//! * Large instances use the *core* method: the linear greedy prefix breaks at
//!   some group `b`; groups well before it are fixed in, a window of [`CORE`]
//!   groups around `b` is solved by the same branch and bound, and every group
//!   still out is then tried in density order (exact fill). The result is
//!   compared with plain greedy fill and the better one kept.
//! * Every variant reports the LP bound (floored: values are integers, so the
//!   floor is still an upper bound) of its own problem, so the gap is proven,
//!   not assumed.
//!
//! # Variants
//!
//! With N variants each variant is a full plan of the same medium, built in
//! turn. Variant `k` first maximises the value of the groups no earlier
//! variant holds (*coverage first*), then, with that choice fixed, fills the
//! space left with already covered groups, again maximising value. So every
//! eligible group goes out on at least one variant whenever the uncovered
//! groups fit, and no space is left idle. Variant 0 is the plain optimum.

use crate::tree::{Entry, EntryKind, Source, Timestamp, Volume};
use baram_library::Kind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

/// Groups solved exactly by branch and bound in one go (the whole instance
/// when it has at most this many groups, else a window around the break).
pub const CORE: usize = 160;
/// Branch-and-bound node budget per solve.
pub const NODE_BUDGET: u64 = 1_500_000;
/// FAT32 refuses files of 4 GiB and more.
pub const FAT32_MAX_FILE: u64 = crate::fat32::MAX_FILE_SIZE;
/// At most this many variants in one plan.
pub const MAX_VARIANTS: u32 = 1000;
/// Plan format version, in every plan.
pub const PLAN_FORMAT: u32 = 2;

/// Planner errors: bad inputs, each naming the argument or item and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unknown medium {0:?}: use sd-8g, usb-16g, sd-32g, dvd-4.7g or an exact byte count such as 8000000000"
    )]
    UnknownMedium(String),
    #[error("the number of variants must be between 1 and {MAX_VARIANTS}, not {0}")]
    Variants(u32),
    #[error("the safety margin must be between 0% and 50%, not {0}%")]
    Margin(f64),
    #[error("item {id}: value {value} is outside 1-100: set the curator value with `baram tag`")]
    Value { id: i64, value: u8 },
    #[error("item {0} is listed twice among the candidates: list each item once")]
    DuplicateId(i64),
    #[error("item {id}: file name {name:?} cannot go on the volume: {why}")]
    BadName { id: i64, name: String, why: String },
    #[error(
        "items {a} and {b} would both be {folder}/{name:?} (names differ only in case or not at all): give them distinct names"
    )]
    DuplicateName {
        a: i64,
        b: i64,
        folder: String,
        name: String,
    },
    #[error(
        "item {id} is {size} bytes: FAT32 cannot hold a file of 4 GiB (4294967296 bytes) or more; split or re-encode it below 4 GiB, leave it out of the candidates, or plan with oversize = skip"
    )]
    FileTooLarge { id: i64, size: u64 },
    #[error("item {id}: series {series:?} has no episode number: number every episode of a series")]
    MissingEpisode { id: i64, series: String },
    #[error("medium {medium}: {why}")]
    Medium { medium: String, why: String },
    #[error(
        "timestamp {0:?} cannot be written in FAT: use a valid date and time between 1980-01-01 and 2107-12-31"
    )]
    Timestamp(Timestamp),
    #[error("plan JSON: {0}")]
    Json(String),
    #[error(
        "plan hash mismatch: the plan says {stated} but its content hashes to {actual}; the plan was edited, make it again"
    )]
    Hash { stated: String, actual: String },
    #[error("variant {0} does not exist in this plan")]
    NoVariant(usize),
    #[error(
        "root file {0:?} cannot be reserved: give each index file a distinct name that is not a kind folder, under 4 GiB"
    )]
    RootFile(String),
    #[error("internal error: {0}; please report it")]
    Internal(String),
}

// ---------------------------------------------------------------------------
// Media

/// A medium: its name and nominal size in bytes (decimal: 8 GB = 8e9 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medium {
    /// `sd-8g`, `usb-16g`, `sd-32g`, `dvd-4.7g`, or `bytes` for an exact size.
    pub name: String,
    pub nominal_bytes: u64,
}

/// The named media.
pub const MEDIA: [(&str, u64); 4] = [
    ("sd-8g", 8_000_000_000),
    ("usb-16g", 16_000_000_000),
    ("sd-32g", 32_000_000_000),
    ("dvd-4.7g", 4_700_000_000),
];

impl Medium {
    /// A named medium or an exact byte count (digits, `_` allowed).
    pub fn parse(s: &str) -> Result<Medium, Error> {
        let t = s.trim();
        if let Some((name, bytes)) = MEDIA.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) {
            return Ok(Medium {
                name: (*name).to_string(),
                nominal_bytes: *bytes,
            });
        }
        let digits: String = t.chars().filter(|c| *c != '_').collect();
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return match digits.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Medium {
                    name: "bytes".to_string(),
                    nominal_bytes: n,
                }),
                _ => Err(Error::UnknownMedium(s.to_string())),
            };
        }
        Err(Error::UnknownMedium(s.to_string()))
    }
}

impl fmt::Display for Medium {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == "bytes" {
            write!(f, "{} bytes", self.nominal_bytes)
        } else {
            write!(f, "{}", self.name)
        }
    }
}

// ---------------------------------------------------------------------------
// File-system cost model

/// Figures of a laid-out file system, recorded in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsFigures {
    /// Model name, e.g. `fat32`.
    pub model: String,
    pub volume_bytes: u64,
    pub sector_bytes: u64,
    pub cluster_bytes: u64,
    pub clusters: u64,
    pub reserved_sectors: u64,
    pub fat_sectors: u64,
    /// Bytes not available to files or folders: boot area, FATs, the tail
    /// that makes no whole cluster.
    pub fixed_overhead_bytes: u64,
    /// Bytes of clusters for files and folders (root included).
    pub allocatable_bytes: u64,
}

/// What the planner needs to know about the file system that will be built.
/// Replace [`Fat32Model`] by the writer's own exact functions when they exist.
///
/// Costs must satisfy: `file_data_bytes` and `dir_bytes` are monotone, and
/// `dir_bytes(e, _) >= e` (a directory is at least as large as its entries),
/// so the linear cost `file_data_bytes + entry_bytes` never exceeds a file's
/// exact marginal cost summed over a layout. The planner's bounds rely on it.
pub trait FsModel {
    fn figures(&self) -> FsFigures;
    /// Largest file the file system holds.
    fn max_file_size(&self) -> u64;
    /// Bytes of clusters a file of `size` bytes takes.
    fn file_data_bytes(&self, size: u64) -> u64;
    /// Bytes of directory entries for one name in its folder.
    fn entry_bytes(&self, name: &str) -> u64;
    /// Bytes of clusters a directory takes whose children's entries take
    /// `child_entry_bytes`; `None` when a directory cannot hold that many.
    fn dir_bytes(&self, child_entry_bytes: u64, root: bool) -> Option<u64>;

    /// Linear cost of one file: data plus its directory entries.
    fn file_cost(&self, name: &str, size: u64) -> u64 {
        self.file_data_bytes(size) + self.entry_bytes(name)
    }

    /// Exact bytes of the allocatable area a whole layout uses, computed from
    /// scratch: files given by path components below the root and size.
    /// Folders are implied by the paths. `Err` names what cannot be laid out.
    fn layout_bytes(&self, files: &[(Vec<String>, u64)]) -> Result<u64, String> {
        // Every directory (path prefix) -> entry bytes of its children; every
        // path (file or folder) seen once. Borrowed slices: no copies.
        let mut dirs: HashMap<&[String], u64> = HashMap::new();
        let mut seen: HashSet<&[String]> = HashSet::new();
        dirs.insert(&[], 0);
        let mut data = 0u64;
        for (path, size) in files {
            if path.is_empty() {
                return Err("a file with an empty path".into());
            }
            if *size > self.max_file_size() {
                return Err(format!(
                    "{} is {size} bytes, over the limit",
                    path.join("/")
                ));
            }
            data += self.file_data_bytes(*size);
            for depth in 1..=path.len() {
                let p = &path[..depth];
                if seen.insert(p) {
                    *dirs.entry(&path[..depth - 1]).or_insert(0) +=
                        self.entry_bytes(&path[depth - 1]);
                    if depth < path.len() {
                        dirs.entry(p).or_insert(0);
                    }
                } else if depth == path.len() {
                    return Err(format!("{} is listed twice", path.join("/")));
                }
            }
        }
        let mut total = data;
        let mut full: Vec<String> = Vec::new();
        for (p, e) in &dirs {
            match self.dir_bytes(*e, p.is_empty()) {
                Some(b) => total += b,
                None => full.push(format!("folder /{} has too many entries", p.join("/"))),
            }
        }
        // The same message whatever the hash order.
        match full.into_iter().min() {
            Some(m) => Err(m),
            None => Ok(total),
        }
    }
}

/// FAT32 exactly as the drop writer ([`crate::fat32`]) lays it out: the
/// geometry (cluster size, FAT size, data area aligned to whole clusters of
/// the disk) comes from [`crate::fat32::geometry`], names cost
/// [`crate::fat32::entry_slots`] 32-byte slots, directories are rounded up
/// to whole clusters (at least one), subdirectories hold `.` and `..`, the
/// root the volume-label entry, and the final check of a plan
/// ([`FsModel::layout_bytes`]) is [`crate::fat32::usage`] itself. So a plan
/// cannot disagree with the image built from it.
#[derive(Debug, Clone)]
pub struct Fat32Model {
    figures: FsFigures,
    partition: bool,
    label: bool,
}

impl Fat32Model {
    /// The layout of a FAT32 image of `image_bytes` (rounded down to whole
    /// sectors): with an MBR and the partition at 1 MiB when `partition`,
    /// else a bare volume. `label`: whether the root holds a volume label.
    pub fn new(image_bytes: u64, partition: bool, label: bool) -> Result<Fat32Model, String> {
        use crate::fat32;
        let size = image_bytes / fat32::SECTOR * fat32::SECTOR;
        let g = fat32::geometry(size, partition).map_err(|e| e.to_string())?;
        let allocatable = g.data_capacity();
        Ok(Fat32Model {
            figures: FsFigures {
                model: "fat32".to_string(),
                volume_bytes: size,
                sector_bytes: fat32::SECTOR,
                cluster_bytes: u64::from(g.cluster_size()),
                clusters: u64::from(g.cluster_count),
                reserved_sectors: u64::from(fat32::RESERVED_SECTORS),
                fat_sectors: u64::from(g.fat_sectors),
                fixed_overhead_bytes: size - allocatable,
                allocatable_bytes: allocatable,
            },
            partition,
            label,
        })
    }

    /// Whether the image has an MBR and a partition at 1 MiB.
    pub fn partition(&self) -> bool {
        self.partition
    }
}

impl FsModel for Fat32Model {
    fn figures(&self) -> FsFigures {
        self.figures.clone()
    }
    fn max_file_size(&self) -> u64 {
        FAT32_MAX_FILE
    }
    fn file_data_bytes(&self, size: u64) -> u64 {
        crate::fat32::file_bytes(size, self.figures.cluster_bytes as u32)
    }
    fn entry_bytes(&self, name: &str) -> u64 {
        32 * u64::from(crate::fat32::names::slots(name))
    }
    fn dir_bytes(&self, child_entry_bytes: u64, root: bool) -> Option<u64> {
        let own = if root { u64::from(self.label) } else { 2 };
        let slots = child_entry_bytes.div_ceil(32) + own;
        if slots > crate::fat32::MAX_DIR_SLOTS {
            return None;
        }
        Some(crate::fat32::dir_bytes(
            slots,
            self.figures.cluster_bytes as u32,
        ))
    }
    /// The writer's own count: a volume of these files (no bytes read).
    fn layout_bytes(&self, files: &[(Vec<String>, u64)]) -> Result<u64, String> {
        let vol = Volume {
            label: if self.label {
                "L".into()
            } else {
                String::new()
            },
            timestamp: Timestamp::default(),
            serial: 0,
            entries: files
                .iter()
                .map(|(path, size)| Entry {
                    path: path.clone(),
                    kind: EntryKind::File {
                        size: *size,
                        source: Source::Path(std::path::PathBuf::new()),
                    },
                })
                .collect(),
        };
        crate::fat32::usage(&vol, self.figures.cluster_bytes as u32)
            .map(|u| u.bytes())
            .map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------
// Requests

/// One candidate item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: i64,
    /// Bytes of the file as it will be written (after conversion).
    pub size: u64,
    /// Curator value, 1–100.
    pub value: u8,
    #[serde(default)]
    pub series: Option<String>,
    #[serde(default)]
    pub episode: Option<u32>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(with = "kind_serde")]
    pub kind: Kind,
    /// File name on the volume (in the folder of its kind), made by the
    /// caller, e.g. from the title and the converted format's extension.
    /// Its length counts in the directory cost, so it is known before planning.
    pub name: String,
    /// Carried into the plan unchanged: what the build and the index need.
    #[serde(default)]
    pub meta: ItemMeta,
    /// Files that go beside this one, in the same folder, named like it
    /// with another extension (a video's `.srt`). They go with it or not at
    /// all, and their space counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<Sidecar>,
}

/// A file that travels with a candidate (see [`Candidate::sidecars`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Extension, without the dot (`srt`).
    pub ext: String,
    pub size: u64,
    /// BLAKE3 (hex) of its bytes.
    pub hash: String,
}

impl Candidate {
    /// The on-volume names of its sidecars: its name with each extension.
    pub fn sidecar_names(&self) -> Vec<String> {
        sidecar_names(&self.name, &self.sidecars)
    }
}

fn sidecar_names(name: &str, sidecars: &[Sidecar]) -> Vec<String> {
    let stem = match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    };
    sidecars
        .iter()
        .map(|s| format!("{stem}.{}", s.ext))
        .collect()
}

/// Facts about an item that the planner does not use but the plan records,
/// so that the plan alone determines the image (the bytes to write are
/// named by hash; the index lists titles).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemMeta {
    /// BLAKE3 (hex) of the exact bytes that go on the volume (the library
    /// blob, or its converted copy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl Candidate {
    /// A candidate named `<id>.bin`, no series, no tags (handy in tests).
    pub fn new(id: i64, size: u64, value: u8, kind: Kind) -> Candidate {
        Candidate {
            id,
            size,
            value,
            series: None,
            episode: None,
            tags: Vec::new(),
            kind,
            name: format!("{id}.bin"),
            meta: ItemMeta::default(),
            sidecars: Vec::new(),
        }
    }
}

/// What to do with a file of 4 GiB or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Oversize {
    /// Refuse to plan ([`Error::FileTooLarge`]), naming the item.
    #[default]
    Refuse,
    /// Leave it out, explained.
    Skip,
}

/// Everything the planner takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    pub candidates: Vec<Candidate>,
    /// `sd-8g`, `usb-16g`, `sd-32g`, `dvd-4.7g` or an exact byte count.
    pub medium: String,
    /// Number of distinct variants (default 1).
    pub variants: u32,
    /// Breaks ties among equally dense candidates; nothing else.
    pub seed: u64,
    /// An item must carry at least one of these tags (if any are given).
    pub include_any: Vec<String>,
    /// An item carrying any of these tags is left out.
    pub exclude: Vec<String>,
    /// Safety margin in percent of the nominal size, 0–50 (default 3).
    pub margin_percent: f64,
    /// Passed through to the plan (the conversion profile's name).
    pub profile: String,
    /// Timestamp of every file and folder on the volume.
    pub timestamp: Timestamp,
    pub oversize: Oversize,
    /// Whether the volume gets a label (an entry in the root directory).
    pub label: bool,
    /// FAT32 images: an MBR with the partition at 1 MiB (default) or a bare
    /// volume. The image is the whole medium minus the margin either way.
    pub partition: bool,
    /// Files the caller puts in the root besides the items (index.html and
    /// its data): name and the most bytes each can take. Their space is
    /// reserved on every variant.
    pub root_files: Vec<RootFile>,
}

/// A file in the volume's root that is not a library item (the offline
/// index and its data). `max_size` bounds the real size: the build refuses
/// a root file larger than what the plan reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFile {
    pub name: String,
    pub max_size: u64,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            candidates: Vec::new(),
            medium: "sd-8g".to_string(),
            variants: 1,
            seed: 0,
            include_any: Vec::new(),
            exclude: Vec::new(),
            margin_percent: 3.0,
            profile: String::new(),
            timestamp: Timestamp::default(),
            oversize: Oversize::Refuse,
            label: true,
            partition: true,
            root_files: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Plans

/// Capacity figures of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub nominal_bytes: u64,
    /// Margin in hundredths of a percent (300 = 3 %).
    pub margin_basis_points: u32,
    pub margin_bytes: u64,
    pub fs: FsFigures,
}

/// One file of a variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    pub id: i64,
    pub size: u64,
    pub value: u8,
    /// Path below the root: `[kind folder, file name]`.
    pub path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<u32>,
    #[serde(with = "kind_serde")]
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub meta: ItemMeta,
    /// Files beside it (same folder), in the order of the candidate's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<PlannedSidecar>,
}

/// A sidecar on the volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSidecar {
    pub path: Vec<String>,
    pub size: u64,
    pub hash: String,
}

impl PlannedFile {
    /// Its path and size, and every sidecar's.
    pub fn all_files(&self) -> impl Iterator<Item = (&Vec<String>, u64)> {
        std::iter::once((&self.path, self.size))
            .chain(self.sidecars.iter().map(|s| (&s.path, s.size)))
    }
}

/// One variant: a full volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub index: u32,
    /// Sum of the chosen items' values.
    pub value: u64,
    /// Of it, the value of groups no earlier variant holds.
    pub new_value: u64,
    /// LP-relaxation bound (floored) on the value this variant could reach:
    /// for variant 0 the bound on the whole problem.
    pub lp_bound: u64,
    /// Branch and bound finished over the whole instance: `value` is optimal.
    pub proven_optimal: bool,
    pub files_count: u64,
    /// Sum of file sizes.
    pub file_bytes: u64,
    /// Cluster-rounded file data.
    pub data_bytes: u64,
    /// Cluster-rounded directories, root included.
    pub directory_bytes: u64,
    /// `data_bytes + directory_bytes`, exact, at most `allocatable_bytes`.
    pub used_bytes: u64,
    pub free_bytes: u64,
    /// Sorted by path.
    pub files: Vec<PlannedFile>,
}

/// A plan: fully determines every image. Same inputs, byte-identical JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub profile: String,
    pub medium: Medium,
    pub seed: u64,
    pub include_any: Vec<String>,
    pub exclude: Vec<String>,
    pub capacity: Capacity,
    pub timestamp: Timestamp,
    pub label: bool,
    /// FAT32: MBR and partition (true) or a bare volume.
    #[serde(default = "yes")]
    pub partition: bool,
    /// Root files reserved besides the items, sorted by name.
    #[serde(default)]
    pub root_files: Vec<RootFile>,
    pub variants: Vec<Variant>,
    /// BLAKE3 (hex) of the compact JSON of the plan without this field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl Plan {
    /// The canonical JSON: pretty, two-space indent, trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a plan and checks its hash.
    pub fn from_json(s: &str) -> Result<Plan, Error> {
        let p: Plan = serde_json::from_str(s).map_err(|e| Error::Json(e.to_string()))?;
        let actual = p.compute_hash();
        if actual != p.hash {
            return Err(Error::Hash {
                stated: p.hash,
                actual,
            });
        }
        Ok(p)
    }

    /// BLAKE3 of the compact JSON without the hash field.
    pub fn compute_hash(&self) -> String {
        let mut bare = self.clone();
        bare.hash.clear();
        let bytes = serde_json::to_vec(&bare).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Volume serial number of variant `k`, derived from what the volume
    /// holds (paths, sizes and content hashes of its files, the reserved
    /// root files, the timestamp), not from item ids: the same content makes
    /// the same serial whatever order it was added to the library in.
    pub fn volume_serial(&self, k: usize) -> u32 {
        let mut h = blake3::Hasher::new();
        h.update(b"baram drop volume serial 2\0");
        let mut put = |b: &[u8]| {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        };
        put(&serde_json::to_vec(&self.timestamp).unwrap_or_default());
        put(&(k as u64).to_le_bytes());
        if let Some(v) = self.variants.get(k) {
            for f in &v.files {
                for c in &f.path {
                    put(c.as_bytes());
                }
                put(&f.size.to_le_bytes());
                put(f.meta.hash.as_bytes());
                for sc in &f.sidecars {
                    for c in &sc.path {
                        put(c.as_bytes());
                    }
                    put(&sc.size.to_le_bytes());
                    put(sc.hash.as_bytes());
                }
            }
        }
        for r in &self.root_files {
            put(r.name.as_bytes());
            put(&r.max_size.to_le_bytes());
        }
        let b = h.finalize();
        let b = b.as_bytes();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The volume tree of variant `k`, with each item's bytes from
    /// `source(file, None)` and each sidecar's from `source(file, Some(sidecar))`.
    pub fn volume(
        &self,
        k: usize,
        label: &str,
        mut source: impl FnMut(&PlannedFile, Option<&PlannedSidecar>) -> Source,
    ) -> Result<Volume, Error> {
        let v = self.variants.get(k).ok_or(Error::NoVariant(k))?;
        let mut entries = Vec::new();
        for f in &v.files {
            entries.push(Entry {
                path: f.path.clone(),
                kind: EntryKind::File {
                    size: f.size,
                    source: source(f, None),
                },
            });
            for sc in &f.sidecars {
                entries.push(Entry {
                    path: sc.path.clone(),
                    kind: EntryKind::File {
                        size: sc.size,
                        source: source(f, Some(sc)),
                    },
                });
            }
        }
        Ok(Volume {
            label: label.to_string(),
            timestamp: self.timestamp,
            serial: self.volume_serial(k),
            entries,
        })
    }
}

// ---------------------------------------------------------------------------
// Explanations

/// Why an item is not on any variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    ExcludedByTag,
    NoIncludedTag,
    OverFat32Limit,
    TooLargeForMedium,
    SeriesTooLargeForMedium,
    SeriesMemberRefused,
    SeriesDidNotFitWhole,
    LowerValueDensity,
    BetterCombination,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    pub id: i64,
    pub reason: Reason,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenSummary {
    pub variant: u32,
    pub files: u64,
    pub value: u64,
    pub lp_bound: u64,
    pub proven_optimal: bool,
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub series: Vec<String>,
}

/// What was chosen and why each left-out item was left out (sorted by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub medium: String,
    pub allocatable_bytes: u64,
    pub chosen: Vec<ChosenSummary>,
    pub left_out: Vec<LeftOut>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "medium {}: {} bytes for files and folders",
            self.medium, self.allocatable_bytes
        )?;
        for c in &self.chosen {
            let gap = if c.lp_bound > 0 {
                100.0 * (c.lp_bound - c.value.min(c.lp_bound)) as f64 / c.lp_bound as f64
            } else {
                0.0
            };
            write!(
                f,
                "variant {}: {} files, value {} (LP bound {}, gap {:.3}%{}), {} bytes used, {} free",
                c.variant,
                c.files,
                c.value,
                c.lp_bound,
                gap,
                if c.proven_optimal { ", optimal" } else { "" },
                c.used_bytes,
                c.free_bytes
            )?;
            if !c.series.is_empty() {
                write!(f, "; series: {}", c.series.join(", "))?;
            }
            writeln!(f)?;
        }
        if self.left_out.is_empty() {
            writeln!(f, "nothing left out")?;
        } else {
            writeln!(f, "left out ({}):", self.left_out.len())?;
            for l in &self.left_out {
                writeln!(f, "  item {}: {}", l.id, l.message)?;
            }
        }
        Ok(())
    }
}

/// A plan and its explanation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub plan: Plan,
    pub explanation: Explanation,
}

// ---------------------------------------------------------------------------
// Planning

const FOLDERS: usize = Kind::ALL.len();

/// The folder of a kind on the volume.
pub fn kind_folder(k: Kind) -> &'static str {
    crate::site::folder_for(k)
}

fn yes() -> bool {
    true
}

fn folder_of(k: Kind) -> usize {
    Kind::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

struct Group {
    key: String,
    tiebreak: u64,
    members: Vec<usize>,
    value: u64,
    /// Linear cost: data clusters + entry bytes of every member.
    weight: u64,
    /// (folder, data bytes, entry bytes) per member.
    files: Vec<(usize, u64, u64)>,
}

/// Exact usage of a partial layout, updated incrementally.
#[derive(Clone)]
struct Usage {
    data: u64,
    entries: [u64; FOLDERS],
    files: [u64; FOLDERS],
}

struct Ctx<'a> {
    model: &'a dyn FsModel,
    allocatable: u64,
    /// Entry bytes of each kind folder's name in the root.
    folder_entry: [u64; FOLDERS],
    /// Capacity for the linear relaxation: allocatable minus what an empty
    /// layout (root, root files) takes.
    wlin: u64,
    /// Data bytes and root-entry bytes of the reserved root files.
    fixed_data: u64,
    fixed_root_entries: u64,
}

impl Ctx<'_> {
    fn empty(&self) -> Usage {
        Usage {
            data: 0,
            entries: [0; FOLDERS],
            files: [0; FOLDERS],
        }
    }

    /// Exact bytes used; `None` if a directory overflows.
    fn total(&self, u: &Usage) -> Option<u64> {
        let mut t = u.data + self.fixed_data;
        let mut root = self.fixed_root_entries;
        for f in 0..FOLDERS {
            if u.files[f] > 0 {
                t += self.model.dir_bytes(u.entries[f], false)?;
                root += self.folder_entry[f];
            }
        }
        Some(t + self.model.dir_bytes(root, true)?)
    }

    fn add(&self, u: &mut Usage, g: &Group) {
        for &(f, d, e) in &g.files {
            u.data += d;
            u.entries[f] += e;
            u.files[f] += 1;
        }
    }

    fn remove(&self, u: &mut Usage, g: &Group) {
        for &(f, d, e) in &g.files {
            u.data -= d;
            u.entries[f] -= e;
            u.files[f] -= 1;
        }
    }

    /// Adds `g` if the exact layout still fits; tells whether it did.
    fn try_add(&self, u: &mut Usage, g: &Group) -> bool {
        self.add(u, g);
        match self.total(u) {
            Some(t) if t <= self.allocatable => true,
            _ => {
                self.remove(u, g);
                false
            }
        }
    }
}

/// `a` denser than `b` (more value per byte), then seed tiebreak, then key.
fn denser(a: &Group, b: &Group) -> std::cmp::Ordering {
    let l = u128::from(a.value) * u128::from(b.weight);
    let r = u128::from(b.value) * u128::from(a.weight);
    r.cmp(&l)
        .then(a.tiebreak.cmp(&b.tiebreak))
        .then_with(|| a.key.cmp(&b.key))
}

/// Floored LP bound of choosing from `order` (density order) in `cap` bytes.
fn lp_bound(groups: &[Group], order: &[usize], cap: u64) -> u64 {
    let mut left = cap;
    let mut v = 0u64;
    for &g in order {
        let g = &groups[g];
        if g.weight <= left {
            left -= g.weight;
            v += g.value;
        } else {
            v += (u128::from(g.value) * u128::from(left) / u128::from(g.weight)) as u64;
            break;
        }
    }
    v
}

struct BnB<'a, 'b> {
    ctx: &'a Ctx<'b>,
    groups: &'a [Group],
    items: &'a [usize],
    pref_w: Vec<u64>,
    pref_v: Vec<u64>,
    /// End of the run of identical groups (same value and files) holding
    /// each item: excluding one excludes the rest of its run, since any
    /// solution can take the first copies of identical groups instead.
    run_end: Vec<usize>,
    chosen: Vec<bool>,
    best: u64,
    best_set: Vec<bool>,
    nodes: u64,
    budget: u64,
    exhausted: bool,
}

impl BnB<'_, '_> {
    /// Floored fractional bound of items `i..` within `cap` linear bytes.
    fn bound(&self, i: usize, cap: u64) -> u64 {
        let base = self.pref_w[i];
        // Largest j with pref_w[j] - base <= cap.
        let j = self.pref_w[i..].partition_point(|&w| w - base <= cap) + i - 1;
        let mut v = self.pref_v[j] - self.pref_v[i];
        if j < self.items.len() {
            let g = &self.groups[self.items[j]];
            let rem = cap - (self.pref_w[j] - base);
            v += (u128::from(g.value) * u128::from(rem) / u128::from(g.weight)) as u64;
        }
        v
    }

    fn run(&mut self, i: usize, u: &mut Usage, lin: u64, value: u64) {
        if self.nodes >= self.budget {
            self.exhausted = true;
            return;
        }
        self.nodes += 1;
        if value > self.best {
            self.best = value;
            self.best_set.clone_from(&self.chosen);
        }
        if i == self.items.len() {
            return;
        }
        let cap = self.ctx.wlin.saturating_sub(lin);
        if value + self.bound(i, cap) <= self.best {
            return;
        }
        let g = &self.groups[self.items[i]];
        if lin + g.weight <= self.ctx.wlin && self.ctx.try_add(u, g) {
            self.chosen[i] = true;
            self.run(i + 1, u, lin + g.weight, value + g.value);
            self.chosen[i] = false;
            self.ctx.remove(u, g);
        }
        self.run(self.run_end[i], u, lin, value);
    }
}

struct Solved {
    chosen: Vec<usize>,
    value: u64,
    optimal: bool,
    lp_bound: u64,
}

/// Maximises value over `order` (group indices, density order) on top of
/// usage `u` (already holding `lin` linear bytes). Adds the choice to `u`.
fn solve(ctx: &Ctx, groups: &[Group], order: &[usize], u: &mut Usage, lin: u64) -> Solved {
    let lp = lp_bound(groups, order, ctx.wlin.saturating_sub(lin));
    // Plain greedy fill, exact.
    let mut gu = u.clone();
    let mut greedy = Vec::new();
    let mut gv = 0;
    let mut glin = lin;
    for &g in order {
        let gr = &groups[g];
        // The linear cost never exceeds the exact one: a cheap early "no".
        if glin + gr.weight <= ctx.wlin && ctx.try_add(&mut gu, gr) {
            greedy.push(g);
            gv += gr.value;
            glin += gr.weight;
        }
    }

    // Core window around the linear break.
    let n = order.len();
    let mut acc = lin;
    let mut b = n;
    for (i, &g) in order.iter().enumerate() {
        acc += groups[g].weight;
        if acc > ctx.wlin {
            b = i;
            break;
        }
    }
    let (lo, hi) = if n <= CORE {
        (0, n)
    } else {
        let lo = b.saturating_sub(CORE / 2).min(n - CORE);
        (lo, lo + CORE)
    };
    let mut cu = u.clone();
    let mut core_lin = lin;
    let mut in_set = vec![false; n];
    let mut cv = 0;
    for i in 0..lo {
        let g = &groups[order[i]];
        if core_lin + g.weight <= ctx.wlin && ctx.try_add(&mut cu, g) {
            in_set[i] = true;
            core_lin += g.weight;
            cv += g.value;
        }
    }
    let items = &order[lo..hi];
    let mut pref_w = vec![0u64; items.len() + 1];
    let mut pref_v = vec![0u64; items.len() + 1];
    for (k, &g) in items.iter().enumerate() {
        pref_w[k + 1] = pref_w[k] + groups[g].weight;
        pref_v[k + 1] = pref_v[k] + groups[g].value;
    }
    let mut run_end = vec![items.len(); items.len()];
    for k in (0..items.len().saturating_sub(1)).rev() {
        let (a, b) = (&groups[items[k]], &groups[items[k + 1]]);
        run_end[k] = if a.value == b.value && a.files == b.files {
            run_end[k + 1]
        } else {
            k + 1
        };
    }
    let mut bb = BnB {
        ctx,
        groups,
        items,
        pref_w,
        pref_v,
        run_end,
        chosen: vec![false; items.len()],
        best: 0,
        best_set: vec![false; items.len()],
        nodes: 0,
        budget: NODE_BUDGET,
        exhausted: false,
    };
    let mut scratch = cu.clone();
    bb.run(0, &mut scratch, core_lin, 0);
    for (k, &c) in bb.best_set.iter().enumerate() {
        if c {
            let g = &groups[items[k]];
            if ctx.try_add(&mut cu, g) {
                in_set[lo + k] = true;
                cv += g.value;
                core_lin += g.weight;
            }
        }
    }
    for (i, &g) in order.iter().enumerate() {
        let gr = &groups[g];
        if !in_set[i] && core_lin + gr.weight <= ctx.wlin && ctx.try_add(&mut cu, gr) {
            in_set[i] = true;
            cv += gr.value;
            core_lin += gr.weight;
        }
    }
    let optimal = n <= CORE && !bb.exhausted;
    if cv >= gv {
        *u = cu;
        let chosen = (0..n).filter(|&i| in_set[i]).map(|i| order[i]).collect();
        Solved {
            chosen,
            value: cv,
            optimal,
            lp_bound: lp,
        }
    } else {
        *u = gu;
        Solved {
            chosen: greedy,
            value: gv,
            optimal: false,
            lp_bound: lp,
        }
    }
}

fn check_name(c: &Candidate, max16: usize) -> Result<(), Error> {
    let bad = |why: &str| Error::BadName {
        id: c.id,
        name: c.name.clone(),
        why: why.to_string(),
    };
    let n = &c.name;
    if n.is_empty() {
        return Err(bad("it is empty"));
    }
    if n == "." || n == ".." {
        return Err(bad("it is reserved"));
    }
    if let Some(ch) = n
        .chars()
        .find(|ch| ch.is_control() || "\"*/:<>?\\|".contains(*ch))
    {
        return Err(bad(&format!(
            "it contains {ch:?}, which FAT forbids; use letters, digits, spaces and - _ . ( )"
        )));
    }
    if n.ends_with(' ') || n.ends_with('.') || n.starts_with(' ') {
        return Err(bad("it starts with a space or ends with a space or a dot"));
    }
    if n.encode_utf16().count() > max16 {
        return Err(bad(&format!(
            "it is longer than {max16} UTF-16 units; shorten it"
        )));
    }
    Ok(())
}

fn check_timestamp(t: &Timestamp) -> Result<(), Error> {
    let leap =
        t.year.is_multiple_of(4) && (!t.year.is_multiple_of(100) || t.year.is_multiple_of(400));
    let days = match t.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    let ok = (1980..=2107).contains(&t.year)
        && t.day >= 1
        && t.day <= days
        && t.hour < 24
        && t.minute < 60
        && t.second < 60;
    if ok {
        Ok(())
    } else {
        Err(Error::Timestamp(*t))
    }
}

/// Margin percent -> basis points, validated.
pub fn margin_basis_points(percent: f64) -> Result<u32, Error> {
    if !(0.0..=50.0).contains(&percent) {
        return Err(Error::Margin(percent));
    }
    Ok((percent * 100.0).round() as u32)
}

/// Plans with the FAT32 model.
pub fn plan(req: &Request) -> Result<Outcome, Error> {
    let (label, partition) = (req.label, req.partition);
    plan_with(req, &|volume| {
        Fat32Model::new(volume, partition, label).map(|m| Box::new(m) as Box<dyn FsModel>)
    })
}

/// Plans with the file-system model that `model` makes for a volume size.
#[allow(clippy::type_complexity)]
pub fn plan_with(
    req: &Request,
    model: &dyn Fn(u64) -> Result<Box<dyn FsModel>, String>,
) -> Result<Outcome, Error> {
    let medium = Medium::parse(&req.medium)?;
    if req.variants == 0 || req.variants > MAX_VARIANTS {
        return Err(Error::Variants(req.variants));
    }
    let bp = margin_basis_points(req.margin_percent)?;
    check_timestamp(&req.timestamp)?;
    let margin_bytes = (u128::from(medium.nominal_bytes) * u128::from(bp)).div_ceil(10_000) as u64;
    let volume = medium.nominal_bytes - margin_bytes;
    let model = model(volume).map_err(|why| Error::Medium {
        medium: medium.to_string(),
        why,
    })?;
    let model: &dyn FsModel = model.as_ref();
    let figures = model.figures();
    let max_file = model.max_file_size();

    // Validate candidates.
    let mut cands: Vec<&Candidate> = req.candidates.iter().collect();
    cands.sort_by_key(|c| c.id);
    for w in cands.windows(2) {
        if w[0].id == w[1].id {
            return Err(Error::DuplicateId(w[0].id));
        }
    }
    let mut names: HashMap<(usize, String), i64> = HashMap::with_capacity(cands.len());
    for c in &cands {
        if !(1..=100).contains(&c.value) {
            return Err(Error::Value {
                id: c.id,
                value: c.value,
            });
        }
        check_name(c, 255)?;
        if let (Some(s), None) = (&c.series, c.episode) {
            return Err(Error::MissingEpisode {
                id: c.id,
                series: s.clone(),
            });
        }
        for name in std::iter::once(c.name.clone()).chain(c.sidecar_names()) {
            let key = (folder_of(c.kind), name.to_lowercase());
            if let Some(a) = names.insert(key, c.id) {
                return Err(Error::DuplicateName {
                    a,
                    b: c.id,
                    folder: c.kind.as_str().to_string(),
                    name,
                });
            }
        }
    }

    // Filters.
    let include: BTreeSet<&str> = req.include_any.iter().map(String::as_str).collect();
    let exclude: BTreeSet<&str> = req.exclude.iter().map(String::as_str).collect();
    let mut left_out: Vec<LeftOut> = Vec::new();
    let mut eligible: Vec<&Candidate> = Vec::new();
    for c in &cands {
        if let Some(t) = c.tags.iter().find(|t| exclude.contains(t.as_str())) {
            left_out.push(LeftOut {
                id: c.id,
                reason: Reason::ExcludedByTag,
                message: format!("excluded by tag {t:?}"),
            });
        } else if !include.is_empty() && !c.tags.iter().any(|t| include.contains(t.as_str())) {
            left_out.push(LeftOut {
                id: c.id,
                reason: Reason::NoIncludedTag,
                message: format!(
                    "carries none of the required tags ({})",
                    req.include_any.join(", ")
                ),
            });
        } else if c.size > max_file {
            if req.oversize == Oversize::Refuse {
                return Err(Error::FileTooLarge {
                    id: c.id,
                    size: c.size,
                });
            }
            left_out.push(LeftOut {
                id: c.id,
                reason: Reason::OverFat32Limit,
                message: format!(
                    "{} bytes is over the FAT32 limit of 4 GiB - 1 byte ({max_file})",
                    c.size
                ),
            });
        } else {
            eligible.push(c);
        }
    }

    // Groups.
    let mut folder_entry = [0u64; FOLDERS];
    for (f, k) in Kind::ALL.iter().enumerate() {
        folder_entry[f] = model.entry_bytes(kind_folder(*k));
    }
    let mut root_files = req.root_files.clone();
    root_files.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, r) in root_files.iter().enumerate() {
        let taken = Kind::ALL
            .iter()
            .any(|k| kind_folder(*k).eq_ignore_ascii_case(&r.name))
            || root_files[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&r.name));
        if taken || r.name.is_empty() || r.name.contains('/') {
            return Err(Error::RootFile(r.name.clone()));
        }
        if r.max_size > max_file {
            return Err(Error::RootFile(r.name.clone()));
        }
    }
    let mut ctx = Ctx {
        model,
        allocatable: figures.allocatable_bytes,
        folder_entry,
        wlin: 0,
        fixed_data: root_files
            .iter()
            .map(|r| model.file_data_bytes(r.max_size))
            .sum(),
        fixed_root_entries: root_files.iter().map(|r| model.entry_bytes(&r.name)).sum(),
    };
    let empty_total = ctx.total(&ctx.empty()).unwrap_or(u64::MAX);
    if empty_total > figures.allocatable_bytes {
        return Err(Error::Medium {
            medium: medium.to_string(),
            why: format!(
                "the index files alone need {empty_total} bytes, more than the {} the file system offers",
                figures.allocatable_bytes
            ),
        });
    }
    ctx.wlin = figures.allocatable_bytes - empty_total;
    let tiebreak = |key: &str| {
        let mut h = blake3::Hasher::new();
        h.update(&req.seed.to_le_bytes());
        h.update(key.as_bytes());
        let b = h.finalize();
        let b = b.as_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    let mut by_series: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut singles: Vec<usize> = Vec::new();
    for (i, c) in eligible.iter().enumerate() {
        match &c.series {
            Some(s) => by_series.entry(s.as_str()).or_default().push(i),
            None => singles.push(i),
        }
    }
    // Series with a member refused by the 4 GiB limit cannot go whole.
    let refused_members: BTreeMap<&str, i64> = cands
        .iter()
        .filter(|c| c.size > max_file && req.oversize == Oversize::Skip)
        .filter_map(|c| c.series.as_deref().map(|s| (s, c.id)))
        .collect();
    let make_group = |key: String, members: Vec<usize>| {
        let files: Vec<(usize, u64, u64)> = members
            .iter()
            .flat_map(|&i| {
                let c = eligible[i];
                let f = folder_of(c.kind);
                std::iter::once((f, model.file_data_bytes(c.size), model.entry_bytes(&c.name)))
                    .chain(c.sidecars.iter().zip(c.sidecar_names()).map(move |(s, n)| {
                        (f, model.file_data_bytes(s.size), model.entry_bytes(&n))
                    }))
            })
            .collect();
        Group {
            tiebreak: tiebreak(&key),
            key,
            value: members.iter().map(|&i| u64::from(eligible[i].value)).sum(),
            weight: files.iter().map(|f| f.1 + f.2).sum(),
            members,
            files,
        }
    };
    let mut groups: Vec<Group> = Vec::new();
    for i in singles {
        // Keyed by where the item lands and what it holds, not by its id, so
        // that ties break the same way whatever order items were added in.
        let c = eligible[i];
        let key = format!("i:{}/{}:{}", kind_folder(c.kind), c.name, c.meta.hash);
        groups.push(make_group(key, vec![i]));
    }
    for (s, mut m) in by_series {
        if let Some(bad) = refused_members.get(s) {
            for &i in &m {
                left_out.push(LeftOut {
                    id: eligible[i].id,
                    reason: Reason::SeriesMemberRefused,
                    message: format!(
                        "series {s:?} cannot go whole: its item {bad} is over the FAT32 4 GiB limit"
                    ),
                });
            }
            continue;
        }
        m.sort_by_key(|&i| (eligible[i].episode, eligible[i].id));
        groups.push(make_group(format!("s:{s}"), m));
    }

    // Groups that cannot fit even alone.
    let mut fits_alone = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let mut u = ctx.empty();
        if g.weight <= ctx.wlin && ctx.try_add(&mut u, g) {
            fits_alone.push(gi);
        } else {
            let usable = ctx.wlin;
            for &i in &g.members {
                let c = eligible[i];
                let (reason, message) = match &c.series {
                    Some(s) => (
                        Reason::SeriesTooLargeForMedium,
                        format!(
                            "series {s:?} ({} items) needs {} bytes whole, the medium has {usable} bytes for files: a series goes whole or not at all",
                            g.members.len(),
                            g.weight
                        ),
                    ),
                    None => (
                        Reason::TooLargeForMedium,
                        format!(
                            "needs {} bytes on the volume, the medium has {usable} bytes for files",
                            g.weight
                        ),
                    ),
                };
                left_out.push(LeftOut {
                    id: c.id,
                    reason,
                    message,
                });
            }
        }
    }
    let mut order = fits_alone;
    order.sort_by(|&a, &b| denser(&groups[a], &groups[b]));

    // Variants.
    let mut covered = vec![false; groups.len()];
    let mut variants = Vec::new();
    let mut summaries = Vec::new();
    for k in 0..req.variants {
        let fresh: Vec<usize> = order.iter().copied().filter(|&g| !covered[g]).collect();
        let old: Vec<usize> = order.iter().copied().filter(|&g| covered[g]).collect();
        let mut u = ctx.empty();
        let a = solve(&ctx, &groups, &fresh, &mut u, 0);
        let lin_a: u64 = a.chosen.iter().map(|&g| groups[g].weight).sum();
        let mut chosen = a.chosen.clone();
        let mut value = a.value;
        let mut optimal = a.optimal;
        let mut bound = a.lp_bound;
        if !old.is_empty() {
            let b = solve(&ctx, &groups, &old, &mut u, lin_a);
            chosen.extend(&b.chosen);
            value += b.value;
            optimal = false;
            bound = lp_bound(&groups, &order, ctx.wlin);
        }
        for &g in &a.chosen {
            covered[g] = true;
        }
        // Files, sorted by path.
        let mut files: Vec<PlannedFile> = chosen
            .iter()
            .flat_map(|&g| groups[g].members.iter())
            .map(|&i| {
                let c = eligible[i];
                PlannedFile {
                    id: c.id,
                    size: c.size,
                    value: c.value,
                    path: vec![kind_folder(c.kind).to_string(), c.name.clone()],
                    series: c.series.clone(),
                    episode: c.series.as_ref().and(c.episode),
                    kind: c.kind,
                    tags: {
                        let mut t = c.tags.clone();
                        t.sort();
                        t.dedup();
                        t
                    },
                    meta: c.meta.clone(),
                    sidecars: c
                        .sidecars
                        .iter()
                        .zip(c.sidecar_names())
                        .map(|(s, n)| PlannedSidecar {
                            path: vec![kind_folder(c.kind).to_string(), n],
                            size: s.size,
                            hash: s.hash.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
        // Final check, exact and from scratch.
        let layout: Vec<(Vec<String>, u64)> = files
            .iter()
            .flat_map(|f| f.all_files().map(|(p, n)| (p.clone(), n)))
            .chain(
                root_files
                    .iter()
                    .map(|r| (vec![r.name.clone()], r.max_size)),
            )
            .collect();
        let used = model.layout_bytes(&layout).map_err(Error::Internal)?;
        if used > figures.allocatable_bytes {
            return Err(Error::Internal(format!(
                "variant {k} needs {used} bytes, over the {} allocatable",
                figures.allocatable_bytes
            )));
        }
        if Some(used) != ctx.total(&u) {
            return Err(Error::Internal(format!(
                "variant {k}: incremental usage {:?} differs from the layout's {used}",
                ctx.total(&u)
            )));
        }
        let data_bytes: u64 = files
            .iter()
            .flat_map(|f| f.all_files())
            .map(|(_, n)| model.file_data_bytes(n))
            .sum();
        let series: BTreeSet<String> = files.iter().filter_map(|f| f.series.clone()).collect();
        let series: Vec<String> = series.into_iter().collect();
        summaries.push(ChosenSummary {
            variant: k,
            files: files.len() as u64,
            value,
            lp_bound: bound,
            proven_optimal: optimal,
            used_bytes: used,
            free_bytes: figures.allocatable_bytes - used,
            series,
        });
        variants.push(Variant {
            index: k,
            value,
            new_value: a.value,
            lp_bound: bound,
            proven_optimal: optimal,
            files_count: files.len() as u64,
            file_bytes: files
                .iter()
                .flat_map(|f| f.all_files())
                .map(|(_, n)| n)
                .sum(),
            data_bytes,
            directory_bytes: used - data_bytes,
            used_bytes: used,
            free_bytes: figures.allocatable_bytes - used,
            files,
        });
    }

    // Why the rest is out.
    let min_chosen_density = covered
        .iter()
        .enumerate()
        .filter(|(_, c)| **c)
        .map(|(g, _)| g)
        .min_by(|&a, &b| denser(&groups[b], &groups[a]));
    let per_mb = |g: &Group| g.value as f64 * 1e6 / g.weight as f64;
    let max_free = variants.iter().map(|v| v.free_bytes).max().unwrap_or(0);
    for &g in &order {
        if covered[g] {
            continue;
        }
        let gr = &groups[g];
        let lower = match min_chosen_density {
            Some(m) => denser(&groups[m], gr) == std::cmp::Ordering::Less,
            None => true,
        };
        let cut = min_chosen_density
            .map(|m| format!("{:.3}", per_mb(&groups[m])))
            .unwrap_or_else(|| "-".into());
        for &i in &gr.members {
            let c = eligible[i];
            let (reason, message) = match &c.series {
                Some(s) => (
                    Reason::SeriesDidNotFitWhole,
                    format!(
                        "series {s:?} ({} items, {} bytes, value {}) did not fit whole beside what was chosen (at most {max_free} bytes free on a variant)",
                        gr.members.len(),
                        gr.weight,
                        gr.value
                    ),
                ),
                None if lower => (
                    Reason::LowerValueDensity,
                    format!(
                        "value {} in {} bytes ({:.3} per MB) is below what fits ({cut} per MB at the least); at most {max_free} bytes free on a variant",
                        gr.value,
                        gr.weight,
                        per_mb(gr)
                    ),
                ),
                None => (
                    Reason::BetterCombination,
                    format!(
                        "value {} in {} bytes: the chosen combination holds more value in total than any that includes it",
                        gr.value, gr.weight
                    ),
                ),
            };
            left_out.push(LeftOut {
                id: c.id,
                reason,
                message,
            });
        }
    }
    left_out.sort_by_key(|l| l.id);

    let mut include_any = req.include_any.clone();
    include_any.sort();
    include_any.dedup();
    let mut exclude_tags = req.exclude.clone();
    exclude_tags.sort();
    exclude_tags.dedup();
    let mut plan = Plan {
        format: PLAN_FORMAT,
        profile: req.profile.clone(),
        medium: medium.clone(),
        seed: req.seed,
        include_any,
        exclude: exclude_tags,
        capacity: Capacity {
            nominal_bytes: medium.nominal_bytes,
            margin_basis_points: bp,
            margin_bytes,
            fs: figures.clone(),
        },
        timestamp: req.timestamp,
        label: req.label,
        partition: req.partition,
        root_files,
        variants,
        hash: String::new(),
    };
    plan.hash = plan.compute_hash();
    Ok(Outcome {
        plan,
        explanation: Explanation {
            medium: medium.to_string(),
            allocatable_bytes: figures.allocatable_bytes,
            chosen: summaries,
            left_out,
        },
    })
}

mod kind_serde {
    use baram_library::Kind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_parse() {
        assert_eq!(Medium::parse("sd-8g").unwrap().nominal_bytes, 8_000_000_000);
        assert_eq!(
            Medium::parse("DVD-4.7G").unwrap().nominal_bytes,
            4_700_000_000
        );
        assert_eq!(Medium::parse("1_000_000").unwrap().nominal_bytes, 1_000_000);
        assert!(Medium::parse("sd-9g").is_err());
        assert!(Medium::parse("0").is_err());
        assert!(Medium::parse("").is_err());
    }

    #[test]
    fn fat32_cluster_choice() {
        // 8 GB minus 3 %: 32 KiB clusters.
        let m = Fat32Model::new(7_760_000_000, false, true).unwrap();
        assert_eq!(m.figures().cluster_bytes, 32768);
        assert!(m.figures().clusters >= 65_525);
        // 40 MB: only 512-byte clusters give 65,525.
        let m = Fat32Model::new(40_000_000, false, true).unwrap();
        assert_eq!(m.figures().cluster_bytes, 512);
        assert!(Fat32Model::new(30_000_000, false, true).is_err());
        // FAT covers every cluster, and one sector less would not.
        for v in [40_000_000u64, 300_000_000, 7_760_000_000, 31_040_000_000] {
            let f = Fat32Model::new(v, false, true).unwrap().figures();
            assert!(f.fat_sectors * 128 >= f.clusters + 2);
            let spc = f.cluster_bytes / 512;
            // The data area starts on a whole cluster of the disk, and the
            // FAT is at most what that alignment adds to the smallest FAT.
            assert_eq!((32 + 2 * f.fat_sectors) % spc, 0, "{v}");
            let mut min = f.fat_sectors;
            while min > 1 && (min - 1) * 128 >= (v / 512 - 32 - 2 * (min - 1)) / spc + 2 {
                min -= 1;
            }
            assert!(f.fat_sectors - min < spc.max(2), "{v}");
            assert_eq!(f.clusters, (v / 512 - 32 - 2 * f.fat_sectors) / spc);
        }
    }

    #[test]
    fn entry_and_dir_costs() {
        let m = Fat32Model::new(7_760_000_000, false, true).unwrap();
        assert_eq!(m.entry_bytes("a.bin"), 64);
        assert_eq!(m.entry_bytes("abcdefghijklm"), 64);
        assert_eq!(m.entry_bytes("abcdefghijklmn"), 96);
        // Korean: one UTF-16 unit per syllable.
        assert_eq!(m.entry_bytes("사랑의 불시착 1화.avi"), 32 * 3);
        assert_eq!(m.dir_bytes(0, true), Some(32768));
        assert_eq!(m.dir_bytes(32768 - 64, false), Some(32768));
        assert_eq!(m.dir_bytes(32768 - 63, false), Some(65536));
        assert_eq!(m.dir_bytes(65_534 * 32, false), Some(65_536 * 32));
        assert_eq!(m.dir_bytes(65_535 * 32, false), None);
        assert_eq!(m.file_data_bytes(0), 0);
        assert_eq!(m.file_data_bytes(1), 32768);
    }
}
