//! What goes on a volume besides the media: the on-volume file names, the
//! folder of each kind, and an offline catalogue (`index.html`) that opens
//! from `file://` in any browser a recipient may have.
//!
//! # Names
//!
//! Media go into one ASCII folder per kind ([`folder_for`]), named with a
//! numbered prefix: `01 사랑의 불시착 1화.avi`. Portable players (Notel) and
//! old file managers may show only the 8.3 alias (`01____~1.AVI`, the Hangul
//! becomes `_`), or sort by it; because every alias starts with the same
//! zero-padded number, such a player still lists the files in order. The
//! number is the item's rank among *all candidates of its kind*, so names
//! are known before planning (the planner counts their length) and do not
//! change with the planner's choice. [`file_names`] makes them.
//!
//! # Catalogue
//!
//! [`site_entries`] produces five files at the root: `index.html`,
//! `guide.html` (a short guide in Korean: playing on a Notel, hiding the
//! card, destroying it), `style.css`, `index.js` and `data.js`. The bar is
//! Chrome 49 and Firefox 52 on Windows XP and Red Star OS, opened from
//! `file://`: ES5 only, classic `<script src>` (no modules, no `fetch`,
//! which `file://` refuses anyway), no external resource of any kind,
//! system fonts only. Every file is pure ASCII: HTML carries its Korean as
//! numeric character references, scripts as `\uXXXX` escapes. A classic
//! script without a `charset` attribute may be decoded with the system code
//! page (GBK on Chinese Windows XP), and a page whose `<meta charset>` is
//! ignored would show mojibake; ASCII cannot be misread.
//!
//! Nothing here names the builder: no tool name or version, user, host,
//! path or date; the output depends only on the inputs (sorted).

use crate::tree::{Entry, EntryKind, Source};
use baram_library::Kind;
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

/// Longest on-volume file name, in UTF-16 units. Joliet allows 64 (its
/// specification; some readers accept 103, none fewer than 64), FAT 255.
pub const MAX_NAME_UNITS: usize = 64;

/// Longest extension kept (without the dot), ASCII letters and digits only.
const MAX_EXT: usize = 8;

/// The files [`site_entries`] puts at the volume root, in code point order.
/// Always exactly these, so a planner can reserve their directory entries
/// and one partial cluster each.
pub const SITE_FILES: [&str; 5] = [
    "data.js",
    "guide.html",
    "index.html",
    "index.js",
    "style.css",
];

const INDEX_HTML: &str = include_str!("../site/index.html");
const GUIDE_HTML: &str = include_str!("../site/guide.html");
const STYLE_CSS: &str = include_str!("../site/style.css");
const INDEX_JS: &str = include_str!("../site/index.js");

/// Page title when [`SiteOptions::title`] is empty.
const DEFAULT_TITLE: &str = "자료 목록";
/// Longest page title kept, in characters.
const MAX_TITLE_CHARS: usize = 80;
/// Title used in a file name when an item has neither title nor series.
const UNTITLED: &str = "무제";

/// The folder of a kind on the volume: the kind's own name (`video`,
/// `audio`, `text`, `image`, `book`, `archive`). Lower-case ASCII of at most
/// eight letters, so the 8.3 alias is the same word in capitals (`VIDEO`)
/// and every player, whatever its code page, shows a readable folder. These
/// are the folder names [`crate::plan`] puts in `PlannedFile::path`.
pub fn folder_for(kind: Kind) -> &'static str {
    kind.as_str()
}

/// What [`file_names`] needs to know about one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameInput {
    /// A stable tie-breaker between items with the same series, episode and
    /// title. Callers that must not depend on the order items were added in
    /// pass one derived from the content (the drop job uses the hash).
    pub id: i64,
    pub kind: Kind,
    pub title: String,
    pub series: Option<String>,
    pub episode: Option<u32>,
    /// Extension of the file as written (after conversion), with or
    /// without the leading dot: `avi`, `.mp4`.
    pub extension: String,
}

/// On-volume file names, one per input, in input order.
///
/// Each name is `NN title[ N화].ext`:
/// - `NN` is the item's rank (from 1) among all inputs of its kind, sorted
///   by series (or, for an item outside a series, its title), episode,
///   title and id; zero-padded to the width of the kind's count, at least
///   2 digits. Numbers are unique within a kind, so names are unique
///   within their folder, also case-insensitively and as 8.3 aliases.
/// - the title: Hangul jamo composed (NFC for Korean), characters Windows
///   or Joliet refuse (`\ / : * ? " < > | ;`, control and invisible
///   formatting characters) replaced by spaces, characters outside the
///   Basic Multilingual Plane (Joliet is UCS-2) by `_`, runs of spaces
///   collapsed, trailing dots and spaces removed; the series or `무제` when
///   the title is empty. An episode of a series gets ` N화` unless the
///   title already says `N화`.
/// - the extension, lower-case ASCII letters and digits, at most 8.
///
/// The title is cut so the whole name is at most [`MAX_NAME_UNITS`] UTF-16
/// units; the number and the extension are always kept.
pub fn file_names(items: &[NameInput]) -> Vec<String> {
    let mut out = vec![String::new(); items.len()];
    for kind in Kind::ALL {
        let mut idx: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].kind == kind)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let keys: Vec<(String, u32, String)> = items
            .iter()
            .map(|it| {
                let title = clean_text(&it.title);
                let group = match &it.series {
                    Some(s) => clean_text(s),
                    None => title.clone(),
                };
                (group, it.episode.unwrap_or(0), title)
            })
            .collect();
        idx.sort_by(|&a, &b| {
            keys[a]
                .cmp(&keys[b])
                .then(items[a].id.cmp(&items[b].id))
                .then_with(|| items[a].title.cmp(&items[b].title))
                .then_with(|| items[a].series.cmp(&items[b].series))
                .then_with(|| items[a].extension.cmp(&items[b].extension))
                .then(a.cmp(&b))
        });
        let width = digits(idx.len()).max(2);
        for (rank, &i) in idx.iter().enumerate() {
            out[i] = one_name(&items[i], rank + 1, width);
        }
    }
    out
}

fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn one_name(it: &NameInput, number: usize, width: usize) -> String {
    let prefix = format!("{number:0width$} ");
    let ext: String = it
        .extension
        .trim_start_matches('.')
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(MAX_EXT)
        .collect();
    let ext = if ext.is_empty() {
        String::new()
    } else {
        format!(".{ext}")
    };
    let mut title = clean_name_part(&it.title);
    if title.is_empty() {
        title = it
            .series
            .as_deref()
            .map(clean_name_part)
            .unwrap_or_default();
    }
    if title.is_empty() {
        title = UNTITLED.to_string();
    }
    let suffix = match (&it.series, it.episode) {
        (Some(_), Some(n)) if !says_episode(&title, n) => format!(" {n}화"),
        _ => String::new(),
    };
    let fixed =
        prefix.encode_utf16().count() + suffix.encode_utf16().count() + ext.encode_utf16().count();
    let budget = MAX_NAME_UNITS.saturating_sub(fixed);
    let mut cut = String::new();
    let mut used = 0;
    for c in title.chars() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        cut.push(c);
    }
    let mut stem = cut.trim_end_matches([' ', '.']).to_string();
    if stem.is_empty() {
        // Only when the budget is gone (absurdly wide numbers): keep the
        // number alone rather than a name that ends in a space.
        stem = prefix.trim_end().to_string();
        return format!("{stem}{ext}");
    }
    stem.push_str(&suffix);
    format!("{prefix}{stem}{ext}")
}

/// Does the (cleaned) title already name episode `n` ("3화", "3 화"), with no
/// digit just before the number (so "13화" does not count as "3화")?
fn says_episode(title: &str, n: u32) -> bool {
    let t: String = title.chars().filter(|c| *c != ' ').collect();
    let pat = format!("{n}화");
    let mut from = 0;
    while let Some(p) = t[from..].find(&pat) {
        let at = from + p;
        if !t[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit())
        {
            return true;
        }
        from = at + pat.len();
    }
    false
}

/// Text for display and search: Hangul composed, controls and invisible
/// formatting characters removed, whitespace collapsed, trimmed.
fn clean_text(s: &str) -> String {
    let composed = compose_hangul(s);
    let mut out = String::with_capacity(composed.len());
    let mut space = false;
    for c in composed.chars() {
        if invisible(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// [`clean_text`] made safe for a FAT long name and a Joliet name.
fn clean_name_part(s: &str) -> String {
    let mapped: String = clean_text(s)
        .chars()
        .map(|c| {
            if "\\/:*?\"<>|;".contains(c) {
                ' '
            } else if c.len_utf16() > 1 {
                '_'
            } else {
                c
            }
        })
        .collect();
    clean_text(&mapped).trim_end_matches([' ', '.']).to_string()
}

/// Zero-width and direction-changing characters: invisible in a listing,
/// and a right-to-left override can make a name lie about its extension.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Composes conjoining Hangul jamo (as file names from macOS arrive: NFD)
/// into syllables, so "불시착" typed on a Korean keyboard finds it and
/// old fonts without jamo shaping show it. Other text is left as it is.
fn compose_hangul(s: &str) -> String {
    const S_BASE: u32 = 0xAC00;
    const L_BASE: u32 = 0x1100;
    const V_BASE: u32 = 0x1161;
    const T_BASE: u32 = 0x11A7;
    const L_COUNT: u32 = 19;
    const V_COUNT: u32 = 21;
    const T_COUNT: u32 = 28;
    const S_COUNT: u32 = L_COUNT * V_COUNT * T_COUNT;
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    for c in s.chars() {
        let u = c as u32;
        let joined = out.last().and_then(|&last| {
            let l = last as u32;
            if (L_BASE..L_BASE + L_COUNT).contains(&l) && (V_BASE..V_BASE + V_COUNT).contains(&u) {
                // Leading consonant + vowel.
                char::from_u32(S_BASE + ((l - L_BASE) * V_COUNT + (u - V_BASE)) * T_COUNT)
            } else if (S_BASE..S_BASE + S_COUNT).contains(&l)
                && (l - S_BASE).is_multiple_of(T_COUNT)
                && (T_BASE + 1..T_BASE + T_COUNT).contains(&u)
            {
                // Syllable without a final consonant + final consonant.
                char::from_u32(l + (u - T_BASE))
            } else {
                None
            }
        });
        match (joined, out.last_mut()) {
            (Some(ch), Some(x)) => *x = ch,
            _ => out.push(c),
        }
    }
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------
// The catalogue

/// One file listed in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteItem {
    pub title: String,
    pub kind: Kind,
    /// Path on the volume relative to the root, `/`-separated:
    /// `video/01 사랑의 불시착 1화.avi` (`folder_for(kind)` + the name from
    /// [`file_names`]).
    pub path: String,
    /// Bytes of the file.
    pub size: u64,
    pub series: Option<String>,
    pub episode: Option<u32>,
    pub tags: Vec<String>,
    /// Language code (`ko`, `en`); shown when not Korean.
    pub lang: String,
    pub duration_seconds: Option<u64>,
    /// A sentence or two about the item, shown under the title.
    pub description: Option<String>,
}

/// Options of the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteOptions {
    /// Heading and window title of `index.html`; `자료 목록` when empty.
    /// Choose a neutral one: it must not name the sender either.
    pub title: String,
}

/// The record of one item in `data.js`. Field names are short but
/// readable; absent fields are left out.
#[derive(Serialize)]
struct Record<'a> {
    title: String,
    kind: &'static str,
    path: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    series: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    lang: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<String>,
}

const DATA_HEAD: &str = "var ITEMS = [\n";
const DATA_TAIL: &str = "];\n";

/// The JSON record of one item, every non-ASCII character escaped.
fn record_json(it: &SiteItem) -> String {
    let mut tags: Vec<String> = it
        .tags
        .iter()
        .map(|t| clean_text(t))
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    let rec = Record {
        title: clean_text(&it.title),
        kind: folder_for(it.kind),
        path: &it.path,
        size: it.size,
        series: it
            .series
            .as_deref()
            .map(clean_text)
            .filter(|s| !s.is_empty()),
        episode: it.episode,
        tags,
        lang: &it.lang,
        duration: it.duration_seconds,
        desc: it
            .description
            .as_deref()
            .map(clean_text)
            .filter(|s| !s.is_empty()),
    };
    // Serializing a struct of strings and integers cannot fail; an empty
    // object keeps the page working if it ever did.
    let json = serde_json::to_string(&rec).unwrap_or_else(|_| "{}".to_string());
    js_ascii(&json)
}

/// Escapes every non-ASCII character as `\uXXXX` (surrogate pairs above the
/// BMP). Valid for JSON and for JavaScript whose non-ASCII characters are
/// all inside string literals or comments, as in our sources.
fn js_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out
}

/// Escapes every non-ASCII character of HTML text as a numeric character
/// reference (`&#xD55C;`). Only for markup without `<script>`/`<style>`
/// content, where references are not decoded.
fn html_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let _ = write!(out, "&#x{:X};", c as u32);
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page_title(opts: &SiteOptions) -> String {
    let t: String = clean_text(&opts.title)
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect();
    if t.is_empty() {
        DEFAULT_TITLE.to_string()
    } else {
        t
    }
}

fn sort_key(it: &SiteItem) -> (usize, &str) {
    let k = Kind::ALL.iter().position(|x| *x == it.kind).unwrap_or(0);
    (k, it.path.as_str())
}

/// The catalogue's files (see [`SITE_FILES`]), for the volume root.
///
/// Deterministic: items are listed sorted by kind and path (ties by their
/// whole record), so any order of `items` gives the same bytes.
pub fn site_entries(items: &[SiteItem], opts: &SiteOptions) -> Vec<Entry> {
    let mut recs: Vec<(&SiteItem, String)> = items.iter().map(|it| (it, record_json(it))).collect();
    recs.sort_by(|a, b| match sort_key(a.0).cmp(&sort_key(b.0)) {
        Ordering::Equal => a.1.cmp(&b.1),
        o => o,
    });
    let mut data = String::from(DATA_HEAD);
    for (_, r) in &recs {
        data.push_str(r);
        data.push_str(",\n");
    }
    data.push_str(DATA_TAIL);
    let files: [(&str, String); 5] = [
        ("data.js", data),
        ("guide.html", html_ascii(GUIDE_HTML)),
        ("index.html", index_html(opts)),
        ("index.js", js_ascii(INDEX_JS)),
        ("style.css", STYLE_CSS.to_string()),
    ];
    files
        .into_iter()
        .map(|(name, body)| {
            let bytes = body.into_bytes();
            Entry {
                path: vec![name.to_string()],
                kind: EntryKind::File {
                    size: bytes.len() as u64,
                    source: Source::Bytes(Arc::new(bytes)),
                },
            }
        })
        .collect()
}

fn index_html(opts: &SiteOptions) -> String {
    html_ascii(&INDEX_HTML.replace("{{TITLE}}", &html_escape(&page_title(opts))))
}

/// An upper bound of the total bytes [`site_entries`] writes for any subset
/// of `items` (with the same options), so the planner can reserve the space
/// before it knows which items it will choose. It is exact for all of
/// them: `data.js` grows by each item's record alone, every other file is
/// fixed. Clusters are the caller's business: the files are the five
/// [`SITE_FILES`], each rounded up on its own.
pub fn site_bytes_upper_bound(items: &[SiteItem], opts: &SiteOptions) -> u64 {
    let fixed = DATA_HEAD.len()
        + DATA_TAIL.len()
        + html_ascii(GUIDE_HTML).len()
        + index_html(opts).len()
        + js_ascii(INDEX_JS).len()
        + STYLE_CSS.len();
    items
        .iter()
        .map(|it| record_json(it).len() as u64 + 2)
        .fold(fixed as u64, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fat32::names;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn ni(id: i64, kind: Kind, title: &str, series: Option<&str>, ep: Option<u32>) -> NameInput {
        NameInput {
            id,
            kind,
            title: title.to_string(),
            series: series.map(str::to_string),
            episode: ep,
            extension: "avi".to_string(),
        }
    }

    #[test]
    fn names_are_numbered_by_rank_within_kind() {
        let items = [
            ni(
                7,
                Kind::Video,
                "사랑의 불시착",
                Some("사랑의 불시착"),
                Some(2),
            ),
            ni(
                3,
                Kind::Video,
                "사랑의 불시착",
                Some("사랑의 불시착"),
                Some(1),
            ),
            ni(9, Kind::Video, "가을 동화", None, None),
            ni(1, Kind::Audio, "아리랑", None, None),
            ni(
                2,
                Kind::Video,
                "사랑의 불시착 10화",
                Some("사랑의 불시착"),
                Some(10),
            ),
        ];
        assert_eq!(
            file_names(&items),
            [
                "03 사랑의 불시착 2화.avi",
                "02 사랑의 불시착 1화.avi",
                "01 가을 동화.avi",
                "01 아리랑.avi",
                "04 사랑의 불시착 10화.avi",
            ]
        );
    }

    #[test]
    fn wider_numbers_from_100_items() {
        let items: Vec<NameInput> = (0..100)
            .map(|i| ni(i, Kind::Audio, &format!("노래 {i:03}"), None, None))
            .collect();
        let n = file_names(&items);
        assert_eq!(n[0], "001 노래 000.avi");
        assert_eq!(n[99], "100 노래 099.avi");
    }

    #[test]
    fn names_are_cleaned() {
        let mut x = ni(
            1,
            Kind::Text,
            " a:b*c?\"d<e>f|g;h\\i/j\u{202E}k\t\u{1F600}. . ",
            None,
            None,
        );
        x.extension = ".T X/T!".to_string();
        assert_eq!(file_names(&[x.clone()]), ["01 a b c d e f g h i jk _.txt"]);
        x.extension = String::new();
        x.title = "...".into();
        assert_eq!(file_names(&[x.clone()]), ["01 무제"]);
        x.title = String::new();
        x.series = Some("연속극".into());
        x.episode = Some(3);
        assert_eq!(file_names(&[x.clone()]), ["01 연속극 3화"]);
        // NFD Hangul (as from macOS) is composed.
        x.title = "\u{1107}\u{116e}\u{11af}".into();
        x.series = None;
        assert_eq!(file_names(&[x]), ["01 불"]);
    }

    #[test]
    fn episode_already_named() {
        assert!(says_episode("사랑의 불시착 3화", 3));
        assert!(says_episode("사랑의 불시착 3 화", 3));
        assert!(!says_episode("사랑의 불시착 13화", 3));
        assert!(says_episode("13화와 3화", 3));
        assert!(!says_episode("사랑의 불시착", 3));
    }

    #[test]
    fn long_names_are_cut_keeping_number_episode_and_extension() {
        let t = "아주 긴 제목 ".repeat(20);
        let n = file_names(&[ni(1, Kind::Video, &t, Some("긴 연속극"), Some(12))]);
        let n = &n[0];
        assert!(n.starts_with("01 아주 긴 제목"));
        assert!(n.ends_with(" 12화.avi"), "{n}");
        assert!(n.encode_utf16().count() <= MAX_NAME_UNITS);
        assert!(!n.contains("  "));
    }

    #[test]
    fn folders_are_short_ascii() {
        for k in Kind::ALL {
            let f = folder_for(k);
            assert!(f.len() <= 8 && f.bytes().all(|b| b.is_ascii_lowercase()));
        }
    }

    fn kind_strategy() -> impl Strategy<Value = Kind> {
        (0..Kind::ALL.len()).prop_map(|i| Kind::ALL[i])
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[가-힣 ]{0,20}",
            "[ -~]{0,30}",
            ".{0,40}",
            "[가-힣a-zA-Z0-9 .:?*]{0,90}",
        ]
    }

    fn input_strategy() -> impl Strategy<Value = Vec<NameInput>> {
        prop::collection::vec(
            (
                0i64..50,
                kind_strategy(),
                text_strategy(),
                prop::option::of("[가-힣 ]{0,12}"),
                prop::option::of(0u32..2000),
                "[.a-zA-Z0-9가]{0,12}",
            ),
            0..130,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(
                    |(i, (_, kind, title, series, episode, extension))| NameInput {
                        // Unique ids, as the planner requires.
                        id: (i as i64 * 37) % 1000,
                        kind,
                        title,
                        series,
                        episode,
                        extension,
                    },
                )
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn names_are_unique_valid_and_sort_by_number(items in input_strategy()) {
            let names = file_names(&items);
            prop_assert_eq!(names.len(), items.len());
            for kind in Kind::ALL {
                let mine: Vec<&String> = items.iter().zip(&names)
                    .filter(|(i, _)| i.kind == kind).map(|(_, n)| n).collect();
                let width = digits(mine.len()).max(2);
                let mut seen = HashSet::new();
                let mut numbered: Vec<(usize, &str)> = Vec::new();
                for n in &mine {
                    prop_assert!(names::check_long_name(n).is_ok(), "{n:?}");
                    prop_assert!(n.encode_utf16().count() <= MAX_NAME_UNITS, "{n:?}");
                    prop_assert!(n.chars().all(|c| c.len_utf16() == 1 && !"\\/:*?\"<>|;".contains(c)));
                    let num = &n[..width];
                    prop_assert!(num.bytes().all(|b| b.is_ascii_digit()), "{n:?}");
                    prop_assert!(n[width..].starts_with(' '), "{n:?}");
                    prop_assert!(seen.insert(names::fold(n)), "duplicate {n:?}");
                    numbered.push((num.parse().unwrap(), n.as_str()));
                }
                // The numbers are 1..=count, in sort-key order.
                let mut nums: Vec<usize> = numbered.iter().map(|x| x.0).collect();
                nums.sort();
                prop_assert_eq!(nums, (1..=mine.len()).collect::<Vec<_>>());
                // The FAT writer assigns aliases in code point order; sorted
                // by alias they must come in number order.
                let mut in_dir: Vec<&str> = mine.iter().map(|s| s.as_str()).collect();
                in_dir.sort();
                let aliases = names::assign(&in_dir).unwrap();
                let mut by_alias: Vec<([u8; 11], &str)> =
                    aliases.iter().map(|a| a.0).zip(in_dir.iter().copied()).collect();
                by_alias.sort();
                let mut by_number = numbered.clone();
                by_number.sort();
                let a: Vec<&str> = by_alias.iter().map(|x| x.1).collect();
                let b: Vec<&str> = by_number.iter().map(|x| x.1).collect();
                prop_assert_eq!(a, b);
                for (alias, name) in &by_alias {
                    prop_assert_eq!(&alias[..width], &name.as_bytes()[..width]);
                }
            }
        }

        #[test]
        fn numbers_do_not_depend_on_other_kinds_or_order(items in input_strategy(), seed in any::<u64>()) {
            let names = file_names(&items);
            // Shuffle deterministically and drop every item of one kind.
            let drop_kind = Kind::ALL[(seed % 6) as usize];
            let mut idx: Vec<usize> = (0..items.len()).filter(|&i| items[i].kind != drop_kind).collect();
            idx.sort_by_key(|&i| (i as u64).wrapping_mul(seed | 1).rotate_left(17));
            let sub: Vec<NameInput> = idx.iter().map(|&i| items[i].clone()).collect();
            let sub_names = file_names(&sub);
            for (k, &i) in idx.iter().enumerate() {
                prop_assert_eq!(&sub_names[k], &names[i]);
            }
        }
    }

    #[test]
    fn escapes_are_ascii() {
        assert_eq!(js_ascii("가\u{1F600}a"), "\\uac00\\ud83d\\ude00a");
        assert_eq!(html_ascii("가a"), "&#xAC00;a");
        assert!(STYLE_CSS.is_ascii());
    }
}
