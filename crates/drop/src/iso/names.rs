//! Names of the two trees: Joliet (the real name in UCS-2) and the primary
//! ISO 9660 tree (level 1: 8.3 d-characters, ASCII only).
//!
//! Primary names are for readers that ignore Joliet (DOS, some players).
//! Each is derived from the real name alone, then made unique within its
//! folder: names that already are valid level-1 names keep them first, then
//! the others in code point order get a numeric tail ("_1", "_2", ...) where
//! they collide. So the result depends only on the set of names in the
//! folder, never on input order or hashing.

use std::collections::{HashMap, HashSet};

/// Longest primary base name (level 1).
pub(crate) const BASE_MAX: usize = 8;
/// Longest primary extension (level 1).
pub(crate) const EXT_MAX: usize = 3;

/// Maps to d-characters (A-Z, 0-9, _): ASCII letters upper-cased, digits
/// kept, anything else one '_' per run; '_' trimmed at both ends.
fn d_chars(s: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for c in s.chars() {
        let b = if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase() as u8
        } else {
            b'_'
        };
        if b == b'_' && out.last() == Some(&b'_') {
            continue;
        }
        out.push(b);
    }
    let start = out.iter().position(|&b| b != b'_').unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|&b| b != b'_')
        .map_or(start, |e| e + 1);
    out[start..end].to_vec()
}

/// (base, extension) of the primary name before making it unique.
fn basis(name: &str, is_dir: bool) -> (Vec<u8>, Vec<u8>) {
    let (stem, ext) = match name.rfind('.') {
        Some(p) if !is_dir && p > 0 => (&name[..p], &name[p + 1..]),
        _ => (name, ""),
    };
    let mut base = d_chars(stem);
    base.truncate(BASE_MAX);
    if base.is_empty() {
        base.push(b'_');
    }
    let mut ext = d_chars(ext);
    ext.truncate(EXT_MAX);
    (base, ext)
}

/// "BASE" or "BASE.EXT": what must be unique in a folder (a folder "A" and a
/// file "A.;1" would look the same to readers that drop ".;1").
fn display(base: &[u8], ext: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    if !ext.is_empty() {
        v.push(b'.');
        v.extend_from_slice(ext);
    }
    v
}

/// The identifier as recorded: folders "BASE", files "BASE.EXT;1" (or
/// "BASE.;1": ECMA-119 requires the separator).
fn identifier(base: &[u8], ext: &[u8], is_dir: bool) -> Vec<u8> {
    let mut v = base.to_vec();
    if !is_dir {
        v.push(b'.');
        v.extend_from_slice(ext);
        v.extend_from_slice(b";1");
    }
    v
}

/// Primary identifiers for the children of one folder, `(name, is_dir)` in
/// code point order; the result is in the same order. `None` if some basis
/// has run out of numeric tails (about a million names sharing one basis).
pub(crate) fn assign(names: &[(&str, bool)]) -> Option<Vec<Vec<u8>>> {
    let bases: Vec<(Vec<u8>, Vec<u8>)> = names.iter().map(|&(n, d)| basis(n, d)).collect();
    let mut out: Vec<Option<Vec<u8>>> = vec![None; names.len()];
    let mut used: HashSet<Vec<u8>> = HashSet::new();
    // Names that already are exact level-1 names keep them.
    for (i, &(name, is_dir)) in names.iter().enumerate() {
        let (b, e) = &bases[i];
        let disp = display(b, e);
        if disp == name.as_bytes() && used.insert(disp) {
            out[i] = Some(identifier(b, e, is_dir));
        }
    }
    // The rest, in order: the basis if free, else the first free tail.
    let mut next_tail: HashMap<Vec<u8>, u32> = HashMap::new();
    for (i, &(_, is_dir)) in names.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let (b, e) = &bases[i];
        let disp = display(b, e);
        if used.insert(disp.clone()) {
            out[i] = Some(identifier(b, e, is_dir));
            continue;
        }
        let n = next_tail.entry(disp).or_insert(1);
        loop {
            if *n > 9_999_999 {
                return None;
            }
            let tail = format!("_{n}");
            *n += 1;
            let mut base = b[..b.len().min(BASE_MAX - tail.len())].to_vec();
            base.extend_from_slice(tail.as_bytes());
            if used.insert(display(&base, e)) {
                out[i] = Some(identifier(&base, e, is_dir));
                break;
            }
        }
    }
    out.into_iter().collect()
}

/// Sort key of a primary identifier (ECMA-119 9.3): the identifier without
/// its ";1". Byte order of "NAME.EXT" equals the standard's order (name, then
/// extension, each padded with spaces) because every d-character sorts after
/// '.' and after the space.
pub(crate) fn primary_key(id: &[u8]) -> &[u8] {
    id.strip_suffix(b";1").unwrap_or(id)
}

/// UCS-2 big-endian of `name` (caller checked: BMP only), files with ";1".
pub(crate) fn joliet(name: &str, is_dir: bool) -> Vec<u8> {
    let mut v: Vec<u8> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
    if !is_dir {
        v.extend_from_slice(&[0, b';', 0, b'1']);
    }
    v
}

/// Why `name` cannot be a Joliet name (beyond the FAT rules the caller
/// checks first), or `Ok`.
pub(crate) fn check_joliet(name: &str) -> Result<(), String> {
    if let Some(c) = name.chars().find(|c| (*c as u32) > 0xFFFF) {
        return Err(format!(
            "it contains {c:?}, outside the Basic Multilingual Plane, which Joliet (UCS-2) cannot hold"
        ));
    }
    if name.contains(';') {
        return Err(
            "it contains ';', which Joliet does not allow (it separates the version number)".into(),
        );
    }
    let units = name.encode_utf16().count();
    if units > super::MAX_NAME_UNITS {
        return Err(format!(
            "it is {units} characters long; Joliet allows at most {}",
            super::MAX_NAME_UNITS
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[u8]) -> String {
        String::from_utf8(v.to_vec()).unwrap()
    }

    fn names(list: &[(&str, bool)]) -> Vec<String> {
        assign(list).unwrap().iter().map(|v| s(v)).collect()
    }

    #[test]
    fn level_one_names() {
        assert_eq!(
            names(&[
                ("01 사랑의 불시착 1화.avi", false),
                ("README.TXT", false),
                ("video", true),
                ("아리랑.mp3", false),
                ("noext", false),
                (".hidden", false),
                ("archive.tar.gz", false),
            ]),
            [
                "01_1.AVI;1",
                "README.TXT;1",
                "VIDEO",
                "_.MP3;1",
                "NOEXT.;1",
                "HIDDEN.;1",
                "ARCHIVE_.GZ;1"
            ]
        );
    }

    #[test]
    fn exact_names_win_and_tails_are_unique() {
        // "a.txt" sorts after "A.TXT" but must not take its name either way.
        let got = names(&[
            ("A.TXT", false),
            ("a.txt", false),
            ("a_txt", true),
            ("A", true),
            ("a", false),
        ]);
        assert_eq!(got, ["A.TXT;1", "A_1.TXT;1", "A_TXT", "A", "A_1.;1"]);
        // Many Korean names of one extension: all distinct, all 8.3.
        let many: Vec<String> = (0..2000).map(|i| format!("사랑 {i}.mp4")).collect();
        let list: Vec<(&str, bool)> = many.iter().map(|n| (n.as_str(), false)).collect();
        let ids = assign(&list).unwrap();
        let set: HashSet<&Vec<u8>> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        for id in &ids {
            let k = primary_key(id);
            let (b, e) = s(k)
                .split_once('.')
                .map(|(b, e)| (b.len(), e.len()))
                .unwrap();
            assert!(b <= 8 && e <= 3, "{}", s(id));
        }
    }

    #[test]
    fn joliet_names() {
        assert_eq!(joliet("가", true), [0xAC, 0x00]);
        assert_eq!(joliet("a", false), [0, b'a', 0, b';', 0, b'1']);
        assert!(check_joliet("01 사랑의 불시착 1화.avi").is_ok());
        assert!(check_joliet("a;b").is_err());
        assert!(check_joliet("😀.txt").is_err());
        assert!(check_joliet(&"가".repeat(64)).is_ok());
        assert!(check_joliet(&"가".repeat(65)).is_err());
    }
}
