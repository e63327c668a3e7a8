//! Crash-safe persistence: append-only logs of length+CRC-32 records and
//! atomic (temp + fsync + rename) small files.
//!
//! Record: `0xB7`, length (u16 BE), packet bytes, CRC-32 (IEEE, BE) over the
//! magic, length and packet. On load every record is checked; a torn tail or a
//! damaged stretch is skipped (the scan resynchronises on the next record that
//! checks out) and the log is rewritten atomically with the valid records only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const REC_MAGIC: u8 = 0xB7;
const REC_OVERHEAD: usize = 1 + 2 + 4;

fn record(packet: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(REC_OVERHEAD + packet.len());
    v.push(REC_MAGIC);
    v.extend_from_slice(&(packet.len() as u16).to_be_bytes());
    v.extend_from_slice(packet);
    let c = crc32fast::hash(&v);
    v.extend_from_slice(&c.to_be_bytes());
    v
}

fn record_at(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    if b.len() - at < REC_OVERHEAD || b[at] != REC_MAGIC {
        return None;
    }
    let n = u16::from_be_bytes([b[at + 1], b[at + 2]]) as usize;
    let end = at + 3 + n;
    if n == 0 || end + 4 > b.len() {
        return None;
    }
    let c = u32::from_be_bytes([b[end], b[end + 1], b[end + 2], b[end + 3]]);
    (crc32fast::hash(&b[at..end]) == c).then(|| (&b[at + 3..end], end + 4))
}

/// What a load found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    pub records: usize,
    pub discarded_bytes: usize,
}

/// An append-only log of packets.
pub struct Log {
    path: PathBuf,
    file: Option<File>,
}

impl Log {
    /// Load the valid records of `path` (missing = empty); repair it if damaged.
    pub fn load(path: &Path) -> io::Result<(Log, Vec<Vec<u8>>, LoadReport)> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        let mut rep = LoadReport::default();
        let mut at = 0;
        while at < bytes.len() {
            match record_at(&bytes, at) {
                Some((p, next)) => {
                    out.push(p.to_vec());
                    at = next;
                }
                None => {
                    rep.discarded_bytes += 1;
                    at += 1;
                }
            }
        }
        rep.records = out.len();
        if rep.discarded_bytes > 0 {
            let mut clean = Vec::new();
            for p in &out {
                clean.extend_from_slice(&record(p));
            }
            write_atomic(path, &clean)?;
        }
        Ok((
            Log {
                path: path.to_path_buf(),
                file: None,
            },
            out,
            rep,
        ))
    }

    /// Append one packet as one `write` call.
    pub fn append(&mut self, packet: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        self.file
            .as_mut()
            .expect("opened")
            .write_all(&record(packet))
    }

    /// fsync the log.
    pub fn sync(&mut self) -> io::Result<()> {
        match &self.file {
            Some(f) => f.sync_data(),
            None => Ok(()),
        }
    }
}

/// fsync a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Write `bytes` to `path` atomically: temp file in the same folder, fsync, rename, fsync folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Write a file into `dir` via a temp file in `tmp_dir` (same file system), rename into place.
pub fn write_into(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_dir.join(format!("out.tmp-{}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}
