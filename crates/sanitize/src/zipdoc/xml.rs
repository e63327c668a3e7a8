//! A small, strict XML tokenizer and rewriter for the parts of office documents.
//!
//! It works on the text: every token keeps its byte span, so a tag that is not
//! changed is copied byte for byte and the rest of the part is untouched. It
//! checks well-formedness (nesting, quoting, one root, entity references, declared
//! namespace prefixes) and refuses DTDs (`<!DOCTYPE`), which could declare
//! entities. Attribute values may hold `>`; comments and CDATA sections are
//! recognised as whole tokens, so markup inside them is never mistaken for tags.

use crate::Category;
use std::ops::Range;

/// Why a part could not be parsed.
#[derive(Debug)]
pub(crate) enum XmlError {
    /// Not well-formed XML. The message names the byte offset in the part.
    Malformed(String),
    /// Well-formed but uses something we do not handle (DTDs, UTF-16).
    Unsupported(String),
}

fn bad<T>(msg: impl Into<String>) -> Result<T, XmlError> {
    Err(XmlError::Malformed(msg.into()))
}

/// One attribute of a start tag.
#[derive(Debug, Clone)]
pub(crate) struct Attr<'a> {
    pub qname: &'a str,
    /// The raw value between the quotes (entities not expanded).
    pub raw: &'a str,
    pub quote: char,
}

impl Attr<'_> {
    pub fn value(&self) -> String {
        unescape(self.raw)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Tok<'a> {
    /// Text between tags (raw, entities not expanded).
    Text(Range<usize>),
    CData(Range<usize>),
    Comment(Range<usize>),
    /// Processing instruction or XML declaration.
    Pi(Range<usize>),
    Start {
        qname: &'a str,
        attrs: Vec<Attr<'a>>,
        empty: bool,
        span: Range<usize>,
    },
    End {
        span: Range<usize>,
    },
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}
fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'-' || c == b'.'
}
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn find(s: &str, from: usize, pat: &str) -> Option<usize> {
    s.get(from..)?.find(pat).map(|p| p + from)
}

/// Checks `&...;` references in text or an attribute value starting at `base`.
fn check_refs(raw: &str, base: usize) -> Result<(), XmlError> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'&' {
            let Some(end) = raw[i..].find(';').map(|p| p + i) else {
                return bad(format!(
                    "unterminated entity reference at byte {}",
                    base + i
                ));
            };
            let name = &raw[i + 1..end];
            let ok = match name {
                "lt" | "gt" | "amp" | "quot" | "apos" => true,
                _ => {
                    if let Some(hex) = name.strip_prefix("#x") {
                        !hex.is_empty()
                            && hex.len() <= 6
                            && hex.bytes().all(|c| c.is_ascii_hexdigit())
                            && u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .is_some()
                    } else if let Some(dec) = name.strip_prefix('#') {
                        !dec.is_empty()
                            && dec.len() <= 7
                            && dec.bytes().all(|c| c.is_ascii_digit())
                            && dec.parse::<u32>().ok().and_then(char::from_u32).is_some()
                    } else {
                        false
                    }
                }
            };
            if !ok {
                return bad(format!(
                    "unknown or invalid entity reference at byte {}",
                    base + i
                ));
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Expands the predefined and character references (input already checked).
pub(crate) fn unescape(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let Some(e) = rest[p..].find(';').map(|x| x + p) else {
            out.push_str(&rest[p..]);
            return out;
        };
        let name = &rest[p + 1..e];
        let c = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&rest[p..=e]),
        }
        rest = &rest[e + 1..];
    }
    out.push_str(rest);
    out
}

fn read_name(s: &str, i: usize) -> Result<usize, XmlError> {
    let b = s.as_bytes();
    if i >= b.len() || !is_name_start(b[i]) {
        return bad(format!("expected a name at byte {i}"));
    }
    let mut j = i + 1;
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    Ok(j)
}

fn check_qname(q: &str, at: usize) -> Result<(), XmlError> {
    let parts: Vec<&str> = q.split(':').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return bad(format!("invalid qualified name {q:?} at byte {at}"));
    }
    Ok(())
}

/// Tokenizes a whole document and checks it is well-formed.
pub(crate) fn parse(bytes: &[u8]) -> Result<(&str, Vec<Tok<'_>>), XmlError> {
    if bytes.starts_with(&[0xfe, 0xff]) || bytes.starts_with(&[0xff, 0xfe]) {
        return Err(XmlError::Unsupported("UTF-16 XML".into()));
    }
    let s = std::str::from_utf8(bytes)
        .map_err(|e| XmlError::Malformed(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut seen_root = false;
    let mut i = if s.starts_with('\u{feff}') { 3 } else { 0 };
    if i > 0 {
        toks.push(Tok::Text(0..3));
    }
    while i < b.len() {
        if b[i] != b'<' {
            let end = find(s, i, "<").unwrap_or(b.len());
            let text = &s[i..end];
            if stack.is_empty() {
                if !text.bytes().all(is_ws) {
                    return bad(format!("text outside the root element at byte {i}"));
                }
            } else {
                check_refs(text, i)?;
                if text.contains('\0') {
                    return bad(format!("NUL character at byte {i}"));
                }
            }
            toks.push(Tok::Text(i..end));
            i = end;
            continue;
        }
        let rest = &s[i..];
        if rest.starts_with("<?") {
            let Some(e) = find(s, i + 2, "?>") else {
                return bad(format!("unterminated processing instruction at byte {i}"));
            };
            let ne = read_name(s, i + 2)?;
            if s[i + 2..ne].eq_ignore_ascii_case("xml") && i > 3 {
                return bad(format!("XML declaration not at the start at byte {i}"));
            }
            toks.push(Tok::Pi(i..e + 2));
            i = e + 2;
        } else if rest.starts_with("<!--") {
            let Some(e) = find(s, i + 4, "-->") else {
                return bad(format!("unterminated comment at byte {i}"));
            };
            toks.push(Tok::Comment(i..e + 3));
            i = e + 3;
        } else if rest.starts_with("<![CDATA[") {
            if stack.is_empty() {
                return bad(format!("CDATA outside the root element at byte {i}"));
            }
            let Some(e) = find(s, i + 9, "]]>") else {
                return bad(format!("unterminated CDATA section at byte {i}"));
            };
            toks.push(Tok::CData(i..e + 3));
            i = e + 3;
        } else if rest.starts_with("<!") {
            return Err(XmlError::Unsupported(format!(
                "document type declaration (DTD) at byte {i}"
            )));
        } else if rest.starts_with("</") {
            let ne = read_name(s, i + 2)?;
            let name = &s[i + 2..ne];
            let mut j = ne;
            while j < b.len() && is_ws(b[j]) {
                j += 1;
            }
            if j >= b.len() || b[j] != b'>' {
                return bad(format!("unterminated end tag at byte {i}"));
            }
            match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => {
                    return bad(format!(
                        "end tag </{name}> at byte {i} does not match <{open}>"
                    ));
                }
                None => return bad(format!("end tag </{name}> without start at byte {i}")),
            }
            toks.push(Tok::End { span: i..j + 1 });
            i = j + 1;
        } else {
            let ne = read_name(s, i + 1)?;
            let qname = &s[i + 1..ne];
            check_qname(qname, i)?;
            let mut attrs: Vec<Attr> = Vec::new();
            let mut j = ne;
            let empty;
            loop {
                let ws_start = j;
                while j < b.len() && is_ws(b[j]) {
                    j += 1;
                }
                if j >= b.len() {
                    return bad(format!("unterminated start tag at byte {i}"));
                }
                if b[j] == b'>' {
                    empty = false;
                    j += 1;
                    break;
                }
                if b[j] == b'/' {
                    if b.get(j + 1) != Some(&b'>') {
                        return bad(format!("stray '/' in tag at byte {j}"));
                    }
                    empty = true;
                    j += 2;
                    break;
                }
                if ws_start == j {
                    return bad(format!("missing space before attribute at byte {j}"));
                }
                let an_end = read_name(s, j)?;
                let aname = &s[j..an_end];
                check_qname(aname, j)?;
                let mut k = an_end;
                while k < b.len() && is_ws(b[k]) {
                    k += 1;
                }
                if b.get(k) != Some(&b'=') {
                    return bad(format!("attribute without '=' at byte {j}"));
                }
                k += 1;
                while k < b.len() && is_ws(b[k]) {
                    k += 1;
                }
                let q = match b.get(k) {
                    Some(&c @ (b'"' | b'\'')) => c,
                    _ => return bad(format!("unquoted attribute value at byte {k}")),
                };
                let Some(ve) = b[k + 1..].iter().position(|&c| c == q).map(|p| p + k + 1) else {
                    return bad(format!("unterminated attribute value at byte {k}"));
                };
                let raw = &s[k + 1..ve];
                if raw.contains('<') {
                    return bad(format!("'<' in attribute value at byte {k}"));
                }
                check_refs(raw, k + 1)?;
                if attrs.iter().any(|a| a.qname == aname) {
                    return bad(format!("duplicate attribute {aname} at byte {j}"));
                }
                attrs.push(Attr {
                    qname: aname,
                    raw,
                    quote: q as char,
                });
                j = ve + 1;
            }
            if stack.is_empty() {
                if seen_root {
                    return bad(format!("second root element at byte {i}"));
                }
                seen_root = true;
            }
            if !empty {
                stack.push(qname);
            }
            toks.push(Tok::Start {
                qname,
                attrs,
                empty,
                span: i..j,
            });
            i = j;
        }
    }
    if let Some(open) = stack.last() {
        return bad(format!(
            "element <{open}> not closed at the end (byte {})",
            b.len()
        ));
    }
    if !seen_root {
        return bad("no root element");
    }
    Ok((s, toks))
}

/// Namespace scopes while walking tokens.
#[derive(Default)]
pub(crate) struct Ns<'a> {
    scopes: Vec<Vec<(&'a str, String)>>,
}

pub(crate) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

impl<'a> Ns<'a> {
    /// Enters an element: records its declarations.
    pub fn push(&mut self, attrs: &[Attr<'a>]) {
        let mut decl = Vec::new();
        for a in attrs {
            if a.qname == "xmlns" {
                decl.push(("", a.value()));
            } else if let Some(p) = a.qname.strip_prefix("xmlns:") {
                decl.push((p, a.value()));
            }
        }
        self.scopes.push(decl);
    }
    pub fn pop(&mut self) {
        self.scopes.pop();
    }
    fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        for sc in self.scopes.iter().rev() {
            for (p, u) in sc.iter().rev() {
                if *p == prefix {
                    return Some(u);
                }
            }
        }
        None
    }
    /// Resolves an element name: (namespace, local). Errors on an undeclared prefix.
    pub fn element(&self, qname: &'a str) -> Result<(String, &'a str), XmlError> {
        match qname.split_once(':') {
            Some((p, l)) => match self.lookup(p) {
                Some(u) => Ok((u.to_string(), l)),
                None => bad(format!("undeclared namespace prefix {p:?}")),
            },
            None => Ok((self.lookup("").unwrap_or("").to_string(), qname)),
        }
    }
    /// Resolves an attribute name (unprefixed attributes have no namespace).
    /// `xmlns` declarations give `None`.
    pub fn attr(&self, qname: &'a str) -> Result<Option<(String, &'a str)>, XmlError> {
        if qname == "xmlns" || qname.starts_with("xmlns:") {
            return Ok(None);
        }
        match qname.split_once(':') {
            Some((p, l)) => match self.lookup(p) {
                Some(u) => Ok(Some((u.to_string(), l))),
                None => bad(format!("undeclared namespace prefix {p:?}")),
            },
            None => Ok(Some((String::new(), qname))),
        }
    }
}

/// What to do with an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElemAction {
    /// Remove it with everything inside, and report it.
    Drop(Category),
    /// Remove it without a finding (a reference to something reported elsewhere).
    DropSilent,
    /// Keep the element, empty its content, report the old content.
    Clear(Category),
    /// Keep the element, set its content to a fixed text.
    SetText(Category, &'static str),
}

/// What to do with an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrAction {
    Remove(Category),
    /// Set to the empty string (for required attributes).
    Blank(Category),
    /// Set to a fixed value (for required dates).
    Set(Category, &'static str),
    /// Remove without a finding (a reference to a dropped part).
    RemoveSilent,
}

/// An attribute with its name resolved to (namespace, local) and its value;
/// `None` for namespace declarations.
pub(crate) type ResolvedAttr = (Option<(String, String)>, String);

/// An element as the rules see it.
pub(crate) struct ElemCtx<'x> {
    pub ns: &'x str,
    pub local: &'x str,
    pub attrs: &'x [ResolvedAttr],
}

impl ElemCtx<'_> {
    /// The value of the attribute with the given namespace and local name.
    pub fn attr(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs.iter().find_map(|(n, v)| match n {
            Some((u, l)) if u == ns && l == local => Some(v.as_str()),
            _ => None,
        })
    }
}

/// The cleaning rules for one part.
pub(crate) trait Rules {
    fn element(&self, e: &ElemCtx) -> Option<ElemAction>;
    /// `elem` is the element carrying the attribute.
    fn attr(&self, elem: &ElemCtx, ns: &str, local: &str) -> Option<AttrAction>;
}

/// One removed item: category, field (qualified name as written), value.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub category: Category,
    pub field: String,
    pub value: String,
}

/// Result of rewriting a part.
pub(crate) struct Rewritten {
    pub text: String,
    pub hits: Vec<Hit>,
}

/// Text and attribute values inside tokens `toks[from..to]`, for reporting.
fn describe(s: &str, toks: &[Tok]) -> String {
    let mut text = String::new();
    let mut vals: Vec<String> = Vec::new();
    for t in toks {
        match t {
            Tok::Text(r) => text.push_str(&unescape(&s[r.clone()])),
            Tok::CData(r) => text.push_str(&s[r.start + 9..r.end - 3]),
            Tok::Start { attrs, .. } => {
                for a in attrs {
                    if a.qname == "xmlns" || a.qname.starts_with("xmlns:") {
                        continue;
                    }
                    let v = a.value();
                    if !v.trim().is_empty() && !vals.contains(&v) {
                        vals.push(v);
                    }
                }
            }
            _ => {}
        }
    }
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !t.is_empty() { t } else { vals.join(", ") }
}

fn rebuild_tag(qname: &str, attrs: &[(String, char, &str)], empty: bool) -> String {
    let mut o = format!("<{qname}");
    for (q, quote, raw) in attrs {
        o.push(' ');
        o.push_str(q);
        o.push('=');
        o.push(*quote);
        o.push_str(raw);
        o.push(*quote);
    }
    o.push_str(if empty { "/>" } else { ">" });
    o
}

/// Index of the End token matching the Start at `i` (or `i` for an empty tag).
fn matching_end(toks: &[Tok], i: usize) -> usize {
    if let Some(Tok::Start { empty: true, .. }) = toks.get(i) {
        return i;
    }
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(i) {
        match t {
            Tok::Start { empty: false, .. } => depth += 1,
            Tok::End { .. } => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    toks.len().saturating_sub(1)
}

fn resolve_attrs<'a>(ns: &Ns<'a>, attrs: &[Attr<'a>]) -> Result<Vec<ResolvedAttr>, XmlError> {
    attrs
        .iter()
        .map(|a| {
            Ok((
                ns.attr(a.qname)?.map(|(u, l)| (u, l.to_string())),
                a.value(),
            ))
        })
        .collect()
}

/// Applies `rules` to a parsed part. Comments are removed and reported.
pub(crate) fn rewrite(s: &str, toks: &[Tok], rules: &dyn Rules) -> Result<Rewritten, XmlError> {
    let mut out = String::with_capacity(s.len());
    let mut hits = Vec::new();
    let mut ns = Ns::default();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Text(r) | Tok::CData(r) | Tok::Pi(r) => out.push_str(&s[r.clone()]),
            Tok::Comment(r) => {
                let body = s[r.start + 4..r.end - 3].trim();
                hits.push(Hit {
                    category: Category::Text,
                    field: "XML comment".into(),
                    value: body.to_string(),
                });
            }
            Tok::End { span } => {
                ns.pop();
                out.push_str(&s[span.clone()]);
            }
            Tok::Start {
                qname,
                attrs,
                empty,
                span,
            } => {
                ns.push(attrs);
                let (euri, elocal) = ns.element(qname)?;
                let resolved = resolve_attrs(&ns, attrs)?;
                let ctx = ElemCtx {
                    ns: &euri,
                    local: elocal,
                    attrs: &resolved,
                };
                let action = rules.element(&ctx);
                // Only elements the rules act on need their end (keeps this linear).
                let end = if action.is_some() {
                    matching_end(toks, i)
                } else {
                    i
                };
                // Check namespaces inside a dropped or cleared subtree too, so
                // the output never depends on what we skipped being valid.
                if matches!(action, Some(ElemAction::Drop(_) | ElemAction::DropSilent)) {
                    check_ns_subtree(&mut ns, toks, i + 1, end)?;
                    if let Some(ElemAction::Drop(cat)) = action {
                        hits.push(Hit {
                            category: cat,
                            field: qname.to_string(),
                            value: describe(s, &toks[i..=end]),
                        });
                    }
                    ns.pop();
                    i = end + 1;
                    continue;
                }
                // Attributes.
                let mut changed = false;
                let mut kept: Vec<(String, char, &str)> = Vec::new();
                for (a, (rn, _)) in attrs.iter().zip(resolved.iter()) {
                    let act = rn.as_ref().and_then(|(u, l)| rules.attr(&ctx, u, l));
                    match act {
                        Some(AttrAction::Remove(cat)) => {
                            changed = true;
                            hits.push(Hit {
                                category: cat,
                                field: a.qname.to_string(),
                                value: a.value(),
                            });
                        }
                        Some(AttrAction::Blank(cat)) if !a.raw.is_empty() => {
                            changed = true;
                            hits.push(Hit {
                                category: cat,
                                field: a.qname.to_string(),
                                value: a.value(),
                            });
                            kept.push((a.qname.to_string(), a.quote, ""));
                        }
                        Some(AttrAction::RemoveSilent) => changed = true,
                        Some(AttrAction::Set(cat, v)) if a.raw != v => {
                            changed = true;
                            hits.push(Hit {
                                category: cat,
                                field: a.qname.to_string(),
                                value: a.value(),
                            });
                            kept.push((a.qname.to_string(), a.quote, v));
                        }
                        _ => kept.push((a.qname.to_string(), a.quote, a.raw)),
                    }
                }
                if changed {
                    out.push_str(&rebuild_tag(qname, &kept, *empty));
                } else {
                    out.push_str(&s[span.clone()]);
                }
                match action {
                    Some(ElemAction::Clear(cat)) | Some(ElemAction::SetText(cat, _)) if !*empty => {
                        check_ns_subtree(&mut ns, toks, i + 1, end)?;
                        let inner = &toks[i + 1..end];
                        let inner_start = span.end;
                        let inner_end = match &toks[end] {
                            Tok::End { span } => span.start,
                            _ => span.end,
                        };
                        let raw_inner = &s[inner_start..inner_end];
                        let want = match action {
                            Some(ElemAction::SetText(_, t)) => t,
                            _ => "",
                        };
                        if raw_inner != want {
                            let v = describe(s, inner);
                            if !v.is_empty() {
                                hits.push(Hit {
                                    category: cat,
                                    field: qname.to_string(),
                                    value: v,
                                });
                            }
                        }
                        out.push_str(want);
                        if let Tok::End { span } = &toks[end] {
                            out.push_str(&s[span.clone()]);
                        }
                        ns.pop();
                        i = end + 1;
                        continue;
                    }
                    _ => {}
                }
                if *empty {
                    ns.pop();
                }
            }
        }
        i += 1;
    }
    Ok(Rewritten { text: out, hits })
}

/// Walks tokens `from..to` (a subtree's content), checking prefixes resolve.
fn check_ns_subtree<'a>(
    ns: &mut Ns<'a>,
    toks: &[Tok<'a>],
    from: usize,
    to: usize,
) -> Result<(), XmlError> {
    for t in toks.get(from..to).unwrap_or(&[]) {
        match t {
            Tok::Start {
                qname,
                attrs,
                empty,
                ..
            } => {
                ns.push(attrs);
                ns.element(qname)?;
                for a in attrs {
                    ns.attr(a.qname)?;
                }
                if *empty {
                    ns.pop();
                }
            }
            Tok::End { .. } => ns.pop(),
            _ => {}
        }
    }
    Ok(())
}

/// The children of the root element: (qualified name, namespace, local name,
/// description of content, attributes resolved), for rewriting property parts.
pub(crate) struct Child {
    pub qname: String,
    pub local: String,
    pub value: String,
    pub attrs: Vec<ResolvedAttr>,
}

/// Root (namespace, local, attributes) and its element children.
pub(crate) struct RootInfo {
    pub ns: String,
    pub local: String,
    pub attrs: Vec<ResolvedAttr>,
    pub children: Vec<Child>,
    /// Elements at depth 2 inside each child, flattened: used for ODF meta.
    pub grandchildren: Vec<Child>,
    /// Comments anywhere.
    pub comments: Vec<String>,
}

/// Lists the root and its children (checks namespaces on the whole part).
pub(crate) fn root_children(s: &str, toks: &[Tok]) -> Result<RootInfo, XmlError> {
    let mut ns = Ns::default();
    let mut depth = 0usize;
    let mut info = RootInfo {
        ns: String::new(),
        local: String::new(),
        attrs: Vec::new(),
        children: Vec::new(),
        grandchildren: Vec::new(),
        comments: Vec::new(),
    };
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Comment(r) => info
                .comments
                .push(s[r.start + 4..r.end - 3].trim().to_string()),
            Tok::Start {
                qname,
                attrs,
                empty,
                ..
            } => {
                ns.push(attrs);
                let (u, l) = ns.element(qname)?;
                let resolved = resolve_attrs(&ns, attrs)?;
                if depth == 0 {
                    info.ns = u;
                    info.local = l.to_string();
                    info.attrs = resolved;
                } else if depth == 1 || depth == 2 {
                    let end = matching_end(toks, i);
                    let c = Child {
                        qname: qname.to_string(),
                        local: l.to_string(),
                        value: describe(s, &toks[i..=end]),
                        attrs: resolved,
                    };
                    if depth == 1 {
                        info.children.push(c);
                    } else {
                        info.grandchildren.push(c);
                    }
                }
                if *empty {
                    ns.pop();
                } else {
                    depth += 1;
                }
            }
            Tok::End { .. } => {
                ns.pop();
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R;
    impl Rules for R {
        fn element(&self, e: &ElemCtx) -> Option<ElemAction> {
            match (e.ns, e.local) {
                ("urn:a", "drop") => Some(ElemAction::Drop(Category::Other)),
                ("urn:a", "clear") => Some(ElemAction::Clear(Category::Person)),
                ("urn:a", "date") => Some(ElemAction::SetText(Category::Time, "1980")),
                _ => None,
            }
        }
        fn attr(&self, _e: &ElemCtx, ns: &str, local: &str) -> Option<AttrAction> {
            match (ns, local) {
                ("urn:a", l) if l.starts_with("rsid") => {
                    Some(AttrAction::Remove(Category::DeviceId))
                }
                ("urn:a", "author") => Some(AttrAction::Blank(Category::Person)),
                _ => None,
            }
        }
    }

    fn run(x: &str) -> Result<Rewritten, XmlError> {
        let (s, t) = parse(x.as_bytes())?;
        rewrite(s, &t, &R)
    }

    #[test]
    fn strips_and_keeps_the_rest_byte_for_byte() {
        let x = r#"<?xml version="1.0"?>
<a:r xmlns:a="urn:a" xmlns:b="urn:b"><a:p a:rsidR="00AB" b:x='1>2' a:author="Kim &amp; Co"><![CDATA[<a:drop/>]]><!-- hi --><a:drop k="v">secret</a:drop><a:clear>Kim</a:clear><a:date>2019</a:date><b:y  c = "d" /></a:p></a:r>"#;
        let r = run(x).unwrap();
        assert_eq!(
            r.text,
            r#"<?xml version="1.0"?>
<a:r xmlns:a="urn:a" xmlns:b="urn:b"><a:p b:x='1>2' a:author=""><![CDATA[<a:drop/>]]><a:clear></a:clear><a:date>1980</a:date><b:y  c = "d" /></a:p></a:r>"#
        );
        let vals: Vec<_> = r
            .hits
            .iter()
            .map(|h| (h.field.as_str(), h.value.as_str()))
            .collect();
        assert!(vals.contains(&("a:rsidR", "00AB")));
        assert!(vals.contains(&("a:author", "Kim & Co")));
        assert!(vals.contains(&("a:drop", "secret")));
        assert!(vals.contains(&("a:clear", "Kim")));
        assert!(vals.contains(&("a:date", "2019")));
        assert!(vals.contains(&("XML comment", "hi")));
        // Idempotent.
        let again = run(&r.text).unwrap();
        assert_eq!(again.text, r.text);
        assert!(again.hits.is_empty());
    }

    #[test]
    fn default_namespace_and_prefix_rebinding() {
        let x =
            r#"<r xmlns="urn:a"><drop/><x:drop xmlns:x="urn:b"/><q xmlns="urn:b"><drop/></q></r>"#;
        let r = run(x).unwrap();
        assert_eq!(
            r.text,
            r#"<r xmlns="urn:a"><x:drop xmlns:x="urn:b"/><q xmlns="urn:b"><drop/></q></r>"#
        );
    }

    proptest::proptest! {
        #[test]
        fn token_soup_never_panics_and_is_idempotent(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "<a:r xmlns:a='urn:a'>", "</a:r>", "<a:drop>", "</a:drop>", "<a:clear>", "</a:clear>",
                "<a:date>", "</a:date>", "<x/>", "<a:p a:rsidR='1' a:author=\"K\">", "</a:p>",
                "text", "&amp;", "&bad;", "<!-- c -->", "<![CDATA[<a:drop>]]>", "<?pi x?>", "'", "\"",
                ">", "<", " ", "\u{e9}", "<b xmlns='urn:a'>", "</b>", "<drop/>", "<q:drop/>",
            ]), 0..30)) {
            let x: String = parts.concat();
            if let Ok(r) = run(&x) {
                let again = run(&r.text).expect("rewritten XML parses");
                proptest::prop_assert_eq!(&again.text, &r.text);
                proptest::prop_assert!(again.hits.is_empty());
            }
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Ok((s, t)) = parse(&data) {
                let _ = rewrite(s, &t, &R);
                let _ = root_children(s, &t);
            }
        }
    }

    #[test]
    fn refuses_broken_xml() {
        for x in [
            "",
            "<a>",
            "<a></b>",
            "<a x=1/>",
            "<a x='1' x='2'/>",
            "<a>&foo;</a>",
            "<a/><b/>",
            "text<a/>",
            "<a x='<'/>",
            "<a><!-- x </a>",
            "<a><![CDATA[ x </a>",
            "<p:a/>",
            "<a:b:c xmlns:a='u'/>",
            "<a>&#xFFFFFFFF;</a>",
        ] {
            assert!(run(x).is_err(), "{x:?} accepted");
        }
        assert!(matches!(
            run("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"),
            Err(XmlError::Unsupported(_))
        ));
        match run("<a>\n<b></c></a>") {
            Err(XmlError::Malformed(m)) => assert!(m.contains("byte 7"), "{m}"),
            _ => panic!(),
        }
    }
}
