//! Long names (UTF-16 LFN entries) and 8.3 short aliases.
//!
//! Rules (all deterministic, all ASCII in the short names):
//! - A name that already is a valid UPPERCASE 8.3 name ("README.TXT",
//!   "VIDEO") is stored as a short entry alone, without LFN entries.
//! - Every other name gets LFN entries plus a short alias. That includes
//!   lower- or mixed-case names that would fit 8.3 ("index.htm"): we do NOT
//!   use the Windows NT case bits, because Windows 9x, many portable players
//!   and some firmware ignore them and would show "INDEX.HTM"; LFN entries
//!   are read by everything that reads long names and cost one 32-byte slot.
//! - The alias is made the Windows way: upper-cased, spaces and embedded
//!   periods dropped, characters outside the short-name set (including every
//!   non-ASCII character, e.g. Hangul) replaced by '_', base cut to 8 and
//!   extension (after the last period) to 3. If nothing was lost the alias is
//!   the upper-cased name itself; otherwise (or if taken) a numeric tail ~N is
//!   added (N = 1, 2, ... with the base cut so that base + tail fit 8).
//!   Non-ASCII is never written into short names: the recipients' code pages
//!   differ (CP936 on Chinese XP, none on players), so bytes >= 0x80 would
//!   show as garbage or break.

use std::collections::{HashMap, HashSet};

/// Characters allowed in a short name besides A-Z and 0-9.
const SHORT_SPECIALS: &[u8] = b"!#$%&'()-@^_`{}~";

fn short_char_ok(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || SHORT_SPECIALS.contains(&b)
}

/// Device names Windows refuses as file names (with any extension).
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks that `name` can be a FAT long name that Windows can open.
/// Returns the reason when it cannot.
pub(crate) fn check_long_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name == "." || name == ".." {
        return Err("\".\" and \"..\" are not file names".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| (*c as u32) < 0x20 || "\"*/:<>?\\|\u{7f}".contains(*c))
    {
        return Err(format!(
            "it contains the character {c:?}, which FAT does not allow (\" * / : < > ? \\ | and control characters)"
        ));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err("it ends with a period or a space, which Windows strips so the file could not be opened".into());
    }
    let units = name.encode_utf16().count();
    if units > 255 {
        return Err(format!(
            "it is {units} UTF-16 units long; FAT allows at most 255"
        ));
    }
    let stem = name.split('.').next().unwrap_or("").trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(format!(
            "\"{stem}\" is a Windows device name; Windows could not open this file"
        ));
    }
    Ok(())
}

/// The key under which FAT (case-insensitive) considers two names equal.
pub(crate) fn fold(name: &str) -> String {
    name.chars().flat_map(char::to_uppercase).collect()
}

/// The 11-byte short name if `name` is already a valid upper-case 8.3 name.
pub(crate) fn exact_short(name: &str) -> Option<[u8; 11]> {
    let b = name.as_bytes();
    let (base, ext) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b[..0]),
    };
    if base.is_empty() || base.len() > 8 || ext.len() > 3 {
        return None;
    }
    if b.contains(&b'.') && ext.is_empty() {
        return None;
    }
    if !base.iter().chain(ext).all(|&c| short_char_ok(c)) {
        return None;
    }
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base);
    out[8..8 + ext.len()].copy_from_slice(ext);
    Some(out)
}

/// Number of 32-byte directory slots `name` takes: 1 for the short entry
/// plus one per 13 UTF-16 units of long name, unless the name is an exact
/// upper-case 8.3 name. Depends on the name only.
pub(crate) fn slots(name: &str) -> u32 {
    if exact_short(name).is_some() {
        1
    } else {
        let units = name.encode_utf16().count() as u32;
        1 + units.div_ceil(13)
    }
}

/// Windows basis name: (base, ext, lossy).
fn basis(name: &str) -> (Vec<u8>, Vec<u8>, bool) {
    let mut lossy = false;
    let trimmed = name.trim_start_matches('.');
    if trimmed.len() != name.len() {
        lossy = true;
    }
    let (base_s, ext_s) = match trimmed.rfind('.') {
        Some(p) => (&trimmed[..p], &trimmed[p + 1..]),
        None => (trimmed, ""),
    };
    let conv = |s: &str, lossy: &mut bool| -> Vec<u8> {
        let mut v = Vec::new();
        for c in s.chars() {
            if c == ' ' || c == '.' {
                *lossy = true;
                continue;
            }
            let u = c.to_ascii_uppercase();
            if u.is_ascii() && short_char_ok(u as u8) {
                v.push(u as u8);
            } else {
                *lossy = true;
                v.push(b'_');
            }
        }
        v
    };
    let mut base = conv(base_s, &mut lossy);
    let mut ext = conv(ext_s, &mut lossy);
    if base.len() > 8 {
        base.truncate(8);
        lossy = true;
    }
    if ext.len() > 3 {
        ext.truncate(3);
        lossy = true;
    }
    if base.is_empty() {
        base.push(b'_');
        lossy = true;
    }
    (base, ext, lossy)
}

fn pack(base: &[u8], ext: &[u8]) -> [u8; 11] {
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base);
    out[8..8 + ext.len()].copy_from_slice(ext);
    out
}

/// Assigns short names to the entries of one directory, `names` in the order
/// they are written. Returns (short name, needs LFN) per name, or None if the
/// numeric tails ran out (more than 999,999 names with one basis).
pub(crate) fn assign(names: &[&str]) -> Option<Vec<([u8; 11], bool)>> {
    let mut out: Vec<Option<([u8; 11], bool)>> = vec![None; names.len()];
    let mut used: HashSet<[u8; 11]> = HashSet::new();
    // Exact 8.3 names keep their name: reserve them first.
    for (i, n) in names.iter().enumerate() {
        if let Some(s) = exact_short(n) {
            used.insert(s);
            out[i] = Some((s, false));
        }
    }
    let mut next_tail: HashMap<(Vec<u8>, Vec<u8>), u32> = HashMap::new();
    for (i, n) in names.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let (base, ext, lossy) = basis(n);
        if !lossy {
            let s = pack(&base, &ext);
            if used.insert(s) {
                out[i] = Some((s, true));
                continue;
            }
        }
        let key = (base.clone(), ext.clone());
        let mut k = *next_tail.get(&key).unwrap_or(&1);
        loop {
            if k > 999_999 {
                return None;
            }
            let tail = format!("~{k}");
            let keep = base.len().min(8 - tail.len());
            let mut b = base[..keep].to_vec();
            b.extend_from_slice(tail.as_bytes());
            let s = pack(&b, &ext);
            k += 1;
            if used.insert(s) {
                out[i] = Some((s, true));
                break;
            }
        }
        next_tail.insert(key, k);
    }
    out.into_iter().collect()
}

/// The checksum of a short name stored in each of its LFN entries.
pub(crate) fn checksum(short: &[u8; 11]) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, &b| sum.rotate_right(1).wrapping_add(b))
}

/// Appends the LFN entries of `name` (last part first, as on disk).
pub(crate) fn push_lfn(out: &mut Vec<u8>, name: &str, short: &[u8; 11]) {
    let mut units: Vec<u16> = name.encode_utf16().collect();
    let n = units.len().div_ceil(13);
    if !units.len().is_multiple_of(13) {
        units.push(0);
        while !units.len().is_multiple_of(13) {
            units.push(0xFFFF);
        }
    }
    let sum = checksum(short);
    for ord in (1..=n).rev() {
        let part = &units[(ord - 1) * 13..ord * 13];
        let mut e = [0u8; 32];
        e[0] = ord as u8 | if ord == n { 0x40 } else { 0 };
        e[11] = 0x0F;
        e[13] = sum;
        let offs = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
        for (u, &o) in part.iter().zip(offs.iter()) {
            e[o..o + 2].copy_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(&e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &[u8; 11]) -> String {
        String::from_utf8_lossy(x).into_owned()
    }

    #[test]
    fn exact_names_need_no_lfn() {
        assert_eq!(s(&exact_short("README.TXT").unwrap()), "README  TXT");
        assert_eq!(s(&exact_short("VIDEO").unwrap()), "VIDEO      ");
        assert!(exact_short("readme.txt").is_none());
        assert!(exact_short("A B.TXT").is_none());
        assert!(exact_short("ABCDEFGHI").is_none());
        assert!(exact_short("A.B.C").is_none());
        assert!(exact_short("A.").is_none());
        assert!(exact_short(".A").is_none());
        assert_eq!(slots("README.TXT"), 1);
        assert_eq!(slots("readme.txt"), 2);
        assert_eq!(slots("0123456789abc"), 2);
        assert_eq!(slots("0123456789abcd"), 3);
    }

    #[test]
    fn aliases_follow_windows() {
        let names = [
            "01 사랑의 불시착 1화.avi",
            "01 사랑의 불시착 2화.avi",
            "index.html",
            "Foo.txt",
            "FOO~1.TXT",
            "foo bar.txt",
            ".hidden",
            "사랑",
        ];
        let a = assign(&names).unwrap();
        let got: Vec<String> = a.iter().map(|(x, _)| s(x)).collect();
        assert_eq!(
            got,
            [
                "01____~1AVI",
                "01____~2AVI",
                "INDEX~1 HTM",
                "FOO     TXT",
                "FOO~1   TXT",
                "FOOBAR~1TXT",
                "HIDDEN~1   ",
                "__~1       ",
            ]
        );
        assert!(!a[4].1 && a[0].1 && a[3].1);
    }

    #[test]
    fn tails_grow_and_stay_unique() {
        let names: Vec<String> = (0..200)
            .map(|i| format!("사랑의 불시착 {i}화.avi"))
            .collect();
        let refs: Vec<&str> = names.iter().map(|x| x.as_str()).collect();
        let a = assign(&refs).unwrap();
        let set: HashSet<_> = a.iter().map(|x| x.0).collect();
        assert_eq!(set.len(), 200);
        assert_eq!(s(&a[0].0), "______~1AVI");
        assert_eq!(s(&a[9].0), "_____~10AVI");
        assert_eq!(s(&a[99].0), "____~100AVI");
    }

    #[test]
    fn lfn_layout() {
        let mut v = Vec::new();
        let short = *b"INDEX~1 HTM";
        push_lfn(&mut v, "index.html", &short);
        assert_eq!(v.len(), 32);
        assert_eq!(v[0], 0x41);
        assert_eq!(v[11], 0x0F);
        assert_eq!(v[13], checksum(&short));
        assert_eq!(&v[1..3], &[b'i', 0]);
        // terminator after 10 units, then 0xFFFF
        assert_eq!(&v[24..26], &[0, 0]);
        assert_eq!(&v[28..32], &[0xFF; 4]);
        let mut w = Vec::new();
        push_lfn(&mut w, "abcdefghijklm", &short);
        assert_eq!(w.len(), 32);
        assert_eq!(&w[30..32], &[b'm', 0]);
    }

    #[test]
    fn long_name_checks() {
        assert!(check_long_name("01 사랑의 불시착 1화.avi").is_ok());
        assert!(check_long_name("a:b").is_err());
        assert!(check_long_name("a.").is_err());
        assert!(check_long_name("con.txt").is_err());
        assert!(check_long_name("console.txt").is_ok());
        assert!(check_long_name(&"x".repeat(256)).is_err());
    }
}
