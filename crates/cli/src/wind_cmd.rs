//! `baram wind import | synth`: parses, calls `baram_flight::wind`, prints.

use crate::output::Ctx;
use anyhow::{Result, bail};
use baram_flight::wind::{self, Cube, CubeMeta, ImportOptions, ImportReport, Region, synth};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum WindCmd {
    /// Build a wind cube (HGT, UGRD, VGRD on every isobaric level) from GRIB2 forecasts.
    Import(ImportArgs),
    /// Write an analytic wind cube (uniform, shear, rotation) to check numerics.
    Synth(SynthArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// GRIB2 files: every forecast hour of one run, one grid.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The cube file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Crop to LAT0,LAT1,LON0,LON1 (degrees; west to east, not across 0°/360°).
    #[arg(long, value_name = "LAT0,LAT1,LON0,LON1", allow_hyphen_values = true)]
    region: Option<Region>,
    /// For wind levels without geopotential height (JMA MEPS), use the
    /// standard atmosphere's height (recorded in the cube) instead of refusing.
    #[arg(long)]
    std_atmosphere: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Kind {
    Uniform,
    Shear,
    Rotation,
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    #[arg(long, value_enum)]
    kind: Kind,
    /// The cube file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Region LAT0,LAT1,LON0,LON1 (degrees).
    #[arg(long, default_value = "31,45,117,134", allow_hyphen_values = true)]
    region: Region,
    /// Grid spacing, degrees.
    #[arg(long, default_value_t = 0.5)]
    step: f64,
    /// First valid time, Unix seconds.
    #[arg(long, default_value_t = 1_704_067_200, allow_hyphen_values = true)]
    start: i64,
    /// Hours covered (0: one valid time, steady winds).
    #[arg(long, default_value_t = 48)]
    hours: u32,
    /// Hours between valid times.
    #[arg(long, default_value_t = 3)]
    every: u32,
    /// uniform, shear: eastward wind (at altitude 0 for shear), m/s.
    #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
    u: f64,
    /// uniform, shear: northward wind, m/s.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    v: f64,
    /// shear: dU/dz, 1/s.
    #[arg(long, default_value_t = 0.002, allow_hyphen_values = true)]
    du_dz: f64,
    /// shear: dV/dz, 1/s.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    dv_dz: f64,
    /// rotation: centre LAT,LON.
    #[arg(long, default_value = "38,125.5", allow_hyphen_values = true)]
    center: String,
    /// rotation: angular velocity, rad/s (positive anticlockwise).
    #[arg(long, default_value_t = 1e-5, allow_hyphen_values = true)]
    omega: f64,
}

pub fn run(cmd: &WindCmd, ctx: &Ctx) -> Result<ExitCode> {
    match cmd {
        WindCmd::Import(a) => import(a, ctx),
        WindCmd::Synth(a) => synth_cmd(a, ctx),
    }
}

#[derive(Serialize)]
struct ImportOut<'a> {
    output: String,
    bytes_written: u64,
    seconds: f64,
    mb_per_s: f64,
    steady: bool,
    cube: &'a CubeMeta,
    report: &'a ImportReport,
}

fn import(a: &ImportArgs, ctx: &Ctx) -> Result<ExitCode> {
    let opts = ImportOptions {
        region: a.region,
        std_atmosphere_heights: a.std_atmosphere,
    };
    let total: u64 = a
        .files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let pb = ctx.progress(total, "import");
    let start = Instant::now();
    let (cube, report) = wind::import(&a.files, &opts, &mut |done, _| pb.set_position(done))?;
    pb.finish_and_clear();
    let written = cube.write(&a.output)?;
    let secs = start.elapsed().as_secs_f64();
    let mbs = report.bytes as f64 / 1e6 / secs.max(1e-9);
    if ctx.json {
        ctx.json(&ImportOut {
            output: a.output.display().to_string(),
            bytes_written: written,
            seconds: secs,
            mb_per_s: mbs,
            steady: cube.meta().steady(),
            cube: cube.meta(),
            report: &report,
        });
        return Ok(ExitCode::SUCCESS);
    }
    say_cube(ctx, &a.output, &cube, written);
    ctx.say(format!(
        "read: {} files, {} messages, {} sub-messages ({} used, {} other fields, {} skipped)",
        report.files.len(),
        report.messages,
        report.submessages,
        report.used,
        report.not_needed,
        report.skipped.len()
    ));
    for s in &report.skipped {
        ctx.say(format!(
            "skipped: {} message {} sub-message {} (byte {}): {}: {}",
            s.file, s.message, s.submessage, s.offset, s.what, s.note
        ));
    }
    for n in &report.notes {
        ctx.say(format!("note: {n}"));
    }
    ctx.say(format!(
        "{:.1} MB in {secs:.2} s ({mbs:.0} MB/s)",
        report.bytes as f64 / 1e6
    ));
    Ok(ExitCode::SUCCESS)
}

fn say_cube(ctx: &Ctx, path: &Path, cube: &Cube, written: u64) {
    let m = cube.meta();
    let g = &m.grid;
    ctx.say(format!("wrote {} ({written} bytes)", path.display()));
    ctx.say(format!(
        "grid: {} x {} points, {}..{} N by {}°, {}..{} E by {}°",
        g.nlat,
        g.nlon,
        g.lat0,
        g.lat_last(),
        g.dlat,
        g.lon0,
        g.lon_last(),
        g.dlon
    ));
    let levels: Vec<String> = m.levels_hpa.iter().map(|l| l.to_string()).collect();
    ctx.say(format!(
        "levels: {} ({} hPa)",
        levels.len(),
        levels.join(", ")
    ));
    let std = m.std_atmosphere_levels();
    if !std.is_empty() {
        let s: Vec<String> = std.iter().map(|l| l.to_string()).collect();
        ctx.say(format!(
            "heights from the standard atmosphere at: {} hPa",
            s.join(", ")
        ));
    }
    let first = wind::format_time(m.times[0]);
    let last = wind::format_time(*m.times.last().expect("a time"));
    if m.steady() {
        ctx.say(format!(
            "times: 1 ({first}): STEADY, winds are held constant in time"
        ));
    } else {
        ctx.say(format!("times: {} ({first} to {last})", m.times.len()));
    }
    ctx.say(format!("run: {}", wind::format_time(m.run_time)));
    ctx.say(format!("source: {}", m.source));
}

#[derive(Serialize)]
struct SynthOut<'a> {
    output: String,
    bytes_written: u64,
    steady: bool,
    cube: &'a CubeMeta,
}

fn synth_cmd(a: &SynthArgs, ctx: &Ctx) -> Result<ExitCode> {
    if a.every == 0 {
        bail!("--every must be at least 1 hour");
    }
    let r = a.region;
    let spec = synth::Spec {
        lat0: r.lat0,
        lat1: r.lat1,
        dlat: a.step,
        lon0: r.lon0,
        lon1: r.lon1,
        dlon: a.step,
        levels_hpa: synth::GFS_LEVELS.to_vec(),
        times: (0..=a.hours / a.every)
            .map(|k| a.start + i64::from(k * a.every) * 3600)
            .collect(),
    };
    let cube = match a.kind {
        Kind::Uniform => synth::uniform(&spec, a.u, a.v)?,
        Kind::Shear => synth::shear(&spec, a.u, a.v, a.du_dz, a.dv_dz)?,
        Kind::Rotation => {
            let c: Vec<f64> = a
                .center
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("--center {:?}: expected LAT,LON", a.center))?;
            if c.len() != 2 {
                bail!("--center {:?}: expected LAT,LON", a.center);
            }
            synth::rotation(&spec, c[0], c[1], a.omega)?
        }
    };
    let written = cube.write(&a.output)?;
    if ctx.json {
        ctx.json(&SynthOut {
            output: a.output.display().to_string(),
            bytes_written: written,
            steady: cube.meta().steady(),
            cube: cube.meta(),
        });
    } else {
        say_cube(ctx, &a.output, &cube, written);
    }
    Ok(ExitCode::SUCCESS)
}
