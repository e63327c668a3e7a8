//! HWP 5: an OLE/CFB file; `FileHeader`, then `BodyText/Section0…` streams
//! of records (raw deflate when the header's bit 0 says so). Tag numbers
//! and layouts are those of Hancom's published format ("한글 문서 파일 형식
//! 5.0", revision 1.3), cross-checked with pyhwp.

use crate::{Block, Cell, Doc, Error, Limits, Page, Table, TextBudget, check_table};
use std::io::{Cursor, Read};

const FORMAT: &str = "HWP 5";

/// HWPTAG_BEGIN + 50 and on: the body's records.
pub(crate) const PARA_HEADER: u16 = 0x42;
pub(crate) const PARA_TEXT: u16 = 0x43;
pub(crate) const PARA_CHAR_SHAPE: u16 = 0x44;
pub(crate) const CTRL_HEADER: u16 = 0x47;
pub(crate) const LIST_HEADER: u16 = 0x48;
pub(crate) const PAGE_DEF: u16 = 0x49;
pub(crate) const TABLE: u16 = 0x4D;

/// A control's id: four ASCII characters, the first in the high byte.
pub(crate) const fn ctrl_id(s: &[u8; 4]) -> u32 {
    (s[0] as u32) << 24 | (s[1] as u32) << 16 | (s[2] as u32) << 8 | s[3] as u32
}
pub(crate) const TBL: u32 = ctrl_id(b"tbl ");

fn bad(what: impl Into<String>) -> Error {
    Error::Malformed {
        format: FORMAT,
        what: what.into(),
    }
}

fn le16(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(o..o + 2)?.try_into().ok()?))
}
fn le32(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(o..o + 4)?.try_into().ok()?))
}

pub(crate) fn read(data: &[u8], limits: &Limits) -> Result<Doc, Error> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(data))
        .map_err(|e| bad(format!("its OLE container does not open: {e}")))?;
    let mut total: u64 = 0;
    let header = stream(&mut cf, "/FileHeader", limits, &mut total)?
        .ok_or_else(|| bad("no FileHeader stream"))?;
    if !header.starts_with(b"HWP Document File") {
        return Err(bad("its FileHeader has no HWP signature"));
    }
    let (Some(version), Some(flags)) = (le32(&header, 32), le32(&header, 36)) else {
        return Err(bad(format!(
            "its FileHeader is {} bytes, too short",
            header.len()
        )));
    };
    if version >> 24 != 5 {
        return Err(Error::Unsupported(format!(
            "HWP version {}.{}.{}.{}",
            version >> 24,
            (version >> 16) & 0xFF,
            (version >> 8) & 0xFF,
            version & 0xFF
        )));
    }
    if flags & 2 != 0 {
        return Err(Error::Unsupported(
            "a password-protected HWP document".into(),
        ));
    }
    if flags & 4 != 0 {
        return Err(Error::Unsupported(
            "a distribution (copy-protected) HWP document, whose text is encrypted".into(),
        ));
    }
    if flags & 16 != 0 {
        return Err(Error::Unsupported("a DRM-protected HWP document".into()));
    }
    let compressed = flags & 1 != 0;
    let mut doc = Doc::default();
    let mut budget = TextBudget {
        left: limits.max_text,
    };
    for i in 0.. {
        let name = format!("/BodyText/Section{i}");
        let Some(raw) = stream(&mut cf, &name, limits, &mut total)? else {
            if i == 0 {
                return Err(bad("no BodyText/Section0 stream"));
            }
            break;
        };
        if i >= limits.max_sections {
            return Err(Error::Limit(format!(
                "more than {} sections",
                limits.max_sections
            )));
        }
        let body = if compressed {
            let cap = limits
                .max_stream
                .min(limits.max_total - total.min(limits.max_total));
            let b = inflate(&raw, cap).map_err(|e| match e {
                Inflate::Limit => Error::Limit(format!(
                    "BodyText/Section{i} inflates to more than {cap} bytes"
                )),
                Inflate::Bad(why) => bad(format!("BodyText/Section{i} does not inflate: {why}")),
            })?;
            total += b.len() as u64;
            b
        } else {
            raw
        };
        let recs = records(&body).map_err(|e| bad(format!("BodyText/Section{i}: {e}")))?;
        let tree = Tree::build(&recs).map_err(|e| bad(format!("BodyText/Section{i}: {e}")))?;
        let mut w = Walker {
            tree: &tree,
            limits,
            budget: &mut budget,
            page: &mut doc.page,
        };
        let blocks = w.blocks(&tree.roots, 0)?;
        doc.blocks.extend(blocks);
    }
    Ok(doc)
}

/// A stream's bytes, `None` when there is none of that name.
fn stream(
    cf: &mut cfb::CompoundFile<Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
    total: &mut u64,
) -> Result<Option<Vec<u8>>, Error> {
    if !cf.is_stream(name) {
        return Ok(None);
    }
    let len = cf
        .entry(name)
        .map_err(|e| bad(format!("{name}: {e}")))?
        .len();
    if len > limits.max_stream || total.saturating_add(len) > limits.max_total {
        return Err(Error::Limit(format!(
            "the {} stream is {len} bytes: over the limit",
            name.trim_start_matches('/')
        )));
    }
    let mut s = cf.open_stream(name).map_err(|e| {
        bad(format!(
            "{} does not open: {e}",
            name.trim_start_matches('/')
        ))
    })?;
    let mut v = Vec::new();
    (&mut s).take(len).read_to_end(&mut v).map_err(|e| {
        bad(format!(
            "{} cannot be read: {e}",
            name.trim_start_matches('/')
        ))
    })?;
    if v.len() as u64 != len {
        return Err(bad(format!(
            "{} is cut short ({} of {len} bytes)",
            name.trim_start_matches('/'),
            v.len()
        )));
    }
    *total += len;
    Ok(Some(v))
}

enum Inflate {
    Limit,
    Bad(String),
}

/// Raw deflate, to its end (a stream that stops before its end is refused),
/// into at most `cap` bytes.
fn inflate(raw: &[u8], cap: u64) -> Result<Vec<u8>, Inflate> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(false);
    let mut out: Vec<u8> =
        Vec::with_capacity((raw.len() as u64 * 4).min(cap).min(64 << 20) as usize);
    loop {
        if out.len() == out.capacity() {
            if out.len() as u64 >= cap {
                return Err(Inflate::Limit);
            }
            let more = (out.len().max(1 << 16) as u64).min(cap - out.len() as u64) as usize;
            out.reserve_exact(more);
        }
        let (in0, out0) = (d.total_in(), d.total_out());
        let st = d
            .decompress_vec(&raw[in0 as usize..], &mut out, FlushDecompress::None)
            .map_err(|e| Inflate::Bad(e.to_string()))?;
        match st {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                if d.total_in() == in0 && d.total_out() == out0 && out.len() < out.capacity() {
                    return Err(Inflate::Bad(
                        "its compressed data ends before the stream does (cut short)".into(),
                    ));
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Rec<'a> {
    pub tag: u16,
    pub level: u16,
    pub data: &'a [u8],
}

/// The records of a stream: a 32-bit header (tag 10 bits, level 10 bits,
/// size 12 bits; size 0xFFF: a 32-bit size follows) and the data.
pub(crate) fn records(s: &[u8]) -> Result<Vec<Rec<'_>>, String> {
    let mut out = Vec::new();
    let mut o = 0usize;
    while o < s.len() {
        let h = le32(s, o).ok_or_else(|| format!("a record header cut short at byte {o}"))?;
        o += 4;
        let mut size = (h >> 20) as usize;
        if size == 0xFFF {
            size =
                le32(s, o).ok_or_else(|| format!("a record size cut short at byte {o}"))? as usize;
            o += 4;
        }
        let data = s.get(o..o.saturating_add(size)).ok_or_else(|| {
            format!(
                "a record at byte {} says it is {size} bytes, past the end of the stream",
                o - 4
            )
        })?;
        out.push(Rec {
            tag: (h & 0x3FF) as u16,
            level: ((h >> 10) & 0x3FF) as u16,
            data,
        });
        o += size;
    }
    Ok(out)
}

/// Records as a tree: a record of level n is a child of the last record of
/// level n - 1 before it.
struct Tree<'a> {
    recs: &'a [Rec<'a>],
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
}

impl<'a> Tree<'a> {
    fn build(recs: &'a [Rec<'a>]) -> Result<Tree<'a>, String> {
        let mut children = vec![Vec::new(); recs.len()];
        let mut roots = Vec::new();
        let mut path: Vec<usize> = Vec::new();
        for (i, r) in recs.iter().enumerate() {
            let l = r.level as usize;
            if l > path.len() {
                return Err(format!(
                    "record {i} (tag {:#x}) is at level {l}, below no record of level {}",
                    r.tag,
                    l - 1
                ));
            }
            path.truncate(l);
            match path.last() {
                Some(&p) => children[p].push(i),
                None => roots.push(i),
            }
            path.push(i);
        }
        Ok(Tree {
            recs,
            children,
            roots,
        })
    }
}

struct Walker<'t, 'a> {
    tree: &'t Tree<'a>,
    limits: &'t Limits,
    budget: &'t mut TextBudget,
    page: &'t mut Option<Page>,
}

impl Walker<'_, '_> {
    fn deep(&self, depth: usize) -> Result<(), Error> {
        if depth > self.limits.max_depth {
            return Err(Error::Limit(format!(
                "tables and lists nested more than {} deep",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    /// The blocks of a run of sibling records: paragraphs, and whatever the
    /// others hold (a list's paragraphs follow its `LIST_HEADER`).
    fn blocks(&mut self, ids: &[usize], depth: usize) -> Result<Vec<Block>, Error> {
        self.deep(depth)?;
        let mut out = Vec::new();
        for &i in ids {
            let r = self.tree.recs[i];
            match r.tag {
                PARA_HEADER => self.paragraph(i, depth, &mut out)?,
                PAGE_DEF => {
                    if self.page.is_none() {
                        *self.page = page_def(r.data);
                    }
                }
                CTRL_HEADER if le32(r.data, 0) == Some(TBL) => {
                    let (caption, t) = self.table(i, depth + 1)?;
                    out.extend(caption);
                    out.push(Block::Table(t));
                }
                _ => {
                    let kids = &self.tree.children[i];
                    if !kids.is_empty() {
                        out.extend(self.blocks(kids, depth + 1)?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// A paragraph's text, then what its controls hold.
    fn paragraph(&mut self, i: usize, depth: usize, out: &mut Vec<Block>) -> Result<(), Error> {
        let kids = &self.tree.children[i];
        let text = match kids
            .iter()
            .map(|&k| self.tree.recs[k])
            .find(|r| r.tag == PARA_TEXT)
        {
            Some(r) => para_text(r.data)?,
            None => String::new(),
        };
        self.budget.take(text.len())?;
        out.push(Block::Para(text));
        let rest: Vec<usize> = kids
            .iter()
            .copied()
            .filter(|&k| self.tree.recs[k].tag != PARA_TEXT)
            .collect();
        out.extend(self.blocks(&rest, depth + 1)?);
        Ok(())
    }

    /// A `tbl ` control: its `TABLE` record, then each cell's
    /// `LIST_HEADER` and paragraphs. A list before the `TABLE` record is
    /// the caption, laid out before the table.
    fn table(&mut self, i: usize, depth: usize) -> Result<(Vec<Block>, Table), Error> {
        self.deep(depth)?;
        let mut t: Option<Table> = None;
        let mut caption: Vec<usize> = Vec::new();
        let mut cell: Option<(Cell, Vec<usize>)> = None;
        let mut cells: Vec<(Cell, Vec<usize>)> = Vec::new();
        for &k in &self.tree.children[i] {
            let r = self.tree.recs[k];
            match r.tag {
                TABLE => {
                    if t.is_some() {
                        return Err(bad("a table with two TABLE records"));
                    }
                    let (Some(rows), Some(cols)) = (le16(r.data, 4), le16(r.data, 6)) else {
                        return Err(bad("a TABLE record cut short"));
                    };
                    t = Some(Table {
                        rows,
                        cols,
                        cells: Vec::new(),
                    });
                }
                LIST_HEADER if t.is_some() => {
                    if let Some(c) = cell.take() {
                        cells.push(c);
                    }
                    let d = r.data;
                    let (Some(col), Some(row), Some(col_span), Some(row_span)) =
                        (le16(d, 8), le16(d, 10), le16(d, 12), le16(d, 14))
                    else {
                        return Err(bad("a table cell's LIST_HEADER cut short"));
                    };
                    cell = Some((
                        Cell {
                            row,
                            col,
                            row_span,
                            col_span,
                            blocks: Vec::new(),
                        },
                        Vec::new(),
                    ));
                }
                _ => match &mut cell {
                    Some((_, ids)) => ids.push(k),
                    None => caption.push(k),
                },
            }
        }
        if let Some(c) = cell.take() {
            cells.push(c);
        }
        let mut t = t.ok_or_else(|| bad("a table control without its TABLE record"))?;
        let caption = self.blocks(&caption, depth + 1)?;
        for (mut c, ids) in cells {
            c.blocks = self.blocks(&ids, depth + 1)?;
            t.cells.push(c);
        }
        check_table(&mut t, self.limits, FORMAT)?;
        Ok((caption, t))
    }
}

/// HWPUNIT (1/7200 inch) in millimetres.
pub(crate) fn mm(v: u32) -> f32 {
    v as f32 * 25.4 / 7200.0
}

/// `PAGE_DEF`: paper width, height, margins left, right, top, bottom,
/// header, footer, gutter, then attributes (bit 0: landscape). `None`
/// when it does not describe a page of 10 mm to 2 m with room inside.
fn page_def(d: &[u8]) -> Option<Page> {
    let v: Vec<u32> = (0..10).map(|i| le32(d, 4 * i)).collect::<Option<_>>()?;
    let (mut w, mut h) = (mm(v[0]), mm(v[1]));
    if v[9] & 1 != 0 {
        std::mem::swap(&mut w, &mut h);
    }
    crate::odt::page(
        w,
        h,
        mm(v[2]),
        mm(v[3]),
        mm(v[4]) + mm(v[6]),
        mm(v[5]) + mm(v[7]),
    )
}

/// The text of a `PARA_TEXT` record: UTF-16LE, with control characters
/// 0–31 of three kinds: one unit (10 line break, 13 paragraph end, 24
/// hyphen, 30 and 31 spaces, the others nothing), or eight units, inline
/// (9 tab; 4–8, 19, 20 nothing) or extended (1–3, 11, 12, 14–18, 21–23:
/// a control whose contents are its `CTRL_HEADER`).
pub(crate) fn para_text(d: &[u8]) -> Result<String, Error> {
    if !d.len().is_multiple_of(2) {
        return Err(bad("a paragraph's text has an odd number of bytes"));
    }
    let units: Vec<u16> = d
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut out = String::new();
    let mut run: Vec<u16> = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if u >= 32 {
            run.push(u);
            i += 1;
            continue;
        }
        out.extend(char::decode_utf16(run.drain(..)).map(|c| c.unwrap_or('\u{FFFD}')));
        let width = match u {
            0 | 10 | 13 | 24..=31 => 1,
            _ => 8,
        };
        if i + width > units.len() {
            return Err(bad(format!(
                "a control character ({u}) runs past the end of its paragraph's text"
            )));
        }
        match u {
            9 => out.push('\t'),
            10 => out.push('\n'),
            24 => out.push('-'),
            30 | 31 => out.push(' '),
            _ => {}
        }
        i += width;
    }
    out.extend(char::decode_utf16(run.drain(..)).map(|c| c.unwrap_or('\u{FFFD}')));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn controls_in_text() {
        let mut d = Vec::new();
        // An extended control (a table) of eight units, then text.
        d.extend(11u16.to_le_bytes());
        d.extend(b" lbt");
        d.extend([0u8; 8]);
        d.extend(11u16.to_le_bytes());
        d.extend(utf16("평양"));
        d.extend(9u16.to_le_bytes());
        d.extend([0u8; 14]);
        d.extend(utf16("시내"));
        d.extend(10u16.to_le_bytes());
        d.extend(utf16("회의록"));
        d.extend(13u16.to_le_bytes());
        assert_eq!(para_text(&d).unwrap(), "평양\t시내\n회의록");
        // Cut inside a control: refused, never a panic.
        for n in 0..d.len() {
            let _ = para_text(&d[..n]);
        }
        assert_eq!(para_text(&d[..20]).unwrap(), "평양");
        assert!(para_text(&d[..22]).is_err());
    }

    #[test]
    fn record_sizes_and_levels() {
        let mut s = Vec::new();
        let h = |tag: u32, level: u32, size: u32| (tag | level << 10 | size << 20).to_le_bytes();
        s.extend(h(0x42, 0, 2));
        s.extend([1, 2]);
        s.extend(h(0x43, 1, 0xFFF));
        s.extend(3u32.to_le_bytes());
        s.extend([4, 5, 6]);
        let r = records(&s).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[1].tag, r[1].level, r[1].data),
            (0x43, 1, &[4u8, 5, 6][..])
        );
        assert!(Tree::build(&r).is_ok());
        assert!(records(&s[..s.len() - 1]).is_err());
        // Level 2 under a level 0 record: refused.
        let mut t = Vec::new();
        t.extend(h(0x42, 0, 0));
        t.extend(h(0x43, 2, 0));
        assert!(Tree::build(&records(&t).unwrap()).is_err());
    }

    #[test]
    fn inflate_needs_the_end_and_keeps_the_cap() {
        use std::io::Write;
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        z.write_all(&vec![7u8; 100_000]).unwrap();
        let c = z.finish().unwrap();
        assert_eq!(inflate(&c, 1 << 20).ok().unwrap().len(), 100_000);
        assert!(matches!(inflate(&c, 50_000), Err(Inflate::Limit)));
        assert!(matches!(
            inflate(&c[..c.len() - 3], 1 << 20),
            Err(Inflate::Bad(_))
        ));
        assert!(matches!(
            inflate(b"\xff\xff\xff", 1 << 20),
            Err(Inflate::Bad(_))
        ));
        assert!(matches!(inflate(b"", 1 << 20), Err(Inflate::Bad(_))));
    }
}
