//! Writing one image to many drives at once, and verifying every copy
//! (`baram drop write IMAGE TARGET...`).
//!
//! 1. [`preflight`] looks at every target: a block device must be a whole,
//!    removable (or USB, or SD card), unmounted, non-system disk at least as
//!    big as the image; an image file target is created or overwritten but
//!    may not be the image itself. Any refusal stops everything before a
//!    byte is written.
//! 2. [`Preflight::run`] needs `yes` when block devices are among the
//!    targets (otherwise it returns [`Error::NeedsConfirmation`] with what
//!    would be erased, for the CLI to ask). Then one thread per target:
//!    a fake-capacity probe (devices; see [`probe`]), the image streamed to
//!    all targets at once (the image is read once), fsync, and a read-back
//!    that bypasses the page cache (`O_DIRECT`) comparing BLAKE3 per 1 MiB
//!    chunk with the image's. A mismatch is narrowed to the first differing
//!    byte.
//! 3. A [`WriteReport`] with a [`Verdict`] per target, serialisable for
//!    `--json` and deterministic (no times, no nonce, targets in the order
//!    given).
//!
//! Nothing here prints; progress goes to a callback.

pub mod io;
pub mod probe;
pub mod safety;

use std::fs::File;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

pub use io::{AlignedBuf, FileTarget, ReadBack, TargetIo};
pub use probe::{Found, ProbeOutcome};
pub use safety::{DevNum, DeviceInfo, FactsError, Refusal, SystemFacts, check_device};

/// Verification granularity: the image is hashed per 1 MiB chunk.
pub const CHUNK: usize = 1 << 20;
/// I/O size for writing and reading back (a multiple of `CHUNK`).
const BLOCK: usize = 4 << 20;
/// Blocks in flight per target between the image reader and the writer.
const IN_FLIGHT: usize = 3;

/// What a target is doing, in the order it happens.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Open,
    Probe,
    Write,
    Sync,
    Verify,
    Done,
}

/// One progress report, for drawing a bar per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressEvent {
    /// Index of the target, in the order given.
    pub target: usize,
    pub phase: Phase,
    /// Bytes written (phase `Write`) or verified (phase `Verify`) so far.
    pub done: u64,
    /// The image size.
    pub total: u64,
}

/// The outcome for one target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Written, flushed and (unless verification was off) read back equal.
    Ok,
    /// Something failed; `offset` is the first wrong byte when known.
    Failed {
        phase: Phase,
        offset: Option<u64>,
        reason: String,
    },
    /// Smaller than the image; nothing written.
    TooSmall { size: u64, needed: u64 },
    /// Counterfeit: holds less than it claims; no image byte written.
    FakeCapacity {
        claimed: u64,
        /// The lowest probed offset that did not keep its mark.
        probe_offset: u64,
        found: Found,
        usable_at_most: u64,
    },
}

/// Whether a target is a drive or an image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Device,
    File,
}

/// The report for one target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetReport {
    /// The target as given.
    pub target: String,
    pub kind: TargetKind,
    /// Size the target claims (0 if it could not be opened).
    pub claimed_size: u64,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// How data was read back (probe and verification), if it was.
    pub read_back: Option<ReadBack>,
    pub notes: Vec<String>,
}

/// The report for a whole run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteReport {
    /// The image as given.
    pub image: String,
    pub image_size: u64,
    pub chunk_size: u64,
    pub verified: bool,
    pub targets: Vec<TargetReport>,
}

impl WriteReport {
    /// Every target ok.
    pub fn all_ok(&self) -> bool {
        self.targets.iter().all(|t| t.verdict == Verdict::Ok)
    }

    /// Pretty JSON for `--json`.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// A target refused by [`preflight`], with every reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetRefusal {
    pub target: String,
    pub reasons: Vec<Refusal>,
}

impl std::fmt::Display for TargetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.target)?;
        for (i, r) in self.reasons.iter().enumerate() {
            write!(f, "{}{r}", if i == 0 { " " } else { "; and " })?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the image {path}: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the image {path} is not a regular file; give the image file to write")]
    ImageNotFile { path: PathBuf },
    #[error("the image {path} is empty; build the drop image first")]
    EmptyImage { path: PathBuf },
    #[error(
        "the image {path} changed size ({was} -> {now} bytes) since the targets were checked; check again"
    )]
    ImageChanged { path: PathBuf, was: u64, now: u64 },
    #[error("no target given: name at least one drive (/dev/sdX) or image file to write")]
    NoTargets,
    #[error("cannot inspect the target {path}: {source}")]
    Target {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to write; nothing was written:\n{}", list_lines(.0))]
    Refused(Vec<TargetRefusal>),
    #[error(
        "writing erases everything on: {}; confirm (yes) to go on",
        .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
    )]
    NeedsConfirmation(Vec<DeviceInfo>),
    #[error(transparent)]
    Facts(#[from] FactsError),
    #[error("cannot get random bytes for the capacity probe: {0}")]
    Random(String),
}

fn list_lines(v: &[TargetRefusal]) -> String {
    v.iter()
        .map(|r| format!("  {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// When to run the fake-capacity probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeWhen {
    /// Block devices only (image files cannot fake their size).
    #[default]
    Devices,
    Always,
    Never,
}

/// Options for [`Preflight::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The user confirmed erasing the listed block devices.
    pub yes: bool,
    /// Read every target back and compare (default true).
    pub verify: bool,
    pub probe: ProbeWhen,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            yes: false,
            verify: true,
            probe: ProbeWhen::Devices,
        }
    }
}

/// A target that passed [`preflight`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTarget {
    pub path: PathBuf,
    pub kind: TargetKind,
    /// For block devices: what the CLI shows before asking.
    pub device: Option<DeviceInfo>,
}

/// Targets checked against an image, ready to [`run`](Preflight::run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    pub image: PathBuf,
    pub image_len: u64,
    pub targets: Vec<PlannedTarget>,
}

/// Checks the image and every target against the real system (reading
/// `/proc` and `/sys` only when a block device is named).
pub fn preflight(image: &Path, targets: &[PathBuf]) -> Result<Preflight, Error> {
    let mut facts: Option<SystemFacts> = None;
    preflight_with(image, targets, &mut || {
        if facts.is_none() {
            facts = Some(SystemFacts::read()?);
        }
        Ok(facts.clone().unwrap_or_default())
    })
}

/// [`preflight`] with the system description supplied by `facts` (called
/// only if a block device is among the targets).
pub fn preflight_with(
    image: &Path,
    targets: &[PathBuf],
    facts: &mut dyn FnMut() -> Result<SystemFacts, FactsError>,
) -> Result<Preflight, Error> {
    let im = std::fs::metadata(image).map_err(|source| Error::Image {
        path: image.to_path_buf(),
        source,
    })?;
    if !im.is_file() {
        return Err(Error::ImageNotFile {
            path: image.to_path_buf(),
        });
    }
    if im.len() == 0 {
        return Err(Error::EmptyImage {
            path: image.to_path_buf(),
        });
    }
    if targets.is_empty() {
        return Err(Error::NoTargets);
    }
    let image_len = im.len();
    let image_id = (im.dev(), im.ino());

    #[derive(PartialEq)]
    enum Id {
        Inode(u64, u64),
        Dev(u64),
        New(PathBuf),
    }
    let mut seen: Vec<(Id, String)> = Vec::new();
    let mut refusals = Vec::new();
    let mut planned = Vec::new();
    let mut system: Option<SystemFacts> = None;
    for t in targets {
        let name = t.display().to_string();
        let mut reasons = Vec::new();
        let mut kind = TargetKind::File;
        let mut device = None;
        let id = match std::fs::metadata(t) {
            Ok(m) if m.file_type().is_block_device() => {
                kind = TargetKind::Device;
                let sys = match system.take() {
                    Some(s) => s,
                    None => facts()?,
                };
                match check_device(&sys, t, DevNum::from_rdev(m.rdev()), image_len) {
                    Ok(info) => device = Some(info),
                    Err(r) => reasons.extend(r),
                }
                system = Some(sys);
                Id::Dev(m.rdev())
            }
            Ok(m) if m.is_file() => {
                if (m.dev(), m.ino()) == image_id {
                    reasons.push(Refusal::IsImage);
                }
                Id::Inode(m.dev(), m.ino())
            }
            Ok(m) => {
                let ft = m.file_type();
                let what = if ft.is_dir() {
                    "a folder"
                } else if ft.is_char_device() {
                    "a character device"
                } else if ft.is_fifo() {
                    "a pipe"
                } else {
                    "a special file"
                };
                reasons.push(Refusal::NotAFileOrDisk {
                    what: what.to_string(),
                });
                Id::Inode(m.dev(), m.ino())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = match t.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                match std::fs::canonicalize(&parent) {
                    Ok(p) if p.is_dir() => Id::New(p.join(t.file_name().unwrap_or_default())),
                    _ => {
                        reasons.push(Refusal::NotAFileOrDisk {
                            what: format!(
                                "a path in a folder that does not exist ({})",
                                parent.display()
                            ),
                        });
                        Id::New(t.clone())
                    }
                }
            }
            Err(source) => {
                return Err(Error::Target {
                    path: t.clone(),
                    source,
                });
            }
        };
        if let Some((_, first)) = seen.iter().find(|(i, _)| *i == id) {
            reasons.push(Refusal::Duplicate {
                first: first.clone(),
            });
        } else {
            seen.push((id, name.clone()));
        }
        if reasons.is_empty() {
            planned.push(PlannedTarget {
                path: t.clone(),
                kind,
                device,
            });
        } else {
            refusals.push(TargetRefusal {
                target: name,
                reasons,
            });
        }
    }
    if !refusals.is_empty() {
        return Err(Error::Refused(refusals));
    }
    Ok(Preflight {
        image: image.to_path_buf(),
        image_len,
        targets: planned,
    })
}

impl Preflight {
    /// The block devices that would be erased (ask before [`run`](Self::run)).
    pub fn devices(&self) -> Vec<&DeviceInfo> {
        self.targets
            .iter()
            .filter_map(|t| t.device.as_ref())
            .collect()
    }

    /// Writes the image to every target at once, then verifies. Block
    /// devices need `options.yes`.
    pub fn run(
        &self,
        options: &WriteOptions,
        progress: &(dyn Fn(ProgressEvent) + Sync),
    ) -> Result<WriteReport, Error> {
        let devices = self.devices();
        if !devices.is_empty() && !options.yes {
            return Err(Error::NeedsConfirmation(
                devices.into_iter().cloned().collect(),
            ));
        }
        let now = std::fs::metadata(&self.image)
            .map_err(|source| Error::Image {
                path: self.image.clone(),
                source,
            })?
            .len();
        if now != self.image_len {
            return Err(Error::ImageChanged {
                path: self.image.clone(),
                was: self.image_len,
                now,
            });
        }
        let targets = self
            .targets
            .iter()
            .map(|t| {
                let io = match t.kind {
                    TargetKind::Device => FileTarget::open_device(&t.path),
                    TargetKind::File => FileTarget::create_file(&t.path, self.image_len),
                };
                let probe = match options.probe {
                    ProbeWhen::Always => true,
                    ProbeWhen::Never => false,
                    ProbeWhen::Devices => t.kind == TargetKind::Device,
                };
                EngineTarget {
                    name: t.path.display().to_string(),
                    kind: t.kind,
                    io: io
                        .map(|f| Box::new(f) as Box<dyn TargetIo>)
                        .map_err(|e| format!("cannot open {}: {e}", t.path.display())),
                    probe,
                }
            })
            .collect();
        write_targets(&self.image, targets, options.verify, progress)
    }
}

/// A target for [`write_targets`]: any [`TargetIo`] (tests pass doubles).
pub struct EngineTarget {
    pub name: String,
    pub kind: TargetKind,
    /// The opened target, or why it could not be opened.
    pub io: Result<Box<dyn TargetIo>, String>,
    /// Run the fake-capacity probe first.
    pub probe: bool,
}

struct Block {
    offset: u64,
    data: Vec<u8>,
}

enum Msg {
    Block(Arc<Block>),
    Done(Arc<Vec<blake3::Hash>>),
}

/// The engine: streams `image` to every target at once (a thread each),
/// then verifies each. No safety checks here: see [`preflight`].
pub fn write_targets(
    image: &Path,
    targets: Vec<EngineTarget>,
    verify: bool,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<WriteReport, Error> {
    let image_err = |source| Error::Image {
        path: image.to_path_buf(),
        source,
    };
    let file = File::open(image).map_err(image_err)?;
    let image_len = file.metadata().map_err(image_err)?.len();
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| Error::Random(e.to_string()))?;
    let ctx = Ctx {
        image: &file,
        image_len,
        nonce,
        verify,
        progress,
    };

    let (reports, read_error) = std::thread::scope(|s| {
        let mut senders: Vec<SyncSender<Msg>> = Vec::new();
        let mut handles = Vec::new();
        for (i, t) in targets.into_iter().enumerate() {
            let (tx, rx) = sync_channel(IN_FLIGHT);
            senders.push(tx);
            let ctx = &ctx;
            handles.push(s.spawn(move || ctx.run_target(i, t, rx)));
        }
        let read_error = feed(&file, image_len, senders);
        let reports: Vec<TargetReport> = handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect();
        (reports, read_error)
    });
    if let Some(e) = read_error {
        return Err(image_err(e));
    }
    Ok(WriteReport {
        image: image.display().to_string(),
        image_size: image_len,
        chunk_size: CHUNK as u64,
        verified: verify,
        targets: reports,
    })
}

/// Reads the image once, hands each block to every live target, hashes it
/// per chunk, and finally sends the chunk hashes. Returns a read error.
fn feed(file: &File, len: u64, mut senders: Vec<SyncSender<Msg>>) -> Option<std::io::Error> {
    let mut hashes = Vec::with_capacity(len.div_ceil(CHUNK as u64) as usize);
    let mut offset = 0u64;
    while offset < len && !senders.is_empty() {
        let n = (len - offset).min(BLOCK as u64) as usize;
        let mut data = vec![0u8; n];
        if let Err(e) = file.read_exact_at(&mut data, offset) {
            return Some(e);
        }
        let block = Arc::new(Block { offset, data });
        senders.retain(|tx| tx.send(Msg::Block(Arc::clone(&block))).is_ok());
        hashes.extend(block.data.chunks(CHUNK).map(blake3::hash));
        offset += n as u64;
    }
    let hashes = Arc::new(hashes);
    for tx in senders {
        let _ = tx.send(Msg::Done(Arc::clone(&hashes)));
    }
    None
}

struct Ctx<'a> {
    image: &'a File,
    image_len: u64,
    nonce: [u8; 32],
    verify: bool,
    progress: &'a (dyn Fn(ProgressEvent) + Sync),
}

impl Ctx<'_> {
    fn event(&self, target: usize, phase: Phase, done: u64) {
        (self.progress)(ProgressEvent {
            target,
            phase,
            done,
            total: self.image_len,
        });
    }

    fn run_target(&self, idx: usize, t: EngineTarget, rx: Receiver<Msg>) -> TargetReport {
        let mut report = TargetReport {
            target: t.name,
            kind: t.kind,
            claimed_size: 0,
            verdict: Verdict::Ok,
            read_back: None,
            notes: Vec::new(),
        };
        self.event(idx, Phase::Open, 0);
        let mut io = match t.io {
            Ok(io) => io,
            Err(reason) => {
                report.verdict = Verdict::Failed {
                    phase: Phase::Open,
                    offset: None,
                    reason,
                };
                return report;
            }
        };
        report.claimed_size = io.claimed_size();
        report.verdict = self.write_verify(idx, io.as_mut(), t.probe, rx, &mut report);
        self.event(idx, Phase::Done, self.image_len);
        report
    }

    fn write_verify(
        &self,
        idx: usize,
        io: &mut dyn TargetIo,
        probe: bool,
        rx: Receiver<Msg>,
        report: &mut TargetReport,
    ) -> Verdict {
        let failed = |phase, offset, reason: String| Verdict::Failed {
            phase,
            offset,
            reason,
        };
        let size = io.claimed_size();
        if size < self.image_len {
            return Verdict::TooSmall {
                size,
                needed: self.image_len,
            };
        }
        if probe {
            self.event(idx, Phase::Probe, 0);
            let outcome = probe::probe(io, &self.nonce, &mut report.notes);
            report.read_back = Some(io.read_back());
            match outcome {
                Ok(ProbeOutcome::Genuine) => {}
                Ok(ProbeOutcome::Fake(f)) => {
                    return Verdict::FakeCapacity {
                        claimed: size,
                        probe_offset: f.offset,
                        found: f.found,
                        usable_at_most: f.usable_at_most,
                    };
                }
                Err(e) => {
                    return failed(
                        Phase::Probe,
                        e.offset,
                        format!("capacity probe failed {}: {}", e.what, e.error),
                    );
                }
            }
        }

        self.event(idx, Phase::Write, 0);
        let hashes = loop {
            match rx.recv() {
                Ok(Msg::Block(b)) => {
                    if let Err(e) = io.write_at(&b.data, b.offset) {
                        return failed(
                            Phase::Write,
                            Some(b.offset),
                            format!(
                                "write failed in the 4 MiB block at offset {}: {e}",
                                b.offset
                            ),
                        );
                    }
                    self.event(idx, Phase::Write, b.offset + b.data.len() as u64);
                }
                Ok(Msg::Done(h)) => break h,
                Err(_) => {
                    return failed(
                        Phase::Write,
                        None,
                        "the image could not be read to the end".to_string(),
                    );
                }
            }
        };
        drop(rx);
        self.event(idx, Phase::Sync, self.image_len);
        if let Err(e) = io.sync() {
            return failed(Phase::Sync, None, format!("flushing (fsync) failed: {e}"));
        }
        if !self.verify {
            return Verdict::Ok;
        }
        let v = self.verify_target(idx, io, &hashes);
        report.read_back = Some(io.read_back());
        v
    }

    fn verify_target(&self, idx: usize, io: &mut dyn TargetIo, hashes: &[blake3::Hash]) -> Verdict {
        self.event(idx, Phase::Verify, 0);
        let mut buf = AlignedBuf::new(BLOCK);
        let len = self.image_len;
        let mut offset = 0u64;
        while offset < len {
            let want = (len - offset).min(BLOCK as u64) as usize;
            let request = want.next_multiple_of(io::ALIGN);
            let got = match io::read_full(io, &mut buf.as_mut_slice()[..request], offset) {
                Ok(g) => g.min(want),
                Err(e) => {
                    return Verdict::Failed {
                        phase: Phase::Verify,
                        offset: Some(offset),
                        reason: format!("reading back failed in the block at offset {offset}: {e}"),
                    };
                }
            };
            let data = &buf.as_slice()[..got];
            let mut c = 0usize;
            while c < want {
                let end = (c + CHUNK).min(want);
                let chunk_offset = offset + c as u64;
                let index = (chunk_offset / CHUNK as u64) as usize;
                let ok = end <= got
                    && hashes
                        .get(index)
                        .is_some_and(|h| blake3::hash(&data[c..end]) == *h);
                if !ok {
                    let part = &data[c.min(got)..end.min(got)];
                    return self.locate(chunk_offset, end - c, part);
                }
                c = end;
            }
            offset += want as u64;
            self.event(idx, Phase::Verify, offset);
        }
        Verdict::Ok
    }

    /// Narrows a chunk whose hash differs to the first wrong byte, by
    /// comparing with the image. `got` may be shorter than `len` (the
    /// target ended early).
    fn locate(&self, chunk_offset: u64, len: usize, got: &[u8]) -> Verdict {
        let mut want = vec![0u8; len];
        if let Err(e) = self.image.read_exact_at(&mut want, chunk_offset) {
            return Verdict::Failed {
                phase: Phase::Verify,
                offset: Some(chunk_offset),
                reason: format!(
                    "the 1 MiB chunk at offset {chunk_offset} differs, and rereading the image to find the byte failed: {e}"
                ),
            };
        }
        if let Some(i) = want.iter().zip(got).position(|(a, b)| a != b) {
            let at = chunk_offset + i as u64;
            return Verdict::Failed {
                phase: Phase::Verify,
                offset: Some(at),
                reason: format!(
                    "read back 0x{:02x} at offset {at} where the image has 0x{:02x}",
                    got[i], want[i]
                ),
            };
        }
        if got.len() < len {
            let at = chunk_offset + got.len() as u64;
            return Verdict::Failed {
                phase: Phase::Verify,
                offset: Some(at),
                reason: format!("the target ended at offset {at} while reading back"),
            };
        }
        Verdict::Failed {
            phase: Phase::Verify,
            offset: Some(chunk_offset),
            reason: format!(
                "the 1 MiB chunk at offset {chunk_offset} differs from what was written, but equals the image now: the image changed while writing"
            ),
        }
    }
}
