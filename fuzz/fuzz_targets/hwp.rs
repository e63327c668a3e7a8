#![no_main]
//! Fuzz the HWP 5 / HWPX reader (run inside the vault's sandbox on hostile
//! documents): any input must give a document or an error, never a panic,
//! and the flat ODT written from what it accepts must be well-formed XML
//! (no text of the document can break out of its element).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = baram_hwp::Limits {
        max_stream: 32 << 20,
        max_total: 64 << 20,
        max_text: 8 << 20,
        ..Default::default()
    };
    if let Ok(doc) = baram_hwp::read(data, &limits) {
        let x = baram_hwp::to_fodt(&doc);
        let mut r = quick_xml::Reader::from_str(&x);
        r.config_mut().check_end_names = true;
        let mut depth = 0i64;
        loop {
            match r.read_event().expect("the ODT written must be well-formed") {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::DocType(_) => panic!("a DTD in the ODT"),
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0, "the ODT's elements must all be closed");
    }
});
