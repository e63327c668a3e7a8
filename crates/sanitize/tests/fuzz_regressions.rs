//! Inputs cargo-fuzz found (fuzz/run.sh), kept so the bugs stay fixed. Each
//! must either be refused or clean to bytes that clean again to themselves.
//! The files are fuzzer output (mutations of baram's own fixtures).

use baram_sanitize::{Format, Options, clean_as};

fn check(format: Format, data: &[u8]) {
    if let Ok(c) = clean_as(format, data, &Options::default()) {
        let again = clean_as(format, &c.data, &Options::default())
            .unwrap_or_else(|e| panic!("a cleaned {format} must parse again: {e}"));
        assert_eq!(again.data, c.data, "cleaning must be idempotent");
        assert!(again.report.is_clean(), "{:?}", again.report);
        for p in baram_sanitize::fixtures::PLANTED {
            assert!(
                !c.data.windows(p.len()).any(|w| w == p.as_bytes()),
                "{p} left"
            );
        }
    }
}

/// The last "frame" swallowed an APE tag (artist, comment, serial) because a
/// malformed ID3v1 after it hid the tag from the end-tag scan. The cleaned
/// copy carried the planted strings; now the second-pass check refuses it.
#[test]
fn mp3_crash_1() {
    let data = include_bytes!("fuzz-regressions/mp3-crash-1.bin");
    check(Format::Mp3, data);
    assert!(clean_as(Format::Mp3, data, &Options::default()).is_err());
}

/// The cleaned AVI ended in bytes shaped like a Red Star chain, so reading
/// it again cut them off. Such output is now refused.
#[test]
fn avi_crash_1() {
    check(
        Format::Avi,
        include_bytes!("fuzz-regressions/avi-crash-1.bin"),
    );
}
