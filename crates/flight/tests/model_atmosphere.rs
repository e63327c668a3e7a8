//! The atmospheres against the US Standard Atmosphere 1976 tables, and
//! Tawhiri's descent constant.

use baram_flight::atmosphere::{
    ISA_LAYER_BOUNDS_M, ISA_TOP_M, geometric_to_geopotential, isa, isa_altitude_of_density,
    isa_density_scale_height, nasa_glenn, nasa_glenn_density,
};

/// US 1976 by geometric altitude (m): temperature K, pressure Pa, density
/// kg/m³, as printed in the standard's tables (NOAA/NASA/USAF 1976).
const US1976: [(f64, f64, f64, f64); 9] = [
    (0.0, 288.150, 101_325.0, 1.2250),
    (1_000.0, 281.651, 89_876.0, 1.1117),
    (5_000.0, 255.676, 54_048.0, 0.73643),
    (10_000.0, 223.252, 26_500.0, 0.41351),
    (15_000.0, 216.650, 12_111.0, 0.19476),
    (20_000.0, 216.650, 5_529.3, 0.088910),
    (30_000.0, 226.509, 1_197.0, 0.018410),
    (40_000.0, 250.350, 287.14, 0.0039957),
    (50_000.0, 270.650, 79.779, 0.0010269),
];

#[test]
fn isa_reproduces_the_us1976_tables() {
    for (z, t, p, rho) in US1976 {
        let a = isa(geometric_to_geopotential(z));
        assert!(
            (a.temperature_k - t).abs() < 0.01,
            "T at {z}: {}",
            a.temperature_k
        );
        assert!(
            (a.pressure_pa / p - 1.0).abs() < 1e-4,
            "p at {z}: {}",
            a.pressure_pa
        );
        assert!(
            (a.density_kg_m3 / rho - 1.0).abs() < 1e-4,
            "rho at {z}: {}",
            a.density_kg_m3
        );
    }
}

#[test]
fn isa_is_continuous_and_invertible() {
    for b in ISA_LAYER_BOUNDS_M {
        let below = isa(b - 1e-6);
        let above = isa(b);
        assert!(
            (below.pressure_pa / above.pressure_pa - 1.0).abs() < 1e-6,
            "at {b}"
        );
        assert!(
            (below.temperature_k - above.temperature_k).abs() < 1e-6,
            "at {b}"
        );
    }
    for h in [
        0.0, 500.0, 10_999.0, 11_000.0, 15_000.0, 20_000.0, 27_000.0, 33_333.0, 48_000.0, 60_000.0,
        80_000.0,
    ] {
        let rho = isa(h).density_kg_m3;
        let back = isa_altitude_of_density(rho).unwrap();
        // The standard's base pressures are printed to 7 digits: 1e-7 at a bound.
        assert!((back - h).abs() < 1e-2, "{h} -> {back}");
    }
    assert_eq!(isa_altitude_of_density(2.0), None);
    assert_eq!(isa_altitude_of_density(f64::NAN), None);
    assert_eq!(
        isa_altitude_of_density(isa(ISA_TOP_M + 1000.0).density_kg_m3),
        None
    );
}

#[test]
fn isa_scale_height_is_the_log_derivative_of_density() {
    for h in [
        100.0, 5_000.0, 15_000.0, 25_000.0, 40_000.0, 49_000.0, 60_000.0,
    ] {
        let d = 0.01;
        let dln = (isa(h + d).density_kg_m3.ln() - isa(h - d).density_kg_m3.ln()) / (2.0 * d);
        let hs = isa_density_scale_height(h);
        assert!(
            (-1.0 / dln / hs - 1.0).abs() < 1e-6,
            "at {h}: {hs} vs {}",
            -1.0 / dln
        );
    }
    // Isothermal lower stratosphere: R T / (g M) = 6,341.6 m.
    assert!((isa_density_scale_height(15_000.0) - 6_341.6).abs() < 0.1);
}

/// The NASA Glenn fit is within its known tolerance of the tables: 0.5%
/// below 25 km, 6% from 25 to 40 km (it is a curve fit, not the standard).
#[test]
fn nasa_glenn_is_within_its_tolerance_of_the_tables() {
    for (z, _, p, rho) in US1976 {
        if z > 40_000.0 {
            continue;
        }
        let a = nasa_glenn(z);
        let tol = if z <= 25_000.0 { 0.005 } else { 0.06 };
        assert!(
            (a.density_kg_m3 / rho - 1.0).abs() < tol,
            "rho at {z}: {}",
            a.density_kg_m3
        );
        assert!(
            (a.pressure_pa / p - 1.0).abs() < 2.0 * tol,
            "p at {z}: {}",
            a.pressure_pa
        );
    }
    assert!((nasa_glenn_density(0.0) - 1.2266).abs() < 1e-4);
    assert!((nasa_glenn_density(10_000.0) - 0.4135).abs() < 0.002);
    assert!((nasa_glenn_density(20_000.0) - 0.0889).abs() < 0.0005);
}

/// Tawhiri's layer bounds: 11,000 m is troposphere, 25,000 m lower
/// stratosphere.
#[test]
fn nasa_glenn_uses_tawhiris_layer_bounds() {
    assert_eq!(
        nasa_glenn(11_000.0).temperature_k,
        15.04 - 0.00649 * 11_000.0 + 273.1
    );
    assert_eq!(nasa_glenn(11_000.1).temperature_k, -56.46 + 273.1);
    assert_eq!(nasa_glenn(25_000.0).temperature_k, -56.46 + 273.1);
    assert!(nasa_glenn(25_000.1).temperature_k > -56.46 + 273.1);
}

/// 1.1045 is √1.22 to its four decimals, so a sea-level rate v means v where
/// ρ = 1.22; at the NASA fit's sea level (ρ = 1.2266) the rate is 0.9973 v.
#[test]
fn tawhiris_descent_constant() {
    assert!((1.22f64.sqrt() - 1.1045).abs() < 5e-5);
    let at_sea = baram_flight::model::TAWHIRI_DESCENT_CONSTANT / nasa_glenn_density(0.0).sqrt();
    assert!((at_sea - 0.9973).abs() < 1e-4, "{at_sea}");
}
