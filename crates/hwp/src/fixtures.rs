//! HWP 5 and HWPX documents made here, for tests (this crate's, the
//! vault's) and as the fuzz target's seeds: paragraphs, a table, and an
//! author and title in the places Hangul keeps them (HWP 5's
//! `\x05HwpSummaryInformation` property set, HWPX's `content.hpf`), so a
//! test can check they never reach a rendering.
//!
//! The HWP 5 files are laid out as Hangul writes them (a first paragraph
//! holding the section definition and its `PAGE_DEF`, `PARA_HEADER` /
//! `PARA_TEXT` / `PARA_CHAR_SHAPE` per paragraph, a `tbl ` control with its
//! `TABLE` record and one `LIST_HEADER` per cell) and read by pyhwp's
//! `hwp5txt` in this crate's tests, an independent reader.

use crate::hwp5::{CTRL_HEADER, LIST_HEADER, PAGE_DEF, PARA_CHAR_SHAPE, PARA_HEADER, PARA_TEXT};
use crate::hwp5::{TABLE, TBL, ctrl_id};
use std::io::{Cursor, Write};

/// What a fixture holds.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Paragraphs before the table (may hold `\t` and `\n`).
    pub paragraphs: &'a [&'a str],
    /// The table's rows of cells; none when empty.
    pub table: &'a [&'a [&'a str]],
    /// Paragraphs after the table.
    pub after: &'a [&'a str],
    /// Kept where Hangul keeps it; must never be rendered.
    pub author: &'a str,
    pub title: &'a str,
}

/// Korean paragraphs, a table and an author.
pub const MEETING: Sample<'static> = Sample {
    paragraphs: &[
        "평양 시내 회의록",
        "인민위원회는 다음 달부터 전기 공급을 줄인다고 발표하였다.",
        "참석자:\t리영호, 박정민\n장소: 중구역 회의실",
    ],
    table: &[
        &["구역", "배급량"],
        &["중구역", "쌀 300그램"],
        &["평천구역", "옥수수 500그램"],
    ],
    after: &["국경 경비대의 검문이 강화되어 장마당 상인들이 걱정한다."],
    author: "김철수 보위부 지도원",
    title: "비밀 회의 기록 제7호",
};

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn rec(out: &mut Vec<u8>, tag: u16, level: u16, data: &[u8]) {
    let size = data.len().min(0xFFF) as u32;
    out.extend((tag as u32 | (level as u32) << 10 | size << 20).to_le_bytes());
    if size == 0xFFF {
        out.extend((data.len() as u32).to_le_bytes());
    }
    out.extend(data);
}

/// An extended control character (eight units) for control `id`.
fn ext_ctrl(code: u16, id: u32) -> Vec<u8> {
    let mut v = code.to_le_bytes().to_vec();
    v.extend(id.to_le_bytes());
    v.extend([0u8; 8]);
    v.extend(code.to_le_bytes());
    v
}

/// `PARA_TEXT` of `s`: tabs as eight-unit inline controls, line breaks as
/// one unit, and the paragraph end.
fn text_units(prefix: &[u8], s: &str) -> Vec<u8> {
    let mut v = prefix.to_vec();
    for c in s.chars() {
        match c {
            '\t' => {
                v.extend(9u16.to_le_bytes());
                v.extend(2000u32.to_le_bytes());
                v.extend([0u8; 8]);
                v.extend(9u16.to_le_bytes());
            }
            '\n' => v.extend(10u16.to_le_bytes()),
            c => v.extend(utf16(c.encode_utf8(&mut [0; 4]))),
        }
    }
    v.extend(13u16.to_le_bytes());
    v
}

/// One paragraph: header, text, one character shape. `controls` is the
/// header's control mask.
fn paragraph(out: &mut Vec<u8>, level: u16, text: &[u8], controls: u32, last: bool) {
    let mut h = Vec::new();
    let chars = (text.len() / 2) as u32 | if last { 1 << 31 } else { 0 };
    h.extend(chars.to_le_bytes());
    h.extend(controls.to_le_bytes());
    h.extend(0u16.to_le_bytes()); // paragraph shape
    h.push(0); // style
    h.push(0); // split
    h.extend(1u16.to_le_bytes()); // character shapes
    h.extend(0u16.to_le_bytes()); // range tags
    h.extend(0u16.to_le_bytes()); // line segments
    h.extend(0u32.to_le_bytes()); // instance id
    rec(out, PARA_HEADER, level, &h);
    rec(out, PARA_TEXT, level + 1, text);
    rec(out, PARA_CHAR_SHAPE, level + 1, &[0u8; 8]);
}

/// The `BodyText/Section0` records of a sample.
pub fn hwp5_body(s: &Sample) -> Vec<u8> {
    let mut b = Vec::new();
    let secd = ctrl_id(b"secd");
    let first = s.paragraphs.first().copied().unwrap_or("");
    let has_more = s.paragraphs.len() > 1 || !s.table.is_empty() || !s.after.is_empty();
    paragraph(
        &mut b,
        0,
        &text_units(&ext_ctrl(2, secd), first),
        1 << 2,
        !has_more,
    );
    let mut c = secd.to_le_bytes().to_vec();
    c.extend([0u8; 34]);
    rec(&mut b, CTRL_HEADER, 1, &c);
    // A4 upright: 210 x 297 mm; margins 30, 30, 20, 15; header, footer 15.
    let mut pd = Vec::new();
    for v in [59528u32, 84188, 8504, 8504, 5668, 4252, 4252, 4252, 0, 0] {
        pd.extend(v.to_le_bytes());
    }
    rec(&mut b, PAGE_DEF, 2, &pd);
    let n = s.paragraphs.len();
    for (i, p) in s.paragraphs.iter().enumerate().skip(1) {
        let last = i + 1 == n && s.table.is_empty() && s.after.is_empty();
        paragraph(&mut b, 0, &text_units(&[], p), 0, last);
    }
    if !s.table.is_empty() {
        paragraph(
            &mut b,
            0,
            &text_units(&ext_ctrl(11, TBL), ""),
            1 << 11,
            s.after.is_empty(),
        );
        let mut c = TBL.to_le_bytes().to_vec();
        c.extend([0u8; 40]);
        rec(&mut b, CTRL_HEADER, 1, &c);
        let rows = s.table.len() as u16;
        let cols = s.table.iter().map(|r| r.len()).max().unwrap_or(0) as u16;
        let mut t = Vec::new();
        t.extend(0u32.to_le_bytes());
        t.extend(rows.to_le_bytes());
        t.extend(cols.to_le_bytes());
        t.extend(0u16.to_le_bytes()); // cell spacing
        t.extend([0u8; 8]); // padding
        for r in s.table {
            t.extend((r.len() as u16).to_le_bytes());
        }
        t.extend(1u16.to_le_bytes()); // border fill
        t.extend(0u16.to_le_bytes()); // zones
        rec(&mut b, TABLE, 2, &t);
        for (ri, r) in s.table.iter().enumerate() {
            for (ci, cell) in r.iter().enumerate() {
                let mut l = Vec::new();
                l.extend(1u16.to_le_bytes()); // paragraphs
                l.extend(0u16.to_le_bytes());
                l.extend(0u32.to_le_bytes()); // list flags
                l.extend((ci as u16).to_le_bytes());
                l.extend((ri as u16).to_le_bytes());
                l.extend(1u16.to_le_bytes());
                l.extend(1u16.to_le_bytes());
                l.extend(20000u32.to_le_bytes()); // width
                l.extend(1000u32.to_le_bytes()); // height
                l.extend([0u8; 8]); // padding
                l.extend(1u16.to_le_bytes()); // border fill
                l.extend(20000u32.to_le_bytes());
                rec(&mut b, LIST_HEADER, 2, &l);
                paragraph(&mut b, 2, &text_units(&[], cell), 0, true);
            }
        }
    }
    for (i, p) in s.after.iter().enumerate() {
        paragraph(&mut b, 0, &text_units(&[], p), 0, i + 1 == s.after.len());
    }
    b
}

fn deflate(d: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    z.write_all(d).expect("in memory");
    z.finish().expect("in memory")
}

/// The `\x05HwpSummaryInformation` property set: an empty dictionary,
/// title and author (UTF-16 strings).
fn summary(title: &str, author: &str) -> Vec<u8> {
    // An empty dictionary (property 0: no entries), as pyhwp expects one.
    let mut props: Vec<(u32, Vec<u8>)> = vec![(0, 0u32.to_le_bytes().to_vec())];
    for (id, s) in [(2u32, title), (4, author)] {
        let mut v = 0x1Fu32.to_le_bytes().to_vec(); // VT_LPWSTR
        let mut u = utf16(s);
        u.extend([0, 0]);
        v.extend(((u.len() / 2) as u32).to_le_bytes());
        v.extend(&u);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        props.push((id, v));
    }
    let head = 8 + 8 * props.len();
    let mut sec = Vec::new();
    let size = head + props.iter().map(|p| p.1.len()).sum::<usize>();
    sec.extend((size as u32).to_le_bytes());
    sec.extend((props.len() as u32).to_le_bytes());
    let mut off = head;
    for (id, v) in &props {
        sec.extend(id.to_le_bytes());
        sec.extend((off as u32).to_le_bytes());
        off += v.len();
    }
    for (_, v) in &props {
        sec.extend(v);
    }
    let mut out = Vec::new();
    out.extend(0xFFFEu16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0x0002_0006u32.to_le_bytes());
    // {9FA2B660-1061-11D4-B4C6-006097C09D8C}: the class, and the format id
    // of its one property set.
    let id = [
        0x60, 0xB6, 0xA2, 0x9F, 0x61, 0x10, 0xD4, 0x11, 0xB4, 0xC6, 0x00, 0x60, 0x97, 0xC0, 0x9D,
        0x8C,
    ];
    out.extend(id);
    out.extend(1u32.to_le_bytes());
    out.extend(id);
    out.extend(48u32.to_le_bytes());
    out.extend(sec);
    out
}

/// The `DocInfo` records: document properties (one section) and ID
/// mappings (all counts zero).
fn doc_info() -> Vec<u8> {
    let mut d = Vec::new();
    let mut p = 1u16.to_le_bytes().to_vec();
    p.extend([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    p.extend([0u8; 12]);
    rec(&mut d, 0x10, 0, &p);
    rec(&mut d, 0x11, 0, &[0u8; 4 * 18]);
    d
}

/// An HWP 5 file of the sample, its streams compressed.
pub fn hwp5(s: &Sample) -> Vec<u8> {
    hwp5_from_body(&hwp5_body(s), s, true)
}

/// An HWP 5 file with the given section records (compressed or not), and
/// the sample's summary information.
pub fn hwp5_from_body(body: &[u8], s: &Sample, compressed: bool) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("in memory");
    let mut header = b"HWP Document File".to_vec();
    header.resize(32, 0);
    header.extend(0x0500_0300u32.to_le_bytes());
    header.extend((compressed as u32).to_le_bytes());
    header.resize(256, 0);
    let pack = |d: &[u8]| if compressed { deflate(d) } else { d.to_vec() };
    let put = |cf: &mut cfb::CompoundFile<Cursor<Vec<u8>>>, name: &str, d: &[u8]| {
        let mut st = cf.create_stream(name).expect("in memory");
        st.write_all(d).expect("in memory");
    };
    put(&mut cf, "/FileHeader", &header);
    put(&mut cf, "/DocInfo", &pack(&doc_info()));
    cf.create_storage("/BodyText").expect("in memory");
    put(&mut cf, "/BodyText/Section0", &pack(body));
    put(
        &mut cf,
        "/\u{5}HwpSummaryInformation",
        &summary(s.title, s.author),
    );
    // The preview text Hangul writes: never read by the reader.
    let mut prv = utf16(s.title);
    prv.extend(utf16(s.author));
    put(&mut cf, "/PrvText", &prv);
    cf.flush().expect("in memory");
    cf.into_inner().into_inner()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// OWPML runs of `s`: text in `hp:t`, tabs and line breaks as elements.
fn hwpx_runs(s: &str) -> String {
    let mut t = String::from("<hp:run charPrIDRef=\"0\"><hp:t>");
    for c in s.chars() {
        match c {
            '\t' => t.push_str("<hp:tab width=\"4000\" leader=\"0\" type=\"1\"/>"),
            '\n' => t.push_str("<hp:lineBreak/>"),
            c => t.push_str(&esc(c.encode_utf8(&mut [0; 4]))),
        }
    }
    t.push_str("</hp:t></hp:run>");
    t
}

fn hwpx_para(id: usize, inner: &str) -> String {
    format!(
        "<hp:p id=\"{id}\" paraPrIDRef=\"0\" styleIDRef=\"0\" pageBreak=\"0\" columnBreak=\"0\" merged=\"0\">{inner}</hp:p>"
    )
}

/// `Contents/section0.xml` of a sample.
pub fn hwpx_section(s: &Sample) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?><hs:sec xmlns:hs=\"http://www.hancom.co.kr/hwpml/2011/section\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\" xmlns:hc=\"http://www.hancom.co.kr/hwpml/2011/core\">",
    );
    let secpr = "<hp:run charPrIDRef=\"0\"><hp:secPr id=\"\" textDirection=\"HORIZONTAL\" spaceColumns=\"1134\" tabStop=\"8000\"><hp:pagePr landscape=\"WIDELY\" width=\"59528\" height=\"84188\" gutterType=\"LEFT_ONLY\"><hp:margin header=\"4252\" footer=\"4252\" gutter=\"0\" left=\"8504\" right=\"8504\" top=\"5668\" bottom=\"4252\"/></hp:pagePr></hp:secPr></hp:run>";
    let mut id = 0;
    for (i, p) in s.paragraphs.iter().enumerate() {
        let pre = if i == 0 { secpr } else { "" };
        x.push_str(&hwpx_para(id, &format!("{pre}{}", hwpx_runs(p))));
        id += 1;
    }
    if !s.table.is_empty() {
        let cols = s.table.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut t = format!(
            "<hp:run charPrIDRef=\"0\"><hp:tbl id=\"1\" rowCnt=\"{}\" colCnt=\"{cols}\" cellSpacing=\"0\" borderFillIDRef=\"1\"><hp:sz width=\"40000\" height=\"3000\"/>",
            s.table.len()
        );
        for (ri, r) in s.table.iter().enumerate() {
            t.push_str("<hp:tr>");
            for (ci, c) in r.iter().enumerate() {
                t.push_str(&format!(
                    "<hp:tc name=\"\" header=\"0\" hasMargin=\"0\" protect=\"0\" editable=\"0\" dirty=\"0\" borderFillIDRef=\"1\"><hp:subList id=\"\" textDirection=\"HORIZONTAL\" lineWrap=\"BREAK\" vertAlign=\"CENTER\">{}</hp:subList><hp:cellAddr colAddr=\"{ci}\" rowAddr=\"{ri}\"/><hp:cellSpan colSpan=\"1\" rowSpan=\"1\"/><hp:cellSz width=\"20000\" height=\"1000\"/></hp:tc>",
                    hwpx_para(0, &hwpx_runs(c))
                ));
            }
            t.push_str("</hp:tr>");
        }
        t.push_str("</hp:tbl></hp:run>");
        x.push_str(&hwpx_para(id, &t));
        id += 1;
    }
    for p in s.after {
        x.push_str(&hwpx_para(id, &hwpx_runs(p)));
        id += 1;
    }
    x.push_str("</hs:sec>");
    x
}

/// An HWPX file of the sample.
pub fn hwpx(s: &Sample) -> Vec<u8> {
    hwpx_from_section(&hwpx_section(s), s)
}

/// An HWPX file with the given `section0.xml`, and the sample's title and
/// author in `content.hpf`.
pub fn hwpx_from_section(section: &str, s: &Sample) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let files: Vec<(&str, String)> = vec![
        ("mimetype", "application/hwp+zip".into()),
        (
            "version.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?><hv:HCFVersion xmlns:hv=\"http://www.hancom.co.kr/hwpml/2011/version\" tagetApplication=\"WORDPROCESSOR\" major=\"5\" minor=\"1\" micro=\"0\" buildNumber=\"1\" os=\"1\" xmlVersion=\"1.4\" application=\"Hancom Office Hangul\" appVersion=\"11.0.0.0\"/>".into(),
        ),
        (
            "META-INF/container.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?><ocf:container xmlns:ocf=\"urn:oasis:names:tc:opendocument:xmlns:container\" xmlns:hpf=\"http://www.hancom.co.kr/schema/2011/hpf\"><ocf:rootfiles><ocf:rootfile full-path=\"Contents/content.hpf\" media-type=\"application/hwpml-package+xml\"/></ocf:rootfiles></ocf:container>".into(),
        ),
        (
            "Contents/content.hpf",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?><opf:package xmlns:opf=\"http://www.idpf.org/2007/opf/\" version=\"\" unique-identifier=\"\" id=\"\"><opf:metadata><opf:title>{}</opf:title><opf:language>ko</opf:language><opf:meta name=\"creator\" content=\"text\">{}</opf:meta><opf:meta name=\"lastsaveby\" content=\"text\">{}</opf:meta></opf:metadata><opf:manifest><opf:item id=\"header\" href=\"Contents/header.xml\" media-type=\"application/xml\"/><opf:item id=\"section0\" href=\"Contents/section0.xml\" media-type=\"application/xml\"/></opf:manifest><opf:spine><opf:itemref idref=\"header\" linear=\"yes\"/><opf:itemref idref=\"section0\" linear=\"yes\"/></opf:spine></opf:package>",
                esc(s.title),
                esc(s.author),
                esc(s.author)
            ),
        ),
        (
            "Contents/header.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?><hh:head xmlns:hh=\"http://www.hancom.co.kr/hwpml/2011/head\" version=\"1.4\" secCnt=\"1\"><hh:beginNum page=\"1\" footnote=\"1\" endnote=\"1\" pic=\"1\" tbl=\"1\" equation=\"1\"/></hh:head>".into(),
        ),
        ("Contents/section0.xml", section.to_string()),
        (
            "Preview/PrvText.txt",
            format!("{}\r\n{}", s.title, s.author),
        ),
    ];
    for (i, (name, body)) in files.iter().enumerate() {
        z.start_file(*name, if i == 0 { stored } else { deflated })
            .expect("in memory");
        z.write_all(body.as_bytes()).expect("in memory");
    }
    z.finish().expect("in memory").into_inner()
}
