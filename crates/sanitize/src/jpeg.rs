//! JPEG (JFIF/EXIF) cleaning.
//!
//! The file is walked marker by marker from SOI to EOI, including the
//! entropy-coded data after every SOS (byte stuffing `FF 00`, restart markers
//! `FF D0`..`FF D7`, and several scans for progressive files). The output is
//! rebuilt from the segments that are needed to show the picture:
//!
//! * kept verbatim: DQT, DHT, DAC, DRI, DNL, SOFn, SOS and the scan data;
//! * kept rebuilt: the first APP0 JFIF (its thumbnail dropped: 0x0) and the
//!   first APP14 Adobe (needed for the colour transform), cut to their fixed
//!   fields; the EXIF Orientation, if not 1, in a minimal EXIF of its own;
//! * kept only with [`Options::keep_icc`]: APP2 ICC_PROFILE;
//! * removed and reported: APP1 EXIF (every identifying tag of IFD0, the EXIF,
//!   GPS and Interop IFDs and the IFD1 thumbnail is named), APP1 XMP and
//!   extended XMP, APP13 Photoshop/IPTC, COM, every other APPn, and any bytes
//!   after EOI.
//!
//! Refused: missing SOI/EOI, segments that run past the end, bytes that are not
//! markers where a marker must be, JPEG-LS, hierarchical and reserved markers.
//!
//! The EXIF, XMP and IPTC readers here are shared with the PNG and WebP modules.

use crate::bytes::printable;
use crate::{Category, Error, Finding, Format, Found, Options};

const F: Format = Format::Jpeg;

const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_ID: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

pub(crate) fn clean(data: &[u8], opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Error::malformed(
            F,
            "no start-of-image marker (FF D8) at byte 0",
        ));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut pos = 2usize;
    let mut seen_sof = false;
    let mut seen_sos = false;
    let mut seen_jfif = false;
    let mut seen_adobe = false;
    let mut seen_exif = false;
    loop {
        let marker_at = pos;
        match data.get(pos) {
            None => {
                return Err(Error::malformed(
                    F,
                    format!("file ends at byte {pos} before the end-of-image marker (FF D9)"),
                ));
            }
            Some(0xFF) => {}
            Some(b) => {
                return Err(Error::malformed(
                    F,
                    format!("expected a marker at byte {pos}, found 0x{b:02x}"),
                ));
            }
        }
        // Fill bytes: any number of FF before the marker code.
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else {
            return Err(Error::malformed(
                F,
                format!("marker at byte {marker_at} runs past the end"),
            ));
        };
        pos += 1;
        match marker {
            0xD9 => {
                if !seen_sos {
                    return Err(Error::malformed(
                        F,
                        format!("end-of-image at byte {marker_at} before any image data (no SOS)"),
                    ));
                }
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            0xD8 => {
                return Err(Error::malformed(
                    F,
                    format!("second start-of-image marker at byte {marker_at}"),
                ));
            }
            0xD0..=0xD7 => {
                return Err(Error::malformed(
                    F,
                    format!("restart marker outside entropy-coded data at byte {marker_at}"),
                ));
            }
            0x00 => {
                return Err(Error::malformed(
                    F,
                    format!("invalid marker FF 00 at byte {marker_at}"),
                ));
            }
            0x01 => {
                return Err(Error::unsupported(
                    F,
                    format!("TEM marker at byte {marker_at} (arithmetic-coding temporary)"),
                ));
            }
            _ => {}
        }
        // Every other marker has a 2-byte length that counts itself.
        let len_bytes = data.get(pos..pos + 2).ok_or_else(|| {
            Error::malformed(F, format!("segment length at byte {pos} runs past the end"))
        })?;
        let len = u16::from_be_bytes([len_bytes[0], len_bytes[1]]) as usize;
        if len < 2 {
            return Err(Error::malformed(
                F,
                format!("segment at byte {marker_at} has impossible length {len}"),
            ));
        }
        let end = pos + len;
        if end > data.len() {
            return Err(Error::malformed(
                F,
                format!(
                    "segment at byte {marker_at} runs past the end ({len} bytes declared, {} left)",
                    data.len() - pos
                ),
            ));
        }
        let payload = &data[pos + 2..end];
        let payload_at = pos + 2;
        // The segment as written, without fill bytes.
        let seg_body = &data[pos..end];
        let keep = |out: &mut Vec<u8>| {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(seg_body);
        };
        match marker {
            // Tables, frame and restart interval: needed to decode.
            0xC4 | 0xDB | 0xCC | 0xDD | 0xDC => keep(&mut out),
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                if seen_sof {
                    return Err(Error::unsupported(
                        F,
                        format!("second frame header (SOF) at byte {marker_at}"),
                    ));
                }
                seen_sof = true;
                keep(&mut out);
            }
            0xDA => {
                if !seen_sof {
                    return Err(Error::malformed(
                        F,
                        format!("scan (SOS) at byte {marker_at} before any frame header (SOF)"),
                    ));
                }
                seen_sos = true;
                keep(&mut out);
                let scan_end = entropy_end(data, end)?;
                out.extend_from_slice(&data[end..scan_end]);
                pos = scan_end;
                continue;
            }
            0xE0..=0xEF => app(
                marker,
                payload,
                payload_at,
                marker_at,
                opts,
                found,
                &mut out,
                &mut Seen {
                    jfif: &mut seen_jfif,
                    adobe: &mut seen_adobe,
                    exif: &mut seen_exif,
                },
            ),
            0xFE => {
                found.add(
                    Finding::new(Category::Text, "JPEG comment (COM)")
                        .value(printable(payload))
                        .at(marker_at),
                );
            }
            0xF7 | 0xF8 => {
                return Err(Error::unsupported(
                    F,
                    format!("JPEG-LS marker FF {marker:02X} at byte {marker_at}"),
                ));
            }
            0xDE | 0xDF => {
                return Err(Error::unsupported(
                    F,
                    format!("hierarchical JPEG marker FF {marker:02X} at byte {marker_at}"),
                ));
            }
            _ => {
                return Err(Error::unsupported(
                    F,
                    format!("unknown marker FF {marker:02X} at byte {marker_at}"),
                ));
            }
        }
        pos = end;
    }
    if pos < data.len() {
        found.add(Finding::trailer("data after JPEG end-of-image", data, pos));
    }
    Ok(out)
}

struct Seen<'a> {
    jfif: &'a mut bool,
    adobe: &'a mut bool,
    exif: &'a mut bool,
}

/// Where the entropy-coded data that starts at `start` ends: the first `FF`
/// that begins a marker other than a restart marker (stuffed `FF 00` and
/// `RSTn` are part of the data).
pub(crate) fn entropy_end(data: &[u8], start: usize) -> Result<usize, Error> {
    let mut i = start;
    loop {
        let rel = data
            .get(i..)
            .and_then(|s| s.iter().position(|&b| b == 0xFF));
        let Some(rel) = rel else {
            return Err(Error::malformed(
                F,
                format!(
                    "entropy-coded data starting at byte {start} runs past the end without an end-of-image marker"
                ),
            ));
        };
        let j = i + rel;
        // A run of FF: the last one starts the marker (or stuffing).
        let mut k = j;
        while data.get(k) == Some(&0xFF) {
            k += 1;
        }
        match data.get(k) {
            None => {
                return Err(Error::malformed(
                    F,
                    format!("entropy-coded data starting at byte {start} runs past the end"),
                ));
            }
            Some(0x00) | Some(0xD0..=0xD7) => i = k + 1,
            Some(_) => return Ok(j),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn app(
    marker: u8,
    payload: &[u8],
    payload_at: usize,
    at: usize,
    opts: &Options,
    found: &mut Found,
    out: &mut Vec<u8>,
    seen: &mut Seen,
) {
    let n = marker - 0xE0;
    let id = app_id(payload);
    match (n, payload) {
        (0, p) if p.starts_with(b"JFIF\0") && !*seen.jfif && p.len() >= 14 => {
            *seen.jfif = true;
            let (tw, th) = (p[12] as usize, p[13] as usize);
            if tw * th > 0 {
                found.add(
                    Finding::new(Category::Thumbnail, "JFIF thumbnail")
                        .value(format!("{tw}x{th}"))
                        .at(at),
                );
            }
            let want = 14 + 3 * tw * th;
            if p.len() > want {
                found.add(
                    Finding::new(Category::Other, "JFIF APP0 extra bytes")
                        .value(format!("{} bytes", p.len() - want))
                        .at(at),
                );
            }
            let mut canon = p[..14].to_vec();
            canon[12] = 0;
            canon[13] = 0;
            write_segment(out, 0xE0, &canon);
        }
        (0, p) if p.starts_with(b"JFXX\0") => found.add(
            Finding::new(Category::Thumbnail, "JFIF extension (JFXX) thumbnail")
                .value(format!("{} bytes", p.len()))
                .at(at),
        ),
        (1, p) if p.starts_with(b"Exif\0") => {
            let tiff = p.get(6..).unwrap_or(&[]);
            let first = !*seen.exif;
            *seen.exif = true;
            let orientation = if first { exif_orientation(tiff) } else { None };
            let canon = orientation.map(minimal_exif);
            if canon.as_deref() == Some(p) {
                // Already the minimal EXIF baram writes: nothing to remove.
                write_segment(out, 0xE1, p);
                return;
            }
            found.add(
                Finding::new(Category::Other, "JPEG APP1 EXIF")
                    .value(format!("{} bytes", p.len()))
                    .at(at),
            );
            report_exif(tiff, payload_at + 6, "EXIF", found);
            if let Some(c) = canon {
                write_segment(out, 0xE1, &c);
            }
        }
        (1, p) if p.starts_with(XMP_ID) => {
            found.add(
                Finding::new(Category::Other, "JPEG APP1 XMP")
                    .value(format!("{} bytes", p.len()))
                    .at(at),
            );
            report_xmp(&p[XMP_ID.len()..], "XMP", at, found);
        }
        (1, p) if p.starts_with(XMP_EXT_ID) => {
            found.add(
                Finding::new(Category::Other, "JPEG APP1 extended XMP")
                    .value(format!("{} bytes", p.len()))
                    .at(at),
            );
            // GUID (32) + full length (4) + offset (4) precede the XML part.
            let body = p.get(XMP_EXT_ID.len() + 40..).unwrap_or(&[]);
            report_xmp(body, "XMP", at, found);
        }
        (2, p) if p.starts_with(b"ICC_PROFILE\0") => {
            if opts.keep_icc {
                write_segment(out, 0xE2, p);
            } else {
                found.add(
                    Finding::new(Category::Other, "JPEG APP2 ICC profile")
                        .value(icc_summary(p.get(14..).unwrap_or(&[])))
                        .at(at),
                );
            }
        }
        (13, p) if p.starts_with(b"Photoshop 3.0\0") => {
            found.add(
                Finding::new(Category::Other, "JPEG APP13 Photoshop/IPTC")
                    .value(format!("{} bytes", p.len()))
                    .at(at),
            );
            report_photoshop(&p[14..], payload_at + 14, found);
        }
        (14, p) if p.starts_with(b"Adobe") && p.len() >= 12 && !*seen.adobe => {
            *seen.adobe = true;
            if p.len() > 12 {
                found.add(
                    Finding::new(Category::Other, "JPEG APP14 Adobe extra bytes")
                        .value(format!("{} bytes", p.len() - 12))
                        .at(at),
                );
            }
            write_segment(out, 0xEE, &p[..12]);
        }
        _ => found.add(
            Finding::new(
                Category::Other,
                format!("JPEG APP{n} {id}").trim_end().to_string(),
            )
            .value(format!("{} bytes", payload.len()))
            .at(at),
        ),
    }
}

/// The NUL-terminated identifier that starts most APPn payloads.
fn app_id(p: &[u8]) -> String {
    let end = p
        .iter()
        .take(40)
        .position(|&b| b == 0)
        .unwrap_or(p.len().min(16));
    printable(&p[..end])
}

fn write_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    // Callers only pass payloads taken from a segment, so they fit.
    let len = (payload.len() + 2).min(0xFFFF) as u16;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// The APP1 payload baram writes to keep a non-default orientation: big-endian
/// TIFF with one IFD holding one tag, Orientation.
pub(crate) fn minimal_exif(orientation: u16) -> Vec<u8> {
    let mut p = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    p.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    p.extend_from_slice(&orientation.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    p
}

/// The IFD0 Orientation of a TIFF/EXIF block, when it is 2..=8 (1 is the
/// default and needs no tag).
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let t = Tiff::new(tiff)?;
    let ifd0 = t.u32(4)? as usize;
    let count = t.u16(ifd0)? as usize;
    for i in 0..count.min(1000) {
        let e = ifd0 + 2 + i * 12;
        if t.u16(e)? == 0x0112 && t.u16(e + 2)? == 3 {
            let v = t.u16(e + 8)?;
            return (2..=8).contains(&v).then_some(v);
        }
    }
    None
}

/// A short description of an ICC profile: its size and device fields.
pub(crate) fn icc_summary(p: &[u8]) -> String {
    let mut s = format!("{} bytes", p.len());
    if let (Some(cmm), Some(mfg), Some(model)) = (p.get(4..8), p.get(48..52), p.get(52..56)) {
        s.push_str(&format!(
            ", CMM '{}', device maker '{}', model '{}'",
            printable(cmm),
            printable(mfg),
            printable(model)
        ));
    }
    s
}

// ---------------------------------------------------------------------------
// TIFF / EXIF

/// Bounds-checked reads in a TIFF block with its byte order.
struct Tiff<'a> {
    d: &'a [u8],
    le: bool,
}

impl<'a> Tiff<'a> {
    fn new(d: &'a [u8]) -> Option<Self> {
        let le = match d.get(0..4)? {
            b"II\x2a\0" => true,
            b"MM\0\x2a" => false,
            _ => return None,
        };
        Some(Tiff { d, le })
    }
    fn bytes(&self, at: usize, n: usize) -> Option<&'a [u8]> {
        self.d.get(at..at.checked_add(n)?)
    }
    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes(at, 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes(at, 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ifd {
    Zero,
    One,
    Exif,
    Gps,
    Interop,
}

/// Identifying TIFF/EXIF tags (IFD0, IFD1, ExifIFD): name and category.
fn exif_tag(tag: u16) -> Option<(&'static str, Category)> {
    use Category::*;
    Some(match tag {
        0x000B => ("ProcessingSoftware", Software),
        0x010D => ("DocumentName", Text),
        0x010E => ("ImageDescription", Text),
        0x010F => ("Make", DeviceId),
        0x0110 => ("Model", DeviceId),
        0x0131 => ("Software", Software),
        0x0132 => ("DateTime", Time),
        0x013B => ("Artist", Person),
        0x013C => ("HostComputer", DeviceId),
        0x02BC => ("ApplicationNotes (XMP)", Other),
        0x8298 => ("Copyright", Person),
        0x83BB => ("IPTC-NAA", Other),
        0x8773 => ("ICC profile", Other),
        0x9003 => ("DateTimeOriginal", Time),
        0x9004 => ("DateTimeDigitized", Time),
        0x9010 => ("OffsetTime", Time),
        0x9011 => ("OffsetTimeOriginal", Time),
        0x9012 => ("OffsetTimeDigitized", Time),
        0x927C => ("MakerNote", Other),
        0x9286 => ("UserComment", Text),
        0x9290 => ("SubSecTime", Time),
        0x9291 => ("SubSecTimeOriginal", Time),
        0x9292 => ("SubSecTimeDigitized", Time),
        0x9C9B => ("XPTitle", Text),
        0x9C9C => ("XPComment", Text),
        0x9C9D => ("XPAuthor", Person),
        0x9C9E => ("XPKeywords", Text),
        0x9C9F => ("XPSubject", Text),
        0xA420 => ("ImageUniqueID", DeviceId),
        0xA430 => ("CameraOwnerName", Person),
        0xA431 => ("BodySerialNumber", DeviceId),
        0xA433 => ("LensMake", DeviceId),
        0xA434 => ("LensModel", DeviceId),
        0xA435 => ("LensSerialNumber", DeviceId),
        0xA436 => ("ImageTitle", Text),
        0xA437 => ("Photographer", Person),
        0xA438 => ("ImageEditor", Person),
        0xA439 => ("CameraFirmware", Software),
        0xA43A => ("RAWDevelopingSoftware", Software),
        0xA43B => ("ImageEditingSoftware", Software),
        0xA43C => ("MetadataEditingSoftware", Software),
        0xC4A5 => ("PrintIM", Other),
        0xC62F => ("CameraSerialNumber", DeviceId),
        _ => return None,
    })
}

fn gps_tag(tag: u16) -> &'static str {
    const NAMES: [&str; 32] = [
        "GPSVersionID",
        "GPSLatitudeRef",
        "GPSLatitude",
        "GPSLongitudeRef",
        "GPSLongitude",
        "GPSAltitudeRef",
        "GPSAltitude",
        "GPSTimeStamp",
        "GPSSatellites",
        "GPSStatus",
        "GPSMeasureMode",
        "GPSDOP",
        "GPSSpeedRef",
        "GPSSpeed",
        "GPSTrackRef",
        "GPSTrack",
        "GPSImgDirectionRef",
        "GPSImgDirection",
        "GPSMapDatum",
        "GPSDestLatitudeRef",
        "GPSDestLatitude",
        "GPSDestLongitudeRef",
        "GPSDestLongitude",
        "GPSDestBearingRef",
        "GPSDestBearing",
        "GPSDestDistanceRef",
        "GPSDestDistance",
        "GPSProcessingMethod",
        "GPSAreaInformation",
        "GPSDateStamp",
        "GPSDifferential",
        "GPSHPositioningError",
    ];
    NAMES
        .get(tag as usize)
        .copied()
        .unwrap_or("GPS unknown tag")
}

fn type_size(t: u16) -> Option<usize> {
    Some(match t {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 => 8,
        _ => return None,
    })
}

/// Reports the identifying tags of a TIFF/EXIF block (starting at the byte
/// order mark). `base` is its offset in the input file, `prefix` names the
/// container ("EXIF", "PNG eXIf"). Never fails: a broken block is reported
/// as such (the caller removes it anyway).
pub(crate) fn report_exif(tiff: &[u8], base: usize, prefix: &str, found: &mut Found) {
    let Some(t) = Tiff::new(tiff) else {
        found.add(
            Finding::new(
                Category::Other,
                format!("{prefix} (unreadable TIFF header)"),
            )
            .at(base),
        );
        return;
    };
    let mut queue: Vec<(usize, Ifd)> = Vec::new();
    if let Some(o) = t.u32(4) {
        queue.push((o as usize, Ifd::Zero));
    }
    let mut visited: Vec<usize> = Vec::new();
    let mut problems = 0usize;
    while let Some((off, kind)) = queue.pop() {
        // Loops and absurd chains: each IFD once, at most 16 in all.
        if off == 0 || visited.contains(&off) || visited.len() >= 16 {
            continue;
        }
        visited.push(off);
        let Some(count) = t.u16(off) else {
            problems += 1;
            continue;
        };
        for i in 0..count as usize {
            let e = off + 2 + i * 12;
            let (Some(tag), Some(ty), Some(n)) = (t.u16(e), t.u16(e + 2), t.u32(e + 4)) else {
                problems += 1;
                break;
            };
            let size = type_size(ty).and_then(|s| s.checked_mul(n as usize));
            let value_at = match size {
                Some(s) if s <= 4 => Some(e + 8),
                Some(_) => t.u32(e + 8).map(|o| o as usize),
                None => None,
            };
            let raw = match (size, value_at) {
                (Some(s), Some(at)) => t.bytes(at, s),
                _ => None,
            };
            let file_at = base + value_at.unwrap_or(e);
            // Pointers to sub-IFDs.
            match (kind, tag) {
                (Ifd::Zero | Ifd::One, 0x8769) => {
                    if let Some(o) = t.u32(e + 8) {
                        queue.push((o as usize, Ifd::Exif));
                    }
                    continue;
                }
                (Ifd::Zero | Ifd::One, 0x8825) => {
                    if let Some(o) = t.u32(e + 8) {
                        queue.push((o as usize, Ifd::Gps));
                    }
                    continue;
                }
                (Ifd::Exif, 0xA005) => {
                    if let Some(o) = t.u32(e + 8) {
                        queue.push((o as usize, Ifd::Interop));
                    }
                    continue;
                }
                _ => {}
            }
            let (name, cat): (String, Category) = match kind {
                Ifd::Gps => {
                    let c = match tag {
                        7 | 0x1D => Category::Time,
                        _ => Category::Location,
                    };
                    (gps_tag(tag).to_string(), c)
                }
                Ifd::One if tag == 0x0201 || tag == 0x0202 || tag == 0x0111 => {
                    if tag == 0x0202 || (tag == 0x0111 && n > 0) {
                        let len = t.u32(e + 8).unwrap_or(0);
                        found.add(
                            Finding::new(Category::Thumbnail, format!("{prefix} IFD1 thumbnail"))
                                .value(if tag == 0x0202 {
                                    format!("{len} bytes")
                                } else {
                                    "strips".to_string()
                                })
                                .at(base + off),
                        );
                    }
                    continue;
                }
                Ifd::Interop => continue,
                _ => match exif_tag(tag) {
                    Some((n, c)) => (n.to_string(), c),
                    None => continue,
                },
            };
            let value = match raw {
                Some(r) => format_value(&t, tag, ty, r, kind),
                None => "(value out of bounds)".to_string(),
            };
            found.add(
                Finding::new(cat, format!("{prefix} {name}"))
                    .value(value)
                    .at(file_at),
            );
        }
        if kind == Ifd::Zero
            && let Some(next) = t.u32(off + 2 + count as usize * 12)
        {
            queue.push((next as usize, Ifd::One));
        }
    }
    if problems > 0 {
        found.add(
            Finding::new(Category::Other, format!("{prefix} (damaged IFD)"))
                .value(format!("{problems} unreadable place(s)"))
                .at(base),
        );
    }
}

fn format_value(t: &Tiff, tag: u16, ty: u16, raw: &[u8], kind: Ifd) -> String {
    if kind != Ifd::Gps && (0x9C9B..=0x9C9F).contains(&tag) {
        // XP* tags: UTF-16LE in BYTEs.
        let u: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&c| c != 0)
            .collect();
        return String::from_utf16_lossy(&u);
    }
    if kind != Ifd::Gps && (tag == 0x927C || tag == 0xC4A5 || tag == 0x8773 || tag == 0x83BB) {
        return format!("{} bytes", raw.len());
    }
    if kind != Ifd::Gps && tag == 0x9286 {
        // UserComment: 8-byte character code, then text.
        return printable(raw.get(8..).unwrap_or(&[]));
    }
    let sub = Tiff { d: raw, le: t.le };
    match ty {
        2 | 7 => printable(raw),
        1 | 6 => raw
            .iter()
            .take(16)
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join("."),
        3 | 8 => (0..raw.len() / 2)
            .take(16)
            .filter_map(|i| sub.u16(i * 2))
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        4 | 9 => (0..raw.len() / 4)
            .take(16)
            .filter_map(|i| sub.u32(i * 4))
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        5 | 10 => {
            let vals: Vec<f64> = (0..raw.len() / 8)
                .take(16)
                .filter_map(|i| {
                    let (a, b) = (sub.u32(i * 8)?, sub.u32(i * 8 + 4)?);
                    Some(if ty == 10 {
                        a as i32 as f64 / (b as i32 as f64)
                    } else {
                        a as f64 / b as f64
                    })
                })
                .collect();
            if kind == Ifd::Gps && matches!(tag, 2 | 4 | 0x14 | 0x16) && vals.len() == 3 {
                format!("{:.6}", vals[0] + vals[1] / 60.0 + vals[2] / 3600.0)
            } else {
                vals.iter()
                    .map(|v| format!("{v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        }
        _ => format!("{} bytes", raw.len()),
    }
}

// ---------------------------------------------------------------------------
// XMP

/// XMP properties worth naming in a report. The whole packet is removed
/// whatever it contains; these only make the report useful.
const XMP_PROPS: &[(&str, Category)] = &[
    ("dc:creator", Category::Person),
    ("dc:rights", Category::Person),
    ("dc:title", Category::Text),
    ("dc:description", Category::Text),
    ("dc:subject", Category::Text),
    ("xmp:CreatorTool", Category::Software),
    ("xmp:CreateDate", Category::Time),
    ("xmp:ModifyDate", Category::Time),
    ("xmp:MetadataDate", Category::Time),
    ("photoshop:DateCreated", Category::Time),
    ("photoshop:AuthorsPosition", Category::Person),
    ("photoshop:Credit", Category::Person),
    ("photoshop:City", Category::Location),
    ("photoshop:State", Category::Location),
    ("photoshop:Country", Category::Location),
    ("tiff:Make", Category::DeviceId),
    ("tiff:Model", Category::DeviceId),
    ("tiff:Artist", Category::Person),
    ("exif:GPSLatitude", Category::Location),
    ("exif:GPSLongitude", Category::Location),
    ("exif:DateTimeOriginal", Category::Time),
    ("exifEX:BodySerialNumber", Category::DeviceId),
    ("exifEX:LensSerialNumber", Category::DeviceId),
    ("exifEX:CameraOwnerName", Category::Person),
    ("aux:SerialNumber", Category::DeviceId),
    ("aux:LensSerialNumber", Category::DeviceId),
    ("aux:OwnerName", Category::Person),
    ("xmpMM:DocumentID", Category::DeviceId),
    ("xmpMM:OriginalDocumentID", Category::DeviceId),
    ("xmpMM:InstanceID", Category::DeviceId),
    ("xmpRights:Owner", Category::Person),
    ("Iptc4xmpCore:Location", Category::Location),
];

/// Reports the known identifying properties of an XMP packet.
pub(crate) fn report_xmp(xml: &[u8], prefix: &str, at: usize, found: &mut Found) {
    let text = String::from_utf8_lossy(xml);
    for (prop, cat) in XMP_PROPS {
        if let Some(v) = xmp_value(&text, prop) {
            found.add(
                Finding::new(*cat, format!("{prefix} {prop}"))
                    .value(v)
                    .at(at),
            );
        }
    }
}

/// The text of `<prop>…</prop>` (tags stripped) or of `prop="…"`.
fn xmp_value(text: &str, prop: &str) -> Option<String> {
    let open = format!("<{prop}");
    let mut search = 0;
    while let Some(rel) = text.get(search..)?.find(&open) {
        let s = search + rel + open.len();
        search = s;
        match text[s..].chars().next() {
            Some('>') => {
                let close = format!("</{prop}>");
                let e = text[s..].find(&close)? + s;
                let inner = &text[s + 1..e];
                let mut v = String::new();
                let mut in_tag = false;
                for c in inner.chars() {
                    match c {
                        '<' => {
                            in_tag = true;
                            v.push(' ');
                        }
                        '>' => in_tag = false,
                        c if !in_tag => v.push(c),
                        _ => {}
                    }
                }
                let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                return Some(v);
            }
            Some(c) if c.is_whitespace() || c == '/' => {
                // Element with attributes (rdf:resource etc.): name it.
                return Some(String::new());
            }
            _ => continue,
        }
    }
    let attr = format!("{prop}=\"");
    let s = text.find(&attr)? + attr.len();
    let e = text[s..].find('"')? + s;
    Some(text[s..e].to_string())
}

// ---------------------------------------------------------------------------
// Photoshop image resources and IPTC

fn iptc_tag(record: u8, dataset: u8) -> Option<(&'static str, Category)> {
    use Category::*;
    if record != 2 {
        return None;
    }
    Some(match dataset {
        5 => ("ObjectName", Text),
        25 => ("Keywords", Text),
        40 => ("SpecialInstructions", Text),
        55 => ("DateCreated", Time),
        60 => ("TimeCreated", Time),
        62 => ("DigitalCreationDate", Time),
        63 => ("DigitalCreationTime", Time),
        65 => ("OriginatingProgram", Software),
        70 => ("ProgramVersion", Software),
        80 => ("By-line", Person),
        85 => ("By-lineTitle", Person),
        90 => ("City", Location),
        92 => ("Sub-location", Location),
        95 => ("Province-State", Location),
        100 => ("Country-PrimaryLocationCode", Location),
        101 => ("Country-PrimaryLocationName", Location),
        103 => ("OriginalTransmissionReference", Text),
        105 => ("Headline", Text),
        110 => ("Credit", Person),
        115 => ("Source", Person),
        116 => ("CopyrightNotice", Person),
        118 => ("Contact", Person),
        120 => ("Caption-Abstract", Text),
        122 => ("Writer-Editor", Person),
        _ => return None,
    })
}

/// Reports what a run of Photoshop image resources (`8BIM` blocks) holds.
pub(crate) fn report_photoshop(p: &[u8], base: usize, found: &mut Found) {
    let mut i = 0usize;
    let mut guard = 0;
    while i + 4 <= p.len() && guard < 10_000 {
        guard += 1;
        if &p[i..i + 4] != b"8BIM" {
            break;
        }
        let Some(id) = p
            .get(i + 4..i + 6)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
        else {
            break;
        };
        let Some(&nlen) = p.get(i + 6) else { break };
        // Pascal name padded to an even length (length byte included).
        let mut j = i + 6 + 1 + nlen as usize;
        if (1 + nlen as usize) % 2 == 1 {
            j += 1;
        }
        let Some(size) = p
            .get(j..j + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        else {
            break;
        };
        let start = j + 4;
        let Some(body) = start.checked_add(size).and_then(|e| p.get(start..e)) else {
            break;
        };
        match id {
            0x0404 => report_iptc(body, base + start, found),
            0x0409 | 0x040C => found.add(
                Finding::new(Category::Thumbnail, "Photoshop thumbnail")
                    .value(format!("{size} bytes"))
                    .at(base + i),
            ),
            _ => {}
        }
        i = start + size + (size % 2);
    }
}

/// Reports the identifying datasets of an IPTC-IIM block.
pub(crate) fn report_iptc(p: &[u8], base: usize, found: &mut Found) {
    let mut i = 0usize;
    while i + 5 <= p.len() && p[i] == 0x1C {
        let (rec, ds) = (p[i + 1], p[i + 2]);
        let len = u16::from_be_bytes([p[i + 3], p[i + 4]]) as usize;
        if len & 0x8000 != 0 {
            // Extended length: rare, and only for big binary data.
            break;
        }
        let start = i + 5;
        let Some(v) = p.get(start..start + len) else {
            break;
        };
        if let Some((name, cat)) = iptc_tag(rec, ds) {
            found.add(
                Finding::new(cat, format!("IPTC {name}"))
                    .value(printable(v))
                    .at(base + i),
            );
        }
        i = start + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> Result<(Vec<u8>, Found), Error> {
        let mut f = Found::default();
        clean(data, &Options::default(), &mut f).map(|o| (o, f))
    }

    /// A structurally valid JPEG around arbitrary scan bytes.
    fn shell(scan: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        v.extend_from_slice(scan);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn entropy_stuffing_and_restarts_are_data() {
        let scan = [
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF, 0x00, 0x01,
        ];
        let j = shell(&scan);
        let (out, f) = run(&j).unwrap();
        assert_eq!(out, j);
        assert!(f.findings.is_empty());
    }

    #[test]
    fn fill_bytes_before_markers_are_dropped() {
        let mut j = shell(&[0x11]);
        let n = j.len();
        j.splice(n - 2..n - 2, [0xFF, 0xFF]);
        let (out, f) = run(&j).unwrap();
        assert_eq!(out, shell(&[0x11]));
        assert!(f.findings.is_empty());
    }

    #[test]
    fn comment_and_unknown_app_removed() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xFE, 0, 6, b'h', b'i', b'!', b'!'];
        j.extend_from_slice(&[0xFF, 0xEC, 0, 7, b'D', b'u', b'c', b'k', b'y']);
        j.extend_from_slice(&shell(&[0])[2..]);
        let (out, f) = run(&j).unwrap();
        assert_eq!(out, shell(&[0]));
        assert_eq!(f.findings.len(), 2);
        assert_eq!(f.findings[0].value.as_deref(), Some("hi!!"));
        assert_eq!(f.findings[1].field, "JPEG APP12 Ducky");
    }

    #[test]
    fn errors_name_offsets() {
        let j = shell(&[1, 2, 3]);
        let e = run(&j[..j.len() - 2]).unwrap_err().to_string();
        assert!(e.contains("byte"), "{e}");
        let mut bad = j.clone();
        bad[5] = 0xFF; // SOF length 0xFF0B runs past the end
        let e = run(&bad).unwrap_err().to_string();
        assert!(e.contains("at byte 2 runs past the end"), "{e}");
        let e = run(&[0xFF, 0xD8, 0x00]).unwrap_err().to_string();
        assert!(e.contains("at byte 2"), "{e}");
        assert!(run(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err());
    }

    #[test]
    fn orientation_survives_in_minimal_exif() {
        let mut tiff = b"II\x2a\0\x08\0\0\0\x02\0".to_vec();
        tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        tiff.extend_from_slice(&[0x10, 0x01, 2, 0, 4, 0, 0, 0, b'A', b'B', b'C', 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1];
        j.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(&app1);
        j.extend_from_slice(&shell(&[0])[2..]);
        let (out, f) = run(&j).unwrap();
        assert!(f.findings.iter().any(|x| x.field == "EXIF Model"));
        assert_eq!(exif_orientation(&minimal_exif(6)[6..]), Some(6));
        let (again, f2) = run(&out).unwrap();
        assert_eq!(again, out);
        assert!(f2.findings.is_empty(), "{:?}", f2.findings);
        assert!(out.windows(4).any(|w| w == [0x01, 0x12, 0, 3]));
    }

    #[test]
    fn exif_ifd_loop_is_guarded() {
        // IFD0 whose next-IFD pointer is itself, and an ExifIFD pointer to IFD0.
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        tiff.extend_from_slice(&[0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 8]);
        tiff.extend_from_slice(&[0, 0, 0, 8]);
        let mut f = Found::default();
        report_exif(&tiff, 0, "EXIF", &mut f);
        report_exif(b"MM\0\x2a\xff\xff\xff\xff", 0, "EXIF", &mut f);
        report_exif(b"garbage", 0, "EXIF", &mut f);
    }
}
