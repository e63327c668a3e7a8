//! `baram drop plan | build | write`: parses, calls `baram_drop`, prints.

use crate::output::Ctx;
use anyhow::{Context, Result, bail};
use baram_drop::job::{self, Drops, Format, Fs, PlanSpec};
use baram_drop::plan::{Oversize, Plan};
use baram_drop::tree::Timestamp;
use baram_drop::write::{self, Phase, ProbeWhen, WriteOptions};
use baram_library::Library;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum DropCmd {
    /// Choose what goes on a medium: the most curator value that fits.
    Plan(PlanArgs),
    /// Build the image (or folder) a plan describes.
    Build(BuildArgs),
    /// Write one image to many drives or image files, then verify each.
    Write(WriteArgs),
    /// List the device profiles (built in, and the workspace's profiles/).
    Profiles,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// sd-8g, usb-16g, sd-32g, dvd-4.7g, or an exact byte count.
    #[arg(long, default_value = "sd-8g")]
    medium: String,
    /// Device profile the files are converted for.
    #[arg(long, default_value = "notel")]
    profile: String,
    /// Number of distinct variants (each a full medium).
    #[arg(long, default_value_t = 1)]
    variants: u32,
    /// Breaks ties between equally good choices (nothing else).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Only items carrying at least one of these tags (repeatable).
    #[arg(long = "include", value_name = "TAG")]
    include: Vec<String>,
    /// Leave out items carrying any of these tags (repeatable).
    #[arg(long = "exclude", value_name = "TAG")]
    exclude: Vec<String>,
    /// Safety margin, percent of the nominal size.
    #[arg(long, default_value_t = 3.0)]
    margin: f64,
    /// A bare FAT32 volume without a partition table.
    #[arg(long)]
    no_partition: bool,
    /// File system: fat32 (cards, sticks) or iso (DVDs); default: iso for
    /// dvd-* media, else fat32.
    #[arg(long, value_enum)]
    fs: Option<FsArg>,
    /// The one timestamp of every file and folder, "YYYY-MM-DD HH:MM[:SS]".
    #[arg(long, default_value = "2010-01-01 00:00")]
    date: String,
    /// Leave out files of 4 GiB or more (explained) instead of refusing.
    #[arg(long)]
    skip_oversize: bool,
    /// Where to write the plan.
    #[arg(short, long, default_value = "plan.json")]
    output: PathBuf,
    /// Say what was chosen, and why each left-out item was left out.
    #[arg(long)]
    explain: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Fat32,
    Iso,
    Dir,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FsArg {
    Fat32,
    Iso,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The plan file (from `baram drop plan`).
    plan: PathBuf,
    /// The image file (fat32) or folder (dir) to make.
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long, value_enum, default_value = "fat32")]
    format: FormatArg,
    /// Which variant of the plan (0-based).
    #[arg(long, default_value_t = 0)]
    variant: usize,
    /// Threads (1: the kernel copies file data; 2: one reads ahead).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Args, Debug)]
pub struct WriteArgs {
    /// The image to write.
    image: PathBuf,
    /// Drives (/dev/sdX, /dev/mmcblkN) or image files.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    /// Erase the named drives without asking.
    #[arg(long)]
    yes: bool,
    /// Skip reading every copy back.
    #[arg(long)]
    no_verify: bool,
    /// Skip the fake-capacity probe of drives.
    #[arg(long)]
    no_probe: bool,
}

pub fn run(cmd: &DropCmd, ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    match cmd {
        DropCmd::Plan(a) => plan(a, ws, ctx),
        DropCmd::Build(a) => build(a, ws, ctx),
        DropCmd::Write(a) => write_cmd(a, ctx),
        DropCmd::Profiles => profiles(ws, ctx),
    }
}

fn parse_date(s: &str) -> Result<Timestamp> {
    let bad =
        || anyhow::anyhow!("--date {s:?}: use \"YYYY-MM-DD HH:MM\" or \"YYYY-MM-DD HH:MM:SS\"");
    let (d, t) = s
        .trim()
        .split_once([' ', 'T'])
        .unwrap_or((s.trim(), "00:00"));
    let d: Vec<&str> = d.split('-').collect();
    let t: Vec<&str> = t.split(':').collect();
    if d.len() != 3 || !(2..=3).contains(&t.len()) {
        return Err(bad());
    }
    let n = |x: &str| x.parse::<u16>().map_err(|_| bad());
    Ok(Timestamp {
        year: n(d[0])?,
        month: n(d[1])? as u8,
        day: n(d[2])? as u8,
        hour: n(t[0])? as u8,
        minute: n(t[1])? as u8,
        second: if t.len() == 3 { n(t[2])? as u8 } else { 0 },
    })
}

fn plan(a: &PlanArgs, ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    let lib = Library::open(ws)?;
    let spec = PlanSpec {
        medium: a.medium.clone(),
        profile: a.profile.clone(),
        variants: a.variants,
        seed: a.seed,
        include_any: a.include.clone(),
        exclude: a.exclude.clone(),
        margin_percent: a.margin,
        partition: !a.no_partition,
        timestamp: parse_date(&a.date)?,
        oversize: if a.skip_oversize {
            Oversize::Skip
        } else {
            Oversize::Refuse
        },
        fs: a.fs.map(|f| match f {
            FsArg::Fat32 => Fs::Fat32,
            FsArg::Iso => Fs::Iso,
        }),
    };
    let drops = Drops::new(&lib, &a.profile)?;
    let pb = ctx.progress(lib.count()?, "preparing items");
    let result = job::make_plan(&drops, &spec, &|done, _| pb.set_position(done as u64));
    pb.finish_and_clear();
    let (out, skipped) = result?;
    for s in &skipped {
        eprintln!("baram: item {} ({}): {}", s.id, s.file_name, s.reason);
    }
    write_atomic(&a.output, out.plan.to_json().as_bytes())?;
    let p = &out.plan;
    let fs = &p.capacity.fs;
    ctx.say(format!(
        "plan {} for {} ({} bytes, {:.2}% margin, {}: {} bytes for files in {}-byte clusters), profile {}",
        a.output.display(),
        p.medium.name,
        p.medium.nominal_bytes,
        p.capacity.margin_basis_points as f64 / 100.0,
        fs.model,
        fs.allocatable_bytes,
        fs.cluster_bytes,
        p.profile
    ));
    for v in &p.variants {
        ctx.say(format!(
            "  variant {}: {} files, value {} (LP bound {}{}), {} bytes used, {} free",
            v.index,
            v.files_count,
            v.value,
            v.lp_bound,
            if v.proven_optimal { ", optimal" } else { "" },
            v.used_bytes,
            v.free_bytes
        ));
        if a.explain {
            for f in &v.files {
                ctx.say(format!(
                    "    + #{:<5} value {:>3}  {}",
                    f.id,
                    f.value,
                    f.path.join("/")
                ));
            }
        }
    }
    if a.explain {
        for l in &out.explanation.left_out {
            ctx.say(format!("    - #{:<5} {}", l.id, l.message));
        }
    } else if !out.explanation.left_out.is_empty() {
        ctx.say(format!(
            "  {} item(s) left out (--explain says why)",
            out.explanation.left_out.len()
        ));
    }
    #[derive(serde::Serialize)]
    struct Report<'a> {
        plan: &'a Path,
        hash: &'a str,
        explanation: &'a baram_drop::plan::Explanation,
        skipped: &'a [job::Skipped],
    }
    ctx.json(&Report {
        plan: &a.output,
        hash: &p.hash,
        explanation: &out.explanation,
        skipped: &skipped,
    });
    Ok(if skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn build(a: &BuildArgs, ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("{}: cannot read the plan", a.plan.display()))?;
    let plan = Plan::from_json(&text).with_context(|| format!("{}", a.plan.display()))?;
    let lib = Library::open(ws)?;
    let format = match a.format {
        FormatArg::Fat32 => Format::Fat32,
        FormatArg::Iso => Format::Iso,
        FormatArg::Dir => Format::Dir,
    };
    let pb = ctx.progress(0, "building");
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed_precise}").expect("valid template"),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let rep = job::build(&plan, a.variant, &lib, format, &a.output, a.threads);
    pb.finish_and_clear();
    let rep = rep?;
    ctx.say(format!(
        "built {} ({:?}, variant {}, {} files, {} bytes)",
        rep.output.display(),
        rep.format,
        rep.variant,
        rep.files,
        rep.bytes
    ));
    ctx.json(&rep);
    Ok(ExitCode::SUCCESS)
}

fn profiles(ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    let dir = ws.join("profiles");
    let list = baram_drop::profile::list(Some(&dir))?;
    #[derive(serde::Serialize)]
    struct Row<'a> {
        name: &'a str,
        description: &'a str,
        origin: String,
        hash: String,
    }
    let rows: Vec<Row> = list
        .iter()
        .map(|p| Row {
            name: &p.name,
            description: &p.description,
            origin: p.origin.to_string(),
            hash: p.hash(),
        })
        .collect();
    for r in &rows {
        ctx.say(format!("{:<12} {}  ({})", r.name, r.description, r.origin));
    }
    ctx.json(&rows);
    Ok(ExitCode::SUCCESS)
}

fn write_cmd(a: &WriteArgs, ctx: &Ctx) -> Result<ExitCode> {
    let pre = write::preflight(&a.image, &a.targets)?;
    let mut options = WriteOptions {
        yes: a.yes,
        verify: !a.no_verify,
        probe: if a.no_probe {
            ProbeWhen::Never
        } else {
            ProbeWhen::Devices
        },
    };
    let devices = pre.devices();
    if !devices.is_empty() && !a.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "writing erases {}; pass --yes to confirm",
                devices
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        eprintln!("This erases everything on:");
        for d in &devices {
            eprintln!("  {d}");
        }
        eprint!("Type yes to go on: ");
        std::io::stderr().flush().ok();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != "yes" {
            bail!("not confirmed; nothing was written");
        }
        options.yes = true;
    }
    let total = pre.image_len;
    let n = pre.targets.len() as u64;
    let multi = MultiProgress::new();
    if ctx.quiet || ctx.json || !std::io::stderr().is_terminal() {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style =
        ProgressStyle::with_template("{prefix:>24} {msg:7} [{bar:30}] {bytes}/{total_bytes}")
            .expect("valid template")
            .progress_chars("=> ");
    let bars: Vec<ProgressBar> = pre
        .targets
        .iter()
        .map(|t| {
            let b = multi.add(ProgressBar::new(total));
            b.set_style(style.clone());
            b.set_prefix(short(&t.path));
            b
        })
        .collect();
    let all = multi.add(ProgressBar::new(
        total * n * if options.verify { 2 } else { 1 },
    ));
    all.set_style(style.clone());
    all.set_prefix("all");
    let done: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(vec![(0, 0); bars.len()]);
    let report = pre.run(&options, &|e| {
        let b = &bars[e.target];
        b.set_message(format!("{:?}", e.phase).to_lowercase());
        b.set_position(e.done);
        if let Ok(mut d) = done.lock() {
            match e.phase {
                Phase::Write => d[e.target].0 = e.done,
                Phase::Verify => d[e.target].1 = e.done,
                Phase::Done => {
                    d[e.target] = (total, if options.verify { total } else { 0 });
                    b.finish();
                }
                _ => {}
            }
            all.set_position(d.iter().map(|(w, v)| w + v).sum());
        }
    })?;
    all.finish_and_clear();
    multi.clear().ok();
    for t in &report.targets {
        let verdict = match &t.verdict {
            write::Verdict::Ok => "ok".to_string(),
            write::Verdict::Failed {
                phase,
                offset,
                reason,
            } => match offset {
                Some(o) => format!("FAILED at offset {o} ({phase:?}): {reason}"),
                None => format!("FAILED ({phase:?}): {reason}"),
            },
            write::Verdict::TooSmall { size, needed } => {
                format!("TOO SMALL: {size} bytes, the image needs {needed}")
            }
            write::Verdict::FakeCapacity {
                claimed,
                usable_at_most,
                ..
            } => format!(
                "FAKE CAPACITY: claims {claimed} bytes, holds at most {usable_at_most}; nothing written, do not use this drive"
            ),
        };
        ctx.say(format!("{}: {verdict}", t.target));
    }
    if ctx.json {
        println!("{}", report.to_json());
    }
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn short(p: &Path) -> String {
    let s = p.display().to_string();
    let n = s.chars().count();
    if n <= 24 {
        s
    } else {
        format!("…{}", s.chars().skip(n - 23).collect::<String>())
    }
}

/// Writes a small file via a temporary sibling and a rename.
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("{}: cannot write there", dir.display()))?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
