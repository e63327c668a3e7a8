#![no_main]
//! Fuzz the cube reader: any bytes must give a cube or an error, never a
//! panic; a cube it accepts must answer queries without panicking. The
//! checksum would stop almost every mutation, so a second pass fixes it up
//! to reach the header and value checks behind it.
use baram_flight::wind::{Cube, WindField};
use libfuzzer_sys::fuzz_target;

fn probe(c: &Cube) {
    let m = c.meta();
    let g = m.grid;
    let t = m.times[0] as f64;
    for (lat, lon, alt) in [
        (g.lat0, g.lon0, 0.0),
        (g.lat_last(), g.lon_last(), 5000.0),
        ((g.lat0 + g.lat_last()) / 2.0, (g.lon0 + g.lon_last()) / 2.0, 1e9),
        (f64::NAN, 0.0, f64::NAN),
    ] {
        let _ = c.wind(t, lat, lon, alt);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Cube::from_bytes("fuzz.cube", data) {
        probe(&c);
    }
    if data.len() >= 32 {
        let mut fixed = data.to_vec();
        let body = fixed.len() - 32;
        let h = blake3::hash(&fixed[..body]);
        fixed[body..].copy_from_slice(h.as_bytes());
        if let Ok(c) = Cube::from_bytes("fuzz.cube", &fixed) {
            probe(&c);
            assert_eq!(c.to_bytes(), fixed, "an accepted cube re-encodes to the same bytes");
        }
    }
});
