#![no_main]
//! Fuzz the GRIB2 import: any bytes must give a cube or an error, never a
//! panic; a cube it accepts must survive its own file format.
use baram_flight::wind::{Cube, ImportOptions, Region, import_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for region in [None, Some(Region::KOREA)] {
        let opts = ImportOptions {
            region,
            std_atmosphere_heights: true,
        };
        if let Ok((cube, _)) = import_bytes(&[("fuzz.grib2".into(), data)], &opts, &mut |_, _| {}) {
            let bytes = cube.to_bytes();
            let back = Cube::from_bytes("fuzz.cube", &bytes).expect("an imported cube must reopen");
            assert_eq!(back.meta(), cube.meta());
        }
    }
});
