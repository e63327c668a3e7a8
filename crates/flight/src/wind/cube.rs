//! The wind cube: its in-memory and on-disk forms and the interpolator.
//!
//! # File format, version 1 (all numbers little-endian)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `BARAMWND` |
//! | 8 | 4 | version, u32 = 1 |
//! | 12 | 4 | header length H, u32 (a multiple of 64; the payload starts there) |
//! | 16 | 8 | payload length P in bytes, u64 |
//! | 24 | 8 | lat0 (southernmost row, degrees), f64 |
//! | 32 | 8 | dlat (> 0), f64 |
//! | 40 | 4 | nlat, u32 |
//! | 44 | 4 | nlon, u32 |
//! | 48 | 8 | lon0 (westernmost column, degrees, as the source has it), f64 |
//! | 56 | 8 | dlon (> 0), f64 |
//! | 64 | 8 | run time (reference time of the forecast), Unix seconds, i64 |
//! | 72 | 4 | nlev, u32 |
//! | 76 | 4 | ntime, u32 |
//! | 80 | 4 | source length S, u32 |
//! | 84 | 4 | flags, u32: bit 0 one valid time (steady), bit 1 some heights from the standard atmosphere |
//! | 88 | 8·nlev | levels, hPa, f64, highest pressure (lowest altitude) first |
//! | … | nlev | height source per level, u8: 0 geopotential height from the data, 1 standard atmosphere |
//! | … | 8·ntime | valid times, Unix seconds, i64, strictly increasing |
//! | … | S | source, UTF-8: input file names only (never paths), centre |
//! | … | to H | zero padding |
//! | H | P | values, f32 |
//! | H+P | 32 | BLAKE3 of every byte before it |
//!
//! Values are laid out `[time][lat][lon][level][var]` with `var` 0 =
//! geopotential height (m), 1 = U (m/s, eastward), 2 = V (m/s, northward):
//! one grid column (every level of every variable) is contiguous, so the
//! interpolator's 8 corners are 8 short contiguous reads and its search
//! through the levels stays inside them.

use super::{Hint, OutOfData, Wind, WindError, WindField};
use memmap2::Mmap;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

#[cfg(not(target_endian = "little"))]
compile_error!(
    "wind cubes are memory-mapped as little-endian f32: big-endian targets are not supported"
);

/// File magic.
pub const MAGIC: &[u8; 8] = b"BARAMWND";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Variables per level, in this order: height, U, V.
pub const NVAR: usize = 3;
const FIXED_HEADER: usize = 88;
const FLAG_STEADY: u32 = 1;
const FLAG_STD_ATMOSPHERE: u32 = 2;
/// Largest cube accepted (values), 2^32 f32 = 16 GiB.
const MAX_VALUES: u64 = 1 << 32;

/// A regular latitude/longitude grid, both axes ascending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Grid {
    /// Latitude of the southernmost row, degrees.
    pub lat0: f64,
    /// Row spacing, degrees (> 0).
    pub dlat: f64,
    pub nlat: usize,
    /// Longitude of the westernmost column, degrees (-180..360, as the source).
    pub lon0: f64,
    /// Column spacing, degrees (> 0).
    pub dlon: f64,
    pub nlon: usize,
}

impl Grid {
    /// Latitude of row `j`.
    pub fn lat(&self, j: usize) -> f64 {
        self.lat0 + j as f64 * self.dlat
    }
    /// Longitude of column `i`.
    pub fn lon(&self, i: usize) -> f64 {
        self.lon0 + i as f64 * self.dlon
    }
    /// Latitude of the northernmost row.
    pub fn lat_last(&self) -> f64 {
        self.lat(self.nlat.saturating_sub(1))
    }
    /// Longitude of the easternmost column.
    pub fn lon_last(&self) -> f64 {
        self.lon(self.nlon.saturating_sub(1))
    }
}

/// Where a level's geopotential heights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeightSource {
    /// The forecast's own geopotential height field.
    Data,
    /// The standard atmosphere (one height for the whole level): the
    /// forecast had winds but no height there.
    StandardAtmosphere,
}

/// Everything in a cube's header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CubeMeta {
    pub grid: Grid,
    /// Pressure levels, hPa, strictly decreasing (lowest altitude first).
    pub levels_hpa: Vec<f64>,
    /// One per level.
    pub height_source: Vec<HeightSource>,
    /// Valid times, Unix seconds, strictly increasing. One time: steady winds.
    pub times: Vec<i64>,
    /// Input file names (never paths) and producing centre, or the synthetic
    /// field's description.
    pub source: String,
    /// Reference (run) time of the forecast, Unix seconds.
    pub run_time: i64,
}

impl CubeMeta {
    /// Whether winds are held steady in time (a single valid time).
    pub fn steady(&self) -> bool {
        self.times.len() == 1
    }

    /// Levels whose heights come from the standard atmosphere.
    pub fn std_atmosphere_levels(&self) -> Vec<f64> {
        self.levels_hpa
            .iter()
            .zip(&self.height_source)
            .filter(|(_, s)| **s == HeightSource::StandardAtmosphere)
            .map(|(l, _)| *l)
            .collect()
    }

    /// Number of f32 values the payload holds.
    pub fn value_count(&self) -> usize {
        self.times.len() * self.grid.nlat * self.grid.nlon * self.levels_hpa.len() * NVAR
    }

    /// Index of variable `var` at time `t`, row `j`, column `i`, level `k`.
    pub fn index(&self, t: usize, k: usize, j: usize, i: usize, var: usize) -> usize {
        let g = &self.grid;
        (((t * g.nlat + j) * g.nlon + i) * self.levels_hpa.len() + k) * NVAR + var
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let g = &self.grid;
        let finite = [g.lat0, g.dlat, g.lon0, g.dlon]
            .iter()
            .all(|x| x.is_finite());
        if !finite || g.dlat <= 0.0 || g.dlon <= 0.0 {
            return Err(format!(
                "bad grid (lat0 {}, dlat {}, lon0 {}, dlon {}): spacings must be finite and positive",
                g.lat0, g.dlat, g.lon0, g.dlon
            ));
        }
        if g.nlat < 2 || g.nlon < 2 {
            return Err(format!(
                "grid of {}x{} points: at least 2x2 are needed to interpolate",
                g.nlat, g.nlon
            ));
        }
        if g.nlat > i32::MAX as usize || g.nlon > i32::MAX as usize {
            return Err(format!(
                "grid of {}x{} points: at most 2^31-1 on a side",
                g.nlat, g.nlon
            ));
        }
        if g.lat0 < -90.0 - 1e-9 || g.lat_last() > 90.0 + 1e-6 {
            return Err(format!(
                "latitudes {}..{} are outside -90..90",
                g.lat0,
                g.lat_last()
            ));
        }
        if g.lon0 < -180.0 - 1e-9 || g.lon_last() > 360.0 + 1e-6 || g.lon_last() - g.lon0 > 360.0 {
            return Err(format!(
                "longitudes {}..{} are outside -180..360",
                g.lon0,
                g.lon_last()
            ));
        }
        let n = self.levels_hpa.len();
        if n < 2 {
            return Err(format!(
                "{n} pressure level(s): at least 2 are needed to interpolate in height"
            ));
        }
        if self.height_source.len() != n {
            return Err(format!(
                "{} height sources for {n} levels",
                self.height_source.len()
            ));
        }
        for w in self.levels_hpa.windows(2) {
            if !(w[0].is_finite() && w[1].is_finite() && w[1] > 0.0 && w[0] > w[1]) {
                return Err(format!(
                    "levels must be positive and strictly decreasing in pressure ({} hPa then {} hPa)",
                    w[0], w[1]
                ));
            }
        }
        if self.times.is_empty() {
            return Err("no valid times".into());
        }
        for w in self.times.windows(2) {
            if w[1] == w[0] {
                return Err(format!("duplicated valid time {}", format_time(w[0])));
            }
            if w[1] < w[0] {
                return Err(format!(
                    "valid times out of order ({} then {})",
                    format_time(w[0]),
                    format_time(w[1])
                ));
            }
        }
        let count = (self.times.len() as u64)
            .checked_mul(g.nlat as u64)
            .and_then(|x| x.checked_mul(g.nlon as u64))
            .and_then(|x| x.checked_mul(n as u64))
            .and_then(|x| x.checked_mul(NVAR as u64));
        if count.is_none_or(|c| c > MAX_VALUES) {
            return Err("cube too large (more than 2^32 values)".into());
        }
        if self.source.len() > u32::MAX as usize {
            return Err("source string too long".into());
        }
        Ok(())
    }
}

/// `YYYY-MM-DD HH:MM UTC` of Unix seconds `t`.
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

enum Store {
    Owned(Vec<f32>),
    Mapped { map: Mmap, start: usize, len: usize },
}

/// A wind cube: geopotential height, U and V on pressure levels over a
/// regular grid and a set of valid times. Implements [`WindField`].
///
/// # Interpolation (as Tawhiri's `interpolate.pyx`, with these differences)
///
/// What Tawhiri does, read from its source (`get_wind`, `pick3`, `search`,
/// `interp3`, `interp4`):
///
/// 1. The 8 corners around the point in (time, lat, lon) are picked, each
///    with its trilinear weight (`pick3`).
/// 2. The geopotential height of each level is interpolated trilinearly at
///    the point from those 8 corners (`interp3` on the height variable).
///    Note that Tawhiri does **not** search levels per corner: it searches
///    once, on these interpolated heights.
/// 3. A binary search (`search`) finds the largest level index `k` (the
///    topmost level excluded) whose interpolated height is below the
///    altitude.
/// 4. `lerp = (H[k+1] - alt) / (H[k+1] - H[k])` (0.5 if the two are equal);
///    U and V are interpolated trilinearly at levels `k` and `k+1` and
///    blended: `X = X[k]·lerp + X[k+1]·(1-lerp)`.
///
/// This implementation does exactly that, except:
///
/// * **Above the top level** (altitude above the interpolated top height)
///   it returns [`OutOfData::Above`]; Tawhiri extrapolates and counts a
///   warning.
/// * **Below the lowest level** it holds the lowest level's wind (no
///   extrapolation); Tawhiri extrapolates linearly (`lerp > 1`). A launch
///   site below the 1000 hPa surface (or below 975 hPa for JMA MEPS) thus
///   gets the lowest level's wind.
/// * **Time, latitude, longitude** outside the data are errors
///   ([`OutOfData::Time`], [`OutOfData::Region`]) as in Tawhiri, but the
///   last time, row and column are included (Tawhiri's `pick` refuses a
///   value exactly on the last node). Times need not be evenly spaced (the
///   bracketing pair is found by binary search). Longitudes do not wrap
///   around 0/360: a query is tried as given and shifted by ±360°.
/// * **One valid time**: winds are held steady; any time is accepted and
///   [`WindField::steady`] says so.
/// * Values are stored as f32 (Tawhiri's are f32 too); arithmetic is f64.
pub struct Cube {
    meta: CubeMeta,
    store: Store,
    /// Lowest top-level height and highest bottom-level height over every
    /// column: an altitude strictly between them is inside every column, so
    /// a lookup there needs neither end check (a speed-up only; answers are
    /// the same).
    min_top: f64,
    max_bottom: f64,
    /// The grid's axes with their conversions done once (usize to f64 is
    /// not free, and every lookup needs them).
    lat_axis: Axis,
    lon_axis: Axis,
    /// Unique among the cubes of this process (from 1): what a [`Hint`]
    /// names its cached corners by.
    id: u64,
}

fn next_cube_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One grid axis: nodes at `x0 + i·dx` for i in 0..n.
#[derive(Debug, Clone, Copy)]
struct Axis {
    x0: f64,
    /// 1/dx: a lookup multiplies (a division is ~13 cycles on the path
    /// each RK4 stage waits on).
    inv_dx: f64,
    n: usize,
    /// (n − 1) as f64.
    top: f64,
    /// The last node, as `Grid::lat_last`/`lon_last` give it.
    last: f64,
}

impl Axis {
    fn new(x0: f64, dx: f64, n: usize, last: f64) -> Axis {
        Axis {
            x0,
            inv_dx: 1.0 / dx,
            n,
            top: (n - 1) as f64,
            last,
        }
    }

    fn lat(g: &Grid) -> Axis {
        Axis::new(g.lat0, g.dlat, g.nlat, g.lat_last())
    }

    fn lon(g: &Grid) -> Axis {
        Axis::new(g.lon0, g.dlon, g.nlon, g.lon_last())
    }

    /// Splits `x` into (lower index, weight of the upper node), or `None`
    /// outside (a rounding slack of 1e-9 grid steps is allowed at both
    /// ends).
    #[inline]
    fn pick(&self, x: f64) -> Option<(usize, f64)> {
        let a = (x - self.x0) * self.inv_dx;
        if !(a >= -1e-9 && a <= self.top + 1e-9) {
            return None;
        }
        // Clamped into [0, n − 1] (`a` is not NaN here).
        let a = a.max(0.0).min(self.top);
        // The lower node: floor(a), but n − 2 on the last interval. `a` is
        // not negative, so truncation is the floor (no libm call on x86-64
        // without SSE4.1); sides are at most 2^31 − 1 nodes (checked on
        // open), so the cast through i32 is exact, and so are the i32 and
        // (n − 2) to f64 conversions.
        let (b, bf) = if a >= self.top - 1.0 {
            (self.n - 2, self.top - 1.0)
        } else {
            let b = a as i32;
            (b as usize, b as f64)
        };
        Some((b, a - bf))
    }

    /// [`Axis::pick`], trying the interval [`near`, `near` + 1] first (the
    /// last lookup's; `near_f` is `near` as f64): when `x` is in it the
    /// answer is `pick`'s, found without the float-integer round trip each
    /// RK4 stage would otherwise wait on (the test is a predicted branch).
    /// Any `near` gives `pick`'s answer.
    #[inline]
    fn pick_near(&self, x: f64, near: usize, near_f: f64) -> Option<(usize, f64)> {
        let a = (x - self.x0) * self.inv_dx;
        // near_f >= 0, so a >= 0 and the clamp is idle; on the last
        // interval `pick` takes n − 2 up to the last node itself.
        if near + 2 <= self.n
            && a >= near_f
            && (a < near_f + 1.0 || (near == self.n - 2 && a <= self.top))
        {
            return Some((near, a - near_f));
        }
        self.pick(x)
    }
}

/// (lowest top-level height, highest bottom-level height) over all columns.
fn column_bounds(nlev: usize, values: &[f32]) -> (f64, f64) {
    let mut min_top = f64::INFINITY;
    let mut max_bottom = f64::NEG_INFINITY;
    for col in values.chunks_exact(nlev * NVAR) {
        min_top = min_top.min(col[(nlev - 1) * NVAR] as f64);
        max_bottom = max_bottom.max(col[0] as f64);
    }
    (min_top, max_bottom)
}

impl std::fmt::Debug for Cube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cube").field("meta", &self.meta).finish()
    }
}

impl Cube {
    /// Builds a cube in memory from its header and values laid out
    /// `[time][lat][lon][level][var]` (see [`CubeMeta::index`]). Checks
    /// everything a file open checks: the header, the value count, finite
    /// values, and heights strictly increasing with level in every column.
    pub fn from_parts(meta: CubeMeta, values: Vec<f32>) -> Result<Cube, WindError> {
        meta.validate().map_err(WindError::Invalid)?;
        check_values(&meta, &values).map_err(WindError::Invalid)?;
        let (min_top, max_bottom) = column_bounds(meta.levels_hpa.len(), &values);
        let (lat_axis, lon_axis) = (Axis::lat(&meta.grid), Axis::lon(&meta.grid));
        Ok(Cube {
            meta,
            store: Store::Owned(values),
            min_top,
            max_bottom,
            lat_axis,
            lon_axis,
            id: next_cube_id(),
        })
    }

    /// Opens a cube file, memory-mapped. The whole file is checked first
    /// (BLAKE3 checksum, header, values): a corrupt or truncated cube is
    /// refused with an error naming the file and the offset.
    ///
    /// The file must not be changed while the cube is open (it is mapped).
    pub fn open(path: &Path) -> Result<Cube, WindError> {
        let file = std::fs::File::open(path).map_err(|e| WindError::io(path, e))?;
        // SAFETY: the mapping is read-only and private to this process; the
        // file is baram's own output, which nothing rewrites in place (it is
        // always written to a temporary and renamed). Changing it while open
        // is documented as not allowed.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| WindError::io(path, e))?;
        let (meta, start, len) = parse(&map).map_err(|(offset, reason)| WindError::Cube {
            path: path.display().to_string(),
            offset,
            reason,
        })?;
        let (lat_axis, lon_axis) = (Axis::lat(&meta.grid), Axis::lon(&meta.grid));
        let mut cube = Cube {
            meta,
            store: Store::Mapped { map, start, len },
            min_top: f64::NEG_INFINITY,
            lat_axis,
            lon_axis,
            id: next_cube_id(),
            max_bottom: f64::INFINITY,
        };
        // Page-aligned mapping + header padded to 64: always aligned.
        let (pre, _, _) = unsafe { cube.raw_bytes().align_to::<f32>() };
        if !pre.is_empty() {
            return Err(WindError::Cube {
                path: path.display().to_string(),
                offset: start as u64,
                reason: "payload not aligned for f32".into(),
            });
        }
        (cube.min_top, cube.max_bottom) = column_bounds(cube.meta.levels_hpa.len(), cube.values());
        Ok(cube)
    }

    /// Reads a cube from bytes (copying the values); the same checks as
    /// [`Cube::open`]. `name` is used in errors.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Cube, WindError> {
        let (meta, start, len) = parse(bytes).map_err(|(offset, reason)| WindError::Cube {
            path: name.to_string(),
            offset,
            reason,
        })?;
        let values = bytes[start..start + len * 4]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<f32>>();
        let (min_top, max_bottom) = column_bounds(meta.levels_hpa.len(), &values);
        let (lat_axis, lon_axis) = (Axis::lat(&meta.grid), Axis::lon(&meta.grid));
        Ok(Cube {
            meta,
            store: Store::Owned(values),
            min_top,
            max_bottom,
            lat_axis,
            lon_axis,
            id: next_cube_id(),
        })
    }

    /// The header.
    pub fn meta(&self) -> &CubeMeta {
        &self.meta
    }

    #[inline]
    fn raw_bytes(&self) -> &[u8] {
        match &self.store {
            Store::Owned(v) => {
                // SAFETY: f32 has no padding or invalid bit patterns as bytes.
                unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len() * 4) }
            }
            Store::Mapped { map, start, len } => &map[*start..*start + *len * 4],
        }
    }

    /// All values, `[time][lat][lon][level][var]`.
    #[inline]
    pub fn values(&self) -> &[f32] {
        match &self.store {
            Store::Owned(v) => v,
            Store::Mapped { .. } => {
                // SAFETY: every bit pattern is a valid f32; alignment was
                // checked at open (the prefix is empty), the target is
                // little-endian (compile-time check above).
                let (_, mid, _) = unsafe { self.raw_bytes().align_to::<f32>() };
                mid
            }
        }
    }

    /// `[height m, U m/s, V m/s]` at time index `t`, level `k`, row `j`,
    /// column `i` (grid node values, no interpolation).
    pub fn node(&self, t: usize, k: usize, j: usize, i: usize) -> [f32; 3] {
        let at = self.meta.index(t, k, j, i, 0);
        let v = self.values();
        [v[at], v[at + 1], v[at + 2]]
    }

    /// Writes the cube to `path` (through a temporary file in the same
    /// folder, fsynced and renamed). Returns the bytes written.
    pub fn write(&self, path: &Path) -> Result<u64, WindError> {
        let header = encode_header(&self.meta);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| WindError::Invalid(format!("{}: not a file name", path.display())))?;
        let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
        let result = (|| -> std::io::Result<u64> {
            let f = std::fs::File::create(&tmp)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            let mut hasher = blake3::Hasher::new();
            w.write_all(&header)?;
            hasher.update(&header);
            let raw = self.raw_bytes();
            for chunk in raw.chunks(1 << 20) {
                w.write_all(chunk)?;
                hasher.update(chunk);
            }
            w.write_all(hasher.finalize().as_bytes())?;
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, path)?;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok((header.len() + raw.len() + 32) as u64)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            WindError::io(path, e)
        })
    }

    /// Serialises the whole cube file into memory (as [`Cube::write`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = encode_header(&self.meta);
        out.extend_from_slice(self.raw_bytes());
        let hash = blake3::hash(&out);
        out.extend_from_slice(hash.as_bytes());
        out
    }

    /// Tawhiri's vertical interpolation over the `N` corner columns
    /// `bases` (column indices) with weights `weights`: the heights of each
    /// level are interpolated at the point, the level pair bracketing `alt`
    /// is found (the largest k in 0..=nlev-2 with H[k] < alt), and U and V
    /// blended linearly in height between the pair.
    ///
    /// The search starts from `hint` and walks to the bracket. Heights
    /// rise strictly in every column (checked on open), so the interpolated
    /// H[k] never falls with k (weights are not negative and rounding is
    /// monotone): the bracket is unique, whatever the start, and each H[k]
    /// is the same sum in the same order whichever path computes it. The
    /// answer is therefore the same as a binary search's, bit for bit.
    #[inline]
    fn blend<const N: usize>(
        &self,
        bases: [usize; N],
        weights: [f64; N],
        (wy, wx): (f64, f64),
        alt: f64,
        hint: &mut Hint,
    ) -> Result<Wind, OutOfData> {
        let nlev = self.meta.levels_hpa.len();
        let col = nlev * NVAR;
        let v = self.values();
        let starts: [usize; N] = bases.map(|b| b * col);
        // Height, U and V of levels k and k + 1 at each corner: the six
        // values of a corner are adjacent in its column.
        // With one time (four corners) they are kept in bilinear form, A +
        // B·wx + C·wy + D·wx·wy (A = X00, B = X01 − X00, C = X10 − X00,
        // D = X11 − X10 − X01 + X00): fewer operations, and a shorter chain,
        // than weighting each corner. Both ways are exact bilinear
        // interpolation up to rounding.
        let load = |k: usize, out: &mut [[f64; 2 * NVAR]; 8]| {
            for c in 0..N {
                let at = starts[c] + k * NVAR;
                let x: &[f32; 2 * NVAR] = v[at..at + 2 * NVAR].try_into().expect("inside the cube");
                out[c] = x.map(f64::from);
            }
            if N == 4 {
                let [x00, x01, x10, x11] = [out[0], out[1], out[2], out[3]];
                for q in 0..2 * NVAR {
                    out[1][q] = x01[q] - x00[q];
                    out[2][q] = x10[q] - x00[q];
                    out[3][q] = (x11[q] - x10[q]) - (x01[q] - x00[q]);
                }
            }
        };
        // Those values at the point.
        let combine = |corners: &[[f64; 2 * NVAR]; 8]| -> [f64; 2 * NVAR] {
            if N == 4 {
                let [a, b, c, d] = [&corners[0], &corners[1], &corners[2], &corners[3]];
                return std::array::from_fn(|q| (a[q] + b[q] * wx) + (c[q] + d[q] * wx) * wy);
            }
            let mut acc = [0.0f64; 2 * NVAR];
            for c in 0..N {
                for q in 0..2 * NVAR {
                    acc[q] += corners[c][q] * weights[c];
                }
            }
            acc
        };
        let height = |k: usize| -> f64 {
            let mut s = 0.0;
            for c in 0..N {
                s += v[starts[c] + k * NVAR] as f64 * weights[c];
            }
            s
        };
        // The end checks, skipped where no column can need them.
        if alt >= self.min_top {
            let top = height(nlev - 1);
            if alt > top {
                return Err(OutOfData::Above { alt, top });
            }
        }
        if alt <= self.max_bottom && alt <= height(0) {
            let mut c = [[0.0; 2 * NVAR]; 8];
            load(0, &mut c);
            let p = combine(&c);
            return Ok(Wind { u: p[1], v: p[2] });
        }
        // Here H[0] < alt. Walk from the hint to the bracket: down while
        // H[lo] >= alt, up while H[lo + 1] < alt (and lo + 1 <= nlev - 2).
        // At lo = 0 the walk stops, as the binary search would. The hint's
        // corner values serve while the cell and bracket stay the same
        // (they are the same f64 values a load gives, so the sums are too).
        let mut lo = hint.level.min(nlev - 2);
        if hint.cube != self.id || hint.cell != bases[0] || hint.level != lo {
            load(lo, &mut hint.corners);
            hint.cube = self.id;
            hint.cell = bases[0];
        }

        let p = loop {
            let p = combine(&hint.corners);
            if p[0] >= alt && lo > 0 {
                lo -= 1;
            } else if p[NVAR] < alt && lo + 1 < nlev - 1 {
                lo += 1;
            } else {
                break p;
            }
            load(lo, &mut hint.corners);
        };
        hint.level = lo;
        let (lower, upper) = (p[0], p[NVAR]);
        // Tawhiri's u_lo·λ + u_hi·(1 − λ), λ = (upper − alt)/(upper −
        // lower), with the one division last: the numerators and the
        // denominator are formed side by side.
        if lower != upper {
            let (a, b) = (upper - alt, alt - lower);
            let d = 1.0 / (upper - lower);
            Ok(Wind {
                u: (p[1] * a + p[NVAR + 1] * b) * d,
                v: (p[2] * a + p[NVAR + 2] * b) * d,
            })
        } else {
            Ok(Wind {
                u: (p[1] + p[NVAR + 1]) * 0.5,
                v: (p[2] + p[NVAR + 2]) * 0.5,
            })
        }
    }

    #[inline]
    fn locate_lon(&self, lon: f64) -> Option<f64> {
        let a = &self.lon_axis;
        let inside = |l: f64| l >= a.x0 - 1e-9 && l <= a.last + 1e-9;
        [lon, lon + 360.0, lon - 360.0]
            .into_iter()
            .find(|&l| inside(l))
    }
}

impl WindField for Cube {
    #[inline]
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        self.wind_near(t, lat, lon, alt, &mut Hint::default())
    }

    #[inline]
    fn wind_near(
        &self,
        t: f64,
        lat: f64,
        lon: f64,
        alt: f64,
        hint: &mut Hint,
    ) -> Result<Wind, OutOfData> {
        let m = &self.meta;
        let g = &m.grid;
        // Time.
        let (t0, wt) = if m.times.len() == 1 {
            if t.is_nan() {
                return Err(OutOfData::Time {
                    t,
                    from: m.times[0] as f64,
                    to: m.times[0] as f64,
                });
            }
            (0, 0.0)
        } else {
            let first = m.times[0] as f64;
            let last = *m.times.last().expect("times") as f64;
            if !(t >= first && t <= last) {
                return Err(OutOfData::Time {
                    t,
                    from: first,
                    to: last,
                });
            }
            let k = m.times.partition_point(|&x| (x as f64) <= t);
            let i = k.saturating_sub(1).min(m.times.len() - 2);
            let (a, b) = (m.times[i] as f64, m.times[i + 1] as f64);
            (i, (t - a) / (b - a))
        };
        let region = || OutOfData::Region { lat, lon };
        let (j0, wy) = self
            .lat_axis
            .pick_near(lat, hint.row, hint.row_f)
            .ok_or_else(region)?;
        let lon_in = self.locate_lon(lon).ok_or_else(region)?;
        let (i0, wx) = self
            .lon_axis
            .pick_near(lon_in, hint.col, hint.col_f)
            .ok_or_else(region)?;
        if (j0, i0) != (hint.row, hint.col) {
            (hint.row, hint.row_f) = (j0, j0 as f64);
            (hint.col, hint.col_f) = (i0, i0 as f64);
        }
        if !alt.is_finite() {
            return Err(OutOfData::Above { alt, top: f64::NAN });
        }
        // The corners: the columns around the point and their weights, in
        // the order (time, row, column).
        let corner =
            |dt: usize, dj: usize, di: usize| ((t0 + dt) * g.nlat + j0 + dj) * g.nlon + i0 + di;
        let (wy0, wx0) = (1.0 - wy, 1.0 - wx);
        if m.times.len() == 1 {
            let bases = [
                corner(0, 0, 0),
                corner(0, 0, 1),
                corner(0, 1, 0),
                corner(0, 1, 1),
            ];
            let weights = [wy0 * wx0, wy0 * wx, wy * wx0, wy * wx];
            self.blend(bases, weights, (wy, wx), alt, hint)
        } else {
            let wt0 = 1.0 - wt;
            let mut bases = [0; 8];
            let mut weights = [0.0; 8];
            for (n, (dt, w_t)) in [(0, wt0), (1, wt)].into_iter().enumerate() {
                for (dj, w_y) in [(0, wy0), (1, wy)] {
                    for (di, w_x) in [(0, wx0), (1, wx)] {
                        let c = n * 4 + dj * 2 + di;
                        bases[c] = corner(dt, dj, di);
                        weights[c] = w_t * w_y * w_x;
                    }
                }
            }
            self.blend(bases, weights, (wy, wx), alt, hint)
        }
    }

    fn steady(&self) -> bool {
        self.meta.steady()
    }
}

fn check_values(meta: &CubeMeta, values: &[f32]) -> Result<(), String> {
    if values.len() != meta.value_count() {
        return Err(format!(
            "{} values for a cube of {} ({} times x {} levels x {} x {} points x 3)",
            values.len(),
            meta.value_count(),
            meta.times.len(),
            meta.levels_hpa.len(),
            meta.grid.nlat,
            meta.grid.nlon
        ));
    }
    let nlev = meta.levels_hpa.len();
    for (c, column) in values.chunks_exact(nlev * NVAR).enumerate() {
        let mut prev = f32::NEG_INFINITY;
        for (k, x) in column.chunks_exact(NVAR).enumerate() {
            if !(x[0].is_finite() && x[1].is_finite() && x[2].is_finite()) || x[0] <= prev {
                let g = &meta.grid;
                let i = c % g.nlon;
                let j = (c / g.nlon) % g.nlat;
                let t = c / (g.nlon * g.nlat);
                let what = if x[0] <= prev && x[0].is_finite() {
                    format!("height {} m is not above the level below ({prev} m)", x[0])
                } else {
                    format!("non-finite value (height {}, U {}, V {})", x[0], x[1], x[2])
                };
                return Err(format!(
                    "{what} at {} hPa, {:.4} N {:.4} E, {}",
                    meta.levels_hpa[k],
                    g.lat(j),
                    g.lon(i),
                    format_time(meta.times[t])
                ));
            }
            prev = x[0];
        }
    }
    Ok(())
}

fn encode_header(m: &CubeMeta) -> Vec<u8> {
    let g = &m.grid;
    let mut h = Vec::with_capacity(256);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // header length, patched below
    h.extend_from_slice(&((m.value_count() * 4) as u64).to_le_bytes());
    h.extend_from_slice(&g.lat0.to_le_bytes());
    h.extend_from_slice(&g.dlat.to_le_bytes());
    h.extend_from_slice(&(g.nlat as u32).to_le_bytes());
    h.extend_from_slice(&(g.nlon as u32).to_le_bytes());
    h.extend_from_slice(&g.lon0.to_le_bytes());
    h.extend_from_slice(&g.dlon.to_le_bytes());
    h.extend_from_slice(&m.run_time.to_le_bytes());
    h.extend_from_slice(&(m.levels_hpa.len() as u32).to_le_bytes());
    h.extend_from_slice(&(m.times.len() as u32).to_le_bytes());
    h.extend_from_slice(&(m.source.len() as u32).to_le_bytes());
    let mut flags = 0;
    if m.steady() {
        flags |= FLAG_STEADY;
    }
    if m.height_source.contains(&HeightSource::StandardAtmosphere) {
        flags |= FLAG_STD_ATMOSPHERE;
    }
    h.extend_from_slice(&flags.to_le_bytes());
    debug_assert_eq!(h.len(), FIXED_HEADER);
    for l in &m.levels_hpa {
        h.extend_from_slice(&l.to_le_bytes());
    }
    for s in &m.height_source {
        h.push(match s {
            HeightSource::Data => 0,
            HeightSource::StandardAtmosphere => 1,
        });
    }
    for t in &m.times {
        h.extend_from_slice(&t.to_le_bytes());
    }
    h.extend_from_slice(m.source.as_bytes());
    h.resize(h.len().div_ceil(64) * 64, 0);
    let len = h.len() as u32;
    h[12..16].copy_from_slice(&len.to_le_bytes());
    h
}

/// Reads and checks a cube file's bytes: (header, payload start, value
/// count), or (offset, reason).
fn parse(b: &[u8]) -> Result<(CubeMeta, usize, usize), (u64, String)> {
    let need = |at: usize, n: usize, what: &str| -> Result<(), (u64, String)> {
        if at.checked_add(n).is_none_or(|e| e > b.len()) {
            Err((
                b.len() as u64,
                format!(
                    "truncated: the file ends at byte {} inside the {what}",
                    b.len()
                ),
            ))
        } else {
            Ok(())
        }
    };
    need(0, FIXED_HEADER, "header")?;
    if &b[0..8] != MAGIC {
        return Err((0, "not a baram wind cube (bad magic)".into()));
    }
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let f64_at = |o: usize| f64::from_bits(u64_at(o));
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err((
            8,
            format!(
                "cube format version {version}; this baram reads version {FORMAT_VERSION}: import the forecast again"
            ),
        ));
    }
    let header_len = u32_at(12) as usize;
    let payload_len = u64_at(16);
    let nlev = u32_at(72) as usize;
    let ntime = u32_at(76) as usize;
    let source_len = u32_at(80) as usize;
    let flags = u32_at(84);
    let var_len = nlev
        .checked_mul(9)
        .and_then(|x| x.checked_add(ntime.checked_mul(8)?))
        .and_then(|x| x.checked_add(source_len))
        .and_then(|x| x.checked_add(FIXED_HEADER));
    let Some(min_header) = var_len else {
        return Err((72, "header sizes overflow".into()));
    };
    let canonical = min_header.div_ceil(64) * 64;
    if header_len != canonical {
        return Err((
            12,
            format!("header length {header_len} is wrong ({canonical} for these sizes)"),
        ));
    }
    need(0, header_len, "header")?;
    if b[min_header..header_len].iter().any(|&x| x != 0) {
        return Err((min_header as u64, "header padding is not zero".into()));
    }
    let total = (header_len as u64)
        .checked_add(payload_len)
        .and_then(|x| x.checked_add(32));
    match total {
        Some(t) if t == b.len() as u64 => {}
        Some(t) if t > b.len() as u64 => {
            return Err((
                b.len() as u64,
                format!(
                    "truncated: the header says {t} bytes, the file has {} (ends at byte {})",
                    b.len(),
                    b.len()
                ),
            ));
        }
        _ => {
            return Err((
                16,
                format!(
                    "payload length {payload_len} does not match the file's {} bytes",
                    b.len()
                ),
            ));
        }
    }
    let body = b.len() - 32;
    if blake3::hash(&b[..body]).as_bytes() != &b[body..] {
        return Err((
            body as u64,
            "checksum mismatch: the cube is corrupt; import the forecast again".into(),
        ));
    }
    let mut o = FIXED_HEADER;
    let levels_hpa: Vec<f64> = (0..nlev).map(|k| f64_at(o + 8 * k)).collect();
    o += 8 * nlev;
    let mut height_source = Vec::with_capacity(nlev);
    for k in 0..nlev {
        height_source.push(match b[o + k] {
            0 => HeightSource::Data,
            1 => HeightSource::StandardAtmosphere,
            x => return Err(((o + k) as u64, format!("unknown height source {x}"))),
        });
    }
    o += nlev;
    let times: Vec<i64> = (0..ntime).map(|k| u64_at(o + 8 * k) as i64).collect();
    o += 8 * ntime;
    let source = std::str::from_utf8(&b[o..o + source_len])
        .map_err(|_| (o as u64, "source is not UTF-8".to_string()))?
        .to_string();
    let meta = CubeMeta {
        grid: Grid {
            lat0: f64_at(24),
            dlat: f64_at(32),
            nlat: u32_at(40) as usize,
            nlon: u32_at(44) as usize,
            lon0: f64_at(48),
            dlon: f64_at(56),
        },
        levels_hpa,
        height_source,
        times,
        source,
        run_time: u64_at(64) as i64,
    };
    meta.validate().map_err(|e| (24u64, e))?;
    let mut expect_flags = 0;
    if meta.steady() {
        expect_flags |= FLAG_STEADY;
    }
    if meta
        .height_source
        .contains(&HeightSource::StandardAtmosphere)
    {
        expect_flags |= FLAG_STD_ATMOSPHERE;
    }
    if flags != expect_flags {
        return Err((
            84,
            format!("flags {flags:#x} do not match the header ({expect_flags:#x})"),
        ));
    }
    if payload_len != (meta.value_count() as u64) * 4 {
        return Err((
            16,
            format!(
                "payload of {payload_len} bytes for {} values",
                meta.value_count()
            ),
        ));
    }
    // Values: finite, heights increasing (fail closed even with a matching checksum).
    let raw = &b[header_len..body];
    // SAFETY: every bit pattern is a valid f32 (little-endian target).
    let (pre, mid, post) = unsafe { raw.align_to::<f32>() };
    let copied: Vec<f32>;
    let values: &[f32] = if pre.is_empty() && post.is_empty() {
        mid
    } else {
        copied = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        &copied
    };
    check_values(&meta, values).map_err(|e| (header_len as u64, e))?;
    Ok((meta, header_len, values.len()))
}
