//! PDF: a full rewrite of the objects reachable from the document catalog.
//!
//! The file is parsed from its last `startxref`: cross-reference tables and
//! cross-reference streams (with object streams), following `/Prev` through every
//! incremental update. Only the objects reachable from the final trailer's
//! `/Root` are written, renumbered in the order a breadth-first walk from the
//! catalog meets them, with a fresh classic cross-reference table and a trailer
//! holding only `/Size` and `/Root`. So everything earlier revisions left behind
//! (old Info dictionaries, deleted pages, old XMP) is gone, and so are:
//!
//! * the Info dictionary (Author, Creator, Producer, dates, Title, ...), of
//!   every revision: reported with their values;
//! * the trailer `/ID`;
//! * `/Metadata` XMP streams, in the catalog and on any object (images, pages);
//! * `/PieceInfo` private application data and `/LastModified` dates;
//! * authors and dates of markup annotations (comments): `/T`, `/M`, `/CreationDate`;
//! * EXIF inside embedded JPEG images (`/DCTDecode` streams are cleaned by the
//!   JPEG module);
//! * bytes after the last `%%EOF`.
//!
//! Refused (unsupported): encrypted files, digitally signed files, attached
//! files, JPEG 2000 images, and stream filters we cannot decode where we need
//! to (cross-reference and object streams use FlateDecode).
//!
//! The output has no time stamp or producer string and is byte-for-byte the
//! same for the same input.

use crate::zipdoc::xml;
use crate::{Category, Error, Finding, Format, Found, Options};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;

const F: Format = Format::Pdf;
/// Deepest nesting of arrays and dictionaries accepted.
const MAX_DEPTH: usize = 64;
/// Largest decoded stream (object and cross-reference streams, XMP).
const MAX_DECODED: u64 = 256 << 20;
/// Most `/Prev` links followed.
const MAX_REVISIONS: usize = 10_000;
/// Most objects in a file.
const MAX_OBJECTS: usize = 2_000_000;

fn bad(msg: impl Into<String>) -> Error {
    Error::malformed(F, msg)
}

/// A PDF object.
#[derive(Debug, Clone, PartialEq)]
enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    /// A real number, kept as its validated token so output is exact.
    Real(String),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
    /// Dictionary and raw (still encoded) data.
    Stream(Dict, Vec<u8>),
}

/// A dictionary, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
struct Dict(Vec<(Vec<u8>, Obj)>);

impl Dict {
    fn get(&self, k: &str) -> Option<&Obj> {
        self.0
            .iter()
            .find(|(n, _)| n == k.as_bytes())
            .map(|(_, v)| v)
    }
    fn remove(&mut self, k: &str) -> Option<Obj> {
        let i = self.0.iter().position(|(n, _)| n == k.as_bytes())?;
        Some(self.0.remove(i).1)
    }
    fn set(&mut self, k: &str, v: Obj) {
        match self.0.iter_mut().find(|(n, _)| n == k.as_bytes()) {
            Some(e) => e.1 = v,
            None => self.0.push((k.as_bytes().to_vec(), v)),
        }
    }
    fn name(&self, k: &str) -> Option<&[u8]> {
        match self.get(k) {
            Some(Obj::Name(n)) => Some(n),
            _ => None,
        }
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, 0 | 9 | 10 | 12 | 13 | 32)
}
fn is_delim(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}
fn is_regular(c: u8) -> bool {
    !is_ws(c) && !is_delim(c)
}

/// A cursor for PDF syntax over untrusted bytes.
struct Lexer<'a> {
    d: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(d: &'a [u8], pos: usize) -> Self {
        Lexer { d, pos }
    }
    fn peek(&self) -> Option<u8> {
        self.d.get(self.pos).copied()
    }
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if is_ws(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }
    fn starts(&self, s: &[u8]) -> bool {
        self.d.get(self.pos..).is_some_and(|r| r.starts_with(s))
    }
    /// A keyword token (regular characters) at the current position.
    fn keyword(&mut self) -> &'a [u8] {
        let s = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        &self.d[s..self.pos]
    }
    fn expect_keyword(&mut self, kw: &str) -> Result<(), Error> {
        self.skip_ws();
        let at = self.pos;
        let k = self.keyword();
        if k != kw.as_bytes() {
            return Err(bad(format!(
                "expected '{kw}' at byte {at}, found {:?}",
                String::from_utf8_lossy(&k[..k.len().min(20)])
            )));
        }
        Ok(())
    }
    /// An unsigned integer token.
    fn uint(&mut self, what: &str) -> Result<u64, Error> {
        self.skip_ws();
        let at = self.pos;
        let k = self.keyword();
        if k.is_empty() || k.len() > 18 || !k.iter().all(u8::is_ascii_digit) {
            return Err(bad(format!("expected {what} (a number) at byte {at}")));
        }
        std::str::from_utf8(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad number at byte {at}")))
    }

    fn object(&mut self, depth: usize) -> Result<Obj, Error> {
        if depth > MAX_DEPTH {
            return Err(Error::unsupported(
                F,
                format!(
                    "objects nested more than {MAX_DEPTH} deep at byte {}",
                    self.pos
                ),
            ));
        }
        self.skip_ws();
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Err(bad(format!("object expected at byte {at}, found the end")));
        };
        match c {
            b'/' => {
                self.pos += 1;
                Ok(Obj::Name(self.name_body()?))
            }
            b'(' => Ok(Obj::Str(self.literal()?)),
            b'<' if self.starts(b"<<") => {
                self.pos += 2;
                let mut d = Dict::default();
                loop {
                    self.skip_ws();
                    if self.starts(b">>") {
                        self.pos += 2;
                        return Ok(Obj::Dict(d));
                    }
                    let kat = self.pos;
                    match self.peek() {
                        Some(b'/') => {}
                        None => return Err(bad(format!("dictionary from byte {at} not closed"))),
                        _ => return Err(bad(format!("dictionary key expected at byte {kat}"))),
                    }
                    self.pos += 1;
                    let k = self.name_body()?;
                    let v = self.object(depth + 1)?;
                    // A repeated key: the last one wins, as in most readers.
                    d.0.retain(|(n, _)| *n != k);
                    if v != Obj::Null {
                        d.0.push((k, v));
                    }
                }
            }
            b'<' => Ok(Obj::Str(self.hex()?)),
            b'[' => {
                self.pos += 1;
                let mut a = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Obj::Array(a));
                        }
                        None => return Err(bad(format!("array from byte {at} not closed"))),
                        _ => a.push(self.object(depth + 1)?),
                    }
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                let tok = self.keyword();
                let num =
                    parse_number(tok).ok_or_else(|| bad(format!("bad number at byte {at}")))?;
                if let Obj::Int(n) = num
                    && (0..=u32::MAX as i64).contains(&n)
                    && tok[0] != b'+'
                    && tok[0] != b'-'
                {
                    {
                        // Maybe "n g R".
                        let save = self.pos;
                        self.skip_ws();
                        let g = self.keyword();
                        if !g.is_empty() && g.len() <= 5 && g.iter().all(u8::is_ascii_digit) {
                            self.skip_ws();
                            if self.peek() == Some(b'R')
                                && self.d.get(self.pos + 1).is_none_or(|&c| !is_regular(c))
                            {
                                self.pos += 1;
                                let generation: u32 = std::str::from_utf8(g)
                                    .ok()
                                    .and_then(|s| s.parse().ok())
                                    .unwrap_or(u32::MAX);
                                if generation > u16::MAX as u32 {
                                    return Err(bad(format!("bad generation at byte {at}")));
                                }
                                return Ok(Obj::Ref(n as u32, generation as u16));
                            }
                        }
                        self.pos = save;
                    }
                }
                Ok(num)
            }
            _ => {
                let k = self.keyword();
                match k {
                    b"true" => Ok(Obj::Bool(true)),
                    b"false" => Ok(Obj::Bool(false)),
                    b"null" => Ok(Obj::Null),
                    _ => Err(bad(format!(
                        "unexpected {:?} at byte {at}",
                        String::from_utf8_lossy(if k.is_empty() {
                            &self.d[at..at + 1]
                        } else {
                            &k[..k.len().min(20)]
                        })
                    ))),
                }
            }
        }
    }

    fn name_body(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if !is_regular(c) {
                break;
            }
            if c == b'#' {
                let h = self
                    .d
                    .get(self.pos + 1..self.pos + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(b) if b != 0 => {
                        out.push(b);
                        self.pos += 3;
                    }
                    _ => return Err(bad(format!("bad #-escape in name at byte {}", self.pos))),
                }
            } else {
                out.push(c);
                self.pos += 1;
            }
        }
        Ok(out)
    }

    fn literal(&mut self) -> Result<Vec<u8>, Error> {
        let at = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1usize;
        loop {
            let Some(c) = self.peek() else {
                return Err(bad(format!("string from byte {at} not closed")));
            };
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                    out.push(c);
                }
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(bad(format!("string from byte {at} not closed")));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = (e - b'0') as u32;
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + (d - b'0') as u32;
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex(&mut self) -> Result<Vec<u8>, Error> {
        let at = self.pos;
        self.pos += 1;
        let mut nib = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(bad(format!("hex string from byte {at} not closed")));
            };
            self.pos += 1;
            match c {
                b'>' => break,
                c if is_ws(c) => {}
                c if c.is_ascii_hexdigit() => nib.push((c as char).to_digit(16).unwrap_or(0) as u8),
                _ => {
                    return Err(bad(format!(
                        "bad character in hex string at byte {}",
                        self.pos - 1
                    )));
                }
            }
        }
        if nib.len() % 2 == 1 {
            nib.push(0);
        }
        Ok(nib.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
    }
}

fn parse_number(tok: &[u8]) -> Option<Obj> {
    let s = std::str::from_utf8(tok).ok()?;
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || body.len() > 40 {
        return None;
    }
    let dots = body.bytes().filter(|&c| c == b'.').count();
    if dots > 1 || !body.bytes().all(|c| c.is_ascii_digit() || c == b'.') || body == "." {
        return None;
    }
    if dots == 0 {
        s.parse::<i64>().ok().map(Obj::Int)
    } else {
        Some(Obj::Real(s.to_string()))
    }
}

/// Where an object lives, from the cross-reference data.
#[derive(Debug, Clone, Copy, PartialEq)]
enum XEntry {
    Free,
    At(usize, u16),
    InStream(u32, u32),
}

/// Decodes a stream's data (FlateDecode with PNG predictors, or none).
fn decode(dict: &Dict, raw: &[u8], what: &str) -> Result<Vec<u8>, Error> {
    let filters: Vec<Vec<u8>> = match dict.get("Filter") {
        None => vec![],
        Some(Obj::Name(n)) => vec![n.clone()],
        Some(Obj::Array(a)) => a
            .iter()
            .map(|o| match o {
                Obj::Name(n) => Ok(n.clone()),
                _ => Err(bad(format!("{what}: bad /Filter"))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad(format!("{what}: bad /Filter"))),
    };
    let parms = match dict.get("DecodeParms") {
        Some(Obj::Dict(d)) => Some(d.clone()),
        Some(Obj::Array(a)) => match a.first() {
            Some(Obj::Dict(d)) => Some(d.clone()),
            _ => None,
        },
        _ => None,
    };
    let mut data = raw.to_vec();
    for (i, f) in filters.iter().enumerate() {
        if f != b"FlateDecode" && f != b"Fl" {
            return Err(Error::unsupported(
                F,
                format!(
                    "{what}: filter /{} is not supported",
                    String::from_utf8_lossy(f)
                ),
            ));
        }
        let mut out = Vec::new();
        let mut z = flate2::read::ZlibDecoder::new(&data[..]).take(MAX_DECODED + 1);
        z.read_to_end(&mut out)
            .map_err(|e| bad(format!("{what}: corrupt FlateDecode data ({e})")))?;
        if out.len() as u64 > MAX_DECODED {
            return Err(Error::unsupported(
                F,
                format!("{what}: decodes to more than {MAX_DECODED} bytes"),
            ));
        }
        if i == 0
            && let Some(p) = &parms
        {
            out = unpredict(p, out, what)?;
        }
        data = out;
    }
    Ok(data)
}

fn int_of(o: Option<&Obj>, default: i64) -> i64 {
    match o {
        Some(Obj::Int(n)) => *n,
        _ => default,
    }
}

/// Undoes PNG predictors (10..15) on decoded data.
fn unpredict(p: &Dict, data: Vec<u8>, what: &str) -> Result<Vec<u8>, Error> {
    let pred = int_of(p.get("Predictor"), 1);
    if pred == 1 {
        return Ok(data);
    }
    if !(10..=15).contains(&pred) {
        return Err(Error::unsupported(
            F,
            format!("{what}: predictor {pred} is not supported"),
        ));
    }
    let colors = int_of(p.get("Colors"), 1);
    let bpc = int_of(p.get("BitsPerComponent"), 8);
    let cols = int_of(p.get("Columns"), 1);
    if !(1..=32).contains(&colors)
        || ![1, 2, 4, 8, 16].contains(&bpc)
        || !(1..=1 << 20).contains(&cols)
    {
        return Err(bad(format!("{what}: bad predictor parameters")));
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row = ((cols * colors * bpc + 7) / 8) as usize;
    if data.is_empty() {
        return Ok(data);
    }
    if row + 1 > data.len() {
        return Err(bad(format!("{what}: predictor rows longer than the data")));
    }
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        if chunk.len() != row + 1 {
            return Err(bad(format!("{what}: predicted data is not whole rows")));
        }
        let ft = chunk[0];
        let mut cur = chunk[1..].to_vec();
        for i in 0..row {
            let a = if i >= bpp { cur[i - bpp] as i32 } else { 0 };
            let b = prev[i] as i32;
            let c = if i >= bpp { prev[i - bpp] as i32 } else { 0 };
            let add = match ft {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => return Err(bad(format!("{what}: bad PNG row filter {ft}"))),
            };
            cur[i] = cur[i].wrapping_add(add as u8);
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

/// A decoded object stream: (object number, offset) pairs and the data.
type ObjStm = (Vec<(u32, usize)>, Vec<u8>);

/// The parsed file: cross-reference data and an object cache.
struct Doc<'a> {
    d: &'a [u8],
    xref: BTreeMap<u32, XEntry>,
    /// Trailer dictionaries, newest first, with their offsets.
    trailers: Vec<(Dict, usize)>,
    /// The entries each section itself gives (same order as `trailers`).
    sections: Vec<BTreeMap<u32, XEntry>>,
    /// Entries of the section being read.
    current: BTreeMap<u32, XEntry>,
    cache: HashMap<u32, Obj>,
    objstm: HashMap<u32, ObjStm>,
    loading: HashSet<u32>,
}

impl<'a> Doc<'a> {
    fn open(d: &'a [u8], startxref: usize) -> Result<Self, Error> {
        let mut doc = Doc {
            d,
            xref: BTreeMap::new(),
            trailers: Vec::new(),
            sections: Vec::new(),
            current: BTreeMap::new(),
            cache: HashMap::new(),
            objstm: HashMap::new(),
            loading: HashSet::new(),
        };
        let mut next = Some(startxref);
        let mut seen = HashSet::new();
        while let Some(off) = next {
            if !seen.insert(off) || seen.len() > MAX_REVISIONS {
                return Err(bad(format!("cross-reference chain loops at byte {off}")));
            }
            let trailer = doc.read_section(off)?;
            if let Some(Obj::Int(x)) = trailer.get("XRefStm") {
                let x = usize::try_from(*x).map_err(|_| bad("bad /XRefStm offset"))?;
                if seen.insert(x) {
                    doc.read_section(x)?;
                }
            }
            next = match trailer.get("Prev") {
                None => None,
                Some(Obj::Int(p)) if *p >= 0 => Some(*p as usize),
                Some(_) => return Err(bad(format!("bad /Prev in trailer at byte {off}"))),
            };
            doc.trailers.push((trailer, off));
            doc.sections.push(std::mem::take(&mut doc.current));
        }
        Ok(doc)
    }

    fn add_entry(&mut self, num: u32, e: XEntry) -> Result<(), Error> {
        if self.xref.len() >= MAX_OBJECTS {
            return Err(Error::unsupported(
                F,
                format!("more than {MAX_OBJECTS} objects"),
            ));
        }
        // Newer sections are read first and win.
        self.xref.entry(num).or_insert(e);
        self.current.entry(num).or_insert(e);
        Ok(())
    }

    /// Reads one cross-reference section (table or stream); returns its trailer.
    fn read_section(&mut self, off: usize) -> Result<Dict, Error> {
        if off >= self.d.len() {
            return Err(bad(format!(
                "cross-reference offset {off} is past the end ({} bytes)",
                self.d.len()
            )));
        }
        let mut lx = Lexer::new(self.d, off);
        if lx.starts(b"xref") {
            lx.pos += 4;
            loop {
                lx.skip_ws();
                if lx.starts(b"trailer") {
                    lx.pos += 7;
                    let at = lx.pos;
                    return match lx.object(0)? {
                        Obj::Dict(d) => Ok(d),
                        _ => Err(bad(format!("trailer at byte {at} is not a dictionary"))),
                    };
                }
                let start = lx.uint("subsection start")?;
                let count = lx.uint("subsection count")?;
                if start + count > u32::MAX as u64 || count > MAX_OBJECTS as u64 {
                    return Err(bad(format!(
                        "bad cross-reference subsection at byte {}",
                        lx.pos
                    )));
                }
                for i in 0..count {
                    let o = lx.uint("cross-reference offset")?;
                    let g = lx.uint("cross-reference generation")?;
                    lx.skip_ws();
                    let at = lx.pos;
                    let kind = lx.keyword();
                    let num = (start + i) as u32;
                    let e = match kind {
                        b"n" if g <= u16::MAX as u64 => XEntry::At(o as usize, g as u16),
                        b"f" => XEntry::Free,
                        _ => return Err(bad(format!("bad cross-reference entry at byte {at}"))),
                    };
                    // Object 0 is always free.
                    if num != 0 {
                        self.add_entry(num, e)?;
                    }
                }
            }
        }
        // A cross-reference stream: "n g obj << /Type /XRef ... >> stream".
        let (_, obj) = self.parse_indirect(off, None)?;
        let Obj::Stream(dict, raw) = obj else {
            return Err(bad(format!(
                "no cross-reference table or stream at byte {off}"
            )));
        };
        if dict.name("Type") != Some(b"XRef") {
            return Err(bad(format!(
                "object at byte {off} is not a cross-reference stream"
            )));
        }
        let data = decode(
            &dict,
            &raw,
            &format!("cross-reference stream at byte {off}"),
        )?;
        let w: Vec<usize> = match dict.get("W") {
            Some(Obj::Array(a)) if a.len() == 3 => a
                .iter()
                .map(|o| match o {
                    Obj::Int(n) if (0..=8).contains(n) => Ok(*n as usize),
                    _ => Err(bad(format!(
                        "bad /W in cross-reference stream at byte {off}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(bad(format!(
                    "missing /W in cross-reference stream at byte {off}"
                )));
            }
        };
        let size = int_of(dict.get("Size"), -1);
        if size < 0 {
            return Err(bad(format!(
                "missing /Size in cross-reference stream at byte {off}"
            )));
        }
        let index: Vec<(u64, u64)> = match dict.get("Index") {
            None => vec![(0, size as u64)],
            Some(Obj::Array(a)) if a.len() % 2 == 0 => a
                .chunks(2)
                .map(|p| match (&p[0], &p[1]) {
                    (Obj::Int(s), Obj::Int(c)) if *s >= 0 && *c >= 0 => Ok((*s as u64, *c as u64)),
                    _ => Err(bad(format!(
                        "bad /Index in cross-reference stream at byte {off}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(bad(format!(
                    "bad /Index in cross-reference stream at byte {off}"
                )));
            }
        };
        let rec = w[0] + w[1] + w[2];
        if rec == 0 {
            return Err(bad(format!(
                "empty /W in cross-reference stream at byte {off}"
            )));
        }
        let field = |b: &[u8]| b.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
        let mut p = 0usize;
        for (start, count) in index {
            if start + count > u32::MAX as u64 || count > MAX_OBJECTS as u64 {
                return Err(bad(format!(
                    "bad /Index in cross-reference stream at byte {off}"
                )));
            }
            for i in 0..count {
                let Some(r) = data.get(p..p + rec) else {
                    return Err(bad(format!(
                        "cross-reference stream at byte {off} is shorter than its /Index says"
                    )));
                };
                p += rec;
                let t = if w[0] == 0 { 1 } else { field(&r[..w[0]]) };
                let a = field(&r[w[0]..w[0] + w[1]]);
                let b = field(&r[w[0] + w[1]..]);
                let num = (start + i) as u32;
                let e = match t {
                    0 => XEntry::Free,
                    1 => XEntry::At(a as usize, b.min(u16::MAX as u64) as u16),
                    2 => XEntry::InStream(
                        u32::try_from(a).map_err(|_| bad("bad object stream number"))?,
                        u32::try_from(b).map_err(|_| bad("bad object stream index"))?,
                    ),
                    // Unknown types are to be treated as null references.
                    _ => XEntry::Free,
                };
                if num != 0 {
                    self.add_entry(num, e)?;
                }
            }
        }
        Ok(dict)
    }

    /// Parses "n g obj ... endobj" at `off`; `expect` checks the number.
    fn parse_indirect(
        &mut self,
        off: usize,
        expect: Option<(u32, u16)>,
    ) -> Result<(u32, Obj), Error> {
        if off >= self.d.len() {
            return Err(bad(format!("object offset {off} is past the end")));
        }
        let mut lx = Lexer::new(self.d, off);
        let n = lx.uint("object number")?;
        let g = lx.uint("generation")?;
        lx.expect_keyword("obj")?;
        if let Some((en, eg)) = expect
            && (n != en as u64 || g != eg as u64)
        {
            return Err(bad(format!(
                "cross-reference says object {en} {eg} is at byte {off}, but {n} {g} is there"
            )));
        }
        let num = u32::try_from(n).map_err(|_| bad(format!("bad object number at byte {off}")))?;
        let obj = lx.object(0)?;
        lx.skip_ws();
        if lx.starts(b"stream") {
            let Obj::Dict(dict) = obj else {
                return Err(bad(format!("stream without dictionary at byte {}", lx.pos)));
            };
            lx.pos += 6;
            if lx.starts(b"\r\n") {
                lx.pos += 2;
            } else if lx.starts(b"\n") || lx.starts(b"\r") {
                lx.pos += 1;
            } else {
                return Err(bad(format!(
                    "no end of line after 'stream' at byte {}",
                    lx.pos
                )));
            }
            let start = lx.pos;
            let len = match dict.get("Length") {
                Some(Obj::Int(l)) if *l >= 0 => *l as usize,
                Some(Obj::Ref(rn, rg)) => {
                    if *rn == num {
                        return Err(bad(format!("stream length at byte {off} refers to itself")));
                    }
                    match self.get(*rn, *rg)? {
                        Obj::Int(l) if l >= 0 => l as usize,
                        _ => {
                            return Err(bad(format!(
                                "bad stream /Length for object at byte {off}"
                            )));
                        }
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "missing or bad stream /Length for object at byte {off}"
                    )));
                }
            };
            let end = start
                .checked_add(len)
                .filter(|&e| e <= self.d.len())
                .ok_or_else(|| {
                    bad(format!(
                        "stream at byte {start} of {len} bytes runs past the end"
                    ))
                })?;
            let raw = self.d[start..end].to_vec();
            lx.pos = end;
            lx.skip_ws();
            if !lx.starts(b"endstream") {
                return Err(bad(format!(
                    "stream at byte {start} does not end with 'endstream' after its /Length ({len})"
                )));
            }
            lx.pos += 9;
            lx.expect_keyword("endobj")?;
            return Ok((num, Obj::Stream(dict, raw)));
        }
        lx.expect_keyword("endobj")?;
        Ok((num, obj))
    }

    /// Loads object `num` (generation `generation`); free or missing objects are null.
    fn get(&mut self, num: u32, generation: u16) -> Result<Obj, Error> {
        if let Some(o) = self.cache.get(&num) {
            return Ok(o.clone());
        }
        if !self.loading.insert(num) {
            return Err(bad(format!("object {num} refers to itself while loading")));
        }
        let r = self.load(num, generation);
        self.loading.remove(&num);
        let o = r?;
        self.cache.insert(num, o.clone());
        Ok(o)
    }

    fn load(&mut self, num: u32, generation: u16) -> Result<Obj, Error> {
        let e = self.xref.get(&num).copied();
        self.load_from(num, generation, e)
    }

    /// Loads object `num` from the given cross-reference entry (not cached).
    fn load_from(
        &mut self,
        num: u32,
        generation: u16,
        entry: Option<XEntry>,
    ) -> Result<Obj, Error> {
        match entry {
            None | Some(XEntry::Free) => Ok(Obj::Null),
            Some(XEntry::At(off, g)) => {
                if g != generation {
                    return Ok(Obj::Null);
                }
                Ok(self.parse_indirect(off, Some((num, g)))?.1)
            }
            Some(XEntry::InStream(sn, idx)) => {
                if generation != 0 {
                    return Ok(Obj::Null);
                }
                if !self.objstm.contains_key(&sn) {
                    if self.loading.contains(&sn) {
                        return Err(bad(format!("object stream {sn} contains itself")));
                    }
                    self.loading.insert(sn);
                    let s = match self.xref.get(&sn).copied() {
                        Some(XEntry::At(off, g)) => self.parse_indirect(off, Some((sn, g))),
                        _ => Err(bad(format!("object stream {sn} is not a plain object"))),
                    };
                    self.loading.remove(&sn);
                    let Obj::Stream(dict, raw) = s?.1 else {
                        return Err(bad(format!("object stream {sn} is not a stream")));
                    };
                    if dict.name("Type") != Some(b"ObjStm") {
                        return Err(bad(format!("object {sn} is not an object stream")));
                    }
                    let n = int_of(dict.get("N"), -1);
                    let first = int_of(dict.get("First"), -1);
                    if n < 0 || first < 0 || n > MAX_OBJECTS as i64 {
                        return Err(bad(format!("object stream {sn}: bad /N or /First")));
                    }
                    let data = decode(&dict, &raw, &format!("object stream {sn}"))?;
                    let mut lx = Lexer::new(&data, 0);
                    let mut index = Vec::new();
                    for _ in 0..n {
                        let on = lx.uint("object number in object stream")?;
                        let oo = lx.uint("object offset in object stream")?;
                        let pos = (first as u64).saturating_add(oo);
                        if pos >= data.len() as u64 || on > u32::MAX as u64 {
                            return Err(bad(format!(
                                "object stream {sn}: offset {oo} past its end"
                            )));
                        }
                        index.push((on as u32, pos as usize));
                    }
                    self.objstm.insert(sn, (index, data));
                }
                let Some((index, data)) = self.objstm.get(&sn) else {
                    return Ok(Obj::Null);
                };
                let Some(&(on, pos)) = index.get(idx as usize) else {
                    return Err(bad(format!(
                        "object stream {sn} has no object at index {idx}"
                    )));
                };
                if on != num {
                    return Err(bad(format!(
                        "object stream {sn} holds object {on} at index {idx}, expected {num}"
                    )));
                }
                let mut lx = Lexer::new(data, pos);
                let o = lx.object(0).map_err(|e| match e {
                    Error::Malformed { reason, .. } => {
                        bad(format!("in object stream {sn}: {reason}"))
                    }
                    other => other,
                })?;
                if matches!(o, Obj::Stream(..)) {
                    return Err(bad(format!("stream inside object stream {sn}")));
                }
                Ok(o)
            }
        }
    }

    /// Resolves a reference (one level) for reading values.
    fn resolve(&mut self, o: &Obj) -> Result<Obj, Error> {
        match o {
            Obj::Ref(n, g) => self.get(*n, *g),
            other => Ok(other.clone()),
        }
    }

    fn offset_of(&self, num: u32) -> Option<usize> {
        match self.xref.get(&num) {
            Some(XEntry::At(o, _)) => Some(*o),
            _ => None,
        }
    }
}

/// A PDF text string as Rust text (UTF-16BE with BOM, UTF-8 with BOM, or
/// PDFDocEncoding read as Latin-1).
fn text_of(b: &[u8]) -> String {
    if b.starts_with(&[0xfe, 0xff]) {
        let u: Vec<u16> = b[2..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&u)
    } else if b.starts_with(&[0xef, 0xbb, 0xbf]) {
        String::from_utf8_lossy(&b[3..]).into_owned()
    } else {
        b.iter().map(|&c| c as char).collect()
    }
    .chars()
    .filter(|c| !c.is_control())
    .collect()
}

fn describe(o: &Obj) -> String {
    match o {
        Obj::Str(s) => text_of(s),
        Obj::Name(n) => format!("/{}", String::from_utf8_lossy(n)),
        Obj::Int(i) => i.to_string(),
        Obj::Real(r) => r.clone(),
        Obj::Bool(b) => b.to_string(),
        Obj::Ref(n, g) => format!("{n} {g} R"),
        Obj::Array(a) => a.iter().map(describe).collect::<Vec<_>>().join(" "),
        Obj::Dict(d) | Obj::Stream(d, _) => {
            d.0.iter()
                .map(|(k, _)| format!("/{}", String::from_utf8_lossy(k)))
                .collect::<Vec<_>>()
                .join(" ")
        }
        Obj::Null => "null".into(),
    }
}

fn info_category(key: &[u8]) -> Category {
    match key {
        b"Author" => Category::Person,
        b"Creator" | b"Producer" => Category::Software,
        b"CreationDate" | b"ModDate" => Category::Time,
        b"Title" | b"Subject" | b"Keywords" => Category::Text,
        _ => Category::Other,
    }
}

fn xmp_category(local: &str) -> Category {
    match local {
        "creator" | "Author" | "Owner" | "Artist" | "rights" | "CaptionWriter" => Category::Person,
        "CreatorTool" | "Producer" | "xmptk" | "softwareAgent" => Category::Software,
        "CreateDate" | "ModifyDate" | "MetadataDate" | "when" | "date" => Category::Time,
        "DocumentID" | "InstanceID" | "OriginalDocumentID" | "instanceID" => Category::DeviceId,
        "title" | "description" | "subject" | "Keywords" => Category::Text,
        _ => Category::Other,
    }
}

/// Reports the values of an XMP packet.
fn report_xmp(doc: &Doc, stream: &Obj, at: Option<usize>, label: &str, found: &mut Found) {
    let add = |found: &mut Found, cat, field: String, value: String| {
        let mut f = Finding::new(cat, field).value(value);
        if let Some(a) = at {
            f = f.at(a);
        }
        found.add(f);
    };
    let Obj::Stream(dict, raw) = stream else {
        add(
            found,
            Category::Other,
            format!("PDF {label}"),
            describe(stream),
        );
        return;
    };
    let _ = doc;
    let data = match decode(dict, raw, "XMP") {
        Ok(d) => d,
        Err(_) => {
            add(
                found,
                Category::Other,
                format!("PDF {label}"),
                format!("{} bytes (encoded)", raw.len()),
            );
            return;
        }
    };
    // Skip anything before the first '<' (a BOM) for the XML parser.
    let start = data.iter().position(|&c| c == b'<').unwrap_or(0);
    let Ok((s, toks)) = xml::parse(&data[start..]) else {
        add(
            found,
            Category::Other,
            format!("PDF {label}"),
            format!("{} bytes (not parsed)", data.len()),
        );
        return;
    };
    let mut stack: Vec<&str> = Vec::new();
    let mut n = 0usize;
    for t in &toks {
        match t {
            xml::Tok::Start {
                qname,
                attrs,
                empty,
                ..
            } => {
                for a in attrs {
                    let q = a.qname;
                    if q.starts_with("xmlns") || q.starts_with("rdf:") || q.starts_with("xml:") {
                        continue;
                    }
                    let v = a.value();
                    if !v.trim().is_empty() {
                        let local = q.rsplit(':').next().unwrap_or(q);
                        add(found, xmp_category(local), format!("PDF {label} {q}"), v);
                        n += 1;
                    }
                }
                if !*empty {
                    stack.push(qname);
                }
            }
            xml::Tok::End { .. } => {
                stack.pop();
            }
            xml::Tok::Text(r) | xml::Tok::CData(r) => {
                let v = xml::unescape(&s[r.clone()]);
                if v.trim().is_empty() {
                    continue;
                }
                let field = stack
                    .iter()
                    .rev()
                    .find(|q| !q.starts_with("rdf:"))
                    .copied()
                    .unwrap_or("?");
                let local = field.rsplit(':').next().unwrap_or(field);
                add(
                    found,
                    xmp_category(local),
                    format!("PDF {label} {field}"),
                    v.trim().to_string(),
                );
                n += 1;
            }
            _ => {}
        }
    }
    if n == 0 {
        add(
            found,
            Category::Other,
            format!("PDF {label}"),
            format!("{} bytes", data.len()),
        );
    }
}

const MARKUP_ANNOTS: &[&[u8]] = &[
    b"Text",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Stamp",
    b"Caret",
    b"Ink",
    b"FileAttachment",
    b"Sound",
    b"Redact",
    b"Popup",
];

/// Cleans one dictionary in place; reports what is removed.
fn clean_dict(
    d: &mut Dict,
    num: u32,
    at: Option<usize>,
    doc: &mut Doc,
    found: &mut Found,
) -> Result<(), Error> {
    let fnd = |cat, field: String, value: String| {
        let mut f = Finding::new(cat, field).value(value);
        if let Some(a) = at {
            f = f.at(a);
        }
        f
    };
    if d.name("Type") == Some(b"Sig") || d.name("FT") == Some(b"Sig") && d.get("V").is_some() {
        return Err(Error::unsupported(
            F,
            format!("the PDF is digitally signed (object {num}); the signature names the signer"),
        ));
    }
    if d.name("Type") == Some(b"EmbeddedFile")
        || d.get("EF").is_some()
        || d.get("EmbeddedFiles").is_some()
    {
        return Err(Error::unsupported(
            F,
            format!("the PDF has attached files (object {num}), which baram cannot clean"),
        ));
    }
    if d.name("Filter") == Some(b"JPXDecode")
        || matches!(d.get("Filter"), Some(Obj::Array(a)) if a.contains(&Obj::Name(b"JPXDecode".to_vec())))
    {
        return Err(Error::unsupported(
            F,
            format!("JPEG 2000 image (object {num}) cannot be cleaned"),
        ));
    }
    if let Some(m) = d.remove("Metadata") {
        let (obj, oat) = match &m {
            Obj::Ref(n, g) => (doc.get(*n, *g)?, doc.offset_of(*n).or(at)),
            o => (o.clone(), at),
        };
        let label = if d.name("Type") == Some(b"Catalog") {
            "XMP".to_string()
        } else {
            format!("XMP of object {num}")
        };
        report_xmp(doc, &obj, oat, &label, found);
    }
    if let Some(p) = d.remove("PieceInfo") {
        let p = doc.resolve(&p)?;
        found.add(fnd(
            Category::Other,
            "PDF PieceInfo (application private data)".into(),
            describe(&p),
        ));
    }
    if let Some(t) = d.remove("LastModified") {
        found.add(fnd(
            Category::Time,
            "PDF LastModified".into(),
            describe(&doc.resolve(&t)?),
        ));
    }
    let markup = d
        .name("Subtype")
        .is_some_and(|s| MARKUP_ANNOTS.contains(&s));
    if markup && d.get("FT").is_none() {
        for (k, cat) in [
            ("T", Category::Person),
            ("M", Category::Time),
            ("CreationDate", Category::Time),
        ] {
            if let Some(v) = d.remove(k) {
                let v = doc.resolve(&v)?;
                found.add(fnd(cat, format!("PDF annotation /{k}"), describe(&v)));
            }
        }
    }
    Ok(())
}

/// Collects references in an object, in order.
fn refs_in(o: &Obj, out: &mut Vec<(u32, u16)>) {
    match o {
        Obj::Ref(n, g) => out.push((*n, *g)),
        Obj::Array(a) => a.iter().for_each(|x| refs_in(x, out)),
        Obj::Dict(d) | Obj::Stream(d, _) => d.0.iter().for_each(|(_, v)| refs_in(v, out)),
        _ => {}
    }
}

/// Writes an object with references renumbered.
fn write_obj(o: &Obj, map: &HashMap<u32, u32>, out: &mut Vec<u8>) {
    match o {
        Obj::Null => out.extend_from_slice(b"null"),
        Obj::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Obj::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Obj::Real(r) => out.extend_from_slice(r.as_bytes()),
        Obj::Str(s) => {
            out.push(b'(');
            for &c in s {
                match c {
                    b'(' | b')' | b'\\' => {
                        out.push(b'\\');
                        out.push(c);
                    }
                    0x20..=0x7e => out.push(c),
                    _ => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
                }
            }
            out.push(b')');
        }
        Obj::Name(n) => write_name(n, out),
        Obj::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_obj(x, map, out);
            }
            out.push(b']');
        }
        Obj::Dict(d) => write_dict(d, map, out),
        Obj::Ref(n, _) => match map.get(n) {
            Some(m) => out.extend_from_slice(format!("{m} 0 R").as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        Obj::Stream(d, data) => {
            let mut d = d.clone();
            d.set("Length", Obj::Int(data.len() as i64));
            write_dict(&d, map, out);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\nendstream");
        }
    }
}

fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &c in n {
        if (0x21..=0x7e).contains(&c) && !is_delim(c) && c != b'#' {
            out.push(c);
        } else {
            out.extend_from_slice(format!("#{c:02X}").as_bytes());
        }
    }
}

fn write_dict(d: &Dict, map: &HashMap<u32, u32>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        // A reference to an object that is not written would be null, and a
        // null value is the same as no entry: leave it out (so a second
        // cleaning reads exactly what was written).
        if matches!(v, Obj::Ref(n, _) if !map.contains_key(n)) {
            continue;
        }
        write_name(k, out);
        out.push(b' ');
        write_obj(v, map, out);
    }
    out.extend_from_slice(b">>");
}

fn rfind(h: &[u8], n: &[u8]) -> Option<usize> {
    if h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| &h[i..i + n.len()] == n)
}

/// Cleans a DCTDecode (JPEG) image stream with the JPEG module.
fn clean_jpeg(
    num: u32,
    data: &[u8],
    opts: &Options,
    at: Option<usize>,
    found: &mut Found,
) -> Result<Vec<u8>, Error> {
    let c = crate::clean_as(Format::Jpeg, data, opts).map_err(|e| {
        Error::unsupported(
            F,
            format!("JPEG image in object {num} cannot be cleaned: {e}"),
        )
    })?;
    for mut f in c.report.findings {
        f.field = format!("JPEG image (object {num}): {}", f.field);
        if f.offset.is_none() {
            f.offset = at.map(|a| a as u64);
        }
        found.add(f);
    }
    if found.redstar.is_none() {
        found.redstar = c.report.redstar;
    }
    Ok(c.data)
}

pub(crate) fn clean(data: &[u8], opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    // Header.
    let version = data
        .get(5..8)
        .filter(|v| v[0].is_ascii_digit() && v[1] == b'.' && v[2].is_ascii_digit())
        .ok_or_else(|| bad("no %PDF-x.y header at byte 0"))?;
    let version = String::from_utf8_lossy(version).into_owned();
    // Logical end: the last %%EOF.
    let eof = rfind(data, b"%%EOF").ok_or_else(|| {
        bad(format!(
            "no %%EOF marker (file truncated at byte {}?)",
            data.len()
        ))
    })?;
    let mut end = eof + 5;
    while end < data.len() && matches!(data[end], b'\r' | b'\n' | b' ' | b'\t' | 0) {
        end += 1;
    }
    if end < data.len() {
        let extra = &data[eof + 5..];
        // An unfinished incremental update: cleaning the earlier revision would
        // silently give the reader other content than the file shows.
        if [&b" obj"[..], b"xref", b"trailer", b"startxref"]
            .iter()
            .any(|k| extra.windows(k.len()).any(|w| w == *k))
        {
            return Err(bad(format!(
                "an incremental update after byte {} is incomplete (file truncated?)",
                eof + 5
            )));
        }
        found.add(
            Finding::new(Category::Trailer, "data after the PDF end (%%EOF)")
                .value(format!(
                    "{} bytes: {}",
                    extra.len(),
                    crate::bytes::printable(&extra[..extra.len().min(100)])
                ))
                .at(eof + 5),
        );
    }
    let body = &data[..eof + 5];
    let sx = rfind(body, b"startxref")
        .ok_or_else(|| bad(format!("no startxref before %%EOF at byte {eof}")))?;
    let mut lx = Lexer::new(body, sx + 9);
    let xoff = lx.uint("startxref offset")? as usize;
    let mut doc = Doc::open(body, xoff)?;

    let (trailer, trailer_at) = doc
        .trailers
        .first()
        .cloned()
        .ok_or_else(|| bad("no trailer"))?;
    if trailer.get("Encrypt").is_some() {
        return Err(Error::unsupported(F, "the PDF is encrypted"));
    }
    let Some(Obj::Ref(root_n, root_g)) = trailer.get("Root").cloned() else {
        return Err(bad(format!(
            "trailer at byte {trailer_at} has no /Root reference"
        )));
    };

    // Info dictionaries of every revision (an update may rewrite the same
    // object number, so older versions are read from their own sections).
    let mut info_nums: Vec<u32> = Vec::new();
    let mut info_seen: Vec<(u32, Option<XEntry>)> = Vec::new();
    let trailers = doc.trailers.clone();
    for (i, (t, tat)) in trailers.iter().enumerate() {
        let suffix = if i == 0 { "" } else { " (earlier revision)" };
        if let Some(info) = t.get("Info") {
            let (obj, at) = match info {
                Obj::Ref(n, g) => {
                    if !info_nums.contains(n) {
                        info_nums.push(*n);
                    }
                    let entry = doc.sections[i..].iter().find_map(|s| s.get(n).copied());
                    let at = match entry {
                        Some(XEntry::At(o, _)) => o,
                        _ => doc.offset_of(*n).unwrap_or(*tat),
                    };
                    if info_seen.contains(&(*n, entry)) {
                        (Obj::Null, 0)
                    } else {
                        info_seen.push((*n, entry));
                        if entry.is_some() && entry != doc.xref.get(n).copied() {
                            (doc.load_from(*n, *g, entry)?, at)
                        } else {
                            (doc.get(*n, *g)?, at)
                        }
                    }
                }
                o => (o.clone(), *tat),
            };
            match obj {
                Obj::Dict(d) => {
                    for (k, v) in &d.0 {
                        let v = doc.resolve(v)?;
                        found.add(
                            Finding::new(
                                info_category(k),
                                format!("PDF Info {}{suffix}", String::from_utf8_lossy(k)),
                            )
                            .value(describe(&v))
                            .at(at),
                        );
                    }
                }
                Obj::Null => {}
                other => found.add(
                    Finding::new(Category::Other, format!("PDF Info{suffix}"))
                        .value(describe(&other))
                        .at(at),
                ),
            }
        }
        if let Some(id) = t.get("ID")
            && (i == 0 || trailers[..i].iter().all(|(p, _)| p.get("ID") != Some(id)))
        {
            {
                let v = match id {
                    Obj::Array(a) => a
                        .iter()
                        .map(|x| match x {
                            Obj::Str(s) => s.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                            o => describe(o),
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    o => describe(o),
                };
                found.add(
                    Finding::new(Category::DeviceId, format!("PDF trailer ID{suffix}"))
                        .value(v)
                        .at(*tat),
                );
            }
        }
    }

    // Walk from the catalog, cleaning each object as it is met.
    let mut order: Vec<u32> = Vec::new();
    let mut map: HashMap<u32, u32> = HashMap::new();
    let mut objs: HashMap<u32, Obj> = HashMap::new();
    let mut queue: VecDeque<(u32, u16)> = VecDeque::from([(root_n, root_g)]);
    while let Some((n, g)) = queue.pop_front() {
        if map.contains_key(&n) || info_nums.contains(&n) {
            continue;
        }
        let mut o = doc.get(n, g)?;
        if o == Obj::Null {
            continue;
        }
        if order.len() >= MAX_OBJECTS {
            return Err(Error::unsupported(F, "too many objects"));
        }
        let at = doc.offset_of(n);
        if n == root_n
            && !matches!(&o, Obj::Dict(d) if d.name("Type").is_none_or(|t| t == b"Catalog"))
        {
            return Err(bad(format!("/Root object {n} is not a catalog dictionary")));
        }
        clean_tree(&mut o, n, at, &mut doc, opts, found, 0)?;
        if let Obj::Stream(d, raw) = &mut o {
            let dct = match d.get("Filter") {
                Some(Obj::Name(f)) => f == b"DCTDecode" || f == b"DCT",
                Some(Obj::Array(a)) => {
                    a.len() == 1
                        && matches!(&a[0], Obj::Name(f) if f == b"DCTDecode" || f == b"DCT")
                }
                _ => false,
            };
            if dct {
                *raw = clean_jpeg(n, raw, opts, at, found)?;
            }
            d.set("Length", Obj::Int(raw.len() as i64));
        }
        map.insert(n, order.len() as u32 + 1);
        order.push(n);
        let mut refs = Vec::new();
        refs_in(&o, &mut refs);
        objs.insert(n, o);
        for r in refs {
            if !map.contains_key(&r.0) {
                queue.push_back(r);
            }
        }
    }
    // Objects not reached (earlier revisions, deleted pages, the old Info and
    // XMP) are simply not written.
    // Write.
    let mut out = Vec::new();
    out.extend_from_slice(format!("%PDF-{version}\n").as_bytes());
    out.extend_from_slice(b"%\xe2\xe3\xcf\xd3\n");
    let mut offsets = Vec::with_capacity(order.len());
    for (i, n) in order.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        if let Some(o) = objs.get(n) {
            write_obj(o, &map, &mut out);
        }
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", order.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref_at}\n%%EOF\n",
            order.len() + 1
        )
        .as_bytes(),
    );
    Ok(out)
}

/// Cleans every dictionary inside an object (direct objects included).
fn clean_tree(
    o: &mut Obj,
    num: u32,
    at: Option<usize>,
    doc: &mut Doc,
    opts: &Options,
    found: &mut Found,
    depth: usize,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let _ = opts;
    match o {
        Obj::Dict(d) | Obj::Stream(d, _) => {
            clean_dict(d, num, at, doc, found)?;
            for (_, v) in d.0.iter_mut() {
                clean_tree(v, num, at, doc, opts, found, depth + 1)?;
            }
        }
        Obj::Array(a) => {
            for v in a.iter_mut() {
                clean_tree(v, num, at, doc, opts, found, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Obj, Error> {
        Lexer::new(s.as_bytes(), 0).object(0)
    }

    #[test]
    fn lexer_objects() {
        assert_eq!(parse("12 0 R").unwrap(), Obj::Ref(12, 0));
        assert_eq!(parse("12 0 obj").unwrap(), Obj::Int(12));
        assert_eq!(parse("-1.50").unwrap(), Obj::Real("-1.50".into()));
        assert_eq!(
            parse("(a\\(b\\)\\101\\\nc)").unwrap(),
            Obj::Str(b"a(b)Ac".to_vec())
        );
        assert_eq!(parse("<41 42 4>").unwrap(), Obj::Str(b"AB@".to_vec()));
        assert_eq!(parse("/A#20B").unwrap(), Obj::Name(b"A B".to_vec()));
        let d = parse("<</A [1 2 R /x (y)] /B <</C null>> % comment\n>>").unwrap();
        let Obj::Dict(d) = d else { panic!() };
        assert!(d.get("A").is_some() && d.get("B").is_some());
        for b in ["(abc", "<<", "[1 2", "<zz>", "/A#zz", "@", "1.2.3"] {
            assert!(parse(b).is_err(), "{b}");
        }
        let deep = "[".repeat(1000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn names_and_strings_roundtrip() {
        let mut out = Vec::new();
        let map = HashMap::new();
        write_obj(&Obj::Name(b"A B#(".to_vec()), &map, &mut out);
        write_obj(&Obj::Str(b"x(\\)\n\xff".to_vec()), &map, &mut out);
        assert_eq!(out, b"/A#20B#23#28(x\\(\\\\\\)\\012\\377)".to_vec());
        let mut lx = Lexer::new(&out, 0);
        assert_eq!(lx.object(0).unwrap(), Obj::Name(b"A B#(".to_vec()));
        assert_eq!(lx.object(0).unwrap(), Obj::Str(b"x(\\)\n\xff".to_vec()));
    }

    /// A PDF from object bodies (numbered from 1) with a classic xref.
    fn build(objs: &[&str], trailer_extra: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offs = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offs.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let x = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes(),
        );
        for o in offs {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<</Size {} /Root 1 0 R{trailer_extra}>>\nstartxref\n{x}\n%%EOF\n",
                objs.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    fn run(d: &[u8]) -> Result<(Vec<u8>, Found), Error> {
        let mut f = Found::default();
        let out = clean(d, &Options::default(), &mut f)?;
        Ok((out, f))
    }

    #[test]
    fn missing_objects_and_cycles() {
        let d = build(
            &[
                "<</Type /Catalog /Pages 2 0 R /Missing 99 0 R /Arr [99 0 R 3 0 R]>>",
                "<</Type /Pages /Kids [3 0 R] /Count 1 /Self 2 0 R>>",
                "<</Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Info 4 0 R>>",
                "<</Author (KimCheolsu)>>",
            ],
            " /Info 4 0 R",
        );
        let (out, f) = run(&d).unwrap();
        let s = String::from_utf8_lossy(&out);
        assert!(
            !s.contains("/Missing") && s.contains("/Arr [null 3 0 R]"),
            "{s}"
        );
        // The Info dictionary is not written even when something points to it.
        assert!(!s.contains("KimCheolsu"), "{s}");
        assert!(f.findings.iter().any(|x| x.field == "PDF Info Author"));
        let (again, f2) = run(&out).unwrap();
        assert_eq!(again, out);
        assert!(f2.findings.is_empty(), "{:?}", f2.findings);
    }

    #[test]
    fn length_as_reference_and_trailing_junk() {
        let mut d = build(
            &[
                "<</Type /Catalog /Pages 2 0 R>>",
                "<</Type /Pages /Kids [3 0 R] /Count 1>>",
                "<</Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 4 0 R>>",
                "<</Length 5 0 R>>\nstream\nBT ET\nendstream",
                "5",
            ],
            "",
        );
        d.extend_from_slice(b"junk from planted-host");
        let (out, f) = run(&d).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("<</Length 5>>\nstream\nBT ET\nendstream"));
        assert_eq!(f.findings.len(), 1);
        assert_eq!(f.findings[0].category, Category::Trailer);
        // An unfinished update after %%EOF is refused, not cleaned as the old revision.
        let mut u = build(&["<</Type /Catalog>>"], "");
        u.extend_from_slice(b"2 0 obj\n<</Author (x)>>\nendobj\nxref\n");
        assert!(run(&u).is_err());
    }

    #[test]
    fn refs_loop_in_lengths_is_refused() {
        let d = build(
            &[
                "<</Type /Catalog /Pages 2 0 R>>",
                "<</Length 3 0 R>>\nstream\nx\nendstream",
                "<</Length 2 0 R>>\nstream\nx\nendstream",
            ],
            "",
        );
        assert!(run(&d).is_err());
    }

    proptest::proptest! {
        #[test]
        fn lexer_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut lx = Lexer::new(&data, 0);
            for _ in 0..20 {
                if lx.object(0).is_err() { break; }
            }
        }

        #[test]
        fn object_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "<<", ">>", "[", "]", "/Type", "/Catalog", "/Pages", "1 0 R", "2 0 R", "(s\\)", "<4142>",
                "/Length 3", "stream\n", "endstream", "/Metadata", "/Info", "null", "3.5", "-1",
                "/Filter /FlateDecode", "/Kids", "obj", "endobj", "%c\n", " ",
            ]), 0..40)) {
            let body: String = parts.concat();
            let d = build(&[&body, "<</Type /Pages /Kids [] /Count 0>>"], "");
            if let Ok((out, _)) = run(&d) {
                let (again, f) = run(&out).expect("cleaned output parses");
                proptest::prop_assert_eq!(again, out);
                proptest::prop_assert!(f.findings.is_empty());
            }
        }
    }

    #[test]
    fn png_up_predictor() {
        let mut p = Dict::default();
        p.set("Predictor", Obj::Int(12));
        p.set("Columns", Obj::Int(2));
        let out = unpredict(&p, vec![2, 1, 2, 2, 1, 1], "t").unwrap();
        assert_eq!(out, vec![1, 2, 2, 3]);
        assert!(unpredict(&p, vec![2, 1], "t").is_err());
    }
}
