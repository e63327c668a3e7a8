//! GRIB2 import: geopotential height, U and V on every isobaric level of
//! every valid time in a set of files, cropped to a region, into one cube.
//!
//! The files are split into messages here (so that an error can name the
//! message and its byte offset); each message is parsed and decoded by the
//! `grib` crate (pure-Rust unpackers). Only regular latitude/longitude grids
//! (template 3.0) and products of templates 4.0 and 4.1 (ensemble member)
//! on isobaric surfaces are used.

use super::cube::{Cube, CubeMeta, Grid, HeightSource, NVAR, days_from_civil, format_time};
use super::{WindError, isa};
use grib::def::grib2::{GridDefinitionTemplate, ProductDefinitionTemplate};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::str::FromStr;

/// A crop region, degrees: latitudes `lat0..=lat1`, longitudes
/// `lon0..=lon1` (west to east, not crossing 0°/360°).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    pub lat0: f64,
    pub lat1: f64,
    pub lon0: f64,
    pub lon1: f64,
}

impl Region {
    /// The Korean peninsula and its surroundings: 31–45 N, 117–134 E.
    pub const KOREA: Region = Region {
        lat0: 31.0,
        lat1: 45.0,
        lon0: 117.0,
        lon1: 134.0,
    };

    fn check(&self) -> Result<(), String> {
        let all = [self.lat0, self.lat1, self.lon0, self.lon1];
        if !all.iter().all(|x| x.is_finite()) {
            return Err("region values must be numbers".into());
        }
        if !(-90.0..=90.0).contains(&self.lat0)
            || !(-90.0..=90.0).contains(&self.lat1)
            || self.lat0 >= self.lat1
        {
            return Err(format!(
                "region latitudes {}..{}: need -90 <= LAT0 < LAT1 <= 90",
                self.lat0, self.lat1
            ));
        }
        if self.lon0 >= self.lon1 {
            return Err(format!(
                "region longitudes {}..{}: LON0 must be west of LON1; regions crossing 0°/360° (or 180°) are not supported: import each side separately",
                self.lon0, self.lon1
            ));
        }
        if self.lon0 < -180.0 || self.lon1 > 360.0 || self.lon1 - self.lon0 > 360.0 {
            return Err(format!(
                "region longitudes {}..{} are outside -180..360",
                self.lon0, self.lon1
            ));
        }
        Ok(())
    }
}

impl FromStr for Region {
    type Err = String;
    /// `LAT0,LAT1,LON0,LON1`, degrees.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(format!(
                "region {s:?}: expected LAT0,LAT1,LON0,LON1 (e.g. 31,45,117,134)"
            ));
        }
        let mut v = [0.0; 4];
        for (x, p) in v.iter_mut().zip(&parts) {
            *x = p
                .parse()
                .map_err(|_| format!("region {s:?}: {p:?} is not a number"))?;
        }
        let r = Region {
            lat0: v[0],
            lat1: v[1],
            lon0: v[2],
            lon1: v[3],
        };
        r.check()?;
        Ok(r)
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Crop to this region (the smallest block of grid nodes covering it);
    /// `None` keeps the whole grid.
    pub region: Option<Region>,
    /// For levels that have U and V but no geopotential height (JMA MEPS
    /// below 300 hPa), use the standard atmosphere's height of the level
    /// instead of refusing. Recorded in the cube per level.
    pub std_atmosphere_heights: bool,
}

/// A sub-message left out with a note.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub file: String,
    /// 1-based message number in the file.
    pub message: usize,
    /// 1-based sub-message number in the message.
    pub submessage: usize,
    /// Byte offset of the message in the file.
    pub offset: u64,
    /// What it holds, e.g. `discipline 0 category 1 number 8, surface 1`.
    pub what: String,
    pub note: String,
}

/// What an import read, used and left out.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Input file names (no paths).
    pub files: Vec<String>,
    pub bytes: u64,
    pub messages: usize,
    pub submessages: usize,
    /// Sub-messages that went into the cube.
    pub used: usize,
    /// Sub-messages of other fields or surfaces (not read further).
    pub not_needed: usize,
    /// Sub-messages not needed and not readable (bit map indicator 254).
    pub skipped: Vec<Skipped>,
    /// Everything an output must tell (steady winds, standard-atmosphere
    /// heights, unused heights).
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Var {
    Hgt = 0,
    U = 1,
    V = 2,
}

impl Var {
    fn name(self) -> &'static str {
        match self {
            Var::Hgt => "HGT",
            Var::U => "UGRD",
            Var::V => "VGRD",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Origin {
    file: usize,
    message: usize,
    sub: usize,
    offset: u64,
}

/// A source grid (micro-degrees), in the order its values are stored.
#[derive(Clone, Copy, PartialEq, Debug)]
struct SrcGrid {
    ni: usize,
    nj: usize,
    lat_first: f64,
    lat_last: f64,
    lon_first: f64,
    lon_last: f64,
    scan: u8,
}

/// Positions are kept in micro-degrees (as GRIB2 codes them) so that
/// spacings like 0.1° come out as the nearest double, not 0.09999999999999998.
impl SrcGrid {
    fn udlat(&self) -> f64 {
        (self.lat_last - self.lat_first).abs() / self.nj.saturating_sub(1).max(1) as f64
    }
    fn dlat(&self) -> f64 {
        self.udlat() / 1e6
    }
    fn ulat_min(&self) -> f64 {
        self.lat_first.min(self.lat_last)
    }
    fn lat_min(&self) -> f64 {
        self.ulat_min() / 1e6
    }
    fn east(&self) -> bool {
        self.scan & 0x80 == 0
    }
    fn ulon_span(&self) -> f64 {
        if self.east() {
            (self.lon_last - self.lon_first).rem_euclid(360e6)
        } else {
            (self.lon_first - self.lon_last).rem_euclid(360e6)
        }
    }
    fn lon_span(&self) -> f64 {
        self.ulon_span() / 1e6
    }
    fn udlon(&self) -> f64 {
        self.ulon_span() / self.ni.saturating_sub(1).max(1) as f64
    }
    fn dlon(&self) -> f64 {
        self.udlon() / 1e6
    }
    fn ulon_min(&self) -> f64 {
        if self.east() {
            self.lon_first
        } else {
            self.lon_last
        }
    }
    fn lon_min(&self) -> f64 {
        self.ulon_min() / 1e6
    }
    fn describe(&self) -> String {
        format!(
            "{}x{} points, {:.4}..{:.4} N by {:.4}°, {:.4}..{:.4} E by {:.4}°",
            self.ni,
            self.nj,
            self.lat_min(),
            self.lat_min() + self.dlat() * self.nj.saturating_sub(1).max(1) as f64,
            self.dlat(),
            self.lon_min(),
            self.lon_min() + self.lon_span(),
            self.dlon()
        )
    }
}

/// Which source rows/columns (ascending lat/lon index) go into the cube.
#[derive(Clone, Copy, Debug)]
struct Crop {
    j0: usize,
    j1: usize,
    i0: usize,
    i1: usize,
}

impl Crop {
    fn nlat(&self) -> usize {
        self.j1 - self.j0 + 1
    }
    fn nlon(&self) -> usize {
        self.i1 - self.i0 + 1
    }
}

fn plan_crop(g: &SrcGrid, region: Option<Region>) -> Result<Crop, String> {
    let Some(r) = region else {
        return Ok(Crop {
            j0: 0,
            j1: g.nj - 1,
            i0: 0,
            i1: g.ni - 1,
        });
    };
    let (dlat, dlon) = (g.dlat(), g.dlon());
    let lat_max = g.lat_min() + dlat * (g.nj - 1) as f64;
    let lon_max = g.lon_min() + g.lon_span();
    let eps = 1e-6;
    if r.lat0 < g.lat_min() - eps || r.lat1 > lat_max + eps {
        return Err(format!(
            "region {}..{} N is outside the grid's {:.4}..{:.4} N",
            r.lat0,
            r.lat1,
            g.lat_min(),
            lat_max
        ));
    }
    let shift = [0.0, 360.0, -360.0]
        .into_iter()
        .find(|s| r.lon0 + s >= g.lon_min() - eps && r.lon1 + s <= lon_max + eps)
        .ok_or_else(|| {
            format!(
                "region {}..{} E is not inside the grid's {:.4}..{:.4} E (regions crossing the grid's edge or 0°/360° are not supported)",
                r.lon0,
                r.lon1,
                g.lon_min(),
                lon_max
            )
        })?;
    let idx = |x: f64, x0: f64, dx: f64, n: usize, up: bool| -> usize {
        let a = (x - x0) / dx;
        let a = if up {
            (a - eps).ceil()
        } else {
            (a + eps).floor()
        };
        (a.max(0.0) as usize).min(n - 1)
    };
    let mut j0 = idx(r.lat0, g.lat_min(), dlat, g.nj, false);
    let mut j1 = idx(r.lat1, g.lat_min(), dlat, g.nj, true);
    let mut i0 = idx(r.lon0 + shift, g.lon_min(), dlon, g.ni, false);
    let mut i1 = idx(r.lon1 + shift, g.lon_min(), dlon, g.ni, true);
    if j1 == j0 {
        if j1 + 1 < g.nj { j1 += 1 } else { j0 -= 1 }
    }
    if i1 == i0 {
        if i1 + 1 < g.ni { i1 += 1 } else { i0 -= 1 }
    }
    Ok(Crop { j0, j1, i0, i1 })
}

/// Splits a file into GRIB2 messages: (offset, length), or (message
/// number, offset, reason) for the first one that is broken.
fn split_messages(data: &[u8]) -> Result<Vec<(usize, usize)>, (usize, usize, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let n = out.len() + 1;
        let left = data.len() - pos;
        if left < 16 {
            return Err((
                n,
                pos,
                format!("truncated: {left} bytes left, a GRIB2 header needs 16"),
            ));
        }
        if &data[pos..pos + 4] != b"GRIB" {
            return Err((
                n,
                pos,
                "no 'GRIB' header here: the file is corrupt or not GRIB2".into(),
            ));
        }
        let edition = data[pos + 7];
        if edition != 2 {
            return Err((
                n,
                pos,
                format!(
                    "GRIB edition {edition}: only GRIB2 is read (convert with wgrib2/grib_set)"
                ),
            ));
        }
        let len = u64::from_be_bytes(data[pos + 8..pos + 16].try_into().expect("8 bytes"));
        if len < 20 || len > left as u64 {
            return Err((
                n,
                pos,
                format!(
                    "the message says it is {len} bytes but {left} are left: the file is truncated or corrupt"
                ),
            ));
        }
        let len = len as usize;
        if &data[pos + len - 4..pos + len] != b"7777" {
            return Err((
                n,
                pos,
                format!(
                    "no end marker '7777' at byte {}: the message is corrupt",
                    pos + len - 4
                ),
            ));
        }
        // Walk the sections before the decoder does: it allocates each
        // section's claimed length up front (a corrupt length asked the
        // fuzzer for 3 GB).
        let msg = &data[pos..pos + len];
        let mut s = 16;
        while s < len - 4 {
            if len - 4 - s < 5 {
                return Err((
                    n,
                    pos,
                    format!(
                        "section header at byte {} is cut off by the end marker: corrupt",
                        pos + s
                    ),
                ));
            }
            let slen = u32::from_be_bytes(msg[s..s + 4].try_into().expect("4 bytes")) as usize;
            let num = msg[s + 4];
            if slen < 5 || slen > len - 4 - s || !(1..=7).contains(&num) {
                return Err((
                    n,
                    pos,
                    format!(
                        "section {num} at byte {} claims {slen} bytes, beyond the message's end or not a section: corrupt",
                        pos + s
                    ),
                ));
            }
            s += slen;
        }
        out.push((pos, len));
        pos += len;
    }
    if out.is_empty() {
        return Err((1, 0, "empty file: no GRIB2 messages".into()));
    }
    Ok(out)
}

fn time_unit_seconds(unit: u8) -> Option<i64> {
    Some(match unit {
        0 => 60,
        1 => 3600,
        2 => 86_400,
        10 => 3 * 3600,
        11 => 6 * 3600,
        12 => 12 * 3600,
        13 => 1,
        _ => return None,
    })
}

struct Field {
    values: Vec<f32>,
    origin: Origin,
}

/// Imports GRIB2 files into a cube. `progress(done, total)` is called with
/// bytes processed after each message.
pub fn import(
    paths: &[PathBuf],
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Cube, ImportReport), WindError> {
    let mut maps = Vec::with_capacity(paths.len());
    for p in paths {
        let f = std::fs::File::open(p).map_err(|e| WindError::io(p, e))?;
        // SAFETY: read-only private mapping of an input file; if another
        // process truncates it meanwhile the import may fault, as any reader.
        let m = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| WindError::io(p, e))?;
        maps.push(m);
    }
    let files: Vec<(String, &[u8])> = paths
        .iter()
        .zip(&maps)
        .map(|(p, m)| (p.display().to_string(), &m[..]))
        .collect();
    import_bytes(&files, opts, progress)
}

/// [`import`] over files already in memory: `(name, bytes)`. The name is
/// used in errors as given and in the cube's source as its last component.
pub fn import_bytes(
    files: &[(String, &[u8])],
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Cube, ImportReport), WindError> {
    if files.is_empty() {
        return Err(WindError::Invalid("no GRIB2 files given".into()));
    }
    if let Some(r) = &opts.region {
        r.check().map_err(WindError::Invalid)?;
    }
    let total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    let short: Vec<String> = files
        .iter()
        .map(|(n, _)| {
            std::path::Path::new(n)
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "(unnamed)".into())
        })
        .collect();
    let mut report = ImportReport {
        files: short.clone(),
        bytes: total,
        messages: 0,
        submessages: 0,
        used: 0,
        not_needed: 0,
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    let describe = |o: &Origin| {
        format!(
            "{} message {} (sub-message {}, byte {})",
            files[o.file].0, o.message, o.sub, o.offset
        )
    };
    let mut grid: Option<(SrcGrid, Crop, Origin)> = None;
    let mut run: Option<(i64, Origin)> = None;
    let mut member: Option<(Option<u8>, Origin)> = None;
    let mut centres = BTreeSet::new();
    let mut fields: HashMap<(i64, i64, Var), Field> = HashMap::new();
    let mut done = 0u64;

    for (fi, (name, data)) in files.iter().enumerate() {
        let msgs = split_messages(data).map_err(|(message, offset, reason)| WindError::Grib {
            file: name.clone(),
            message,
            offset: offset as u64,
            reason,
        })?;
        for (mi, &(off, len)) in msgs.iter().enumerate() {
            let message = mi + 1;
            let gerr = |reason: String| WindError::Grib {
                file: name.clone(),
                message,
                offset: off as u64,
                reason,
            };
            let g2 = grib::from_bytes(&data[off..off + len])
                .map_err(|e| gerr(format!("cannot parse its sections: {e}")))?;
            report.messages += 1;
            for (si, (_, sub)) in g2.iter().enumerate() {
                report.submessages += 1;
                let origin = Origin {
                    file: fi,
                    message,
                    sub: si + 1,
                    offset: off as u64,
                };
                let serr = |reason: String| WindError::Grib {
                    file: name.clone(),
                    message,
                    offset: off as u64,
                    reason: format!("sub-message {}: {reason}", si + 1),
                };
                let discipline = sub.indicator().discipline;
                let pd = sub.prod_def();
                let tmpl = pd.prod_tmpl_num();
                let cat = pd.parameter_category();
                let num = pd.parameter_number();
                let surface = pd.fixed_surfaces().map(|s| s.0.surface_type);
                let var = match (discipline, cat, num) {
                    (0, Some(3), Some(5)) => Some(Var::Hgt),
                    (0, Some(2), Some(2)) => Some(Var::U),
                    (0, Some(2), Some(3)) => Some(Var::V),
                    _ => None,
                };
                let needed = var.filter(|_| (tmpl == 0 || tmpl == 1) && surface == Some(100));
                let bitmap = sub
                    .section6()
                    .map_err(|e| serr(format!("bad bit map section: {e}")))?
                    .payload
                    .bitmap_indicator;
                let Some(var) = needed else {
                    if bitmap == 254 {
                        report.skipped.push(Skipped {
                            file: short[fi].clone(),
                            message,
                            submessage: si + 1,
                            offset: off as u64,
                            what: format!(
                                "discipline {discipline} category {} number {} (template 4.{tmpl}, surface {})",
                                cat.map_or("?".into(), |c| c.to_string()),
                                num.map_or("?".into(), |c| c.to_string()),
                                surface.map_or("?".into(), |c| c.to_string()),
                            ),
                            note: "not needed for winds, and it uses a bit map defined earlier in the message (indicator 254), which the decoder cannot read: skipped".into(),
                        });
                    } else {
                        report.not_needed += 1;
                    }
                    continue;
                };
                if bitmap == 254 {
                    return Err(serr(format!(
                        "{} uses a bit map defined earlier in the message (indicator 254), which the decoder cannot read; re-encode the file with its own bit map (e.g. wgrib2 -set_grib_type same)",
                        var.name()
                    )));
                }
                // Product: time, level, member.
                let s4 = sub
                    .section4()
                    .map_err(|e| serr(format!("bad product definition: {e}")))?;
                let (ft, surf, pert) = match &s4.payload.template {
                    ProductDefinitionTemplate::_4_0(t) => {
                        (&t.forecast_time, &t.horizontal.first_surface, None)
                    }
                    ProductDefinitionTemplate::_4_1(t) => (
                        &t.forecast_time,
                        &t.horizontal.first_surface,
                        Some(t.emsemble_forecast.perturbation_num),
                    ),
                    _ => return Err(serr("unexpected product template".into())),
                };
                let scale = i32::from(surf.value.scale_factor);
                let pa = f64::from(surf.value.scaled_value) * 10f64.powi(-scale);
                if !(pa.is_finite() && pa > 0.0 && pa <= 120_000.0) {
                    return Err(serr(format!(
                        "{} on isobaric surface of {pa} Pa: not a pressure level",
                        var.name()
                    )));
                }
                let unit = time_unit_seconds(ft.time.unit).ok_or_else(|| {
                    serr(format!(
                        "forecast time unit {} (code table 4.4) is not supported",
                        ft.time.unit
                    ))
                })?;
                let rt = sub.identification().ref_time_unchecked();
                if !(1..=12).contains(&rt.month)
                    || !(1..=31).contains(&rt.day)
                    || rt.hour > 23
                    || rt.minute > 59
                    || rt.second > 60
                {
                    return Err(serr(format!(
                        "invalid reference time {:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                        rt.year, rt.month, rt.day, rt.hour, rt.minute, rt.second
                    )));
                }
                let ref_time = days_from_civil(i64::from(rt.year), rt.month.into(), rt.day.into())
                    * 86_400
                    + i64::from(rt.hour) * 3600
                    + i64::from(rt.minute) * 60
                    + i64::from(rt.second);
                let valid = ref_time + i64::from(ft.time.len) * unit;
                // Grid.
                let s3 = sub
                    .section3()
                    .map_err(|e| serr(format!("bad grid definition: {e}")))?;
                let GridDefinitionTemplate::_3_0(t) = &s3.payload.template else {
                    return Err(serr(format!(
                        "grid template 3.{} is not a regular latitude/longitude grid (only 3.0 is read)",
                        s3.payload.template_num
                    )));
                };
                let gr = &t.lat_lon.grid;
                let basic = gr.initial_production_domain_basic_angle;
                if basic != 0 && basic != u32::MAX {
                    return Err(serr(format!(
                        "grid with basic angle {basic} (only micro-degrees are read)"
                    )));
                }
                let scan = t.lat_lon.scanning_mode.0;
                if scan & 0x30 != 0 {
                    return Err(serr(format!(
                        "scanning mode {scan:#04x} (columns first or alternating rows) is not supported"
                    )));
                }
                let sg = SrcGrid {
                    ni: gr.ni as usize,
                    nj: gr.nj as usize,
                    lat_first: f64::from(gr.first_point_lat),
                    lat_last: f64::from(gr.last_point_lat),
                    lon_first: f64::from(gr.first_point_lon),
                    lon_last: f64::from(gr.last_point_lon),
                    scan,
                };
                if sg.ni < 2
                    || sg.nj < 2
                    || sg.ni.checked_mul(sg.nj) != Some(s3.payload.num_points as usize)
                    || sg.ni * sg.nj > 50_000_000
                    || sg.lat_first == sg.lat_last
                    || sg.lon_span() == 0.0
                {
                    return Err(serr(format!(
                        "grid of {}x{} points for {} data points, {}: not a usable grid",
                        sg.ni,
                        sg.nj,
                        s3.payload.num_points,
                        sg.describe()
                    )));
                }
                let crop = match &grid {
                    None => {
                        let c = plan_crop(&sg, opts.region).map_err(|e| {
                            WindError::Import(format!("{}: {e}", describe(&origin)))
                        })?;
                        grid = Some((sg, c, origin));
                        c
                    }
                    Some((g0, c, o)) => {
                        if *g0 != sg {
                            return Err(WindError::Import(format!(
                                "mixed grids: {} is on {} but {} is on {}; import one grid at a time",
                                describe(&origin),
                                sg.describe(),
                                describe(o),
                                g0.describe()
                            )));
                        }
                        *c
                    }
                };
                match &run {
                    None => run = Some((ref_time, origin)),
                    Some((r, o)) if *r != ref_time => {
                        return Err(WindError::Import(format!(
                            "mixed forecast runs: {} is from the run of {} but {} is from {}; import one run at a time",
                            describe(&origin),
                            format_time(ref_time),
                            describe(o),
                            format_time(*r)
                        )));
                    }
                    _ => {}
                }
                match &member {
                    None => member = Some((pert, origin)),
                    Some((m, o)) if *m != pert => {
                        let show = |m: &Option<u8>| {
                            m.map_or("not an ensemble member".to_string(), |x| {
                                format!("ensemble member {x}")
                            })
                        };
                        return Err(WindError::Import(format!(
                            "mixed ensemble members: {} is {} but {} is {}; import one member at a time",
                            describe(&origin),
                            show(&pert),
                            describe(o),
                            show(m)
                        )));
                    }
                    _ => {}
                }
                let key = (valid, pa.round() as i64, var);
                if let Some(prev) = fields.get(&key) {
                    return Err(WindError::Import(format!(
                        "duplicated: {} at {} hPa valid {} is in {} and in {}; give each valid time once",
                        var.name(),
                        pa / 100.0,
                        format_time(valid),
                        describe(&prev.origin),
                        describe(&origin)
                    )));
                }
                centres.insert(sub.identification().centre_id());
                // The decoder allocates by the counts in section 5: bound them
                // by the grid first (a corrupt count asked for gigabytes).
                let encoded = sub.repr_def().num_points() as usize;
                if encoded > sg.ni * sg.nj {
                    return Err(serr(format!(
                        "{} claims {encoded} encoded values for a grid of {} points: the data representation section is corrupt",
                        var.name(),
                        sg.ni * sg.nj
                    )));
                }
                // Decode and crop.
                let decoder = grib::Grib2SubmessageDecoder::from(sub)
                    .map_err(|e| serr(format!("cannot decode {}: {e}", var.name())))?;
                let decoded = decoder
                    .dispatch()
                    .map_err(|e| serr(format!("cannot decode {}: {e}", var.name())))?;
                let (ni, nj) = (sg.ni, sg.nj);
                let north_first = sg.lat_last < sg.lat_first;
                let mut out = vec![f32::NAN; crop.nlat() * crop.nlon()];
                let mut count = 0usize;
                for (p, x) in decoded.enumerate() {
                    count += 1;
                    if p >= ni * nj {
                        continue;
                    }
                    let (r, c) = (p / ni, p % ni);
                    let ja = if north_first { nj - 1 - r } else { r };
                    let ia = if sg.east() { c } else { ni - 1 - c };
                    if ja >= crop.j0 && ja <= crop.j1 && ia >= crop.i0 && ia <= crop.i1 {
                        out[(ja - crop.j0) * crop.nlon() + (ia - crop.i0)] = x;
                    }
                }
                if count != ni * nj {
                    return Err(serr(format!(
                        "{} decoded to {count} values for a grid of {} points: the data section is corrupt",
                        var.name(),
                        ni * nj
                    )));
                }
                let missing = out.iter().filter(|x| !x.is_finite()).count();
                if missing > 0 {
                    return Err(serr(format!(
                        "{} has {missing} missing values (bit map) inside the region; choose a region where the field is defined",
                        var.name()
                    )));
                }
                report.used += 1;
                fields.insert(
                    key,
                    Field {
                        values: out,
                        origin,
                    },
                );
            }
            done += len as u64;
            progress(done, total);
        }
    }

    let all_names = files
        .iter()
        .map(|f| f.0.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let Some((sg, crop, _)) = grid else {
        return Err(WindError::Import(format!(
            "{all_names}: no HGT, UGRD or VGRD on isobaric levels ({} sub-messages of other fields): nothing to import",
            report.submessages
        )));
    };
    let (run_time, _) = run.expect("set with the grid");
    let times: Vec<i64> = fields
        .keys()
        .map(|k| k.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Levels with winds, lowest altitude (highest pressure) first.
    let wind_levels: BTreeSet<i64> = fields
        .keys()
        .filter(|k| k.2 != Var::Hgt)
        .map(|k| k.1)
        .collect();
    let levels: Vec<i64> = wind_levels.iter().rev().copied().collect();
    let hgt_only: Vec<String> = fields
        .keys()
        .filter(|k| k.2 == Var::Hgt && !wind_levels.contains(&k.1))
        .map(|k| k.1)
        .collect::<BTreeSet<_>>()
        .iter()
        .rev()
        .map(|p| format!("{}", *p as f64 / 100.0))
        .collect();
    let hpa = |p: i64| p as f64 / 100.0;
    // Every level needs U and V at every time.
    let mut missing = Vec::new();
    for &t in &times {
        for &l in &levels {
            for v in [Var::U, Var::V] {
                if !fields.contains_key(&(t, l, v)) {
                    missing.push(format!(
                        "{} at {} hPa valid {}",
                        v.name(),
                        hpa(l),
                        format_time(t)
                    ));
                }
            }
        }
    }
    if !missing.is_empty() {
        let n = missing.len();
        missing.truncate(4);
        return Err(WindError::Import(format!(
            "{all_names}: missing {}{}: every wind level needs UGRD and VGRD at every valid time",
            missing.join(", "),
            if n > 4 {
                format!(" and {} more", n - 4)
            } else {
                String::new()
            }
        )));
    }
    // Heights: from the data, or (if allowed) the standard atmosphere.
    let mut height_source = Vec::with_capacity(levels.len());
    let mut no_hgt = Vec::new();
    for &l in &levels {
        let have = times
            .iter()
            .filter(|t| fields.contains_key(&(**t, l, Var::Hgt)))
            .count();
        if have == times.len() {
            height_source.push(HeightSource::Data);
        } else if have == 0 {
            no_hgt.push(l);
            height_source.push(HeightSource::StandardAtmosphere);
        } else {
            let t = times
                .iter()
                .find(|t| !fields.contains_key(&(**t, l, Var::Hgt)))
                .expect("one is missing");
            return Err(WindError::Import(format!(
                "{all_names}: missing HGT at {} hPa valid {} (present at other times)",
                hpa(l),
                format_time(*t)
            )));
        }
    }
    let no_hgt_list = no_hgt
        .iter()
        .map(|l| hpa(*l).to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if !no_hgt.is_empty() && !opts.std_atmosphere_heights {
        return Err(WindError::Import(format!(
            "{all_names}: missing HGT (geopotential height) at {no_hgt_list} hPa, which have winds: heights are needed to place the levels in altitude; allow standard-atmosphere heights for them (--std-atmosphere) or use a forecast with HGT on every wind level"
        )));
    }
    let isa_heights: Vec<f64> = levels
        .iter()
        .map(|&l| isa::height_of_pressure(hpa(l)).unwrap_or(f64::NAN))
        .collect();
    if levels.len() < 2 {
        return Err(WindError::Import(format!(
            "{all_names}: winds on only {} level(s): at least 2 are needed",
            levels.len()
        )));
    }

    let cube_grid = Grid {
        lat0: (sg.ulat_min() + crop.j0 as f64 * sg.udlat()) / 1e6,
        dlat: sg.dlat(),
        nlat: crop.nlat(),
        lon0: (sg.ulon_min() + crop.i0 as f64 * sg.udlon()) / 1e6,
        dlon: sg.dlon(),
        nlon: crop.nlon(),
    };
    let centre_names = centres
        .iter()
        .map(|c| match c {
            7 => "7 (NCEP)".to_string(),
            34 => "34 (JMA)".to_string(),
            98 => "98 (ECMWF)".to_string(),
            c => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let source = format!("{}; centre {centre_names}", short.join(", "));
    let meta = CubeMeta {
        grid: cube_grid,
        levels_hpa: levels.iter().map(|l| hpa(*l)).collect(),
        height_source,
        times: times.clone(),
        source,
        run_time,
    };
    let npts = crop.nlat() * crop.nlon();
    let nlev = levels.len();
    let mut values = vec![0f32; meta.value_count()];
    for (ti, &t) in times.iter().enumerate() {
        for (k, &l) in levels.iter().enumerate() {
            for var in [Var::Hgt, Var::U, Var::V] {
                let base = ti * npts * nlev * NVAR + k * NVAR + var as usize;
                match fields.get(&(t, l, var)) {
                    Some(f) => {
                        for (p, x) in f.values.iter().enumerate() {
                            values[base + p * nlev * NVAR] = *x;
                        }
                    }
                    None => {
                        let h = isa_heights[k] as f32;
                        for p in 0..npts {
                            values[base + p * nlev * NVAR] = h;
                        }
                    }
                }
            }
        }
    }
    drop(fields);
    if meta.steady() {
        report.notes.push(format!(
            "one valid time ({}): winds are held steady in time",
            format_time(times[0])
        ));
    }
    if !no_hgt.is_empty() {
        report.notes.push(format!(
            "heights at {no_hgt_list} hPa are from the standard atmosphere (the forecast has no HGT there): altitudes there may be off by up to a few hundred metres"
        ));
    }
    if !hgt_only.is_empty() {
        report.notes.push(format!(
            "HGT at {} hPa has no winds: not used",
            hgt_only.join(", ")
        ));
    }
    let cube = Cube::from_parts(meta, values)
        .map_err(|e| WindError::Import(format!("{all_names}: {e}")))?;
    Ok((cube, report))
}
