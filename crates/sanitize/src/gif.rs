//! GIF cleaning.
//!
//! The block structure is parsed in full: header, logical screen descriptor,
//! global colour table, then extensions and image descriptors (local colour
//! table, LZW minimum code size, data sub-blocks) up to the trailer `3B`.
//!
//! Kept: header, screen, colour tables, images, graphic control extensions and
//! the looping extension (`NETSCAPE2.0` / `ANIMEXTS1.0`, rebuilt with only its
//! loop-count sub-block). Removed and reported: comment extensions, plain-text
//! extensions, every other application extension (XMP, ICC, editors' private
//! data) and unknown extensions. Bytes after the trailer are reported and
//! removed.

use crate::bytes::{Reader, printable};
use crate::{Category, Error, Finding, Format, Found, Options, jpeg};

const F: Format = Format::Gif;

/// Reads data sub-blocks up to and including the terminator; returns the
/// concatenated data.
fn sub_blocks(r: &mut Reader, what: &str) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    loop {
        let n = r.u8(what)? as usize;
        if n == 0 {
            return Ok(v);
        }
        v.extend_from_slice(r.take(n, what)?);
    }
}

pub(crate) fn clean(data: &[u8], _opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    if !(data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) {
        return Err(Error::malformed(F, "no GIF87a/GIF89a header at byte 0"));
    }
    let mut r = Reader::at(data, 6, F);
    let screen = r.take(7, "logical screen descriptor")?;
    let packed = screen[4];
    if packed & 0x80 != 0 {
        r.skip(3 << ((packed & 7) + 1), "global colour table")?;
    }
    let mut out = data[..r.pos()].to_vec();
    let mut kept_loop = false;
    loop {
        let at = r.pos();
        if r.is_empty() {
            return Err(Error::malformed(
                F,
                format!("file ends at byte {at} before the GIF trailer (3B)"),
            ));
        }
        match r.u8("block")? {
            0x3B => {
                out.push(0x3B);
                break;
            }
            0x2C => {
                let d = r.take(9, "image descriptor")?;
                if d[8] & 0x80 != 0 {
                    r.skip(3 << ((d[8] & 7) + 1), "local colour table")?;
                }
                let code_size = r.u8("LZW minimum code size")?;
                if !(1..=11).contains(&code_size) {
                    return Err(Error::malformed(
                        F,
                        format!("LZW minimum code size {code_size} at byte {}", r.pos() - 1),
                    ));
                }
                sub_blocks(&mut r, "image data")?;
                out.extend_from_slice(&data[at..r.pos()]);
            }
            0x21 => {
                let label = r.u8("extension label")?;
                match label {
                    0xF9 => {
                        // Rebuilt from its four fields: nothing can ride along.
                        let v = sub_blocks(&mut r, "graphic control extension")?;
                        if v.len() != 4 {
                            found.add(
                                Finding::new(
                                    Category::Other,
                                    "GIF graphic control extension of wrong size",
                                )
                                .value(format!("{} bytes", v.len()))
                                .at(at),
                            );
                        }
                        if v.len() >= 4 {
                            out.extend_from_slice(&[0x21, 0xF9, 4]);
                            out.extend_from_slice(&v[..4]);
                            out.push(0);
                        }
                    }
                    0xFE => {
                        let v = sub_blocks(&mut r, "comment extension")?;
                        found.add(
                            Finding::new(Category::Text, "GIF comment")
                                .value(printable(&v))
                                .at(at),
                        );
                    }
                    0x01 => {
                        let v = sub_blocks(&mut r, "plain text extension")?;
                        found.add(
                            Finding::new(Category::Text, "GIF plain text extension")
                                .value(printable(v.get(12..).unwrap_or(&[])))
                                .at(at),
                        );
                    }
                    0xFF => {
                        let body_at = r.pos();
                        let v = sub_blocks(&mut r, "application extension")?;
                        let raw = &data[body_at..r.pos()];
                        let id = v.get(..11).unwrap_or(&v);
                        application(id, &v, raw, at, found, &mut out, &mut kept_loop);
                    }
                    _ => {
                        let v = sub_blocks(&mut r, "extension")?;
                        found.add(
                            Finding::new(Category::Other, format!("GIF extension 0x{label:02X}"))
                                .value(format!("{} bytes", v.len()))
                                .at(at),
                        );
                    }
                }
            }
            b => {
                return Err(Error::malformed(
                    F,
                    format!("unknown block type 0x{b:02x} at byte {at}"),
                ));
            }
        }
    }
    let end = r.pos();
    if end < data.len() {
        found.add(Finding::trailer("data after GIF trailer", data, end));
    }
    Ok(out)
}

/// An application extension: the loop count is kept (once), all else removed.
/// `v` is the concatenated sub-block data (identifier first), `raw` the
/// sub-blocks as stored (XMP is stored raw in them).
fn application(
    id: &[u8],
    v: &[u8],
    raw: &[u8],
    at: usize,
    found: &mut Found,
    out: &mut Vec<u8>,
    kept_loop: &mut bool,
) {
    let looping = id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0";
    // The stored form must start with the 11-byte identifier block.
    if looping && raw.first() == Some(&11) {
        // Sub-blocks after the identifier, as stored.
        let mut i = 12usize;
        let mut loop_count = None;
        let mut extra = false;
        while let Some(&n) = raw.get(i) {
            if n == 0 {
                break;
            }
            let blk = raw.get(i + 1..i + 1 + n as usize).unwrap_or(&[]);
            if n == 3 && blk.first() == Some(&1) && loop_count.is_none() {
                loop_count = Some([blk[1], blk[2]]);
            } else {
                extra = true;
            }
            i += 1 + n as usize;
        }
        if let (Some(lc), false) = (loop_count, *kept_loop) {
            *kept_loop = true;
            out.extend_from_slice(&[0x21, 0xFF, 11]);
            out.extend_from_slice(id);
            out.extend_from_slice(&[3, 1, lc[0], lc[1], 0]);
            if extra {
                found.add(
                    Finding::new(Category::Other, format!("GIF {} extra data", printable(id)))
                        .at(at),
                );
            }
            return;
        }
    }
    let name = printable(id);
    found.add(
        Finding::new(Category::Other, format!("GIF application extension {name}"))
            .value(format!("{} bytes", v.len()))
            .at(at),
    );
    if id == b"XMP DataXMP" {
        jpeg::report_xmp(raw.get(12..).unwrap_or(&[]), "XMP", at, found);
    }
}
