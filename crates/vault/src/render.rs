//! Documents rendered safe: every step that parses the hostile file runs in
//! the sandbox, and what is kept is pixels and text, rebuilt by us.
//!
//! 1. Not a PDF (DOCX/ODT/XLSX/PPTX/DOC/HWP 97 …): LibreOffice headless,
//!    `soffice --convert-to pdf` with a private profile
//!    (`-env:UserInstallation=file:///tmp/lo`) in the sandbox's tmpfs.
//!    HWP 5 and HWPX, which LibreOffice does not read, are first read in
//!    the same sandbox run by baram's own reader ([`baram_hwp`], run as
//!    `baram __hwp-render in.hwp doc.fodt`: the baram binary bound
//!    read-only, see [`DocOptions::hwp_helper`]), which writes a flat ODT
//!    of the paragraphs and tables and nothing else (no metadata, no
//!    pictures yet); LibreOffice converts that.
//! 2. `pdfinfo` (page count), `pdftotext` (the text layer, pages split by
//!    form feeds) and `pdftotext -bbox` (its words' boxes), one sandbox run.
//! 3. Each page, in parallel (one per core): `pdftoppm -r 150 -png` (the
//!    resolution lowered for a page larger than [`DocOptions::max_side`]
//!    pixels), and, when the page has no text layer (fewer than
//!    [`TEXT_LAYER_MIN`] letters), tesseract on the page image in the same
//!    sandbox run ([`crate::ocr`]).
//! 4. The page images are decoded here (under `image` limits) and the pixels
//!    written into a new PDF ([`build_pdf`]): one image per page and an
//!    invisible text layer (render mode 3) with each word at its box, from
//!    tesseract's TSV or pdftotext's boxes, so the PDF can be searched and
//!    text selected. Nothing of the original's objects survives: no
//!    scripts, links, forms, fonts, attachments or metadata.
//! 5. The rebuilt PDF must pass the sanitizer with nothing to report, or it
//!    is not kept.
//!
//! The document's text (for the search index) is per page the text layer
//! when there is one, else tesseract's text output; the report says which.
//! A step that fails, or that is still running at the document's time limit
//! ([`DocOptions::time`], shared by all steps), is the document's refusal:
//! the caller quarantines it with the reason.

use crate::ocr::{self, Word};
use crate::sandbox::{Job, Limits, Sandbox, SandboxError};
use serde::{Deserialize, Serialize};
use std::io::{Cursor, Write};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A page whose text layer has fewer letters than this is OCRed.
pub const TEXT_LAYER_MIN: usize = 10;

/// Limits and settings of rendering one document.
#[derive(Debug, Clone)]
pub struct DocOptions {
    /// Most pages rendered; a longer document is rendered up to it and the
    /// report says so.
    pub max_pages: u32,
    /// Wall-clock time for the whole document, all steps together.
    pub time: Duration,
    /// Address space of each tool (`RLIMIT_AS`).
    pub memory: u64,
    /// Size of each sandbox's tmpfs.
    pub tmpfs: u64,
    /// Rendering resolution.
    pub dpi: u32,
    /// Longest side of a page image in pixels (the resolution is lowered).
    pub max_side: u32,
    /// Pages rendered and OCRed at once.
    pub threads: usize,
    /// The program whose `__hwp-render IN OUT` reads HWP 5 and HWPX
    /// documents into a flat ODT ([`hwp_render_main`]): the baram binary
    /// itself (`baram vault process` sets it). `None`: HWP 5 and HWPX are
    /// not rendered (unhandled).
    pub hwp_helper: Option<std::path::PathBuf>,
}

impl Default for DocOptions {
    fn default() -> Self {
        DocOptions {
            max_pages: 200,
            time: Duration::from_secs(600),
            memory: 3 << 30,
            tmpfs: 2 << 30,
            dpi: 150,
            max_side: 5000,
            threads: ocr::default_threads(),
            hwp_helper: None,
        }
    }
}

/// What rendering found, for the encrypted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocFacts {
    /// Pages in the (converted) PDF.
    pub pages: u32,
    /// Pages rendered (fewer when over [`DocOptions::max_pages`]).
    pub pages_rendered: u32,
    /// "libreoffice" when the original was converted to PDF first,
    /// "baram-hwp, libreoffice" for HWP 5 and HWPX.
    pub converted_with: Option<String>,
    /// "text layer", "ocr", or "text layer and ocr".
    pub text_source: String,
    pub text_layer_pages: u32,
    pub ocr_pages: u32,
    /// Mean tesseract confidence over the OCRed words, 0..=100.
    pub ocr_mean_conf: Option<u32>,
}

/// A rendered document: the safe PDF and the text.
pub struct Rendered {
    pub pdf: Zeroizing<Vec<u8>>,
    pub text: Zeroizing<String>,
    pub facts: DocFacts,
}

/// One page image with the words to lay over it.
pub struct PageImage {
    /// Size in points.
    pub width_pt: f32,
    pub height_pt: f32,
    /// Pixels: 1 (gray) or 3 (RGB) bytes each, rows top to bottom.
    pub pixels: Zeroizing<Vec<u8>>,
    pub px_width: u32,
    pub px_height: u32,
    pub channels: u8,
    /// Words in points, origin top left.
    pub words: Vec<Word>,
}

struct Clock {
    deadline: Instant,
    total: Duration,
}

impl Clock {
    fn limits(&self, o: &DocOptions) -> Limits {
        Limits {
            wall: self
                .deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
            memory: o.memory,
            output: 1 << 30,
            tmpfs: o.tmpfs,
        }
    }
    fn err(&self, step: &str, e: SandboxError) -> String {
        match e {
            SandboxError::Timeout(_) => format!(
                "{step} did not finish within the document's time limit of {:?}: killed (a document built to hang the converter, or too large)",
                self.total
            ),
            e => format!("{step}: {e}"),
        }
    }
}

/// The file name extension LibreOffice is given for a kind (it detects the
/// format by content too; the name only helps).
fn input_name(kind: &str) -> String {
    let ext = match kind {
        "hwp3" => "hwp",
        "ole" => "doc",
        k if k.chars().all(|c| c.is_ascii_alphanumeric()) && !k.is_empty() && k.len() < 8 => k,
        _ => "bin",
    };
    format!("in.{ext}")
}

/// Renders a document (its decrypted bytes, of type `kind` as
/// [`crate::process::kind_of`] names it) into a safe PDF and text.
pub fn render_document(
    sb: &Sandbox,
    data: &[u8],
    kind: &str,
    o: &DocOptions,
) -> Result<Rendered, String> {
    let clock = Clock {
        deadline: Instant::now() + o.time,
        total: o.time,
    };
    let (pdf, converted_with) = match kind {
        "pdf" => (Zeroizing::new(data.to_vec()), None),
        "hwp" | "hwpx" => (
            convert_hwp(sb, data, kind, &clock, o)?,
            Some("baram-hwp, libreoffice".to_string()),
        ),
        _ => (
            convert_to_pdf(sb, data, kind, &clock, o)?,
            Some("libreoffice".to_string()),
        ),
    };
    let mut r = render_pdf(sb, &pdf, &clock, o)?;
    r.facts.converted_with = converted_with;
    Ok(r)
}

fn convert_to_pdf(
    sb: &Sandbox,
    data: &[u8],
    kind: &str,
    clock: &Clock,
    o: &DocOptions,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let name = input_name(kind);
    let script = format!("{SOFFICE} {name}");
    let mut j = Job::new("/bin/sh", &["-c", &script]);
    j.files = vec![(&name, data)];
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
    let out_name = format!("out/{stem}.pdf");
    j.outputs = vec![&out_name];
    let r = sb
        .run_job(&j, &clock.limits(o))
        .map_err(|e| clock.err("LibreOffice", e))?;
    match r.files.into_iter().next().flatten() {
        Some(pdf) if pdf.starts_with(b"%PDF-") => Ok(Zeroizing::new(pdf)),
        _ => Err(format!(
            "LibreOffice could not convert it ({}): {}",
            r.status,
            ocr::last_line(&r.stderr)
        )),
    }
}

const SOFFICE: &str = "soffice --headless --norestore --nologo --nolockcheck --nodefault \"-env:UserInstallation=file://$PWD/lo\" --convert-to pdf --outdir out";

/// HWP 5 / HWPX to PDF in one sandbox run: baram's reader writes a flat
/// ODT (exit 6 when it refuses the file, its reason on stderr), then
/// LibreOffice converts it.
fn convert_hwp(
    sb: &Sandbox,
    data: &[u8],
    kind: &str,
    clock: &Clock,
    o: &DocOptions,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let helper = o
        .hwp_helper
        .as_deref()
        .ok_or("internal: no HWP reader was given (DocOptions::hwp_helper)")?;
    let name = if kind == "hwpx" { "in.hwpx" } else { "in.hwp" };
    let script =
        format!("\"$BARAM_HELPER\" __hwp-render {name} doc.fodt || exit 6; {SOFFICE} doc.fodt");
    let mut j = Job::new("/bin/sh", &["-c", &script]);
    j.files = vec![(name, data)];
    j.outputs = vec!["out/doc.pdf"];
    j.helper = Some(helper);
    j.env = vec![("RUST_BACKTRACE", "0".into())];
    let r = sb
        .run_job(&j, &clock.limits(o))
        .map_err(|e| clock.err("the HWP reader and LibreOffice", e))?;
    if r.status.code() == Some(6) {
        return Err(format!(
            "the HWP reader refused it: {}",
            ocr::last_line(&r.stderr)
        ));
    }
    match r.files.into_iter().next().flatten() {
        Some(pdf) if pdf.starts_with(b"%PDF-") => Ok(Zeroizing::new(pdf)),
        _ => Err(format!(
            "LibreOffice could not convert the HWP reader's document ({}): {}",
            r.status,
            ocr::last_line(&r.stderr)
        )),
    }
}

/// `baram __hwp-render IN OUT` (and the `baram-vault-hwp` test program):
/// reads the HWP 5 or HWPX document IN with [`baram_hwp`] and writes the
/// flat ODT OUT. Runs inside the sandbox, on the hostile file; the only
/// function of this crate that writes to stderr, being that program's
/// `main`: 0 written, 2 refused (the reason on stderr, one line), 3 the
/// reader panicked (a bug; the file is refused all the same).
pub fn hwp_render_main(args: &[std::ffi::OsString]) -> i32 {
    let [input, output] = args else {
        eprintln!("usage: baram __hwp-render IN OUT");
        return 2;
    };
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| -> Result<(), String> {
        let data = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let fodt =
            baram_hwp::convert(&data, &baram_hwp::Limits::default()).map_err(|e| e.to_string())?;
        std::fs::write(output, fodt).map_err(|e| format!("{}: {e}", output.display()))
    });
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("{e}");
            2
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("the HWP reader crashed on it (please report it): {msg}");
            3
        }
    }
}

/// A page of pdftotext's text layer: its size and words (points, top left).
#[derive(Debug, Default, Clone, PartialEq)]
struct LayerPage {
    width: f32,
    height: f32,
    words: Vec<Word>,
}

fn render_pdf(sb: &Sandbox, pdf: &[u8], clock: &Clock, o: &DocOptions) -> Result<Rendered, String> {
    // Step 2: page count, text layer and its boxes.
    let script = format!(
        "pdfinfo in.pdf > info.txt || exit 3; pdftotext -enc UTF-8 -l {n} in.pdf t.txt || exit 4; pdftotext -bbox -enc UTF-8 -l {n} in.pdf t.html || exit 5",
        n = o.max_pages
    );
    let mut j = Job::new("/bin/sh", &["-c", &script]);
    j.files = vec![("in.pdf", pdf)];
    j.outputs = vec!["info.txt", "t.txt", "t.html"];
    let r = sb
        .run_job(&j, &clock.limits(o))
        .map_err(|e| clock.err("pdfinfo/pdftotext", e))?;
    if !r.success() {
        return Err(format!(
            "a malformed PDF: poppler ({}) refused it: {}",
            match r.status.code() {
                Some(3) => "pdfinfo",
                _ => "pdftotext",
            },
            ocr::last_line(&r.stderr)
        ));
    }
    let mut files = r.files.into_iter();
    let info = String::from_utf8_lossy(&files.next().flatten().unwrap_or_default()).into_owned();
    let layer_text = Zeroizing::new(
        String::from_utf8_lossy(&files.next().flatten().unwrap_or_default()).into_owned(),
    );
    let bbox = Zeroizing::new(
        String::from_utf8_lossy(&files.next().flatten().unwrap_or_default()).into_owned(),
    );
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "a malformed PDF: pdfinfo gives no page count".to_string())?;
    if pages == 0 {
        return Err("a PDF with no pages".into());
    }
    let n = pages.min(o.max_pages);
    let layer_pages = parse_bbox(&bbox);
    let layer_texts: Vec<&str> = layer_text.split('\u{c}').collect();

    // Step 3: each page, in parallel.
    struct PageJob {
        no: u32,
        dpi: u32,
        ocr: bool,
    }
    let jobs: Vec<PageJob> = (1..=n)
        .map(|no| {
            let lp = layer_pages.get(no as usize - 1);
            let (w, h) = lp.map_or((612.0, 792.0), |p| (p.width, p.height));
            let long = w.max(h).max(1.0);
            let dpi = (o.dpi as f32)
                .min(o.max_side as f32 * 72.0 / long)
                .floor()
                .max(1.0) as u32;
            let letters = layer_texts
                .get(no as usize - 1)
                .map_or(0, |t| t.chars().filter(|c| c.is_alphanumeric()).count());
            PageJob {
                no,
                dpi,
                ocr: letters < TEXT_LAYER_MIN,
            }
        })
        .collect();
    let results = ocr::par_map(&jobs, o.threads, |_, pj| {
        let mut script = format!(
            "pdftoppm -f {no} -l {no} -r {dpi} -png -singlefile in.pdf p || exit 3",
            no = pj.no,
            dpi = pj.dpi
        );
        if pj.ocr {
            script.push_str(&format!("; {} || exit 4", ocr::tesseract_command("p.png")));
        }
        let mut j = Job::new("/bin/sh", &["-c", &script]);
        j.files = vec![("in.pdf", pdf)];
        j.outputs = vec!["p.png", "o.txt", "o.tsv"];
        j.env = ocr::tesseract_env();
        let r = sb
            .run_job(&j, &clock.limits(o))
            .map_err(|e| clock.err(&format!("page {}", pj.no), e))?;
        if !r.success() {
            return Err(format!(
                "page {}: {} failed: {}",
                pj.no,
                if r.status.code() == Some(4) {
                    "tesseract"
                } else {
                    "pdftoppm"
                },
                ocr::last_line(&r.stderr)
            ));
        }
        let mut f = r.files.into_iter();
        let png = Zeroizing::new(
            f.next()
                .flatten()
                .ok_or_else(|| format!("page {}: pdftoppm wrote no image", pj.no))?,
        );
        let text = if pj.ocr {
            Some(ocr::page_text(
                f.next().flatten().as_deref(),
                f.next().flatten().as_deref(),
            )?)
        } else {
            None
        };
        Ok((png, text))
    });
    let mut pages_out = Vec::new();
    let mut text = Zeroizing::new(String::new());
    let (mut layer_n, mut ocr_n) = (0u32, 0u32);
    let (mut conf_sum, mut conf_n) = (0f32, 0usize);
    for (pj, res) in jobs.iter().zip(results) {
        let (png, ocr_text) = res?;
        let img = decode_page(&png, o.max_side).map_err(|e| format!("page {}: {e}", pj.no))?;
        let scale = 72.0 / pj.dpi as f32;
        let (width_pt, height_pt) = (img.0 as f32 * scale, img.1 as f32 * scale);
        let (page_text, words): (String, Vec<Word>) = match ocr_text {
            Some(t) => {
                ocr_n += 1;
                conf_sum += t.words.iter().map(|w| w.conf).sum::<f32>();
                conf_n += t.words.len();
                let words = t
                    .words
                    .iter()
                    .map(|w| Word {
                        left: w.left * scale,
                        top: w.top * scale,
                        width: w.width * scale,
                        height: w.height * scale,
                        ..w.clone()
                    })
                    .collect();
                (t.text.clone(), words)
            }
            None => {
                layer_n += 1;
                let lp = layer_pages
                    .get(pj.no as usize - 1)
                    .cloned()
                    .unwrap_or_default();
                // pdftotext's points, scaled to the image's page size.
                let (sx, sy) = (
                    if lp.width > 0.0 {
                        width_pt / lp.width
                    } else {
                        1.0
                    },
                    if lp.height > 0.0 {
                        height_pt / lp.height
                    } else {
                        1.0
                    },
                );
                let words = lp
                    .words
                    .into_iter()
                    .map(|w| Word {
                        left: w.left * sx,
                        top: w.top * sy,
                        width: w.width * sx,
                        height: w.height * sy,
                        ..w
                    })
                    .collect();
                (
                    layer_texts
                        .get(pj.no as usize - 1)
                        .copied()
                        .unwrap_or("")
                        .trim_end()
                        .to_string(),
                    words,
                )
            }
        };
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&page_text);
        pages_out.push(PageImage {
            width_pt,
            height_pt,
            px_width: img.0,
            px_height: img.1,
            channels: img.2,
            pixels: img.3,
            words,
        });
    }
    let safe = build_pdf(&pages_out);
    // Step 5: our own PDF, checked by the sanitizer like any file.
    match baram_sanitize::clean(&safe, &Default::default()) {
        Ok(c) if c.report.is_clean() => {}
        Ok(c) => {
            return Err(format!(
                "internal: the rebuilt PDF carries {} according to the sanitizer; not kept (please report it)",
                c.report
                    .findings
                    .first()
                    .map_or("a watermark".into(), |f| f.field.clone())
            ));
        }
        Err(e) => {
            return Err(format!(
                "internal: the rebuilt PDF does not pass the sanitizer ({e}); not kept (please report it)"
            ));
        }
    }
    let text_source = match (layer_n, ocr_n) {
        (_, 0) => "text layer",
        (0, _) => "ocr",
        _ => "text layer and ocr",
    };
    Ok(Rendered {
        pdf: Zeroizing::new(safe),
        text,
        facts: DocFacts {
            pages,
            pages_rendered: n,
            converted_with: None,
            text_source: text_source.into(),
            text_layer_pages: layer_n,
            ocr_pages: ocr_n,
            ocr_mean_conf: (conf_n > 0).then(|| (conf_sum / conf_n as f32).round() as u32),
        },
    })
}

/// Decodes a page PNG under limits: (width, height, channels, pixels), gray
/// when every pixel is gray.
/// A decoded page: width, height, channels, pixels.
type Decoded = (u32, u32, u8, Zeroizing<Vec<u8>>);

fn decode_page(png: &[u8], max_side: u32) -> Result<Decoded, String> {
    let mut r = image::ImageReader::with_format(Cursor::new(png), image::ImageFormat::Png);
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(max_side + 16);
    lim.max_image_height = Some(max_side + 16);
    lim.max_alloc = Some(1 << 30);
    r.limits(lim);
    let img = r
        .decode()
        .map_err(|e| format!("the page image does not decode: {e}"))?;
    let rgb = Zeroizing::new(img.to_rgb8().into_raw());
    drop(Zeroizing::new(img.into_bytes()));
    let (w, h) = {
        let d = image::ImageReader::with_format(Cursor::new(png), image::ImageFormat::Png)
            .into_dimensions()
            .map_err(|e| e.to_string())?;
        (d.0, d.1)
    };
    if rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
        let gray: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
        Ok((w, h, 1, Zeroizing::new(gray)))
    } else {
        Ok((w, h, 3, rgb))
    }
}

fn attr(tag: &str, name: &str) -> Option<f32> {
    let k = format!("{name}=\"");
    let i = tag.find(&k)? + k.len();
    let j = tag[i..].find('"')? + i;
    tag[i..j].parse::<f32>().ok().filter(|v| v.is_finite())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Pages and words of `pdftotext -bbox` output. Anything that does not
/// parse is skipped.
fn parse_bbox(html: &str) -> Vec<LayerPage> {
    let mut pages = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<page ") {
        rest = &rest[i..];
        let Some(end_tag) = rest.find('>') else { break };
        let tag = &rest[..end_tag];
        let mut p = LayerPage {
            width: attr(tag, "width").unwrap_or(0.0),
            height: attr(tag, "height").unwrap_or(0.0),
            words: Vec::new(),
        };
        let body_end = rest.find("</page>").unwrap_or(rest.len());
        let mut body = &rest[end_tag..body_end];
        while let Some(k) = body.find("<word ") {
            body = &body[k..];
            let Some(te) = body.find('>') else { break };
            let wtag = &body[..te];
            let Some(ce) = body[te..].find("</word>") else {
                break;
            };
            let text = unescape(&body[te + 1..te + ce]);
            if let (Some(x0), Some(y0), Some(x1), Some(y1)) = (
                attr(wtag, "xMin"),
                attr(wtag, "yMin"),
                attr(wtag, "xMax"),
                attr(wtag, "yMax"),
            ) && x1 > x0
                && y1 > y0
                && !text.trim().is_empty()
            {
                p.words.push(Word {
                    text,
                    left: x0,
                    top: y0,
                    width: x1 - x0,
                    height: y1 - y0,
                    conf: 100.0,
                    line: (0, 0, 0),
                });
            }
            body = &body[te + ce..];
        }
        pages.push(p);
        rest = &rest[body_end.min(rest.len())..];
        if rest.starts_with("</page>") {
            rest = &rest[7..];
        } else {
            break;
        }
    }
    pages
}

/// The ToUnicode map of the text layer's font: a code is a UTF-16 unit
/// (Identity-H, two bytes), mapped to itself.
const TO_UNICODE: &[u8] = b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n\
1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n\
endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";

/// A PDF of page images with an invisible text layer, written from nothing
/// but pixels and words: no metadata, no ID, no dates, no producer.
///
/// The text layer uses a font without glyphs (none is embedded: text in
/// render mode 3 is never drawn) whose every code is 500 units wide; each
/// word is placed at its box's bottom left, its font size the box's height,
/// and stretched (`Tz`) to the box's width, so selecting and searching
/// find it where it is on the page.
pub fn build_pdf(pages: &[PageImage]) -> Vec<u8> {
    use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode};
    use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let cid = Ref::new(4);
    let desc = Ref::new(5);
    let cmap = Ref::new(6);
    let first = 7;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first + 3 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.type0_font(font)
        .base_font(Name(b"GlyphLessFont"))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    pdf.cid_font(cid)
        .subtype(CidFontType::Type2)
        .base_font(Name(b"GlyphLessFont"))
        .system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .font_descriptor(desc)
        .default_width(500.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    pdf.font_descriptor(desc)
        .name(Name(b"GlyphLessFont"))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(0.0, 0.0, 500.0, 1000.0))
        .italic_angle(0.0)
        .ascent(1000.0)
        .descent(0.0)
        .cap_height(1000.0)
        .stem_v(80.0);
    pdf.stream(cmap, TO_UNICODE);
    for (i, p) in pages.iter().enumerate() {
        let page_id = page_ids[i];
        let image_id = Ref::new(page_id.get() + 1);
        let content_id = Ref::new(page_id.get() + 2);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, p.width_pt, p.height_pt))
            .parent(tree)
            .contents(content_id);
        let mut res = page.resources();
        res.x_objects().pair(Name(b"Im0"), image_id);
        res.fonts().pair(Name(b"F0"), font);
        res.finish();
        page.finish();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        z.write_all(&p.pixels).expect("in memory");
        let packed = Zeroizing::new(z.finish().expect("in memory"));
        let mut im = pdf.image_xobject(image_id, &packed);
        im.filter(Filter::FlateDecode);
        im.width(p.px_width as i32)
            .height(p.px_height as i32)
            .bits_per_component(8);
        if p.channels == 1 {
            im.color_space().device_gray();
        } else {
            im.color_space().device_rgb();
        }
        im.finish();
        let mut c = Content::new();
        c.save_state()
            .transform([p.width_pt, 0.0, 0.0, p.height_pt, 0.0, 0.0])
            .x_object(Name(b"Im0"))
            .restore_state();
        if !p.words.is_empty() {
            c.begin_text()
                .set_text_rendering_mode(TextRenderingMode::Invisible);
            for line in lines(&p.words) {
                // One size and baseline per line, so text extraction sees
                // one line of words (as tesseract's own PDF renderer does).
                let size = line.iter().map(|w| w.height).fold(1.0f32, f32::max);
                let bottom = line.iter().map(|w| w.top + w.height).fold(0.0f32, f32::max);
                for w in line {
                    let units: Vec<u16> = w
                        .text
                        .chars()
                        .filter(|ch| (*ch as u32) < 0x10000 && !ch.is_control())
                        .map(|ch| ch as u16)
                        .collect();
                    if units.is_empty() {
                        continue;
                    }
                    let natural = units.len() as f32 * 0.5 * size;
                    let scale = (100.0 * w.width / natural).clamp(1.0, 10_000.0);
                    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
                    c.set_font(Name(b"F0"), size)
                        .set_horizontal_scaling(scale)
                        .set_text_matrix([1.0, 0.0, 0.0, 1.0, w.left, p.height_pt - bottom])
                        .show(Str(&bytes));
                }
            }
            c.end_text();
        }
        pdf.stream(content_id, &c.finish());
    }
    pdf.finish()
}

/// Words in reading order, grouped into lines: a word starts a new line
/// when it is left of the previous one or its vertical centre is outside the
/// line's box.
fn lines(words: &[Word]) -> Vec<Vec<&Word>> {
    let mut out: Vec<Vec<&Word>> = Vec::new();
    for w in words.iter().filter(|w| w.height > 0.0 && w.width > 0.0) {
        let centre = w.top + w.height / 2.0;
        let same = out
            .last()
            .and_then(|l| l.last().map(|p| (l, p)))
            .is_some_and(|(l, prev)| {
                let top = l.iter().map(|x| x.top).fold(f32::MAX, f32::min);
                let bottom = l.iter().map(|x| x.top + x.height).fold(0.0f32, f32::max);
                w.left >= prev.left && centre > top && centre < bottom
            });
        if same {
            out.last_mut().expect("a line").push(w);
        } else {
            out.push(vec![w]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_grouped_into_lines() {
        let w = |x: f32, y: f32, h: f32| Word {
            text: "x".into(),
            left: x,
            top: y,
            width: 5.0,
            height: h,
            conf: 90.0,
            line: (0, 0, 0),
        };
        let words = [
            w(0.0, 10.0, 10.0),
            w(10.0, 12.0, 6.0),
            w(20.0, 30.0, 10.0),
            w(5.0, 31.0, 10.0),
        ];
        let l = lines(&words);
        assert_eq!(l.iter().map(|l| l.len()).collect::<Vec<_>>(), vec![2, 1, 1]);
    }

    #[test]
    fn bbox_pages_and_words() {
        let html = r#"<doc>
  <page width="612.000000" height="792.000000">
    <word xMin="56.8" yMin="27.8" xMax="263.6" yMax="53.8">조선&amp;&lt;x&gt;</word>
    <word xMin="300" yMin="27.8" xMax="299" yMax="53.8">backwards</word>
  </page>
  <page width="100" height="200">
  </page>
  <page width="1" height="1"><word xMin="1" yMin="1" xMax="2" yMax="2">unterminated"#;
        let p = parse_bbox(html);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].width, p[0].height), (612.0, 792.0));
        assert_eq!(p[0].words.len(), 1);
        assert_eq!(p[0].words[0].text, "조선&<x>");
        assert!((p[0].words[0].width - 206.8).abs() < 1e-3);
        assert!(p[1].words.is_empty());
        assert!(p[2].words.is_empty());
        assert!(parse_bbox("<page ").is_empty());
    }

    #[test]
    fn built_pdf_is_clean_and_has_no_metadata() {
        let page = PageImage {
            width_pt: 72.0,
            height_pt: 36.0,
            pixels: Zeroizing::new(vec![200u8; 20 * 10]),
            px_width: 20,
            px_height: 10,
            channels: 1,
            words: vec![Word {
                text: "평양 x\u{1F600}".into(),
                left: 1.0,
                top: 2.0,
                width: 30.0,
                height: 10.0,
                conf: 90.0,
                line: (1, 1, 1),
            }],
        };
        let pdf = build_pdf(&[page]);
        assert!(pdf.starts_with(b"%PDF-"));
        let c = baram_sanitize::clean(&pdf, &Default::default()).unwrap();
        assert!(c.report.is_clean(), "{:?}", c.report.findings);
        for bad in [
            &b"/Info"[..],
            b"/ID",
            b"/Producer",
            b"/CreationDate",
            b"/Metadata",
        ] {
            assert!(!pdf.windows(bad.len()).any(|w| w == bad));
        }
        assert!(input_name("docx") == "in.docx" && input_name("../x") == "in.bin");
    }
}
