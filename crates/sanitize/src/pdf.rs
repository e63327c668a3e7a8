//! Stub: to be written.

use crate::{Error, Format, Found, Options};

pub(crate) fn clean(_data: &[u8], _opts: &Options, _found: &mut Found) -> Result<Vec<u8>, Error> {
    Err(Error::unsupported(Format::Pdf, "not implemented yet"))
}
