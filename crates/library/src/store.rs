//! The content-addressed blob store.
//!
//! A blob's name is the BLAKE3 hash of its bytes, in hex, under two levels of
//! shard folders: `blobs/ab/cd/abcd…`. A blob is written to a temporary file in
//! the folder it will live in, fsynced, renamed into place, and the folder is
//! fsynced: a blob file under its final name is therefore always whole.
//! Temporary files start with `.tmp-` and are removed by recovery.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A BLAKE3 hash in lowercase hex: 64 characters.
pub type Hash = String;

/// Hashes bytes the way the store names them.
pub fn hash_bytes(data: &[u8]) -> Hash {
    blake3::hash(data).to_hex().to_string()
}

pub(crate) const TMP_PREFIX: &str = ".tmp-";

/// The blob folder of a workspace.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: PathBuf) -> Self {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this hash lives.
    pub fn path(&self, hash: &str) -> PathBuf {
        debug_assert!(hash.len() == 64);
        self.root.join(&hash[0..2]).join(&hash[2..4]).join(hash)
    }

    /// Writes `data` under `hash` atomically (temp file, fsync, rename, fsync dir).
    /// A blob already present is left as it is.
    pub fn put(&self, hash: &str, data: &[u8]) -> io::Result<()> {
        let dest = self.path(hash);
        if dest.is_file() {
            return Ok(());
        }
        let dir = dest.parent().expect("sharded path has a parent");
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(dir)?;
        tmp.write_all(data)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        sync_dir(dir)?;
        Ok(())
    }

    /// Removes a blob and its shard folder's temporary files, if any.
    pub fn remove(&self, hash: &str) -> io::Result<()> {
        let p = self.path(hash);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(dir) = p.parent() {
            self.remove_temps_in(dir)?;
            if dir.is_dir() {
                sync_dir(dir)?;
            }
        }
        Ok(())
    }

    /// Removes leftover temporary files in the shard folder `hash` would use.
    pub fn remove_temps_for(&self, hash: &str) -> io::Result<()> {
        match self.path(hash).parent() {
            Some(dir) if dir.is_dir() => self.remove_temps_in(dir),
            _ => Ok(()),
        }
    }

    fn remove_temps_in(&self, dir: &Path) -> io::Result<()> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            // A writer killed before it made the shard folder left none.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for e in rd {
            let e = e?;
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    /// Re-hashes a blob from disk.
    pub fn rehash(&self, hash: &str) -> io::Result<Hash> {
        let mut f = File::open(self.path(hash))?;
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h.finalize().to_hex().to_string())
    }

    /// Every file in the store: blobs by hash, and stray files (temporaries and
    /// anything that is not a blob name) by path.
    pub fn scan(&self) -> io::Result<(Vec<Hash>, Vec<PathBuf>)> {
        let mut blobs = Vec::new();
        let mut stray = Vec::new();
        if !self.root.is_dir() {
            return Ok((blobs, stray));
        }
        for a in fs::read_dir(&self.root)? {
            let a = a?;
            if !a.file_type()?.is_dir() {
                stray.push(a.path());
                continue;
            }
            for b in fs::read_dir(a.path())? {
                let b = b?;
                if !b.file_type()?.is_dir() {
                    stray.push(b.path());
                    continue;
                }
                for f in fs::read_dir(b.path())? {
                    let f = f?;
                    let name = f.file_name().to_string_lossy().to_string();
                    let good = name.len() == 64
                        && name
                            .bytes()
                            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                        && self.path(&name) == f.path();
                    if good && f.file_type()?.is_file() {
                        blobs.push(name);
                    } else {
                        stray.push(f.path());
                    }
                }
            }
        }
        blobs.sort();
        stray.sort();
        Ok((blobs, stray))
    }
}

/// fsyncs a directory so a rename or unlink in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_atomic_and_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path().join("blobs"));
        let data = b"hello";
        let h = hash_bytes(data);
        s.put(&h, data).unwrap();
        s.put(&h, data).unwrap();
        assert_eq!(fs::read(s.path(&h)).unwrap(), data);
        assert_eq!(s.rehash(&h).unwrap(), h);
        let (blobs, stray) = s.scan().unwrap();
        assert_eq!(blobs, vec![h.clone()]);
        assert!(stray.is_empty());
        // A leftover temp file is stray until removed.
        fs::write(s.path(&h).with_file_name(".tmp-x"), b"half").unwrap();
        assert_eq!(s.scan().unwrap().1.len(), 1);
        s.remove_temps_for(&h).unwrap();
        assert!(s.scan().unwrap().1.is_empty());
        s.remove(&h).unwrap();
        assert!(!s.path(&h).exists());
    }
}
