//! `baram flight predict`: parses the launch and physics options, calls
//! `baram_flight`, writes GeoJSON / KML / CSV and prints the landing.

use crate::output::Ctx;
use anyhow::{Context, Result, bail};
use baram_flight::geo::{self, NaturalEarth};
use baram_flight::model::{
    self, Ascent, Balloon, Descent, FlightSpec, Float, FloatKind, Gas, Launch, LeafletCloud,
    Release,
};
use baram_flight::output;
use baram_flight::wind::{Cube, WindField};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum FlightCmd {
    /// Where a balloon launched here and now goes and lands.
    Predict(PredictArgs),
}

/// The launch and the balloon: shared by every flight command.
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

/// The flight specification the options describe.
pub fn spec(a: &FlightArgs) -> Result<FlightSpec> {
    let (lat, lon) = pair(&a.launch, "--launch")?;
    let t = output::parse_iso8601(&a.time).map_err(|e| anyhow::anyhow!("--time: {e}"))?;
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
        other => other,
    }
}

/// The model's error, with its argument named as the option.
pub fn explain(e: model::Error) -> anyhow::Error {
    match &e {
        model::Error::Argument { arg, problem } => {
            anyhow::anyhow!("{}: {problem}", option_name(arg))
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
