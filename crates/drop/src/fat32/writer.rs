//! Sequential writing of a laid-out FAT32 image.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::{Error, Layout, RESERVED_SECTORS, SECTOR, Tree, names};
use crate::tree::{EntryKind, Source, Timestamp, Volume};

/// File data moves in chunks of this size.
const CHUNK: usize = 4 << 20;
/// End-of-chain marker.
const EOC: u32 = 0x0FFF_FFFF;

struct Out<'a, W: Write + ?Sized> {
    w: &'a mut W,
    pos: u64,
    zeros: Vec<u8>,
    /// Writing into a regular file already sized to the image and all
    /// holes: every write goes to its offset (`w` is not used), and runs of
    /// zeros are skipped (holes read as zeros) instead of written.
    sparse: Option<&'a File>,
}

impl<W: Write + ?Sized> Out<'_, W> {
    fn put(&mut self, b: &[u8]) -> Result<(), Error> {
        match self.sparse {
            Some(f) => f.write_all_at(b, self.pos).map_err(Error::Write)?,
            None => self.w.write_all(b).map_err(Error::Write)?,
        }
        self.pos += b.len() as u64;
        Ok(())
    }
    fn zero(&mut self, mut n: u64) -> Result<(), Error> {
        if self.sparse.is_some() {
            self.pos += n;
            return Ok(());
        }
        while n > 0 {
            let k = n.min(self.zeros.len() as u64) as usize;
            self.w.write_all(&self.zeros[..k]).map_err(Error::Write)?;
            self.pos += k as u64;
            n -= k as u64;
        }
        Ok(())
    }
}

fn fat_date(ts: &Timestamp) -> u16 {
    ((ts.year - 1980) << 9) | ((ts.month as u16) << 5) | ts.day as u16
}

fn fat_time(ts: &Timestamp) -> u16 {
    ((ts.hour as u16) << 11) | ((ts.minute as u16) << 5) | (ts.second as u16 / 2)
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A 32-byte short directory entry.
fn short_entry(name: &[u8; 11], attr: u8, cluster: u32, size: u32, ts: &Timestamp) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(name);
    e[11] = attr;
    e[13] = (ts.second % 2) * 100;
    let (t, d) = (fat_time(ts), fat_date(ts));
    put16(&mut e, 14, t);
    put16(&mut e, 16, d);
    put16(&mut e, 18, d);
    put16(&mut e, 20, (cluster >> 16) as u16);
    put16(&mut e, 22, t);
    put16(&mut e, 24, d);
    put16(&mut e, 26, cluster as u16);
    put32(&mut e, 28, size);
    e
}

const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const ATTR_ARCHIVE: u8 = 0x20;

/// Bytes (whole clusters) of directory `d`.
fn directory(tree: &Tree, d: usize, cluster_size: u32, ts: &Timestamp) -> Vec<u8> {
    let node = &tree.nodes[d];
    let mut v = Vec::with_capacity(node.clusters as usize * cluster_size as usize);
    if d == 0 {
        if tree.has_label {
            v.extend_from_slice(&short_entry(&tree.label, ATTR_VOLUME_ID, 0, 0, ts));
        }
    } else {
        v.extend_from_slice(&short_entry(
            b".          ",
            ATTR_DIRECTORY,
            node.first_cluster,
            0,
            ts,
        ));
        let up = if node.parent == 0 {
            0
        } else {
            tree.nodes[node.parent].first_cluster
        };
        v.extend_from_slice(&short_entry(b"..         ", ATTR_DIRECTORY, up, 0, ts));
    }
    for &c in &node.children {
        let ch = &tree.nodes[c];
        if ch.lfn {
            names::push_lfn(&mut v, &ch.name, &ch.short);
        }
        let (attr, size) = if ch.file.is_some() {
            (ATTR_ARCHIVE, ch.size as u32)
        } else {
            (ATTR_DIRECTORY, 0)
        };
        v.extend_from_slice(&short_entry(&ch.short, attr, ch.first_cluster, size, ts));
    }
    v.resize(node.clusters as usize * cluster_size as usize, 0);
    v
}

/// CHS triple of an LBA for the MBR (255 heads, 63 sectors; capped).
fn chs(lba: u64) -> [u8; 3] {
    let c = lba / (255 * 63);
    if c > 1023 {
        return [254, 0xFF, 0xFF];
    }
    let h = (lba / 63) % 255;
    let s = lba % 63 + 1;
    [h as u8, (s as u8) | (((c >> 8) as u8) << 6), c as u8]
}

fn mbr(layout: &Layout, serial: u32) -> [u8; 512] {
    let g = &layout.geometry;
    let mut b = [0u8; 512];
    // If a BIOS ever boots it: "int 18h" (try the next device), then halt.
    b[..5].copy_from_slice(&[0xCD, 0x18, 0xF4, 0xEB, 0xFD]);
    put32(&mut b, 440, Layout::disk_signature(serial));
    let start = g.volume_offset / SECTOR;
    let end = start + g.volume_sectors as u64 - 1;
    let p = 446;
    b[p] = 0x00;
    b[p + 1..p + 4].copy_from_slice(&chs(start));
    b[p + 4] = 0x0C;
    b[p + 5..p + 8].copy_from_slice(&chs(end));
    put32(&mut b, p + 8, start as u32);
    put32(&mut b, p + 12, g.volume_sectors);
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

fn boot_sector(layout: &Layout, serial: u32) -> [u8; 512] {
    let g = &layout.geometry;
    let mut b = [0u8; 512];
    b[..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
    b[3..11].copy_from_slice(b"MSWIN4.1");
    put16(&mut b, 11, SECTOR as u16);
    b[13] = g.sectors_per_cluster as u8;
    put16(&mut b, 14, RESERVED_SECTORS as u16);
    b[16] = 2;
    b[21] = 0xF8;
    put16(&mut b, 24, 63);
    put16(&mut b, 26, 255);
    put32(&mut b, 28, (g.volume_offset / SECTOR) as u32);
    put32(&mut b, 32, g.volume_sectors);
    put32(&mut b, 36, g.fat_sectors);
    put32(&mut b, 44, 2);
    put16(&mut b, 48, 1);
    put16(&mut b, 50, 6);
    b[64] = 0x80;
    b[66] = 0x29;
    put32(&mut b, 67, serial);
    let label = if layout.tree.has_label {
        layout.tree.label
    } else {
        *b"NO NAME    "
    };
    b[71..82].copy_from_slice(&label);
    b[82..90].copy_from_slice(b"FAT32   ");
    // Boot code at 0x5A: int 18h, then halt forever.
    b[90..95].copy_from_slice(&[0xCD, 0x18, 0xF4, 0xEB, 0xFD]);
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

fn fsinfo(layout: &Layout) -> [u8; 512] {
    let mut b = [0u8; 512];
    put32(&mut b, 0, 0x4161_5252);
    put32(&mut b, 484, 0x6141_7272);
    let free = layout.free_clusters();
    put32(&mut b, 488, free);
    put32(
        &mut b,
        492,
        if free > 0 {
            layout.used_clusters + 2
        } else {
            0xFFFF_FFFF
        },
    );
    put32(&mut b, 508, 0xAA55_0000);
    b
}

/// Writes one FAT: chains of consecutive clusters ending at `ends`.
fn write_fat<W: Write + ?Sized>(
    out: &mut Out<W>,
    layout: &Layout,
    ends: &[u32],
) -> Result<(), Error> {
    let entries = layout.geometry.fat_sectors as u64 * 128;
    let used_end = layout.used_clusters as u64 + 2;
    let mut buf = vec![0u8; 1 << 20];
    let per = (buf.len() / 4) as u64;
    let mut k = 0u64;
    let mut j = 0usize;
    while k < entries {
        let n = per.min(entries - k);
        if k >= used_end {
            // Only free entries (zeros) from here on.
            out.zero((entries - k) * 4)?;
            break;
        }
        for i in 0..n {
            let c = k + i;
            let v = if c == 0 {
                0x0FFF_FFF8
            } else if c == 1 {
                0x0FFF_FFFF
            } else if c < used_end {
                if j < ends.len() && ends[j] as u64 == c {
                    j += 1;
                    EOC
                } else {
                    (c + 1) as u32
                }
            } else {
                0
            };
            put32(&mut buf, i as usize * 4, v);
        }
        out.put(&buf[..n as usize * 4])?;
        k += n;
    }
    Ok(())
}

/// Reads exactly the declared bytes of one file, then checks nothing more.
struct FileReader<'a> {
    path: String,
    source: &'a Source,
    file: Option<File>,
    offset: u64,
    size: u64,
}

impl<'a> FileReader<'a> {
    fn new(path: String, source: &'a Source, size: u64) -> Result<Self, Error> {
        let file = match source {
            Source::Path(p) => Some(File::open(p).map_err(|error| Error::SourceRead {
                path: path.clone(),
                source_path: p.clone(),
                error,
            })?),
            Source::Bytes(_) => None,
        };
        Ok(FileReader {
            path,
            source,
            file,
            offset: 0,
            size,
        })
    }

    fn remaining(&self) -> u64 {
        self.size - self.offset
    }

    /// Fills `buf[..min(remaining, buf.len())]`; returns the count. After the
    /// last byte, checks that the source has no more.
    fn next_into(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let want = (self.remaining().min(buf.len() as u64)) as usize;
        match (self.source, self.file.as_mut()) {
            (Source::Bytes(b), _) => {
                let o = self.offset as usize;
                buf[..want].copy_from_slice(&b[o..o + want]);
            }
            (Source::Path(p), Some(f)) => {
                let mut got = 0;
                while got < want {
                    match f.read(&mut buf[got..want]) {
                        Ok(0) => {
                            return Err(Error::SourceSizeMismatch {
                                path: self.path.clone(),
                                source_path: p.clone(),
                                declared: self.size,
                                actual: format!("only {}", self.offset + got as u64),
                            });
                        }
                        Ok(n) => got += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(error) => {
                            return Err(Error::SourceRead {
                                path: self.path.clone(),
                                source_path: p.clone(),
                                error,
                            });
                        }
                    }
                }
                if self.offset + want as u64 == self.size {
                    let mut one = [0u8; 1];
                    loop {
                        match f.read(&mut one) {
                            Ok(0) => break,
                            Ok(_) => {
                                return Err(Error::SourceSizeMismatch {
                                    path: self.path.clone(),
                                    source_path: p.clone(),
                                    declared: self.size,
                                    actual: "more".into(),
                                });
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(error) => {
                                return Err(Error::SourceRead {
                                    path: self.path.clone(),
                                    source_path: p.clone(),
                                    error,
                                });
                            }
                        }
                    }
                }
            }
            (Source::Path(_), None) => unreachable!("a path source is opened in new()"),
        }
        self.offset += want as u64;
        Ok(want)
    }
}

/// The files with data, in cluster order: (node, volume path, source, size).
fn data_files<'a>(vol: &'a Volume, layout: &Layout) -> Vec<(String, &'a Source, u64, u64)> {
    let tree = &layout.tree;
    let cs = layout.cluster_size() as u64;
    let mut v = Vec::new();
    for &n in &tree.order {
        let node = &tree.nodes[n];
        if let Some(ei) = node.file
            && node.size > 0
            && let EntryKind::File { source, .. } = &vol.entries[ei].kind
        {
            let pad = node.clusters as u64 * cs - node.size;
            v.push((vol.entries[ei].path.join("/"), source, node.size, pad));
        }
    }
    v
}

/// Copies exactly `size` bytes of the file at `p` to the output and checks
/// that the source has no more bytes. Into a file image (`o.sparse`) the
/// kernel copies with `copy_file_range` at the final offset, as `cp` does
/// (on XFS and btrfs this shares the blocks instead of copying them);
/// otherwise `std::io::copy` does the same through the writer's position,
/// or a buffered copy when the writer is not a file.
fn copy_file<W: Write + ?Sized>(
    o: &mut Out<W>,
    path: &str,
    p: &Path,
    size: u64,
) -> Result<(), Error> {
    let read_err = |error| Error::SourceRead {
        path: path.to_string(),
        source_path: p.to_path_buf(),
        error,
    };
    let copy_err = |error| Error::Copy {
        path: path.to_string(),
        source_path: p.to_path_buf(),
        error,
    };
    let f = File::open(p).map_err(read_err)?;
    let n = match o.sparse {
        Some(out) => copy_at(&f, out, o.pos, size).map_err(copy_err)?,
        None => {
            let mut take = (&f).take(size);
            std::io::copy(&mut take, o.w).map_err(copy_err)?
        }
    };
    o.pos += n;
    let mismatch = |actual: String| Error::SourceSizeMismatch {
        path: path.to_string(),
        source_path: p.to_path_buf(),
        declared: size,
        actual,
    };
    if n < size {
        return Err(mismatch(format!("only {n}")));
    }
    let mut one = [0u8; 1];
    loop {
        match f.read_at(&mut one, n) {
            Ok(0) => return Ok(()),
            Ok(_) => return Err(mismatch("more".into())),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(e)),
        }
    }
}

/// Copies up to `size` bytes from the start of `src` to `out` at offset
/// `at`; returns how many (fewer only if the source is shorter). Uses
/// `copy_file_range` with explicit offsets, and a read/write loop where the
/// kernel cannot (another file system, an old kernel).
fn copy_at(src: &File, out: &File, at: u64, size: u64) -> std::io::Result<u64> {
    use nix::errno::Errno;
    let mut done = 0u64;
    let mut kernel = true;
    let mut buf = Vec::new();
    while done < size {
        let want = (size - done).min(1 << 30) as usize;
        if kernel {
            let mut off_in = done as i64;
            let mut off_out = (at + done) as i64;
            match nix::fcntl::copy_file_range(src, Some(&mut off_in), out, Some(&mut off_out), want)
            {
                Ok(0) => return Ok(done),
                Ok(n) => {
                    done += n as u64;
                    continue;
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOSYS | Errno::EXDEV | Errno::EOPNOTSUPP | Errno::EINVAL) => {
                    kernel = false;
                    buf = vec![0u8; CHUNK];
                }
                Err(e) => return Err(e.into()),
            }
        }
        let k = want.min(buf.len());
        let n = match src.read_at(&mut buf[..k], done) {
            Ok(0) => return Ok(done),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all_at(&buf[..n], at + done)?;
        done += n as u64;
    }
    Ok(done)
}

enum Msg {
    Data(Vec<u8>, usize),
    Failed(Error),
}

fn reader_thread(
    files: &[(String, &Source, u64, u64)],
    tx: SyncSender<Msg>,
    recycle: Receiver<Vec<u8>>,
) {
    for (path, source, size, _) in files {
        let mut r = match FileReader::new(path.clone(), source, *size) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Msg::Failed(e));
                return;
            }
        };
        while r.remaining() > 0 {
            let mut buf = recycle.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
            match r.next_into(&mut buf) {
                Ok(n) => {
                    if tx.send(Msg::Data(buf, n)).is_err() {
                        return; // the writer stopped
                    }
                }
                Err(e) => {
                    let _ = tx.send(Msg::Failed(e));
                    return;
                }
            }
        }
    }
}

/// Writes the image laid out by [`super::layout`] for `vol` to `out`,
/// strictly sequentially, exactly `layout.image_size` bytes. Every source
/// must have exactly its declared size (checked before writing anything, and
/// again while reading). `out` is flushed at the end; syncing a file or
/// device to stable storage is the caller's job.
pub fn write_image<W: Write + ?Sized>(
    vol: &Volume,
    layout: &Layout,
    out: &mut W,
) -> Result<(), Error> {
    write_inner(vol, layout, out, None)
}

/// Like [`write_image`], into a regular file, which is first emptied: the
/// same bytes, but runs of zeros (the gap before the partition, padding
/// after each file, free clusters) become holes instead of being written,
/// and file data moves by `copy_file_range` at its final offset, so on file
/// systems with reflinks (XFS, btrfs) whole clusters are shared with the
/// sources instead of copied. A hole reads as zeros, so the image is
/// byte-identical to the sequential one. The file ends at `image_size`.
pub fn write_image_file(vol: &Volume, layout: &Layout, file: &File) -> Result<(), Error> {
    // Emptied, then sized: the whole image is one hole, so every copy
    // lands inside the file (no end-of-file to move and zero at each one).
    file.set_len(0).map_err(Error::Write)?;
    file.set_len(layout.image_size).map_err(Error::Write)?;
    let mut f: &File = file;
    write_inner(vol, layout, &mut f, Some(file))?;
    Ok(())
}

fn write_inner<W: Write + ?Sized>(
    vol: &Volume,
    layout: &Layout,
    out: &mut W,
    sparse: Option<&File>,
) -> Result<(), Error> {
    let tree = &layout.tree;
    if layout.entry_count != vol.entries.len() {
        return Err(Error::LayoutMismatch);
    }
    for node in &tree.nodes {
        if let Some(ei) = node.file {
            match &vol.entries[ei].kind {
                EntryKind::File { size, source } if *size == node.size => {
                    if vol.entries[ei].path.last() != Some(&node.name) {
                        return Err(Error::LayoutMismatch);
                    }
                    if let Source::Path(p) = source {
                        let path = vol.entries[ei].path.join("/");
                        let meta = std::fs::metadata(p).map_err(|error| Error::SourceRead {
                            path: path.clone(),
                            source_path: p.clone(),
                            error,
                        })?;
                        if meta.len() != *size {
                            return Err(Error::SourceSizeMismatch {
                                path,
                                source_path: p.clone(),
                                declared: *size,
                                actual: meta.len().to_string(),
                            });
                        }
                    }
                }
                _ => return Err(Error::LayoutMismatch),
            }
        }
    }

    let g = &layout.geometry;
    let cs = g.cluster_size();
    let ts = &vol.timestamp;
    let mut o = Out {
        w: out,
        pos: 0,
        zeros: if sparse.is_some() {
            Vec::new()
        } else {
            vec![0u8; 1 << 20]
        },
        sparse,
    };

    // MBR and the gap up to the partition.
    if g.volume_offset > 0 {
        o.put(&mbr(layout, vol.serial))?;
        o.zero(g.volume_offset - SECTOR)?;
    }
    // Reserved sectors: boot 0, FSInfo 1, backups 6 and 7.
    let boot = boot_sector(layout, vol.serial);
    let info = fsinfo(layout);
    o.put(&boot)?;
    o.put(&info)?;
    o.zero(4 * SECTOR)?;
    o.put(&boot)?;
    o.put(&info)?;
    o.zero((RESERVED_SECTORS as u64 - 8) * SECTOR)?;

    // Two FATs.
    let mut ends: Vec<u32> = tree
        .nodes
        .iter()
        .filter(|n| n.clusters > 0)
        .map(|n| n.first_cluster + n.clusters - 1)
        .collect();
    ends.sort_unstable();
    write_fat(&mut o, layout, &ends)?;
    write_fat(&mut o, layout, &ends)?;

    // Directories, in cluster order.
    let mut dirs: Vec<usize> = (0..tree.nodes.len())
        .filter(|&n| tree.nodes[n].file.is_none())
        .collect();
    dirs.sort_by_key(|&n| tree.nodes[n].first_cluster);
    for d in dirs {
        o.put(&directory(tree, d, cs, ts))?;
    }

    // File data, in cluster order.
    let files = data_files(vol, layout);
    if layout.options.threads <= 1 {
        let mut buf = vec![0u8; CHUNK];
        for (path, source, size, pad) in &files {
            if let Source::Path(p) = source {
                copy_file(&mut o, path, p, *size)?;
            } else {
                let mut r = FileReader::new(path.clone(), source, *size)?;
                while r.remaining() > 0 {
                    let n = r.next_into(&mut buf)?;
                    o.put(&buf[..n])?;
                }
            }
            o.zero(*pad)?;
        }
    } else {
        let (tx, rx) = sync_channel::<Msg>(2);
        let (back_tx, back_rx) = sync_channel::<Vec<u8>>(4);
        std::thread::scope(|s| -> Result<(), Error> {
            let files_ref = &files;
            s.spawn(move || reader_thread(files_ref, tx, back_rx));
            let result = (|| {
                for (_, _, size, pad) in &files {
                    let mut left = *size;
                    while left > 0 {
                        match rx.recv() {
                            Ok(Msg::Data(buf, n)) => {
                                o.put(&buf[..n])?;
                                left -= n as u64;
                                let _ = back_tx.try_send(buf);
                            }
                            Ok(Msg::Failed(e)) => return Err(e),
                            Err(_) => {
                                return Err(Error::Write(std::io::Error::other(
                                    "the reading thread stopped early",
                                )));
                            }
                        }
                    }
                    o.zero(*pad)?;
                }
                Ok(())
            })();
            drop(rx);
            result
        })?;
    }

    // Free clusters and the sectors after the last cluster: zeros.
    let rest = layout.image_size.checked_sub(o.pos).ok_or_else(|| {
        Error::Write(std::io::Error::other(
            "internal error: the image grew past its size",
        ))
    })?;
    o.zero(rest)?;
    o.w.flush().map_err(Error::Write)?;
    Ok(())
}
