//! `baram flight predict`: parses the launch and physics options, calls
//! `baram_flight`, writes GeoJSON / KML / CSV and prints the landing.

use crate::output::Ctx;
use anyhow::{Context, Result, bail};
use baram_flight::ensemble::{self, EnsembleResult, EnsembleSpec, Spreads, WindError};
use baram_flight::geo::{self, Area, NaturalEarth};
use baram_flight::model::{
    self, Ascent, Balloon, Descent, FlightSpec, Float, FloatKind, Gas, Launch, LeafletCloud,
    Release,
};
use baram_flight::output;
use baram_flight::report::{self, ReportInput};
use baram_flight::wind::{Cube, WindField};
use baram_flight::windows::{self, WindowsResult, WindowsSpec};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum FlightCmd {
    /// Where a balloon launched here and now goes and lands.
    Predict(Box<PredictArgs>),
    /// Monte Carlo over the balloon's numbers and the forecast's error: the
    /// probability of landing in each area, airport passes, inland reach.
    Ensemble(Box<EnsembleArgs>),
    /// Candidate launch times within the forecast, ranked by the chance of
    /// reaching the target, with safety limits as hard filters.
    Windows(Box<WindowsArgs>),
}

/// The launch and the balloon: shared by `predict` and `ensemble`.
#[derive(Args, Debug, Clone)]
pub struct FlightArgs {
    /// The wind cube (from `baram wind import` or `baram wind synth`).
    #[arg(long)]
    pub cube: PathBuf,
    /// Launch point, "LAT,LON" in degrees (north, east).
    #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
    pub launch: String,
    /// Launch time, ISO 8601 UTC (2011-01-15T12:00:00Z).
    #[arg(long)]
    pub time: String,
    #[command(flatten)]
    pub balloon: BalloonArgs,
}

/// The balloon, its payload and the integration: everything of a flight
/// but where and when it starts (shared by every flight command).
#[derive(Args, Debug, Clone)]
pub struct BalloonArgs {
    /// Launch altitude above sea level, m.
    #[arg(long, default_value_t = 0.0)]
    pub launch_alt: f64,
    /// Constant ascent rate, m/s (ignored with --balloon).
    #[arg(long, default_value_t = 5.0, allow_hyphen_values = true)]
    pub ascent_rate: f64,
    /// Burst altitude, m (constant-rate ascent).
    #[arg(long, default_value_t = 30_000.0, allow_hyphen_values = true)]
    pub burst_alt: f64,
    /// Balloon physics instead of a constant rate: "GAS,BALLOON_KG,PAYLOAD_KG,FREE_LIFT_KG,BURST_DIAMETER_M"
    /// (GAS: he or h2), drag coefficient 0.3.
    #[arg(long, value_name = "SPEC")]
    pub balloon: Option<String>,
    /// Float at this altitude (m) instead of bursting.
    #[arg(long, allow_hyphen_values = true)]
    pub float_alt: Option<f64>,
    /// With --float-alt: a super-pressure balloon leaking this % of lift per hour
    /// (default: zero-pressure, holding its altitude).
    #[arg(long, requires = "float_alt")]
    pub leak: Option<f64>,
    /// Release the payload this many minutes after launch.
    #[arg(long, allow_hyphen_values = true)]
    pub release_timer: Option<f64>,
    /// Release the payload when the balloon reaches this altitude, m.
    #[arg(long, conflicts_with = "release_timer", allow_hyphen_values = true)]
    pub release_alt: Option<f64>,
    /// Sea-level descent rate, m/s (scaled by air density aloft).
    #[arg(long, default_value_t = 5.0, allow_hyphen_values = true)]
    pub descent_rate: f64,
    /// Loose leaflets instead of one payload: how many to follow.
    #[arg(long)]
    pub leaflets: Option<u32>,
    /// Spread of the leaflets' sea-level descent rates, ± m/s.
    #[arg(long, default_value_t = 0.5, requires = "leaflets")]
    pub leaflet_spread: f64,
    /// Seed of the leaflets' descent rates.
    #[arg(long, default_value_t = 1)]
    pub leaflet_seed: u64,
    /// Integration step, s.
    #[arg(long, default_value_t = 30.0)]
    pub step: f64,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    flight: FlightArgs,
    /// Write the trajectory as GeoJSON.
    #[arg(long)]
    geojson: Option<PathBuf>,
    /// Write the trajectory as KML (Google Earth).
    #[arg(long)]
    kml: Option<PathBuf>,
    /// Write the trajectory as CSV.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Benchmarks: predict this many times in the process and report the
    /// median time of one prediction (`timing` in --json).
    #[arg(long, hide = true)]
    repeat: Option<u32>,
}

pub fn run(cmd: &FlightCmd, ctx: &Ctx) -> Result<ExitCode> {
    match cmd {
        FlightCmd::Predict(a) => predict(a, ctx),
        FlightCmd::Ensemble(a) => ensemble_cmd(a, ctx),
        FlightCmd::Windows(a) => windows_cmd(a, ctx),
    }
}

fn pair(s: &str, arg: &str) -> Result<(f64, f64)> {
    let bad = || anyhow::anyhow!("{arg} {s:?}: give \"LAT,LON\" in degrees, e.g. 37.75,126.48");
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    if !a.is_finite() || !b.is_finite() {
        return Err(bad());
    }
    Ok((a, b))
}

/// An ISO 8601 time given as `option`.
fn time_arg(s: &str, option: &str) -> Result<f64> {
    output::parse_iso8601(s).map_err(|e| anyhow::anyhow!("{option}: {e}"))
}

/// The flight specification the options describe.
pub fn spec(a: &FlightArgs) -> Result<FlightSpec> {
    let (lat, lon) = pair(&a.launch, "--launch")?;
    let t = time_arg(&a.time, "--time")?;
    balloon_spec(&a.balloon, lat, lon, t)
}

/// The flight of the balloon options launched at (lat, lon) at `t`.
pub fn balloon_spec(a: &BalloonArgs, lat: f64, lon: f64, t: f64) -> Result<FlightSpec> {
    let ascent = match &a.balloon {
        None => Ascent::ConstantRate {
            rate_m_s: a.ascent_rate,
            burst_altitude_m: a.burst_alt,
        },
        Some(b) => {
            let parts: Vec<&str> = b.split(',').map(str::trim).collect();
            let bad = || {
                anyhow::anyhow!(
                    "--balloon {b:?}: give GAS,BALLOON_KG,PAYLOAD_KG,FREE_LIFT_KG,BURST_DIAMETER_M, e.g. he,0.35,0.5,0.3,4.5"
                )
            };
            if parts.len() != 5 {
                return Err(bad());
            }
            let gas = match parts[0] {
                "he" | "helium" => Gas::Helium,
                "h2" | "hydrogen" => Gas::Hydrogen,
                _ => return Err(bad()),
            };
            let n = |i: usize| parts[i].parse::<f64>().map_err(|_| bad());
            Ascent::Balloon(Balloon {
                gas,
                balloon_mass_kg: n(1)?,
                payload_mass_kg: n(2)?,
                free_lift_kg: n(3)?,
                burst_diameter_m: n(4)?,
                drag_coefficient: 0.3,
            })
        }
    };
    let descent = match a.leaflets {
        None => Descent::Payload {
            sea_level_rate_m_s: a.descent_rate,
        },
        Some(count) => Descent::Leaflets(LeafletCloud {
            count,
            sea_level_rate_m_s: a.descent_rate,
            spread_m_s: a.leaflet_spread,
            seed: a.leaflet_seed,
        }),
    };
    let mut spec = FlightSpec::new(
        Launch {
            lat_deg: lat,
            lon_deg: lon,
            time_unix_s: t,
            alt_m: a.launch_alt,
        },
        ascent,
        descent,
    );
    spec.step_s = a.step;
    spec.float = a.float_alt.map(|altitude_m| Float {
        altitude_m,
        kind: match a.leak {
            None => FloatKind::ZeroPressure,
            Some(p) => FloatKind::SuperPressure {
                leak_percent_per_hour: p,
            },
        },
    });
    spec.release = match (a.release_timer, a.release_alt) {
        (Some(m), _) => Release::Timer {
            minutes_after_launch: m,
        },
        (None, Some(h)) => Release::Altitude { altitude_m: h },
        (None, None) => Release::AtBurst,
    };
    if spec.float.is_some() && spec.release == Release::AtBurst {
        bail!(
            "--float-alt: a floating balloon does not burst; give --release-timer MINUTES or --release-alt METRES"
        );
    }
    Ok(spec)
}

/// Option names for the model's argument paths, so errors name what the
/// user typed.
pub fn option_name(arg: &str) -> &str {
    match arg {
        a if a.starts_with("launch.lat") || a.starts_with("launch.lon") => "--launch",
        a if a.starts_with("launch.time") => "--time",
        a if a.starts_with("launch.alt") => "--launch-alt",
        "ascent.rate_m_s" => "--ascent-rate",
        "ascent.burst_altitude_m" => "--burst-alt",
        a if a.starts_with("ascent.") => "--balloon",
        a if a.starts_with("float.leak") => "--leak",
        a if a.starts_with("float.") => "--float-alt",
        a if a.starts_with("release.minutes") => "--release-timer",
        a if a.starts_with("release.") => "--release-alt",
        "descent.count" => "--leaflets",
        a if a.starts_with("descent.spread") => "--leaflet-spread",
        a if a.starts_with("descent.") => "--descent-rate",
        "step_s" => "--step",
        "members" => "--members",
        "spreads.ascent_rel" => "--ascent-spread",
        "spreads.burst_altitude_m" => "--burst-spread",
        "spreads.float_altitude_m" => "--float-spread",
        "spreads.timer_minutes" => "--timer-spread",
        "spreads.descent_rel" => "--descent-spread",
        "wind_error.sigma0_m_s" => "--wind-error",
        "wind_error.growth_m_s_per_h" => "--wind-error-growth",
        "wind_error.max_m_s" => "--wind-error-max",
        "wind_error.correlation_length_km" => "--wind-error-km",
        "wind_error.correlation_time_h" => "--wind-error-hours",
        "wind_error.forecast_run_unix_s" => "--forecast-run",
        "threads" => "--threads",
        "airport_radius_m" => "--airport-km",
        "airport_below_m" => "--airport-below-m",
        "density_cell_deg" => "--density-cell",
        other => other,
    }
}

/// [`option_name`] for `flight windows`, whose launch point is `--site` and
/// whose first launch time is `--from`.
pub fn windows_option_name(arg: &str) -> &str {
    match arg {
        a if a.starts_with("launch.lat") || a.starts_with("launch.lon") => "--site",
        a if a.starts_with("launch.time") => "--from",
        other => option_name(other),
    }
}

/// The model's error, with its argument named as the option.
pub fn explain(e: model::Error) -> anyhow::Error {
    explain_with(e, option_name)
}

fn explain_with(e: model::Error, name: fn(&str) -> &str) -> anyhow::Error {
    match &e {
        model::Error::Argument { arg, problem } => {
            anyhow::anyhow!("{}: {problem}", name(arg))
        }
        _ => anyhow::Error::new(e),
    }
}

pub fn open_cube(path: &Path) -> Result<Cube> {
    Cube::open(path).with_context(|| format!("{}: cannot use it as a wind cube", path.display()))
}

fn predict(a: &PredictArgs, ctx: &Ctx) -> Result<ExitCode> {
    let spec = spec(&a.flight)?;
    let cube = open_cube(&a.flight.cube)?;
    let traj = model::predict(&spec, &cube).map_err(explain)?;
    let timing = a.repeat.filter(|&n| n > 0).map(|n| {
        let mut ms: Vec<f64> = (0..n)
            .map(|_| {
                let t0 = std::time::Instant::now();
                let r = model::predict(&spec, &cube);
                let dt = t0.elapsed().as_secs_f64() * 1e3;
                std::hint::black_box(r.ok());
                dt
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        Timing {
            runs: n,
            median_ms: ms[ms.len() / 2],
            min_ms: ms[0],
        }
    });
    let areas = NaturalEarth;
    if let Some(p) = &a.geojson {
        write(p, &output::geojson(&traj, Some(&areas)))?;
    }
    if let Some(p) = &a.kml {
        write(p, &output::kml(&traj, Some(&areas)))?;
    }
    if let Some(p) = &a.csv {
        write(p, &output::csv(&traj))?;
    }
    let l = traj.landing();
    let area = geo::area_at(l.lat_deg, l.lon_deg);
    let duration_s = l.t_unix_s - spec.launch.time_unix_s;
    #[derive(serde::Serialize)]
    struct Landing {
        lat: f64,
        lon: f64,
        time: String,
        area: &'static str,
        area_name: &'static str,
        flight_seconds: f64,
        distance_km: f64,
    }
    #[derive(serde::Serialize)]
    struct Report {
        landing: Landing,
        #[serde(skip_serializing_if = "Option::is_none")]
        timing: Option<Timing>,
        leaflets: Vec<[f64; 2]>,
        winds_held_steady: bool,
        ground: &'static str,
        cube: String,
    }
    let rep = Report {
        timing,
        landing: Landing {
            lat: l.lat_deg,
            lon: l.lon_deg,
            time: output::iso8601(l.t_unix_s),
            area: area.code(),
            area_name: area.name_en(),
            flight_seconds: duration_s,
            distance_km: geo::haversine_m(
                spec.launch.lat_deg,
                spec.launch.lon_deg,
                l.lat_deg,
                l.lon_deg,
            ) / 1000.0,
        },
        leaflets: traj
            .falls()
            .iter()
            .map(|f| [f.landing().lat_deg, f.landing().lon_deg])
            .collect(),
        winds_held_steady: cube.steady(),
        ground: traj.ground().describe(),
        cube: a.flight.cube.display().to_string(),
    };
    ctx.say(format!(
        "lands at {:.4} N {:.4} E ({}, {}) at {}, {:.1} h after launch, {:.0} km from the launch point",
        l.lat_deg,
        l.lon_deg,
        area.code(),
        area.name_ko(),
        rep.landing.time,
        duration_s / 3600.0,
        rep.landing.distance_km
    ));
    if traj.falls().len() > 1 {
        let mut counts = std::collections::BTreeMap::new();
        for f in traj.falls() {
            *counts
                .entry(geo::area_at(f.landing().lat_deg, f.landing().lon_deg).code())
                .or_insert(0) += 1;
        }
        ctx.say(format!(
            "{} leaflets: {}",
            traj.falls().len(),
            counts
                .iter()
                .map(|(a, n)| format!("{a} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if cube.steady() {
        ctx.say("note: the wind data has one forecast time: winds are held steady over the flight");
    }
    ctx.say(format!("note: ground at {}", traj.ground().describe()));
    ctx.json(&rep);
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct Timing {
    runs: u32,
    median_ms: f64,
    min_ms: f64,
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

// ---------------------------------------------------------------------------
// Ensembles and launch windows

/// The ensemble's options: members, spreads, wind error, safety checks and
/// the report (shared by `ensemble` and `windows`).
#[derive(Args, Debug, Clone)]
pub struct EnsembleOpts {
    /// Members of the ensemble (of each candidate's, for `windows`).
    #[arg(long, default_value_t = 1000)]
    pub members: u32,
    /// Seed: the same seed and inputs give the same result on any machine.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Spread (σ) of the ascent rate, % (for --balloon: of the free lift's effect).
    #[arg(long, default_value_t = Spreads::default().ascent_rel * 100.0, allow_hyphen_values = true)]
    pub ascent_spread: f64,
    /// Spread (σ) of the burst altitude, m.
    #[arg(long, default_value_t = Spreads::default().burst_altitude_m, allow_hyphen_values = true)]
    pub burst_spread: f64,
    /// Spread (σ) of the float altitude, m.
    #[arg(long, default_value_t = Spreads::default().float_altitude_m, allow_hyphen_values = true)]
    pub float_spread: f64,
    /// Spread (σ) of the release timer, minutes.
    #[arg(long, default_value_t = Spreads::default().timer_minutes, allow_hyphen_values = true)]
    pub timer_spread: f64,
    /// Spread (σ) of the descent rate, %.
    #[arg(long, default_value_t = Spreads::default().descent_rel * 100.0, allow_hyphen_values = true)]
    pub descent_spread: f64,
    /// Wind forecast error (σ per component) at the forecast's run time, m/s
    /// (0 with --wind-error-growth 0: no wind error).
    #[arg(long, default_value_t = WindError::default().sigma0_m_s, allow_hyphen_values = true)]
    pub wind_error: f64,
    /// Growth of the wind error per hour of forecast lead time, m/s.
    #[arg(long, default_value_t = WindError::default().growth_m_s_per_h, allow_hyphen_values = true)]
    pub wind_error_growth: f64,
    /// Largest wind error (σ per component), m/s.
    #[arg(long, default_value_t = WindError::default().max_m_s, allow_hyphen_values = true)]
    pub wind_error_max: f64,
    /// Horizontal correlation length of the wind error, km.
    #[arg(long, default_value_t = WindError::default().correlation_length_km, allow_hyphen_values = true)]
    pub wind_error_km: f64,
    /// Correlation time of the wind error, hours.
    #[arg(long, default_value_t = WindError::default().correlation_time_h, allow_hyphen_values = true)]
    pub wind_error_hours: f64,
    /// The forecast's run (analysis) time, ISO 8601, from which its lead
    /// time and error grow (default: the run time the cube records).
    #[arg(long, value_name = "ISO8601")]
    pub forecast_run: Option<String>,
    /// Worker threads (default: every available core). The result does not
    /// depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Airport check: radius around each airport, km.
    #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
    pub airport_km: f64,
    /// Airport check: only below this altitude, m.
    #[arg(long, default_value_t = 10_000.0, allow_hyphen_values = true)]
    pub airport_below_m: f64,
    /// Cell of the landing density grid, degrees.
    #[arg(long, default_value_t = 0.1, allow_hyphen_values = true)]
    pub density_cell: f64,
    /// Write a self-contained HTML report (map, probabilities, every input;
    /// no network needed to open it).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The report's title: an operation's code name, never a person's.
    #[arg(long, default_value = "baram flight plan")]
    pub title: String,
}

#[derive(Args, Debug)]
pub struct EnsembleArgs {
    #[command(flatten)]
    flight: FlightArgs,
    #[command(flatten)]
    ens: EnsembleOpts,
}

#[derive(Args, Debug)]
pub struct WindowsArgs {
    /// The wind cube (from `baram wind import` or `baram wind synth`).
    #[arg(long)]
    cube: PathBuf,
    /// Launch site, "LAT,LON" in degrees (north, east); its altitude is --launch-alt.
    #[arg(long, value_name = "LAT,LON", allow_hyphen_values = true)]
    site: String,
    /// First candidate launch time, ISO 8601 UTC.
    #[arg(long, value_name = "ISO8601")]
    from: String,
    /// Last candidate launch time, ISO 8601 UTC.
    #[arg(long, value_name = "ISO8601")]
    to: String,
    /// Step between candidates: "1h", "30min", "90m", "600s" (a bare number is hours).
    #[arg(long, default_value = "1h")]
    every: String,
    /// Where the load should land: PRK, KOR, CHN, RUS, JPN or SEA.
    #[arg(long, default_value = "PRK")]
    target: String,
    /// Reject a launch time whose chance of landing in South Korea is above this, %.
    #[arg(long, default_value_t = 5.0, allow_hyphen_values = true)]
    max_own_side: f64,
    /// Reject a launch time whose share of failed members (landing unknown) is above this, %.
    #[arg(long, default_value_t = 5.0, allow_hyphen_values = true)]
    max_failed: f64,
    #[command(flatten)]
    balloon: BalloonArgs,
    #[command(flatten)]
    ens: EnsembleOpts,
}

fn percent(x: f64, option: &str) -> Result<f64> {
    if !(x.is_finite() && (0.0..=100.0).contains(&x)) {
        bail!("{option}: {x} is not a percentage in 0..100");
    }
    Ok(x / 100.0)
}

/// The ensemble around `base` the options describe. `forecast_run` is the
/// run time to count lead time from; `time_option` names the option the
/// launch time came from.
fn ensemble_spec(
    o: &EnsembleOpts,
    base: FlightSpec,
    cube: &Cube,
    time_option: &str,
) -> Result<EnsembleSpec> {
    let mut e = EnsembleSpec::new(base, o.members, o.seed);
    e.spreads = Spreads {
        ascent_rel: percent(o.ascent_spread, "--ascent-spread")?,
        burst_altitude_m: o.burst_spread,
        float_altitude_m: o.float_spread,
        timer_minutes: o.timer_spread,
        descent_rel: percent(o.descent_spread, "--descent-spread")?,
    };
    e.wind_error.sigma0_m_s = o.wind_error;
    e.wind_error.growth_m_s_per_h = o.wind_error_growth;
    e.wind_error.max_m_s = o.wind_error_max;
    e.wind_error.correlation_length_km = o.wind_error_km;
    e.wind_error.correlation_time_h = o.wind_error_hours;
    e.wind_error.forecast_run_unix_s = Some(match &o.forecast_run {
        Some(s) => time_arg(s, "--forecast-run")?,
        None => {
            let run = cube.meta().run_time as f64;
            if run > base.launch.time_unix_s {
                bail!(
                    "{time_option}: {} is before the forecast's run {} (the cube's run time); give --forecast-run to count lead time from another time",
                    output::iso8601(base.launch.time_unix_s),
                    output::iso8601(run)
                );
            }
            run
        }
    });
    if !(o.airport_km.is_finite() && o.airport_km >= 0.0) {
        bail!(
            "--airport-km: {} is not a distance of zero or more km",
            o.airport_km
        );
    }
    e.airport_radius_m = o.airport_km * 1000.0;
    e.airport_below_m = o.airport_below_m;
    e.density_cell_deg = o.density_cell;
    Ok(e)
}

fn threads(o: &EnsembleOpts) -> usize {
    o.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// What the report says the winds are.
fn wind_source(cube: &Cube) -> String {
    let m = cube.meta();
    let steady = if m.steady() {
        format!(
            "one valid time ({}): winds held steady",
            baram_flight::wind::format_time(m.times[0])
        )
    } else {
        format!(
            "{} valid times, {} to {}",
            m.times.len(),
            baram_flight::wind::format_time(m.times[0]),
            baram_flight::wind::format_time(*m.times.last().expect("a time"))
        )
    };
    format!(
        "{}; run {}; {steady}",
        m.source,
        baram_flight::wind::format_time(m.run_time)
    )
}

/// A progress bar for work without steps: it shows (after a second) that
/// the work goes on and how long it has taken.
fn busy(ctx: &Ctx, what: &str) -> indicatif::ProgressBar {
    let pb = ctx.progress(1, what);
    pb.enable_steady_tick(std::time::Duration::from_millis(250));
    pb
}

fn pct(p: f64) -> String {
    format!("{:5.1} %", 100.0 * p)
}

/// The area table of an ensemble, PRK first, with counts; then the failed
/// members.
pub(crate) fn say_areas(ctx: &Ctx, r: &EnsembleResult) {
    ctx.say(format!(
        "   {:<4} {:<16} {:>8} {:>9}",
        "area", "", "members", "P"
    ));
    for a in &r.areas {
        ctx.say(format!(
            "   {:<4} {:<16} {:>8} {:>9}  {}",
            a.area,
            a.name_en,
            a.count,
            pct(a.probability),
            a.name_ko
        ));
    }
    ctx.say(format!(
        "   {:<4} {:<16} {:>8} {:>9}  (where they come down is unknown)",
        "-",
        "failed",
        r.failed,
        pct(r.failed_probability)
    ));
}

fn say_ensemble(ctx: &Ctx, r: &EnsembleResult, spec: &EnsembleSpec) {
    let l = spec.base.launch;
    ctx.say(format!(
        "ensemble: {} members, seed {}, launched at {:.4} N {:.4} E ({:.0} m) at {}",
        r.members,
        r.seed,
        l.lat_deg,
        l.lon_deg,
        l.alt_m,
        output::iso8601(l.time_unix_s)
    ));
    say_areas(ctx, r);
    if r.failed > 0 {
        let kinds: Vec<String> = r
            .failure_kinds
            .iter()
            .map(|k| format!("{} {}", k.count, k.kind))
            .collect();
        ctx.say(format!(
            "failed: {} members: {}",
            r.failed,
            kinds.join(", ")
        ));
        for f in r.failures.iter().take(5) {
            ctx.say(format!("   member {}: {}", f.member, f.reason));
        }
    }
    let a = &r.airports;
    if a.members == 0 {
        ctx.say(format!(
            "airports: no member passes within {:.0} km of an airport below {:.0} m",
            a.radius_m / 1000.0,
            a.below_m
        ));
    } else {
        let names: Vec<String> = a
            .airports
            .iter()
            .map(|x| {
                let code = x.iata.as_deref().or(x.icao.as_deref()).unwrap_or("-");
                format!("{} ({code}) {}", x.name, x.count)
            })
            .collect();
        ctx.say(format!(
            "airports: {} members ({:.1} %) pass within {:.0} km of an airport below {:.0} m: {}",
            a.members,
            100.0 * a.share,
            a.radius_m / 1000.0,
            a.below_m,
            names.join(", ")
        ));
    }
    let i = &r.inland;
    match (i.median_km, i.p90_km, i.max_km) {
        (Some(m), Some(p), Some(x)) => {
            let beyond: Vec<String> = i
                .beyond
                .iter()
                .map(|b| format!("{:.0} km {:.1} %", b.km, 100.0 * b.share))
                .collect();
            ctx.say(format!(
                "inland reach (landings in North Korea, distance from the MDL): median {m:.0} km, 90 % within {p:.0} km, farthest {x:.0} km; of all members beyond {}",
                beyond.join(", ")
            ));
        }
        _ => ctx.say("inland reach: no member lands in North Korea"),
    }
    match &r.nominal {
        Ok(t) => {
            if let Some(p) = t.points.last() {
                ctx.say(format!(
                    "unperturbed flight: lands at {:.4} N {:.4} E ({})",
                    p[0],
                    p[1],
                    geo::area_at(p[0], p[1]).code()
                ));
            }
        }
        Err(e) => ctx.say(format!("unperturbed flight: {e}")),
    }
    if let Some(run) = spec.wind_error.forecast_run_unix_s {
        let lead_h = (l.time_unix_s - run) / 3600.0;
        ctx.say(format!(
            "wind error: σ {:.1} m/s per component at launch ({lead_h:.0} h after the forecast's run {})",
            spec.wind_error.sigma_m_s(lead_h),
            output::iso8601(run)
        ));
    }
    if r.winds_held_steady {
        ctx.say("note: the wind data has one forecast time: winds are held steady over the flight");
    }
    ctx.say(format!("note: ground at {}", r.ground));
}

fn say_warnings(ctx: &Ctx, warnings: &[String]) {
    for w in warnings {
        ctx.say(format!("WARNING: {w}"));
    }
}

#[derive(serde::Serialize)]
struct EnsembleOut<'a> {
    #[serde(flatten)]
    result: &'a EnsembleResult,
    forecast_run: Option<String>,
    wind_source: String,
    warnings: Vec<String>,
    html: Option<String>,
}

fn ensemble_cmd(a: &EnsembleArgs, ctx: &Ctx) -> Result<ExitCode> {
    let base = spec(&a.flight)?;
    let cube = open_cube(&a.flight.cube)?;
    let espec = ensemble_spec(&a.ens, base, &cube, "--time")?;
    let pb = busy(ctx, &format!("ensemble of {} members", espec.members));
    let r = ensemble::run(&espec, &cube, threads(&a.ens));
    pb.finish_and_clear();
    let r = r.map_err(explain)?;
    let source = wind_source(&cube);
    let warnings: Vec<String> = windows::mdl_warning(base.launch.lat_deg, base.launch.lon_deg)
        .into_iter()
        .collect();
    say_warnings(ctx, &warnings);
    say_ensemble(ctx, &r, &espec);
    if let Some(p) = &a.ens.html {
        let html = report::html(&ReportInput {
            title: &a.ens.title,
            spec: &espec,
            result: &r,
            wind_source: &source,
            target: Area::Prk,
            windows: None,
        });
        write(p, &html)?;
        ctx.say(format!("report: {}", p.display()));
    }
    ctx.json(&EnsembleOut {
        result: &r,
        forecast_run: espec.wind_error.forecast_run_unix_s.map(output::iso8601),
        wind_source: source,
        warnings,
        html: a.ens.html.as_ref().map(|p| p.display().to_string()),
    });
    Ok(ExitCode::SUCCESS)
}

/// "1h", "30min", "90m", "600s", or a bare number of hours, in seconds.
fn duration_s(s: &str, option: &str) -> Result<f64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        anyhow::anyhow!("{option} {s:?}: give a duration such as 1h, 30min or 600s")
    })?;
    let scale = match unit.trim() {
        "" | "h" | "hour" | "hours" => 3600.0,
        "m" | "min" | "minutes" => 60.0,
        "s" | "sec" | "seconds" => 1.0,
        _ => bail!("{option} {s:?}: give a duration such as 1h, 30min or 600s"),
    };
    Ok(n * scale)
}

fn area_arg(s: &str, option: &str) -> Result<Area> {
    Area::from_code(&s.trim().to_ascii_uppercase())
        .filter(|a| *a != Area::Outside)
        .ok_or_else(|| anyhow::anyhow!("{option} {s:?}: give one of PRK, KOR, CHN, RUS, JPN, SEA"))
}

#[derive(serde::Serialize)]
struct WindowsOut<'a> {
    #[serde(flatten)]
    result: &'a WindowsResult,
    forecast_run: Option<String>,
    wind_source: String,
    html: Option<String>,
}

fn windows_cmd(a: &WindowsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let (lat, lon) = pair(&a.site, "--site")?;
    let from = time_arg(&a.from, "--from")?;
    let to = time_arg(&a.to, "--to")?;
    let every = duration_s(&a.every, "--every")?;
    let target = area_arg(&a.target, "--target")?;
    let base = balloon_spec(&a.balloon, lat, lon, from)?;
    let cube = open_cube(&a.cube)?;
    let espec = ensemble_spec(&a.ens, base, &cube, "--from")?;
    let mut w = WindowsSpec::new(espec, from, to);
    w.every_s = every;
    w.target = target;
    w.max_own_side = percent(a.max_own_side, "--max-own-side")?;
    w.max_failed = percent(a.max_failed, "--max-failed")?;
    let pb = busy(
        ctx,
        &format!("launch windows, {} members each", espec.members),
    );
    let r = windows::plan(&w, &cube, threads(&a.ens));
    pb.finish_and_clear();
    let r = r.map_err(|e| explain_with(e, windows_option_name))?;
    let source = wind_source(&cube);
    say_windows(ctx, &r, &w);
    if let Some(p) = &a.ens.html {
        // The map shows the best accepted candidate's ensemble, else the
        // first candidate's.
        let k = r.ranking.first().copied().unwrap_or(0);
        let mut shown = w.ensemble;
        shown.base.launch.time_unix_s = r.candidates[k].launch_unix_s;
        let title = format!(
            "{}: launch windows (map: launch at {})",
            a.ens.title, r.candidates[k].launch_time
        );
        let html = report::html(&ReportInput {
            title: &title,
            spec: &shown,
            result: &r.results[k],
            wind_source: &source,
            target,
            windows: Some(&r),
        });
        write(p, &html)?;
        ctx.say(format!(
            "report: {} (map: the ensemble launched at {})",
            p.display(),
            r.candidates[k].launch_time
        ));
    }
    ctx.json(&WindowsOut {
        result: &r,
        forecast_run: w
            .ensemble
            .wind_error
            .forecast_run_unix_s
            .map(output::iso8601),
        wind_source: source,
        html: a.ens.html.as_ref().map(|p| p.display().to_string()),
    });
    Ok(ExitCode::SUCCESS)
}

fn say_windows(ctx: &Ctx, r: &WindowsResult, w: &WindowsSpec) {
    // The MDL warning first, where it cannot be missed.
    let (mdl, other): (Vec<&String>, Vec<&String>) =
        r.warnings.iter().partition(|m| m.contains("Demarcation"));
    for m in &mdl {
        ctx.say(format!("!! WARNING: {m}"));
    }
    ctx.say(format!(
        "launch windows at {:.4} N {:.4} E: {} candidates from {} to {} every {:.0} min, {} members each (seed {})",
        r.site_lat_deg,
        r.site_lon_deg,
        r.candidates.len(),
        output::iso8601(w.from_unix_s),
        output::iso8601(w.to_unix_s),
        r.every_s / 60.0,
        r.members,
        r.seed
    ));
    ctx.say(format!(
        "limits: P({}) at most {:.1} %; no member within {:.0} km of an airport below {:.0} m; at most {:.1} % failed",
        r.own_side,
        100.0 * r.max_own_side,
        r.airport_radius_m / 1000.0,
        r.airport_below_m,
        100.0 * r.max_failed
    ));
    ctx.say(format!(
        "   {:>4}  {:<24} {:>8} {:>8} {:>8} {:>8}  verdict",
        "rank",
        "launch (UTC)",
        format!("P({})", r.target),
        format!("P({})", r.own_side),
        "failed",
        "airports"
    ));
    for c in &r.candidates {
        ctx.say(format!(
            "   {:>4}  {:<24} {:>8} {:>8} {:>8} {:>8}  {}",
            c.rank.map_or("-".to_string(), |k| k.to_string()),
            c.launch_time,
            pct(c.p_target),
            pct(c.p_own_side),
            pct(c.p_failed),
            c.airport_members,
            if c.accepted { "ok" } else { "REJECTED" }
        ));
        for reason in &c.reasons {
            ctx.say(format!("         rejected: {reason}"));
        }
    }
    match r.best() {
        Some(b) => ctx.say(format!(
            "best: launch at {}: P({}) {:.1} %, P({}) {:.1} %",
            b.launch_time,
            r.target,
            100.0 * b.p_target,
            r.own_side,
            100.0 * b.p_own_side
        )),
        None => ctx.say("best: none"),
    }
    for m in other {
        ctx.say(format!("note: {m}"));
    }
    ctx.say("note: the operator answers for local law; baram only makes the risk visible");
}
