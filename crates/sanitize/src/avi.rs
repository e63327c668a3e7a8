//! AVI (RIFF `AVI `, with OpenDML `AVIX` extensions) cleaning.
//!
//! AVI indexes point at absolute or `movi`-relative byte offsets (`idx1`,
//! OpenDML `indx`/`ix##`), so the cleaner never moves a byte: every chunk that
//! is not needed for playback is turned, in place, into a `JUNK` chunk of the
//! same size with zeroed content. Offsets and indexes stay valid and the file
//! keeps its length (up to its logical end).
//!
//! * **Kept:** `LIST hdrl` with `avih`, `LIST strl` (`strh`, `strf`, `strd`,
//!   `indx`, `vprp`), `LIST odml` (`dmlh`); `LIST movi` with stream chunks
//!   (`00dc`, `01wb`, ...), index chunks (`ix00`) and `LIST rec `; `idx1`.
//! * **Blanked (turned into zeroed `JUNK`):** `LIST INFO` (ISFT, IART, ICMT,
//!   INAM, ICRD, ...), `IDIT` date chunks, `strn` stream names, camera maker
//!   lists (Nikon `ncdt`, ...), and every other chunk or list not listed above.
//! * **Zeroed:** the content of existing `JUNK` chunks (writers leave text in
//!   them, such as "[= MPlayer junk data! =]"), and pad bytes.
//! * Bytes after the last RIFF chunk (`AVI ` then any `AVIX`): trailer, removed.

use crate::bytes::printable;
use crate::{Category, Error, Finding, Format, Found, Options};

const F: Format = Format::Avi;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Riff,
    Avix,
    Hdrl,
    Strl,
    Odml,
    Movi,
    /// Inside a `LIST rec ` of `movi`: no further nesting.
    Rec,
}

fn le32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn id_str(id: &[u8]) -> String {
    id.iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

fn info_category(id: &[u8]) -> Category {
    match id {
        b"IART" | b"IENG" | b"ITCH" | b"ICMS" | b"ISRC" | b"ICOP" | b"IPRO" | b"IWRI" | b"IDIR"
        | b"IEDT" | b"ICNM" | b"IPDS" | b"ISTR" => Category::Person,
        b"ICRD" | b"IDIT" | b"ISMP" | b"IDAT" | b"DTIM" | b"YEAR" => Category::Time,
        b"ISFT" | b"IENC" => Category::Software,
        b"IARL" | b"ICNT" | b"ILOC" => Category::Location,
        _ => Category::Text,
    }
}

struct Walker<'a> {
    data: &'a [u8],
    out: Vec<u8>,
    found: &'a mut Found,
    has_hdrl: bool,
    has_movi: bool,
}

impl Walker<'_> {
    /// Turns the chunk at `q` (header included) into a zeroed JUNK chunk.
    fn blank(&mut self, q: usize, end: usize) {
        self.out[q..q + 4].copy_from_slice(b"JUNK");
        self.out[q + 8..end].fill(0);
    }

    /// Reports a chunk or list that is being blanked.
    fn report(&mut self, q: usize, dend: usize) {
        let id = &self.data[q..q + 4];
        let body = &self.data[q + 8..dend];
        if id == b"LIST" && body.len() >= 4 {
            let kind = &body[..4];
            let before = self.found.findings.len();
            if kind == b"INFO" {
                // Children: id, size, NUL-terminated text.
                let mut p = 4;
                while p + 8 <= body.len() {
                    let cid = &body[p..p + 4];
                    let n = le32(body, p + 4).unwrap_or(0) as usize;
                    let v = body
                        .get(p + 8..(p + 8).saturating_add(n).min(body.len()))
                        .unwrap_or(&[]);
                    self.found.add(
                        Finding::new(info_category(cid), format!("AVI INFO {}", id_str(cid)))
                            .value(printable(v))
                            .at(q + 8 + p),
                    );
                    p = p.saturating_add(8).saturating_add(n).saturating_add(n & 1);
                }
            }
            if self.found.findings.len() == before {
                self.found.add(
                    Finding::new(Category::Other, format!("AVI LIST {}", id_str(kind)))
                        .value(summary(&body[4..]))
                        .at(q),
                );
            }
            return;
        }
        let (cat, field) = match id {
            b"IDIT" => (Category::Time, "AVI IDIT date".to_string()),
            b"strn" => (Category::Text, "AVI strn stream name".to_string()),
            b"ISMP" => (Category::Time, "AVI ISMP timecode".to_string()),
            _ => (Category::Other, format!("AVI chunk '{}'", id_str(id))),
        };
        self.found
            .add(Finding::new(cat, field).value(summary(body)).at(q));
    }

    /// Walks the chunks in `[start, end)` of a list of kind `ctx`.
    fn walk(&mut self, start: usize, end: usize, ctx: Ctx) -> Result<(), Error> {
        let d = self.data;
        let mut q = start;
        while q < end {
            if end - q < 8 {
                return Err(Error::malformed(
                    F,
                    format!("chunk header at byte {q} runs past the end of its list"),
                ));
            }
            let id: [u8; 4] = d[q..q + 4].try_into().unwrap_or([0; 4]);
            let size = le32(d, q + 4).unwrap_or(0) as usize;
            let dstart = q + 8;
            let dend = dstart.checked_add(size).filter(|&e| e <= end).ok_or_else(|| {
                Error::malformed(
                    F,
                    format!(
                        "chunk '{}' at byte {q} runs past the end of its list ({size} bytes declared, {} left)",
                        id_str(&id),
                        end - dstart
                    ),
                )
            })?;
            // The pad byte after an odd-sized chunk; tolerate it missing at
            // the very end of the list.
            let next = (dend + (size & 1)).min(end);
            if next > dend {
                self.out[dend] = 0;
            }
            let list = if &id == b"LIST" {
                if size < 4 {
                    return Err(Error::malformed(
                        F,
                        format!("LIST at byte {q} is too short for its type"),
                    ));
                }
                Some(<[u8; 4]>::try_from(&d[dstart..dstart + 4]).unwrap_or([0; 4]))
            } else {
                None
            };
            let keep = match (ctx, list.as_ref()) {
                (_, None) if &id == b"JUNK" => {
                    let body = &d[dstart..dend];
                    if body.iter().any(|&c| c != 0) {
                        self.found.add(
                            Finding::new(Category::Other, "AVI JUNK padding content")
                                .value(summary(body))
                                .at(q),
                        );
                        self.out[dstart..dend].fill(0);
                    }
                    true
                }
                (Ctx::Riff, Some(b"hdrl")) if !self.has_hdrl && !self.has_movi => {
                    self.has_hdrl = true;
                    self.walk(dstart + 4, dend, Ctx::Hdrl)?;
                    true
                }
                (Ctx::Riff | Ctx::Avix, Some(b"movi")) => {
                    if ctx == Ctx::Riff {
                        if !self.has_hdrl || self.has_movi {
                            return Err(Error::malformed(
                                F,
                                format!("unexpected 'movi' list at byte {q}"),
                            ));
                        }
                        self.has_movi = true;
                    }
                    self.walk(dstart + 4, dend, Ctx::Movi)?;
                    true
                }
                (Ctx::Riff, None) => &id == b"idx1",
                (Ctx::Hdrl, Some(b"strl")) => {
                    self.walk(dstart + 4, dend, Ctx::Strl)?;
                    true
                }
                (Ctx::Hdrl, Some(b"odml")) => {
                    self.walk(dstart + 4, dend, Ctx::Odml)?;
                    true
                }
                (Ctx::Hdrl, None) => &id == b"avih",
                (Ctx::Strl, None) => matches!(&id, b"strh" | b"strf" | b"strd" | b"indx" | b"vprp"),
                (Ctx::Odml, None) => &id == b"dmlh",
                (Ctx::Movi, Some(b"rec ")) => {
                    self.walk(dstart + 4, dend, Ctx::Rec)?;
                    true
                }
                (Ctx::Movi | Ctx::Rec, None) => is_stream_chunk(&id),
                _ => false,
            };
            if !keep {
                self.report(q, dend);
                self.blank(q, next);
            }
            q = next;
        }
        Ok(())
    }
}

/// `##xx` stream data (two decimal digits, two letters) or `ix##` index.
fn is_stream_chunk(id: &[u8; 4]) -> bool {
    (id[0].is_ascii_digit()
        && id[1].is_ascii_digit()
        && id[2].is_ascii_alphabetic()
        && id[3].is_ascii_alphabetic())
        || (&id[..2] == b"ix" && id[2].is_ascii_digit() && id[3].is_ascii_digit())
}

/// A short readable summary of a blanked chunk's content.
fn summary(b: &[u8]) -> String {
    let p = printable(&b[..b.len().min(400)]);
    if p.is_empty() {
        format!("{} bytes", b.len())
    } else {
        p
    }
}

pub(crate) fn clean(data: &[u8], _opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    let mut w = Walker {
        data,
        out: data.to_vec(),
        found,
        has_hdrl: false,
        has_movi: false,
    };
    let mut p = 0;
    let mut first = true;
    while p < data.len() {
        let form = data.get(p + 8..p + 12);
        let is_riff = data.get(p..p + 4) == Some(b"RIFF");
        let ok = is_riff && form == Some(if first { b"AVI " } else { b"AVIX" });
        if !ok {
            if first {
                return Err(Error::malformed(F, "no RIFF 'AVI ' header at byte 0"));
            }
            w.found
                .add(Finding::trailer("data after the last RIFF chunk", data, p));
            break;
        }
        let size = le32(data, p + 4).unwrap_or(0) as usize;
        let end = (p + 8).checked_add(size).filter(|&e| e <= data.len() && size >= 4).ok_or_else(|| {
            Error::malformed(
                F,
                format!(
                    "RIFF chunk at byte {p} runs past the end of the file ({size} bytes declared, {} left)",
                    data.len() - p - 8
                ),
            )
        })?;
        w.walk(p + 12, end, if first { Ctx::Riff } else { Ctx::Avix })?;
        if first && !(w.has_hdrl && w.has_movi) {
            return Err(Error::malformed(
                F,
                "the RIFF 'AVI ' chunk lacks its 'hdrl' header list or 'movi' data list",
            ));
        }
        p = (end + (size & 1)).min(data.len());
        if p > end {
            w.out[end] = 0;
        }
        first = false;
    }
    if first {
        return Err(Error::malformed(F, "no RIFF 'AVI ' header at byte 0"));
    }
    let mut out = w.out;
    out.truncate(p);
    Ok(out)
}
