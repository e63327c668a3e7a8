#![no_main]
//! Fuzz the Avi parser: any input must give cleaned bytes or an error, never a
//! panic, and cleaning must be idempotent on what it accepts.
use baram_sanitize::{Format, Options, clean_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = clean_as(Format::Avi, data, &Options::default()) {
        let again = clean_as(Format::Avi, &c.data, &Options::default())
            .expect("a cleaned file must parse again");
        assert_eq!(again.data, c.data, "cleaning must be idempotent");
    }
});
