//! File-system helpers: durable atomic writes, fixed times, random ids.

use std::fs::{self, File, FileTimes};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The one time every file of a bundle carries (modification and access):
/// 1980-01-01 00:00:00 UTC, the earliest date FAT can store.
pub const FIXED_TIME_UNIX: u64 = 315_532_800;

/// Prefix of temporary files in the vault (removed by recovery and check).
pub const TMP_PREFIX: &str = ".tmp-";

pub fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(FIXED_TIME_UNIX)
}

/// Sets the modification and access time of an open file or folder to
/// [`fixed_time`].
pub fn set_fixed_times(f: &File) -> io::Result<()> {
    let t = fixed_time();
    f.set_times(FileTimes::new().set_accessed(t).set_modified(t))
}

/// Sets a path's times to [`fixed_time`] (a file or a folder).
pub fn set_fixed_times_path(p: &Path) -> io::Result<()> {
    set_fixed_times(&File::open(p)?)
}

/// fsyncs a folder so a rename or unlink in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// 128 random bits from the operating system, as 32 lowercase hex digits.
pub fn random_hex128() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the operating system's random source works");
    hex(&b)
}

pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

/// True for a lowercase hex string of `len` digits.
pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Creates a new file exclusively with `mode` (umask still applies to the
/// creation, so the mode is set again explicitly).
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(f)
}

/// Writes `data` to `dest` atomically: a temporary file in the same folder
/// (`.tmp-…`), fsync, rename, fsync of the folder. `mode` is set explicitly.
/// With `fixed_times` the file carries [`fixed_time`].
pub fn write_atomic(dest: &Path, data: &[u8], mode: u32, fixed_times: bool) -> io::Result<()> {
    let dir = dest.parent().expect("a file path has a parent");
    let tmp = dir.join(format!("{TMP_PREFIX}{}", random_hex128()));
    let res = (|| {
        let mut f = create_new(&tmp, mode)?;
        f.write_all(data)?;
        if fixed_times {
            set_fixed_times(&f)?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dest)?;
        sync_dir(dir)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Today's UTC time as RFC 3339 (`2025-03-01T12:00:00Z`), from the system clock.
pub fn utc_now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses RFC 3339 UTC as [`rfc3339`] writes it (`2025-03-01T12:00:00Z`)
/// into seconds since the Unix epoch; `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > dim[(m - 1) as usize] || hh > 23 || mm > 59 || ss > 59
    {
        return None;
    }
    // Days-from-civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(FIXED_TIME_UNIX), "1980-01-01T00:00:00Z");
        // `date -u -d @1709294400` (a leap year's 1 March).
        assert_eq!(rfc3339(1_709_294_400), "2024-03-01T12:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn parse_rfc3339_inverts_rfc3339() {
        for t in [
            0u64,
            FIXED_TIME_UNIX,
            1_709_294_400,
            951_782_400,
            4_102_444_799,
            1_234_567_890,
        ] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t as i64), "{t}");
        }
        for bad in [
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01 00:00:00Z",
            "2025-01-01T00:00:00",
            "+025-01-01T00:00:00Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_and_ids() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        let a = random_hex128();
        assert!(is_hex(&a, 32));
        assert_ne!(a, random_hex128());
    }
}
