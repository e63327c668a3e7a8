//! HWP 5 and HWPX (Hangul word processor) documents read into paragraphs and
//! tables, and written out as a flat OpenDocument text (`.fodt`) that
//! LibreOffice renders.
//!
//! LibreOffice reads only HWP 97 (3.x) files; North Korean and South Korean
//! offices write HWP 5 (an OLE/CFB file of zlib-compressed record streams)
//! and HWPX (a ZIP of OWPML XML). The vault ([`baram-vault`]) runs this
//! reader **only inside its sandbox** (`baram __hwp-render IN OUT`): the
//! input is hostile, and what comes out is a document of our own making
//! (text, line breaks, tabs, tables with their spans, the first section's
//! page size and margins) that LibreOffice then turns into a PDF in the same
//! sandbox, and the vault into page images.
//!
//! What is read, and what is not:
//!
//! - HWP 5: `FileHeader` (signature, version 5, flags; password-protected,
//!   distribution (copy-protected) and DRM documents are refused), every
//!   `BodyText/SectionN` stream (raw deflate when the header says so,
//!   inflated under a cap and required to end where the stream says), its
//!   records (tag, level, size; a size past the end or a level that skips
//!   one is refused), paragraphs (`PARA_HEADER`/`PARA_TEXT` with the
//!   character, inline and extended controls of the format), tables
//!   (`CTRL_HEADER` `tbl `, `TABLE`, each cell's `LIST_HEADER` with its
//!   address and spans and the paragraphs after it), the paragraphs of any
//!   other list (headers, footers, footnotes, text boxes) after the
//!   paragraph that holds them, and `PAGE_DEF`.
//!   `DocInfo`, `\x05HwpSummaryInformation` (author, title, dates),
//!   `PrvText`, `PrvImage`, scripts and `BinData` are **never read**: nothing
//!   of them can reach the output.
//! - HWPX: `Contents/section0.xml`, `section1.xml`, … (`hp:p`, `hp:t` with
//!   `hp:tab` and `hp:lineBreak`, `hp:tbl`/`hp:tc` with `hp:cellAddr` and
//!   `hp:cellSpan`, `hp:pagePr`/`hp:margin` of the first section). Every
//!   member is read under a size cap; a DTD or an entity other than XML's
//!   five is refused. `header.xml`, `content.hpf` (its metadata: author,
//!   dates), `settings.xml`, scripts and `BinData/` are never read.
//! - Not drawn (yet): pictures and drawn shapes (their text boxes are
//!   read), the original's fonts, sizes, colours, alignment and line
//!   spacing, columns, and sections' own page sizes after the first.
//!
//! Written by hand on `cfb` (the container), `flate2` and `zip`, and
//! `quick-xml` (a pull parser): the `hwpers` crate (the small HWP crate on
//! crates.io) was read and not used, because its HWP 5 body reader names
//! the record tags wrongly (it takes `PARA_HEADER` 0x42 for a section
//! definition, so a document's first paragraph is lost, and `PARA_TEXT`
//! 0x43 for a column definition), returns a stream that does not inflate
//! as if it were not compressed, and has no table structure; the larger
//! `rhwp` engine is not in the registry here and is an editor with a
//! build script. [`read`] never panics on any input (fuzzed:
//! `fuzz/fuzz_targets/hwp.rs`).
//!
//! [`baram-vault`]: ../baram_vault/index.html

pub mod fixtures;
mod hwp5;
mod hwpx;
mod odt;

pub use odt::to_fodt;

/// A document as read: its blocks and the page of its first section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub page: Option<Page>,
    pub blocks: Vec<Block>,
}

/// Page size and margins in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Page {
    pub width: f32,
    pub height: f32,
    pub left: f32,
    pub right: f32,
    pub top: f32,
    pub bottom: f32,
}

/// A paragraph (text with `\t` and `\n`), or a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Para(String),
    Table(Table),
}

/// A table: its grid size and cells (each at its address, with its spans).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub rows: u16,
    pub cols: u16,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub row: u16,
    pub col: u16,
    pub row_span: u16,
    pub col_span: u16,
    pub blocks: Vec<Block>,
}

/// Why a document was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not an HWP 5 or HWPX file at all.
    #[error("not an HWP 5 or HWPX document")]
    NotHwp,
    /// A well-formed document of a kind this reader does not handle.
    #[error("{0}: not supported")]
    Unsupported(String),
    /// A damaged or hostile file: what is wrong and where.
    #[error("a malformed {format} document: {what}")]
    Malformed { format: &'static str, what: String },
    /// Over one of [`Limits`].
    #[error("{0}")]
    Limit(String),
}

/// Caps on what a document may make this reader do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes one stream or ZIP member may inflate to.
    pub max_stream: u64,
    /// Bytes all of them together may inflate to.
    pub max_total: u64,
    /// Sections read.
    pub max_sections: usize,
    /// Cells (rows x columns) of one table.
    pub max_table_cells: u64,
    /// Nesting of tables and lists in each other.
    pub max_depth: usize,
    /// Characters of text in all.
    pub max_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stream: 256 << 20,
            max_total: 1 << 30,
            max_sections: 1000,
            max_table_cells: 250_000,
            max_depth: 64,
            max_text: 64 << 20,
        }
    }
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Reads an HWP 5 (OLE/CFB) or HWPX (ZIP) document, told apart by its
/// first bytes.
pub fn read(data: &[u8], limits: &Limits) -> Result<Doc, Error> {
    if data.starts_with(&CFB_MAGIC) {
        hwp5::read(data, limits)
    } else if data.starts_with(b"PK\x03\x04") {
        hwpx::read(data, limits)
    } else {
        Err(Error::NotHwp)
    }
}

/// [`read`] and [`to_fodt`]: the flat ODT LibreOffice is given.
pub fn convert(data: &[u8], limits: &Limits) -> Result<String, Error> {
    Ok(to_fodt(&read(data, limits)?))
}

impl Doc {
    /// The text of every paragraph, tables' cells row by row, one paragraph
    /// a line (for tests and the fuzz target).
    pub fn text(&self) -> String {
        fn walk(blocks: &[Block], out: &mut String) {
            for b in blocks {
                match b {
                    Block::Para(t) => {
                        out.push_str(t);
                        out.push('\n');
                    }
                    Block::Table(t) => {
                        for c in &t.cells {
                            walk(&c.blocks, out);
                        }
                    }
                }
            }
        }
        let mut s = String::new();
        walk(&self.blocks, &mut s);
        s
    }
}

/// Checks a table read from a document: every cell inside the grid, spans
/// at least one, no two cells on one place, and the grid under the cap.
/// Cells are sorted by row and column.
fn check_table(t: &mut Table, limits: &Limits, format: &'static str) -> Result<(), Error> {
    let bad = |what: String| Error::Malformed { format, what };
    let n = t.rows as u64 * t.cols as u64;
    if n > limits.max_table_cells {
        return Err(Error::Limit(format!(
            "a table of {} x {} cells: over the limit of {} cells",
            t.rows, t.cols, limits.max_table_cells
        )));
    }
    if n == 0 {
        if t.cells.is_empty() {
            return Ok(());
        }
        return Err(bad("a table of no rows or columns has cells".into()));
    }
    let mut taken = vec![false; n as usize];
    for c in &mut t.cells {
        c.row_span = c.row_span.max(1);
        c.col_span = c.col_span.max(1);
        let (r1, c1) = (
            c.row as u32 + c.row_span as u32,
            c.col as u32 + c.col_span as u32,
        );
        if r1 > t.rows as u32 || c1 > t.cols as u32 {
            return Err(bad(format!(
                "a table cell at row {} column {} (span {} x {}) is outside its {} x {} table",
                c.row, c.col, c.row_span, c.col_span, t.rows, t.cols
            )));
        }
        for r in c.row as u32..r1 {
            for k in c.col as u32..c1 {
                let i = (r * t.cols as u32 + k) as usize;
                if taken[i] {
                    return Err(bad(format!("two table cells cover row {r} column {k}")));
                }
                taken[i] = true;
            }
        }
    }
    t.cells.sort_by_key(|c| (c.row, c.col));
    Ok(())
}

/// Text kept from a document: controls other than tab and line break
/// become nothing (XML cannot hold them), and the total is counted.
struct TextBudget {
    left: usize,
}

impl TextBudget {
    fn take(&mut self, n: usize) -> Result<(), Error> {
        if n > self.left {
            return Err(Error::Limit(
                "more text than the limit for one document".into(),
            ));
        }
        self.left -= n;
        Ok(())
    }
}
