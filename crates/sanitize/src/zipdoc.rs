//! Office documents: OOXML (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP).
//!
//! Both are ZIP archives of XML parts. Cleaning:
//!
//! * the container ([`zip`]): every entry is checked against the central
//!   directory; extra fields (the Red Star OS mark of DOCX files sits in the first
//!   one), comments, times, data between entries and after the archive are
//!   reported, and the archive is rebuilt deterministically: entries sorted by
//!   name (ODF `mimetype` first and stored), 1980-01-01 00:00 times, no extra
//!   fields, deflate at a fixed level;
//! * document properties: `docProps/core.xml` and `docProps/app.xml` are
//!   rewritten empty, `docProps/custom.xml`, thumbnails and signatures are dropped
//!   (with their relationships and content-type overrides); ODF `meta.xml` is
//!   rewritten empty and its thumbnail and signatures dropped (with their
//!   manifest entries);
//! * inside every XML part ([`xml`]): Word revision-session ids (`w:rsid*`,
//!   `w:rsids`, `w:nsid`), document ids, comment and revision authors, initials
//!   and dates, people lists, spreadsheet comment authors and threaded-comment
//!   persons, presentation comment authors, the template path, saved file
//!   paths, ODF printer settings and annotation/change authors and dates, and all
//!   XML comments;
//! * embedded media is cleaned by the format's own module (a JPEG inside a DOCX
//!   loses its EXIF); fonts and metafiles are kept; anything else (macros,
//!   embedded OLE objects) is refused.

pub(crate) mod xml;
mod zip;

use crate::{Category, Error, Finding, Format, Found, Options};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use xml::{AttrAction, ElemAction, ElemCtx, Rules, XmlError};

pub(crate) use zip::{OutEntry, write as write_zip};

/// Fixed date written where a schema requires one (ODF change-info, PPTX comments).
const FIXED_XML_DATE: &str = "1980-01-01T00:00:00";
const FIXED_XML_DATE_MS: &str = "1980-01-01T00:00:00.000";

const NS_W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const NS_W14: &str = "http://schemas.microsoft.com/office/word/2010/wordml";
const NS_W15: &str = "http://schemas.microsoft.com/office/word/2012/wordml";
const NS_W16CEX: &str = "http://schemas.microsoft.com/office/word/2018/wordml/cex";
const NS_W16DU: &str = "http://schemas.microsoft.com/office/word/2023/wordml/word16du";
const NS_SML: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_X15AC: &str = "http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac";
const NS_XR: &str = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision";
const NS_TC: &str = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments";
const NS_P: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
const NS_P188: &str = "http://schemas.microsoft.com/office/powerpoint/2018/8/main";
const NS_P1510: &str = "http://schemas.microsoft.com/office/powerpoint/2015/10/main";
const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const NS_CT: &str = "http://schemas.openxmlformats.org/package/2006/content-types";
const NS_CORE: &str = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties";
const NS_APP: &str = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties";
const NS_CUSTOM: &str = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
const NS_OFFICE: &str = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
const NS_META: &str = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0";
const NS_CONFIG: &str = "urn:oasis:names:tc:opendocument:xmlns:config:1.0";
const NS_MANIFEST: &str = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";

/// What `docProps/core.xml` becomes.
pub(crate) const CORE_MINIMAL: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
    "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" ",
    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" ",
    "xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
    "</cp:coreProperties>"
);
/// What `docProps/app.xml` becomes.
pub(crate) const APP_MINIMAL: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
    "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\" ",
    "xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">",
    "</Properties>"
);

fn meta_minimal(version: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document-meta \
         xmlns:office=\"{NS_OFFICE}\" xmlns:meta=\"{NS_META}\" xmlns:dc=\"{NS_DC}\" \
         office:version=\"{version}\"><office:meta/></office:document-meta>"
    )
}

thread_local! {
    /// How deep we are in documents embedded in documents.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}
const MAX_DEPTH: u32 = 3;

/// Recognises OOXML and ODF packages by their entries.
pub(crate) fn detect(data: &[u8]) -> Option<Format> {
    if let Some(m) = zip::first_mimetype(data) {
        return odf_kind(m);
    }
    let names = zip::list_names(data);
    ooxml_kind(names.iter().map(|s| s.as_str()))
}

fn odf_kind(mimetype: &[u8]) -> Option<Format> {
    match mimetype {
        b"application/vnd.oasis.opendocument.text" => Some(Format::Odt),
        b"application/vnd.oasis.opendocument.spreadsheet" => Some(Format::Ods),
        b"application/vnd.oasis.opendocument.presentation" => Some(Format::Odp),
        _ => None,
    }
}

fn ooxml_kind<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<Format> {
    if !names.clone().any(|n| n == "[Content_Types].xml") {
        return None;
    }
    for (main, f) in [
        ("word/document.xml", Format::Docx),
        ("xl/workbook.xml", Format::Xlsx),
        ("ppt/presentation.xml", Format::Pptx),
    ] {
        if names.clone().any(|n| n == main) {
            return Some(f);
        }
    }
    for (dir, f) in [
        ("word/", Format::Docx),
        ("xl/", Format::Xlsx),
        ("ppt/", Format::Pptx),
    ] {
        if names.clone().any(|n| n.starts_with(dir)) {
            return Some(f);
        }
    }
    None
}

fn is_odf(f: Format) -> bool {
    matches!(f, Format::Odt | Format::Ods | Format::Odp)
}

fn xml_err(format: Format, part: &str, e: XmlError) -> Error {
    match e {
        XmlError::Malformed(m) => Error::malformed(format, format!("part {part}: {m}")),
        XmlError::Unsupported(m) => Error::unsupported(format, format!("part {part}: {m}")),
    }
}

type Collected = (Vec<String>, usize, Option<usize>);

/// Collects findings per (category, field) so a part with a thousand rsids
/// gives one finding listing the distinct values.
#[derive(Default)]
struct Collector {
    order: Vec<(Category, String)>,
    /// (category, field) → (distinct values, count, first offset).
    vals: BTreeMap<(String, String), Collected>,
}

fn cat_key(c: Category) -> String {
    format!("{c:?}")
}

impl Collector {
    fn add(&mut self, cat: Category, field: String, value: String, at: Option<usize>) {
        let key = (cat_key(cat), field.clone());
        let e = self.vals.entry(key).or_insert_with(|| {
            self.order.push((cat, field));
            (Vec::new(), 0, at)
        });
        e.1 += 1;
        if !value.is_empty() && !e.0.contains(&value) && e.0.len() < 20 {
            e.0.push(value);
        }
    }
    fn flush(self, found: &mut Found) {
        let Collector { order, mut vals } = self;
        for (cat, field) in order {
            let Some((v, n, at)) = vals.remove(&(cat_key(cat), field.clone())) else {
                continue;
            };
            let mut value = v.join(", ");
            if n > 1 {
                value = format!("{value} ({n} occurrences)");
            }
            let mut f = Finding::new(cat, field);
            if !value.is_empty() {
                f = f.value(value);
            }
            if let Some(a) = at {
                f = f.at(a);
            }
            found.add(f);
        }
    }
}

/// How a part relates to the package.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PartKind {
    Rels,
    ContentTypes,
    Manifest,
    Content,
}

/// The cleaning rules for XML parts of both families.
struct OfficeRules<'a> {
    kind: PartKind,
    /// Directory of the source part of a `.rels` file (with trailing `/`, or empty).
    rels_base: String,
    /// Lower-cased names of parts being dropped.
    dropped: &'a BTreeSet<String>,
}

/// Resolves a relationship target against the source directory.
fn resolve_target(base: &str, target: &str) -> String {
    let target = target.split(['#', '?']).next().unwrap_or("");
    let joined = match target.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("{base}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn rels_base(rels_name: &str) -> Option<String> {
    // "word/_rels/document.xml.rels" -> source "word/document.xml", base "word/".
    let (dir, file) = match rels_name.rsplit_once('/') {
        Some((d, f)) => (d, f),
        None => return None,
    };
    file.strip_suffix(".rels")?;
    let src_dir = dir.strip_suffix("_rels")?;
    Some(src_dir.to_string())
}

impl Rules for OfficeRules<'_> {
    fn element(&self, e: &ElemCtx) -> Option<ElemAction> {
        use Category::*;
        match self.kind {
            PartKind::Rels => {
                if (e.ns, e.local) != (NS_RELS, "Relationship") {
                    return None;
                }
                let ty = e.attr("", "Type").unwrap_or("");
                if ty.ends_with("/attachedTemplate") {
                    return Some(ElemAction::Drop(Other));
                }
                if e.attr("", "TargetMode") == Some("External") {
                    return None;
                }
                let t = resolve_target(&self.rels_base, e.attr("", "Target").unwrap_or(""));
                if self.dropped.contains(&t.to_lowercase()) {
                    return Some(ElemAction::DropSilent);
                }
                return None;
            }
            PartKind::ContentTypes => {
                if (e.ns, e.local) == (NS_CT, "Override") {
                    let t = resolve_target("", e.attr("", "PartName").unwrap_or(""));
                    if self.dropped.contains(&t.to_lowercase()) {
                        return Some(ElemAction::DropSilent);
                    }
                }
                return None;
            }
            PartKind::Manifest => {
                if (e.ns, e.local) == (NS_MANIFEST, "file-entry") {
                    let t = e.attr(NS_MANIFEST, "full-path").unwrap_or("");
                    if self.dropped.contains(&t.to_lowercase()) {
                        return Some(ElemAction::DropSilent);
                    }
                }
                return None;
            }
            PartKind::Content => {}
        }
        match (e.ns, e.local) {
            (NS_W, "rsids") | (NS_W, "nsid") => Some(ElemAction::Drop(DeviceId)),
            (NS_W, "attachedTemplate") => Some(ElemAction::DropSilent),
            (NS_W14, "docId") | (NS_W15, "docId") => Some(ElemAction::Drop(DeviceId)),
            (NS_W15, "person") => Some(ElemAction::Drop(Person)),
            (NS_SML, "author") => Some(ElemAction::Clear(Person)),
            (NS_X15AC, "absPath") => Some(ElemAction::Drop(Person)),
            (NS_XR, "revisionPtr") => Some(ElemAction::Drop(DeviceId)),
            (NS_P1510, "client") => Some(ElemAction::Drop(DeviceId)),
            (NS_DC, "creator") => Some(ElemAction::Clear(Person)),
            (NS_DC, "date") => Some(ElemAction::SetText(Time, FIXED_XML_DATE)),
            (NS_META, "creator-initials") | (NS_META, "printed-by") => {
                Some(ElemAction::Drop(Person))
            }
            (NS_META, "print-date") => Some(ElemAction::Drop(Time)),
            (NS_CONFIG, "config-item") => match e.attr(NS_CONFIG, "name") {
                Some("PrinterName" | "PrinterSetup") => Some(ElemAction::Drop(DeviceId)),
                _ => None,
            },
            _ => None,
        }
    }

    fn attr(&self, e: &ElemCtx, ns: &str, local: &str) -> Option<AttrAction> {
        use Category::*;
        if self.kind != PartKind::Content {
            return None;
        }
        match (e.ns, e.local, ns, local) {
            (_, _, NS_W, l) if l.starts_with("rsid") => Some(AttrAction::Remove(DeviceId)),
            (_, _, NS_W, "author") => Some(AttrAction::Blank(Person)),
            (_, _, NS_W, "initials") => Some(AttrAction::Remove(Person)),
            (_, _, NS_W, "date") => Some(AttrAction::Remove(Time)),
            (_, _, NS_W16DU | NS_W16CEX, "dateUtc") => Some(AttrAction::Remove(Time)),
            // The printer settings part it points to is dropped.
            (NS_SML, "pageSetup", NS_R, "id") => Some(AttrAction::RemoveSilent),
            // Shared-workbook revision logs (xl/revisions/).
            (NS_SML, "userInfo" | "header", "", "name" | "userName") => {
                Some(AttrAction::Blank(Person))
            }
            (NS_SML, "userInfo" | "header", "", "dateTime") => {
                Some(AttrAction::Set(Time, FIXED_XML_DATE))
            }
            (NS_TC, "person", "", "displayName") => Some(AttrAction::Blank(Person)),
            (NS_TC, "person", "", "userId" | "providerId") => Some(AttrAction::Remove(Person)),
            (NS_TC, "threadedComment", "", "dT") => Some(AttrAction::Remove(Time)),
            (NS_P, "cmAuthor", "", "name" | "initials") => Some(AttrAction::Blank(Person)),
            (NS_P, "cm", "", "dt") => Some(AttrAction::Remove(Time)),
            (NS_P188, "author", "", "name" | "initials" | "userId" | "providerId") => {
                Some(AttrAction::Blank(Person))
            }
            (NS_P188, "cm" | "reply", "", "created") => {
                Some(AttrAction::Set(Time, FIXED_XML_DATE_MS))
            }
            _ => None,
        }
    }
}

/// Category of an OOXML core or app property, or ODF meta field; `None`: drop silently.
fn property_category(local: &str) -> Option<Category> {
    use Category::*;
    Some(match local {
        "creator" | "lastModifiedBy" | "initial-creator" | "printed-by" | "Company" | "Manager" => {
            Person
        }
        "created" | "modified" | "lastPrinted" | "creation-date" | "date" | "print-date"
        | "TotalTime" | "editing-duration" => Time,
        "Application" | "AppVersion" | "generator" => Software,
        "title" | "subject" | "description" | "keywords" | "keyword" | "category"
        | "contentStatus" => Text,
        "revision" | "identifier" | "version" | "editing-cycles" | "Template" | "template"
        | "HyperlinkBase" | "user-defined" | "DocSecurity" | "language" | "contentType" => Other,
        // Statistics and layout flags carry nothing about people.
        _ => return None,
    })
}

/// Rewrites a property part to `minimal`, reporting each child.
fn rewrite_props(
    format: Format,
    part: &str,
    bytes: &[u8],
    expect: (&str, &str),
    odf_meta: bool,
    out: &mut Collector,
    at: usize,
) -> Result<String, Error> {
    let (s, toks) = xml::parse(bytes).map_err(|e| xml_err(format, part, e))?;
    let info = xml::root_children(s, &toks).map_err(|e| xml_err(format, part, e))?;
    if (info.ns.as_str(), info.local.as_str()) != expect {
        return Err(Error::malformed(
            format,
            format!("part {part}: root element is not {}", expect.1),
        ));
    }
    for c in &info.comments {
        out.add(
            Category::Text,
            format!("{part} XML comment"),
            c.clone(),
            Some(at),
        );
    }
    let fields = if odf_meta {
        &info.grandchildren
    } else {
        &info.children
    };
    for c in fields {
        let Some(cat) = property_category(&c.local) else {
            continue;
        };
        // An empty property says nothing.
        if c.value.trim().is_empty() {
            continue;
        }
        let field = if c.local == "user-defined" {
            let name = c
                .attrs
                .iter()
                .find_map(|(n, v)| match n {
                    Some((u, l)) if u == NS_META && l == "name" => Some(v.as_str()),
                    _ => None,
                })
                .unwrap_or("?");
            format!("{part} {} {name}", c.qname)
        } else {
            format!("{part} {}", c.qname)
        };
        out.add(cat, field, c.value.clone(), Some(at));
    }
    if odf_meta {
        let version = info
            .attrs
            .iter()
            .find_map(|(n, v)| match n {
                Some((u, l)) if u == NS_OFFICE && l == "version" => Some(v.as_str()),
                _ => None,
            })
            .filter(|v| v.len() <= 5 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .unwrap_or("1.2");
        Ok(meta_minimal(version))
    } else if expect.0 == NS_CORE {
        Ok(CORE_MINIMAL.to_string())
    } else {
        Ok(APP_MINIMAL.to_string())
    }
}

/// Reports the properties of `docProps/custom.xml`, which is dropped.
fn report_custom(part: &str, bytes: &[u8], out: &mut Collector, at: usize) {
    let name_of = |c: &xml::Child| {
        c.attrs
            .iter()
            .find_map(|(n, v)| match n {
                Some((u, l)) if u.is_empty() && l == "name" => Some(v.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    match xml::parse(bytes).and_then(|(s, t)| xml::root_children(s, &t)) {
        Ok(info) if info.ns == NS_CUSTOM && !info.children.is_empty() => {
            for c in &info.children {
                let v = c.value.clone();
                out.add(
                    Category::Other,
                    format!("{part} property {}", name_of(c)),
                    v,
                    Some(at),
                );
            }
        }
        _ => out.add(
            Category::Other,
            format!("{part} (custom properties)"),
            String::new(),
            Some(at),
        ),
    }
}

/// The printer name at the start of a Windows DEVMODEW structure.
fn devmode_name(d: &[u8]) -> String {
    let units: Vec<u16> = d
        .get(..64)
        .unwrap_or(d)
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let name = crate::bytes::printable(String::from_utf16_lossy(&units).as_bytes());
    if name.is_empty() {
        format!("{} bytes", d.len())
    } else {
        name
    }
}

fn ext_of(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_xml_name(name: &str) -> bool {
    matches!(ext_of(name).as_str(), "xml" | "rels" | "vml" | "rdf")
}

/// Binary formats that are kept as they are: fonts (by name) and vector
/// metafiles (by content: EMF, WMF, StarView), which carry drawings only.
fn is_passive(name: &str, data: &[u8]) -> bool {
    let font = matches!(ext_of(name).as_str(), "odttf" | "ttf" | "otf" | "fntdata");
    let emf = data.len() > 44 && data[..4] == [1, 0, 0, 0] && &data[40..44] == b" EMF";
    let wmf = data.starts_with(&[0xd7, 0xcd, 0xc6, 0x9a])
        || (data.len() > 18 && matches!(data[..4], [1, 0, 9, 0] | [2, 0, 9, 0]));
    let svm = data.starts_with(b"VCLMTF");
    // Old OpenOffice layout cache: layout positions only.
    let layout = name == "layout-cache";
    font || emf || wmf || svm || layout
}

/// Cleans an embedded file with the module for its format.
fn clean_embedded(
    format: Format,
    name: &str,
    data: &[u8],
    opts: &Options,
    found: &mut Found,
    at: usize,
) -> Result<Vec<u8>, Error> {
    let Some(inner) = crate::detect(data) else {
        return Err(Error::unsupported(
            format,
            format!(
                "entry {name} ({} bytes) is of a kind baram cannot clean (macros, embedded objects and unknown files are refused)",
                data.len()
            ),
        ));
    };
    if inner == Format::Text {
        return Ok(data.to_vec());
    }
    let depth = DEPTH.with(|d| d.get());
    if depth >= MAX_DEPTH {
        return Err(Error::unsupported(
            format,
            format!("entry {name}: documents nested more than {MAX_DEPTH} deep"),
        ));
    }
    DEPTH.with(|d| d.set(depth + 1));
    let res = crate::clean_as(inner, data, opts);
    DEPTH.with(|d| d.set(depth));
    let cleaned = res.map_err(|e| match e {
        Error::Malformed { format: f, reason } => {
            Error::malformed(format, format!("embedded {f} {name}: {reason}"))
        }
        Error::Unsupported { format: f, reason } => {
            Error::unsupported(format, format!("embedded {f} {name}: {reason}"))
        }
        other => Error::unsupported(format, format!("embedded {name}: {other}")),
    })?;
    for mut f in cleaned.report.findings {
        f.field = format!("{name}: {}", f.field);
        if f.offset.is_none() {
            f.offset = Some(at as u64);
        }
        found.add(f);
    }
    if found.redstar.is_none() {
        found.redstar = cleaned.report.redstar;
    }
    Ok(cleaned.data)
}

pub(crate) fn clean(
    format: Format,
    data: &[u8],
    opts: &Options,
    found: &mut Found,
) -> Result<Vec<u8>, Error> {
    let entries = zip::read(format, data, found)?;
    let odf = is_odf(format);
    let kind = if odf {
        match entries.iter().find(|e| e.name == "mimetype") {
            Some(e) => odf_kind(&e.data),
            None => None,
        }
    } else {
        ooxml_kind(entries.iter().map(|e| e.name.as_str()))
    };
    if kind != Some(format) {
        return Err(Error::malformed(
            format,
            match kind {
                Some(k) => format!("the package is a {k}, not a {format}"),
                None if odf => "no OpenDocument mimetype entry".to_string(),
                None => "no [Content_Types].xml and main part of an Office package".to_string(),
            },
        ));
    }

    // Parts to drop, with the reason reported.
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut core = BTreeSet::from(["docprops/core.xml".to_string()]);
    let mut app = BTreeSet::from(["docprops/app.xml".to_string()]);
    let mut custom = BTreeSet::from(["docprops/custom.xml".to_string()]);
    let mut thumbs: BTreeSet<String> = BTreeSet::new();
    let mut signatures: BTreeSet<String> = BTreeSet::new();
    let mut printers: BTreeSet<String> = BTreeSet::new();
    if !odf {
        // Package relationships say where the property parts are.
        if let Some(rels) = entries.iter().find(|e| e.name == "_rels/.rels") {
            let (s, toks) = xml::parse(&rels.data).map_err(|e| xml_err(format, &rels.name, e))?;
            let mut ns = xml::Ns::default();
            for t in &toks {
                match t {
                    xml::Tok::Start {
                        qname,
                        attrs,
                        empty,
                        ..
                    } => {
                        ns.push(attrs);
                        let (u, l) = ns
                            .element(qname)
                            .map_err(|e| xml_err(format, &rels.name, e))?;
                        if u == NS_RELS && l == "Relationship" {
                            let get = |k: &str| {
                                attrs
                                    .iter()
                                    .find(|a| a.qname == k)
                                    .map(|a| a.value())
                                    .unwrap_or_default()
                            };
                            if get("TargetMode") != "External" {
                                let target = resolve_target("", &get("Target")).to_lowercase();
                                let ty = get("Type");
                                if ty.ends_with("/metadata/core-properties") {
                                    core.insert(target);
                                } else if ty.ends_with("/extended-properties") {
                                    app.insert(target);
                                } else if ty.ends_with("/custom-properties") {
                                    custom.insert(target);
                                } else if ty.ends_with("/metadata/thumbnail") {
                                    thumbs.insert(target);
                                } else if ty.ends_with("/digital-signature/origin") {
                                    signatures.insert(target);
                                }
                            }
                        }
                        if *empty {
                            ns.pop();
                        }
                    }
                    xml::Tok::End { .. } => ns.pop(),
                    _ => {}
                }
            }
            let _ = s;
        }
        for e in &entries {
            let l = e.name.to_lowercase();
            if l.starts_with("_xmlsignatures/") && !e.is_dir {
                signatures.insert(l.clone());
            }
            if l.starts_with("docprops/thumbnail.") {
                thumbs.insert(l.clone());
            }
            if l.contains("/printersettings/") && !e.is_dir {
                printers.insert(l);
            }
        }
    } else {
        for e in &entries {
            let l = e.name.to_lowercase();
            if l.starts_with("thumbnails/") && !e.is_dir {
                thumbs.insert(l.clone());
            }
            if l.starts_with("meta-inf/") && l.ends_with("signatures.xml") {
                signatures.insert(l);
            }
        }
        core.clear();
        app.clear();
        custom.clear();
    }
    dropped.extend(custom.iter().cloned());
    dropped.extend(thumbs.iter().cloned());
    dropped.extend(signatures.iter().cloned());
    dropped.extend(printers.iter().cloned());

    let mut col = Collector::default();
    let mut out: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for e in &entries {
        let lower = e.name.to_lowercase();
        let at = e.offset;
        if e.is_dir {
            out.push((e.name.clone(), Vec::new(), false));
            continue;
        }
        if custom.contains(&lower) {
            report_custom(&e.name, &e.data, &mut col, at);
            continue;
        }
        if thumbs.contains(&lower) {
            col.add(
                Category::Thumbnail,
                format!("{} (document thumbnail)", e.name),
                format!("{} bytes", e.data.len()),
                Some(at),
            );
            continue;
        }
        if signatures.contains(&lower) {
            col.add(
                Category::Person,
                format!("{} (digital signature, names the signer)", e.name),
                format!("{} bytes", e.data.len()),
                Some(at),
            );
            continue;
        }
        if printers.contains(&lower) {
            col.add(
                Category::DeviceId,
                format!("{} (printer settings)", e.name),
                devmode_name(&e.data),
                Some(at),
            );
            continue;
        }
        if odf && e.name == "mimetype" {
            out.push((e.name.clone(), e.data.clone(), true));
            continue;
        }
        if e.data.is_empty() {
            out.push((e.name.clone(), Vec::new(), false));
            continue;
        }
        let new = if core.contains(&lower) {
            rewrite_props(
                format,
                &e.name,
                &e.data,
                (NS_CORE, "coreProperties"),
                false,
                &mut col,
                at,
            )?
            .into_bytes()
        } else if app.contains(&lower) {
            rewrite_props(
                format,
                &e.name,
                &e.data,
                (NS_APP, "Properties"),
                false,
                &mut col,
                at,
            )?
            .into_bytes()
        } else if odf && e.name == "meta.xml" {
            rewrite_props(
                format,
                &e.name,
                &e.data,
                (NS_OFFICE, "document-meta"),
                true,
                &mut col,
                at,
            )?
            .into_bytes()
        } else if is_xml_name(&e.name) {
            let (s, toks) = xml::parse(&e.data).map_err(|x| xml_err(format, &e.name, x))?;
            let kind = if lower.ends_with(".rels") {
                PartKind::Rels
            } else if e.name == "[Content_Types].xml" {
                PartKind::ContentTypes
            } else if odf && e.name == "META-INF/manifest.xml" {
                if toks.iter().any(|t| {
                    matches!(t, xml::Tok::Start { qname, .. } if qname.ends_with("encryption-data"))
                }) {
                    return Err(Error::unsupported(format, "the document is encrypted"));
                }
                PartKind::Manifest
            } else {
                PartKind::Content
            };
            let rules = OfficeRules {
                kind,
                rels_base: rels_base(&e.name).unwrap_or_default(),
                dropped: &dropped,
            };
            let r = xml::rewrite(s, &toks, &rules).map_err(|x| xml_err(format, &e.name, x))?;
            for h in r.hits {
                col.add(
                    h.category,
                    format!("{} {}", e.name, h.field),
                    h.value,
                    Some(at),
                );
            }
            r.text.into_bytes()
        } else if is_passive(&e.name, &e.data) {
            e.data.clone()
        } else {
            clean_embedded(format, &e.name, &e.data, opts, found, at)?
        };
        out.push((e.name.clone(), new, false));
    }
    col.flush(found);

    // Deterministic order: ODF mimetype first, then by name.
    out.sort_by(|a, b| {
        let ka = !(odf && a.0 == "mimetype");
        let kb = !(odf && b.0 == "mimetype");
        (ka, a.0.as_bytes()).cmp(&(kb, b.0.as_bytes()))
    });
    let list: Vec<OutEntry> = out
        .iter()
        .map(|(n, d, stored)| OutEntry::clean(n, d, *stored))
        .collect();
    Ok(zip::write(&list, b""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_workbook_revision_users() {
        let x = format!(
            "<users xmlns=\"{NS_SML}\"><userInfo guid=\"{{1}}\" name=\"KimCheolsu\" id=\"1\" dateTime=\"2019-03-04T13:37:00\"/></users>"
        );
        let (s, t) = xml::parse(x.as_bytes()).unwrap();
        let dropped = BTreeSet::new();
        let rules = OfficeRules {
            kind: PartKind::Content,
            rels_base: String::new(),
            dropped: &dropped,
        };
        let r = xml::rewrite(s, &t, &rules).unwrap();
        assert!(
            !r.text.contains("KimCheolsu") && !r.text.contains("2019"),
            "{}",
            r.text
        );
        assert_eq!(r.hits.len(), 2);
    }

    #[test]
    fn targets_resolve() {
        assert_eq!(resolve_target("word/", "comments.xml"), "word/comments.xml");
        assert_eq!(
            resolve_target("word/", "../docProps/custom.xml"),
            "docProps/custom.xml"
        );
        assert_eq!(
            resolve_target("", "/docProps/core.xml"),
            "docProps/core.xml"
        );
        assert_eq!(
            rels_base("word/_rels/document.xml.rels").as_deref(),
            Some("word/")
        );
        assert_eq!(rels_base("_rels/.rels").as_deref(), Some(""));
    }
}
