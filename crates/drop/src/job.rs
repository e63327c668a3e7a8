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

use crate::convert::{self, Action};
use crate::plan::{
    self, Candidate, FsModel, ItemMeta, Outcome, Plan, PlannedFile, Request, RootFile,
};
use crate::profile::{self, Profile};
use crate::site::{self, NameInput, SiteItem, SiteOptions};
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
    #[error(transparent)]
    Iso(#[from] crate::iso::Error),
    #[error(transparent)]
    Dir(#[from] crate::dir::Error),
    #[error(transparent)]
    Profile(#[from] profile::Error),
    #[error(
        "the plan was made for a {planned} volume; build it with --format {suggest}, or make a plan for {wanted} (baram drop plan --fs {wanted})"
    )]
    WrongFormat {
        planned: String,
        suggest: &'static str,
        wanted: &'static str,
    },
    #[error(
        "item {id} ({name}) is no longer in the library; make the plan again with `baram drop plan`"
    )]
    ItemGone { id: i64, name: String },
    #[error(
        "item {id} ({name}) changed since the plan was made (its bytes are not the ones the plan names); make the plan again with `baram drop plan`"
    )]
    ItemChanged { id: i64, name: String },
    #[error("item {id} ({name}) cannot be built: {reason}")]
    ItemCannotGo {
        id: i64,
        name: String,
        reason: String,
    },
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
    /// Files that go beside it (a `pc` video's SRT).
    pub sidecars: Vec<PreparedSidecar>,
}

/// A file beside an item on the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSidecar {
    pub path: PathBuf,
    pub size: u64,
    pub hash: String,
    pub ext: String,
}

/// A workspace and the profile its drops are converted for: where items'
/// bytes on a volume come from.
pub struct Drops<'a> {
    lib: &'a Library,
    profile: Profile,
    cache_dir: PathBuf,
    convert: convert::Options,
}

impl<'a> Drops<'a> {
    /// The profile `name` (built in, or `profiles/NAME.toml` in the
    /// workspace); converted files are cached in `cache/convert/`.
    pub fn new(lib: &'a Library, profile_name: &str) -> Result<Drops<'a>, Error> {
        let profile = profile::load(profile_name, Some(&lib.root().join("profiles")))?;
        Ok(Drops {
            lib,
            profile,
            cache_dir: lib.root().join("cache").join("convert"),
            convert: convert::Options::default(),
        })
    }

    /// The bytes an item has on the volume: its blob, or its converted copy
    /// (made now, or found in the cache). The error is one line saying why
    /// the item cannot go and what to do.
    pub fn prepare(&self, item: &Item) -> Result<Prepared, String> {
        if !item.sanitized {
            return Err("stored with --no-sanitize: drops take only sanitized items; add it again without --no-sanitize".into());
        }
        if item.status != "ok" {
            return Err(format!(
                "its stored copy is {}: run `baram library check`, then add the file again",
                item.status
            ));
        }
        // A video's subtitles: the SRT item it names, as cleaned and stored.
        let subtitles = match (item.kind, item.subtitles) {
            (baram_library::Kind::Video, Some(sid)) => {
                let srt = self
                    .lib
                    .get(sid)
                    .map_err(|e| format!("its subtitles: {e}"))?;
                if srt.status != "ok" {
                    return Err(format!(
                        "its subtitles (item {sid}) are {}: run `baram library check`",
                        srt.status
                    ));
                }
                Some(self.lib.blob_path(&srt.hash))
            }
            _ => None,
        };
        let action = convert::plan_item(
            &self.profile,
            item.kind,
            &item.format,
            item.media.as_ref(),
            subtitles.is_some(),
        );
        if let Action::Unsupported { reason } = &action {
            return Err(format!("profile {}: {reason}", self.profile.name));
        }
        let blob = self.lib.blob_path(&item.hash);
        let input = convert::Input {
            path: &blob,
            hash: &item.hash,
            subtitles: subtitles.as_deref(),
        };
        let c = convert::convert(&input, &action, &self.cache_dir, &self.convert).map_err(|e| {
            e.to_string()
                .replace(&blob.display().to_string(), &item.file_name)
        })?;
        let ext = match &c.extension {
            Some(e) => e.clone(),
            None => Path::new(&item.file_name)
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| e.to_ascii_lowercase())
                .unwrap_or_else(|| item.format.to_ascii_lowercase()),
        };
        Ok(Prepared {
            path: c.path,
            size: c.size,
            hash: c.hash,
            ext,
            sidecars: c
                .sidecars
                .into_iter()
                .map(|s| PreparedSidecar {
                    path: s.path,
                    size: s.size,
                    hash: s.hash,
                    ext: s.extension,
                })
                .collect(),
        })
    }

    /// Every library item as a candidate, and the items that cannot go.
    /// `progress(done, total)` is called after each item.
    pub fn candidates(
        &self,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Vec<Candidate>, Vec<Skipped>), Error> {
        let items = self.lib.list(&Default::default())?;
        let mut ready: Vec<(Item, Prepared)> = Vec::new();
        let mut skipped = Vec::new();
        let total = items.len();
        for (i, item) in items.into_iter().enumerate() {
            match self.prepare(&item) {
                Ok(p) => ready.push((item, p)),
                Err(reason) => skipped.push(Skipped {
                    id: item.id,
                    file_name: item.file_name.clone(),
                    reason,
                }),
            }
            progress(i + 1, total);
        }
        // Subtitles travel with their video (burned in or beside it), not as
        // texts of their own.
        let attached: std::collections::HashSet<i64> = ready
            .iter()
            .filter_map(|(item, _)| item.subtitles)
            .collect();
        ready.retain(|(item, _)| !attached.contains(&item.id));
        let inputs: Vec<NameInput> = ready
            .iter()
            .map(|(item, p)| NameInput {
                id: content_tiebreak(&p.hash),
                kind: item.kind,
                title: item.title.clone(),
                series: item.series.clone(),
                episode: item.episode,
                extension: p.ext.clone(),
            })
            .collect();
        let names = site::file_names(&inputs);
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
                sidecars: p
                    .sidecars
                    .iter()
                    .map(|s| plan::Sidecar {
                        ext: s.ext.clone(),
                        size: s.size,
                        hash: s.hash.clone(),
                    })
                    .collect(),
            })
            .collect();
        Ok((cands, skipped))
    }
}

/// Names must not depend on item ids (the order items were added in): ties
/// between equal titles break on the content hash.
fn content_tiebreak(hash: &str) -> i64 {
    i64::from_str_radix(hash.get(..15).unwrap_or("0"), 16).unwrap_or(0)
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
    /// The file system the plan is for: FAT32 (cards, sticks) or ISO 9660
    /// (DVDs). `None`: ISO for `dvd-*` media, else FAT32.
    pub fs: Option<Fs>,
}

/// File system of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fs {
    Fat32,
    Iso,
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
            fs: None,
        }
    }
}

/// A plan over every library item, and the items that could not be
/// candidates.
pub fn make_plan(
    drops: &Drops,
    spec: &PlanSpec,
    progress: &dyn Fn(usize, usize),
) -> Result<(Outcome, Vec<Skipped>), Error> {
    let (candidates, skipped) = drops.candidates(progress)?;
    let root_files = root_files(&candidates);
    let fs = spec.fs.unwrap_or(if spec.medium.starts_with("dvd") {
        Fs::Iso
    } else {
        Fs::Fat32
    });
    let req = Request {
        candidates,
        medium: spec.medium.clone(),
        variants: spec.variants,
        seed: spec.seed,
        include_any: spec.include_any.clone(),
        exclude: spec.exclude.clone(),
        margin_percent: spec.margin_percent,
        profile: drops.profile.name.clone(),
        timestamp: spec.timestamp,
        oversize: spec.oversize,
        // No volume label: a label is one more thing a searcher reads.
        label: false,
        partition: spec.partition,
        root_files,
    };
    let outcome = match fs {
        Fs::Fat32 => plan::plan(&req)?,
        Fs::Iso => plan::plan_with(&req, &|bytes| {
            crate::iso::IsoModel::new(bytes).map(|m| Box::new(m) as Box<dyn FsModel>)
        })?,
    };
    Ok((outcome, skipped))
}

fn site_item(path: &[String], kind: baram_library::Kind, size: u64, f: SiteFacts) -> SiteItem {
    SiteItem {
        title: f.meta.title.clone(),
        kind,
        path: path.join("/"),
        size,
        series: f.series.cloned(),
        episode: f.episode,
        tags: f.tags.to_vec(),
        lang: f.meta.lang.clone(),
        duration_seconds: f.meta.duration_ms.map(|ms| ms.div_ceil(1000)),
        description: None,
    }
}

struct SiteFacts<'a> {
    meta: &'a ItemMeta,
    series: Option<&'a String>,
    episode: Option<u32>,
    tags: &'a [String],
}

/// The index files reserved in the root: each at the size it has when it
/// lists every candidate, which bounds its size for any subset (data.js
/// grows by each item's record; the rest are fixed). The build checks it.
fn root_files(candidates: &[Candidate]) -> Vec<RootFile> {
    let items: Vec<SiteItem> = candidates
        .iter()
        .map(|c| {
            let path = [plan::kind_folder(c.kind).to_string(), c.name.clone()];
            let mut tags = c.tags.clone();
            tags.sort();
            tags.dedup();
            site_item(
                &path,
                c.kind,
                c.size,
                SiteFacts {
                    meta: &c.meta,
                    series: c.series.as_ref(),
                    episode: c.series.as_ref().and(c.episode),
                    tags: &tags,
                },
            )
        })
        .collect();
    site::site_entries(&items, &SiteOptions::default())
        .into_iter()
        .filter_map(|e| match (e.path.last(), e.kind) {
            (Some(name), EntryKind::File { size, .. }) => Some(RootFile {
                name: name.clone(),
                max_size: size,
            }),
            _ => None,
        })
        .collect()
}

/// The index files of a variant.
fn site_entries(files: &[PlannedFile]) -> Vec<Entry> {
    let items: Vec<SiteItem> = files
        .iter()
        .map(|f| {
            site_item(
                &f.path,
                f.kind,
                f.size,
                SiteFacts {
                    meta: &f.meta,
                    series: f.series.as_ref(),
                    episode: f.episode,
                    tags: &f.tags,
                },
            )
        })
        .collect();
    site::site_entries(&items, &SiteOptions::default())
}

/// The volume of variant `k`, from the plan and the workspace alone. Every
/// item must still have exactly the bytes the plan names.
pub fn volume(plan: &Plan, k: usize, drops: &Drops) -> Result<Volume, Error> {
    let lib = drops.lib;
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
        let p = drops.prepare(&item).map_err(|reason| Error::ItemCannotGo {
            id: f.id,
            name: name.clone(),
            reason,
        })?;
        let same_sidecars = p.sidecars.len() == f.sidecars.len()
            && p.sidecars
                .iter()
                .zip(&f.sidecars)
                .all(|(a, b)| a.hash == b.hash && a.size == b.size);
        if p.hash != f.meta.hash || p.size != f.size || !same_sidecars {
            return Err(Error::ItemChanged { id: f.id, name });
        }
        for (sc, planned) in p.sidecars.iter().zip(&f.sidecars) {
            entries.push(Entry {
                path: planned.path.clone(),
                kind: EntryKind::File {
                    size: planned.size,
                    source: Source::Path(sc.path.clone()),
                },
            });
        }
        entries.push(Entry {
            path: f.path.clone(),
            kind: EntryKind::File {
                size: f.size,
                source: Source::Path(p.path),
            },
        });
    }
    for e in site_entries(&v.files) {
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
    /// An ISO 9660 + Joliet image (DVDs).
    Iso,
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

/// Builds variant `k` of `plan` at `out`, with the plan's profile. The
/// output is written to a temporary sibling and renamed when complete, so
/// an interrupted build leaves no half image under the final name.
/// `threads` (1 or more) changes how fast, never what is written.
pub fn build(
    plan: &Plan,
    k: usize,
    lib: &Library,
    format: Format,
    out: &Path,
    threads: usize,
) -> Result<BuildReport, Error> {
    let model = plan.capacity.fs.model.as_str();
    let planned_iso = model.starts_with("iso");
    match format {
        Format::Fat32 if planned_iso => {
            return Err(Error::WrongFormat {
                planned: model.into(),
                suggest: "iso",
                wanted: "fat32",
            });
        }
        Format::Iso if !planned_iso => {
            return Err(Error::WrongFormat {
                planned: model.into(),
                suggest: "fat32",
                wanted: "iso",
            });
        }
        _ => {}
    }
    let drops = Drops::new(lib, &plan.profile)?;
    let vol = volume(plan, k, &drops)?;
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
                crate::fat32::write_image_file(&vol, &l, f).map_err(Error::from)
            })?;
            size
        }
        Format::Iso => {
            let l = crate::iso::layout(&vol)?;
            atomic_file(out, |f| {
                crate::iso::write_image(&vol, &l, f)
                    .map(|_| ())
                    .map_err(Error::from)
            })?;
            l.image_size()
        }
        Format::Dir => crate::dir::write_dir(&vol, out)?.bytes,
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
