//! Stub: to be written.

use crate::{Error, Format, Found, Options};

pub(crate) fn clean(
    format: Format,
    _data: &[u8],
    _opts: &Options,
    _found: &mut Found,
) -> Result<Vec<u8>, Error> {
    Err(Error::unsupported(format, "not implemented yet"))
}

pub(crate) fn detect(_data: &[u8]) -> Option<Format> {
    None
}
