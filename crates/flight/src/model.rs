//! The flight model: where a balloon launched here and now goes, and where
//! what it carries comes down.
//!
//! # Anchors
//!
//! The model follows Tawhiri, the CUSF/SondeHub predictor
//! (`tawhiri/models.py`, `tawhiri/solver.pyx`), wherever Tawhiri has an
//! answer, and ASTRA (University of Southampton, the balloon flight
//! simulator) for balloon physics Tawhiri lacks:
//!
//! * Horizontal motion: the balloon moves with the wind,
//!   dlat/dt = v / (R + h), dlon/dt = u / ((R + h) cos lat) (radians), with
//!   R = 6,371,009 m (Tawhiri's `make_wind_velocity`). Longitudes are not
//!   wrapped: they stay continuous, as the wind source has them.
//! * Integration: classic fourth-order Runge–Kutta with a fixed step
//!   ([`DEFAULT_STEP_S`], 30 s; Tawhiri uses 60 s). Phase ends (burst, float
//!   reached, release altitude, ground) are found exactly: the step that
//!   crosses the altitude is cut to the length at which its RK4 altitude
//!   equals the target, found by safeguarded false position to 1e-9 m, and the
//!   recorded point has exactly the target altitude. Tawhiri instead bisects
//!   on a linear interpolation between the two states. Timer ends cut the
//!   step at the exact time. Steps are also cut where the atmosphere model
//!   changes layer, so that RK4 never integrates across a kink or a jump.
//!   Because every vertical rate here depends on altitude alone, the RK4
//!   altitude of a step does not depend on the wind, and the root finding
//!   needs no wind lookups.
//! * Constant ascent rate (Tawhiri's `make_constant_ascent`).
//! * Descent under a parachute or as a leaflet: Tawhiri's
//!   `make_drag_descent`, v = −1.1045 v_sea / √ρ(h) with ρ from the NASA
//!   Glenn atmosphere ([`crate::atmosphere::nasa_glenn`]). 1.1045 ≈ √1.22
//!   (1.10454): the rate is v_sea where ρ = 1.22 kg/m³; at h = 0 the NASA
//!   fit has ρ = 1.2266, so the rate there is 0.9973 v_sea.
//! * Balloon physics ([`Ascent::Balloon`]), after ASTRA and the CUSF burst
//!   calculator: a closed latex balloon whose gas has the ambient pressure and
//!   temperature (ISA, [`crate::atmosphere::isa`]). The gas amount n follows
//!   from the free lift L (kg): L = n (M_air − M_gas) − m_balloon −
//!   m_payload, the net buoyancy, which for an ideal gas in equilibrium does
//!   not change with altitude. The volume is V = n R T/p = n M_air / ρ(h), the
//!   diameter D = (6V/π)^(1/3), and the ascent rate is the terminal velocity
//!   where lift equals drag: L g = ½ ρ w² C_d π D²/4, which gives
//!   w ∝ ρ^(−1/6). Burst when D reaches the burst diameter, i.e. at the ISA
//!   altitude where ρ = n M_air / (π D_burst³/6), solved in closed form.
//!   ASTRA also models balloon inertia, gas temperature lag and a variable
//!   drag coefficient; this model keeps only the quasi-static terminal
//!   velocity (the CUSF burst calculator's approximation). It has not yet
//!   been compared with ASTRA's or the burst calculator's numbers: the tests
//!   check it against the formulas above worked by hand and against the
//!   US 1976 tables.
//! * Float ([`FloatKind`]): a zero-pressure balloon vents what it would gain
//!   and holds its float altitude exactly. A super-pressure balloon keeps its
//!   volume, so it floats where ρ V equals its mass; a leak of k %/hour of
//!   that lift (buoyancy) means ρ(h(t)) = ρ(h_float) e^{kt}: the balloon
//!   sinks quasi-statically through the ISA, dh/dt = −k H_ρ(h), H_ρ the
//!   density scale height (≈ 6.3 km in the stratosphere, so 1 %/h sinks
//!   about 63 m/h). This is the neutral-buoyancy ("constant-density
//!   balloon", tetroon) relation, with the leak as an exponential loss of
//!   lift.
//! * Leaflet clouds ([`LeafletCloud`]): each leaflet has its own sea-level
//!   descent rate, drawn uniformly from mean ± spread by a seeded SplitMix64
//!   generator (the same seed gives the same cloud everywhere), and its own
//!   trajectory from the release point.
//!
//! The ground is at altitude 0 (sea level): there is no elevation model yet,
//! and every output says so ([`Ground`]).
//!
//! # Errors
//!
//! Every argument is checked before the flight and a bad one is named
//! ([`Error::Argument`]); a launch outside the wind data, or a burst or float
//! altitude above its top, is an argument error too. A flight that leaves the
//! data on the way is [`Error::LeftData`], saying where, when and in which
//! phase; the model never extrapolates.

use crate::atmosphere;
use crate::wind::{Hint, OutOfData, WindField};

/// Earth radius for the horizontal motion, m (Tawhiri).
pub const EARTH_RADIUS_M: f64 = 6_371_009.0;
/// Default integration step, s.
pub const DEFAULT_STEP_S: f64 = 30.0;
/// Default longest flight, s (48 h).
pub const DEFAULT_MAX_DURATION_S: f64 = 48.0 * 3600.0;
/// Tawhiri's drag-descent constant, ≈ √1.22.
pub const TAWHIRI_DESCENT_CONSTANT: f64 = 1.1045;
/// Most leaflets in one cloud.
pub const MAX_LEAFLETS: u32 = 1_000_000;

const DEG_PER_RAD: f64 = 180.0 / std::f64::consts::PI;
const RAD_PER_DEG: f64 = std::f64::consts::PI / 180.0;
/// Highest latitude a flight may reach (dlon/dt is singular at the poles).
const MAX_ABS_LAT: f64 = 89.0;
/// Highest launch altitude accepted, m.
const MAX_LAUNCH_ALT_M: f64 = 10_000.0;

/// cos of a latitude in degrees, |lat| ≤ 90 (the model stops at
/// ±[`MAX_ABS_LAT`]): the Taylor series in x = lat·π/180 to x^22, whose
/// first omitted term, x^24/24!, is below 1e-19 at π/2; the Horner sum's rounding
/// dominates: within 4e-16 of libm's cos (absolute; 3e-14 relative at
/// ±89°, where cos is 0.017), tested. The trajectory moves by far less
/// than a millimetre.
/// A third of the instructions of libm's general cos, and the model calls
/// it at every RK4 stage.
#[inline]
fn cos_lat(lat_deg: f64) -> f64 {
    let x = lat_deg * RAD_PER_DEG;
    let y = x * x;
    // c[k] = (−1)^k / (2k)!, the coefficient of y^k, k = 0..=11.
    const C: [f64; 12] = [
        1.0,
        -1.0 / 2.0,
        1.0 / 24.0,
        -1.0 / 720.0,
        1.0 / 40_320.0,
        -1.0 / 3_628_800.0,
        1.0 / 479_001_600.0,
        -1.0 / 87_178_291_200.0,
        1.0 / 20_922_789_888_000.0,
        -1.0 / 6_402_373_705_728_000.0,
        1.0 / 2_432_902_008_176_640_000.0,
        -1.0 / 1_124_000_727_777_607_680_000.0,
    ];
    // Estrin's scheme, not Horner's: the longitude step of each RK4 stage
    // waits on this, and pairs halve the chain of dependent operations.
    let y2 = y * y;
    let y4 = y2 * y2;
    let p = |k: usize| C[k] + C[k + 1] * y;
    let q0 = p(0) + p(2) * y2;
    let q1 = p(4) + p(6) * y2;
    let q2 = p(8) + p(10) * y2;
    (q0 + q1 * y4) + q2 * (y4 * y4)
}
/// Longest step accepted, s.
const MAX_STEP_S: f64 = 3600.0;
/// Longest flight accepted, s (10 days).
const MAX_FLIGHT_S: f64 = 10.0 * 86_400.0;

/// Where and when the balloon is launched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Launch {
    /// Degrees north, −89..89.
    pub lat_deg: f64,
    /// Degrees east, as the wind source has longitudes.
    pub lon_deg: f64,
    /// Seconds since the Unix epoch, UTC.
    pub time_unix_s: f64,
    /// Metres above sea level (geopotential), 0..10,000.
    pub alt_m: f64,
}

/// Lifting gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gas {
    Helium,
    Hydrogen,
}

impl Gas {
    /// Molar mass, kg/mol.
    pub fn molar_mass_kg_mol(self) -> f64 {
        match self {
            Gas::Helium => 0.004_002_602,
            Gas::Hydrogen => 0.002_015_88,
        }
    }
}

/// A latex balloon for the physics ascent (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balloon {
    pub gas: Gas,
    /// Mass of the envelope, kg.
    pub balloon_mass_kg: f64,
    /// Mass of everything hanging below it, kg.
    pub payload_mass_kg: f64,
    /// Free lift at launch: buoyancy minus balloon and payload weight, kg.
    pub free_lift_kg: f64,
    /// Diameter at which the envelope bursts, m (maker's figure).
    pub burst_diameter_m: f64,
    /// Drag coefficient of the envelope (0.3 is the CUSF burst calculator's
    /// value for latex sounding balloons).
    pub drag_coefficient: f64,
}

/// How the balloon goes up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ascent {
    /// A constant rate (m/s, positive) up to a burst altitude (m).
    ConstantRate {
        rate_m_s: f64,
        burst_altitude_m: f64,
    },
    /// Balloon physics: the rate from buoyancy against drag, burst at the
    /// burst diameter.
    Balloon(Balloon),
}

/// What holds the balloon at its float altitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloatKind {
    /// Vents excess gas: holds the float altitude exactly.
    ZeroPressure,
    /// Constant volume: holds the float altitude while tight; a leak of this
    /// many percent of lift per hour makes it sink (module documentation).
    SuperPressure { leak_percent_per_hour: f64 },
}

/// A float at an altitude instead of a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Float {
    /// Metres; must be above the launch and below the burst altitude.
    pub altitude_m: f64,
    pub kind: FloatKind,
}

/// When the payload leaves the balloon. A burst always releases it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Release {
    /// At burst (not possible with a float).
    AtBurst,
    /// This many minutes after launch (or at burst if that comes first).
    Timer { minutes_after_launch: f64 },
    /// When the ascending balloon reaches this altitude.
    Altitude { altitude_m: f64 },
}

/// A cloud of loose leaflets, each falling on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeafletCloud {
    /// Number of leaflets followed, 1..=[`MAX_LEAFLETS`].
    pub count: u32,
    /// Mean sea-level descent rate, m/s (positive).
    pub sea_level_rate_m_s: f64,
    /// Half-width of the uniform spread of sea-level rates, m/s; every
    /// leaflet's rate is in mean ± spread, which must stay positive.
    pub spread_m_s: f64,
    /// Seed of the generator that draws the rates.
    pub seed: u64,
}

/// What falls after release.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Descent {
    /// One payload under a parachute: sea-level descent rate, m/s
    /// (positive).
    Payload { sea_level_rate_m_s: f64 },
    /// Loose leaflets.
    Leaflets(LeafletCloud),
}

/// Everything a prediction needs besides the wind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlightSpec {
    pub launch: Launch,
    pub ascent: Ascent,
    /// `None`: the balloon goes up until it bursts.
    pub float: Option<Float>,
    pub release: Release,
    pub descent: Descent,
    /// RK4 step, s (0 < step ≤ 3600).
    pub step_s: f64,
    /// The flight is an error if it has not landed this long after launch, s.
    pub max_duration_s: f64,
}

impl FlightSpec {
    /// A burst flight released at burst, with the default step and longest
    /// flight.
    pub fn new(launch: Launch, ascent: Ascent, descent: Descent) -> Self {
        FlightSpec {
            launch,
            ascent,
            float: None,
            release: Release::AtBurst,
            descent,
            step_s: DEFAULT_STEP_S,
            max_duration_s: DEFAULT_MAX_DURATION_S,
        }
    }
}

/// The phase a point belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Ascent,
    Float,
    Descent,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Ascent => "ascent",
            Phase::Float => "float",
            Phase::Descent => "descent",
        }
    }
}

/// Something that happened at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Launch,
    Burst,
    FloatReached,
    Release,
    Landing,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::Launch => "launch",
            Event::Burst => "burst",
            Event::FloatReached => "float reached",
            Event::Release => "release",
            Event::Landing => "landing",
        }
    }
}

/// What the ground is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ground {
    /// Altitude 0 everywhere: no elevation model.
    SeaLevel,
}

impl Ground {
    pub fn describe(self) -> &'static str {
        match self {
            Ground::SeaLevel => "sea level (no elevation model)",
        }
    }
}

/// One point of a trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t_unix_s: f64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
    pub phase: Phase,
    pub event: Option<Event>,
}

/// One falling object (the payload, or one leaflet): release to landing.
#[derive(Debug, Clone, PartialEq)]
pub struct Fall {
    sea_level_rate_m_s: f64,
    points: Vec<Point>,
    landing: Point,
}

impl Fall {
    /// Its sea-level descent rate, m/s.
    pub fn sea_level_rate_m_s(&self) -> f64 {
        self.sea_level_rate_m_s
    }
    /// Release point first, landing last.
    pub fn points(&self) -> &[Point] {
        &self.points
    }
    pub fn landing(&self) -> &Point {
        &self.landing
    }
}

/// A predicted flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    points: Vec<Point>,
    falls: Vec<Fall>,
    winds_steady: bool,
    ground: Ground,
}

impl Trajectory {
    /// The balloon with its payload: launch first, release (or the landing,
    /// if the balloon came down with it) last, every step between.
    pub fn balloon(&self) -> &[Point] {
        &self.points
    }
    /// What fell: one payload, or one fall per leaflet. Never empty.
    pub fn falls(&self) -> &[Fall] {
        &self.falls
    }
    /// The landing of the payload (of the first leaflet for a cloud).
    pub fn landing(&self) -> &Point {
        self.falls
            .first()
            .map_or(&self.points[self.points.len() - 1], |f| &f.landing)
    }
    /// The first balloon point marked with `event`.
    pub fn event(&self, event: Event) -> Option<&Point> {
        self.points.iter().find(|p| p.event == Some(event))
    }
    /// Whether the wind field held its winds steady (one valid time).
    pub fn winds_steady(&self) -> bool {
        self.winds_steady
    }
    pub fn ground(&self) -> Ground {
        self.ground
    }
}

/// Why a prediction failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A bad argument, named by its path in [`FlightSpec`].
    #[error("{arg}: {problem}")]
    Argument { arg: &'static str, problem: String },
    /// The flight left the wind data.
    #[error(
        "the flight left the wind data during {} at {} ({:.4} N {:.4} E, {:.0} m): {source}",
        .phase.name(), crate::output::iso8601(*.t_unix_s), .lat_deg, .lon_deg, .alt_m
    )]
    LeftData {
        phase: Phase,
        t_unix_s: f64,
        lat_deg: f64,
        lon_deg: f64,
        alt_m: f64,
        source: OutOfData,
    },
    /// The wind field gave a wind that is not a finite number.
    #[error(
        "the wind field gave a non-finite wind at {} ({:.4} N {:.4} E, {:.0} m)",
        crate::output::iso8601(*.t_unix_s), .lat_deg, .lon_deg, .alt_m
    )]
    BadWind {
        t_unix_s: f64,
        lat_deg: f64,
        lon_deg: f64,
        alt_m: f64,
    },
    /// The flight came within 1° of a pole, where the model is singular.
    #[error("the flight reached {lat_deg:.2} degrees latitude at {}: too close to a pole", crate::output::iso8601(*.t_unix_s))]
    NearPole { t_unix_s: f64, lat_deg: f64 },
    /// The flight had not landed after `max_duration_s`.
    #[error(
        "max_duration_s: the flight had not landed {:.1} h after launch (still at {:.0} m during {})",
        .max_duration_s / 3600.0, .alt_m, .phase.name()
    )]
    NotLanded {
        max_duration_s: f64,
        alt_m: f64,
        phase: Phase,
    },
}

fn arg(arg: &'static str, problem: impl Into<String>) -> Error {
    Error::Argument {
        arg,
        problem: problem.into(),
    }
}

/// Predicts the whole flight: every step of the balloon, and every step of
/// each falling object.
pub fn predict<F: WindField + ?Sized>(spec: &FlightSpec, field: &F) -> Result<Trajectory, Error> {
    let plan = Plan::new(spec, field)?;
    let mut points = Vec::with_capacity(plan.capacity_hint());
    let release = plan.fly_balloon(field, &mut points)?;
    let mut falls = Vec::new();
    for rate in plan.rates() {
        let mut fall_points = Vec::new();
        let landing = match release {
            Released::Airborne(s) => plan.fall(field, s, rate, &mut fall_points)?,
            Released::Landed(p) => {
                fall_points.push(p);
                p
            }
        };
        falls.push(Fall {
            sea_level_rate_m_s: rate,
            points: fall_points,
            landing,
        });
    }
    Ok(Trajectory {
        points,
        falls,
        winds_steady: field.steady(),
        ground: Ground::SeaLevel,
    })
}

/// Only the landings, one per falling object, written into `out` (cleared
/// first). Records no trajectory points: with `out` reused, an ensemble of
/// predictions allocates nothing.
pub fn landings_into<F: WindField + ?Sized>(
    spec: &FlightSpec,
    field: &F,
    out: &mut Vec<Point>,
) -> Result<(), Error> {
    out.clear();
    let plan = Plan::new(spec, field)?;
    let release = plan.fly_balloon(field, &mut NoRecord)?;
    for rate in plan.rates() {
        let landing = match release {
            Released::Airborne(s) => plan.fall(field, s, rate, &mut NoRecord)?,
            Released::Landed(p) => p,
        };
        out.push(landing);
    }
    Ok(())
}

/// The payload's landing (the first leaflet's for a cloud), recording
/// nothing and allocating nothing.
pub fn landing<F: WindField + ?Sized>(spec: &FlightSpec, field: &F) -> Result<Point, Error> {
    let plan = Plan::new(spec, field)?;
    let release = plan.fly_balloon(field, &mut NoRecord)?;
    let rate = plan.rates().next().unwrap_or(plan.first_rate);
    match release {
        Released::Airborne(s) => plan.fall(field, s, rate, &mut NoRecord),
        Released::Landed(p) => Ok(p),
    }
}

/// The sea-level descent rates of a spec's falling objects, in order: one
/// for a payload, `count` for a leaflet cloud (drawn from its seed). Errors
/// as [`predict`] does for a bad descent.
pub fn descent_rates(descent: &Descent) -> Result<Vec<f64>, Error> {
    check_descent(descent)?;
    Ok(Rates::new(descent).collect())
}

// ---------------------------------------------------------------------------
// Validation and the plan

/// The checked spec, with the derived quantities the loop needs.
struct Plan {
    t0: f64,
    lat0: f64,
    lon0: f64,
    h0: f64,
    step: f64,
    t_limit: f64,
    ascent: Vertical,
    /// Where the ascent ends, and what happens there.
    top_alt: f64,
    top_event: Event,
    float: Option<Vertical>,
    release_alt: Option<f64>,
    release_t: Option<f64>,
    descent: Descent,
    first_rate: f64,
}

enum Released {
    Airborne(State),
    /// The balloon came down with its payload (a leaking float).
    Landed(Point),
}

fn finite(name: &'static str, x: f64) -> Result<f64, Error> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(arg(name, format!("must be a finite number, not {x}")))
    }
}

fn positive(name: &'static str, x: f64) -> Result<f64, Error> {
    finite(name, x)?;
    if x > 0.0 {
        Ok(x)
    } else {
        Err(arg(name, format!("must be positive, not {x}")))
    }
}

fn check_descent(descent: &Descent) -> Result<f64, Error> {
    match *descent {
        Descent::Payload { sea_level_rate_m_s } => {
            positive("descent.sea_level_rate_m_s", sea_level_rate_m_s)
        }
        Descent::Leaflets(c) => {
            if c.count == 0 {
                return Err(arg(
                    "descent.count",
                    "a leaflet cloud needs at least one leaflet",
                ));
            }
            if c.count > MAX_LEAFLETS {
                return Err(arg(
                    "descent.count",
                    format!(
                        "{} leaflets is more than the {MAX_LEAFLETS} a cloud may have",
                        c.count
                    ),
                ));
            }
            positive("descent.sea_level_rate_m_s", c.sea_level_rate_m_s)?;
            finite("descent.spread_m_s", c.spread_m_s)?;
            if c.spread_m_s < 0.0 {
                return Err(arg(
                    "descent.spread_m_s",
                    format!("must not be negative, not {}", c.spread_m_s),
                ));
            }
            if c.sea_level_rate_m_s - c.spread_m_s <= 0.0 {
                return Err(arg(
                    "descent.spread_m_s",
                    format!(
                        "a spread of {} m/s around {} m/s allows rates of zero or less",
                        c.spread_m_s, c.sea_level_rate_m_s
                    ),
                ));
            }
            Ok(c.sea_level_rate_m_s)
        }
    }
}

impl Plan {
    fn new<F: WindField + ?Sized>(spec: &FlightSpec, field: &F) -> Result<Plan, Error> {
        let l = spec.launch;
        finite("launch.lat_deg", l.lat_deg)?;
        if l.lat_deg.abs() > MAX_ABS_LAT {
            return Err(arg(
                "launch.lat_deg",
                format!("{} is beyond ±{MAX_ABS_LAT} degrees", l.lat_deg),
            ));
        }
        finite("launch.lon_deg", l.lon_deg)?;
        if !(-360.0..=360.0).contains(&l.lon_deg) {
            return Err(arg(
                "launch.lon_deg",
                format!("{} is not a longitude", l.lon_deg),
            ));
        }
        finite("launch.time_unix_s", l.time_unix_s)?;
        finite("launch.alt_m", l.alt_m)?;
        if !(0.0..=MAX_LAUNCH_ALT_M).contains(&l.alt_m) {
            return Err(arg(
                "launch.alt_m",
                format!("{} m is not in 0..{MAX_LAUNCH_ALT_M} m", l.alt_m),
            ));
        }
        let step = positive("step_s", spec.step_s)?;
        if step > MAX_STEP_S {
            return Err(arg(
                "step_s",
                format!("{step} s is longer than the {MAX_STEP_S} s allowed"),
            ));
        }
        let max_duration = positive("max_duration_s", spec.max_duration_s)?;
        if max_duration > MAX_FLIGHT_S {
            return Err(arg(
                "max_duration_s",
                format!("{max_duration} s is longer than 10 days"),
            ));
        }

        let (ascent, burst_alt, burst_arg) = match spec.ascent {
            Ascent::ConstantRate {
                rate_m_s,
                burst_altitude_m,
            } => {
                positive("ascent.rate_m_s", rate_m_s)?;
                finite("ascent.burst_altitude_m", burst_altitude_m)?;
                if burst_altitude_m <= l.alt_m {
                    return Err(arg(
                        "ascent.burst_altitude_m",
                        format!(
                            "{burst_altitude_m} m is not above the launch altitude {} m",
                            l.alt_m
                        ),
                    ));
                }
                (
                    Vertical::Constant(rate_m_s),
                    burst_altitude_m,
                    "ascent.burst_altitude_m",
                )
            }
            Ascent::Balloon(b) => {
                let (v, burst) = balloon_physics(&b, l.alt_m)?;
                (v, burst, "ascent.burst_diameter_m")
            }
        };

        let (top_alt, top_event, float, top_arg) = match spec.float {
            None => (burst_alt, Event::Burst, None, burst_arg),
            Some(f) => {
                finite("float.altitude_m", f.altitude_m)?;
                if f.altitude_m <= l.alt_m {
                    return Err(arg(
                        "float.altitude_m",
                        format!(
                            "{} m is not above the launch altitude {} m",
                            f.altitude_m, l.alt_m
                        ),
                    ));
                }
                if f.altitude_m >= burst_alt {
                    return Err(arg(
                        "float.altitude_m",
                        format!(
                            "{} m is not below the burst altitude {:.0} m: the balloon would burst first",
                            f.altitude_m, burst_alt
                        ),
                    ));
                }
                let v = match f.kind {
                    FloatKind::ZeroPressure => Vertical::Constant(0.0),
                    FloatKind::SuperPressure {
                        leak_percent_per_hour,
                    } => {
                        finite("float.leak_percent_per_hour", leak_percent_per_hour)?;
                        if !(0.0..100.0).contains(&leak_percent_per_hour) {
                            return Err(arg(
                                "float.leak_percent_per_hour",
                                format!("{leak_percent_per_hour} is not in 0..100 %/h"),
                            ));
                        }
                        if leak_percent_per_hour == 0.0 {
                            Vertical::Constant(0.0)
                        } else {
                            Vertical::Leak {
                                k_per_s: leak_percent_per_hour / 100.0 / 3600.0,
                            }
                        }
                    }
                };
                (
                    f.altitude_m,
                    Event::FloatReached,
                    Some(v),
                    "float.altitude_m",
                )
            }
        };

        let (release_alt, release_t) = match spec.release {
            Release::AtBurst => {
                if float.is_some() {
                    return Err(arg(
                        "release",
                        "a floating balloon does not burst: release it by timer or at an altitude",
                    ));
                }
                (None, None)
            }
            Release::Timer {
                minutes_after_launch,
            } => {
                positive("release.minutes_after_launch", minutes_after_launch)?;
                if minutes_after_launch * 60.0 >= max_duration {
                    return Err(arg(
                        "release.minutes_after_launch",
                        format!(
                            "{minutes_after_launch} min is not before the end of the flight (max_duration_s = {max_duration} s)"
                        ),
                    ));
                }
                (None, Some(l.time_unix_s + minutes_after_launch * 60.0))
            }
            Release::Altitude { altitude_m } => {
                finite("release.altitude_m", altitude_m)?;
                if altitude_m <= l.alt_m || altitude_m >= top_alt {
                    return Err(arg(
                        "release.altitude_m",
                        format!(
                            "{altitude_m} m is not between the launch altitude {} m and the {} altitude {top_alt:.0} m",
                            l.alt_m,
                            if float.is_some() { "float" } else { "burst" }
                        ),
                    ));
                }
                (Some(altitude_m), None)
            }
        };
        let first_rate = check_descent(&spec.descent)?;

        // The launch must be inside the data, and the top of the flight
        // below the data's top there.
        let t0 = l.time_unix_s;
        if let Err(e) = field.wind(t0, l.lat_deg, l.lon_deg, l.alt_m) {
            let name = match e {
                OutOfData::Time { .. } => "launch.time_unix_s",
                OutOfData::Region { .. } => "launch.lat_deg/launch.lon_deg",
                OutOfData::Above { .. } => "launch.alt_m",
            };
            return Err(arg(
                name,
                format!("the launch is outside the wind data: {e}"),
            ));
        }
        if let Err(e) = field.wind(t0, l.lat_deg, l.lon_deg, top_alt) {
            return Err(arg(
                top_arg,
                format!("the top of the flight ({top_alt:.0} m) is outside the wind data: {e}"),
            ));
        }

        Ok(Plan {
            t0,
            lat0: l.lat_deg,
            lon0: l.lon_deg,
            h0: l.alt_m,
            step,
            t_limit: t0 + max_duration,
            ascent,
            top_alt,
            top_event,
            float,
            release_alt,
            release_t,
            descent: spec.descent,
            first_rate,
        })
    }

    fn capacity_hint(&self) -> usize {
        let end = self.release_t.map_or(4.0 * 3600.0, |t| t - self.t0);
        ((end / self.step) as usize).saturating_add(8).min(1 << 20)
    }

    fn rates(&self) -> Rates {
        Rates::new(&self.descent)
    }

    /// Launch to release.
    fn fly_balloon<F: WindField + ?Sized, R: Recorder>(
        &self,
        field: &F,
        rec: &mut R,
    ) -> Result<Released, Error> {
        let s = State {
            t: self.t0,
            lat: self.lat0,
            lon: self.lon0,
            h: self.h0,
        };
        rec.push(s.point(Phase::Ascent, Some(Event::Launch)));
        // Ascent: ends at the lowest of the top and a release altitude, or at
        // the release time.
        let (target, target_event) = match self.release_alt {
            Some(r) if r < self.top_alt => (r, Event::Release),
            _ => (self.top_alt, self.top_event),
        };
        let mut run = Run {
            field,
            t0: self.t0,
            step: self.step,
            t_limit: self.t_limit,
            phase: Phase::Ascent,
            vertical: self.ascent,
            hint: Hint::default(),
        };
        let (s, end) = run.go(s, Some(target), self.release_t, rec)?;
        match end {
            End::Altitude => {}
            End::Time => {
                rec.push(s.point(Phase::Ascent, Some(Event::Release)));
                return Ok(Released::Airborne(s));
            }
        }
        match target_event {
            Event::FloatReached => {}
            event => {
                // Burst, or the release altitude.
                rec.push(s.point(Phase::Ascent, Some(event)));
                return Ok(Released::Airborne(s));
            }
        }
        rec.push(s.point(Phase::Float, Some(Event::FloatReached)));
        let vertical = self.float.unwrap_or(Vertical::Constant(0.0));
        run.phase = Phase::Float;
        run.vertical = vertical;
        let ground = match vertical {
            Vertical::Leak { .. } => Some(0.0),
            _ => None,
        };
        let (s, end) = run.go(s, ground, self.release_t, rec)?;
        Ok(match end {
            End::Time => {
                rec.push(s.point(Phase::Float, Some(Event::Release)));
                Released::Airborne(s)
            }
            End::Altitude => {
                let p = s.point(Phase::Float, Some(Event::Landing));
                rec.push(p);
                Released::Landed(p)
            }
        })
    }

    /// Release to landing for one falling object.
    fn fall<F: WindField + ?Sized, R: Recorder>(
        &self,
        field: &F,
        s: State,
        rate: f64,
        rec: &mut R,
    ) -> Result<Point, Error> {
        rec.push(s.point(Phase::Descent, Some(Event::Release)));
        let mut run = Run {
            field,
            t0: self.t0,
            step: self.step,
            t_limit: self.t_limit,
            phase: Phase::Descent,
            vertical: Vertical::Drag {
                c: TAWHIRI_DESCENT_CONSTANT * rate,
            },
            hint: Hint::default(),
        };
        let (s, _) = run.go(s, Some(0.0), None, rec)?;
        let p = s.point(Phase::Descent, Some(Event::Landing));
        rec.push(p);
        Ok(p)
    }
}

/// The balloon-physics ascent and its burst altitude.
fn balloon_physics(b: &Balloon, h0: f64) -> Result<(Vertical, f64), Error> {
    let mb = positive("ascent.balloon_mass_kg", b.balloon_mass_kg)?;
    let mp = positive("ascent.payload_mass_kg", b.payload_mass_kg)?;
    let lift = positive("ascent.free_lift_kg", b.free_lift_kg)?;
    let d_burst = positive("ascent.burst_diameter_m", b.burst_diameter_m)?;
    let cd = positive("ascent.drag_coefficient", b.drag_coefficient)?;
    let m_air = atmosphere::M_AIR;
    let n = (lift + mb + mp) / (m_air - b.gas.molar_mass_kg_mol());
    // V = n M_air / ρ ; D = (6V/π)^(1/3) ; L g = ½ ρ w² C_d π D²/4
    // ⇒ w = sqrt(2 L g / (C_d π/4 (6 n M_air/π)^(2/3))) ρ^(-1/6).
    let pi = std::f64::consts::PI;
    let k = (2.0 * lift * atmosphere::G0
        / (cd * pi / 4.0 * (6.0 * n * m_air / pi).powf(2.0 / 3.0)))
    .sqrt();
    let v_burst = pi * d_burst.powi(3) / 6.0;
    let rho_burst = n * m_air / v_burst;
    let d_launch = (6.0 * n * m_air / (pi * atmosphere::isa(h0).density_kg_m3)).cbrt();
    if d_launch >= d_burst {
        return Err(arg(
            "ascent.burst_diameter_m",
            format!("{d_burst} m is not more than the diameter at launch, {d_launch:.2} m"),
        ));
    }
    let burst = atmosphere::isa_altitude_of_density(rho_burst).ok_or_else(|| {
        arg(
            "ascent.burst_diameter_m",
            format!(
                "a {d_burst} m balloon with this gas would not burst below {:.0} m",
                atmosphere::ISA_TOP_M
            ),
        )
    })?;
    if !k.is_finite() || !burst.is_finite() {
        return Err(arg(
            "ascent",
            "the balloon's numbers give no finite ascent rate",
        ));
    }
    Ok((Vertical::Balloon { k }, burst))
}

/// Sea-level descent rates: one for a payload, or a seeded uniform cloud.
struct Rates {
    mean: f64,
    spread: f64,
    left: u32,
    rng: SplitMix64,
}

impl Rates {
    fn new(d: &Descent) -> Rates {
        match *d {
            Descent::Payload { sea_level_rate_m_s } => Rates {
                mean: sea_level_rate_m_s,
                spread: 0.0,
                left: 1,
                rng: SplitMix64(0),
            },
            Descent::Leaflets(c) => Rates {
                mean: c.sea_level_rate_m_s,
                spread: c.spread_m_s,
                left: c.count,
                rng: SplitMix64(c.seed),
            },
        }
    }
}

impl Iterator for Rates {
    type Item = f64;
    fn next(&mut self) -> Option<f64> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if self.spread == 0.0 {
            return Some(self.mean);
        }
        let u = (self.rng.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        Some(self.mean + self.spread * (2.0 * u - 1.0))
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same on every
/// machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

// ---------------------------------------------------------------------------
// The integrator

/// Vertical rate models; each depends on altitude alone.
#[derive(Debug, Clone, Copy)]
enum Vertical {
    /// m/s.
    Constant(f64),
    /// w = k ρ_ISA^(-1/6).
    Balloon { k: f64 },
    /// w = −k H_ρ(h) (super-pressure leak).
    Leak { k_per_s: f64 },
    /// w = −c / √ρ_NASA (Tawhiri's drag descent; c = 1.1045 v_sea).
    Drag { c: f64 },
}

impl Vertical {
    /// The rate at `h` with the atmosphere formulas of layer `layer` (a
    /// step never leaves the layer it starts in: it is cut at the bounds).
    #[inline(always)]
    fn rate(self, h: f64, layer: usize) -> f64 {
        match self {
            Vertical::Constant(w) => w,
            Vertical::Balloon { k } => {
                k * atmosphere::isa_in_layer(h, layer)
                    .density_kg_m3
                    .powf(-1.0 / 6.0)
            }
            Vertical::Leak { k_per_s } => {
                -k_per_s * atmosphere::isa_density_scale_height_in_layer(h, layer)
            }
            Vertical::Drag { c } => -c * atmosphere::nasa_glenn_inv_sqrt_density(h, layer),
        }
    }

    /// Altitudes where the rate has a kink or a jump.
    fn breaks(self) -> &'static [f64] {
        match self {
            Vertical::Constant(_) => &[],
            Vertical::Balloon { .. } | Vertical::Leak { .. } => &atmosphere::ISA_LAYER_BOUNDS_M,
            Vertical::Drag { .. } => &atmosphere::NASA_GLENN_LAYER_BOUNDS_M,
        }
    }

    /// The layer a step from `h` moves through: on a bound, the one on the
    /// side the motion goes to.
    #[inline]
    fn layer(self, h: f64) -> usize {
        let rising = match self {
            Vertical::Constant(w) => w > 0.0,
            Vertical::Balloon { .. } => true,
            Vertical::Leak { .. } | Vertical::Drag { .. } => false,
        };
        let b = self.breaks();
        if rising {
            b.iter().filter(|&&x| h >= x).count()
        } else {
            b.iter().filter(|&&x| h > x).count()
        }
    }

    /// The RK4 stage altitudes of a step of length `dt` from `h`, and the
    /// altitude at its end.
    #[inline(always)]
    fn stages(self, h: f64, dt: f64) -> ([f64; 4], f64) {
        let layer = self.layer(h);
        let w1 = self.rate(h, layer);
        let h2 = h + 0.5 * dt * w1;
        let w2 = self.rate(h2, layer);
        let h3 = h + 0.5 * dt * w2;
        let w3 = self.rate(h3, layer);
        let h4 = h + dt * w3;
        let w4 = self.rate(h4, layer);
        (
            [h, h2, h3, h4],
            h + dt / 6.0 * (w1 + 2.0 * w2 + 2.0 * w3 + w4),
        )
    }

    #[inline]
    fn end_alt(self, h: f64, dt: f64) -> f64 {
        self.stages(h, dt).1
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    t: f64,
    lat: f64,
    lon: f64,
    h: f64,
}

impl State {
    fn point(self, phase: Phase, event: Option<Event>) -> Point {
        Point {
            t_unix_s: self.t,
            lat_deg: self.lat,
            lon_deg: self.lon,
            alt_m: self.h,
            phase,
            event,
        }
    }
}

/// Where recorded points go.
trait Recorder {
    fn push(&mut self, p: Point);
}

impl Recorder for Vec<Point> {
    #[inline]
    fn push(&mut self, p: Point) {
        Vec::push(self, p)
    }
}

struct NoRecord;

impl Recorder for NoRecord {
    #[inline]
    fn push(&mut self, _: Point) {}
}

enum End {
    Altitude,
    Time,
}

struct Run<'a, F: WindField + ?Sized> {
    field: &'a F,
    t0: f64,
    step: f64,
    t_limit: f64,
    phase: Phase,
    vertical: Vertical,
    /// The wind lookups' hint along this path.
    hint: Hint,
}

impl<F: WindField + ?Sized> Run<'_, F> {
    /// Integrates from `s` until the altitude reaches `target` (in the
    /// direction of motion) or the time reaches `t_end`. Points are recorded
    /// at the step grid t0 + k·step; the end point is not recorded.
    fn go<R: Recorder>(
        &mut self,
        mut s: State,
        target: Option<f64>,
        t_end: Option<f64>,
        rec: &mut R,
    ) -> Result<(State, End), Error> {
        let t_stop = t_end.map_or(self.t_limit, |t| t.min(self.t_limit));
        // Index of the next grid point strictly after s.t.
        let mut k = ((s.t - self.t0) / self.step).floor() + 1.0;
        loop {
            let mut grid = self.t0 + k * self.step;
            if grid <= s.t + 1e-9 {
                k += 1.0;
                grid = self.t0 + k * self.step;
            }
            let t_next = grid.min(t_stop);
            let dt = t_next - s.t;
            // The step's stage altitudes, computed once: used to see what
            // the step crosses and, if it crosses nothing, to take it.
            let stages = self.vertical.stages(s.h, dt);
            let h_new = stages.1;
            // The first altitude of interest crossed by this step.
            let mut hit: Option<(f64, bool)> = None;
            let mut consider = |x: f64, is_target: bool| {
                let crossed = if h_new > s.h {
                    x > s.h && x <= h_new
                } else if h_new < s.h {
                    x < s.h && x >= h_new
                } else {
                    false
                };
                if crossed {
                    let nearer = match hit {
                        None => true,
                        Some((y, _)) => (x - s.h).abs() < (y - s.h).abs(),
                    };
                    if nearer {
                        hit = Some((x, is_target));
                    }
                }
            };
            for &b in self.vertical.breaks() {
                consider(b, false);
            }
            if let Some(x) = target {
                consider(x, true);
            }
            if let Some((x, is_target)) = hit {
                let tau = self.time_to(s.h, x, dt);
                s = self.rk4(s, tau, Some(x), self.vertical.stages(s.h, tau))?;
                if is_target {
                    return Ok((s, End::Altitude));
                }
                continue;
            }
            s = self.rk4(s, dt, None, stages)?;
            if t_next == t_stop {
                if t_end.is_some_and(|t| t <= self.t_limit) {
                    return Ok((s, End::Time));
                }
                return Err(Error::NotLanded {
                    max_duration_s: self.t_limit - self.t0,
                    alt_m: s.h,
                    phase: self.phase,
                });
            }
            rec.push(s.point(self.phase, None));
            k += 1.0;
        }
    }

    /// The step length τ in (0, dt] at which the RK4 altitude from `h`
    /// equals `x`, given that the full step crosses it. Safeguarded false
    /// position (Illinois) to 1e-9 m.
    fn time_to(&self, h: f64, x: f64, dt: f64) -> f64 {
        let f = |tau: f64| self.vertical.end_alt(h, tau) - x;
        let (mut a, mut fa) = (0.0, h - x);
        let (mut b, mut fb) = (dt, f(dt));
        if fb == 0.0 {
            return dt;
        }
        let mut side = 0i8;
        for _ in 0..200 {
            let mut c = (a * fb - b * fa) / (fb - fa);
            if !(c > a && c < b) {
                c = 0.5 * (a + b);
            }
            let fc = f(c);
            if fc.abs() < 1e-9 || (b - a) < 1e-12 * dt.max(1.0) {
                return c;
            }
            if (fc > 0.0) == (fb > 0.0) {
                b = c;
                fb = fc;
                if side == 1 {
                    fa *= 0.5;
                }
                side = 1;
            } else {
                a = c;
                fa = fc;
                if side == -1 {
                    fb *= 0.5;
                }
                side = -1;
            }
        }
        0.5 * (a + b)
    }

    /// One RK4 step of the full state, given the vertical stages of that
    /// step (`Vertical::stages(s.h, dt)`).
    #[inline]
    /// `end`: the altitude the step is known to end at (a root-found
    /// phase end or layer bound), which then replaces the RK4 altitude that
    /// differs from it by the root finder's tolerance.
    fn rk4(
        &mut self,
        s: State,
        dt: f64,
        end: Option<f64>,
        (mut hs, h_rk4): ([f64; 4], f64),
    ) -> Result<State, Error> {
        let h_end = end.unwrap_or(h_rk4);
        // The motion within a step is monotone, so the true altitude stays
        // between the step's ends; an RK4 stage may overshoot them by a
        // hair (below the ground at a landing, above a float altitude).
        // Winds are looked up inside the range, so that a field whose data
        // ends there is not asked for air the flight never reaches.
        let (lo, hi) = (s.h.min(h_end), s.h.max(h_end));
        for h in &mut hs {
            *h = h.clamp(lo, hi);
        }
        let half = 0.5 * dt;
        let (a1, b1) = self.deriv(s.t, s.lat, s.lon, hs[0])?;
        let (a2, b2) = self.deriv(s.t + half, s.lat + half * a1, s.lon + half * b1, hs[1])?;
        let (a3, b3) = self.deriv(s.t + half, s.lat + half * a2, s.lon + half * b2, hs[2])?;
        let (a4, b4) = self.deriv(s.t + dt, s.lat + dt * a3, s.lon + dt * b3, hs[3])?;
        let lat = s.lat + dt / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4);
        let lon = s.lon + dt / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4);
        let t = s.t + dt;
        if lat.is_nan() || lat.abs() > MAX_ABS_LAT {
            return Err(Error::NearPole {
                t_unix_s: t,
                lat_deg: lat,
            });
        }
        Ok(State {
            t,
            lat,
            lon,
            h: h_end,
        })
    }

    /// dlat/dt and dlon/dt in degrees per second.
    #[inline]
    fn deriv(&mut self, t: f64, lat: f64, lon: f64, h: f64) -> Result<(f64, f64), Error> {
        if lat.is_nan() || lat.abs() > MAX_ABS_LAT {
            return Err(Error::NearPole {
                t_unix_s: t,
                lat_deg: lat,
            });
        }
        // The factors from m/s to degrees/s depend only on the position:
        // computed beside the wind lookup, so the divisions are not on the
        // path from one RK4 stage to the next.
        let r = EARTH_RADIUS_M + h;
        let per_north = DEG_PER_RAD / r;
        let per_east = DEG_PER_RAD / (r * cos_lat(lat));
        let w = self
            .field
            .wind_near(t, lat, lon, h, &mut self.hint)
            .map_err(|source| Error::LeftData {
                phase: self.phase,
                t_unix_s: t,
                lat_deg: lat,
                lon_deg: lon,
                alt_m: h,
                source,
            })?;
        if !(w.u.is_finite() && w.v.is_finite()) {
            return Err(Error::BadWind {
                t_unix_s: t,
                lat_deg: lat,
                lon_deg: lon,
                alt_m: h,
            });
        }
        Ok((w.v * per_north, w.u * per_east))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_lat_matches_libm() {
        let (mut worst, mut worst_abs) = (0.0f64, 0.0f64);
        let n = 200_000;
        for i in 0..=n {
            let lat = -MAX_ABS_LAT + 2.0 * MAX_ABS_LAT * i as f64 / n as f64;
            let want = (lat * RAD_PER_DEG).cos();
            worst = worst.max((cos_lat(lat) - want).abs() / want);
            worst_abs = worst_abs.max((cos_lat(lat) - want).abs());
        }
        assert!(worst_abs < 4e-16, "worst absolute error {worst_abs:e}");
        assert!(worst < 3e-14, "worst relative error {worst:e}");
        assert_eq!(cos_lat(0.0), 1.0);
        assert!((cos_lat(90.0)).abs() < 1e-16);
    }
}
