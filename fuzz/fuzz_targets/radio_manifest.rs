#![no_main]
//! Fuzz the manifest parser and verifier: any bytes give a manifest or an
//! error, never a panic. A verified blob under a key nobody holds must never
//! appear; a body that parses must serialise back to itself and verify once
//! signed.
use baram_radio::carousel::{Manifest, SigningKey, verify_blob};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_bytes(&[7; 32]);
    assert!(verify_blob(data, &key.verifying_key()).is_err(), "forged blob accepted");
    if let Ok(m) = Manifest::parse_body(data) {
        assert_eq!(m.body(), data, "a parsed body must serialise to itself");
        let blob = m.sign(&key);
        // The body's key id is whatever the input said: only accept if it names this key.
        match verify_blob(&blob, &key.verifying_key()) {
            Ok(v) => assert_eq!(v, m),
            Err(e) => assert!(
                matches!(e, baram_radio::carousel::ManifestError::UnknownKey { .. }),
                "{e}"
            ),
        }
    }
});
