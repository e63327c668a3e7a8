#![no_main]
//! Fuzz the carousel packet parser: any bytes give a packet or an error, never
//! a panic; whatever parses re-encodes to the same bytes. Each input is also
//! tried with a correct CRC-16 appended so the fuzzer gets past the CRC.
use baram_radio::carousel::{Packet, crc16, parse};
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    if let Ok(p) = parse(bytes) {
        let again = match p {
            Packet::Data(d) => d.encode(),
            Packet::Manifest(m) => m.encode(),
        };
        assert_eq!(again, bytes, "a parsed packet must re-encode to its bytes");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut sealed = data.to_vec();
    sealed.extend_from_slice(&crc16(data).to_be_bytes());
    check(&sealed);
});
