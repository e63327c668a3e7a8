//! The ICAO / ISO 2533 standard atmosphere: geopotential height of a
//! pressure level, from the surface to 47 km (about 1.1 hPa).
//!
//! Used for the heights of synthetic cubes and, only when the operator asks
//! for it, for levels of a forecast that carry winds but no geopotential
//! height (JMA MEPS). The real atmosphere departs from it by up to a few
//! hundred metres at the low levels, so a cube using it says so.

/// Sea-level pressure, Pa.
pub const P0: f64 = 101_325.0;
/// Sea-level temperature, K.
pub const T0: f64 = 288.15;
/// Standard gravity, m/s².
pub const G0: f64 = 9.806_65;
/// Specific gas constant of dry air, J/(kg K).
pub const R: f64 = 287.052_87;

/// (base geopotential height m, base temperature K, lapse rate K/m, base pressure Pa)
const LAYERS: [(f64, f64, f64, f64); 4] = [
    (0.0, 288.15, -0.0065, 101_325.0),
    (11_000.0, 216.65, 0.0, 22_632.06),
    (20_000.0, 216.65, 0.001, 5_474.889),
    (32_000.0, 228.65, 0.0028, 868.0187),
];
/// Pressure at the top of the last layer (47 km), Pa.
const P_TOP: f64 = 110.906_3;

/// Geopotential height (m) of pressure `hpa` in the standard atmosphere, or
/// `None` outside 1.109..=1100 hPa (beyond its layers, or not a pressure).
pub fn height_of_pressure(hpa: f64) -> Option<f64> {
    let p = hpa * 100.0;
    if !p.is_finite() || !(P_TOP..=110_000.0).contains(&p) {
        return None;
    }
    // Below sea level (p > P0) the first layer's law continues.
    let layer = LAYERS.iter().rev().find(|l| p <= l.3).unwrap_or(&LAYERS[0]);
    let (h_b, t_b, lapse, p_b) = *layer;
    Some(if lapse == 0.0 {
        h_b + R * t_b / G0 * (p_b / p).ln()
    } else {
        h_b + t_b / lapse * ((p / p_b).powf(-R * lapse / G0) - 1.0)
    })
}

/// Pressure (hPa) at geopotential height `h` m in the standard atmosphere,
/// or `None` outside -1000..=47000 m.
pub fn pressure_of_height(h: f64) -> Option<f64> {
    if !h.is_finite() || !(-1_000.0..=47_000.0).contains(&h) {
        return None;
    }
    let layer = LAYERS.iter().rev().find(|l| h >= l.0).unwrap_or(&LAYERS[0]);
    let (h_b, t_b, lapse, p_b) = *layer;
    let p = if lapse == 0.0 {
        p_b * (-(h - h_b) * G0 / (R * t_b)).exp()
    } else {
        p_b * (1.0 + lapse * (h - h_b) / t_b).powf(-G0 / (R * lapse))
    };
    Some(p / 100.0)
}
