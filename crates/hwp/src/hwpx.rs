//! HWPX: a ZIP (OCF: a stored `mimetype` of `application/hwp+zip` first)
//! whose `Contents/sectionN.xml` hold the body in OWPML's paragraph
//! namespace (`http://www.hancom.co.kr/hwpml/2011/paragraph`, `hp:`).

use crate::{Block, Cell, Doc, Error, Limits, Table, TextBudget, check_table};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use std::io::{Cursor, Read};

const FORMAT: &str = "HWPX";

fn bad(what: impl Into<String>) -> Error {
    Error::Malformed {
        format: FORMAT,
        what: what.into(),
    }
}

pub(crate) fn read(data: &[u8], limits: &Limits) -> Result<Doc, Error> {
    let mut z = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| bad(format!("its ZIP container does not open: {e}")))?;
    let mut total = 0u64;
    let mime = member(&mut z, "mimetype", limits, &mut total)?.ok_or(Error::NotHwp)?;
    if mime.trim_ascii() != b"application/hwp+zip" {
        return Err(Error::NotHwp);
    }
    let mut doc = Doc::default();
    let mut budget = TextBudget {
        left: limits.max_text,
    };
    for i in 0.. {
        let name = format!("Contents/section{i}.xml");
        let Some(xml) = member(&mut z, &name, limits, &mut total)? else {
            if i == 0 {
                return Err(bad("no Contents/section0.xml"));
            }
            break;
        };
        if i >= limits.max_sections {
            return Err(Error::Limit(format!(
                "more than {} sections",
                limits.max_sections
            )));
        }
        let xml =
            std::str::from_utf8(&xml).map_err(|e| bad(format!("{name} is not UTF-8: {e}")))?;
        let xml = xml.strip_prefix('\u{FEFF}').unwrap_or(xml);
        section(xml, limits, &mut budget, &mut doc).map_err(|e| match e {
            Error::Malformed { what, .. } => bad(format!("{name}: {what}")),
            e => e,
        })?;
    }
    Ok(doc)
}

/// A member's bytes (under the caps), `None` when there is none.
fn member(
    z: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
    total: &mut u64,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(i) = z.index_for_name(name) else {
        return Ok(None);
    };
    let f = z
        .by_index(i)
        .map_err(|e| bad(format!("{name} cannot be read: {e}")))?;
    let cap = limits
        .max_stream
        .min(limits.max_total.saturating_sub(*total));
    let mut v = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut v)
        .map_err(|e| bad(format!("{name} does not unpack: {e}")))?;
    if v.len() as u64 > cap {
        return Err(Error::Limit(format!(
            "{name} unpacks to more than {cap} bytes"
        )));
    }
    *total += v.len() as u64;
    Ok(Some(v))
}

/// What is open while walking a section.
enum Frame {
    /// A paragraph: its text so far, how many `hp:t` are open in it, and the
    /// blocks of what it holds (tables, lists), laid out after it.
    Para {
        text: String,
        in_t: u32,
        after: Vec<Block>,
    },
    Table {
        t: Table,
        caption: Vec<Block>,
    },
    Cell(Cell),
}

fn is_hp(ns: &ResolveResult) -> bool {
    matches!(ns, ResolveResult::Bound(n)
        if n.0.starts_with("http://www.hancom.co.kr/hwpml/") && n.0.ends_with("/paragraph"))
}

fn attr_u32(e: &BytesStart, name: &str) -> Option<u32> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.value.trim().parse().ok())
}

fn attr_u16(e: &BytesStart, name: &str) -> Option<u16> {
    attr_u32(e, name).and_then(|v| u16::try_from(v).ok())
}

/// Where finished blocks go: the innermost open paragraph (after its
/// text), cell or table caption, else the body.
fn put(stack: &mut [Frame], body: &mut Vec<Block>, b: Vec<Block>) {
    match stack.last_mut() {
        Some(Frame::Para { after, .. }) => after.extend(b),
        Some(Frame::Cell(c)) => c.blocks.extend(b),
        Some(Frame::Table { caption, .. }) => caption.extend(b),
        None => body.extend(b),
    }
}

fn section(
    xml: &str,
    limits: &Limits,
    budget: &mut TextBudget,
    doc: &mut Doc,
) -> Result<(), Error> {
    let mut r = quick_xml::NsReader::from_str(xml);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut body: Vec<Block> = Vec::new();
    let mut depth = 0usize;
    // The first pagePr's size and orientation, waiting for its margin.
    let mut page_pr: Option<(f32, f32)> = None;
    let xml_err =
        |e: quick_xml::Error, pos: u64| bad(format!("not well-formed XML at byte {pos}: {e}"));
    loop {
        let pos = r.buffer_position();
        let (ns, ev) = r.read_resolved_event().map_err(|e| xml_err(e, pos))?;
        let hp = is_hp(&ns);
        let (ev, empty) = match ev {
            Event::Empty(e) => (Event::Start(e), true),
            ev => (ev, false),
        };
        match ev {
            Event::Start(e) => {
                if !empty {
                    depth += 1;
                    if depth > 10_000 {
                        return Err(Error::Limit("XML nested more than 10,000 deep".into()));
                    }
                }
                if !hp {
                    continue;
                }
                let name = e.local_name();
                match name.as_ref() {
                    "p" if !empty => {
                        if stack.len() > 3 * limits.max_depth {
                            return Err(Error::Limit(format!(
                                "tables and lists nested more than {} deep",
                                limits.max_depth
                            )));
                        }
                        stack.push(Frame::Para {
                            text: String::new(),
                            in_t: 0,
                            after: Vec::new(),
                        });
                    }
                    "p" => put(&mut stack, &mut body, vec![Block::Para(String::new())]),
                    "t" if !empty => {
                        if let Some(Frame::Para { in_t, .. }) = stack.last_mut() {
                            *in_t += 1;
                        }
                    }
                    "tab" | "lineBreak" | "nbSpace" | "fwSpace" | "hyphen" => {
                        if let Some(Frame::Para { text, in_t, .. }) = stack.last_mut()
                            && *in_t > 0
                        {
                            budget.take(1)?;
                            text.push(match name.as_ref() {
                                "tab" => '\t',
                                "lineBreak" => '\n',
                                "hyphen" => '-',
                                _ => ' ',
                            });
                        }
                    }
                    "tbl" => {
                        let t = Table {
                            rows: attr_u16(&e, "rowCnt").unwrap_or(0),
                            cols: attr_u16(&e, "colCnt").unwrap_or(0),
                            cells: Vec::new(),
                        };
                        if empty {
                            let mut t = t;
                            check_table(&mut t, limits, FORMAT)?;
                            put(&mut stack, &mut body, vec![Block::Table(t)]);
                        } else {
                            stack.push(Frame::Table {
                                t,
                                caption: Vec::new(),
                            });
                        }
                    }
                    "tc" => {
                        if !matches!(stack.last(), Some(Frame::Table { .. })) {
                            return Err(bad("a table cell (hp:tc) outside a table"));
                        }
                        let c = Cell {
                            row_span: 1,
                            col_span: 1,
                            ..Default::default()
                        };
                        if empty {
                            if let Some(Frame::Table { t, .. }) = stack.last_mut() {
                                t.cells.push(c);
                            }
                        } else {
                            stack.push(Frame::Cell(c));
                        }
                    }
                    "cellAddr" | "cellSpan" => {
                        let Some(Frame::Cell(c)) = stack.last_mut() else {
                            return Err(bad(format!("hp:{} outside a table cell", name.as_ref())));
                        };
                        if name.as_ref() == "cellAddr" {
                            c.col = attr_u16(&e, "colAddr").unwrap_or(0);
                            c.row = attr_u16(&e, "rowAddr").unwrap_or(0);
                        } else {
                            c.col_span = attr_u16(&e, "colSpan").unwrap_or(1);
                            c.row_span = attr_u16(&e, "rowSpan").unwrap_or(1);
                        }
                    }
                    "pagePr" if doc.page.is_none() && page_pr.is_none() => {
                        let (mut w, mut h) = (
                            crate::hwp5::mm(attr_u32(&e, "width").unwrap_or(0)),
                            crate::hwp5::mm(attr_u32(&e, "height").unwrap_or(0)),
                        );
                        // OWPML: WIDELY is upright (portrait), NARROWLY turned.
                        let turned = e.attributes().flatten().any(|a| {
                            a.key.local_name().as_ref() == "landscape"
                                && a.value.as_ref() == "NARROWLY"
                        });
                        if turned && w < h {
                            std::mem::swap(&mut w, &mut h);
                        }
                        page_pr = Some((w, h));
                    }
                    "margin" if doc.page.is_none() => {
                        if let Some((w, h)) = page_pr.take() {
                            let m = |k| crate::hwp5::mm(attr_u32(&e, k).unwrap_or(0));
                            doc.page = crate::odt::page(
                                w,
                                h,
                                m("left"),
                                m("right"),
                                m("top") + m("header"),
                                m("bottom") + m("footer"),
                            );
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if !hp {
                    continue;
                }
                match e.local_name().as_ref() {
                    "p" => match stack.pop() {
                        Some(Frame::Para { text, after, .. }) => {
                            let mut b = vec![Block::Para(text)];
                            b.extend(after);
                            put(&mut stack, &mut body, b);
                        }
                        _ => return Err(bad("a paragraph's end does not match its start")),
                    },
                    "t" => {
                        if let Some(Frame::Para { in_t, .. }) = stack.last_mut() {
                            *in_t = in_t.saturating_sub(1);
                        }
                    }
                    "tc" => match (stack.pop(), stack.last_mut()) {
                        (Some(Frame::Cell(c)), Some(Frame::Table { t, .. })) => t.cells.push(c),
                        _ => return Err(bad("a table cell's end does not match its start")),
                    },
                    "tbl" => match stack.pop() {
                        Some(Frame::Table { mut t, caption }) => {
                            check_table(&mut t, limits, FORMAT)?;
                            let mut b = caption;
                            b.push(Block::Table(t));
                            put(&mut stack, &mut body, b);
                        }
                        _ => return Err(bad("a table's end does not match its start")),
                    },
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some(Frame::Para { text, in_t, .. }) = stack.last_mut()
                    && *in_t > 0
                {
                    let s = t.xml10_content();
                    budget.take(s.len())?;
                    text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(Frame::Para { text, in_t, .. }) = stack.last_mut()
                    && *in_t > 0
                {
                    let s: &str = &t;
                    budget.take(s.len())?;
                    text.push_str(s);
                }
            }
            Event::GeneralRef(g) => {
                let c = match g.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*g {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(bad(format!(
                                "an entity (&{other};) that is not one of XML's own"
                            )));
                        }
                    },
                    Err(e) => return Err(bad(format!("a bad character reference: {e}"))),
                };
                if let Some(Frame::Para { text, in_t, .. }) = stack.last_mut()
                    && *in_t > 0
                {
                    budget.take(c.len_utf8())?;
                    text.push(c);
                }
            }
            Event::DocType(_) => return Err(bad("a DTD (not part of OWPML)")),
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 || !stack.is_empty() {
        return Err(bad("it ends inside an element (cut short)"));
    }
    doc.blocks.extend(body);
    Ok(())
}
