//! Target I/O: the trait the writer, the capacity probe and the verifier go
//! through, and its real implementation over files and block devices.
//!
//! Reads for verification bypass the page cache with `O_DIRECT`, so a drive
//! that lost the data cannot be "verified" from memory. File systems that
//! refuse `O_DIRECT` fall back to ordinary reads after the cached pages were
//! dropped with `posix_fadvise(DONTNEED)`; the target's report says so.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, PosixFadviseAdvice, posix_fadvise};

/// Alignment of buffers, offsets and lengths for `O_DIRECT` reads. 4096
/// covers every logical block size in use (512 and 4096).
pub const ALIGN: usize = 4096;

/// A heap buffer whose start is aligned to [`ALIGN`], as `O_DIRECT` needs.
/// Made without `unsafe`: an over-sized `Vec` sliced at the first aligned
/// address. The `Vec` is never grown, so the address stays put.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub fn new(len: usize) -> Self {
        let storage = vec![0u8; len + ALIGN];
        let addr = storage.as_ptr().addr();
        let start = (ALIGN - addr % ALIGN) % ALIGN;
        AlignedBuf {
            storage,
            start,
            len,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// How a target's data was read back for checking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ReadBack {
    /// `O_DIRECT`: from the medium, not from the page cache.
    Direct,
    /// Through the page cache (after dropping it), because `reason`.
    Buffered { reason: String },
    /// A test double or other target that has no cache to bypass.
    Uncached,
}

/// The I/O a target offers. The real implementation is [`FileTarget`]; tests
/// use doubles that, for example, wrap addresses like a counterfeit stick.
///
/// Callers pass buffers made by [`AlignedBuf`] to `read_at`, with offsets
/// that are multiples of 512 and lengths that are multiples of 4096.
pub trait TargetIo: Send {
    /// The size the target claims, in bytes.
    fn claimed_size(&self) -> u64;
    /// Writes all of `buf` at `offset`.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Flushes written data to the medium (fsync).
    fn sync(&mut self) -> io::Result<()>;
    /// One read at `offset`, bypassing caches where the target can; may be
    /// short; returns 0 at the end.
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// How `read_at` reads. Valid after the first `read_at`.
    fn read_back(&self) -> ReadBack;
}

/// Reads until `buf` is full or the target ends; returns the bytes read.
/// A read that ends off a 512-byte boundary marks the end (with `O_DIRECT`
/// the next read would be misaligned).
pub fn read_full(io: &mut dyn TargetIo, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = match io.read_at(&mut buf[got..], offset + got as u64) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        got += n;
        if n % 512 != 0 {
            break;
        }
    }
    Ok(got)
}

/// Opens `path` for reading with `O_DIRECT`.
pub fn open_direct(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_DIRECT.bits())
        .open(path)
}

/// A file or block device as a target.
pub struct FileTarget {
    path: PathBuf,
    file: File,
    size: u64,
    reader: Option<File>,
    read_back: ReadBack,
    direct_opener: fn(&Path) -> io::Result<File>,
}

impl FileTarget {
    /// Creates `path`, or truncates it, to exactly `len` bytes (an image file
    /// target).
    pub fn create_file(path: &Path, len: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len(len)?;
        Ok(Self::from_file(path, file, len))
    }

    /// Opens an existing block device (or an existing file treated as one:
    /// never truncated or grown by us). Block devices are opened with
    /// `O_EXCL`, which the kernel refuses while a file system, swap or
    /// device mapper holds the device: a last guard against a mounted drive.
    pub fn open_device(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::FileTypeExt;
        let is_block = std::fs::metadata(path)?.file_type().is_block_device();
        let mut options = OpenOptions::new();
        options.write(true);
        if is_block {
            options.custom_flags(OFlag::O_EXCL.bits());
        }
        let mut file = options.open(path)?;
        let size = io::Seek::seek(&mut file, io::SeekFrom::End(0))?;
        Ok(Self::from_file(path, file, size))
    }

    fn from_file(path: &Path, file: File, size: u64) -> Self {
        FileTarget {
            path: path.to_path_buf(),
            file,
            size,
            reader: None,
            read_back: ReadBack::Direct,
            direct_opener: open_direct,
        }
    }

    /// Replaces how the `O_DIRECT` reader is opened (tests simulate a file
    /// system that refuses `O_DIRECT`; tmpfs accepts it since Linux 6.6).
    #[doc(hidden)]
    pub fn with_direct_opener(mut self, opener: fn(&Path) -> io::Result<File>) -> Self {
        self.direct_opener = opener;
        self
    }

    fn reader(&mut self) -> io::Result<&File> {
        if self.reader.is_none() {
            let file = match (self.direct_opener)(&self.path) {
                Ok(f) => {
                    self.read_back = ReadBack::Direct;
                    f
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => {
                    self.read_back = ReadBack::Buffered {
                        reason: format!(
                            "the file system refused O_DIRECT ({e}); read back through the page \
                             cache after dropping it with posix_fadvise, which a cache that \
                             ignores the hint could defeat"
                        ),
                    };
                    File::open(&self.path)?
                }
                Err(e) => return Err(e),
            };
            self.reader = Some(file);
        }
        match &self.reader {
            Some(f) => Ok(f),
            None => Err(io::Error::other("reader not open")),
        }
    }
}

impl TargetIo for FileTarget {
    fn claimed_size(&self) -> u64 {
        self.size
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        // Drop the now clean cached pages: a buffered read-back (fallback)
        // then has to come from the medium, and writing many gigabytes does
        // not push everything else out of memory. Only a hint; failures do
        // not matter.
        let _ = posix_fadvise(&self.file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
        Ok(())
    }

    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let reader = self.reader()?;
        reader.read_at(buf, offset)
    }

    fn read_back(&self) -> ReadBack {
        self.read_back.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buf_is_aligned_and_sized() {
        for len in [0, 1, 4096, 1 << 20] {
            let mut b = AlignedBuf::new(len);
            assert_eq!(b.as_slice().len(), len);
            assert_eq!(b.as_mut_slice().as_ptr().addr() % ALIGN, 0);
        }
    }

    #[test]
    fn direct_read_of_file_with_odd_length() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let mut t = FileTarget::create_file(&p, 5000).unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        t.write_at(&data, 0).unwrap();
        t.sync().unwrap();
        let mut buf = AlignedBuf::new(8192);
        let n = read_full(&mut t, buf.as_mut_slice(), 0).unwrap();
        assert_eq!(n, 5000);
        assert_eq!(&buf.as_slice()[..5000], &data[..]);
        assert_eq!(t.read_back(), ReadBack::Direct);
    }
}
