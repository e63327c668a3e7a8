//! Ensembles: where a balloon goes, and how sure that is.
//!
//! [`run`] flies [`EnsembleSpec::members`] perturbed copies of one flight
//! ([`EnsembleSpec::base`]) through the forecast and counts where they come
//! down. Every member differs from the base in its ascent rate, burst
//! altitude, float altitude, release timer and descent rate ([`Spreads`]),
//! and flies through the forecast plus a random wind error of its own
//! ([`WindError`]).
//!
//! # Determinism
//!
//! Member `i` draws everything from generators seeded by `(seed, i)` alone
//! (SplitMix64 over a mix of both; one stream for the flight's numbers and
//! one for its wind error, so changing a spread does not change the winds).
//! Members are independent and their outcomes are gathered in member order,
//! so a result depends on the spec, the field and the seed only: never on
//! the number of threads (tested).
//!
//! # The wind-error model
//!
//! A forecast's wind is wrong by an error that is correlated over hundreds
//! of kilometres and many hours, and grows with the forecast's lead time.
//! Each member adds to the forecast (u, v) a random, non-divergent error
//! field built from [`WindError::modes`] random Fourier modes of a stream
//! function:
//!
//! ψ = Σᵢ a cos(kₓᵢ x + k_yᵢ y + k_zᵢ z − ωᵢ t + φᵢ),  δu = −∂ψ/∂y,
//! δv = ∂ψ/∂x,
//!
//! with x, y the east and north distances from the launch (m), z the
//! altitude, t the time since launch; wavenumbers drawn from Gaussians
//! (standard deviations 1/L horizontally, 1/L_z vertically, 1/T in time:
//! the stream function's correlation is exp(−r²/2L² − Δz²/2L_z² −
//! Δt²/2T²)), phases uniform. The amplitude is normalised per member so that
//! each component has a space-time RMS of σ(lead). Non-divergent errors
//! because the synoptic-scale part of wind forecast error is largely
//! non-divergent (Hollingsworth and Lönnberg 1986, "The statistical
//! structure of short-range forecast errors as determined from radiosonde
//! data", Tellus 38A), which also found these errors dominated by synoptic
//! scales: hence L = 500 km and T = 12 h by default. A lookup costs one
//! polynomial sine per mode.
//!
//! The size: σ(lead) = min(σ₀ + g · lead_h, σ_max) per component, with lead
//! the time since the forecast's run ([`WindError::forecast_run_unix_s`];
//! without it, since the launch, which understates the error of an old
//! forecast). Defaults σ₀ = 1.5 m/s, g = 0.047 m/s per hour, σ_max = 8 m/s:
//!
//! * at short range the wind forecast error is of the order of radiosonde
//!   observation error, 1.5–2.5 m/s per component (Hollingsworth and
//!   Lönnberg 1986);
//! * the Met Office's WAFC upper-wind performance target for aviation
//!   forecasts is an RMS vector error ≤ 2.85 m/s (12-month mean; Met Office
//!   verification report for the CAA, `caa_verification_202503.pdf`), i.e.
//!   2.0 m/s per component for a day-1 forecast; the default gives 2.6 m/s
//!   at 24 h (3.7 m/s vector), erring on the wide side;
//! * global-model verification of 250 hPa vector wind (the scores of WMO's
//!   lead centre and ECMWF's headline scores, as usually quoted: about
//!   3–4 m/s at day 1 rising to about 10 m/s at day 5). These day-5 figures
//!   are quoted from memory of those score charts, not from a retrieved
//!   table: the default reaches 7.1 m/s per component (10 m/s vector) at
//!   120 h. Winds at the 3–10 km where leaflet balloons float have somewhat
//!   smaller errors than at the jet level, so this is conservative.
//!
//! The model widens the cloud as a forecast's error would; it is not a
//! calibrated ensemble. A real ensemble forecast (GEFS, ECMWF ENS) would be
//! better where one is available.
//!
//! # What is counted
//!
//! * Where members land: [`Area`] counts and probabilities over all members.
//!   Members that fail (left the wind data, not landed in time, ...) are
//!   counted separately with their reasons, never dropped: the area
//!   probabilities and the failed share sum to 1.
//! * Airports: a member "passes" an airport when any wind lookup of its
//!   flight (the four RK4 stages of every step, launch included) below
//!   [`EnsembleSpec::airport_below_m`] lies within
//!   [`EnsembleSpec::airport_radius_m`] of one of the [`geo::airports`].
//!   Failed members are checked up to where they failed.
//! * Inland reach: for members landing in North Korea, the distance of the
//!   landing from the MDL ([`geo::distance_to_mdl_m`], good to about
//!   ±1.5 km): how far past the border the load came down.
//! * A landing density grid over [`geo::DATA_BOX`].
//!
//! A member runs through [`model::landing`], which records no points and
//! allocates nothing; the members' own field (forecast + error + airport
//! watch) lives on the stack.

use crate::geo::{self, Area};
use crate::model::{self, Ascent, Descent, Error, FlightSpec, Release};
use crate::wind::{Hint, OutOfData, Wind, WindField};
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};

/// Most members of one ensemble.
pub const MAX_MEMBERS: u32 = 1_000_000;
/// Most Fourier modes of a member's wind error.
pub const MAX_MODES: u32 = 32;
/// Most sample tracks kept for drawing.
pub const MAX_SAMPLE_TRACKS: u32 = 1_000;
/// Most points kept per sample track.
const TRACK_POINTS: usize = 240;
/// Failure messages kept (the count is always complete).
const FAILURE_EXAMPLES: usize = 20;

/// Standard deviations of the balloon's numbers. A spread that does not
/// apply to the flight (a timer spread without a timer) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spreads {
    /// Relative σ of the ascent rate (0.1 = 10 %). For balloon physics the
    /// free lift is scaled by the square of the factor, which changes the
    /// rate by about the factor when the payload dominates the mass.
    pub ascent_rel: f64,
    /// σ of the burst altitude of a constant-rate ascent without a float, m.
    pub burst_altitude_m: f64,
    /// σ of the float altitude, m.
    pub float_altitude_m: f64,
    /// σ of a release timer, minutes.
    pub timer_minutes: f64,
    /// Relative σ of the sea-level descent rate.
    pub descent_rel: f64,
}

impl Spreads {
    /// No spread at all.
    pub fn none() -> Spreads {
        Spreads {
            ascent_rel: 0.0,
            burst_altitude_m: 0.0,
            float_altitude_m: 0.0,
            timer_minutes: 0.0,
            descent_rel: 0.0,
        }
    }
}

impl Default for Spreads {
    /// Assumed, not measured: 10 % ascent rate (filling by hand), 1 km
    /// burst, 300 m float, 5 min timer, 10 % descent rate.
    fn default() -> Spreads {
        Spreads {
            ascent_rel: 0.10,
            burst_altitude_m: 1_000.0,
            float_altitude_m: 300.0,
            timer_minutes: 5.0,
            descent_rel: 0.10,
        }
    }
}

/// The random wind error added to every member (module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindError {
    /// σ per wind component at lead time 0, m/s.
    pub sigma0_m_s: f64,
    /// Growth of σ per hour of lead time, m/s/h.
    pub growth_m_s_per_h: f64,
    /// Largest σ, m/s.
    pub max_m_s: f64,
    /// Horizontal correlation length L, km.
    pub correlation_length_km: f64,
    /// Correlation time T, hours.
    pub correlation_time_h: f64,
    /// Vertical correlation length, m.
    pub vertical_length_m: f64,
    /// Fourier modes per member, 1..=[`MAX_MODES`].
    pub modes: u32,
    /// The forecast's run (analysis) time, from which lead time counts;
    /// `None`: from the launch.
    pub forecast_run_unix_s: Option<f64>,
}

impl WindError {
    /// No wind error.
    pub fn none() -> WindError {
        WindError {
            sigma0_m_s: 0.0,
            growth_m_s_per_h: 0.0,
            ..WindError::default()
        }
    }

    /// σ per component at a lead time, m/s.
    pub fn sigma_m_s(&self, lead_h: f64) -> f64 {
        (self.sigma0_m_s + self.growth_m_s_per_h * lead_h.max(0.0)).min(self.max_m_s)
    }

    fn is_none(&self) -> bool {
        self.sigma0_m_s == 0.0 && (self.growth_m_s_per_h == 0.0 || self.max_m_s == 0.0)
    }
}

impl Default for WindError {
    fn default() -> WindError {
        WindError {
            sigma0_m_s: 1.5,
            growth_m_s_per_h: 0.047,
            max_m_s: 8.0,
            correlation_length_km: 500.0,
            correlation_time_h: 12.0,
            vertical_length_m: 4_000.0,
            modes: 12,
            forecast_run_unix_s: None,
        }
    }
}

/// An ensemble: the base flight, how many members, the seed and the spreads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnsembleSpec {
    pub base: FlightSpec,
    /// 1..=[`MAX_MEMBERS`].
    pub members: u32,
    pub seed: u64,
    pub spreads: Spreads,
    pub wind_error: WindError,
    /// Radius of the airport check, m (default 10 km).
    pub airport_radius_m: f64,
    /// The airport check looks at the flight below this altitude, m
    /// (default 10 km).
    pub airport_below_m: f64,
    /// Cell size of the landing density grid, degrees (0.01..=1; default
    /// 0.1).
    pub density_cell_deg: f64,
    /// Members whose whole track is kept for drawing (the first ones).
    pub sample_tracks: u32,
}

impl EnsembleSpec {
    /// Default spreads, wind error, airport check (10 km, below 10 km),
    /// 0.1° density cells and 50 sample tracks.
    pub fn new(base: FlightSpec, members: u32, seed: u64) -> EnsembleSpec {
        EnsembleSpec {
            base,
            members,
            seed,
            spreads: Spreads::default(),
            wind_error: WindError::default(),
            airport_radius_m: 10_000.0,
            airport_below_m: 10_000.0,
            density_cell_deg: 0.1,
            sample_tracks: 50,
        }
    }
}

/// Members landing in one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaCount {
    /// [`Area::code`].
    pub area: &'static str,
    pub name_en: &'static str,
    pub name_ko: &'static str,
    pub count: u32,
    /// count / members.
    pub probability: f64,
}

/// Members that failed for one kind of reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureKind {
    pub kind: &'static str,
    pub count: u32,
}

/// One failed member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub member: u32,
    pub reason: String,
}

/// Members passing one airport.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AirportCount {
    pub name: String,
    pub icao: Option<String>,
    pub iata: Option<String>,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub count: u32,
}

/// Members passing near airports (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AirportPasses {
    pub radius_m: f64,
    pub below_m: f64,
    /// Members that passed within the radius of any airport below the
    /// altitude.
    pub members: u32,
    /// members / all members.
    pub share: f64,
    /// Per airport (the first one each member passed), most passes first.
    pub airports: Vec<AirportCount>,
}

/// Members landing beyond a distance from the MDL in North Korea.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beyond {
    pub km: f64,
    pub count: u32,
    /// count / all members.
    pub share: f64,
}

/// How far past the border members landing in North Korea came down:
/// distance of the landing from the MDL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InlandReach {
    /// Members landing in PRK.
    pub members: u32,
    pub median_km: Option<f64>,
    pub p90_km: Option<f64>,
    pub max_km: Option<f64>,
    /// Beyond 10, 25, 50, 100 and 200 km.
    pub beyond: Vec<Beyond>,
}

/// A cell of the landing density grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DensityCell {
    pub row: u32,
    pub col: u32,
    /// South edge.
    pub lat_deg: f64,
    /// West edge.
    pub lon_deg: f64,
    pub count: u32,
}

/// Landings counted in cells of `cell_deg` over [`geo::DATA_BOX`], from its
/// south-west corner; only cells with landings are listed, by row then
/// column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DensityGrid {
    pub cell_deg: f64,
    pub lat0_deg: f64,
    pub lon0_deg: f64,
    pub rows: u32,
    pub cols: u32,
    pub cells: Vec<DensityCell>,
    pub max_count: u32,
    /// Landings outside the grid.
    pub outside: u32,
}

/// One member's landing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemberLanding {
    pub member: u32,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub t_unix_s: f64,
    pub area: &'static str,
}

/// A member's whole track (balloon, then its fall), thinned to at most 240
/// points, each `[lat, lon, alt_m]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    pub member: u32,
    pub points: Vec<[f64; 3]>,
}

/// The outcome of an ensemble.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleResult {
    pub members: u32,
    pub seed: u64,
    /// The field held its winds steady (one valid time).
    pub winds_held_steady: bool,
    pub ground: &'static str,
    /// Every [`Area`], in [`Area::ALL`] order.
    pub areas: Vec<AreaCount>,
    pub failed: u32,
    pub failed_probability: f64,
    pub failure_kinds: Vec<FailureKind>,
    /// The first failures with their reasons (at most 20).
    pub failures: Vec<Failure>,
    pub airports: AirportPasses,
    pub inland: InlandReach,
    pub density: DensityGrid,
    /// Members that landed, in member order.
    pub landings: Vec<MemberLanding>,
    /// The unperturbed flight (no spreads, no wind error), or why it failed.
    pub nominal: Result<Track, String>,
    /// Sample members' tracks, in member order.
    pub tracks: Vec<Track>,
}

impl EnsembleResult {
    /// Members landing in `area`.
    pub fn count(&self, area: Area) -> u32 {
        self.areas
            .iter()
            .find(|a| a.area == area.code())
            .map_or(0, |a| a.count)
    }
    /// Probability of landing in `area` (over all members, failed ones
    /// included).
    pub fn probability(&self, area: Area) -> f64 {
        f64::from(self.count(area)) / f64::from(self.members)
    }
}

fn arg(arg: &'static str, problem: impl Into<String>) -> Error {
    Error::Argument {
        arg,
        problem: problem.into(),
    }
}

fn non_negative(name: &'static str, x: f64) -> Result<(), Error> {
    if !x.is_finite() || x < 0.0 {
        return Err(arg(
            name,
            format!("must be a finite number of zero or more, not {x}"),
        ));
    }
    Ok(())
}

fn positive(name: &'static str, x: f64) -> Result<(), Error> {
    if !x.is_finite() || x <= 0.0 {
        return Err(arg(name, format!("must be a positive number, not {x}")));
    }
    Ok(())
}

/// Checks everything but the base flight (which the model checks).
pub fn validate(spec: &EnsembleSpec) -> Result<(), Error> {
    if spec.members == 0 {
        return Err(arg("members", "an ensemble needs at least one member"));
    }
    if spec.members > MAX_MEMBERS {
        return Err(arg(
            "members",
            format!(
                "{} members is more than the {MAX_MEMBERS} allowed",
                spec.members
            ),
        ));
    }
    let s = &spec.spreads;
    non_negative("spreads.ascent_rel", s.ascent_rel)?;
    if s.ascent_rel > 1.0 {
        return Err(arg(
            "spreads.ascent_rel",
            format!("{} is more than 1 (100 %)", s.ascent_rel),
        ));
    }
    non_negative("spreads.burst_altitude_m", s.burst_altitude_m)?;
    non_negative("spreads.float_altitude_m", s.float_altitude_m)?;
    non_negative("spreads.timer_minutes", s.timer_minutes)?;
    non_negative("spreads.descent_rel", s.descent_rel)?;
    if s.descent_rel > 1.0 {
        return Err(arg(
            "spreads.descent_rel",
            format!("{} is more than 1 (100 %)", s.descent_rel),
        ));
    }
    let w = &spec.wind_error;
    non_negative("wind_error.sigma0_m_s", w.sigma0_m_s)?;
    non_negative("wind_error.growth_m_s_per_h", w.growth_m_s_per_h)?;
    non_negative("wind_error.max_m_s", w.max_m_s)?;
    if w.max_m_s < w.sigma0_m_s {
        return Err(arg(
            "wind_error.max_m_s",
            format!(
                "{} m/s is less than sigma0_m_s = {} m/s",
                w.max_m_s, w.sigma0_m_s
            ),
        ));
    }
    positive("wind_error.correlation_length_km", w.correlation_length_km)?;
    positive("wind_error.correlation_time_h", w.correlation_time_h)?;
    positive("wind_error.vertical_length_m", w.vertical_length_m)?;
    if !(1..=MAX_MODES).contains(&w.modes) {
        return Err(arg(
            "wind_error.modes",
            format!("{} is not in 1..={MAX_MODES}", w.modes),
        ));
    }
    if let Some(t) = w.forecast_run_unix_s {
        if !t.is_finite() {
            return Err(arg(
                "wind_error.forecast_run_unix_s",
                format!("must be a finite time, not {t}"),
            ));
        }
        if t > spec.base.launch.time_unix_s {
            return Err(arg(
                "wind_error.forecast_run_unix_s",
                format!(
                    "the forecast run {} is after the launch {}",
                    crate::output::iso8601(t),
                    crate::output::iso8601(spec.base.launch.time_unix_s)
                ),
            ));
        }
    }
    non_negative("airport_radius_m", spec.airport_radius_m)?;
    if !spec.airport_below_m.is_finite() {
        return Err(arg(
            "airport_below_m",
            format!("must be a finite altitude, not {}", spec.airport_below_m),
        ));
    }
    if !(spec.density_cell_deg.is_finite() && (0.01..=1.0).contains(&spec.density_cell_deg)) {
        return Err(arg(
            "density_cell_deg",
            format!("{} is not in 0.01..=1 degrees", spec.density_cell_deg),
        ));
    }
    if spec.sample_tracks > MAX_SAMPLE_TRACKS {
        return Err(arg(
            "sample_tracks",
            format!(
                "{} is more than the {MAX_SAMPLE_TRACKS} allowed",
                spec.sample_tracks
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Random numbers

/// SplitMix64 (Steele, Lea, Flood 2014).
struct Rng(u64);

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// Stream `stream` of member `member`.
    fn new(seed: u64, member: u32, stream: u64) -> Rng {
        let m = mix64((u64::from(member) << 8 | stream).wrapping_add(0x9E37_79B9_7F4A_7C15));
        Rng(mix64(seed ^ m).wrapping_add(m))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

// ---------------------------------------------------------------------------
// A member's flight numbers

fn member_spec(base: &FlightSpec, s: &Spreads, rng: &mut Rng) -> FlightSpec {
    // Always draw every number, in a fixed order, so that one spread does
    // not shift the draws of another.
    let z_ascent = rng.normal();
    let z_burst = rng.normal();
    let z_float = rng.normal();
    let z_timer = rng.normal();
    let z_descent = rng.normal();
    let u_leaflet = rng.uniform();
    let mut m = *base;
    let factor = (1.0 + s.ascent_rel * z_ascent).max(0.2);
    let launch_alt = base.launch.alt_m;
    let mut burst = f64::INFINITY;
    match &mut m.ascent {
        Ascent::ConstantRate {
            rate_m_s,
            burst_altitude_m,
        } => {
            *rate_m_s *= factor;
            if base.float.is_none() {
                let lowest = match base.release {
                    Release::Altitude { altitude_m } => altitude_m,
                    _ => launch_alt,
                };
                *burst_altitude_m =
                    (*burst_altitude_m + s.burst_altitude_m * z_burst).max(lowest + 50.0);
            }
            burst = *burst_altitude_m;
        }
        Ascent::Balloon(b) => b.free_lift_kg *= factor * factor,
    }
    if let Some(f) = &mut m.float {
        let lowest = match base.release {
            Release::Altitude { altitude_m } => altitude_m,
            _ => launch_alt,
        };
        f.altitude_m = (f.altitude_m + s.float_altitude_m * z_float)
            .max(lowest + 10.0)
            .min(burst - 10.0);
    }
    if let Release::Timer {
        minutes_after_launch,
    } = &mut m.release
    {
        let latest = base.max_duration_s / 60.0 - 1.0;
        *minutes_after_launch = (*minutes_after_launch + s.timer_minutes * z_timer)
            .min(latest)
            .max(1.0);
    }
    let rate = match base.descent {
        Descent::Payload { sea_level_rate_m_s } => sea_level_rate_m_s,
        Descent::Leaflets(c) => c.sea_level_rate_m_s + c.spread_m_s * (2.0 * u_leaflet - 1.0),
    };
    m.descent = Descent::Payload {
        sea_level_rate_m_s: rate * (1.0 + s.descent_rel * z_descent).max(0.2),
    };
    m
}

// ---------------------------------------------------------------------------
// A member's wind field

#[derive(Debug, Clone, Copy, Default)]
struct Mode {
    /// Per degree of longitude from the launch.
    kx: f64,
    /// Per degree of latitude from the launch.
    ky: f64,
    /// Per metre of altitude.
    kz: f64,
    /// Per second since launch.
    w: f64,
    phase: f64,
    /// δu and δv per unit σ per unit sine.
    au: f64,
    av: f64,
}

/// sin(x) to about 1e-8 by reduction to [−π/2, π/2] and an odd Taylor
/// polynomial of degree 11: a few multiplications, the same on every
/// machine.
#[inline]
fn fast_sin(x: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI, TAU};
    let q = x * (1.0 / TAU);
    let n = (q + if q >= 0.0 { 0.5 } else { -0.5 }) as i64 as f64;
    let mut r = x - n * TAU;
    if r > FRAC_PI_2 {
        r = PI - r;
    } else if r < -FRAC_PI_2 {
        r = -PI - r;
    }
    let r2 = r * r;
    r * (1.0
        + r2 * (-1.0 / 6.0
            + r2 * (1.0 / 120.0
                + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362_880.0 + r2 * (-1.0 / 39_916_800.0))))))
}

/// Cells of 0.05° over the data box that may hold a point within the
/// airport radius: an O(1) rejection before [`geo::within_airport`].
struct AirportMask {
    radius_m: f64,
    cells: Vec<bool>,
}

const MASK_CELL: f64 = 0.05;
const MASK_COLS: usize = 340;
const MASK_ROWS: usize = 280;

impl AirportMask {
    fn new(radius_m: f64) -> AirportMask {
        let (x0, _, y0, _) = geo::DATA_BOX;
        let mut cells = vec![false; MASK_COLS * MASK_ROWS];
        // Distance ≥ R |Δφ|, and ≥ R cos φ_max |Δλ| near the airport.
        let r = radius_m * 1.02 + 100.0;
        let dlat = (r / geo::EARTH_RADIUS_M).to_degrees();
        for a in geo::airports() {
            let cos_max = (a.lat.abs() + dlat).min(89.0).to_radians().cos();
            let dlon = dlat / cos_max;
            let row = |lat: f64| ((lat - y0) / MASK_CELL).floor();
            let col = |lon: f64| ((lon - x0) / MASK_CELL).floor();
            let (r0, r1) = (row(a.lat - dlat) - 1.0, row(a.lat + dlat) + 1.0);
            let (c0, c1) = (col(a.lon - dlon) - 1.0, col(a.lon + dlon) + 1.0);
            let rows = r0.max(0.0) as usize..=(r1.min(MASK_ROWS as f64 - 1.0).max(-1.0)) as usize;
            for row in rows {
                let cols =
                    c0.max(0.0) as usize..=(c1.min(MASK_COLS as f64 - 1.0).max(-1.0)) as usize;
                for col in cols {
                    cells[row * MASK_COLS + col] = true;
                }
            }
        }
        AirportMask { radius_m, cells }
    }

    /// The index in [`geo::airports`] of an airport within the radius.
    #[inline]
    fn check(&self, lat: f64, lon: f64) -> Option<u32> {
        let (x0, x1, y0, y1) = geo::DATA_BOX;
        if !(lon >= x0 && lon <= x1 && lat >= y0 && lat <= y1) {
            // Every airport of the data is inside the box, and the box's
            // edge is at least 1.5° from each: nothing out here is near.
            return None;
        }
        let row = (((lat - y0) / MASK_CELL) as usize).min(MASK_ROWS - 1);
        let col = (((lon - x0) / MASK_CELL) as usize).min(MASK_COLS - 1);
        if !self.cells[row * MASK_COLS + col] {
            return None;
        }
        let a = geo::within_airport(lat, lon, self.radius_m)?;
        geo::airports()
            .iter()
            .position(|b| std::ptr::eq(a, b))
            .map(|i| i as u32)
    }
}

const NO_AIRPORT: u32 = u32::MAX;

/// The forecast seen by one member: the base field plus its wind error,
/// watching for airports.
struct MemberField<'a> {
    base: &'a dyn WindField,
    modes: [Mode; MAX_MODES as usize],
    n: usize,
    lat0: f64,
    lon0: f64,
    t0: f64,
    t_run: f64,
    err: WindError,
    mask: &'a AirportMask,
    below_m: f64,
    airport: AtomicU32,
}

impl<'a> MemberField<'a> {
    fn new(
        base: &'a dyn WindField,
        spec: &EnsembleSpec,
        member: u32,
        mask: &'a AirportMask,
    ) -> MemberField<'a> {
        let l = spec.base.launch;
        let e = spec.wind_error;
        let mut f = MemberField {
            base,
            modes: [Mode::default(); MAX_MODES as usize],
            n: 0,
            lat0: l.lat_deg,
            lon0: l.lon_deg,
            t0: l.time_unix_s,
            t_run: e.forecast_run_unix_s.unwrap_or(l.time_unix_s),
            err: e,
            mask,
            below_m: spec.airport_below_m,
            airport: AtomicU32::new(NO_AIRPORT),
        };
        if e.is_none() {
            return f;
        }
        let mut rng = Rng::new(spec.seed, member, 1);
        let n = e.modes as usize;
        let l_m = e.correlation_length_km * 1000.0;
        let m_per_deg = geo::EARTH_RADIUS_M.to_radians();
        let cos0 = l.lat_deg.to_radians().cos();
        let mut k2 = 0.0;
        for m in &mut f.modes[..n] {
            let kx = rng.normal() / l_m;
            let ky = rng.normal() / l_m;
            let kz = rng.normal() / e.vertical_length_m;
            let w = rng.normal() / (e.correlation_time_h * 3600.0);
            let phase = rng.uniform() * std::f64::consts::TAU;
            k2 += kx * kx + ky * ky;
            *m = Mode {
                kx: kx * m_per_deg * cos0,
                ky: ky * m_per_deg,
                kz,
                w,
                phase,
                au: ky,
                av: -kx,
            };
        }
        // Σ a² |k|² / 2 = 2: each component has unit mean square.
        let a = if k2 > 0.0 { 2.0 / k2.sqrt() } else { 0.0 };
        for m in &mut f.modes[..n] {
            m.au *= a;
            m.av *= a;
        }
        f.n = n;
        f
    }

    fn airport(&self) -> Option<u32> {
        let a = self.airport.load(Ordering::Relaxed);
        (a != NO_AIRPORT).then_some(a)
    }
}

impl WindField for MemberField<'_> {
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
        let w = self.base.wind_near(t, lat, lon, alt, hint)?;
        if alt < self.below_m
            && self.airport.load(Ordering::Relaxed) == NO_AIRPORT
            && let Some(i) = self.mask.check(lat, lon)
        {
            self.airport.store(i, Ordering::Relaxed);
        }
        if self.n == 0 {
            return Ok(w);
        }
        let sigma = self.err.sigma_m_s((t - self.t_run) / 3600.0);
        let (dlat, dlon, dt) = (lat - self.lat0, lon - self.lon0, t - self.t0);
        let (mut du, mut dv) = (0.0, 0.0);
        for m in &self.modes[..self.n] {
            let s = fast_sin(m.kx * dlon + m.ky * dlat + m.kz * alt - m.w * dt + m.phase);
            du += m.au * s;
            dv += m.av * s;
        }
        Ok(Wind {
            u: w.u + sigma * du,
            v: w.v + sigma * dv,
        })
    }
    fn steady(&self) -> bool {
        self.base.steady()
    }
}

// ---------------------------------------------------------------------------
// Running

enum Outcome {
    Landed {
        lat: f64,
        lon: f64,
        t: f64,
        airport: Option<u32>,
    },
    Failed {
        error: Error,
        airport: Option<u32>,
    },
}

fn simulate(spec: &EnsembleSpec, field: &dyn WindField, mask: &AirportMask, i: u32) -> Outcome {
    let mut rng = Rng::new(spec.seed, i, 0);
    let m = member_spec(&spec.base, &spec.spreads, &mut rng);
    let f = MemberField::new(field, spec, i, mask);
    match model::landing(&m, &f) {
        Ok(p) => Outcome::Landed {
            lat: p.lat_deg,
            lon: p.lon_deg,
            t: p.t_unix_s,
            airport: f.airport(),
        },
        Err(error) => Outcome::Failed {
            error,
            airport: f.airport(),
        },
    }
}

/// The spec member `i` flies (its perturbed balloon, timer and descent),
/// for tests and audits.
pub fn member_flight(spec: &EnsembleSpec, i: u32) -> FlightSpec {
    let mut rng = Rng::new(spec.seed, i, 0);
    member_spec(&spec.base, &spec.spreads, &mut rng)
}

/// Member `i`'s whole predicted trajectory, through the same perturbed
/// field the ensemble used: its landing is the one [`run`] counted.
pub fn member_trajectory(
    spec: &EnsembleSpec,
    field: &dyn WindField,
    i: u32,
) -> Result<model::Trajectory, Error> {
    let mask = AirportMask::new(spec.airport_radius_m);
    let f = MemberField::new(field, spec, i, &mask);
    model::predict(&member_flight(spec, i), &f)
}

fn thin(traj: &model::Trajectory) -> Vec<[f64; 3]> {
    let fall = traj.falls().first().map_or(&[][..], |f| f.points());
    let all: Vec<[f64; 3]> = traj
        .balloon()
        .iter()
        .chain(fall.iter().skip(1))
        .map(|p| [p.lat_deg, p.lon_deg, p.alt_m])
        .collect();
    if all.len() <= TRACK_POINTS {
        return all;
    }
    let step = (all.len() - 1) as f64 / (TRACK_POINTS - 1) as f64;
    (0..TRACK_POINTS)
        .map(|k| all[((k as f64 * step).round() as usize).min(all.len() - 1)])
        .collect()
}

fn failure_kind(e: &Error) -> &'static str {
    match e {
        Error::Argument { .. } => "bad perturbed flight",
        Error::LeftData {
            source: OutOfData::Time { .. },
            ..
        } => "left the forecast's time range",
        Error::LeftData {
            source: OutOfData::Region { .. },
            ..
        } => "left the wind data's region",
        Error::LeftData {
            source: OutOfData::Above { .. },
            ..
        } => "rose above the wind data",
        Error::BadWind { .. } => "non-finite wind",
        Error::NearPole { .. } => "near a pole",
        Error::NotLanded { .. } => "not landed in time",
    }
}

/// Runs the ensemble on `threads` threads (1 or more). The result does not
/// depend on the thread count.
///
/// Errors: a bad ensemble argument ([`validate`]), a bad `threads`, or a
/// bad base flight (the model's argument errors, e.g. a launch outside the
/// wind data). Members that fail are counted in the result, not errors.
pub fn run(
    spec: &EnsembleSpec,
    field: &dyn WindField,
    threads: usize,
) -> Result<EnsembleResult, Error> {
    validate(spec)?;
    if threads == 0 {
        return Err(arg("threads", "at least one thread is needed"));
    }
    let nominal = match model::predict(&spec.base, field) {
        Ok(t) => Ok(Track {
            member: u32::MAX,
            points: thin(&t),
        }),
        Err(e @ Error::Argument { .. }) => return Err(e),
        Err(e) => Err(e.to_string()),
    };
    let mask = AirportMask::new(spec.airport_radius_m);
    let n = spec.members as usize;
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(n);
    outcomes.resize_with(n, || None);
    let threads = threads.min(n);
    if threads == 1 {
        for (i, slot) in outcomes.iter_mut().enumerate() {
            *slot = Some(simulate(spec, field, &mask, i as u32));
        }
    } else {
        let chunk = n.div_ceil(threads);
        let mask = &mask;
        std::thread::scope(|s| {
            for (c, part) in outcomes.chunks_mut(chunk).enumerate() {
                s.spawn(move || {
                    for (j, slot) in part.iter_mut().enumerate() {
                        *slot = Some(simulate(spec, field, mask, (c * chunk + j) as u32));
                    }
                });
            }
        });
    }

    let mut tracks = Vec::new();
    for i in 0..spec.sample_tracks.min(spec.members) {
        if let Ok(t) = member_trajectory(spec, field, i) {
            tracks.push(Track {
                member: i,
                points: thin(&t),
            });
        }
    }
    Ok(aggregate(spec, field, outcomes, nominal, tracks))
}

fn aggregate(
    spec: &EnsembleSpec,
    field: &dyn WindField,
    outcomes: Vec<Option<Outcome>>,
    nominal: Result<Track, String>,
    tracks: Vec<Track>,
) -> EnsembleResult {
    let total = f64::from(spec.members);
    let mut area_counts = [0u32; Area::ALL.len()];
    let mut failed = 0u32;
    let mut kinds: Vec<FailureKind> = Vec::new();
    let mut failures = Vec::new();
    let airports = geo::airports();
    let mut per_airport = vec![0u32; airports.len()];
    let mut airport_members = 0u32;
    // Sized up front: the allocations of a run do not grow with members.
    let mut inland_m: Vec<f64> = Vec::with_capacity(outcomes.len());
    let mut landings = Vec::with_capacity(outcomes.len());

    let (x0, x1, y0, y1) = geo::DATA_BOX;
    let cell = spec.density_cell_deg;
    let rows = ((y1 - y0) / cell).ceil() as usize;
    let cols = ((x1 - x0) / cell).ceil() as usize;
    let mut grid = vec![0u32; rows * cols];
    let mut outside = 0u32;

    for (i, o) in outcomes.into_iter().enumerate() {
        let o = o.expect("every member was simulated");
        let airport = match &o {
            Outcome::Landed { airport, .. } | Outcome::Failed { airport, .. } => *airport,
        };
        if let Some(a) = airport {
            airport_members += 1;
            per_airport[a as usize] += 1;
        }
        match o {
            Outcome::Landed { lat, lon, t, .. } => {
                let area = geo::area_at(lat, lon);
                let k = Area::ALL.iter().position(|&a| a == area).unwrap_or(6);
                area_counts[k] += 1;
                if area == Area::Prk
                    && let Some(d) = geo::distance_to_mdl_m(lat, lon)
                {
                    inland_m.push(d);
                }
                let (r, c) = ((lat - y0) / cell, (lon - x0) / cell);
                if r >= 0.0 && c >= 0.0 && (r as usize) < rows && (c as usize) < cols {
                    grid[r as usize * cols + c as usize] += 1;
                } else {
                    outside += 1;
                }
                landings.push(MemberLanding {
                    member: i as u32,
                    lat_deg: lat,
                    lon_deg: lon,
                    t_unix_s: t,
                    area: area.code(),
                });
            }
            Outcome::Failed { error, .. } => {
                failed += 1;
                let kind = failure_kind(&error);
                match kinds.iter_mut().find(|k| k.kind == kind) {
                    Some(k) => k.count += 1,
                    None => kinds.push(FailureKind { kind, count: 1 }),
                }
                if failures.len() < FAILURE_EXAMPLES {
                    failures.push(Failure {
                        member: i as u32,
                        reason: error.to_string(),
                    });
                }
            }
        }
    }

    let areas = Area::ALL
        .iter()
        .zip(area_counts)
        .map(|(a, count)| AreaCount {
            area: a.code(),
            name_en: a.name_en(),
            name_ko: a.name_ko(),
            count,
            probability: f64::from(count) / total,
        })
        .collect();
    kinds.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(b.kind)));

    let mut airport_list: Vec<AirportCount> = airports
        .iter()
        .zip(&per_airport)
        .filter(|(_, c)| **c > 0)
        .map(|(a, &count)| AirportCount {
            name: a.name.clone(),
            icao: a.icao.clone(),
            iata: a.iata.clone(),
            lat_deg: a.lat,
            lon_deg: a.lon,
            count,
        })
        .collect();
    airport_list.sort_by_key(|a| std::cmp::Reverse(a.count));

    inland_m.sort_by(f64::total_cmp);
    let pct = |p: f64| -> Option<f64> {
        if inland_m.is_empty() {
            return None;
        }
        let k = ((p * inland_m.len() as f64).ceil() as usize).clamp(1, inland_m.len()) - 1;
        Some(inland_m[k] / 1000.0)
    };
    let beyond = [10.0, 25.0, 50.0, 100.0, 200.0]
        .into_iter()
        .map(|km| {
            let count = inland_m.iter().filter(|&&d| d > km * 1000.0).count() as u32;
            Beyond {
                km,
                count,
                share: f64::from(count) / total,
            }
        })
        .collect();
    let inland = InlandReach {
        members: inland_m.len() as u32,
        median_km: pct(0.5),
        p90_km: pct(0.9),
        max_km: inland_m.last().map(|d| d / 1000.0),
        beyond,
    };

    let mut cells = Vec::new();
    let mut max_count = 0;
    for (k, &count) in grid.iter().enumerate() {
        if count > 0 {
            let (r, c) = (k / cols, k % cols);
            max_count = max_count.max(count);
            cells.push(DensityCell {
                row: r as u32,
                col: c as u32,
                lat_deg: y0 + r as f64 * cell,
                lon_deg: x0 + c as f64 * cell,
                count,
            });
        }
    }

    EnsembleResult {
        members: spec.members,
        seed: spec.seed,
        winds_held_steady: field.steady(),
        ground: model::Ground::SeaLevel.describe(),
        areas,
        failed,
        failed_probability: f64::from(failed) / total,
        failure_kinds: kinds,
        failures,
        airports: AirportPasses {
            radius_m: spec.airport_radius_m,
            below_m: spec.airport_below_m,
            members: airport_members,
            share: f64::from(airport_members) / total,
            airports: airport_list,
        },
        inland,
        density: DensityGrid {
            cell_deg: cell,
            lat0_deg: y0,
            lon0_deg: x0,
            rows: rows as u32,
            cols: cols as u32,
            cells,
            max_count,
            outside,
        },
        landings,
        nominal,
        tracks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sin_is_close_to_sin() {
        let mut worst: f64 = 0.0;
        for k in -200_000..200_000 {
            let x = k as f64 * 1e-3 + 0.000_123;
            worst = worst.max((fast_sin(x) - x.sin()).abs());
        }
        assert!(worst < 1e-7, "{worst}");
    }

    #[test]
    fn error_field_has_the_asked_rms() {
        // Over many members at one point, each component's mean square is σ².
        let spec = EnsembleSpec::new(
            FlightSpec::new(
                model::Launch {
                    lat_deg: 37.5,
                    lon_deg: 127.0,
                    time_unix_s: 0.0,
                    alt_m: 0.0,
                },
                Ascent::ConstantRate {
                    rate_m_s: 5.0,
                    burst_altitude_m: 10_000.0,
                },
                Descent::Payload {
                    sea_level_rate_m_s: 5.0,
                },
            ),
            1,
            7,
        );
        struct Calm;
        impl WindField for Calm {
            fn wind(&self, _: f64, _: f64, _: f64, _: f64) -> Result<Wind, OutOfData> {
                Ok(Wind { u: 0.0, v: 0.0 })
            }
        }
        let mask = AirportMask::new(0.0);
        let (mut su, mut sv) = (0.0, 0.0);
        let n = 4000;
        for i in 0..n {
            let f = MemberField::new(&Calm, &spec, i, &mask);
            let w = f.wind(3600.0, 38.0, 127.5, 5000.0).unwrap();
            su += w.u * w.u;
            sv += w.v * w.v;
        }
        let sigma = spec.wind_error.sigma_m_s(1.0);
        for ms in [su / n as f64, sv / n as f64] {
            let rms = ms.sqrt();
            assert!((rms / sigma - 1.0).abs() < 0.1, "rms {rms} vs σ {sigma}");
        }
    }
}
