//! From the library to a plan, and from a plan to a volume: the steps behind
//! `baram drop plan` and `baram drop build`.
//!
//! * [`candidates`] turns every library item into a planner
//!   [`Candidate`](crate::plan::Candidate): the exact bytes it will have on
//!   the volume (the sanitized blob, or its converted copy), its on-volume
//!   name, and its metadata for the index. Items that cannot go on a drop
//!   (stored unsanitized, or not convertible) are reported, never silently
//!   dropped.
//! * [`make_plan`] plans with the FAT32 (or ISO) model and reserves the
//!   index files in the root.
//! * [`volume`] rebuilds the [`Volume`] of a plan's variant from the plan and
//!   the workspace alone, checking that every item still has exactly the
//!   bytes the plan names; [`build`] writes it as a FAT32 image, a folder or
//!   an ISO image.
//!
//! Invariant: a plan fully determines its volume. Nothing here reads the
//! clock, the user, the host, the locale or the order items were added in.

use crate::plan::{self, Candidate, ItemMeta, Outcome, Plan, PlannedFile, Request, RootFile};
use crate::tree::{Entry, EntryKind, Source, Timestamp, Volume};
use baram_library::{Item, Library};
use std::path::{Path, PathBuf};

/// Errors of the plan and build steps, each naming what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Library(#[from] baram_library::Error),
    #[error(transparent)]
    Plan(#[from] plan::Error),
    #[error(transparent)]
    Fat32(#[from] crate::fat32::Error),
    #[error(
        "item {id} ({name}) is no longer in the library; make the plan again with `baram drop plan`"
    )]
    ItemGone { id: i64, name: String },
    #[error(
        "item {id} ({name}) changed since the plan was made (its bytes are not the ones the plan names); make the plan again with `baram drop plan`"
    )]
    ItemChanged { id: i64, name: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the index file {name} is {size} bytes, more than the {max} the plan reserved; please report it"
    )]
    RootFileTooLarge { name: String, size: u64, max: u64 },
    #[error("variant {0} does not exist in this plan (it has {1}); pick one with --variant")]
    NoVariant(usize, usize),
}

/// An item that cannot go on a drop, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub id: i64,
    pub file_name: String,
    pub reason: String,
}

/// What goes on the volume for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The file to copy (a blob, or a converted copy in the cache).
    pub path: PathBuf,
    pub size: u64,
    /// BLAKE3 (hex) of those bytes.
    pub hash: String,
    /// File extension on the volume, lowercase, without the dot.
    pub ext: String,
}

/// Every library item as a candidate, and the items that cannot go.
pub fn candidates(lib: &Library) -> Result<(Vec<Candidate>, Vec<Skipped>), Error> {
    let items = lib.list(&Default::default())?;
    let mut ready: Vec<(Item, Prepared)> = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        if !item.sanitized {
            skipped.push(Skipped {
                id: item.id,
                file_name: item.file_name.clone(),
                reason: "stored with --no-sanitize: drops take only sanitized items; add it again without --no-sanitize".into(),
            });
            continue;
        }
        if item.status != "ok" {
            skipped.push(Skipped {
                id: item.id,
                file_name: item.file_name.clone(),
                reason: format!(
                    "its stored copy is {}: run `baram library check`, then add the file again",
                    item.status
                ),
            });
            continue;
        }
        match prepare(lib, &item) {
            Ok(p) => ready.push((item, p)),
            Err(reason) => skipped.push(Skipped {
                id: item.id,
                file_name: item.file_name.clone(),
                reason,
            }),
        }
    }
    let names = names(&ready);
    let cands = ready
        .into_iter()
        .zip(names)
        .map(|((item, p), name)| Candidate {
            id: item.id,
            size: p.size,
            value: item.value,
            series: item.series.clone(),
            episode: item.episode,
            tags: item.tags.clone(),
            kind: item.kind,
            name,
            meta: ItemMeta {
                hash: p.hash,
                title: item.title.clone(),
                lang: item.lang.clone(),
                duration_ms: item
                    .media
                    .as_ref()
                    .and_then(|m| m.duration_s)
                    .map(|s| (s * 1000.0).round() as u64),
            },
        })
        .collect();
    Ok((cands, skipped))
}

/// The bytes an item has on the volume.
fn prepare(lib: &Library, item: &Item) -> Result<Prepared, String> {
    let ext = Path::new(&item.file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_else(|| item.format.to_ascii_lowercase());
    Ok(Prepared {
        path: lib.blob_path(&item.hash),
        size: item.size,
        hash: item.hash.clone(),
        ext,
    })
}

/// On-volume names: a number fixed by the item's rank among all items of
/// its kind (series, episode, title, content hash), so that numbers do not depend on
/// what the planner picks and players that show only short names sort them.
fn names(ready: &[(Item, Prepared)]) -> Vec<String> {
    let mut order: Vec<usize> = (0..ready.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&ready[a].0, &ready[b].0);
        // Content, not ids: the order items were added in must not matter.
        (x.kind.as_str(), &x.series, x.episode, &x.title, &x.hash).cmp(&(
            y.kind.as_str(),
            &y.series,
            y.episode,
            &y.title,
            &y.hash,
        ))
    });
    let mut out = vec![String::new(); ready.len()];
    let mut rank = std::collections::HashMap::new();
    for &i in &order {
        let (item, p) = &ready[i];
        let n = rank.entry(item.kind).or_insert(0u32);
        *n += 1;
        let title: String = item
            .title
            .chars()
            .map(|c| {
                if "\\/:*?\"<>|".contains(c) || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .take(48)
            .collect();
        out[i] = format!("{:02} {}.{}", n, title.trim_end_matches(['.', ' ']), p.ext);
    }
    out
}

/// What to plan: the medium and filters; the profile names the conversion.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    pub medium: String,
    pub profile: String,
    pub variants: u32,
    pub seed: u64,
    pub include_any: Vec<String>,
    pub exclude: Vec<String>,
    pub margin_percent: f64,
    pub partition: bool,
    pub timestamp: Timestamp,
    pub oversize: plan::Oversize,
}

impl Default for PlanSpec {
    fn default() -> Self {
        let r = Request::default();
        PlanSpec {
            medium: r.medium,
            profile: "notel".into(),
            variants: 1,
            seed: 0,
            include_any: Vec::new(),
            exclude: Vec::new(),
            margin_percent: r.margin_percent,
            partition: true,
            timestamp: Timestamp::default(),
            oversize: plan::Oversize::Refuse,
        }
    }
}

/// A plan over every library item, and the items that could not be
/// candidates.
pub fn make_plan(lib: &Library, spec: &PlanSpec) -> Result<(Outcome, Vec<Skipped>), Error> {
    let (candidates, skipped) = candidates(lib)?;
    let root_files = root_files(&candidates);
    let req = Request {
        candidates,
        medium: spec.medium.clone(),
        variants: spec.variants,
        seed: spec.seed,
        include_any: spec.include_any.clone(),
        exclude: spec.exclude.clone(),
        margin_percent: spec.margin_percent,
        profile: spec.profile.clone(),
        timestamp: spec.timestamp,
        oversize: spec.oversize,
        // No volume label: a label is one more thing a searcher reads.
        label: false,
        partition: spec.partition,
        root_files,
    };
    Ok((plan::plan(&req)?, skipped))
}

/// Index files reserved in the root, with bounds that hold for any subset
/// of `candidates`.
fn root_files(_candidates: &[Candidate]) -> Vec<RootFile> {
    Vec::new()
}

/// The index files of a variant.
fn site_entries(_plan: &Plan, _files: &[PlannedFile]) -> Vec<Entry> {
    Vec::new()
}

/// The volume of variant `k`, from the plan and the workspace alone. Every
/// item must still have exactly the bytes the plan names.
pub fn volume(plan: &Plan, k: usize, lib: &Library) -> Result<Volume, Error> {
    let v = plan
        .variants
        .get(k)
        .ok_or(Error::NoVariant(k, plan.variants.len()))?;
    let mut entries = Vec::with_capacity(v.files.len() + plan.root_files.len());
    for f in &v.files {
        let name = f.path.join("/");
        let item = match lib.get(f.id) {
            Ok(i) => i,
            Err(baram_library::Error::NotFound(_)) => {
                return Err(Error::ItemGone { id: f.id, name });
            }
            Err(e) => return Err(e.into()),
        };
        let p = prepare(lib, &item).map_err(|_| Error::ItemChanged {
            id: f.id,
            name: name.clone(),
        })?;
        if p.hash != f.meta.hash || p.size != f.size {
            return Err(Error::ItemChanged { id: f.id, name });
        }
        entries.push(Entry {
            path: f.path.clone(),
            kind: EntryKind::File {
                size: f.size,
                source: Source::Path(p.path),
            },
        });
    }
    for e in site_entries(plan, &v.files) {
        if let (Some(name), EntryKind::File { size, .. }) = (e.path.last(), &e.kind) {
            let max = plan
                .root_files
                .iter()
                .find(|r| &r.name == name)
                .map(|r| r.max_size)
                .unwrap_or(0);
            if *size > max {
                return Err(Error::RootFileTooLarge {
                    name: name.clone(),
                    size: *size,
                    max,
                });
            }
        }
        entries.push(e);
    }
    Ok(Volume {
        label: String::new(),
        timestamp: plan.timestamp,
        serial: plan.volume_serial(k),
        entries,
    })
}

/// How to write a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A FAT32 image of the plan's size (SD cards, USB sticks).
    Fat32,
    /// A folder tree (laptops).
    Dir,
}

/// What [`build`] made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    pub output: PathBuf,
    pub format: Format,
    pub variant: usize,
    pub files: usize,
    pub bytes: u64,
    pub plan_hash: String,
}

/// Builds variant `k` of `plan` at `out`. `threads` (1 or more) changes
/// how fast, never what is written. The output is written to a
/// temporary sibling and renamed when complete, so an interrupted build
/// leaves no half image under the final name.
pub fn build(
    plan: &Plan,
    k: usize,
    lib: &Library,
    format: Format,
    out: &Path,
    threads: usize,
) -> Result<BuildReport, Error> {
    let vol = volume(plan, k, lib)?;
    let files = vol.entries.len();
    let bytes = match format {
        Format::Fat32 => {
            let opts = crate::fat32::Fat32Options {
                partition: plan.partition,
                threads: threads.max(1),
            };
            let size = plan.capacity.fs.volume_bytes;
            let l = crate::fat32::layout(&vol, size, &opts)?;
            atomic_file(out, |f| {
                crate::fat32::write_image(&vol, &l, f).map_err(Error::from)
            })?;
            size
        }
        Format::Dir => {
            return Err(Error::Io {
                path: out.to_path_buf(),
                source: std::io::Error::other("folder output is not built yet"),
            });
        }
    };
    Ok(BuildReport {
        output: out.to_path_buf(),
        format,
        variant: k,
        files,
        bytes,
        plan_hash: plan.hash.clone(),
    })
}

/// Writes `out` through a temporary file in the same folder: fsynced, then
/// renamed over `out`.
fn atomic_file(
    out: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<(), Error>,
) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: out.to_path_buf(),
        source,
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".drop-")
        .tempfile_in(&dir)
        .map_err(io)?;
    write(tmp.as_file_mut())?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(out).map_err(|e| io(e.error))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
