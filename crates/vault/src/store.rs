//! The vault's content-addressed store of ciphertext.
//!
//! A blob is an age file, named by the BLAKE3 of its (encrypted) bytes under
//! two levels of shard folders: `blobs/ab/cd/abcd…`. Names say nothing about
//! the plaintext. A blob is streamed into a temporary file `blobs/.tmp-…`,
//! fsynced, then renamed into its shard folder, and both folders fsynced: a
//! blob under its final name is always whole.

use crate::fsx::{self, TMP_PREFIX, sync_dir};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

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

    pub fn path(&self, hash: &str) -> PathBuf {
        debug_assert!(hash.len() == 64);
        self.root.join(&hash[0..2]).join(&hash[2..4]).join(hash)
    }

    /// A new temporary file at the store's root, for streaming into.
    pub fn temp(&self) -> io::Result<(File, PathBuf)> {
        fs::create_dir_all(&self.root)?;
        let p = self
            .root
            .join(format!("{TMP_PREFIX}{}", fsx::random_hex128()));
        Ok((fsx::create_new(&p, 0o600)?, p))
    }

    /// Moves a fsynced temporary into place under `hash`. A blob already
    /// present is kept and the temporary removed.
    pub fn commit(&self, tmp: &Path, hash: &str) -> io::Result<()> {
        let dest = self.path(hash);
        if dest.is_file() {
            fs::remove_file(tmp)?;
            return Ok(());
        }
        let dir = dest.parent().expect("sharded path has a parent");
        fs::create_dir_all(dir)?;
        fs::rename(tmp, &dest)?;
        sync_dir(dir)?;
        sync_dir(&self.root)?;
        Ok(())
    }

    /// Writes small bytes under their hash (temp, fsync, rename).
    pub fn put(&self, hash: &str, data: &[u8]) -> io::Result<()> {
        if self.path(hash).is_file() {
            return Ok(());
        }
        let (mut f, tmp) = self.temp()?;
        let res = io::Write::write_all(&mut f, data).and_then(|_| f.sync_all());
        drop(f);
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.commit(&tmp, hash)
    }

    pub fn remove(&self, hash: &str) -> io::Result<()> {
        let p = self.path(hash);
        match fs::remove_file(&p) {
            Ok(()) => sync_dir(p.parent().expect("has a parent")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes every temporary file at the root (writers killed mid-stream).
    pub fn remove_temps(&self) -> io::Result<usize> {
        let mut n = 0;
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        for e in rd {
            let e = e?;
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                fs::remove_file(e.path())?;
                n += 1;
            }
        }
        if n > 0 {
            sync_dir(&self.root)?;
        }
        Ok(n)
    }

    /// Re-hashes a blob's ciphertext.
    #[allow(dead_code)]
    pub fn rehash(&self, hash: &str) -> io::Result<String> {
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

    /// Every blob by hash, and every other file (temporaries, strays) by path.
    pub fn scan(&self) -> io::Result<(Vec<String>, Vec<PathBuf>)> {
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
                    if fsx::is_hex(&name, 64)
                        && self.path(&name) == f.path()
                        && f.file_type()?.is_file()
                    {
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
