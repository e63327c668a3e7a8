//! The two-way sanitizer.
//!
//! One sanitizer serves both directions of baram's work. What goes *into* a drop
//! must carry nothing that identifies who made it; what comes *out of* North Korea
//! must carry nothing that identifies who carried it. Both are the same job: find
//! every piece of a file that names a person, a machine, a place or a time, and
//! produce a copy without it.
//!
//! # Invariants
//!
//! * **Fails closed.** [`clean`] either returns bytes that were rebuilt by a parser
//!   that understood the whole file, or an [`Error`]. A truncated, malformed or
//!   unknown file is refused with the reason; nothing is ever passed through
//!   unclean. There is no "best effort" mode.
//! * **One code path.** [`inspect`] runs exactly the cleaning code and throws the
//!   output away, so what `inspect` reports is what `clean` removes.
//! * **Data after a format's logical end is always reported and removed**,
//!   whatever it looks like. A Red Star OS chain there is decoded as well
//!   (see [`redstar`]).
//! * **Deterministic.** The same input and options give the same output bytes,
//!   whatever the machine, time or locale.
//!
//! # Use
//!
//! ```
//! let jpeg = baram_sanitize::fixtures::jpeg_with_exif();
//! let cleaned = baram_sanitize::clean(&jpeg, &Default::default()).unwrap();
//! assert!(!cleaned.report.findings.is_empty());
//! // Cleaning is idempotent: a clean file has nothing left to find.
//! let again = baram_sanitize::clean(&cleaned.data, &Default::default()).unwrap();
//! assert!(again.report.findings.is_empty());
//! assert_eq!(again.data, cleaned.data);
//! ```

use serde::Serialize;
use std::fmt;

mod avi;
mod bytes;
pub mod fixtures;
mod gif;
mod jpeg;
mod mkv;
mod mp3;
mod mp4;
mod pdf;
mod png;
pub mod redstar;
mod text;
mod webp;
mod zipdoc;

pub use redstar::RedStarMark;

/// The file formats the sanitizer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp3,
    /// MP4, M4A, M4V, MOV and other ISO base media files.
    Mp4,
    Avi,
    /// Matroska and WebM.
    Mkv,
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Odt,
    Ods,
    Odp,
    /// Plain UTF-8 text (subtitles, .txt): carries no metadata container.
    Text,
}

impl Format {
    /// A short human name, as used in messages ("not a valid JPEG: ...").
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::Webp => "WebP",
            Format::Mp3 => "MP3",
            Format::Mp4 => "MP4/MOV",
            Format::Avi => "AVI",
            Format::Mkv => "Matroska/WebM",
            Format::Pdf => "PDF",
            Format::Docx => "DOCX",
            Format::Xlsx => "XLSX",
            Format::Pptx => "PPTX",
            Format::Odt => "ODT",
            Format::Ods => "ODS",
            Format::Odp => "ODP",
            Format::Text => "text",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Mp3 => "mp3",
            Format::Mp4 => "mp4",
            Format::Avi => "avi",
            Format::Mkv => "mkv",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
            Format::Pptx => "pptx",
            Format::Odt => "odt",
            Format::Ods => "ods",
            Format::Odp => "odp",
            Format::Text => "txt",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a finding is about. Used to sort and filter findings; the exact field is
/// in [`Finding::field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// GPS or other place data.
    Location,
    /// Serial numbers of cameras, lenses, disks; document or device ids.
    DeviceId,
    /// Names of people: author, artist, owner, editor, commenter.
    Person,
    /// Creation, modification and digitisation times.
    Time,
    /// Software, encoder and tool names and versions.
    Software,
    /// Free-text comments, titles, descriptions, keywords.
    Text,
    /// Embedded preview images, which carry their own copy of the picture.
    Thumbnail,
    /// Red Star OS watermark.
    Watermark,
    /// Bytes after the format's logical end.
    Trailer,
    /// Other metadata containers (ICC profiles, maker notes, unknown chunks,
    /// padding with old content).
    Other,
}

/// One piece of identifying data found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub category: Category,
    /// Where it was, in the format's own terms: "EXIF GPS", "PNG tEXt Author",
    /// "ID3v2 TPE1", "docProps/core.xml dc:creator".
    pub field: String,
    /// The value, when it is short and readable (cut to 200 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Byte offset in the input, when meaningful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Finding {
    pub fn new(category: Category, field: impl Into<String>) -> Self {
        Finding {
            category,
            field: field.into(),
            value: None,
            offset: None,
        }
    }
    pub fn value(mut self, v: impl AsRef<str>) -> Self {
        let v = v.as_ref();
        let cut: String = v.chars().take(200).collect();
        self.value = Some(cut);
        self
    }
    /// Bytes after a format's logical end, starting at `offset` of `data`:
    /// their count and a printable preview.
    pub fn trailer(what: &str, data: &[u8], offset: usize) -> Self {
        let rest = data.get(offset..).unwrap_or_default();
        Finding::new(Category::Trailer, what)
            .value(format!(
                "{} bytes: {}",
                rest.len(),
                bytes::printable(&rest[..rest.len().min(40)])
            ))
            .at(offset)
    }
    pub fn at(mut self, offset: usize) -> Self {
        self.offset = Some(offset as u64);
        self
    }
}

/// Everything the sanitizer found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub format: Format,
    pub findings: Vec<Finding>,
    /// The Red Star OS watermark, if the file carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redstar: Option<RedStarMark>,
}

impl Report {
    /// True when nothing was found: the file was already clean.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.redstar.is_none()
    }
}

/// A cleaned file.
#[derive(Debug, Clone)]
pub struct Cleaned {
    /// The rebuilt file.
    pub data: Vec<u8>,
    /// What was removed.
    pub report: Report,
}

/// Cleaning options. The default removes everything optional.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep ICC colour profiles (JPEG APP2, PNG iCCP). They can name the
    /// device model but are sometimes needed for faithful colour.
    pub keep_icc: bool,
    /// Runs the Matroska remux instead of a plain `ffmpeg` subprocess (the
    /// vault runs it in its sandbox, with no temporary files on disk). It
    /// gets the file and whether it is WebM, and must run ffmpeg with
    /// [`mkv_remux_args`].
    pub remux: Option<Remux>,
}

/// The function behind [`Options::remux`].
pub type RemuxFn = dyn Fn(&[u8], bool) -> Result<Vec<u8>, String> + Send + Sync;

/// A shared [`RemuxFn`].
#[derive(Clone)]
pub struct Remux(pub std::sync::Arc<RemuxFn>);

impl fmt::Debug for Remux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Remux(..)")
    }
}

pub use mkv::remux_args as mkv_remux_args;

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file claims a format but does not follow it.
    #[error("not a valid {format}: {reason}")]
    Malformed { format: Format, reason: String },
    /// No supported format was recognised.
    #[error(
        "unknown file type (baram cleans JPEG, PNG, GIF, WebP, MP3, MP4/MOV, AVI, MKV/WebM, PDF, DOCX/XLSX/PPTX, ODT/ODS/ODP and UTF-8 text); refusing to pass it through uncleaned"
    )]
    Unknown,
    /// The format is recognised but this file uses a feature that cannot be
    /// cleaned safely (for example an encrypted PDF).
    #[error("cannot clean this {format}: {reason}")]
    Unsupported { format: Format, reason: String },
    /// An external tool (ffmpeg) was needed and failed or is missing.
    #[error("{tool}: {reason}")]
    Tool { tool: &'static str, reason: String },
}

impl Error {
    pub(crate) fn malformed(format: Format, reason: impl Into<String>) -> Self {
        Error::Malformed {
            format,
            reason: reason.into(),
        }
    }
    pub(crate) fn unsupported(format: Format, reason: impl Into<String>) -> Self {
        Error::Unsupported {
            format,
            reason: reason.into(),
        }
    }
}

/// What a format parser collects while it rebuilds a file.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub findings: Vec<Finding>,
    /// Set by parsers that find a mark inside the format (the DOCX extra field).
    pub redstar: Option<RedStarMark>,
}

impl Found {
    pub fn add(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// Recognises the format by content (never by name).
pub fn detect(data: &[u8]) -> Option<Format> {
    let d = data;
    if d.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some(Format::Jpeg);
    }
    if d.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if d.starts_with(b"GIF87a") || d.starts_with(b"GIF89a") {
        return Some(Format::Gif);
    }
    if d.len() >= 12 && &d[..4] == b"RIFF" {
        match &d[8..12] {
            b"WEBP" => return Some(Format::Webp),
            b"AVI " => return Some(Format::Avi),
            _ => {}
        }
    }
    if d.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some(Format::Mkv);
    }
    if d.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    if d.starts_with(b"PK\x03\x04") {
        return zipdoc::detect(d);
    }
    if mp4::looks_like(d) {
        return Some(Format::Mp4);
    }
    if mp3::looks_like(d) {
        return Some(Format::Mp3);
    }
    if text::looks_like(d) {
        return Some(Format::Text);
    }
    None
}

/// Reports what [`clean`] would remove, without writing anything.
pub fn inspect(data: &[u8]) -> Result<Report, Error> {
    clean(data, &Options::default()).map(|c| c.report)
}

/// Rebuilds `data` without identifying metadata, or refuses it.
pub fn clean(data: &[u8], opts: &Options) -> Result<Cleaned, Error> {
    let format = detect(data).ok_or(Error::Unknown)?;
    clean_as(format, data, opts)
}

/// Like [`clean`], but parses `data` as `format` whatever its content says.
///
/// For fuzzing one parser at a time, and for callers that already know the
/// type. A file that is not of that format is refused as malformed.
pub fn clean_as(format: Format, data: &[u8], opts: &Options) -> Result<Cleaned, Error> {
    let cleaned = clean_once(format, data, opts)?;
    // The last line of defence of "fails closed": a cleaned copy must itself
    // be clean. Whatever a parser misjudged (the fuzzer found an MP3 whose
    // last "frame" swallowed an APE tag) shows up here as a second pass that
    // finds something, fails, or changes the bytes. When nothing was removed
    // and the bytes are unchanged, the second pass would repeat the first.
    if cleaned.data != data {
        match clean_once(format, &cleaned.data, opts) {
            Ok(again) if again.report.is_clean() && again.data == cleaned.data => {}
            Ok(again) => {
                return Err(Error::unsupported(
                    format,
                    format!(
                        "the cleaned copy was not clean on a second pass ({}); refusing it",
                        again
                            .report
                            .findings
                            .first()
                            .map_or("its bytes changed".to_string(), |f| f.field.clone())
                    ),
                ));
            }
            Err(e) => {
                return Err(Error::unsupported(
                    format,
                    format!("the cleaned copy did not parse again ({e}); refusing it"),
                ));
            }
        }
    }
    Ok(cleaned)
}

/// One cleaning pass; see [`clean_as`].
fn clean_once(format: Format, data: &[u8], opts: &Options) -> Result<Cleaned, Error> {
    // A Red Star chain sits after the format's logical end; decode it first so
    // the analyst sees the serials, then let the format parser meet a file that
    // ends where the format says. Any other trailing data is the parser's job.
    let (body, redstar) = match redstar::find_trailer(data) {
        Some((mark, cut)) if format != Format::Text => (&data[..cut], Some(mark)),
        _ => (data, None),
    };
    let mut found = Found::default();
    if let Some(m) = &redstar {
        found.add(
            Finding::new(Category::Watermark, "Red Star OS watermark")
                .value(format!("{} block(s): {}", m.blocks, m.serials.join(", ")))
                .at(m.offset as usize),
        );
    }
    let findings = &mut found;
    let out = match format {
        Format::Jpeg => jpeg::clean(body, opts, findings)?,
        Format::Png => png::clean(body, opts, findings)?,
        Format::Gif => gif::clean(body, opts, findings)?,
        Format::Webp => webp::clean(body, opts, findings)?,
        Format::Mp3 => mp3::clean(body, opts, findings)?,
        Format::Mp4 => mp4::clean(body, opts, findings)?,
        Format::Avi => avi::clean(body, opts, findings)?,
        Format::Mkv => mkv::clean(body, opts, findings)?,
        Format::Pdf => pdf::clean(body, opts, findings)?,
        Format::Docx | Format::Xlsx | Format::Pptx | Format::Odt | Format::Ods | Format::Odp => {
            zipdoc::clean(format, body, opts, findings)?
        }
        Format::Text => text::clean(body, opts, findings)?,
    };
    // Content that happens to end like a Red Star chain (the fuzzer found
    // such AVI and MP3 files) would be cut off when the cleaned file is read
    // again: the cleaned file could not be told apart from a marked one.
    // Refuse it rather than hand out a file whose next reading differs.
    if format != Format::Text && redstar::find_trailer(&out).is_some() {
        return Err(Error::unsupported(
            format,
            "its content ends in bytes that look like a Red Star OS watermark, so a cleaned copy could not be read back unambiguously",
        ));
    }
    // The DOCX Red Star mark lives in a ZIP extra field; zipdoc sets it in
    // `found.redstar` itself.
    Ok(Cleaned {
        data: out,
        report: Report {
            format,
            findings: found.findings,
            redstar: redstar.or(found.redstar),
        },
    })
}
