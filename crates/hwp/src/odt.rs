//! The flat OpenDocument text (`.fodt`) LibreOffice is given: one XML file
//! written here from the [`Doc`] alone, every character escaped, nothing
//! that XML 1.0 cannot hold, no metadata.

use crate::{Block, Doc, Page, Table};
use std::fmt::Write;

/// A page of `w` x `h` mm with those margins, or `None` when it is not
/// 10 mm to 2 m a side with at least 10 mm inside the margins each way.
pub(crate) fn page(w: f32, h: f32, left: f32, right: f32, top: f32, bottom: f32) -> Option<Page> {
    let side = |v: f32| v.is_finite() && (10.0..=2000.0).contains(&v);
    let margin = |v: f32| v.is_finite() && (0.0..=1000.0).contains(&v);
    if !(side(w) && side(h) && [left, right, top, bottom].into_iter().all(margin)) {
        return None;
    }
    if w - left - right < 10.0 || h - top - bottom < 10.0 {
        return None;
    }
    Some(Page {
        width: w,
        height: h,
        left,
        right,
        top,
        bottom,
    })
}

/// A4 with HWP's default margins (30 mm left and right, 20 + 15 mm top,
/// 15 + 15 mm bottom).
const DEFAULT_PAGE: Page = Page {
    width: 210.0,
    height: 297.0,
    left: 30.0,
    right: 30.0,
    top: 35.0,
    bottom: 30.0,
};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:font-face-decls><style:font-face style:name="NanumGothic" svg:font-family="NanumGothic"/></office:font-face-decls>
<office:styles><style:default-style style:family="paragraph"><style:paragraph-properties fo:margin-bottom="1mm"/><style:text-properties style:font-name="NanumGothic" style:font-name-asian="NanumGothic" style:font-name-complex="NanumGothic" fo:font-size="10pt" style:font-size-asian="10pt" style:font-size-complex="10pt" fo:language="ko" fo:country="KP" style:language-asian="ko" style:country-asian="KP"/></style:default-style>
<style:style style:name="Standard" style:family="paragraph"/></office:styles>
<office:automatic-styles><style:style style:name="Tbl" style:family="table"><style:table-properties table:align="margins" fo:margin-top="1mm" fo:margin-bottom="2mm"/></style:style><style:style style:name="Cell" style:family="table-cell"><style:table-cell-properties fo:border="0.5pt solid #000000" fo:padding="1mm"/></style:style>
"#;

/// The document as a flat ODT.
pub fn to_fodt(doc: &Doc) -> String {
    let p = doc.page.unwrap_or(DEFAULT_PAGE);
    let mut s = String::from(HEAD);
    let _ = writeln!(
        s,
        "<style:page-layout style:name=\"PM\"><style:page-layout-properties fo:page-width=\"{:.2}mm\" fo:page-height=\"{:.2}mm\" fo:margin-left=\"{:.2}mm\" fo:margin-right=\"{:.2}mm\" fo:margin-top=\"{:.2}mm\" fo:margin-bottom=\"{:.2}mm\" style:print-orientation=\"{}\"/></style:page-layout></office:automatic-styles>",
        p.width,
        p.height,
        p.left,
        p.right,
        p.top,
        p.bottom,
        if p.width > p.height {
            "landscape"
        } else {
            "portrait"
        }
    );
    s.push_str("<office:master-styles><style:master-page style:name=\"Standard\" style:page-layout-name=\"PM\"/></office:master-styles>\n<office:body><office:text>\n");
    let mut n = 0;
    blocks(&mut s, &doc.blocks, &mut n);
    s.push_str("</office:text></office:body></office:document>\n");
    s
}

fn blocks(s: &mut String, bs: &[Block], tables: &mut usize) {
    for b in bs {
        match b {
            Block::Para(t) => para(s, t),
            Block::Table(t) => table(s, t, tables),
        }
    }
}

fn para(s: &mut String, t: &str) {
    s.push_str("<text:p text:style-name=\"Standard\">");
    let mut spaces = 0usize;
    let mut at_start = true;
    let flush = |s: &mut String, spaces: &mut usize, at_start: bool| {
        // XML collapses runs of spaces: the first is a space unless it
        // starts the paragraph, the rest <text:s/>.
        if *spaces > 0 {
            let rest = if at_start {
                *spaces
            } else {
                s.push(' ');
                *spaces - 1
            };
            if rest > 0 {
                let _ = write!(s, "<text:s text:c=\"{rest}\"/>");
            }
            *spaces = 0;
        }
    };
    for c in t.chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        flush(s, &mut spaces, at_start);
        at_start = false;
        match c {
            '\t' => s.push_str("<text:tab/>"),
            '\n' => {
                s.push_str("<text:line-break/>");
                at_start = true;
            }
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => s.push(c),
        }
    }
    flush(s, &mut spaces, at_start);
    s.push_str("</text:p>\n");
}

fn table(s: &mut String, t: &Table, n: &mut usize) {
    if t.rows == 0 || t.cols == 0 {
        return;
    }
    *n += 1;
    let (rows, cols) = (t.rows as usize, t.cols as usize);
    // Each place: the cell that starts there, or covered by another.
    #[derive(Clone, Copy)]
    enum At {
        Empty,
        Start(usize),
        Covered,
    }
    let mut grid = vec![At::Empty; rows * cols];
    for (i, c) in t.cells.iter().enumerate() {
        let (r0, c0) = (c.row as usize, c.col as usize);
        let (r1, c1) = (
            (r0 + c.row_span.max(1) as usize).min(rows),
            (c0 + c.col_span.max(1) as usize).min(cols),
        );
        if r0 >= rows || c0 >= cols || !matches!(grid[r0 * cols + c0], At::Empty) {
            continue;
        }
        for r in r0..r1 {
            for k in c0..c1 {
                grid[r * cols + k] = At::Covered;
            }
        }
        grid[r0 * cols + c0] = At::Start(i);
    }
    let _ = writeln!(
        s,
        "<table:table table:name=\"Table{n}\" table:style-name=\"Tbl\"><table:table-column table:number-columns-repeated=\"{cols}\"/>"
    );
    for r in 0..rows {
        s.push_str("<table:table-row>");
        for k in 0..cols {
            match grid[r * cols + k] {
                At::Covered => s.push_str("<table:covered-table-cell/>"),
                At::Empty => s.push_str(
                    "<table:table-cell table:style-name=\"Cell\" office:value-type=\"string\"><text:p/></table:table-cell>",
                ),
                At::Start(i) => {
                    let c = &t.cells[i];
                    let _ = write!(
                        s,
                        "<table:table-cell table:style-name=\"Cell\" office:value-type=\"string\" table:number-rows-spanned=\"{}\" table:number-columns-spanned=\"{}\">",
                        (c.row_span.max(1) as usize).min(rows - r),
                        (c.col_span.max(1) as usize).min(cols - k)
                    );
                    if c.blocks.is_empty() {
                        s.push_str("<text:p/>");
                    }
                    blocks(s, &c.blocks, n);
                    s.push_str("</table:table-cell>");
                }
            }
        }
        s.push_str("</table:table-row>\n");
    }
    s.push_str("</table:table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cell;

    #[test]
    fn escapes_and_spaces() {
        let d = Doc {
            page: None,
            blocks: vec![Block::Para(" a  b<&>\"\u{1}\u{FFFF}\t평양\n  x".into())],
        };
        let x = to_fodt(&d);
        assert!(
            x.contains("<text:p text:style-name=\"Standard\"><text:s text:c=\"1\"/>a <text:s text:c=\"1\"/>b&lt;&amp;&gt;&quot;<text:tab/>평양<text:line-break/><text:s text:c=\"2\"/>x</text:p>"),
            "{x}"
        );
        assert!(x.contains("fo:page-width=\"210.00mm\""));
    }

    #[test]
    fn spans_become_covered_cells() {
        let cell = |row, col, rs, cs, t: &str| Cell {
            row,
            col,
            row_span: rs,
            col_span: cs,
            blocks: vec![Block::Para(t.into())],
        };
        let t = Table {
            rows: 2,
            cols: 2,
            cells: vec![cell(0, 0, 1, 2, "머리"), cell(1, 1, 1, 1, "끝")],
        };
        let mut s = String::new();
        table(&mut s, &t, &mut 0);
        assert_eq!(s.matches("<table:covered-table-cell/>").count(), 1);
        assert_eq!(s.matches("<text:p/>").count(), 1);
        assert!(s.contains("table:number-columns-spanned=\"2\""));
    }
}
