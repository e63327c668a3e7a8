//! WebP cleaning.
//!
//! The RIFF container is walked chunk by chunk (animation frames in ANMF
//! included) and rebuilt with the RIFF size recomputed and padding bytes zeroed.
//! Kept: VP8, VP8L, ALPH, ANIM, ANMF (with only ALPH/VP8/VP8L inside), and VP8X
//! rebuilt with the EXIF and XMP flags and reserved bits cleared. ICCP is kept
//! only with [`Options::keep_icc`] (the VP8X ICC flag follows). Removed and
//! reported: EXIF, XMP and every unknown chunk. Bytes after the end the RIFF
//! size gives are reported and removed.

use crate::bytes::{Reader, printable};
use crate::{Category, Error, Finding, Format, Found, Options, jpeg};

const F: Format = Format::Webp;

struct Chunk<'a> {
    id: [u8; 4],
    body: &'a [u8],
    at: usize,
}

/// Reads the chunks of `data[start..end]`.
fn chunks(data: &[u8], start: usize, end: usize) -> Result<Vec<Chunk<'_>>, Error> {
    let mut r = Reader::at(&data[..end], start, F);
    let mut v = Vec::new();
    while !r.is_empty() {
        let at = r.pos();
        let id: [u8; 4] = r.take(4, "chunk header")?.try_into().expect("4 bytes");
        let size = r.u32_le("chunk size")? as usize;
        let body = r.take(size, "chunk data")?;
        if size % 2 == 1 {
            r.skip(1, "chunk padding")?;
        }
        v.push(Chunk { id, body, at });
    }
    Ok(v)
}

fn put_chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

fn name(id: &[u8; 4]) -> String {
    printable(id)
}

pub(crate) fn clean(data: &[u8], opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    if data.len() < 12 || &data[..4] != b"RIFF" || &data[8..12] != b"WEBP" {
        return Err(Error::malformed(F, "no RIFF/WEBP header at byte 0"));
    }
    let size = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let end = size.checked_add(8).filter(|&e| e <= data.len() && e >= 12);
    let Some(end) = end else {
        return Err(Error::malformed(
            F,
            format!(
                "RIFF size at byte 4 ({size}) runs past the end ({} bytes in file)",
                data.len()
            ),
        ));
    };
    let list = chunks(data, 12, end)?;
    let Some(first) = list.first() else {
        return Err(Error::malformed(F, "no chunks after the header at byte 12"));
    };
    let extended = match &first.id {
        b"VP8X" => true,
        b"VP8 " | b"VP8L" => false,
        id => {
            return Err(Error::malformed(
                F,
                format!(
                    "first chunk at byte 12 is '{}', not VP8/VP8L/VP8X",
                    name(id)
                ),
            ));
        }
    };
    let mut body = b"WEBP".to_vec();
    let mut vp8x_flags = 0u8;
    let mut icc_kept = false;
    let mut has_image = false;
    let mut vp8x_at = None;
    for (k, c) in list.iter().enumerate() {
        match &c.id {
            b"VP8X" if k == 0 => {
                if c.body.len() < 10 {
                    return Err(Error::malformed(
                        F,
                        format!("VP8X chunk at byte {} is shorter than 10 bytes", c.at),
                    ));
                }
                if c.body.len() > 10 {
                    found.add(
                        Finding::new(Category::Other, "WebP VP8X extra bytes")
                            .value(format!("{} bytes", c.body.len() - 10))
                            .at(c.at),
                    );
                }
                // Alpha and animation flags survive; ICC is set below if kept.
                vp8x_flags = c.body[0] & (0x10 | 0x02);
                vp8x_at = Some(body.len());
                put_chunk(&mut body, b"VP8X", &c.body[..10]);
            }
            b"VP8 " | b"VP8L" => {
                has_image = true;
                put_chunk(&mut body, &c.id, c.body);
            }
            b"ALPH" | b"ANIM" if extended => put_chunk(&mut body, &c.id, c.body),
            b"ANMF" if extended => {
                has_image = true;
                let frame = anmf(c, found)?;
                put_chunk(&mut body, b"ANMF", &frame);
            }
            b"ICCP" if extended && opts.keep_icc => {
                icc_kept = true;
                put_chunk(&mut body, b"ICCP", c.body);
            }
            id => report(id, c, found),
        }
    }
    if !has_image {
        return Err(Error::malformed(F, "no image data (VP8/VP8L/ANMF chunk)"));
    }
    if let Some(v) = vp8x_at {
        // Rebuild the flags byte and zero the 24 reserved bits.
        let flags = vp8x_flags | if icc_kept { 0x20 } else { 0 };
        body[v + 8] = flags;
        body[v + 9..v + 12].fill(0);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    if end < data.len() {
        found.add(Finding::trailer("data after WebP RIFF end", data, end));
    }
    Ok(out)
}

/// Rebuilds an animation frame with only its picture chunks.
fn anmf(c: &Chunk, found: &mut Found) -> Result<Vec<u8>, Error> {
    if c.body.len() < 16 {
        return Err(Error::malformed(
            F,
            format!("ANMF chunk at byte {} is shorter than 16 bytes", c.at),
        ));
    }
    let start = c.at + 8;
    // The chunk body as a slice of the whole file keeps error offsets right;
    // rebuild a view: offsets are relative to the frame body.
    let inner = chunks(c.body, 16, c.body.len())
        .map_err(|e| Error::malformed(F, format!("in ANMF frame at byte {}: {e}", c.at)))?;
    let mut out = c.body[..16].to_vec();
    for s in inner {
        match &s.id {
            b"ALPH" | b"VP8 " | b"VP8L" => put_chunk(&mut out, &s.id, s.body),
            id => report(
                id,
                &Chunk {
                    id: *id,
                    body: s.body,
                    at: start + s.at,
                },
                found,
            ),
        }
    }
    Ok(out)
}

fn report(id: &[u8; 4], c: &Chunk, found: &mut Found) {
    match id {
        b"EXIF" => {
            found.add(
                Finding::new(Category::Other, "WebP EXIF")
                    .value(format!("{} bytes", c.body.len()))
                    .at(c.at),
            );
            // Some writers keep JPEG's "Exif\0\0" prefix.
            let tiff = c.body.strip_prefix(b"Exif\0\0").unwrap_or(c.body);
            let skip = c.body.len() - tiff.len();
            jpeg::report_exif(tiff, c.at + 8 + skip, "EXIF", found);
        }
        b"XMP " => {
            found.add(
                Finding::new(Category::Other, "WebP XMP")
                    .value(format!("{} bytes", c.body.len()))
                    .at(c.at),
            );
            jpeg::report_xmp(c.body, "XMP", c.at, found);
        }
        b"ICCP" => found.add(
            Finding::new(Category::Other, "WebP ICC profile")
                .value(jpeg::icc_summary(c.body))
                .at(c.at),
        ),
        _ => found.add(
            Finding::new(Category::Other, format!("WebP chunk '{}'", name(id)))
                .value(format!("{} bytes", c.body.len()))
                .at(c.at),
        ),
    }
}
