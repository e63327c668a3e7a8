//! Sequential writing of a laid-out ISO 9660 + Joliet image.

use std::io::Write;

use super::{Error, Extent, IsoLayout, SECTOR, SYSTEM_SECTORS, Tree, record_len};
use crate::source::{CopyError, check_size, copy_exact};
use crate::tree::{EntryKind, Source, Timestamp, Volume};

struct Out<'a, W: Write + ?Sized> {
    w: &'a mut W,
    pos: u64,
}

impl<W: Write + ?Sized> Out<'_, W> {
    fn put(&mut self, b: &[u8]) -> Result<(), Error> {
        self.w.write_all(b).map_err(Error::Write)?;
        self.pos += b.len() as u64;
        Ok(())
    }
    fn zero(&mut self, mut n: u64) -> Result<(), Error> {
        let zeros = [0u8; SECTOR as usize];
        while n > 0 {
            let k = n.min(SECTOR) as usize;
            self.put(&zeros[..k])?;
            n -= k as u64;
        }
        Ok(())
    }
    /// Zeros up to the next sector boundary.
    fn pad(&mut self) -> Result<(), Error> {
        let r = self.pos % SECTOR;
        if r == 0 {
            Ok(())
        } else {
            self.zero(SECTOR - r)
        }
    }
    /// Checks that the next byte goes to `sector` (the layout's promise).
    fn at(&self, sector: u32) -> Result<(), Error> {
        if self.pos == sector as u64 * SECTOR {
            Ok(())
        } else {
            Err(Error::Write(std::io::Error::other(format!(
                "internal error: at byte {} instead of sector {sector}",
                self.pos
            ))))
        }
    }
}

fn both16(b: &mut [u8], v: u16) {
    b[..2].copy_from_slice(&v.to_le_bytes());
    b[2..4].copy_from_slice(&v.to_be_bytes());
}

fn both32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_le_bytes());
    b[4..8].copy_from_slice(&v.to_be_bytes());
}

/// The 7-byte date of directory records (ECMA-119 9.1.5), GMT offset 0.
/// The year fits: the timestamp was checked to be in 1980-2107.
fn record_date(ts: &Timestamp) -> [u8; 7] {
    [
        (ts.year - 1900) as u8,
        ts.month,
        ts.day,
        ts.hour,
        ts.minute,
        ts.second,
        0,
    ]
}

/// The 17-byte date of volume descriptors (ECMA-119 8.4.26.1), GMT offset 0.
fn volume_date(ts: &Timestamp) -> [u8; 17] {
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second
    );
    let mut b = [0u8; 17];
    b[..16].copy_from_slice(s.as_bytes());
    b
}

/// "Not specified": sixteen '0' digits and offset 0.
fn no_date() -> [u8; 17] {
    let mut b = [b'0'; 17];
    b[16] = 0;
    b
}

/// Appends one directory record.
fn record(out: &mut Vec<u8>, id: &[u8], extent: Extent, dir: bool, ts: &Timestamp) {
    let len = record_len(id.len());
    let start = out.len();
    out.resize(start + len, 0);
    let r = &mut out[start..];
    r[0] = len as u8;
    both32(&mut r[2..10], extent.sector);
    both32(&mut r[10..18], extent.bytes);
    r[18..25].copy_from_slice(&record_date(ts));
    r[25] = if dir { 0x02 } else { 0 };
    both16(&mut r[28..32], 1);
    r[32] = id.len() as u8;
    r[33..33 + id.len()].copy_from_slice(id);
}

fn dir_extent(tree: &Tree, n: usize, primary: bool) -> Extent {
    let node = &tree.nodes[n];
    if primary { node.dir_p } else { node.dir_j }
}

/// Bytes (whole sectors) of folder `d`'s directory in one tree, packed as
/// [`super::dir_sectors`] counts them.
fn directory(tree: &Tree, d: usize, primary: bool, ts: &Timestamp) -> Vec<u8> {
    let node = &tree.nodes[d];
    let own = dir_extent(tree, d, primary);
    let mut v = Vec::with_capacity(own.bytes as usize);
    record(&mut v, &[0], own, true, ts);
    record(
        &mut v,
        &[1],
        dir_extent(tree, node.parent, primary),
        true,
        ts,
    );
    let children = if primary {
        &node.children_p
    } else {
        &node.children
    };
    for &c in children {
        let ch = &tree.nodes[c];
        let id = if primary { &ch.primary } else { &ch.joliet };
        if v.len() as u64 % SECTOR + record_len(id.len()) as u64 > SECTOR {
            let pad = SECTOR - v.len() as u64 % SECTOR;
            v.resize(v.len() + pad as usize, 0);
        }
        let extent = if ch.is_dir() {
            dir_extent(tree, c, primary)
        } else {
            ch.data
        };
        record(&mut v, id, extent, ch.is_dir(), ts);
    }
    v.resize(
        (v.len() as u64).div_ceil(SECTOR) as usize * SECTOR as usize,
        0,
    );
    v
}

/// One path table (ECMA-119 9.4), little- or big-endian, unpadded.
fn path_table(tree: &Tree, primary: bool, little: bool) -> Vec<u8> {
    let dirs = if primary { &tree.dirs_p } else { &tree.dirs_j };
    // Folder node -> its number (1-based, in table order).
    let mut number = vec![0u16; tree.nodes.len()];
    for (i, &d) in dirs.iter().enumerate() {
        number[d] = (i + 1) as u16; // at most MAX_DIRS, checked in build
    }
    let mut v = Vec::new();
    for &d in dirs {
        let n = &tree.nodes[d];
        let id: &[u8] = if d == 0 {
            &[0]
        } else if primary {
            &n.primary
        } else {
            &n.joliet
        };
        let ext = dir_extent(tree, d, primary).sector;
        let parent = number[n.parent];
        v.push(id.len() as u8);
        v.push(0);
        if little {
            v.extend_from_slice(&ext.to_le_bytes());
            v.extend_from_slice(&parent.to_le_bytes());
        } else {
            v.extend_from_slice(&ext.to_be_bytes());
            v.extend_from_slice(&parent.to_be_bytes());
        }
        v.extend_from_slice(id);
        if id.len() % 2 == 1 {
            v.push(0);
        }
    }
    v
}

/// Fills an identifier field with spaces: ASCII in the primary descriptor,
/// UCS-2 (00 20) in the Joliet one (an odd length ends with a 00 byte).
fn blank(b: &mut [u8], joliet: bool) {
    for (i, x) in b.iter_mut().enumerate() {
        *x = if !joliet || i % 2 == 1 { b' ' } else { 0 };
    }
    if joliet && b.len() % 2 == 1 {
        b[b.len() - 1] = 0;
    }
}

/// The Primary (joliet = false) or the Joliet Supplementary (true) Volume
/// Descriptor.
fn volume_descriptor(layout: &IsoLayout, joliet: bool, ts: &Timestamp) -> Vec<u8> {
    let tree = &layout.tree;
    let mut b = vec![0u8; SECTOR as usize];
    b[0] = if joliet { 2 } else { 1 };
    b[1..6].copy_from_slice(b"CD001");
    b[6] = 1;
    blank(&mut b[8..40], joliet); // system id
    b[40..72].copy_from_slice(if joliet {
        &layout.label_joliet
    } else {
        &layout.label_primary
    });
    both32(&mut b[80..88], layout.sectors());
    if joliet {
        b[88..91].copy_from_slice(b"%/E"); // UCS-2 level 3
    }
    both16(&mut b[120..124], 1); // volume set size
    both16(&mut b[124..128], 1); // volume sequence number
    both16(&mut b[128..132], SECTOR as u16);
    let t = if joliet { 1 } else { 0 };
    both32(&mut b[132..140], layout.path_table_bytes[t]);
    let (l, m) = (
        layout.path_table_sectors[2 * t],
        layout.path_table_sectors[2 * t + 1],
    );
    b[140..144].copy_from_slice(&l.to_le_bytes());
    b[148..152].copy_from_slice(&m.to_be_bytes());
    let root = dir_extent(tree, 0, !joliet);
    let mut r = Vec::new();
    record(&mut r, &[0], root, true, ts);
    b[156..190].copy_from_slice(&r);
    // Volume set, publisher, data preparer, application; copyright,
    // abstract and bibliographic file ids: all blank.
    for (start, len) in [
        (190, 128),
        (318, 128),
        (446, 128),
        (574, 128),
        (702, 37),
        (739, 37),
        (776, 37),
    ] {
        blank(&mut b[start..start + len], joliet);
    }
    let when = volume_date(ts);
    b[813..830].copy_from_slice(&when); // creation
    b[830..847].copy_from_slice(&when); // modification
    b[847..864].copy_from_slice(&no_date()); // expiration
    b[864..881].copy_from_slice(&when); // effective
    b[881] = 1; // file structure version
    b
}

fn terminator() -> Vec<u8> {
    let mut b = vec![0u8; SECTOR as usize];
    b[0] = 255;
    b[1..6].copy_from_slice(b"CD001");
    b[6] = 1;
    b
}

fn copy_error(path: String, source: &Source, declared: u64, e: CopyError) -> Error {
    let source_path = match source {
        Source::Path(p) => p.clone(),
        Source::Bytes(_) => Default::default(),
    };
    match e {
        CopyError::BytesLength { actual } => Error::BytesSizeMismatch {
            path,
            declared,
            actual,
        },
        CopyError::Read(error) => Error::SourceRead {
            path,
            source_path,
            error,
        },
        CopyError::Size { actual } => Error::SourceSizeMismatch {
            path,
            source_path,
            declared,
            actual,
        },
        CopyError::Copy(error) => Error::Copy {
            path,
            source_path,
            error,
        },
    }
}

/// Writes the image laid out by [`super::layout`] for `vol` to `out`,
/// strictly sequentially; returns the bytes written (always
/// `layout.image_size()`). Every source must have exactly its declared size
/// (checked before writing anything, and again while copying). `out` is
/// flushed at the end; syncing to stable storage is the caller's job.
pub fn write_image<W: Write + ?Sized>(
    vol: &Volume,
    layout: &IsoLayout,
    out: &mut W,
) -> Result<u64, Error> {
    let tree = &layout.tree;
    if layout.entry_count != vol.entries.len() {
        return Err(Error::LayoutMismatch);
    }
    for &f in &tree.files {
        let node = &tree.nodes[f];
        let ei = node.file.ok_or(Error::LayoutMismatch)?;
        let entry = &vol.entries[ei];
        match &entry.kind {
            EntryKind::File { size, source }
                if *size == node.size && entry.path.last() == Some(&node.name) =>
            {
                check_size(source, *size)
                    .map_err(|e| copy_error(entry.path.join("/"), source, *size, e))?;
            }
            _ => return Err(Error::LayoutMismatch),
        }
    }
    let ts = &vol.timestamp;
    let mut o = Out { w: out, pos: 0 };

    o.zero(SYSTEM_SECTORS * SECTOR)?;
    o.put(&volume_descriptor(layout, false, ts))?;
    o.put(&volume_descriptor(layout, true, ts))?;
    o.put(&terminator())?;
    for (i, (primary, little)) in [(true, true), (true, false), (false, true), (false, false)]
        .into_iter()
        .enumerate()
    {
        o.at(layout.path_table_sectors[i])?;
        o.put(&path_table(tree, primary, little))?;
        o.pad()?;
    }
    for primary in [true, false] {
        let dirs = if primary { &tree.dirs_p } else { &tree.dirs_j };
        for &d in dirs {
            let e = dir_extent(tree, d, primary);
            o.at(e.sector)?;
            let bytes = directory(tree, d, primary, ts);
            if bytes.len() as u64 != e.bytes as u64 {
                return Err(Error::Write(std::io::Error::other(
                    "internal error: a directory differs from its layout",
                )));
            }
            o.put(&bytes)?;
        }
    }
    for &f in &tree.files {
        let node = &tree.nodes[f];
        if node.size == 0 {
            continue;
        }
        o.at(node.data.sector)?;
        let entry = &vol.entries[node.file.ok_or(Error::LayoutMismatch)?];
        if let EntryKind::File { size, source } = &entry.kind {
            copy_exact(source, *size, o.w)
                .map_err(|e| copy_error(entry.path.join("/"), source, *size, e))?;
            o.pos += size;
        }
        o.pad()?;
    }
    if o.pos != layout.image_size() {
        return Err(Error::Write(std::io::Error::other(format!(
            "internal error: wrote {} bytes, the layout has {}",
            o.pos,
            layout.image_size()
        ))));
    }
    o.w.flush().map_err(Error::Write)?;
    Ok(o.pos)
}
