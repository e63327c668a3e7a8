//! Inputs the fuzzers found (kept as files): each must give an error, never
//! a panic.

use baram_flight::wind::{ImportOptions, Region, import_bytes};

/// A GFS message mutated to declare a grid of 0 columns: describing the
/// grid in the error message divided by (columns - 1) and overflowed.
#[test]
fn grib_with_a_zero_column_grid_is_refused() {
    let data = include_bytes!("fuzz-regressions/grib_import_zero_columns.grib2");
    for region in [None, Some(Region::KOREA)] {
        let opts = ImportOptions {
            region,
            std_atmosphere_heights: true,
        };
        let r = import_bytes(&[("crash.grib2".into(), &data[..])], &opts, &mut |_, _| {});
        assert!(r.is_err(), "a broken grid must be refused");
    }
}
