//! Bounds-checked reading of untrusted bytes. Every read that would run past the
//! end becomes [`Error::Malformed`] naming the byte offset, never a panic.

use crate::{Error, Format};

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    format: Format,
}

#[allow(dead_code)]
impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], format: Format) -> Self {
        Reader {
            data,
            pos: 0,
            format,
        }
    }
    pub fn at(data: &'a [u8], pos: usize, format: Format) -> Self {
        Reader { data, pos, format }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// The error for something at the current position.
    pub fn err(&self, what: impl std::fmt::Display) -> Error {
        Error::malformed(self.format, format!("{what} at byte {}", self.pos))
    }
    /// Takes `n` bytes; `what` names the structure for the error message.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            return Err(Error::malformed(
                self.format,
                format!(
                    "{what} at byte {} runs past the end ({} bytes needed, {} left)",
                    self.pos,
                    n,
                    self.remaining()
                ),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn skip(&mut self, n: usize, what: &str) -> Result<(), Error> {
        self.take(n, what).map(|_| ())
    }
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.data.get(self.pos..self.pos.checked_add(n)?)
    }
    pub fn u8(&mut self, what: &str) -> Result<u8, Error> {
        Ok(self.take(1, what)?[0])
    }
    pub fn u16_be(&mut self, what: &str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    pub fn u16_le(&mut self, what: &str) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    pub fn u32_be(&mut self, what: &str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    pub fn u32_le(&mut self, what: &str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    pub fn u64_be(&mut self, what: &str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.take(8, what)?.try_into().unwrap()))
    }
}

/// Text for a finding's value: lossy UTF-8, control characters dropped.
pub(crate) fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// "2024-03-01 12:00:00 UTC" for seconds since 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's civil-from-days).
pub(crate) fn utc_string(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86400);
    let rem = unix_secs.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_string_known_dates() {
        // Oracle: `date -u -d @SECS '+%Y-%m-%d %H:%M:%S'` (GNU coreutils).
        assert_eq!(super::utc_string(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc_string(978_307_200), "2001-01-01 00:00:00 UTC");
        assert_eq!(super::utc_string(1_709_294_400), "2024-03-01 12:00:00 UTC");
        assert_eq!(super::utc_string(-2_082_844_800), "1904-01-01 00:00:00 UTC");
    }
}
