//! MP4, M4A, M4V and QuickTime MOV (ISO base media file format) cleaning.
//!
//! The file is a sequence of boxes. The cleaner rebuilds the movie header
//! (`moov`) from an allowlist of the boxes a player needs, copies the media
//! data (`mdat`) untouched, and drops everything else:
//!
//! * **Removed:** `udta` and `meta` at file, movie and track level (iTunes
//!   `ilst` items such as `©ART`, `©day`, `©too`, `©xyz`; QuickTime `mdta`
//!   keys such as `com.apple.quicktime.location.ISO6709`; `XMP_`), `uuid`
//!   boxes (XMP `BE7ACFCB-…`, camera maker boxes), `free`/`skip`/`wide`
//!   (padding that can hold old data), previews (`pnot`), and any box not on
//!   the allowlist of its parent.
//! * **Rewritten:** creation and modification times in `mvhd`, `tkhd` and
//!   `mdhd` are zeroed; handler names in `hdlr` (often a tool name such as
//!   `Lavf`/"Apple Video Media Handler") become the empty string, written as
//!   one zero byte, which is an empty name under both the ISO (NUL-terminated)
//!   and the QuickTime (length-prefixed) conventions; the 32-byte compressor
//!   name of video sample entries (an encoder name) is zeroed; data
//!   references become plain "media is in this file" entries.
//! * **Chunk offsets** (`stco`, `co64`) are rewritten for the bytes removed
//!   before each `mdat`. An offset that does not point into an `mdat` is
//!   refused.
//! * **Refused:** fragmented files (`moof`, `mvex`), compressed movie headers
//!   (`cmov`), media in other files (external data references) and
//!   sample auxiliary offsets (`saio`), because their absolute offsets cannot be
//!   checked or fixed safely.
//! * Bytes after the last box: reported as a trailer and removed.
//!
//! Not handled: identifying strings inside the coded media itself (for example
//! the x264 settings SEI in the first H.264 frame), which is sample data.

use crate::bytes::printable;
use crate::{Category, Error, Finding, Format, Found, Options};

const F: Format = Format::Mp4;

/// Seconds between 1904-01-01 (the MP4 epoch) and 1970-01-01.
const EPOCH_1904: u64 = 2_082_844_800;

/// A box header: type and byte range in the input.
#[derive(Debug, Clone, Copy)]
struct Bx {
    typ: [u8; 4],
    start: usize,
    /// Start of the content (after size, type, largesize).
    body: usize,
    end: usize,
}

fn fourcc(t: &[u8]) -> String {
    t.iter()
        .map(|&c| match c {
            0xa9 => '©',
            0x20..=0x7e => c as char,
            _ => '?',
        })
        .collect()
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads the box header at `pos`; the box must end by `limit`. A size of 0
/// (to the end) is accepted only at the top level.
fn read_box(data: &[u8], pos: usize, limit: usize, top: bool) -> Result<Bx, Error> {
    if limit < pos || limit - pos < 8 {
        return Err(Error::malformed(
            F,
            format!("box header at byte {pos} runs past the end of its parent"),
        ));
    }
    let size = be32(data, pos).unwrap_or(0) as u64;
    let mut typ = [0u8; 4];
    typ.copy_from_slice(&data[pos + 4..pos + 8]);
    let (body, end) = match size {
        0 if top => (pos + 8, limit as u64),
        0 => {
            return Err(Error::malformed(
                F,
                format!(
                    "box '{}' at byte {pos} has size 0 inside another box",
                    fourcc(&typ)
                ),
            ));
        }
        1 => {
            let large = be64(data, pos + 8)
                .filter(|_| limit - pos >= 16)
                .ok_or_else(|| {
                    Error::malformed(
                        F,
                        format!("64-bit box size at byte {pos} runs past the end"),
                    )
                })?;
            if large < 16 {
                return Err(Error::malformed(
                    F,
                    format!(
                        "box '{}' at byte {pos} has invalid size {large}",
                        fourcc(&typ)
                    ),
                ));
            }
            (pos + 16, pos as u64 + large)
        }
        s if s < 8 => {
            return Err(Error::malformed(
                F,
                format!("box '{}' at byte {pos} has invalid size {s}", fourcc(&typ)),
            ));
        }
        s => (pos + 8, pos as u64 + s),
    };
    if end > limit as u64 {
        return Err(Error::malformed(
            F,
            format!(
                "box '{}' at byte {pos} runs past the end of {} ({} bytes declared, {} left)",
                fourcc(&typ),
                if top { "the file" } else { "its parent" },
                end - pos as u64,
                limit - pos
            ),
        ));
    }
    Ok(Bx {
        typ,
        start: pos,
        body,
        end: end as usize,
    })
}

/// The child boxes of `b`, starting `skip` bytes into its content. A tail of
/// fewer than 8 zero bytes (QuickTime terminators) is tolerated.
fn children(data: &[u8], b: &Bx, skip: usize) -> Result<Vec<Bx>, Error> {
    let mut v = Vec::new();
    let mut p = b.body + skip;
    if p > b.end {
        return Err(Error::malformed(
            F,
            format!("box '{}' at byte {} is too short", fourcc(&b.typ), b.start),
        ));
    }
    while p < b.end {
        if b.end - p < 8 && data[p..b.end].iter().all(|&c| c == 0) {
            break;
        }
        let c = read_box(data, p, b.end, false)?;
        p = c.end;
        v.push(c);
    }
    Ok(v)
}

fn join(path: &str, t: &str) -> String {
    if path.is_empty() {
        t.to_string()
    } else {
        format!("{path}/{t}")
    }
}

/// "2024-03-01 12:00:00 UTC" for seconds since 1904.
fn mp4_time(secs: u64) -> String {
    if secs < EPOCH_1904 {
        return format!("{secs} seconds after 1904-01-01");
    }
    crate::bytes::utc_string((secs - EPOCH_1904) as i64)
}

/// Category of a metadata item by its name (atom type or key).
fn item_category(name: &str) -> Category {
    let n = name.to_ascii_lowercase();
    let n = n
        .strip_prefix("com.apple.quicktime.")
        .unwrap_or(&n)
        .to_string();
    if matches!(n.as_str(), "free" | "skip" | "wide") {
        return Category::Other;
    }
    let has = |s: &[&str]| s.iter().any(|k| n.contains(k));
    if has(&["xyz", "location", "iso6709", "loci", "gps"]) {
        Category::Location
    } else if has(&["covr", "artwork", "pict", "thumb", "preview"]) {
        Category::Thumbnail
    } else if has(&[
        "serial",
        "identifier",
        "uuid",
        "mak",
        "mod",
        "make",
        "model",
        "device",
    ]) {
        Category::DeviceId
    } else if has(&["day", "date", "time"]) {
        Category::Time
    } else if has(&["too", "swr", "enc", "software", "swf", "soft"]) {
        Category::Software
    } else if has(&[
        "art", "aut", "wrt", "com", "prf", "author", "artist", "composer", "owner", "prd", "dir",
        "producer", "director",
    ]) {
        Category::Person
    } else {
        Category::Text
    }
}

/// Reports everything inside a metadata box that is being removed whole
/// (`udta`, `meta`, `uuid`, ...). Best effort, never fails: the box goes anyway.
fn report_meta(data: &[u8], b: &Bx, path: &str, depth: usize, keys: &[String], found: &mut Found) {
    let before = found.findings.len();
    let t = fourcc(&b.typ);
    let content = &data[b.body..b.end];
    let here = join(path, &t);
    match &b.typ {
        b"udta" | b"ilst" | b"moov" | b"trak" if depth < 8 => {
            if let Ok(kids) = children(data, b, 0) {
                for c in kids {
                    report_meta(data, &c, &here, depth + 1, keys, found);
                }
            }
        }
        b"meta" if depth < 8 => {
            // ISO 'meta' is a full box; QuickTime 'meta' is not.
            let skip = if content.get(4..8) == Some(b"hdlr") {
                0
            } else {
                4
            };
            let kids = children(data, b, skip).unwrap_or_default();
            let mut names = Vec::new();
            for c in &kids {
                if &c.typ == b"keys" {
                    names = meta_keys(data, c);
                }
            }
            for c in kids {
                if &c.typ != b"keys" && &c.typ != b"hdlr" {
                    report_meta(data, &c, &here, depth + 1, &names, found);
                }
            }
        }
        b"uuid" => {
            let u = content.get(..16).unwrap_or(&[]);
            if u == XMP_UUID {
                found.add(
                    Finding::new(Category::Text, "MP4 XMP (uuid box)")
                        .value(xmp_summary(&content[16..]))
                        .at(b.start),
                );
            } else {
                let hex: String = u.iter().map(|x| format!("{x:02x}")).collect();
                found.add(
                    Finding::new(Category::Other, format!("MP4 uuid box {hex}"))
                        .value(format!(
                            "{} bytes: {}",
                            content.len(),
                            printable(&content[u.len()..content.len().min(u.len() + 60)])
                        ))
                        .at(b.start),
                );
            }
        }
        _ => {
            // An item: an ilst entry with 'data' children, a QuickTime
            // user-data text atom, or anything else.
            let name = if path.ends_with("/ilst") && !keys.is_empty() && b.typ[0] < 0x20 {
                let i = u32::from_be_bytes(b.typ) as usize;
                keys.get(i.wrapping_sub(1)).cloned().unwrap_or(t.clone())
            } else {
                t.clone()
            };
            let mut value = None;
            if path.ends_with("/ilst") {
                if let Ok(kids) = children(data, b, 0) {
                    for c in kids {
                        if &c.typ == b"data" {
                            let d = &data[c.body..c.end];
                            let kind = be32(d, 0).unwrap_or(0) & 0xff_ffff;
                            let v = d.get(8..).unwrap_or(&[]);
                            value = Some(if kind == 13 || kind == 14 || kind == 27 {
                                format!("{} bytes of picture", v.len())
                            } else if kind == 1 {
                                String::from_utf8_lossy(v).trim().to_string()
                            } else {
                                printable(v)
                            });
                        }
                    }
                }
            } else if b.typ[0] == 0xa9 && content.len() >= 4 {
                let n = u16::from_be_bytes([content[0], content[1]]) as usize;
                let s = content.get(4..4 + n).unwrap_or(&content[4..]);
                value = Some(String::from_utf8_lossy(s).trim().to_string());
            } else if &b.typ == b"XMP_" {
                value = Some(xmp_summary(content));
            }
            let value = value.unwrap_or_else(|| {
                let p = printable(&content[..content.len().min(200)]);
                if p.is_empty() {
                    format!("{} bytes", content.len())
                } else {
                    p
                }
            });
            found.add(
                Finding::new(
                    item_category(&name),
                    if name != t {
                        format!("MP4 {path} {name}")
                    } else {
                        format!("MP4 {here}")
                    },
                )
                .value(value)
                .at(b.start),
            );
        }
    }
    if found.findings.len() == before {
        found.add(
            Finding::new(Category::Other, format!("MP4 {here}"))
                .value(format!("{} bytes", b.end - b.start))
                .at(b.start),
        );
    }
}

/// The key names of a QuickTime `keys` box.
fn meta_keys(data: &[u8], b: &Bx) -> Vec<String> {
    let c = &data[b.body..b.end];
    let n = be32(c, 4).unwrap_or(0) as usize;
    let mut p = 8;
    let mut out = Vec::new();
    while out.len() < n.min(1000) {
        let Some(sz) = be32(c, p) else { break };
        let sz = sz as usize;
        if sz < 8 || p + sz > c.len() {
            break;
        }
        out.push(String::from_utf8_lossy(&c[p + 8..p + sz]).into_owned());
        p += sz;
    }
    out
}

/// The UUID of an XMP `uuid` box.
const XMP_UUID: &[u8] = &[
    0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8, 0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac,
];

/// Element texts of an XMP packet, joined: enough to show what it held.
fn xmp_summary(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = Vec::new();
    let mut rest = &s[..];
    while let Some(i) = rest.find('>') {
        rest = &rest[i + 1..];
        let j = rest.find('<').unwrap_or(rest.len());
        let t = rest[..j].trim();
        if !t.is_empty() {
            out.push(t.to_string());
        }
        rest = &rest[j..];
    }
    if out.is_empty() {
        format!("{} bytes", b.len())
    } else {
        out.join("; ")
    }
}

/// A chunk offset table in the rebuilt `moov`, to patch after layout.
struct Table {
    /// Position of the first entry in the rebuilt moov.
    pos: usize,
    wide: bool,
    count: usize,
    /// Position of the box in the input (for messages).
    at: usize,
}

struct Cleaner<'a> {
    data: &'a [u8],
    found: &'a mut Found,
    out: Vec<u8>,
    tables: Vec<Table>,
    handler: [u8; 4],
}

impl Cleaner<'_> {
    fn begin(&mut self, typ: &[u8; 4]) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0, 0, 0, 0]);
        self.out.extend_from_slice(typ);
        at
    }

    fn finish(&mut self, at: usize) -> Result<(), Error> {
        let size = u32::try_from(self.out.len() - at)
            .map_err(|_| Error::unsupported(F, "movie header larger than 4 GiB"))?;
        self.out[at..at + 4].copy_from_slice(&size.to_be_bytes());
        Ok(())
    }

    fn verbatim(&mut self, b: &Bx) {
        self.out.extend_from_slice(&self.data[b.start..b.end]);
    }

    fn drop_box(&mut self, b: &Bx, path: &str) {
        report_meta(self.data, b, path, 0, &[], self.found);
    }

    /// An allowlisted container: each child is handled by `f`.
    fn container(
        &mut self,
        b: &Bx,
        path: &str,
        f: fn(&mut Self, &Bx, &str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let at = self.begin(&b.typ);
        let here = join(path, &fourcc(&b.typ));
        for c in children(self.data, b, 0)? {
            f(self, &c, &here)?;
        }
        self.finish(at)
    }

    fn moov_child(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        match &c.typ {
            b"mvhd" => self.times(c, path),
            b"trak" => self.container(c, path, Self::trak_child),
            b"iods" => {
                self.verbatim(c);
                Ok(())
            }
            b"mvex" => Err(Error::unsupported(
                F,
                format!("fragmented movie ('mvex' at byte {})", c.start),
            )),
            b"cmov" => Err(Error::unsupported(
                F,
                format!("compressed movie header ('cmov' at byte {})", c.start),
            )),
            _ => {
                self.drop_box(c, path);
                Ok(())
            }
        }
    }

    fn trak_child(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        match &c.typ {
            b"tkhd" => self.times(c, path),
            b"mdia" => {
                self.handler = *b"    ";
                self.container(c, path, Self::mdia_child)
            }
            b"edts" | b"tref" | b"tapt" => {
                self.verbatim(c);
                Ok(())
            }
            _ => {
                self.drop_box(c, path);
                Ok(())
            }
        }
    }

    fn mdia_child(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        match &c.typ {
            b"mdhd" => self.times(c, path),
            b"hdlr" => {
                let t = self.data.get(c.body + 8..c.body + 12).unwrap_or(b"    ");
                self.handler.copy_from_slice(t);
                self.hdlr(c, path)
            }
            b"minf" => self.container(c, path, Self::minf_child),
            b"elng" => {
                self.verbatim(c);
                Ok(())
            }
            _ => {
                self.drop_box(c, path);
                Ok(())
            }
        }
    }

    fn minf_child(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        match &c.typ {
            b"vmhd" | b"smhd" | b"hmhd" | b"nmhd" | b"sthd" | b"gmhd" => {
                self.verbatim(c);
                Ok(())
            }
            b"hdlr" => self.hdlr(c, path),
            b"dinf" => self.container(c, path, Self::dinf_child),
            b"stbl" => self.container(c, path, Self::stbl_child),
            _ => {
                self.drop_box(c, path);
                Ok(())
            }
        }
    }

    fn dinf_child(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        if &c.typ != b"dref" {
            self.drop_box(c, path);
            return Ok(());
        }
        let d = &self.data[c.body..c.end];
        let count = be32(d, 4).ok_or_else(|| {
            Error::malformed(F, format!("'dref' box at byte {} is too short", c.start))
        })?;
        let entries = children(self.data, c, 8)?;
        if entries.len() != count as usize {
            return Err(Error::malformed(
                F,
                format!(
                    "'dref' box at byte {} declares {count} entries but holds {}",
                    c.start,
                    entries.len()
                ),
            ));
        }
        let at = self.begin(b"dref");
        self.out.extend_from_slice(&d[..8]);
        for e in entries {
            let flags = be32(self.data, e.body).unwrap_or(0) & 0xff_ffff;
            if flags & 1 == 0 {
                return Err(Error::unsupported(
                    F,
                    format!(
                        "media data is in another file (data reference at byte {})",
                        e.start
                    ),
                ));
            }
            if e.end - e.body > 4 {
                self.found.add(
                    Finding::new(
                        Category::Other,
                        format!("MP4 data reference '{}'", fourcc(&e.typ)),
                    )
                    .value(printable(&self.data[e.body + 4..e.end]))
                    .at(e.start),
                );
            }
            self.out.extend_from_slice(&12u32.to_be_bytes());
            self.out.extend_from_slice(&e.typ);
            self.out.extend_from_slice(&[0, 0, 0, 1]);
        }
        self.finish(at)
    }

    fn stbl_child(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        match &c.typ {
            b"stsd" => self.stsd(c, path),
            b"stco" | b"co64" => self.offsets(c),
            b"saio" => Err(Error::unsupported(
                F,
                format!("sample auxiliary offsets ('saio' at byte {})", c.start),
            )),
            b"stts" | b"ctts" | b"cslg" | b"stss" | b"stps" | b"stsh" | b"stsc" | b"stsz"
            | b"stz2" | b"sdtp" | b"sbgp" | b"sgpd" | b"subs" | b"padb" | b"stdp" | b"saiz" => {
                self.verbatim(c);
                Ok(())
            }
            _ => {
                self.drop_box(c, path);
                Ok(())
            }
        }
    }

    /// Zeroes creation and modification times of mvhd/tkhd/mdhd.
    fn times(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        let d = &self.data[c.body..c.end];
        let wide = d.first() == Some(&1);
        let (n, need) = if wide { (8, 20) } else { (4, 12) };
        if d.len() < need {
            return Err(Error::malformed(
                F,
                format!("'{}' box at byte {} is too short", fourcc(&c.typ), c.start),
            ));
        }
        let start = self.out.len();
        self.verbatim(c);
        let content = start + (c.body - c.start);
        for (i, what) in ["creation", "modification"].iter().enumerate() {
            let off = 4 + i * n;
            let v = if wide {
                be64(d, off).unwrap_or(0)
            } else {
                be32(d, off).unwrap_or(0) as u64
            };
            if v != 0 {
                self.found.add(
                    Finding::new(
                        Category::Time,
                        format!("MP4 {path}/{} {what} time", fourcc(&c.typ)),
                    )
                    .value(mp4_time(v))
                    .at(c.body + off),
                );
                self.out[content + off..content + off + n].fill(0);
            }
        }
        Ok(())
    }

    /// Keeps a handler box with an empty name.
    fn hdlr(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        let d = &self.data[c.body..c.end];
        if d.len() < 24 {
            return Err(Error::malformed(
                F,
                format!("'hdlr' box at byte {} is too short", c.start),
            ));
        }
        let name = printable(&d[24..]);
        if !name.is_empty() {
            self.found.add(
                Finding::new(Category::Software, format!("MP4 {path}/hdlr name"))
                    .value(name)
                    .at(c.body + 24),
            );
        }
        let at = self.begin(b"hdlr");
        self.out.extend_from_slice(&d[..24]);
        self.out.push(0);
        self.finish(at)
    }

    /// Sample descriptions: zero the compressor name of video entries.
    fn stsd(&mut self, c: &Bx, path: &str) -> Result<(), Error> {
        let d = &self.data[c.body..c.end];
        let count = be32(d, 4).ok_or_else(|| {
            Error::malformed(F, format!("'stsd' box at byte {} is too short", c.start))
        })?;
        let entries = children(self.data, c, 8)?;
        if entries.len() != count as usize {
            return Err(Error::malformed(
                F,
                format!(
                    "'stsd' box at byte {} declares {count} entries but holds {}",
                    c.start,
                    entries.len()
                ),
            ));
        }
        let start = self.out.len();
        self.verbatim(c);
        if &self.handler == b"vide" {
            for e in entries {
                let name_at = e.body + 42;
                if e.end < name_at + 32 {
                    continue;
                }
                let name = &self.data[name_at..name_at + 32];
                if name.iter().any(|&x| x != 0) {
                    let n = (name[0] as usize).min(31);
                    self.found.add(
                        Finding::new(
                            Category::Software,
                            format!("MP4 {path}/stsd/{} compressor name", fourcc(&e.typ)),
                        )
                        .value(printable(&name[1..1 + n]))
                        .at(name_at),
                    );
                    let o = start + (name_at - c.start);
                    self.out[o..o + 32].fill(0);
                }
            }
        }
        Ok(())
    }

    /// Copies a chunk offset table and remembers it for patching.
    fn offsets(&mut self, c: &Bx) -> Result<(), Error> {
        let d = &self.data[c.body..c.end];
        let wide = &c.typ == b"co64";
        let count = be32(d, 4).ok_or_else(|| {
            Error::malformed(
                F,
                format!("'{}' box at byte {} is too short", fourcc(&c.typ), c.start),
            )
        })? as usize;
        let w = if wide { 8 } else { 4 };
        if count.checked_mul(w).and_then(|n| n.checked_add(8)) != Some(d.len()) {
            return Err(Error::malformed(
                F,
                format!(
                    "'{}' box at byte {} declares {count} entries that do not fit its size",
                    fourcc(&c.typ),
                    c.start
                ),
            ));
        }
        let start = self.out.len();
        self.verbatim(c);
        self.tables.push(Table {
            pos: start + (c.body - c.start) + 8,
            wide,
            count,
            at: c.start,
        });
        Ok(())
    }
}

/// Box types expected at the top level of a file.
const TOP_LEVEL: &[&[u8]] = &[
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta", b"udta", b"moof",
    b"mfra", b"sidx", b"styp", b"ssix", b"emsg", b"prft", b"pnot", b"pdin", b"PICT",
];

enum Piece {
    Keep(Bx),
    Moov,
}

pub(crate) fn clean(data: &[u8], _opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    let mut c = Cleaner {
        data,
        found,
        out: Vec::new(),
        tables: Vec::new(),
        handler: *b"    ",
    };
    let mut pieces = Vec::new();
    let mut moov_seen = false;
    let mut p = 0;
    while p < data.len() {
        // Something that is not a box header is a trailer.
        let rest = &data[p..];
        // A box of a known top-level type that runs past the end is a
        // truncated file, not a trailer.
        let known = rest.len() >= 8 && TOP_LEVEL.contains(&&rest[4..8]);
        let plausible = rest.len() >= 8
            && rest[4..8]
                .iter()
                .all(|&x| (0x20..0x7f).contains(&x) || x == 0xa9)
            && matches!(be32(rest, 0), Some(s) if s == 0 || s == 1 || (s >= 8 && (known || s as usize <= rest.len())));
        if !plausible {
            if p == 0 {
                return Err(Error::malformed(F, "no box header at byte 0"));
            }
            c.found
                .add(Finding::trailer("data after the last MP4 box", data, p));
            break;
        }
        let b = read_box(data, p, data.len(), true)?;
        p = b.end;
        match &b.typ {
            b"ftyp" | b"mdat" => pieces.push(Piece::Keep(b)),
            b"moov" => {
                if moov_seen {
                    return Err(Error::malformed(
                        F,
                        format!("second 'moov' box at byte {}", b.start),
                    ));
                }
                moov_seen = true;
                c.container(&b, "", Cleaner::moov_child)?;
                pieces.push(Piece::Moov);
            }
            b"moof" | b"mfra" | b"sidx" | b"styp" | b"ssix" | b"emsg" | b"prft" => {
                return Err(Error::unsupported(
                    F,
                    format!(
                        "fragmented MP4 ('{}' box at byte {})",
                        fourcc(&b.typ),
                        b.start
                    ),
                ));
            }
            _ => report_meta(data, &b, "", 0, &[], c.found),
        }
    }
    if !moov_seen {
        return Err(Error::malformed(
            F,
            "no 'moov' box (movie header) in the file",
        ));
    }
    // Layout: where each mdat lands.
    let mut segs: Vec<(usize, usize, usize)> = Vec::new();
    let mut pos = 0usize;
    for piece in &pieces {
        match piece {
            Piece::Keep(b) => {
                if &b.typ == b"mdat" {
                    segs.push((b.start, b.end, pos));
                }
                pos += b.end - b.start;
            }
            Piece::Moov => pos += c.out.len(),
        }
    }
    let mut moov = std::mem::take(&mut c.out);
    for t in &c.tables {
        let w = if t.wide { 8 } else { 4 };
        for i in 0..t.count {
            let at = t.pos + i * w;
            let old = if t.wide {
                be64(&moov, at).unwrap_or(0)
            } else {
                be32(&moov, at).unwrap_or(0) as u64
            };
            let new = segs
                .iter()
                .find(|(s, e, _)| (*s as u64) <= old && old <= *e as u64)
                .map(|(s, _, n)| old - *s as u64 + *n as u64)
                .ok_or_else(|| {
                    Error::malformed(
                        F,
                        format!(
                            "chunk offset {old} in the table at byte {} points outside the media data",
                            t.at
                        ),
                    )
                })?;
            if t.wide {
                moov[at..at + 8].copy_from_slice(&new.to_be_bytes());
            } else {
                // Offsets only move down, so they still fit.
                let n = u32::try_from(new).unwrap_or(u32::MAX);
                moov[at..at + 4].copy_from_slice(&n.to_be_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(pos);
    for piece in pieces {
        match piece {
            Piece::Keep(b) => out.extend_from_slice(&data[b.start..b.end]),
            Piece::Moov => out.extend_from_slice(&moov),
        }
    }
    Ok(out)
}

/// `ftyp` at offset 4, or an old QuickTime file starting with a movie, media
/// data or padding box of plausible size.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    if data.len() < 8 {
        return false;
    }
    let t = &data[4..8];
    if t == b"ftyp" {
        return true;
    }
    let size = be32(data, 0).unwrap_or(0) as usize;
    matches!(t, b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot")
        && (size == 1 || (size >= 8 && size <= data.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(mp4_time(EPOCH_1904), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            mp4_time(EPOCH_1904 + 1_709_294_400),
            "2024-03-01 12:00:00 UTC"
        );
    }

    #[test]
    fn detection() {
        assert!(looks_like(b"\0\0\0\x14ftypisom\0\0\0\0isom"));
        assert!(looks_like(b"\0\0\0\x08wide\0\0\0\x08mdat"));
        assert!(!looks_like(b"\0\0\0\x08wid"));
        assert!(!looks_like(b"hello world, this is text"));
    }
}
