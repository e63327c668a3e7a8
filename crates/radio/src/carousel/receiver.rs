//! The receiver: gathers packets across recordings in a folder and writes each
//! file once it is rebuilt and verified.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use raptorq::{EncodingPacket, PayloadId, SourceBlockDecoder, extended_source_block_symbols};

use super::manifest::{
    BLOCK_HASH_LEN, KeyId, Manifest, ManifestError, ManifestFile, blob_len, hex, verify_blob,
};
use super::packet::{self, BroadcastId, MAX_ESI, Packet, PacketError};
use super::store::{self, LoadReport, Log};

/// Name of the state folder inside the receive folder.
pub const STATE_DIR: &str = ".baram-carousel";
/// Distinct contents kept for one symbol id or manifest fragment (more are dropped).
const MAX_VARIANTS: usize = 4;
/// Largest number of leave-one-group-out decodes tried after a failed check.
const MAX_GROUPS: usize = 24;
/// Largest number of manifest fragment combinations tried.
const MAX_MANIFEST_TRIES: usize = 16;

/// What happened to one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A new encoding symbol, stored.
    Symbol,
    /// A new manifest fragment, stored.
    ManifestFragment,
    /// Already held (same bytes).
    Duplicate,
    /// Refused by the packet parser.
    Bad(PacketError),
    /// Well-formed, but does not fit the broadcast's verified manifest or
    /// exceeds what is kept; not stored.
    Misfit(&'static str),
}

/// Something the operator should be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ManifestAccepted {
        broadcast: BroadcastId,
        sequence: u32,
        files: usize,
    },
    ManifestRejected {
        broadcast: BroadcastId,
        key_id: Option<KeyId>,
        reason: String,
    },
    ManifestConflict {
        broadcast: BroadcastId,
    },
    FileWritten {
        broadcast: BroadcastId,
        index: u8,
        path: PathBuf,
    },
    VerificationFailed {
        broadcast: BroadcastId,
        index: u8,
        block: u8,
    },
    StoreRepaired {
        path: PathBuf,
        discarded_bytes: usize,
        records_kept: usize,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::ManifestAccepted {
                broadcast,
                sequence,
                files,
            } => write!(
                f,
                "broadcast {broadcast}: manifest verified (sequence {sequence}, {files} files)"
            ),
            Event::ManifestRejected {
                broadcast,
                key_id,
                reason,
            } => write!(
                f,
                "broadcast {broadcast}: manifest REJECTED (key id {}): {reason}; none of its files will be written",
                key_id.map(|k| hex(&k)).unwrap_or_else(|| "unknown".into())
            ),
            Event::ManifestConflict { broadcast } => write!(
                f,
                "broadcast {broadcast}: a second, different verified manifest with the same id was ignored"
            ),
            Event::FileWritten {
                broadcast,
                index,
                path,
            } => write!(
                f,
                "broadcast {broadcast} file {index}: rebuilt, verified, written to {}",
                path.display()
            ),
            Event::VerificationFailed {
                broadcast,
                index,
                block,
            } => write!(
                f,
                "broadcast {broadcast} file {index} block {block}: decoded data failed its BLAKE3 check (a bad symbol is held); not written, waiting for more symbols"
            ),
            Event::StoreRepaired {
                path,
                discarded_bytes,
                records_kept,
            } => write!(
                f,
                "store {}: {discarded_bytes} damaged bytes discarded, {records_kept} records kept",
                path.display()
            ),
        }
    }
}

/// Where a file stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Symbols are held but no verified manifest names this file yet.
    WaitingForManifest,
    /// Only forged/unverifiable manifests were seen for this broadcast.
    ManifestRejected,
    /// Manifest verified, collecting symbols.
    Collecting,
    /// Written to this path after all checks passed.
    Rebuilt(PathBuf),
    /// A decode produced data that failed its BLAKE3 check; waiting for more
    /// symbols to leave the bad one out.
    FailedVerification { failures: u32 },
}

/// Status of one file of one broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub broadcast: BroadcastId,
    pub index: u8,
    pub name: Option<String>,
    pub size: Option<u64>,
    /// Distinct encoding symbols held (usable ones once the manifest is known).
    pub symbols_held: u64,
    /// Source symbols K summed over blocks: RaptorQ rebuilds from about this
    /// many (K usually, K+1 or K+2 almost always), per block.
    pub symbols_needed: Option<u64>,
    pub state: FileState,
}

/// Counters over all packets given to [`Receiver::receive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    pub packets: u64,
    pub symbols: u64,
    pub manifest_fragments: u64,
    pub duplicates: u64,
    pub bad: u64,
    pub misfits: u64,
}

/// Distinct contents of one symbol id, each with its arrival number.
type Variants = Vec<(Vec<u8>, u64)>;
/// Fragment index → distinct chunks.
type Fragments = BTreeMap<u16, Vec<Vec<u8>>>;

#[derive(Default)]
struct BlockRx {
    done: bool,
    data: Vec<u8>,
    last_try: usize,
    step: usize,
    failures: u32,
}

#[derive(Default)]
struct FileRx {
    log: Option<Log>,
    /// (sbn, esi) → distinct symbol contents with arrival numbers.
    symbols: BTreeMap<(u8, u32), Variants>,
    /// Distinct symbol ids held per source block.
    held: BTreeMap<u8, usize>,
    blocks: Vec<BlockRx>,
    written: Option<PathBuf>,
    failures: u32,
}

#[derive(Default)]
struct Bcast {
    manifest: Option<Manifest>,
    /// (digest, count) → fragment index → distinct chunks.
    fragments: BTreeMap<([u8; 4], u16), Fragments>,
    fragment_len: BTreeMap<([u8; 4], u16), usize>,
    rejected: BTreeMap<[u8; 4], String>,
    manifest_log: Option<Log>,
    files: BTreeMap<u8, FileRx>,
}

/// Receives packets into a folder. See the module docs of [`crate::carousel`].
pub struct Receiver {
    dir: PathBuf,
    state: PathBuf,
    trusted: VerifyingKey,
    broadcasts: BTreeMap<BroadcastId, Bcast>,
    stats: ReceiveStats,
    events: Vec<Event>,
    arrival: u64,
}

fn parse_hex4(s: &str) -> Option<BroadcastId> {
    if s.len() != 8 || !s.is_ascii() {
        return None;
    }
    let mut id = [0u8; 4];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(BroadcastId(id))
}

/// Make a manifest name safe as one file name in the receive folder: no
/// folders, no `..`, no hidden or control characters; other Unicode (Korean)
/// is kept. Falls back to `file-N` when nothing is left.
pub fn sanitize_name(name: &str, index: u8) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '\0' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim().to_string();
    while s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() || s.chars().all(|c| c == '_' || c == '.') {
        s = format!("file-{index}");
    }
    s
}

impl Receiver {
    /// Open (or create) a receive folder; reload and check everything stored.
    pub fn open(dir: &Path, trusted_public_key: &VerifyingKey) -> io::Result<Receiver> {
        fs::create_dir_all(dir)?;
        let state = dir.join(STATE_DIR);
        fs::create_dir_all(&state)?;
        let mut rx = Receiver {
            dir: dir.to_path_buf(),
            state: state.clone(),
            trusted: *trusted_public_key,
            broadcasts: BTreeMap::new(),
            stats: ReceiveStats::default(),
            events: Vec::new(),
            arrival: 0,
        };
        let mut subdirs: Vec<_> = fs::read_dir(&state)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e.file_name().into_string().ok()?;
                parse_hex4(&n).map(|id| (id, e.path()))
            })
            .collect();
        subdirs.sort();
        for (id, path) in subdirs {
            let (log, recs, rep) = Log::load(&path.join("manifest.log"))?;
            rx.note_repair(&path.join("manifest.log"), &rep);
            rx.broadcasts.entry(id).or_default().manifest_log = Some(log);
            for r in recs {
                rx.ingest(&r, false)?;
            }
            let mut logs: Vec<(u8, PathBuf)> = fs::read_dir(&path)?
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().into_string().ok()?;
                    let i = n.strip_prefix('f')?.strip_suffix(".log")?.parse().ok()?;
                    Some((i, e.path()))
                })
                .collect();
            logs.sort();
            for (i, p) in logs {
                let (log, recs, rep) = Log::load(&p)?;
                rx.note_repair(&p, &rep);
                rx.broadcasts
                    .entry(id)
                    .or_default()
                    .files
                    .entry(i)
                    .or_default()
                    .log = Some(log);
                for r in recs {
                    rx.ingest(&r, false)?;
                }
            }
        }
        let ids: Vec<_> = rx.broadcasts.keys().copied().collect();
        for id in ids {
            rx.try_all_files(id)?;
        }
        Ok(rx)
    }

    fn note_repair(&mut self, path: &Path, rep: &LoadReport) {
        if rep.discarded_bytes > 0 {
            self.events.push(Event::StoreRepaired {
                path: path.to_path_buf(),
                discarded_bytes: rep.discarded_bytes,
                records_kept: rep.records,
            });
        }
    }

    /// Take one modem payload. Bad packets are counted and reported, never
    /// stored; an `Err` is only a failure of the receive folder itself.
    pub fn receive(&mut self, packet_bytes: &[u8]) -> io::Result<Received> {
        self.stats.packets += 1;
        let r = self.ingest(packet_bytes, true)?;
        match &r {
            Received::Symbol => self.stats.symbols += 1,
            Received::ManifestFragment => self.stats.manifest_fragments += 1,
            Received::Duplicate => self.stats.duplicates += 1,
            Received::Bad(_) => self.stats.bad += 1,
            Received::Misfit(_) => self.stats.misfits += 1,
        }
        Ok(r)
    }

    fn bdir(&self, id: BroadcastId) -> io::Result<PathBuf> {
        let p = self.state.join(id.to_string());
        fs::create_dir_all(&p)?;
        Ok(p)
    }

    fn ingest(&mut self, bytes: &[u8], persist: bool) -> io::Result<Received> {
        let pkt = match packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => return Ok(Received::Bad(e)),
        };
        let id = pkt.broadcast();
        self.arrival += 1;
        let arrival = self.arrival;
        match pkt {
            Packet::Manifest(m) => {
                let b = self.broadcasts.entry(id).or_default();
                if let Some(man) = &b.manifest
                    && man.payload_size as usize != bytes.len()
                {
                    return Ok(Received::Misfit(
                        "manifest packet length differs from the broadcast's",
                    ));
                }
                let key = (m.digest, m.count);
                if let Some(&len) = b.fragment_len.get(&key)
                    && len != bytes.len()
                {
                    return Ok(Received::Misfit("manifest fragment length differs"));
                }
                let variants = b
                    .fragments
                    .entry(key)
                    .or_default()
                    .entry(m.index)
                    .or_default();
                if variants.iter().any(|v| v == m.chunk) {
                    return Ok(Received::Duplicate);
                }
                if variants.len() >= MAX_VARIANTS {
                    return Ok(Received::Misfit(
                        "too many different copies of one manifest fragment",
                    ));
                }
                variants.push(m.chunk.to_vec());
                b.fragment_len.insert(key, bytes.len());
                if persist {
                    let path = self.bdir(id)?.join("manifest.log");
                    let b = self.broadcasts.get_mut(&id).expect("present");
                    if b.manifest_log.is_none() {
                        b.manifest_log = Some(Log::load(&path)?.0);
                    }
                    b.manifest_log.as_mut().expect("log").append(bytes)?;
                }
                self.try_manifest(id, key, bytes.len())?;
                Ok(Received::ManifestFragment)
            }
            Packet::Data(d) => {
                let b = self.broadcasts.entry(id).or_default();
                if let Some(man) = &b.manifest
                    && let Err(why) = fits(man, bytes.len(), d.file, d.sbn, d.esi)
                {
                    return Ok(Received::Misfit(why));
                }
                let f = b.files.entry(d.file).or_default();
                let variants = f.symbols.entry((d.sbn, d.esi)).or_default();
                if variants.iter().any(|(v, _)| v == d.symbol) {
                    return Ok(Received::Duplicate);
                }
                if variants.len() >= MAX_VARIANTS {
                    return Ok(Received::Misfit("too many different copies of one symbol"));
                }
                if variants.is_empty() {
                    *f.held.entry(d.sbn).or_default() += 1;
                }
                variants.push((d.symbol.to_vec(), arrival));
                let done = f.written.is_some();
                if persist {
                    let dir = self.bdir(id)?;
                    let f = self
                        .broadcasts
                        .get_mut(&id)
                        .expect("present")
                        .files
                        .get_mut(&d.file)
                        .expect("present");
                    let path = dir.join(format!("f{}.log", d.file));
                    if f.log.is_none() {
                        f.log = Some(Log::load(&path)?.0);
                    }
                    f.log.as_mut().expect("log").append(bytes)?;
                    if !done {
                        self.try_file(id, d.file)?;
                    }
                }
                Ok(Received::Symbol)
            }
        }
    }

    fn try_manifest(&mut self, id: BroadcastId, key: ([u8; 4], u16), len: usize) -> io::Result<()> {
        let b = self.broadcasts.get_mut(&id).expect("present");
        let frags = &b.fragments[&key];
        if frags.len() != key.1 as usize {
            return Ok(());
        }
        // Every combination of the distinct copies, up to a bound.
        let lists: Vec<&Vec<Vec<u8>>> = frags.values().collect();
        let mut choice = vec![0usize; lists.len()];
        let mut last_err = None;
        let mut accepted = None;
        for _ in 0..MAX_MANIFEST_TRIES {
            let blob: Vec<u8> = lists
                .iter()
                .zip(&choice)
                .flat_map(|(l, &c)| l[c].iter().copied())
                .collect();
            let digest_ok = blob_len(&blob)
                .map(|n| blake3::hash(&blob[..n]).as_bytes()[..4] == key.0)
                .unwrap_or(false);
            match verify_blob(&blob, &self.trusted) {
                Ok(m) if !digest_ok => {
                    last_err = Some((Some(m.key_id), "fragment digest does not match".to_string()))
                }
                Ok(m) if m.broadcast_id != id => {
                    last_err = Some((
                        Some(m.key_id),
                        format!("manifest names broadcast {}", m.broadcast_id),
                    ))
                }
                Ok(m) if m.payload_size as usize != len => {
                    last_err = Some((
                        Some(m.key_id),
                        "payload size differs from the packets'".to_string(),
                    ))
                }
                Ok(m) => {
                    accepted = Some(m);
                    break;
                }
                Err(e) => {
                    let kid = match &e {
                        ManifestError::UnknownKey { key_id }
                        | ManifestError::BadSignature { key_id } => Some(*key_id),
                        _ => None,
                    };
                    last_err = Some((kid, e.to_string()));
                }
            }
            // Next combination (odometer).
            let mut i = 0;
            loop {
                if i == choice.len() {
                    break;
                }
                choice[i] += 1;
                if choice[i] < lists[i].len() {
                    break;
                }
                choice[i] = 0;
                i += 1;
            }
            if i == choice.len() {
                break;
            }
        }
        if let Some(m) = accepted {
            match &b.manifest {
                Some(old) if *old == m => {}
                Some(_) => self.events.push(Event::ManifestConflict { broadcast: id }),
                None => {
                    self.events.push(Event::ManifestAccepted {
                        broadcast: id,
                        sequence: m.sequence,
                        files: m.files.len(),
                    });
                    b.rejected.clear();
                    // Drop symbols that cannot belong to this manifest.
                    for (fi, f) in b.files.iter_mut() {
                        let bad: Vec<_> = f
                            .symbols
                            .keys()
                            .copied()
                            .filter(|&(sbn, esi)| fits(&m, len, *fi, sbn, esi).is_err())
                            .collect();
                        for k in bad {
                            f.symbols.remove(&k);
                            *f.held.entry(k.0).or_default() -= 1;
                        }
                    }
                    b.manifest = Some(m);
                    self.try_all_files(id)?;
                }
            }
        } else if let Some((key_id, reason)) = last_err
            && b.manifest.is_none()
            && b.rejected.get(&key.0) != Some(&reason)
        {
            b.rejected.insert(key.0, reason.clone());
            self.events.push(Event::ManifestRejected {
                broadcast: id,
                key_id,
                reason,
            });
        }
        Ok(())
    }

    fn try_all_files(&mut self, id: BroadcastId) -> io::Result<()> {
        let n = match &self.broadcasts[&id].manifest {
            Some(m) => m.files.len(),
            None => return Ok(()),
        };
        for i in 0..n {
            self.try_file(id, i as u8)?;
        }
        Ok(())
    }

    fn try_file(&mut self, id: BroadcastId, index: u8) -> io::Result<()> {
        let bdir = self.bdir(id)?;
        let b = self.broadcasts.get_mut(&id).expect("present");
        let Some(man) = &b.manifest else {
            return Ok(());
        };
        let Some(mf) = man.files.get(index as usize) else {
            return Ok(());
        };
        let f = b.files.entry(index).or_default();
        if f.written.is_some() {
            return Ok(());
        }
        // Already written in an earlier session?
        let marker = bdir.join(format!("done-{index}"));
        if let Ok(name) = fs::read_to_string(&marker) {
            let p = self.dir.join(name.trim());
            if fs::read(&p)
                .map(|d| *blake3::hash(&d).as_bytes() == mf.blake3)
                .unwrap_or(false)
            {
                f.written = Some(p);
                return Ok(());
            }
        }
        let ks = mf.block_symbols();
        if f.blocks.len() != ks.len() {
            f.blocks = ks.iter().map(|_| BlockRx::default()).collect();
        }
        for (sbn, &k) in ks.iter().enumerate() {
            let blk = &mut f.blocks[sbn];
            if blk.done {
                continue;
            }
            let held = f
                .symbols
                .range((sbn as u8, 0)..=(sbn as u8, u32::MAX))
                .count();
            if held < k as usize || (blk.last_try > 0 && held < blk.last_try + blk.step.max(1)) {
                continue;
            }
            blk.last_try = held;
            let syms: Vec<(u32, &Variants)> = f
                .symbols
                .range((sbn as u8, 0)..=(sbn as u8, u32::MAX))
                .map(|(&(_, esi), v)| (esi, v))
                .collect();
            match decode_block(mf, sbn as u8, k, &syms) {
                Decode::Ok(data) => {
                    blk.data = data;
                    blk.done = true;
                }
                Decode::NotEnough => blk.step = 1,
                Decode::Failed => {
                    blk.step = (k as usize / 32).max(2);
                    blk.failures += 1;
                    f.failures += 1;
                    self.events.push(Event::VerificationFailed {
                        broadcast: id,
                        index,
                        block: sbn as u8,
                    });
                }
            }
        }
        if !f.blocks.iter().all(|b| b.done) {
            return Ok(());
        }
        let mut data: Vec<u8> = f
            .blocks
            .iter()
            .flat_map(|b| b.data.iter().copied())
            .collect();
        data.truncate(mf.size() as usize);
        if *blake3::hash(&data).as_bytes() != mf.blake3 {
            // Every block passed its own hash but the file does not: start over.
            f.blocks.clear();
            f.failures += 1;
            self.events.push(Event::VerificationFailed {
                broadcast: id,
                index,
                block: 0,
            });
            return Ok(());
        }
        let path = choose_path(&self.dir, &sanitize_name(&mf.name, index), &data)?;
        if !path.exists() {
            store::write_into(&self.state, &path, &data)?;
        }
        let rel = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        store::write_atomic(&marker, rel.as_bytes())?;
        let b = self.broadcasts.get_mut(&id).expect("present");
        let f = b.files.get_mut(&index).expect("present");
        f.written = Some(path.clone());
        f.blocks.iter_mut().for_each(|b| b.data = Vec::new());
        self.events.push(Event::FileWritten {
            broadcast: id,
            index,
            path,
        });
        Ok(())
    }

    /// Per-file status, ordered by broadcast and file index.
    pub fn status(&self) -> Vec<FileStatus> {
        let mut out = Vec::new();
        for (&id, b) in &self.broadcasts {
            match &b.manifest {
                Some(m) => {
                    for (i, mf) in m.files.iter().enumerate() {
                        let f = b.files.get(&(i as u8));
                        let held = f.map(|f| f.symbols.len() as u64).unwrap_or(0);
                        let state = match f {
                            Some(f) if f.written.is_some() => {
                                FileState::Rebuilt(f.written.clone().expect("some"))
                            }
                            Some(f) if f.failures > 0 => FileState::FailedVerification {
                                failures: f.failures,
                            },
                            _ => FileState::Collecting,
                        };
                        out.push(FileStatus {
                            broadcast: id,
                            index: i as u8,
                            name: Some(mf.name.clone()),
                            size: Some(mf.size()),
                            symbols_held: held,
                            symbols_needed: Some(mf.source_symbols()),
                            state,
                        });
                    }
                }
                None => {
                    for (&i, f) in &b.files {
                        out.push(FileStatus {
                            broadcast: id,
                            index: i,
                            name: None,
                            size: None,
                            symbols_held: f.symbols.len() as u64,
                            symbols_needed: None,
                            state: if b.rejected.is_empty() {
                                FileState::WaitingForManifest
                            } else {
                                FileState::ManifestRejected
                            },
                        });
                    }
                }
            }
        }
        out
    }

    /// The broadcasts seen, with their verified manifest if any.
    pub fn broadcasts(&self) -> Vec<(BroadcastId, Option<&Manifest>)> {
        self.broadcasts
            .iter()
            .map(|(&id, b)| (id, b.manifest.as_ref()))
            .collect()
    }

    /// Everything reported so far (oldest first).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Packet counters of this session.
    pub fn stats(&self) -> &ReceiveStats {
        &self.stats
    }

    /// fsync every log written in this session.
    pub fn sync(&mut self) -> io::Result<()> {
        for b in self.broadcasts.values_mut() {
            if let Some(l) = &mut b.manifest_log {
                l.sync()?;
            }
            for f in b.files.values_mut() {
                if let Some(l) = &mut f.log {
                    l.sync()?;
                }
            }
        }
        Ok(())
    }
}

/// `name`, or `name (2)`, `name (3)`… : never overwrite a different file.
fn choose_path(dir: &Path, name: &str, data: &[u8]) -> io::Result<PathBuf> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 1..10_000 {
        let cand = if n == 1 {
            name.to_string()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let p = dir.join(cand);
        match fs::read(&p) {
            Ok(existing) if existing == data => return Ok(p),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(_) => continue,
        }
    }
    Err(io::Error::other("no free file name"))
}

/// Does a data packet fit the verified manifest?
fn fits(m: &Manifest, len: usize, file: u8, sbn: u8, esi: u32) -> Result<(), &'static str> {
    if m.payload_size as usize != len {
        return Err("packet length differs from the broadcast's payload size");
    }
    let Some(mf) = m.files.get(file as usize) else {
        return Err("file index not in the manifest");
    };
    let ks = mf.block_symbols();
    let Some(&k) = ks.get(sbn as usize) else {
        return Err("source block not in the file");
    };
    // The raptorq crate numbers repair symbols from K (its decoder maps
    // ESI ≥ K to the internal symbol K' + ESI − K), so ESIs K..K' are the
    // first repair symbols, and the last usable one is MAX_ESI − (K' − K).
    if esi > MAX_ESI - (extended_source_block_symbols(k) - k) {
        return Err("encoding symbol id not used by this block");
    }
    Ok(())
}

enum Decode {
    Ok(Vec<u8>),
    NotEnough,
    Failed,
}

fn run_decoder(mf: &ManifestFile, sbn: u8, k: u32, set: &[(u32, &[u8], u64)]) -> Option<Vec<u8>> {
    let t = mf.oti.symbol_size() as u64;
    let mut dec = SourceBlockDecoder::new(sbn, &mf.oti, k as u64 * t);
    dec.decode(
        set.iter()
            .map(|&(esi, d, _)| EncodingPacket::new(PayloadId::new(sbn, esi), d.to_vec())),
    )
}

/// Decode one block and check it against its hash. A symbol that passed the
/// CRCs can still be wrong (a modem/CRC false accept, or a forged packet), and
/// then the decode gives wrong data that the hash refuses. Recovery: symbol
/// ids seen with two different contents are left out first; if the check
/// still fails, the held symbols are split by arrival into groups and the
/// block is decoded leaving out one group at a time (newest first), each
/// candidate checked against the signed hash, so a wrong result is never
/// accepted. This needs about n/24 + 2 symbols beyond K; until then the block
/// waits for more.
fn decode_block(mf: &ManifestFile, sbn: u8, k: u32, syms: &[(u32, &Variants)]) -> Decode {
    let verify = |d: &[u8]| -> bool {
        if mf.block_hashes.is_empty() {
            let n = (mf.size() as usize).min(d.len());
            *blake3::hash(&d[..n]).as_bytes() == mf.blake3
        } else {
            mf.block_hashes
                .get(sbn as usize)
                .is_some_and(|h| blake3::hash(d).as_bytes()[..BLOCK_HASH_LEN] == h[..])
        }
    };
    let t = mf.oti.symbol_size() as usize;
    let mut set: Vec<(u32, &[u8], u64)> = syms
        .iter()
        .filter(|(_, v)| v.len() == 1 && v[0].0.len() == t)
        .map(|(esi, v)| (*esi, v[0].0.as_slice(), v[0].1))
        .collect();
    if set.len() < k as usize {
        set = syms
            .iter()
            .filter(|(_, v)| v[0].0.len() == t)
            .map(|(esi, v)| (*esi, v[0].0.as_slice(), v[0].1))
            .collect();
    }
    if set.len() < k as usize {
        return Decode::NotEnough;
    }
    match run_decoder(mf, sbn, k, &set) {
        None => return Decode::NotEnough,
        Some(d) if verify(&d) => return Decode::Ok(d),
        Some(_) => {}
    }
    let n = set.len();
    let m = n - k as usize;
    if m < 2 {
        return Decode::Failed;
    }
    let group = m - 1;
    let groups = n.div_ceil(group);
    if groups > MAX_GROUPS {
        return Decode::Failed;
    }
    set.sort_by_key(|s| std::cmp::Reverse(s.2));
    for g in 0..groups {
        let rest: Vec<_> = set[..g * group]
            .iter()
            .chain(set[((g + 1) * group).min(n)..].iter())
            .copied()
            .collect();
        if let Some(d) = run_decoder(mf, sbn, k, &rest)
            && verify(&d)
        {
            return Decode::Ok(d);
        }
    }
    Decode::Failed
}
