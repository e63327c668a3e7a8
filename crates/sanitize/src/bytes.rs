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
