//! Wind cubes: import, synthesis, memory-mapped reading, interpolation
//! (being written).
//!
//! The contract every wind source meets, used by the flight model:

/// Outside the data: the model must stop with an error, never extrapolate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutOfData {
    #[error("time {t} s is outside the forecast ({from} to {to} s since the Unix epoch)")]
    Time { t: f64, from: f64, to: f64 },
    #[error("{lat:.4} N {lon:.4} E is outside the wind data's region")]
    Region { lat: f64, lon: f64 },
    #[error("altitude {alt:.0} m is above the top level of the wind data ({top:.0} m there)")]
    Above { alt: f64, top: f64 },
}

/// Wind at a point: `u` eastward and `v` northward, in m/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wind {
    pub u: f64,
    pub v: f64,
}

/// A wind field over time and space.
pub trait WindField: Sync {
    /// Wind at time `t` (seconds since the Unix epoch, UTC), latitude and
    /// longitude in degrees (longitude in -180..360 as the source has it),
    /// and altitude in metres above sea level (geopotential).
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData>;
    /// Whether the field has a single valid time (winds held steady): every
    /// output must say so.
    fn steady(&self) -> bool {
        false
    }
}
