//! MP3 (MPEG-1/2/2.5 audio, layers I–III) cleaning.
//!
//! An MP3 file is a run of MPEG audio frames with optional tags around it.
//! The cleaner rebuilds the file from the frames alone:
//!
//! * **Removed, at the start:** ID3v2 tags (v2.2, v2.3, v2.4; several in a row)
//!   and zero padding before the first frame.
//! * **Removed, at the end** (in any order, repeated): ID3v1 (`TAG`, 128 bytes),
//!   extended ID3v1 (`TAG+`, 227 bytes), APEv1/APEv2 tags (`APETAGEX` footer,
//!   optional header), Lyrics3 v1 and v2 blocks, and appended ID3v2 tags with a
//!   footer (`3DI`).
//! * **Frames** are walked from the first to the last whole frame with the same
//!   version, layer and sample rate. Whatever lies between the last frame and
//!   the end tags is reported as a trailer and removed (a cut-off last frame too).
//! * **Xing/Info header frame:** the Xing fields (frame and byte counts, seek
//!   table, quality) are kept because players need them for duration and
//!   seeking of VBR files. Everything in that frame after the Xing fields is
//!   zeroed. That is where LAME (and ffmpeg, as `Lavf`/`Lavc`) write their
//!   extension tag: the encoder name and version plus the exact encoder
//!   settings (VBR method, lowpass, ATH type, preset), which together
//!   fingerprint the encoding tool chain. Zeroing the whole extension rather
//!   than only the 9-byte name removes that fingerprint too, and leaves no
//!   stale tag CRC: decoders look for the `LAME`/`Lavf`/`Lavc` magic and treat
//!   zeros as "no LAME tag". The cost is the gapless-playback delay/padding
//!   values, i.e. a few milliseconds of encoder silence are no longer trimmed.
//!   The Xing frame itself carries no audio, so nothing audible changes.
//!
//! Kept as is: the audio frames, including their header bits (private,
//! copyright, original). Not handled: ancillary data inside audio frames
//! (LAME may pad it with its version string); it is part of the audio
//! bitstream and cannot be found without decoding the Layer III side info.

use crate::bytes::printable;
use crate::{Category, Error, Finding, Format, Found, Options};

const F: Format = Format::Mp3;

/// A decoded MPEG audio frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// 1 = MPEG-1, 2 = MPEG-2, 25 = MPEG-2.5.
    version: u8,
    /// 1, 2 or 3.
    layer: u8,
    crc: bool,
    sample_rate: u32,
    mono: bool,
    len: usize,
}

impl Header {
    /// Same stream parameters (a new frame of the same stream).
    fn same_stream(&self, o: &Header) -> bool {
        self.version == o.version && self.layer == o.layer && self.sample_rate == o.sample_rate
    }
}

/// Parses a 4-byte frame header; `None` if it is not a valid one. Free-format
/// bitrate is not valid here (its frame length cannot be known from the header).
fn parse_header(b: &[u8]) -> Option<Header> {
    if b.len() < 4 || b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
        return None;
    }
    let version = match (b[1] >> 3) & 3 {
        0 => 25,
        2 => 2,
        3 => 1,
        _ => return None,
    };
    let layer = match (b[1] >> 1) & 3 {
        1 => 3,
        2 => 2,
        3 => 1,
        _ => return None,
    };
    let crc = b[1] & 1 == 0;
    let br_idx = (b[2] >> 4) as usize;
    let sr_idx = ((b[2] >> 2) & 3) as usize;
    let pad = ((b[2] >> 1) & 1) as usize;
    if br_idx == 0 || br_idx == 15 || sr_idx == 3 || b[3] & 3 == 2 {
        return None;
    }
    const BR_V1: [[u32; 15]; 3] = [
        [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ],
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ],
        [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ],
    ];
    const BR_V2: [[u32; 15]; 3] = [
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ];
    let li = (layer - 1) as usize;
    let kbps = if version == 1 {
        BR_V1[li][br_idx]
    } else {
        BR_V2[li][br_idx]
    };
    let sample_rate = [44100, 48000, 32000][sr_idx]
        / match version {
            1 => 1,
            2 => 2,
            _ => 4,
        };
    let bitrate = kbps as usize * 1000;
    let sr = sample_rate as usize;
    let len = match layer {
        1 => (12 * bitrate / sr + pad) * 4,
        2 => 144 * bitrate / sr + pad,
        _ if version == 1 => 144 * bitrate / sr + pad,
        _ => 72 * bitrate / sr + pad,
    };
    if len < 4 {
        return None;
    }
    Some(Header {
        version,
        layer,
        crc,
        sample_rate,
        mono: (b[3] >> 6) == 3,
        len,
    })
}

fn syncsafe(b: &[u8]) -> Option<usize> {
    if b.len() < 4 || b.iter().take(4).any(|&x| x & 0x80 != 0) {
        return None;
    }
    Some(((b[0] as usize) << 21) | ((b[1] as usize) << 14) | ((b[2] as usize) << 7) | b[3] as usize)
}

/// Total length of an ID3v2 tag starting at `data[0]` (`ID3` header), or an
/// error naming `at` (the absolute offset).
fn id3v2_len(data: &[u8], at: usize) -> Result<usize, Error> {
    if data.len() < 10 {
        return Err(Error::malformed(
            F,
            format!("ID3v2 header at byte {at} runs past the end"),
        ));
    }
    let major = data[3];
    if !(2..=4).contains(&major) || data[4] == 0xff {
        return Err(Error::malformed(
            F,
            format!("ID3v2 tag at byte {at} has unknown version 2.{major}"),
        ));
    }
    let size = syncsafe(&data[6..10]).ok_or_else(|| {
        Error::malformed(F, format!("ID3v2 tag at byte {at} has an invalid size"))
    })?;
    let footer = if major == 4 && data[5] & 0x10 != 0 {
        10
    } else {
        0
    };
    let total = 10 + size + footer;
    if total > data.len() {
        return Err(Error::malformed(
            F,
            format!(
                "ID3v2 tag at byte {at} runs past the end ({total} bytes declared, {} left)",
                data.len()
            ),
        ));
    }
    Ok(total)
}

fn id3_category(id: &str) -> Category {
    match id {
        "TPE1" | "TPE2" | "TPE3" | "TPE4" | "TCOM" | "TEXT" | "TOLY" | "TOPE" | "TOWN" | "TENC"
        | "TPUB" | "TIPL" | "TMCL" | "IPLS" | "TRSN" | "TRSO" | "TSOP" | "TSO2" | "TSOC"
        | "TP1" | "TP2" | "TP3" | "TP4" | "TCM" | "TXT" | "TOL" | "TOA" | "TEN" | "TPB" | "IPL"
        | "WOAR" | "WAR" => Category::Person,
        "TDRC" | "TYER" | "TDAT" | "TIME" | "TDRL" | "TDEN" | "TDTG" | "TORY" | "TDOR" | "TRDA"
        | "TYE" | "TDA" | "TIM" | "TOR" | "TRD" => Category::Time,
        "TSSE" | "TSS" => Category::Software,
        "APIC" | "PIC" => Category::Thumbnail,
        "UFID" | "PRIV" | "UFI" | "MCDI" | "MCI" => Category::DeviceId,
        "GEOB" | "GEO" => Category::Other,
        _ => Category::Text,
    }
}

/// Decodes an ID3v2 text payload (encoding byte first) for a finding.
fn id3_text(b: &[u8]) -> String {
    let Some((&enc, rest)) = b.split_first() else {
        return String::new();
    };
    let s = match enc {
        1 | 2 => {
            let mut big = enc == 2;
            let mut r = rest;
            if r.len() >= 2 {
                if r[..2] == [0xfe, 0xff] {
                    big = true;
                    r = &r[2..];
                } else if r[..2] == [0xff, 0xfe] {
                    big = false;
                    r = &r[2..];
                }
            }
            let units: Vec<u16> = r
                .chunks_exact(2)
                .map(|c| {
                    if big {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        3 => String::from_utf8_lossy(rest).into_owned(),
        _ => rest.iter().map(|&c| c as char).collect(),
    };
    s.replace('\0', " ").trim().to_string()
}

/// Reports the frames of an ID3v2 tag (best effort; the tag is removed whole
/// whatever its content).
fn report_id3v2(tag: &[u8], at: usize, found: &mut Found) {
    let major = tag.get(3).copied().unwrap_or(0);
    let flags = tag.get(5).copied().unwrap_or(0);
    let before = found.findings.len();
    let mut p = 10;
    let end = tag.len()
        - if major == 4 && flags & 0x10 != 0 {
            10
        } else {
            0
        };
    if flags & 0x40 != 0 {
        // Extended header.
        let ext = match major {
            3 => tag
                .get(10..14)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize + 4),
            4 => tag.get(10..14).and_then(syncsafe),
            _ => None,
        };
        match ext {
            Some(n) => p += n,
            None => p = end,
        }
    }
    let (idlen, hdrlen) = if major == 2 { (3, 6) } else { (4, 10) };
    while p + hdrlen <= end {
        let h = &tag[p..p + hdrlen];
        if h[0] == 0 {
            break; // padding
        }
        let Ok(id) = std::str::from_utf8(&h[..idlen]) else {
            break;
        };
        if !id
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            break;
        }
        let size = match major {
            2 => ((h[3] as usize) << 16) | ((h[4] as usize) << 8) | h[5] as usize,
            3 => u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize,
            _ => match syncsafe(&h[4..8]) {
                Some(s) => s,
                None => break,
            },
        };
        let body_start = p + hdrlen;
        let Some(body) = tag.get(body_start..body_start.saturating_add(size).min(end)) else {
            break;
        };
        let value = if id.starts_with('T') && id != "TXXX" && id != "TXX" {
            id3_text(body)
        } else if matches!(id, "COMM" | "USLT" | "COM" | "ULT" | "TXXX" | "TXX") {
            // encoding, [language,] description NUL, text
            let skip = if id.starts_with('T') { 1 } else { 4 };
            let rest = body.get(skip..).unwrap_or(&[]);
            let mut text = vec![body.first().copied().unwrap_or(0)];
            text.extend_from_slice(rest);
            id3_text(&text)
        } else if id == "APIC" || id == "PIC" {
            format!("{size} bytes of picture")
        } else {
            let t = printable(body);
            if t.is_empty() {
                format!("{size} bytes")
            } else {
                t
            }
        };
        found.add(
            Finding::new(id3_category(id), format!("ID3v2 {id}"))
                .value(value)
                .at(at + p),
        );
        p = body_start.saturating_add(size);
    }
    if found.findings.len() == before {
        found.add(
            Finding::new(Category::Other, format!("ID3v2.{major} tag"))
                .value(format!("{} bytes", tag.len()))
                .at(at),
        );
    }
}

fn report_id3v1(tag: &[u8], at: usize, found: &mut Found) {
    let field = |a: usize, b: usize| printable(tag.get(a..b).unwrap_or(&[]));
    let mut any = false;
    for (name, a, b, cat) in [
        ("Title", 3, 33, Category::Text),
        ("Artist", 33, 63, Category::Person),
        ("Album", 63, 93, Category::Text),
        ("Year", 93, 97, Category::Time),
        ("Comment", 97, 127, Category::Text),
    ] {
        let v = field(a, b);
        if !v.is_empty() {
            any = true;
            found.add(
                Finding::new(cat, format!("ID3v1 {name}"))
                    .value(v)
                    .at(at + a),
            );
        }
    }
    if !any {
        found.add(Finding::new(Category::Other, "ID3v1 tag").at(at));
    }
}

fn report_ape(tag: &[u8], at: usize, found: &mut Found) {
    // Items start after the optional header; parse best effort.
    let mut p = if tag.starts_with(b"APETAGEX") { 32 } else { 0 };
    let end = tag.len().saturating_sub(32);
    let before = found.findings.len();
    while p + 8 < end {
        let len = u32::from_le_bytes([tag[p], tag[p + 1], tag[p + 2], tag[p + 3]]) as usize;
        let k0 = p + 8;
        let Some(kl) = tag[k0..end].iter().position(|&c| c == 0) else {
            break;
        };
        let key = printable(&tag[k0..k0 + kl]);
        let v0 = k0 + kl + 1;
        let Some(v) = tag.get(v0..v0.saturating_add(len).min(end)) else {
            break;
        };
        let cat = match key.to_ascii_lowercase().as_str() {
            "artist" | "composer" | "conductor" | "performer" | "publisher" => Category::Person,
            "year" | "record date" | "date" => Category::Time,
            "encoder" | "tool" | "tool name" | "tool version" => Category::Software,
            k if k.starts_with("cover art") => Category::Thumbnail,
            _ => Category::Text,
        };
        found.add(
            Finding::new(cat, format!("APE {key}"))
                .value(printable(v))
                .at(at + p),
        );
        p = v0.saturating_add(len);
    }
    if found.findings.len() == before {
        found.add(
            Finding::new(Category::Other, "APE tag")
                .value(format!("{} bytes", tag.len()))
                .at(at),
        );
    }
}

/// If `data` ends with a known tag, returns its start and reports it.
fn strip_end_tag(data: &[u8], base: usize, found: &mut Found) -> Result<Option<usize>, Error> {
    let n = data.len();
    // ID3v1, possibly with the extended TAG+ block before it.
    if n >= 128 && &data[n - 128..n - 125] == b"TAG" {
        let start = n - 128;
        report_id3v1(&data[start..], base + start, found);
        if start >= 227 && &data[start - 227..start - 223] == b"TAG+" {
            let s2 = start - 227;
            let b = &data[s2..start];
            for (name, a, e, cat) in [
                ("Title", 4, 64, Category::Text),
                ("Artist", 64, 124, Category::Person),
                ("Album", 124, 184, Category::Text),
            ] {
                let v = printable(&b[a..e]);
                if !v.is_empty() {
                    found.add(
                        Finding::new(cat, format!("ID3v1 TAG+ {name}"))
                            .value(v)
                            .at(base + s2 + a),
                    );
                }
            }
            return Ok(Some(s2));
        }
        return Ok(Some(start));
    }
    // APE tag footer.
    if n >= 32 && &data[n - 32..n - 24] == b"APETAGEX" {
        let f = &data[n - 32..];
        let size = u32::from_le_bytes([f[12], f[13], f[14], f[15]]) as usize;
        let flags = u32::from_le_bytes([f[20], f[21], f[22], f[23]]);
        let total = size + if flags & 0x8000_0000 != 0 { 32 } else { 0 };
        if size < 32 || total > n {
            return Err(Error::malformed(
                F,
                format!(
                    "APE tag footer at byte {} declares {total} bytes, more than the file holds",
                    base + n - 32
                ),
            ));
        }
        let start = n - total;
        report_ape(&data[start..], base + start, found);
        return Ok(Some(start));
    }
    // Lyrics3 v2: "LYRICSBEGIN" ... 6-digit size "LYRICS200".
    if n >= 15 && &data[n - 9..] == b"LYRICS200" {
        let digits = &data[n - 15..n - 9];
        let size = std::str::from_utf8(digits)
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<usize>().ok());
        match size {
            Some(size)
                if size >= 11
                    && size + 15 <= n
                    && data[n - 15 - size..].starts_with(b"LYRICSBEGIN") =>
            {
                let start = n - 15 - size;
                found.add(
                    Finding::new(Category::Text, "Lyrics3 v2")
                        .value(printable(&data[start + 11..n - 15]))
                        .at(base + start),
                );
                return Ok(Some(start));
            }
            _ => {
                return Err(Error::malformed(
                    F,
                    format!(
                        "Lyrics3 v2 block ending at byte {} has an invalid size",
                        base + n
                    ),
                ));
            }
        }
    }
    // Lyrics3 v1: "LYRICSBEGIN" ... "LYRICSEND", at most 5100 bytes of lyrics.
    if n >= 20 && &data[n - 9..] == b"LYRICSEND" {
        let lo = n.saturating_sub(9 + 5100 + 11);
        let hay = &data[lo..n - 9];
        match hay.windows(11).rposition(|w| w == b"LYRICSBEGIN") {
            Some(p) => {
                let start = lo + p;
                found.add(
                    Finding::new(Category::Text, "Lyrics3 v1")
                        .value(printable(&data[start + 11..n - 9]))
                        .at(base + start),
                );
                return Ok(Some(start));
            }
            None => {
                return Err(Error::malformed(
                    F,
                    format!(
                        "Lyrics3 v1 end at byte {} without its beginning",
                        base + n - 9
                    ),
                ));
            }
        }
    }
    // Appended ID3v2.4 with footer "3DI".
    if n >= 10 && &data[n - 10..n - 7] == b"3DI" {
        let size = syncsafe(&data[n - 4..]).unwrap_or(usize::MAX);
        let total = size.saturating_add(20);
        if total > n || !data[n - total..].starts_with(b"ID3") {
            return Err(Error::malformed(
                F,
                format!(
                    "ID3v2 footer at byte {} does not match an ID3v2 header",
                    base + n - 10
                ),
            ));
        }
        let start = n - total;
        if id3v2_len(&data[start..], base + start)? != total {
            return Err(Error::malformed(
                F,
                format!(
                    "ID3v2 tag at byte {} disagrees with its footer about its size",
                    base + start
                ),
            ));
        }
        report_id3v2(&data[start..], base + start, found);
        return Ok(Some(start));
    }
    Ok(None)
}

/// Offset of the Xing/Info tag inside a Layer III frame with header `h`.
fn xing_offset(h: &Header) -> usize {
    let side = match (h.version == 1, h.mono) {
        (true, true) => 17,
        (true, false) => 32,
        (false, true) => 9,
        (false, false) => 17,
    };
    4 + if h.crc { 2 } else { 0 } + side
}

/// For a Xing/Info frame, returns where the Xing fields end (inside the frame).
fn xing_end(frame: &[u8], h: &Header) -> Option<usize> {
    if h.layer != 3 {
        return None;
    }
    let o = xing_offset(h);
    let tag = frame.get(o..o + 8)?;
    if &tag[..4] != b"Xing" && &tag[..4] != b"Info" {
        return None;
    }
    let flags = u32::from_be_bytes([tag[4], tag[5], tag[6], tag[7]]);
    let mut end = o + 8;
    if flags & 1 != 0 {
        end += 4;
    }
    if flags & 2 != 0 {
        end += 4;
    }
    if flags & 4 != 0 {
        end += 100;
    }
    if flags & 8 != 0 {
        end += 4;
    }
    (end <= frame.len()).then_some(end)
}

pub(crate) fn clean(data: &[u8], _opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    // Leading ID3v2 tags.
    let mut p = 0;
    while data[p..].starts_with(b"ID3") {
        let n = id3v2_len(&data[p..], p)?;
        report_id3v2(&data[p..p + n], p, found);
        p += n;
    }
    // Zero padding some taggers leave after the tag.
    let pad_start = p;
    while data.get(p) == Some(&0) {
        p += 1;
    }
    if p > pad_start {
        found.add(
            Finding::new(Category::Other, "padding before the first MPEG frame")
                .value(format!("{} bytes", p - pad_start))
                .at(pad_start),
        );
    }
    // Tags at the end.
    let mut end = data.len();
    while end > p {
        match strip_end_tag(&data[p..end], p, found)? {
            Some(s) => end = p + s,
            None => break,
        }
    }
    let audio = &data[..end];
    let first = parse_header(&audio[p..])
        .ok_or_else(|| Error::malformed(F, format!("no MPEG audio frame header at byte {p}")))?;
    if p + first.len > end {
        return Err(Error::malformed(
            F,
            format!(
                "first MPEG audio frame at byte {p} runs past the end ({} bytes needed, {} left)",
                first.len,
                end - p
            ),
        ));
    }
    let mut out = Vec::with_capacity(end - p);
    let mut q = p;
    let mut index = 0usize;
    while let Some(h) = audio.get(q..).and_then(parse_header) {
        if !h.same_stream(&first) || q + h.len > end {
            break;
        }
        let frame = &audio[q..q + h.len];
        let start_out = out.len();
        out.extend_from_slice(frame);
        if index == 0
            && let Some(xe) = xing_end(frame, &h)
        {
            let tail = &frame[xe..];
            if tail.iter().any(|&b| b != 0) {
                let name = printable(&tail[..tail.len().min(9)]);
                found.add(
                    Finding::new(Category::Software, "MPEG Xing frame encoder tag (LAME)")
                        .value(if name.is_empty() {
                            "encoder data".to_string()
                        } else {
                            name
                        })
                        .at(q + xe),
                );
                out[start_out + xe..].fill(0);
            }
        }
        q += h.len;
        index += 1;
    }
    if q < end {
        let rest = &audio[q..end];
        found.add(
            Finding::new(Category::Trailer, "data after the last MPEG audio frame")
                .value(format!(
                    "{} bytes: {}",
                    rest.len(),
                    printable(&rest[..rest.len().min(40)])
                ))
                .at(q),
        );
    }
    Ok(out)
}

/// An ID3v2 header, or a valid frame header followed by a second frame of the
/// same stream.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    if data.len() >= 10 && data.starts_with(b"ID3") {
        // A well-formed header is enough: a tag that then runs past the end
        // is refused by `clean` with the reason, not as an unknown file.
        return (2..=4).contains(&data[3]) && data[4] != 0xff && syncsafe(&data[6..10]).is_some();
    }
    match parse_header(data) {
        Some(h) => data
            .get(h.len..)
            .and_then(parse_header)
            .is_some_and(|h2| h2.same_stream(&h)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn frame_header() {
        let h = parse_header(&[0xff, 0xfb, 0x90, 0xc0]).unwrap();
        assert_eq!(
            (h.version, h.layer, h.sample_rate, h.len, h.mono),
            (1, 3, 44100, 417, true)
        );
        // padding bit
        assert_eq!(parse_header(&[0xff, 0xfb, 0x92, 0xc0]).unwrap().len, 418);
        // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz: 72 * 64000 / 22050 = 208
        assert_eq!(parse_header(&[0xff, 0xf3, 0x80, 0xc0]).unwrap().len, 208);
        // free format, bad bitrate, bad sample rate, reserved layer/version
        for b in [
            [0xff, 0xfb, 0x00, 0xc0],
            [0xff, 0xfb, 0xf0, 0xc0],
            [0xff, 0xfb, 0x9c, 0xc0],
            [0xff, 0xf9, 0x90, 0xc0],
            [0xff, 0xeb, 0x90, 0xc0],
        ] {
            assert!(parse_header(&b).is_none(), "{b:x?}");
        }
    }

    #[test]
    fn detection() {
        assert!(looks_like(&fixtures::mp3_with_tags()));
        assert!(looks_like(&fixtures::mp3_frames()));
        // One frame header alone is not enough.
        assert!(!looks_like(&fixtures::mp3_silent_frame()[..400]));
        // A well-formed ID3 header is detected even if the tag is cut, so that
        // `clean` can say why it is refused; a bad version or size is not.
        assert!(looks_like(b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f"));
        assert!(!looks_like(b"ID3\x09\x00\x00\x00\x00\x00\x01"));
        assert!(!looks_like(b"ID3\x03\x00\x00\x80\x00\x00\x01"));
        assert!(!looks_like(b"plain text"));
    }

    #[test]
    fn xing_tail_is_zeroed_once() {
        let mut found = Found::default();
        let out = clean(&fixtures::mp3_frames(), &Options::default(), &mut found).unwrap();
        assert_eq!(found.findings.len(), 1);
        assert_eq!(found.findings[0].value.as_deref(), Some("LAME3.100"));
        // The Xing fields stay, the LAME tag is gone.
        assert_eq!(&out[21..25], b"Info");
        assert!(!out.windows(4).any(|w| w == b"LAME"));
        let mut again = Found::default();
        assert_eq!(clean(&out, &Options::default(), &mut again).unwrap(), out);
        assert!(again.findings.is_empty());
    }
}
