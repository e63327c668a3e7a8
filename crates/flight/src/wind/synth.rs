//! Analytic wind cubes, for checking the numerics against exact solutions.
//!
//! Every cube is built on a [`Spec`] (region, spacing, pressure levels,
//! valid times) with the standard atmosphere's height for each level (the
//! same everywhere and at every time) unless [`from_fn_with_heights`] is
//! used. The fields are affine in each coordinate, so the interpolator
//! reproduces them exactly (up to f32 storage) anywhere inside the cube:
//!
//! * [`uniform`]: `U = u`, `V = v`.
//! * [`shear`]: `U = u0 + du_dz·h`, `V = v0 + dv_dz·h` (`h` altitude, m).
//! * [`rotation`]: solid-body rotation at `omega` rad/s (positive
//!   anticlockwise) about (`lat_c`, `lon_c`) in the local plane
//!   `x = R·cos(lat_c)·Δλ`, `y = R·Δφ` (R = [`EARTH_RADIUS`]):
//!   `U = -ω·y`, `V = ω·x`. A trajectory integrated with that same metric
//!   (`dλ/dt = U/(R cos lat_c)`, `dφ/dt = V/R`) is a circle of period
//!   `2π/ω`; with the spherical metric (`cos lat`) it is one only near
//!   the centre.
//! * [`linear`]: any field affine in time, latitude, longitude and height.

use super::cube::{Cube, CubeMeta, Grid, HeightSource, NVAR};
use super::{WindError, isa};

/// Earth radius used by [`rotation`], m (the mean radius).
pub const EARTH_RADIUS: f64 = 6_371_000.0;

/// Where a synthetic cube lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub lat0: f64,
    pub lat1: f64,
    pub dlat: f64,
    pub lon0: f64,
    pub lon1: f64,
    pub dlon: f64,
    /// Pressure levels, hPa, any order (sorted highest pressure first).
    pub levels_hpa: Vec<f64>,
    /// Valid times, Unix seconds (sorted; one time makes a steady cube).
    pub times: Vec<i64>,
}

/// GFS's 0.25° levels up to 10 hPa (31 km).
pub const GFS_LEVELS: [f64; 31] = [
    1000.0, 975.0, 950.0, 925.0, 900.0, 850.0, 800.0, 750.0, 700.0, 650.0, 600.0, 550.0, 500.0,
    450.0, 400.0, 350.0, 300.0, 250.0, 200.0, 150.0, 100.0, 70.0, 50.0, 40.0, 30.0, 20.0, 15.0,
    10.0, 7.0, 5.0, 3.0,
];

impl Spec {
    /// Korea (31–45 N, 117–134 E) at 0.5°, GFS levels 1000–3 hPa, 3-hourly
    /// valid times from `start` (Unix seconds) for `hours` hours.
    pub fn korea(start: i64, hours: u32) -> Spec {
        Spec {
            lat0: 31.0,
            lat1: 45.0,
            dlat: 0.5,
            lon0: 117.0,
            lon1: 134.0,
            dlon: 0.5,
            levels_hpa: GFS_LEVELS.to_vec(),
            times: (0..=hours / 3)
                .map(|k| start + i64::from(k) * 3 * 3600)
                .collect(),
        }
    }

    fn grid(&self) -> Result<Grid, WindError> {
        let n = |a: f64, b: f64, d: f64, what: &str| -> Result<usize, WindError> {
            let steps = (b - a) / d;
            if !(steps.is_finite() && d > 0.0 && steps >= 1.0 - 1e-9)
                || (steps - steps.round()).abs() > 1e-6
            {
                return Err(WindError::Invalid(format!(
                    "synthetic {what} {a}..{b} by {d}: the span must be a positive whole number of steps"
                )));
            }
            Ok(steps.round() as usize + 1)
        };
        Ok(Grid {
            lat0: self.lat0,
            dlat: self.dlat,
            nlat: n(self.lat0, self.lat1, self.dlat, "latitudes")?,
            lon0: self.lon0,
            dlon: self.dlon,
            nlon: n(self.lon0, self.lon1, self.dlon, "longitudes")?,
        })
    }
}

/// A cube from any field: `wind(t, lat, lon, h) -> (u, v)` at every node,
/// with standard-atmosphere heights.
pub fn from_fn(
    spec: &Spec,
    source: &str,
    wind: impl Fn(f64, f64, f64, f64) -> (f64, f64),
) -> Result<Cube, WindError> {
    from_fn_with_heights(spec, source, |_, _, _, hpa| isa_height(hpa), wind)
}

fn isa_height(hpa: f64) -> f64 {
    isa::height_of_pressure(hpa).unwrap_or(f64::NAN)
}

/// A cube from any field and any heights: `height(t, lat, lon, hpa) -> m`
/// (must increase as pressure falls), `wind(t, lat, lon, h) -> (u, v)`.
/// Heights are recorded as from the data.
pub fn from_fn_with_heights(
    spec: &Spec,
    source: &str,
    height: impl Fn(f64, f64, f64, f64) -> f64,
    wind: impl Fn(f64, f64, f64, f64) -> (f64, f64),
) -> Result<Cube, WindError> {
    let grid = spec.grid()?;
    let mut levels = spec.levels_hpa.clone();
    levels.sort_by(|a, b| b.total_cmp(a));
    let mut times = spec.times.clone();
    times.sort_unstable();
    for l in &levels {
        if isa::height_of_pressure(*l).is_none() {
            return Err(WindError::Invalid(format!(
                "level {l} hPa is outside the standard atmosphere (1.2..1100 hPa)"
            )));
        }
    }
    let meta = CubeMeta {
        grid,
        height_source: vec![HeightSource::Data; levels.len()],
        levels_hpa: levels,
        run_time: times.first().copied().unwrap_or(0),
        times,
        source: format!("synthetic: {source}"),
    };
    // Check the header (duplicated times etc.) before allocating.
    meta.validate().map_err(WindError::Invalid)?;
    let mut values = vec![0f32; meta.value_count()];
    for (ti, &t) in meta.times.iter().enumerate() {
        for j in 0..grid.nlat {
            for i in 0..grid.nlon {
                for (k, &p) in meta.levels_hpa.iter().enumerate() {
                    let (lat, lon) = (grid.lat(j), grid.lon(i));
                    let h = height(t as f64, lat, lon, p);
                    let (u, v) = wind(t as f64, lat, lon, h);
                    let at = meta.index(ti, k, j, i, 0);
                    values[at] = h as f32;
                    values[at + 1] = u as f32;
                    values[at + 2] = v as f32;
                }
            }
        }
    }
    debug_assert_eq!(NVAR, 3);
    Cube::from_parts(meta, values)
}

/// `U = u`, `V = v` everywhere.
pub fn uniform(spec: &Spec, u: f64, v: f64) -> Result<Cube, WindError> {
    from_fn(spec, &format!("uniform u={u} v={v} m/s"), |_, _, _, _| {
        (u, v)
    })
}

/// `U = u0 + du_dz·h`, `V = v0 + dv_dz·h`, with `h` the altitude in m
/// (exact between the lowest and the top level's heights).
pub fn shear(spec: &Spec, u0: f64, v0: f64, du_dz: f64, dv_dz: f64) -> Result<Cube, WindError> {
    from_fn(
        spec,
        &format!("shear u={u0}+{du_dz}*h v={v0}+{dv_dz}*h m/s"),
        |_, _, _, h| (u0 + du_dz * h, v0 + dv_dz * h),
    )
}

/// Solid-body rotation about (`lat_c`, `lon_c`) at `omega` rad/s (positive
/// anticlockwise, seen from above); see the module docs for the metric.
pub fn rotation(spec: &Spec, lat_c: f64, lon_c: f64, omega: f64) -> Result<Cube, WindError> {
    let k = std::f64::consts::PI / 180.0 * EARTH_RADIUS;
    let coslat = lat_c.to_radians().cos();
    from_fn(
        spec,
        &format!("rotation about {lat_c} N {lon_c} E at {omega} rad/s"),
        move |_, lat, lon, _| {
            let x = k * coslat * (lon - lon_c);
            let y = k * (lat - lat_c);
            (-omega * y, omega * x)
        },
    )
}

/// Coefficients of a field affine in every coordinate:
/// `X = c[0] + c[1]·(t - t_ref) + c[2]·lat + c[3]·lon + c[4]·h`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    pub t_ref: i64,
    pub u: [f64; 5],
    pub v: [f64; 5],
}

impl Linear {
    /// The exact value at a point.
    pub fn at(&self, t: f64, lat: f64, lon: f64, h: f64) -> (f64, f64) {
        let f = |c: &[f64; 5]| {
            c[0] + c[1] * (t - self.t_ref as f64) + c[2] * lat + c[3] * lon + c[4] * h
        };
        (f(&self.u), f(&self.v))
    }
}

/// A field affine in time, latitude, longitude and height.
pub fn linear(spec: &Spec, c: Linear) -> Result<Cube, WindError> {
    from_fn(spec, &format!("linear {c:?}"), move |t, lat, lon, h| {
        c.at(t, lat, lon, h)
    })
}
