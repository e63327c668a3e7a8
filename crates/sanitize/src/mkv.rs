//! Matroska and WebM cleaning.
//!
//! Three steps:
//!
//! 1. **Validate and report in Rust.** A strict EBML walker checks that every
//!    element of the file fits its parent (failing closed on anything
//!    malformed) and reports what identifies: segment Title, MuxingApp,
//!    WritingApp, DateUTC, segment UIDs and file names, track names, Tags,
//!    Chapters, Attachments, Void padding with old content, and data after the
//!    segment (trailer).
//! 2. **Remux with ffmpeg** (stream copy, no re-encoding):
//!    `ffmpeg -nostdin -v error -f matroska -i IN -map 0 -map -0:t? -c copy
//!    -map_metadata -1 -map_chapters -1 -fflags +bitexact -flags:v +bitexact
//!    -flags:a +bitexact -write_crc32 0 -f matroska|webm OUT`. Attachment
//!    streams (`-map -0:t?`) are dropped too: they are whole files (fonts,
//!    covers) with their own names and metadata. `-write_crc32 0` keeps ffmpeg
//!    from writing CRC-32 elements that step 3 would invalidate. In bitexact
//!    mode ffmpeg writes no SegmentUID and no DateUTC, deterministic track
//!    UIDs, and "Lavf" as MuxingApp/WritingApp.
//! 3. **Check the output with the same walker and patch it in place**:
//!    MuxingApp/WritingApp are overwritten with zero bytes (an empty string,
//!    as EBML strings are zero-padded; the elements themselves are mandatory);
//!    any Tags (ffmpeg writes per-track DURATION tags), Chapters, Attachments,
//!    Title, DateUTC, UIDs, file names and track names are turned into Void
//!    elements of the same size, and so are SeekHead entries that pointed at
//!    them and any CRC-32 element of a patched parent. Sizes never change, so
//!    Cues and SeekHead offsets stay valid. The result is walked again and
//!    must report nothing, or the file is refused.
//!
//! **Already clean files are not remuxed.** When the walker reports nothing
//! and every element of the file is on an allowlist (what the bitexact muxer
//! writes: header, SeekHead, Info with empty apps, Tracks, Clusters, Cues,
//! Void), the validated file is returned unchanged. ffmpeg's patched output
//! must pass the same check or it is refused. This makes cleaning idempotent
//! by construction: ffmpeg itself is not a fixed point for every file (a
//! remux of a WebM with Opus audio moves the video by the Opus CodecDelay,
//! 6.5 ms, on every pass).
//!
//! Not handled: identifying strings inside the coded streams (e.g. the x264
//! settings SEI in H.264 video), which a stream copy keeps.

use crate::bytes::printable;
use crate::{Category, Error, Finding, Format, Found, Options};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const F: Format = Format::Mkv;

// Element IDs (with their length marker bits, as written in files).
const EBML: u32 = 0x1A45_DFA3;
const DOCTYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const SEEKHEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEKID: u32 = 0x53AB;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACKENTRY: u32 = 0xAE;
const CLUSTER: u32 = 0x1F43_B675;
const CUES: u32 = 0x1C53_BB6B;
const ATTACHMENTS: u32 = 0x1941_A469;
const ATTACHEDFILE: u32 = 0x61A7;
const CHAPTERS: u32 = 0x1043_A770;
const TAGS: u32 = 0x1254_C367;
const SIMPLETAG: u32 = 0x67C8;
const VOID: u32 = 0xEC;
const CRC32: u32 = 0xBF;
const TITLE: u32 = 0x7BA9;
const MUXINGAPP: u32 = 0x4D80;
const WRITINGAPP: u32 = 0x5741;
const DATEUTC: u32 = 0x4461;
const TRACKNAME: u32 = 0x536E;
const CODECNAME: u32 = 0x25_8688;
const CHAPSTRING: u32 = 0x85;

/// Info children that identify a file or its history (besides the apps).
const INFO_IDS: &[(u32, &str, Category)] = &[
    (TITLE, "Title", Category::Text),
    (DATEUTC, "DateUTC", Category::Time),
    (0x73A4, "SegmentUID", Category::DeviceId),
    (0x7384, "SegmentFilename", Category::Text),
    (0x3C_B923, "PrevUID", Category::DeviceId),
    (0x3C_83AB, "PrevFilename", Category::Text),
    (0x3E_B923, "NextUID", Category::DeviceId),
    (0x3E_83BB, "NextFilename", Category::Text),
    (0x4444, "SegmentFamily", Category::DeviceId),
    (0x6924, "ChapterTranslate", Category::Other),
];

/// Master elements the walker descends into.
const MASTERS: &[u32] = &[
    SEGMENT,
    SEEKHEAD,
    SEEK,
    INFO,
    0x6924,
    TRACKS,
    TRACKENTRY,
    0xE0,
    0xE1,
    0x6D80,
    0x6240,
    0x5034,
    0x5035,
    0x47E7,
    0xE2,
    0xE3,
    0xE4,
    0xE9,
    0x6624,
    0x55B0,
    0x55D0,
    0x7670,
    0x41E4,
    CLUSTER,
    0xA0,
    0x75A1,
    0xA6,
    0x8E,
    0xE8,
    0x5854,
    CUES,
    0xBB,
    0xB7,
    0xDB,
    ATTACHMENTS,
    ATTACHEDFILE,
    CHAPTERS,
    0x45B9,
    0xB6,
    0x8F,
    0x80,
    0x6944,
    0x6911,
    TAGS,
    0x7373,
    0x63C0,
    SIMPLETAG,
];

/// Elements that may follow an unknown-size Cluster at segment level.
const LEVEL1: &[u32] = &[
    SEEKHEAD,
    INFO,
    TRACKS,
    CLUSTER,
    CUES,
    ATTACHMENTS,
    CHAPTERS,
    TAGS,
    EBML,
    SEGMENT,
];

const MAX_DEPTH: usize = 32;

/// Every element a clean file may contain: what ffmpeg's bitexact Matroska
/// and WebM muxer writes for stream-copied audio, video and subtitles, minus
/// what this module neutralises. A file made only of these elements, with
/// nothing to report, is already clean and is returned unchanged.
const ALLOWED: &[u32] = &[
    // EBML header
    EBML, 0x4286, 0x42F7, 0x42F2, 0x42F3, DOCTYPE, 0x4287, 0x4285,
    // Segment, SeekHead, Void
    SEGMENT, SEEKHEAD, SEEK, SEEKID, 0x53AC, VOID,
    // Info (MuxingApp/WritingApp must be empty, checked by `report`)
    INFO, 0x2A_D7B1, MUXINGAPP, WRITINGAPP, 0x4489, // Tracks
    TRACKS, TRACKENTRY, 0xD7, 0x73C5, 0x83, 0xB9, 0x88, 0x55AA, 0x9C, 0x22_B59C, 0x22_B59D, 0x86,
    0x63A2, 0x56AA, 0x56BB, 0x23_E383, 0x55EE, 0x55AB, 0x55AC, 0x55AD, 0x55AE, 0x55AF,
    // Video
    0xE0, 0xB0, 0xBA, 0x54B0, 0x54BA, 0x54B2, 0x9A, 0x9D, 0x53B8, 0x53C0, 0x54AA, 0x54BB, 0x54CC,
    0x54DD, 0x54B3, 0x2E_B524, // Colour, mastering metadata, projection
    0x55B0, 0x55B1, 0x55B2, 0x55B3, 0x55B4, 0x55B5, 0x55B6, 0x55B7, 0x55B8, 0x55B9, 0x55BA, 0x55BB,
    0x55BC, 0x55BD, 0x55D0, 0x55D1, 0x55D2, 0x55D3, 0x55D4, 0x55D5, 0x55D6, 0x55D7, 0x55D8, 0x55D9,
    0x55DA, 0x7670, 0x7671, 0x7672, 0x7673, 0x7674, 0x7675, // Audio
    0xE1, 0xB5, 0x78B5, 0x9F, 0x6264, // Block addition mappings
    0x41E4, 0x41F0, 0x41A4, 0x41E7, 0x41ED, // Clusters and blocks
    CLUSTER, 0xE7, 0xA3, 0xA0, 0xA1, 0x9B, 0xFB, 0x75A2, 0x75A1, 0xA6, 0xEE, 0xA5, 0xA7, 0xAB,
    // Cues
    CUES, 0xBB, 0xB3, 0xB7, 0xF7, 0xF1, 0xF0, 0xB2, 0x5378,
];

/// One element of the tree, flattened.
#[derive(Debug, Clone)]
struct El {
    id: u32,
    start: usize,
    data: usize,
    end: usize,
    /// Index of the parent in the list, if any.
    parent: Option<usize>,
}

fn read_id(d: &[u8], p: usize) -> Result<(u32, usize), Error> {
    let b = *d
        .get(p)
        .ok_or_else(|| Error::malformed(F, format!("element ID at byte {p} runs past the end")))?;
    let len = b.leading_zeros() as usize + 1;
    if len > 4 {
        return Err(Error::malformed(
            F,
            format!("invalid element ID at byte {p}"),
        ));
    }
    let bytes = d
        .get(p..p + len)
        .ok_or_else(|| Error::malformed(F, format!("element ID at byte {p} runs past the end")))?;
    Ok((bytes.iter().fold(0u32, |a, &x| (a << 8) | x as u32), len))
}

/// Reads a size vint; `None` is the "unknown size" value.
fn read_size(d: &[u8], p: usize) -> Result<(Option<u64>, usize), Error> {
    let b = *d.get(p).ok_or_else(|| {
        Error::malformed(F, format!("element size at byte {p} runs past the end"))
    })?;
    let len = b.leading_zeros() as usize + 1;
    if len > 8 {
        return Err(Error::malformed(
            F,
            format!("invalid element size at byte {p}"),
        ));
    }
    let bytes = d.get(p..p + len).ok_or_else(|| {
        Error::malformed(F, format!("element size at byte {p} runs past the end"))
    })?;
    let mask = if len == 8 { 0 } else { 0xffu8 >> len };
    let mut v = (bytes[0] & mask) as u64;
    for &x in &bytes[1..] {
        v = (v << 8) | x as u64;
    }
    let all_ones = v == (1u64 << (7 * len)) - 1;
    Ok((if all_ones { None } else { Some(v) }, len))
}

/// Walks the whole file. Returns the element list, the DocType and the
/// logical end (end of the Segment).
#[derive(Debug)]
struct Tree {
    els: Vec<El>,
    doctype: String,
    end: usize,
}

fn walk_file(d: &[u8]) -> Result<Tree, Error> {
    let mut els = Vec::new();
    let (id, il) = read_id(d, 0)?;
    if id != EBML {
        return Err(Error::malformed(F, "no EBML header at byte 0"));
    }
    let (sz, sl) = read_size(d, il)?;
    let hend = sz
        .and_then(|s| (il + sl).checked_add(s as usize))
        .filter(|&e| e <= d.len())
        .ok_or_else(|| Error::malformed(F, "EBML header at byte 0 runs past the end"))?;
    els.push(El {
        id,
        start: 0,
        data: il + sl,
        end: hend,
        parent: None,
    });
    walk(d, il + sl, hend, Some(0), 1, &mut els)?;
    let doctype = els
        .iter()
        .find(|e| e.id == DOCTYPE)
        .map(|e| {
            String::from_utf8_lossy(&d[e.data..e.end])
                .trim_end_matches('\0')
                .to_string()
        })
        .unwrap_or_else(|| "matroska".to_string());
    if doctype != "matroska" && doctype != "webm" {
        return Err(Error::unsupported(
            F,
            format!("EBML document type '{doctype}'"),
        ));
    }
    // Void elements may sit between the header and the segment.
    let mut p = hend;
    loop {
        let (id, il) = read_id(d, p)?;
        if id == SEGMENT {
            break;
        }
        if id != VOID {
            return Err(Error::malformed(
                F,
                format!("no Segment after the EBML header (byte {p})"),
            ));
        }
        let (sz, sl) = read_size(d, p + il)?;
        let end = sz
            .and_then(|s| (p + il + sl).checked_add(s as usize))
            .filter(|&e| e <= d.len())
            .ok_or_else(|| {
                Error::malformed(F, format!("Void element at byte {p} runs past the end"))
            })?;
        els.push(El {
            id,
            start: p,
            data: p + il + sl,
            end,
            parent: None,
        });
        p = end;
    }
    let seg_start = p;
    let n0 = els.len();
    walk(d, seg_start, d.len(), None, 0, &mut els)?;
    // `walk` at level 0 reads exactly one Segment then stops at the next
    // top-level element; find where the segment ended.
    let seg = els[n0..]
        .iter()
        .find(|e| e.id == SEGMENT && e.parent.is_none())
        .ok_or_else(|| Error::malformed(F, format!("no Segment at byte {seg_start}")))?;
    Ok(Tree {
        end: seg.end,
        els,
        doctype,
    })
}

/// Walks the children in `[p, end)`. At depth 0 it reads one Segment only.
fn walk(
    d: &[u8],
    mut p: usize,
    end: usize,
    parent: Option<usize>,
    depth: usize,
    els: &mut Vec<El>,
) -> Result<usize, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::malformed(
            F,
            format!("elements nested too deeply at byte {p}"),
        ));
    }
    let parent_id = parent.map(|i| els[i].id);
    while p < end {
        let (id, il) = read_id(d, p)?;
        // The end of an unknown-size cluster: a level-1 element.
        if parent_id == Some(CLUSTER)
            && els[parent.unwrap_or(0)].end == usize::MAX
            && LEVEL1.contains(&id)
        {
            return Ok(p);
        }
        let (sz, sl) = read_size(d, p + il)?;
        let data = p + il + sl;
        if data > end {
            return Err(Error::malformed(
                F,
                format!("element header at byte {p} runs past the end of its parent"),
            ));
        }
        let idx = els.len();
        let el_end = match sz {
            Some(s) => {
                let e = (data as u64).checked_add(s).filter(|&e| e <= end as u64).ok_or_else(|| {
                    Error::malformed(
                        F,
                        format!(
                            "element {id:X} at byte {p} runs past the end of its parent ({s} bytes declared, {} left)",
                            end - data
                        ),
                    )
                })?;
                e as usize
            }
            None if id == SEGMENT && depth == 0 => end,
            None if id == CLUSTER && parent_id == Some(SEGMENT) => usize::MAX,
            None => {
                return Err(Error::malformed(
                    F,
                    format!("element {id:X} at byte {p} has an unknown size"),
                ));
            }
        };
        els.push(El {
            id,
            start: p,
            data,
            end: el_end,
            parent,
        });
        if depth == 0 && id != SEGMENT {
            return Err(Error::malformed(F, format!("no Segment at byte {p}")));
        }
        if MASTERS.contains(&id) {
            let stop = walk(d, data, el_end.min(end), Some(idx), depth + 1, els)?;
            if el_end == usize::MAX {
                els[idx].end = stop;
            }
        }
        p = els[idx].end;
        if depth == 0 {
            return Ok(p);
        }
    }
    Ok(p)
}

fn text(d: &[u8], e: &El) -> String {
    let s = String::from_utf8_lossy(&d[e.data..e.end]);
    s.trim_end_matches('\0').trim().to_string()
}

fn uint(d: &[u8], e: &El) -> i64 {
    d[e.data..e.end]
        .iter()
        .take(8)
        .fold(0i64, |a, &x| (a << 8) | x as i64)
}

/// "2024-03-01 12:00:00 UTC" for nanoseconds since 2001-01-01.
fn mkv_date(ns: i64) -> String {
    crate::bytes::utc_string(ns.div_euclid(1_000_000_000) + 978_307_200)
}

fn tag_category(name: &str) -> Category {
    let n = name.to_ascii_uppercase();
    if n.contains("DATE") || n.contains("TIME") && n != "DURATION" {
        Category::Time
    } else if n.contains("SERIAL") || n.contains("UID") || n.contains("DEVICE") {
        Category::DeviceId
    } else if n.contains("ENCODER") || n.contains("SOFTWARE") || n.contains("APPLICATION") {
        Category::Software
    } else if n.contains("LOCATION") || n.contains("GPS") || n.contains("COUNTRY") {
        Category::Location
    } else if [
        "ARTIST",
        "AUTHOR",
        "DIRECTOR",
        "COMPOSER",
        "PERFORMER",
        "PRODUCER",
        "ENCODED_BY",
        "PUBLISHER",
        "WRITTEN_BY",
        "LYRICIST",
        "ACTOR",
        "CONDUCTOR",
        "ARRANGER",
        "COPYRIGHT",
    ]
    .iter()
    .any(|k| n.contains(k))
    {
        Category::Person
    } else {
        Category::Text
    }
}

/// Reports everything identifying in a walked file; returns the indices of
/// the elements to neutralise (`zero` = overwrite the string, else Void).
fn report(d: &[u8], t: &Tree, found: &mut Found) -> Vec<(usize, bool)> {
    let mut fix = Vec::new();
    for (i, e) in t.els.iter().enumerate() {
        let parent = e.parent.map(|p| t.els[p].id);
        match e.id {
            MUXINGAPP | WRITINGAPP if parent == Some(INFO) => {
                let v = text(d, e);
                if !v.is_empty() {
                    let name = if e.id == MUXINGAPP {
                        "MuxingApp"
                    } else {
                        "WritingApp"
                    };
                    found.add(
                        Finding::new(Category::Software, format!("Matroska {name}"))
                            .value(v)
                            .at(e.start),
                    );
                    fix.push((i, true));
                }
            }
            id if parent == Some(INFO) && INFO_IDS.iter().any(|x| x.0 == id) => {
                let (_, name, cat) = INFO_IDS.iter().find(|x| x.0 == id).copied().unwrap_or((
                    0,
                    "",
                    Category::Other,
                ));
                let value = match id {
                    DATEUTC => mkv_date(uint(d, e)),
                    TITLE | 0x7384 | 0x3C_83AB | 0x3E_83BB => text(d, e),
                    _ => d[e.data..e.end.min(e.data + 32)]
                        .iter()
                        .map(|x| format!("{x:02x}"))
                        .collect(),
                };
                found.add(
                    Finding::new(cat, format!("Matroska {name}"))
                        .value(value)
                        .at(e.start),
                );
                fix.push((i, false));
            }
            TRACKNAME | CODECNAME if parent == Some(TRACKENTRY) => {
                let name = if e.id == TRACKNAME {
                    "track Name"
                } else {
                    "track CodecName"
                };
                let cat = if e.id == TRACKNAME {
                    Category::Text
                } else {
                    Category::Software
                };
                found.add(
                    Finding::new(cat, format!("Matroska {name}"))
                        .value(text(d, e))
                        .at(e.start),
                );
                fix.push((i, false));
            }
            TAGS | CHAPTERS | ATTACHMENTS if parent.is_some_and(|p| p == SEGMENT) => {
                let before = found.findings.len();
                // Descendants follow their ancestor in document order.
                let within = |j: usize| t.els[j].start < e.end;
                let mut j = i + 1;
                while j < t.els.len() && within(j) {
                    let c = &t.els[j];
                    let kids = || {
                        let mut k = j + 1;
                        let mut v = Vec::new();
                        while k < t.els.len() && t.els[k].start < c.end {
                            v.push(&t.els[k]);
                            k += 1;
                        }
                        v
                    };
                    match c.id {
                        SIMPLETAG => {
                            let mut name = String::new();
                            let mut value = String::new();
                            for k in kids().into_iter().filter(|k| k.parent == Some(j)) {
                                match k.id {
                                    0x45A3 => name = text(d, k),
                                    0x4487 => value = text(d, k),
                                    0x4485 => value = format!("{} bytes", k.end - k.data),
                                    _ => {}
                                }
                            }
                            found.add(
                                Finding::new(tag_category(&name), format!("Matroska tag {name}"))
                                    .value(value)
                                    .at(c.start),
                            );
                        }
                        ATTACHEDFILE => {
                            let mut desc = Vec::new();
                            let mut image = false;
                            for k in kids() {
                                match k.id {
                                    0x466E | 0x467E => desc.push(text(d, k)),
                                    0x4660 => {
                                        let m = text(d, k);
                                        image = m.starts_with("image/");
                                        desc.push(m);
                                    }
                                    0x465C => desc.push(format!("{} bytes", k.end - k.data)),
                                    _ => {}
                                }
                            }
                            found.add(
                                Finding::new(
                                    if image {
                                        Category::Thumbnail
                                    } else {
                                        Category::Other
                                    },
                                    "Matroska attachment",
                                )
                                .value(desc.join(", "))
                                .at(c.start),
                            );
                        }
                        CHAPSTRING => found.add(
                            Finding::new(Category::Text, "Matroska chapter title")
                                .value(text(d, c))
                                .at(c.start),
                        ),
                        _ => {}
                    }
                    j += 1;
                }
                if found.findings.len() == before {
                    let name = match e.id {
                        TAGS => "Tags",
                        CHAPTERS => "Chapters",
                        _ => "Attachments",
                    };
                    found.add(
                        Finding::new(Category::Other, format!("Matroska {name}"))
                            .value(format!("{} bytes", e.end - e.start))
                            .at(e.start),
                    );
                }
                fix.push((i, false));
            }
            VOID => {
                let body = &d[e.data..e.end];
                if body.iter().any(|&x| x != 0) {
                    let p = printable(&body[..body.len().min(200)]);
                    found.add(
                        Finding::new(Category::Other, "Matroska Void padding content")
                            .value(if p.is_empty() {
                                format!("{} bytes", body.len())
                            } else {
                                p
                            })
                            .at(e.start),
                    );
                    fix.push((i, false));
                }
            }
            _ => {}
        }
    }
    fix
}

/// Overwrites `out[start..end]` with a Void element of the same total size.
fn void(out: &mut [u8], start: usize, end: usize) {
    let len = end - start;
    out[start..end].fill(0);
    if len < 2 {
        return; // cannot happen: every element has an ID and a size byte
    }
    out[start] = 0xEC;
    if len - 2 <= 126 {
        out[start + 1] = 0x80 | (len - 2) as u8;
    } else {
        // 8-byte size vint: 0x01 then 7 bytes.
        let n = (len - 9) as u64;
        out[start + 1] = 0x01;
        out[start + 2..start + 9].copy_from_slice(&n.to_be_bytes()[1..]);
    }
}

/// Neutralises what `report` found in ffmpeg's output.
fn patch(out: &mut [u8], t: &Tree, fix: &[(usize, bool)]) {
    let mut touched_parents = Vec::new();
    let mut voided_ids = Vec::new();
    let mut voided: Vec<(usize, usize)> = Vec::new();
    let inside = |v: &[(usize, usize)], p: usize| v.iter().any(|&(a, b)| a <= p && p < b);
    for &(i, zero) in fix {
        let e = &t.els[i];
        if inside(&voided, e.start) {
            continue;
        }
        voided.push((e.start, e.end));
        if zero {
            out[e.data..e.end].fill(0);
        } else {
            void(out, e.start, e.end);
            voided_ids.push(e.id);
        }
        touched_parents.extend(e.parent);
    }
    // SeekHead entries that point at removed level-1 elements.
    for e in &t.els {
        if e.id != SEEKID {
            continue;
        }
        let id = out[e.data..e.end]
            .iter()
            .take(4)
            .fold(0u32, |a, &x| (a << 8) | x as u32);
        if voided_ids.contains(&id)
            && !inside(&voided, e.start)
            && let Some(seek) = e.parent.filter(|&p| t.els[p].id == SEEK)
        {
            let s = &t.els[seek];
            void(out, s.start, s.end);
            touched_parents.extend(s.parent);
        }
    }
    // CRC-32 elements of touched parents no longer match: drop them.
    for e in &t.els {
        if e.id == CRC32
            && !inside(&voided, e.start)
            && e.parent.is_some_and(|p| touched_parents.contains(&p))
        {
            void(out, e.start, e.end);
        }
    }
}

/// The ffmpeg arguments of the remux, from `input` to `output`.
pub fn remux_args(input: &str, output: &str, webm: bool) -> Vec<String> {
    let mut a: Vec<String> = ["-nostdin", "-v", "error", "-f", "matroska", "-i"]
        .map(String::from)
        .to_vec();
    a.push(input.to_string());
    a.extend(
        [
            "-map",
            "0",
            "-map",
            "-0:t?",
            "-c",
            "copy",
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-write_crc32",
            "0",
            "-f",
        ]
        .map(String::from),
    );
    a.push(if webm { "webm" } else { "matroska" }.to_string());
    a.push(output.to_string());
    a
}

fn ffmpeg(input: &[u8], webm: bool) -> Result<Vec<u8>, Error> {
    let tool = |reason: String| Error::Tool {
        tool: "ffmpeg",
        reason,
    };
    let dir =
        tempfile::tempdir().map_err(|e| tool(format!("cannot make a temporary directory: {e}")))?;
    let inp = dir.path().join("in.mkv");
    let outp = dir.path().join(if webm { "out.webm" } else { "out.mkv" });
    let errp = dir.path().join("stderr.txt");
    std::fs::File::create(&inp)
        .and_then(|mut f| f.write_all(input))
        .map_err(|e| tool(format!("cannot write a temporary file: {e}")))?;
    let errf = std::fs::File::create(&errp)
        .map_err(|e| tool(format!("cannot write a temporary file: {e}")))?;
    let mut child = Command::new("ffmpeg")
        .args(remux_args(
            &inp.to_string_lossy(),
            &outp.to_string_lossy(),
            webm,
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errf)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                tool("not installed; install it with: apt-get install ffmpeg".to_string())
            }
            _ => tool(format!("cannot run: {e}")),
        })?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(tool("timed out after 600 s".to_string()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(tool(format!("cannot wait for it: {e}"))),
        }
    };
    // At `-v error` ffmpeg prints only errors. It can print one (for example
    // "Invalid track number") and still exit 0 with a file it cannot read
    // back, so any message at all means the remux is refused.
    let msg = std::fs::read_to_string(&errp).unwrap_or_default();
    let msg: String = msg.trim().chars().take(500).collect();
    if !status.success() || !msg.is_empty() {
        return Err(tool(format!("failed to remux the file ({status}): {msg}")));
    }
    std::fs::read(&outp).map_err(|e| tool(format!("no output file: {e}")))
}

/// The first element ID of the tree that is not on the allowlist.
fn disallowed(t: &Tree) -> Option<u32> {
    t.els.iter().map(|e| e.id).find(|id| !ALLOWED.contains(id))
}

pub(crate) fn clean(data: &[u8], opts: &Options, found: &mut Found) -> Result<Vec<u8>, Error> {
    let tree = walk_file(data)?;
    let before = found.findings.len();
    report(data, &tree, found);
    if tree.end < data.len() {
        let rest = &data[tree.end..];
        if let Ok((id, _)) = read_id(rest, 0)
            && (id == EBML || id == SEGMENT)
        {
            return Err(Error::unsupported(
                F,
                format!("a second EBML document or segment at byte {}", tree.end),
            ));
        }
        found.add(Finding::trailer(
            "data after the Matroska segment",
            data,
            tree.end,
        ));
    }
    // Already clean: nothing to report and nothing outside the allowlist.
    // Returned as is, which also makes cleaning idempotent whatever ffmpeg
    // would do to timestamps on a second remux (it shifts the video of Opus
    // files with a CodecDelay by that delay on every pass).
    if found.findings.len() == before && disallowed(&tree).is_none() {
        return Ok(data.to_vec());
    }
    let webm = tree.doctype == "webm";
    let mut out = match &opts.remux {
        Some(r) => (r.0)(&data[..tree.end], webm).map_err(|reason| Error::Tool {
            tool: "ffmpeg",
            reason,
        })?,
        None => ffmpeg(&data[..tree.end], webm)?,
    };
    // Check and patch ffmpeg's output.
    let t2 = walk_file(&out).map_err(|e| Error::Tool {
        tool: "ffmpeg",
        reason: format!("wrote a file that does not parse: {e}"),
    })?;
    let mut scratch = Found::default();
    let fix = report(&out, &t2, &mut scratch);
    patch(&mut out, &t2, &fix);
    let t3 = walk_file(&out).map_err(|e| Error::Tool {
        tool: "ffmpeg",
        reason: format!("output does not parse after patching: {e}"),
    })?;
    let mut left = Found::default();
    report(&out, &t3, &mut left);
    if let Some(f) = left.findings.first() {
        return Err(Error::Tool {
            tool: "ffmpeg",
            reason: format!(
                "output still carries {} after cleaning; refusing it",
                f.field
            ),
        });
    }
    if let Some(id) = disallowed(&t3) {
        return Err(Error::Tool {
            tool: "ffmpeg",
            reason: format!(
                "output holds Matroska element {id:X}, which baram does not know to be safe; refusing it"
            ),
        });
    }
    if t3.end != out.len() {
        return Err(Error::Tool {
            tool: "ffmpeg",
            reason: "output has data after its segment".to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vint_sizes() {
        assert_eq!(read_size(&[0x81], 0).unwrap(), (Some(1), 1));
        assert_eq!(read_size(&[0x40, 0x02], 0).unwrap(), (Some(2), 2));
        assert_eq!(read_size(&[0xff], 0).unwrap(), (None, 1));
        assert_eq!(
            read_size(&[0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0).unwrap(),
            (None, 8)
        );
        assert!(read_size(&[0x00], 0).is_err());
        assert!(read_size(&[0x40], 0).is_err());
    }

    #[test]
    fn void_keeps_size() {
        for len in [2usize, 3, 100, 128, 129, 130, 1000] {
            let mut b = vec![0x55u8; len];
            void(&mut b, 0, len);
            let (id, il) = read_id(&b, 0).unwrap();
            let (sz, sl) = read_size(&b, il).unwrap();
            assert_eq!(id, VOID);
            assert_eq!(il + sl + sz.unwrap() as usize, len, "len {len}");
        }
    }

    #[test]
    fn unknown_size_segment_and_cluster() {
        let f = crate::fixtures::webm_with_tags();
        let hlen = 5 + (f[4] & 0x7f) as usize;
        let mut d = f[..hlen].to_vec();
        d.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xff]); // Segment, unknown size
        d.extend_from_slice(&[0x1f, 0x43, 0xb6, 0x75, 0xff]); // Cluster, unknown size
        d.extend_from_slice(&[0xe7, 0x81, 0x00]); // Timestamp 0
        d.extend_from_slice(&[0xa3, 0x87, 0x81, 0, 0, 0x80, 0xf8, 0xff, 0xfe]); // SimpleBlock
        let cluster_end = d.len();
        d.extend_from_slice(&[0x1c, 0x53, 0xbb, 0x6b, 0x80]); // empty Cues ends the cluster
        let t = walk_file(&d).unwrap();
        assert_eq!(t.end, d.len());
        let c = t.els.iter().find(|e| e.id == CLUSTER).unwrap();
        assert_eq!(c.end, cluster_end);
        assert!(t.els.iter().any(|e| e.id == 0xA3));
        // Unknown size anywhere else is refused.
        let mut bad = f[..hlen].to_vec();
        bad.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xff, 0x15, 0x49, 0xa9, 0x66, 0xff]);
        let e = walk_file(&bad).unwrap_err().to_string();
        assert!(e.contains("unknown size") && e.contains("byte"), "{e}");
    }

    #[test]
    fn date() {
        assert_eq!(mkv_date(0), "2001-01-01 00:00:00 UTC");
    }
}
