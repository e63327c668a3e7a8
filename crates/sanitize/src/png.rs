//! PNG cleaning.
//!
//! The chunk list is walked from the signature to IEND; every length and CRC is
//! checked (a bad CRC is a malformed file). Kept verbatim: the chunks needed to
//! show the picture right, IHDR, PLTE, IDAT, IEND, tRNS, gAMA, cHRM, sRGB, sBIT,
//! pHYs, cICP, and the APNG animation chunks acTL, fcTL, fdAT. iCCP is kept only
//! with [`Options::keep_icc`]. Everything else is removed and reported: tEXt,
//! zTXt, iTXt (including XMP), eXIf, tIME, and any other ancillary chunk. An
//! unknown *critical* chunk is refused (a viewer could not show the file
//! either). Bytes after IEND are reported and removed.

use crate::bytes::{Reader, printable};
use crate::{Category, Error, Finding, Format, Found, Options, jpeg};
use std::io::Read;

const F: Format = Format::Png;
const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Chunks needed for display (or animation) and harmless.
const KEEP: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"pHYs",
    b"cICP", b"acTL", b"fcTL", b"fdAT",
];

pub(crate) fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (n, e) in t.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = t[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

pub(crate) fn clean(data: &[u8], opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    if !data.starts_with(SIG) {
        return Err(Error::malformed(F, "no PNG signature at byte 0"));
    }
    let mut r = Reader::at(data, SIG.len(), F);
    let mut out = SIG.to_vec();
    let mut first = true;
    loop {
        let at = r.pos();
        if r.is_empty() {
            return Err(Error::malformed(
                F,
                format!("file ends at byte {at} before the IEND chunk"),
            ));
        }
        let len = r.u32_be("chunk length")? as usize;
        if len > 0x7FFF_FFFF {
            return Err(Error::malformed(
                F,
                format!("chunk at byte {at} has an impossible length {len}"),
            ));
        }
        let ty: [u8; 4] = r.take(4, "chunk type")?.try_into().expect("4 bytes");
        if !ty.iter().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::malformed(
                F,
                format!("chunk at byte {at} has an invalid type {:02x?}", ty),
            ));
        }
        let body = r.take(len, "chunk data")?;
        let crc = r.u32_be("chunk CRC")?;
        let whole = &data[at..r.pos()];
        if crc32(&whole[4..8 + len]) != crc {
            return Err(Error::malformed(
                F,
                format!(
                    "chunk {} at byte {at} has a bad CRC",
                    String::from_utf8_lossy(&ty)
                ),
            ));
        }
        if first && &ty != b"IHDR" {
            return Err(Error::malformed(F, "first chunk (byte 8) is not IHDR"));
        }
        if first && len != 13 {
            return Err(Error::malformed(F, "IHDR at byte 8 is not 13 bytes long"));
        }
        if !first && &ty == b"IHDR" {
            return Err(Error::malformed(F, format!("second IHDR at byte {at}")));
        }
        first = false;
        let name = String::from_utf8_lossy(&ty).to_string();
        if &ty == b"IEND" {
            if len != 0 {
                return Err(Error::malformed(
                    F,
                    format!("IEND at byte {at} is not empty"),
                ));
            }
            out.extend_from_slice(whole);
            break;
        }
        if KEEP.contains(&&ty) || (&ty == b"iCCP" && opts.keep_icc) {
            out.extend_from_slice(whole);
            continue;
        }
        if ty[0].is_ascii_uppercase() {
            return Err(Error::unsupported(
                F,
                format!("unknown critical chunk {name} at byte {at}"),
            ));
        }
        report(&ty, body, at, found);
    }
    let end = r.pos();
    if end < data.len() {
        found.add(Finding::trailer("data after PNG IEND", data, end));
    }
    Ok(out)
}

fn text_category(keyword: &str) -> Category {
    match keyword {
        "Author" | "Copyright" | "Artist" => Category::Person,
        "Creation Time" | "Date" | "create-date" | "modify-date" => Category::Time,
        "Software" => Category::Software,
        "Source" => Category::DeviceId,
        _ => Category::Text,
    }
}

/// Inflates at most 1 MiB of a zlib stream (enough for a report).
fn inflate(z: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(z)
        .take(1 << 20)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

fn split_nul(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == 0) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

fn report(ty: &[u8; 4], body: &[u8], at: usize, found: &mut Found) {
    match ty {
        b"tEXt" => {
            let (k, v) = split_nul(body);
            let k = printable(k);
            found.add(
                Finding::new(text_category(&k), format!("PNG tEXt {k}"))
                    .value(printable(v))
                    .at(at),
            );
        }
        b"zTXt" => {
            let (k, rest) = split_nul(body);
            let k = printable(k);
            let v = rest.get(1..).and_then(inflate);
            let f = Finding::new(text_category(&k), format!("PNG zTXt {k}")).at(at);
            found.add(match v {
                Some(v) => f.value(printable(&v)),
                None => f.value("(unreadable compressed text)"),
            });
        }
        b"iTXt" => {
            let (k, rest) = split_nul(body);
            let k = printable(k);
            let compressed = rest.first().copied().unwrap_or(0) == 1;
            let rest = rest.get(2..).unwrap_or(&[]);
            let (_lang, rest) = split_nul(rest);
            let (_tk, text) = split_nul(rest);
            let text = if compressed {
                inflate(text).unwrap_or_default()
            } else {
                text.to_vec()
            };
            if k == "XML:com.adobe.xmp" {
                found.add(
                    Finding::new(Category::Other, "PNG iTXt XMP")
                        .value(format!("{} bytes", text.len()))
                        .at(at),
                );
                jpeg::report_xmp(&text, "XMP", at, found);
            } else {
                found.add(
                    Finding::new(text_category(&k), format!("PNG iTXt {k}"))
                        .value(printable(&text))
                        .at(at),
                );
            }
        }
        b"eXIf" => {
            found.add(
                Finding::new(Category::Other, "PNG eXIf")
                    .value(format!("{} bytes", body.len()))
                    .at(at),
            );
            jpeg::report_exif(body, at + 8, "EXIF", found);
        }
        b"tIME" if body.len() == 7 => {
            let y = u16::from_be_bytes([body[0], body[1]]);
            found.add(
                Finding::new(Category::Time, "PNG tIME")
                    .value(format!(
                        "{y:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                        body[2], body[3], body[4], body[5], body[6]
                    ))
                    .at(at),
            );
        }
        b"iCCP" => {
            let (name, rest) = split_nul(body);
            let prof = rest.get(1..).and_then(inflate).unwrap_or_default();
            found.add(
                Finding::new(Category::Other, "PNG iCCP ICC profile")
                    .value(format!(
                        "'{}', {}",
                        printable(name),
                        jpeg::icc_summary(&prof)
                    ))
                    .at(at),
            );
        }
        _ => {
            found.add(
                Finding::new(
                    Category::Other,
                    format!("PNG {} chunk", String::from_utf8_lossy(ty)),
                )
                .value(format!("{} bytes", body.len()))
                .at(at),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_answer() {
        // CRC of "IEND" is the constant every PNG ends with.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
