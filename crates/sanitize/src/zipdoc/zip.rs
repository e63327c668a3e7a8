//! A strict ZIP reader and a deterministic ZIP writer for office documents.
//!
//! The reader takes the central directory as the truth and checks every local
//! header against it; it reports (and the writer then drops) everything that can
//! carry identity in the container itself: extra fields (including the Red Star OS
//! mark in the first local header), entry and archive comments, modification
//! times, data between entries and after the end of the archive. It refuses
//! encryption, ZIP64, compression methods other than stored and deflate,
//! overlapping entries, unsafe names and archives that would inflate too far.

use crate::bytes::{Reader, printable};
use crate::{Category, Error, Finding, Format, Found, redstar};
use std::io::Read;

/// Most entries an archive may have.
pub(crate) const MAX_ENTRIES: usize = 10_000;
/// Largest uncompressed entry.
pub(crate) const MAX_ENTRY: u64 = 512 << 20;
/// Largest total uncompressed size.
pub(crate) const MAX_TOTAL: u64 = 1 << 30;
/// Largest compression ratio accepted for entries above [`RATIO_FLOOR`] bytes.
pub(crate) const MAX_RATIO: u64 = 1000;
const RATIO_FLOOR: u64 = 1 << 20;

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_ZIP64_LOCATOR: u32 = 0x0706_4b50;
const SIG_DESCRIPTOR: u32 = 0x0807_4b50;
/// The extra-field id Red Star OS uses for its mark in DOCX files.
pub(crate) const REDSTAR_EXTRA_ID: u16 = 0xA220;

/// DOS date of 1980-01-01, time 00:00:00: the fixed timestamp of cleaned files.
pub(crate) const FIXED_DATE: u16 = (1 << 5) | 1;
pub(crate) const FIXED_TIME: u16 = 0;

/// One file of an archive, inflated.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub data: Vec<u8>,
    /// Offset of its local header in the input.
    pub offset: usize,
    pub is_dir: bool,
}

/// A central directory record.
#[derive(Debug, Clone)]
struct Central {
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    name: Vec<u8>,
    extra: Vec<u8>,
    comment: Vec<u8>,
    offset: usize,
    /// Where this record is, for messages.
    at: usize,
}

fn extra_name(id: u16) -> &'static str {
    match id {
        0x0001 => "ZIP64",
        0x000a => "NTFS timestamps",
        0x000d => "PKWARE Unix",
        0x5455 => "extended timestamp",
        0x5855 => "Info-ZIP Unix (old)",
        0x7855 => "Info-ZIP Unix UID/GID",
        0x7875 => "Info-ZIP Unix UID/GID",
        0x6375 => "Info-ZIP Unicode comment",
        0x7075 => "Info-ZIP Unicode path",
        0xcafe => "JAR marker",
        0xd935 => "Android alignment",
        REDSTAR_EXTRA_ID => "Red Star OS",
        _ => "unknown",
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for x in b.iter().take(48) {
        s.push_str(&format!("{x:02x}"));
    }
    if b.len() > 48 {
        s.push('…');
    }
    s
}

fn extra_value(id: u16, data: &[u8]) -> String {
    let p = printable(data);
    let shown = if p.len() * 2 >= data.len() && !p.is_empty() {
        p
    } else {
        hex(data)
    };
    format!(
        "0x{id:04x} ({}), {} bytes: {shown}",
        extra_name(id),
        data.len()
    )
}

/// Splits an extra field into (id, offset within field, data).
fn split_extra(extra: &[u8]) -> Option<Vec<(u16, usize, &[u8])>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < extra.len() {
        let h = extra.get(i..i + 4)?;
        let id = u16::from_le_bytes([h[0], h[1]]);
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let d = extra.get(i + 4..i + 4 + len)?;
        out.push((id, i + 4, d));
        i += 4 + len;
    }
    Some(out)
}

/// Reports extra fields; the Red Star field of the first local header is decoded.
fn report_extra(
    extra: &[u8],
    base: usize,
    where_: &str,
    name: &str,
    first_local: bool,
    found: &mut Found,
) {
    let Some(fields) = split_extra(extra) else {
        found.add(
            Finding::new(
                Category::Other,
                format!("ZIP {where_} extra field of {name}"),
            )
            .value(format!("unparsable, {} bytes: {}", extra.len(), hex(extra)))
            .at(base),
        );
        return;
    };
    for (id, off, d) in fields {
        if id == REDSTAR_EXTRA_ID && first_local {
            // Blocks, optionally followed by the 4-byte length and "EOF".
            let blocks = if d.len() >= redstar::FOOTER_LEN + redstar::BLOCK_LEN
                && d.ends_with(b"EOF")
                && u32::from_le_bytes([
                    d[d.len() - 7],
                    d[d.len() - 6],
                    d[d.len() - 5],
                    d[d.len() - 4],
                ]) as usize
                    == d.len() - redstar::FOOTER_LEN
            {
                &d[..d.len() - redstar::FOOTER_LEN]
            } else {
                d
            };
            if let Some(mark) = redstar::parse_blocks(blocks, (base + off) as u64) {
                found.add(
                    Finding::new(
                        Category::Watermark,
                        "Red Star OS watermark (ZIP extra field 0xA220)",
                    )
                    .value(format!(
                        "{} block(s): {}",
                        mark.blocks,
                        mark.serials.join(", ")
                    ))
                    .at(base + off),
                );
                if found.redstar.is_none() {
                    found.redstar = Some(mark);
                }
                continue;
            }
        }
        let cat = match id {
            0x000a | 0x5455 => Category::Time,
            0x000d | 0x5855 | 0x7855 | 0x7875 => Category::DeviceId,
            _ => Category::Other,
        };
        found.add(
            Finding::new(cat, format!("ZIP {where_} extra field of {name}"))
                .value(extra_value(id, d))
                .at(base + off - 4),
        );
    }
}

fn dos_time(date: u16, time: u16) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        1980 + (date >> 9),
        (date >> 5) & 15,
        date & 31,
        time >> 11,
        (time >> 5) & 63,
        (time & 31) * 2
    )
}

/// Checks an entry name is a plain relative path.
fn check_name(format: Format, raw: &[u8], flags: u16, at: usize) -> Result<String, Error> {
    let name = match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) if flags & 0x0800 == 0 => {
            return Err(Error::unsupported(
                format,
                format!("entry name at byte {at} is not UTF-8 (legacy code page)"),
            ));
        }
        Err(e) => {
            return Err(Error::malformed(
                format,
                format!(
                    "entry name at byte {at} is invalid UTF-8 at byte {}",
                    e.valid_up_to()
                ),
            ));
        }
    };
    let trimmed = name.strip_suffix('/').unwrap_or(&name);
    let unsafe_name = name.is_empty()
        || trimmed.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.chars().any(|c| c.is_control())
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        || name.as_bytes().get(1) == Some(&b':');
    if unsafe_name {
        return Err(Error::malformed(
            format,
            format!("unsafe entry name {:?} at byte {at}", printable(raw)),
        ));
    }
    Ok(name)
}

/// Finds the end-of-central-directory record: (offset, end of record and comment).
fn find_eocd(data: &[u8]) -> Option<(usize, usize)> {
    if data.len() < 22 {
        return None;
    }
    let lowest = data.len().saturating_sub(22 + 0xffff);
    let mut p = data.len() - 22;
    loop {
        if data[p..p + 4] == SIG_EOCD.to_le_bytes() {
            let clen = u16::from_le_bytes([data[p + 20], data[p + 21]]) as usize;
            if p + 22 + clen <= data.len() {
                return Some((p, p + 22 + clen));
            }
        }
        if p == lowest {
            return None;
        }
        p -= 1;
    }
}

/// Central directory records and the EOCD position.
struct Directory {
    records: Vec<Central>,
    cd_start: usize,
    cd_end: usize,
    eocd: usize,
    end: usize,
    comment: Vec<u8>,
}

fn read_directory(format: Format, data: &[u8]) -> Result<Directory, Error> {
    let (eocd, end) = find_eocd(data).ok_or_else(|| {
        Error::malformed(
            format,
            format!(
                "no end of central directory record (file truncated at byte {}?)",
                data.len()
            ),
        )
    })?;
    let mut r = Reader::at(data, eocd + 4, format);
    let disk = r.u16_le("EOCD disk number")?;
    let cd_disk = r.u16_le("EOCD directory disk")?;
    let n_disk = r.u16_le("EOCD entries on disk")?;
    let n = r.u16_le("EOCD entry count")?;
    let cd_size = r.u32_le("EOCD directory size")?;
    let cd_off = r.u32_le("EOCD directory offset")?;
    let clen = r.u16_le("EOCD comment length")? as usize;
    let comment = r.take(clen, "archive comment")?.to_vec();
    if n == 0xffff || cd_size == 0xffff_ffff || cd_off == 0xffff_ffff {
        return Err(Error::unsupported(
            format,
            "ZIP64 archives are not supported",
        ));
    }
    if eocd >= 20 && data[eocd - 20..eocd - 16] == SIG_ZIP64_LOCATOR.to_le_bytes() {
        return Err(Error::unsupported(
            format,
            "ZIP64 archives are not supported",
        ));
    }
    if disk != 0 || cd_disk != 0 || n_disk != n {
        return Err(Error::unsupported(
            format,
            format!("multi-disk archive (EOCD at byte {eocd})"),
        ));
    }
    let cd_start = cd_off as usize;
    let cd_end = cd_start
        .checked_add(cd_size as usize)
        .filter(|&e| e <= eocd)
        .ok_or_else(|| {
            Error::malformed(
                format,
                format!(
                    "central directory at byte {cd_start} of {cd_size} bytes runs past the end record at byte {eocd}"
                ),
            )
        })?;
    if n as usize > MAX_ENTRIES {
        return Err(Error::unsupported(
            format,
            format!("{n} entries (limit {MAX_ENTRIES})"),
        ));
    }
    let cd = &data[..cd_end];
    let mut r = Reader::at(cd, cd_start, format);
    let mut records = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let at = r.pos();
        if r.u32_le("central directory header")? != SIG_CENTRAL {
            return Err(Error::malformed(
                format,
                format!("bad central directory signature at byte {at}"),
            ));
        }
        let _made_by = r.u16_le("version made by")?;
        let _needed = r.u16_le("version needed")?;
        let flags = r.u16_le("flags")?;
        let method = r.u16_le("method")?;
        let time = r.u16_le("time")?;
        let date = r.u16_le("date")?;
        let crc = r.u32_le("crc")?;
        let csize = r.u32_le("compressed size")?;
        let usize_ = r.u32_le("uncompressed size")?;
        let nlen = r.u16_le("name length")? as usize;
        let elen = r.u16_le("extra length")? as usize;
        let clen = r.u16_le("comment length")? as usize;
        let disk_start = r.u16_le("disk start")?;
        let _internal = r.u16_le("internal attributes")?;
        let _external = r.u32_le("external attributes")?;
        let offset = r.u32_le("local header offset")?;
        let name = r.take(nlen, "entry name")?.to_vec();
        let extra = r.take(elen, "extra field")?.to_vec();
        let comment = r.take(clen, "entry comment")?.to_vec();
        if csize == 0xffff_ffff || usize_ == 0xffff_ffff || offset == 0xffff_ffff {
            return Err(Error::unsupported(
                format,
                "ZIP64 entries are not supported",
            ));
        }
        if disk_start != 0 {
            return Err(Error::unsupported(
                format,
                format!("multi-disk entry at byte {at}"),
            ));
        }
        records.push(Central {
            flags,
            method,
            time,
            date,
            crc,
            csize: csize as u64,
            usize: usize_ as u64,
            name,
            extra,
            comment,
            offset: offset as usize,
            at,
        });
    }
    if r.pos() != cd_end {
        return Err(Error::malformed(
            format,
            format!(
                "central directory ends at byte {} but its size says byte {cd_end}",
                r.pos()
            ),
        ));
    }
    Ok(Directory {
        records,
        cd_start,
        cd_end,
        eocd,
        end,
        comment,
    })
}

/// Entry names only, for format detection: from the central directory, or
/// failing that by walking the local headers from the start.
pub(crate) fn list_names(data: &[u8]) -> Vec<String> {
    if let Ok(d) = read_directory(Format::Docx, data) {
        return d
            .records
            .iter()
            .map(|c| String::from_utf8_lossy(&c.name).into_owned())
            .collect();
    }
    let mut names = Vec::new();
    let mut p = 0usize;
    while names.len() < 64 {
        let Some(h) = data.get(p..p + 30) else { break };
        if h[..4] != SIG_LOCAL.to_le_bytes() {
            break;
        }
        let csize = u32::from_le_bytes([h[18], h[19], h[20], h[21]]) as usize;
        let nlen = u16::from_le_bytes([h[26], h[27]]) as usize;
        let elen = u16::from_le_bytes([h[28], h[29]]) as usize;
        let Some(n) = data.get(p + 30..p + 30 + nlen) else {
            break;
        };
        names.push(String::from_utf8_lossy(n).into_owned());
        let flags = u16::from_le_bytes([h[6], h[7]]);
        if flags & 8 != 0 {
            break;
        }
        p = p + 30 + nlen + elen + csize;
    }
    names
}

/// The stored content of the first entry if it is named `mimetype` (ODF).
pub(crate) fn first_mimetype(data: &[u8]) -> Option<&[u8]> {
    let h = data.get(..30)?;
    if h[..4] != SIG_LOCAL.to_le_bytes() || u16::from_le_bytes([h[8], h[9]]) != 0 {
        return None;
    }
    let csize = u32::from_le_bytes([h[18], h[19], h[20], h[21]]) as usize;
    let nlen = u16::from_le_bytes([h[26], h[27]]) as usize;
    let elen = u16::from_le_bytes([h[28], h[29]]) as usize;
    if data.get(30..30 + nlen)? != b"mimetype" || csize > 200 {
        return None;
    }
    data.get(30 + nlen + elen..30 + nlen + elen + csize)
}

fn inflate(
    format: Format,
    comp: &[u8],
    expect: u64,
    name: &str,
    at: usize,
) -> Result<Vec<u8>, Error> {
    let mut dec = flate2::bufread::DeflateDecoder::new(comp);
    let mut out = Vec::with_capacity(expect.min(64 << 20) as usize);
    let res = (&mut dec).take(expect + 1).read_to_end(&mut out);
    if let Err(e) = res {
        return Err(Error::malformed(
            format,
            format!("entry {name} at byte {at}: corrupt deflate data ({e})"),
        ));
    }
    if out.len() as u64 != expect {
        return Err(Error::malformed(
            format,
            format!(
                "entry {name} at byte {at}: inflates to {}{} bytes, the directory says {expect}",
                out.len().min(expect as usize),
                if out.len() as u64 > expect { "+" } else { "" }
            ),
        ));
    }
    if dec.total_in() != comp.len() as u64 {
        return Err(Error::malformed(
            format,
            format!(
                "entry {name} at byte {at}: deflate stream ends after {} of {} bytes",
                dec.total_in(),
                comp.len()
            ),
        ));
    }
    Ok(out)
}

/// Reads and checks the whole archive, reporting container-level metadata.
pub(crate) fn read(format: Format, data: &[u8], found: &mut Found) -> Result<Vec<Entry>, Error> {
    let dir = read_directory(format, data)?;
    if dir.end < data.len() {
        found.add(
            Finding::new(Category::Trailer, "data after the end of the ZIP archive")
                .value(format!(
                    "{} bytes: {}",
                    data.len() - dir.end,
                    hex(&data[dir.end..])
                ))
                .at(dir.end),
        );
    }
    if !dir.comment.is_empty() {
        found.add(
            Finding::new(Category::Text, "ZIP archive comment")
                .value(printable(&dir.comment))
                .at(dir.eocd + 22),
        );
    }
    let mut order: Vec<usize> = (0..dir.records.len()).collect();
    order.sort_by_key(|&i| dir.records[i].offset);
    let first_offset = order.first().map(|&i| dir.records[i].offset);
    let mut entries = Vec::with_capacity(dir.records.len());
    let mut names_seen = std::collections::BTreeSet::new();
    let mut total: u64 = 0;
    let mut pos = 0usize; // end of the previous entry
    let mut times: Vec<String> = Vec::new();
    let mut n_timed = 0usize;
    for &i in &order {
        let c = &dir.records[i];
        let name = check_name(format, &c.name, c.flags, c.at)?;
        if !names_seen.insert(name.to_lowercase()) {
            return Err(Error::malformed(
                format,
                format!(
                    "duplicate entry {name:?} in the central directory at byte {}",
                    c.at
                ),
            ));
        }
        if c.flags & 0x0001 != 0 || c.flags & 0x0040 != 0 || c.flags & 0x2000 != 0 {
            return Err(Error::unsupported(
                format,
                format!("entry {name} is encrypted"),
            ));
        }
        if c.method != 0 && c.method != 8 {
            return Err(Error::unsupported(
                format,
                format!(
                    "entry {name} uses compression method {} (only stored and deflate are supported)",
                    c.method
                ),
            ));
        }
        if c.usize > MAX_ENTRY {
            return Err(Error::unsupported(
                format,
                format!(
                    "entry {name} would inflate to {} bytes (limit {MAX_ENTRY})",
                    c.usize
                ),
            ));
        }
        total += c.usize;
        if total > MAX_TOTAL {
            return Err(Error::unsupported(
                format,
                format!("archive would inflate to more than {MAX_TOTAL} bytes"),
            ));
        }
        if c.usize > RATIO_FLOOR && c.usize > c.csize.saturating_mul(MAX_RATIO) {
            return Err(Error::unsupported(
                format,
                format!(
                    "entry {name} has a compression ratio above {MAX_RATIO}:1 ({} → {} bytes): possible zip bomb",
                    c.csize, c.usize
                ),
            ));
        }
        if c.method == 0 && c.csize != c.usize {
            return Err(Error::malformed(
                format,
                format!("stored entry {name} at byte {}: sizes differ", c.at),
            ));
        }
        // Local header.
        let lo = c.offset;
        if lo < pos {
            return Err(Error::malformed(
                format,
                format!(
                    "entry {name} at byte {lo} overlaps the previous entry (ends at byte {pos})"
                ),
            ));
        }
        if lo > pos {
            found.add(
                Finding::new(Category::Other, "data between ZIP entries")
                    .value(format!(
                        "{} bytes: {}",
                        lo - pos,
                        hex(data.get(pos..lo).unwrap_or(&[]))
                    ))
                    .at(pos),
            );
        }
        let mut r = Reader::at(&data[..dir.cd_start.min(data.len())], lo, format);
        if r.u32_le("local file header")? != SIG_LOCAL {
            return Err(Error::malformed(
                format,
                format!("no local file header for {name} at byte {lo}"),
            ));
        }
        let _needed = r.u16_le("version needed")?;
        let flags = r.u16_le("local flags")?;
        let method = r.u16_le("local method")?;
        let time = r.u16_le("local time")?;
        let date = r.u16_le("local date")?;
        let crc = r.u32_le("local crc")?;
        let csize = r.u32_le("local compressed size")? as u64;
        let usize_ = r.u32_le("local uncompressed size")? as u64;
        let nlen = r.u16_le("local name length")? as usize;
        let elen = r.u16_le("local extra length")? as usize;
        let lname = r.take(nlen, "local entry name")?;
        let extra_at = r.pos();
        let lextra = r.take(elen, "local extra field")?;
        let descriptor = flags & 0x0008 != 0;
        let sizes_ok = if descriptor {
            (crc == 0 && csize == 0 && usize_ == 0)
                || (crc == c.crc && csize == c.csize && usize_ == c.usize)
        } else {
            crc == c.crc && csize == c.csize && usize_ == c.usize
        };
        if lname != c.name.as_slice() || method != c.method || flags != c.flags || !sizes_ok {
            return Err(Error::malformed(
                format,
                format!(
                    "local header at byte {lo} does not agree with the central directory entry at byte {} ({name})",
                    c.at
                ),
            ));
        }
        if (time, date) != (FIXED_TIME, FIXED_DATE) || (c.time, c.date) != (FIXED_TIME, FIXED_DATE)
        {
            n_timed += 1;
            for t in [dos_time(date, time), dos_time(c.date, c.time)] {
                if times.len() < 3 && !times.contains(&t) {
                    times.push(t);
                }
            }
        }
        report_extra(
            lextra,
            extra_at,
            "local",
            &name,
            Some(lo) == first_offset,
            found,
        );
        report_extra(
            &c.extra,
            c.at + 46 + c.name.len(),
            "central",
            &name,
            false,
            found,
        );
        if !c.comment.is_empty() {
            found.add(
                Finding::new(Category::Text, format!("ZIP entry comment of {name}"))
                    .value(printable(&c.comment))
                    .at(c.at + 46 + c.name.len() + c.extra.len()),
            );
        }
        let data_at = r.pos();
        let comp = r.take(c.csize as usize, "entry data")?;
        if descriptor {
            let dat = r.pos();
            let mut sig = r.u32_le("data descriptor")?;
            if sig == SIG_DESCRIPTOR {
                sig = r.u32_le("data descriptor crc")?;
            }
            let dcsize = r.u32_le("data descriptor compressed size")? as u64;
            let dusize = r.u32_le("data descriptor size")? as u64;
            if sig != c.crc || dcsize != c.csize || dusize != c.usize {
                return Err(Error::malformed(
                    format,
                    format!(
                        "data descriptor at byte {dat} does not agree with the central directory ({name})"
                    ),
                ));
            }
        }
        pos = r.pos();
        let is_dir = name.ends_with('/');
        let content = if c.method == 0 {
            comp.to_vec()
        } else {
            inflate(format, comp, c.usize, &name, data_at)?
        };
        let mut crc32 = flate2::Crc::new();
        crc32.update(&content);
        if crc32.sum() != c.crc {
            return Err(Error::malformed(
                format,
                format!("entry {name} at byte {lo}: CRC mismatch"),
            ));
        }
        if is_dir && !content.is_empty() {
            return Err(Error::malformed(
                format,
                format!("directory entry {name} at byte {lo} has content"),
            ));
        }
        entries.push(Entry {
            name,
            data: content,
            offset: lo,
            is_dir,
        });
    }
    if pos < dir.cd_start {
        found.add(
            Finding::new(Category::Other, "data between ZIP entries")
                .value(format!(
                    "{} bytes before the central directory: {}",
                    dir.cd_start - pos,
                    hex(&data[pos..dir.cd_start])
                ))
                .at(pos),
        );
    }
    if dir.cd_end < dir.eocd {
        found.add(
            Finding::new(
                Category::Other,
                "data between the ZIP central directory and its end record",
            )
            .value(format!(
                "{} bytes: {}",
                dir.eocd - dir.cd_end,
                hex(&data[dir.cd_end..dir.eocd])
            ))
            .at(dir.cd_end),
        );
    }
    if n_timed > 0 {
        found.add(
            Finding::new(Category::Time, "ZIP entry modification times")
                .value(format!("{} ({n_timed} entries)", times.join(", "))),
        );
    }
    Ok(entries)
}

/// One entry to write.
pub(crate) struct OutEntry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    /// Store instead of deflate.
    pub stored: bool,
    pub time: u16,
    pub date: u16,
    /// Extra field of the local header (fixtures only; cleaned files have none).
    pub local_extra: &'a [u8],
}

impl<'a> OutEntry<'a> {
    pub fn clean(name: &'a str, data: &'a [u8], stored: bool) -> Self {
        OutEntry {
            name,
            data,
            stored,
            time: FIXED_TIME,
            date: FIXED_DATE,
            local_extra: &[],
        }
    }
}

/// Deflates at a fixed level (the same bytes on every machine).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Writes entries in the given order: no comments, fixed versions and attributes.
pub(crate) fn write(entries: &[OutEntry], comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let mut crc = flate2::Crc::new();
        crc.update(e.data);
        let comp = if e.stored {
            e.data.to_vec()
        } else {
            deflate(e.data)
        };
        let method: u16 = if e.stored { 0 } else { 8 };
        let flags: u16 = if e.name.is_ascii() { 0 } else { 0x0800 };
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&flags.to_le_bytes());
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&e.time.to_le_bytes());
            v.extend_from_slice(&e.date.to_le_bytes());
            v.extend_from_slice(&crc.sum().to_le_bytes());
            v.extend_from_slice(&(comp.len() as u32).to_le_bytes());
            v.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        };
        out.extend_from_slice(&SIG_LOCAL.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(&(e.local_extra.len() as u16).to_le_bytes());
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(e.local_extra);
        out.extend_from_slice(&comp);

        central.extend_from_slice(&SIG_CENTRAL.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, 2.0
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        let ext: u32 = if e.name.ends_with('/') { 0x10 } else { 0 };
        central.extend_from_slice(&ext.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&SIG_EOCD.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_fixed_fields() {
        let z = write(
            &[
                OutEntry::clean("mimetype", b"application/x", true),
                OutEntry::clean("a/b.xml", b"<a/><a/><a/><a/><a/>", false),
                OutEntry::clean("a/", b"", false),
            ],
            b"",
        );
        let mut f = Found::default();
        let e = read(Format::Odt, &z, &mut f).unwrap();
        assert!(f.findings.is_empty(), "{:?}", f.findings);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].data, b"<a/><a/><a/><a/><a/>");
        assert!(e[2].is_dir);
        assert_eq!(first_mimetype(&z), Some(&b"application/x"[..]));
    }

    #[test]
    fn reports_container_metadata() {
        let mut z = write(
            &[OutEntry {
                name: "x.xml",
                data: b"<x/>",
                stored: false,
                time: 0x6000,
                date: 0x4e21,
                local_extra: &[0x55, 0x54, 5, 0, 1, 2, 3, 4, 5],
            }],
            b"by planted-host",
        );
        z.extend_from_slice(b"junk");
        let mut f = Found::default();
        read(Format::Docx, &z, &mut f).unwrap();
        let fields: Vec<_> = f.findings.iter().map(|x| x.field.as_str()).collect();
        assert!(fields.contains(&"ZIP archive comment"), "{fields:?}");
        assert!(fields.contains(&"ZIP entry modification times"));
        assert!(fields.contains(&"ZIP local extra field of x.xml"));
        assert!(fields.contains(&"data after the end of the ZIP archive"));
    }

    #[test]
    fn refuses_bad_names_and_methods() {
        for name in ["../x", "/x", "a\\b", "a//b", "C:x", "./a"] {
            let z = write(&[OutEntry::clean(name, b"x", true)], b"");
            let mut f = Found::default();
            assert!(read(Format::Docx, &z, &mut f).is_err(), "{name}");
        }
        let mut z = write(&[OutEntry::clean("a", b"x", true)], b"");
        z[8] = 12; // bzip2 in the local header
        assert!(read(Format::Docx, &z, &mut Found::default()).is_err());
        let n = z.len();
        let cd = n - 22 - 47;
        z[cd + 10] = 12; // and in the central directory
        match read(Format::Docx, &z, &mut Found::default()) {
            Err(Error::Unsupported { reason, .. }) => assert!(reason.contains("method 12")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_zip_bomb_ratio() {
        let mut z = write(&[OutEntry::clean("a.xml", &[0u8; 4096], false)], b"");
        // Claim 100 MiB in both headers: more than 1000 times the compressed size.
        let big = (100u32 << 20).to_le_bytes();
        z[22..26].copy_from_slice(&big);
        let cd = z.len() - 22 - 46 - 5;
        z[cd + 24..cd + 28].copy_from_slice(&big);
        match read(Format::Docx, &z, &mut Found::default()) {
            Err(Error::Unsupported { reason, .. }) => {
                assert!(reason.contains("zip bomb"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
