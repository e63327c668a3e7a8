//! Wind cubes: import, synthesis, memory-mapped reading, interpolation.
//!
//! * [`import()`] reads GRIB2 forecasts (GFS, GDAS, JMA MEPS; regular
//!   latitude/longitude grids) and builds a [`Cube`] of geopotential height,
//!   U and V on every isobaric level, cropped to a region.
//! * [`synth`] builds analytic cubes (uniform, shear, rotation, linear) for
//!   checking the numerics against exact solutions.
//! * [`Cube::open`] memory-maps a cube file (format in [`cube`]'s docs,
//!   checked by BLAKE3 on open); [`Cube`] implements [`WindField`] with
//!   Tawhiri's interpolation (documented on [`Cube`]).
//! * [`isa`]: the standard atmosphere.
//!
//! The contract every wind source meets, used by the flight model:

pub mod cube;
mod import;
pub mod isa;
pub mod synth;

pub use cube::{Cube, CubeMeta, FORMAT_VERSION, Grid, HeightSource, format_time};
pub use import::{ImportOptions, ImportReport, Region, Skipped, import, import_bytes};

/// Why wind data could not be imported, read or built. Every message is one
/// line naming the file (and message, byte offset) and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WindError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A GRIB2 message could not be read.
    #[error("{file}: GRIB message {message} at byte {offset}: {reason}")]
    Grib {
        file: String,
        message: usize,
        offset: u64,
        reason: String,
    },
    /// The forecast is readable but cannot make a cube (a missing variable
    /// or level, mixed grids, duplicated times, ...): the text names the
    /// messages concerned.
    #[error("{0}")]
    Import(String),
    /// A cube file is corrupt, truncated or of another version.
    #[error("{path}: {reason} (at byte {offset})")]
    Cube {
        path: String,
        offset: u64,
        reason: String,
    },
    /// Bad parameters or an inconsistent in-memory cube.
    #[error("{0}")]
    Invalid(String),
}

impl WindError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        WindError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Outside the data: the model must stop with an error, never extrapolate.
/// A Unix time for messages: `2011-01-15 12:00 UTC`, or the plain number
/// when it is not a finite, plausible time.
fn show_time(t: f64) -> String {
    if t.is_finite() && t.abs() < 1.0e12 {
        cube::format_time(t.floor() as i64)
    } else {
        format!("{t} s since the Unix epoch")
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutOfData {
    #[error(
        "time {} is outside the forecast ({} to {})",
        show_time(*t),
        show_time(*from),
        show_time(*to)
    )]
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

/// A lookup's memory between calls of [`WindField::wind_near`]: the level
/// bracket the last lookup found, and (for a [`Cube`]) the two levels'
/// values at the corners of its cell, already converted. Start each path
/// with `Hint::default()`.
#[derive(Debug, Clone)]
pub struct Hint {
    pub(crate) level: usize,
    /// The cube (its [`Cube`] id, never 0) and cell (its first corner's
    /// column) `corners` hold; cube 0 for none.
    pub(crate) cube: u64,
    pub(crate) cell: usize,
    /// The last lookup's grid row and column (lower nodes), and as f64.
    pub(crate) row: usize,
    pub(crate) row_f: f64,
    pub(crate) col: usize,
    pub(crate) col_f: f64,
    /// Height, U, V of levels `level` and `level + 1` at each corner.
    pub(crate) corners: [[f64; 6]; 8],
}

impl Default for Hint {
    fn default() -> Self {
        Hint {
            level: 0,
            cube: 0,
            cell: 0,
            row: 0,
            row_f: 0.0,
            col: 0,
            col_f: 0.0,
            corners: [[0.0; 6]; 8],
        }
    }
}

/// A wind field over time and space.
pub trait WindField: Sync {
    /// Wind at time `t` (seconds since the Unix epoch, UTC), latitude and
    /// longitude in degrees (longitude in -180..360 as the source has it),
    /// and altitude in metres above sea level (geopotential).
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData>;
    /// The same answer as [`WindField::wind`], for a caller that asks many
    /// times along one path (a trajectory): `hint` is where the previous
    /// lookup found its level bracket, kept by the caller. A field may start
    /// its search there; the answer never depends on the hint.
    #[inline]
    fn wind_near(
        &self,
        t: f64,
        lat: f64,
        lon: f64,
        alt: f64,
        hint: &mut Hint,
    ) -> Result<Wind, OutOfData> {
        let _ = hint;
        self.wind(t, lat, lon, alt)
    }
    /// Whether the field has a single valid time (winds held steady): every
    /// output must say so.
    fn steady(&self) -> bool {
        false
    }
}
