//! Plain UTF-8 text (subtitles, notes). Text has no metadata container, so the
//! only cleaning is a check that it really is text: valid UTF-8 without NUL or
//! other binary control bytes. A leading byte-order mark is kept.

use crate::{Error, Format, Found, Options};

/// Valid UTF-8 with only ordinary whitespace among the control characters.
pub(crate) fn looks_like(data: &[u8]) -> bool {
    !data.is_empty() && check(data).is_ok()
}

fn check(data: &[u8]) -> Result<(), Error> {
    let s = std::str::from_utf8(data).map_err(|e| {
        Error::malformed(
            Format::Text,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    if let Some((i, c)) = s
        .char_indices()
        .find(|&(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
    {
        return Err(Error::malformed(
            Format::Text,
            format!("control character U+{:04X} at byte {i}", c as u32),
        ));
    }
    Ok(())
}

pub(crate) fn clean(data: &[u8], _opts: &Options, _found: &mut Found) -> Result<Vec<u8>, Error> {
    check(data)?;
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_subtitle_is_text() {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\n안녕하세요\n";
        assert!(looks_like(srt.as_bytes()));
        assert!(!looks_like(b"abc\0def"));
        assert!(!looks_like(&[0xff, 0xfe, 0x00]));
    }
}
