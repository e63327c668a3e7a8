//! Standard atmospheres: the NASA Glenn fit that Tawhiri uses for descent
//! rates, and the US Standard Atmosphere 1976 (ISA up to 86 km) for balloon
//! physics.
//!
//! * [`nasa_glenn`] is the "Earth Atmosphere Model" of NASA Glenn Research
//!   Center's Beginner's Guide to Aeronautics, exactly as Tawhiri's
//!   `tawhiri/models.py` (`_get_density`) evaluates it, layer bounds included
//!   (troposphere up to and including 11,000 m, lower stratosphere up to and
//!   including 25,000 m, upper stratosphere above). It is a curve fit: against
//!   the tabulated US 1976 values its density is within 0.5% up to 25 km and
//!   within 6% from 25 to 40 km (shown by the tests), and it has small jumps at
//!   11 km (0.1%) and 25 km (1.6%). The flight model uses it only where
//!   Tawhiri does, so that descents match Tawhiri's.
//! * [`isa`] is the US Standard Atmosphere 1976 (identical to the ICAO/ISO
//!   standard atmosphere below 32 km) by geopotential altitude, with the
//!   standard's constants and layer table; it reproduces the standard's
//!   tables to their printed precision.
//!
//! Altitudes are geopotential metres above mean sea level, the kind of
//! altitude forecast cubes carry. [`geometric_to_geopotential`] converts.

/// Temperature, pressure and density of the air at one altitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Air {
    /// Kelvin.
    pub temperature_k: f64,
    /// Pascal.
    pub pressure_pa: f64,
    /// kg/m³.
    pub density_kg_m3: f64,
}

/// The NASA Glenn atmosphere fit, exactly as Tawhiri computes it.
///
/// Troposphere (h ≤ 11,000 m): T = 15.04 − 0.00649 h °C,
/// p = 101.29 ((T + 273.1)/288.08)^5.256 kPa. Lower stratosphere
/// (11,000 < h ≤ 25,000 m): T = −56.46 °C, p = 22.65 exp(1.73 − 0.000157 h)
/// kPa. Upper stratosphere (h > 25,000 m): T = −131.21 + 0.00299 h °C,
/// p = 2.488 ((T + 273.1)/216.6)^−11.388 kPa. Density
/// ρ = p / (0.2869 (T + 273.1)) kg/m³ (p in kPa). Note the fit's 273.1, not
/// 273.15.
pub fn nasa_glenn(h: f64) -> Air {
    let layer = if h > 25_000.0 {
        2
    } else if h > 11_000.0 {
        1
    } else {
        0
    };
    nasa_glenn_in_layer(h, layer)
}

/// The NASA Glenn fit's formula for one layer (0 troposphere, 1 lower
/// stratosphere, 2 upper stratosphere, as in [`nasa_glenn`]) evaluated at
/// `h` whether or not `h` lies in it: the smooth continuation the integrator
/// uses inside a step that ends on a layer bound.
pub fn nasa_glenn_in_layer(h: f64, layer: usize) -> Air {
    let (t_c, p_kpa) = match layer {
        0 => {
            let t = 15.04 - 0.00649 * h;
            (t, 101.29 * ((t + 273.1) / 288.08).powf(5.256))
        }
        1 => (-56.46, 22.65 * (1.73 - 0.000157 * h).exp()),
        _ => {
            let t = -131.21 + 0.00299 * h;
            (t, 2.488 * ((t + 273.1) / 216.6).powf(-11.388))
        }
    };
    Air {
        temperature_k: t_c + 273.1,
        pressure_pa: p_kpa * 1000.0,
        density_kg_m3: p_kpa / (0.2869 * (t_c + 273.1)),
    }
}

/// Density of the NASA Glenn fit (kg/m³), the quantity Tawhiri's descent
/// uses. Same as `nasa_glenn(h).density_kg_m3`.
#[inline]
pub fn nasa_glenn_density(h: f64) -> f64 {
    nasa_glenn(h).density_kg_m3
}

/// 1/√ρ of the NASA Glenn fit's formula for `layer` (as
/// [`nasa_glenn_in_layer`]) at `h`: the factor of Tawhiri's drag descent
/// rate, which the flight model evaluates four times per RK4 step, one after
/// the other (each stage's altitude needs the last rate).
///
/// From a table of each layer's formula every [`INV_SQRT_DENSITY_STEP_M`]
/// metres (built once per process, ~33,000 values, about a millisecond),
/// interpolated linearly: within 4e-9 of the formula, relative (the layers'
/// 1/√ρ have |f''/f| < 7e-9 per m², tested), which moves a 30 km descent by
/// well under a millimetre, and a table look-up is a fraction of the
/// latency of `powf` and `sqrt`. Outside a table's range (which spans its
/// layer and 500 m around it, up to 60 km) the formula itself is used.
#[inline(always)]
pub fn nasa_glenn_inv_sqrt_density(h: f64, layer: usize) -> f64 {
    let t = &inv_sqrt_tables()[layer.min(2)];
    let a = (h - t.h0) * (1.0 / INV_SQRT_DENSITY_STEP_M);
    if a >= 0.0 && a < t.top {
        // Not negative and below 2^31: truncation through i32 is the floor.
        let i = a as i32;
        let f = a - i as f64;
        let i = i as usize;
        let (y0, y1) = (t.v[i], t.v[i + 1]);
        y0 + (y1 - y0) * f
    } else {
        inv_sqrt_density_formula(h, layer)
    }
}

#[cold]
fn inv_sqrt_density_formula(h: f64, layer: usize) -> f64 {
    1.0 / nasa_glenn_in_layer(h, layer).density_kg_m3.sqrt()
}

/// Spacing of the tables behind [`nasa_glenn_inv_sqrt_density`].
pub const INV_SQRT_DENSITY_STEP_M: f64 = 2.0;

struct InvSqrtTable {
    h0: f64,
    /// (number of values − 1) as f64: the last interval's end.
    top: f64,
    v: Vec<f64>,
}

fn inv_sqrt_tables() -> &'static [InvSqrtTable; 3] {
    static TABLES: std::sync::OnceLock<[InvSqrtTable; 3]> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let table = |layer: usize, from: f64, to: f64| {
            let n = ((to - from) / INV_SQRT_DENSITY_STEP_M) as usize + 1;
            let v = (0..n)
                .map(|i| {
                    let h = from + i as f64 * INV_SQRT_DENSITY_STEP_M;
                    1.0 / nasa_glenn_in_layer(h, layer).density_kg_m3.sqrt()
                })
                .collect::<Vec<_>>();
            InvSqrtTable {
                h0: from,
                top: (n - 1) as f64,
                v,
            }
        };
        [
            table(0, -500.0, 11_500.0),
            table(1, 10_500.0, 25_500.0),
            table(2, 24_500.0, 60_000.0),
        ]
    })
}

/// Altitudes where the NASA Glenn fit changes formula (its density jumps
/// slightly there). The integrator splits steps at these altitudes.
pub const NASA_GLENN_LAYER_BOUNDS_M: [f64; 2] = [11_000.0, 25_000.0];

/// Standard gravity, m/s² (US 1976).
pub const G0: f64 = 9.80665;
/// Universal gas constant as the US 1976 standard defines it, J/(mol K).
pub const R_STAR: f64 = 8.31432;
/// Mean molar mass of dry air below 86 km, kg/mol (US 1976).
pub const M_AIR: f64 = 0.0289644;
/// Effective Earth radius used by US 1976 for geopotential altitude, m.
pub const R_GEOPOTENTIAL: f64 = 6_356_766.0;

/// g0 M / R*, K/m: the hydrostatic constant of the ISA.
const GMR: f64 = G0 * M_AIR / R_STAR;

/// US 1976 layers: base geopotential altitude (m), base temperature (K),
/// lapse rate (K/m), base pressure (Pa, as tabulated in the standard).
const ISA_LAYERS: [(f64, f64, f64, f64); 7] = [
    (0.0, 288.15, -0.0065, 101_325.0),
    (11_000.0, 216.65, 0.0, 22_632.06),
    (20_000.0, 216.65, 0.001, 5_474.889),
    (32_000.0, 228.65, 0.0028, 868.0187),
    (47_000.0, 270.65, 0.0, 110.9063),
    (51_000.0, 270.65, -0.0028, 66.93887),
    (71_000.0, 214.65, -0.002, 3.956420),
];

/// Top of the US 1976 model's lower part (geopotential m, 86 km geometric).
pub const ISA_TOP_M: f64 = 84_852.0;

/// Altitudes where the ISA lapse rate changes (its derivatives jump there).
/// The integrator splits steps at these altitudes.
pub const ISA_LAYER_BOUNDS_M: [f64; 6] =
    [11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0];

/// The index of the ISA layer that contains `h` (0 below 11 km, ...).
#[inline]
pub fn isa_layer_of(h: f64) -> usize {
    ISA_LAYER_BOUNDS_M.iter().filter(|&&b| h >= b).count()
}

/// The US Standard Atmosphere 1976 at geopotential altitude `h` (m).
///
/// T = Tb + L (h − hb); p = pb (Tb/T)^(g0 M/(R* L)) where L ≠ 0, else
/// p = pb exp(−g0 M (h − hb)/(R* Tb)); ρ = p M/(R* T). Below sea level the
/// troposphere formula continues; above [`ISA_TOP_M`] the last layer does
/// (the standard ends there; balloons do not get near it).
pub fn isa(h: f64) -> Air {
    isa_in_layer(h, isa_layer_of(h))
}

/// The formulas of ISA layer `layer` (see [`isa_layer_of`]) evaluated at
/// `h` whether or not `h` lies in it: the smooth continuation the integrator
/// uses inside a step that ends on a layer bound.
pub fn isa_in_layer(h: f64, layer: usize) -> Air {
    let (hb, tb, lapse, pb) = ISA_LAYERS[layer.min(ISA_LAYERS.len() - 1)];
    let t = tb + lapse * (h - hb);
    let p = if lapse == 0.0 {
        pb * (-GMR * (h - hb) / tb).exp()
    } else {
        pb * (tb / t).powf(GMR / lapse)
    };
    Air {
        temperature_k: t,
        pressure_pa: p,
        density_kg_m3: p * M_AIR / (R_STAR * t),
    }
}

/// The density scale height of the ISA at `h`: H = −ρ / (dρ/dh) = T / (g0 M/R*
/// + L), in metres (about 6.3 km in the lower stratosphere).
#[inline]
pub fn isa_density_scale_height(h: f64) -> f64 {
    isa_density_scale_height_in_layer(h, isa_layer_of(h))
}

/// [`isa_density_scale_height`] with the formulas of one layer.
#[inline]
pub fn isa_density_scale_height_in_layer(h: f64, layer: usize) -> f64 {
    let (hb, tb, lapse, _) = ISA_LAYERS[layer.min(ISA_LAYERS.len() - 1)];
    (tb + lapse * (h - hb)) / (GMR + lapse)
}

/// The geopotential altitude at which the ISA density equals `rho` (kg/m³),
/// solved in closed form layer by layer; `None` when `rho` is not finite or
/// lies outside the densities between sea level and [`ISA_TOP_M`].
pub fn isa_altitude_of_density(rho: f64) -> Option<f64> {
    if !rho.is_finite() || rho > isa(0.0).density_kg_m3 || rho < isa(ISA_TOP_M).density_kg_m3 {
        return None;
    }
    for (i, &(hb, tb, lapse, _)) in ISA_LAYERS.iter().enumerate() {
        let top = ISA_LAYERS.get(i + 1).map_or(ISA_TOP_M, |l| l.0);
        let rho_b = isa(hb).density_kg_m3;
        let rho_top = isa(top).density_kg_m3;
        if rho <= rho_b && rho >= rho_top {
            let h = if lapse == 0.0 {
                hb - tb / GMR * (rho / rho_b).ln()
            } else {
                // ρ/ρb = (T/Tb)^-(g0 M/(R* L) + 1)
                let t = tb * (rho / rho_b).powf(-1.0 / (GMR / lapse + 1.0));
                hb + (t - tb) / lapse
            };
            return Some(h.clamp(hb, top));
        }
    }
    None
}

/// Geopotential altitude (m) of a geometric altitude `z` (m), US 1976:
/// H = r0 z / (r0 + z) with r0 = 6,356,766 m.
pub fn geometric_to_geopotential(z: f64) -> f64 {
    R_GEOPOTENTIAL * z / (R_GEOPOTENTIAL + z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inv_sqrt_density_tables_match_the_formula() {
        let exact = |h: f64, layer: usize| 1.0 / nasa_glenn_in_layer(h, layer).density_kg_m3.sqrt();
        for (layer, from, to) in [
            (0, -500.0, 11_500.0),
            (1, 10_500.0, 25_500.0),
            (2, 24_500.0, 60_000.0),
        ] {
            let mut worst = 0.0f64;
            // Off the nodes (a prime step), on them, and at both ends.
            let mut h = from;
            while h <= to {
                let e = (nasa_glenn_inv_sqrt_density(h, layer) - exact(h, layer)).abs()
                    / exact(h, layer);
                worst = worst.max(e);
                h += 0.7919;
            }
            for h in [from, to, from + INV_SQRT_DENSITY_STEP_M, to - 1e-7] {
                let e = (nasa_glenn_inv_sqrt_density(h, layer) - exact(h, layer)).abs()
                    / exact(h, layer);
                worst = worst.max(e);
            }
            assert!(
                worst < 4e-9,
                "layer {layer}: worst relative error {worst:e}"
            );
        }
        // Outside the tables: the formula, exactly.
        for (h, layer) in [(-600.0, 0), (12_000.0, 0), (9_000.0, 1), (70_000.0, 2)] {
            assert_eq!(nasa_glenn_inv_sqrt_density(h, layer), exact(h, layer));
        }
    }
}
