//! Copying a file's declared bytes exactly, for the writers that take a
//! [`Source`] (ISO 9660 and folder output; FAT32 has its own reader thread).
//!
//! A source that has more or fewer bytes than planned means the library or
//! cache changed after planning: writing it anyway would give a volume that
//! differs from its plan (and from every other copy), so it is an error.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};

use crate::tree::Source;

/// Why a copy failed; each writer wraps it with the file's volume path.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// An in-memory source whose length is not the declared size.
    BytesLength { actual: u64 },
    /// The source file cannot be opened, inspected or read.
    Read(std::io::Error),
    /// The source file has another size: "only N" or "more" or its length.
    Size { actual: String },
    /// Reading the source or writing the output failed during the copy
    /// (`std::io::copy` does not tell which).
    Copy(std::io::Error),
}

/// Checks, before anything is written, that `source` has exactly `size`
/// bytes (for files: by metadata; the copy checks again while reading).
pub(crate) fn check_size(source: &Source, size: u64) -> Result<(), CopyError> {
    match source {
        Source::Bytes(b) if b.len() as u64 != size => Err(CopyError::BytesLength {
            actual: b.len() as u64,
        }),
        Source::Bytes(_) => Ok(()),
        Source::Path(p) => {
            let meta = std::fs::metadata(p).map_err(CopyError::Read)?;
            if !meta.is_file() {
                return Err(CopyError::Size {
                    actual: "not a regular file".into(),
                });
            }
            if meta.len() != size {
                return Err(CopyError::Size {
                    actual: meta.len().to_string(),
                });
            }
            Ok(())
        }
    }
}

/// Copies exactly `size` bytes of `source` to `out` and checks that the
/// source has no more. File sources go through `std::io::copy`, which lets
/// the kernel copy (copy_file_range) when `out` is a plain file.
pub(crate) fn copy_exact<W: Write + ?Sized>(
    source: &Source,
    size: u64,
    out: &mut W,
) -> Result<(), CopyError> {
    match source {
        Source::Bytes(b) => {
            if b.len() as u64 != size {
                return Err(CopyError::BytesLength {
                    actual: b.len() as u64,
                });
            }
            out.write_all(b).map_err(CopyError::Copy)
        }
        Source::Path(p) => {
            let f = File::open(p).map_err(CopyError::Read)?;
            let mut take = (&f).take(size);
            let n = std::io::copy(&mut take, out).map_err(CopyError::Copy)?;
            if n < size {
                return Err(CopyError::Size {
                    actual: format!("only {n}"),
                });
            }
            let mut one = [0u8; 1];
            loop {
                match (&f).read(&mut one) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {
                        return Err(CopyError::Size {
                            actual: "more".into(),
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(CopyError::Read(e)),
                }
            }
        }
    }
}
