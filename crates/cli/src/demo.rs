//! `baram demo`: builds a small sample library from generated files with
//! planted identifying data, and shows the sanitizer remove it.

use crate::output::Ctx;
use anyhow::{Context, Result};
use baram_library::{AddOptions, AddOutcome, Library};
use clap::Args;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's files (made anew each run).
    #[arg(long, default_value = "baram-demo")]
    dir: PathBuf,
}

const MARKER: &str = ".baram-demo";

#[derive(Serialize)]
struct DemoReport {
    dir: PathBuf,
    workspace: PathBuf,
    added: usize,
    duplicates: usize,
    rejected: usize,
    findings_removed: usize,
    stored_copies_clean: bool,
    drop_ok: bool,
}

pub fn run(a: &DemoArgs, ctx: &Ctx) -> Result<ExitCode> {
    let dir = &a.dir;
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            anyhow::bail!(
                "{}: exists and was not made by `baram demo`; choose another --dir",
                dir.display()
            );
        }
        fs::remove_dir_all(dir).with_context(|| format!("{}: cannot clear it", dir.display()))?;
    }
    let input = dir.join("input");
    fs::create_dir_all(&input).with_context(|| format!("{}: cannot create", input.display()))?;
    fs::write(dir.join(MARKER), b"made by baram demo\n")?;

    ctx.say("== 1. Sample files with planted identifying data");
    let samples = baram_sanitize::fixtures::demo_samples();
    for s in &samples {
        fs::write(input.join(s.name), &s.data)
            .with_context(|| format!("{}: cannot write", s.name))?;
        ctx.say(format!("   {:<28} {}", s.name, s.planted));
    }

    ctx.say("== 2. The library: every file is cleaned before it is stored");
    let ws = dir.join("workspace");
    let mut lib = Library::init(&ws)?;
    let mut rep = DemoReport {
        dir: dir.clone(),
        workspace: ws.clone(),
        added: 0,
        duplicates: 0,
        rejected: 0,
        findings_removed: 0,
        stored_copies_clean: true,
        drop_ok: false,
    };
    for s in &samples {
        let path = input.join(s.name);
        let opts = AddOptions {
            tags: s.tags.iter().map(|t| t.to_string()).collect(),
            series: s.series.map(str::to_string),
            episode: s.episode,
            value: s.value,
            ..AddOptions::default()
        };
        match lib.add_file(&path, &opts) {
            Ok(AddOutcome::Added {
                id,
                kind,
                findings,
                redstar_blocks,
                ..
            }) => {
                rep.added += 1;
                rep.findings_removed += findings;
                let rs = redstar_blocks
                    .map(|b| format!("; Red Star watermark ({b} machines) removed"))
                    .unwrap_or_default();
                ctx.say(format!(
                    "   added #{id:<3} {kind:<6} {:<28} {findings} finding(s) removed{rs}",
                    s.name
                ));
            }
            Ok(AddOutcome::Duplicate { existing_id, .. }) => {
                rep.duplicates += 1;
                ctx.say(format!(
                    "   {:<38} same cleaned bytes as #{existing_id}: stored once",
                    s.name
                ));
            }
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                rep.rejected += 1;
                ctx.say(format!("   refused {:<30} {e}", s.name));
            }
        }
    }

    ctx.say("== 3. Every stored copy, inspected again");
    for item in lib.list(&Default::default())? {
        let data = lib.read_blob(&item.hash)?;
        let r = baram_sanitize::inspect(&data)?;
        if !r.is_clean() {
            rep.stored_copies_clean = false;
        }
        ctx.say(format!(
            "   #{:<3} {:<28} {}",
            item.id,
            item.file_name,
            if r.is_clean() {
                "clean".to_string()
            } else {
                format!("{} finding(s) LEFT", r.findings.len())
            }
        ));
    }
    let check = lib.check(false, &|_, _| {})?;
    ctx.say(format!(
        "   library check: {}",
        if check.is_clean() {
            "consistent"
        } else {
            "INCONSISTENT"
        }
    ));
    drop(lib);

    ctx.say("== 4. A drop for Notel players: plan, build, write two copies, verify");
    let drop_rep = demo_drop(dir, &ws, ctx)?;
    rep.drop_ok = drop_rep;

    ctx.say(format!(
        "\nDemo done: {} added, {} duplicate, {} refused; {} identifying items removed.\nWorkspace: {}\nTry: baram --workspace {} library list",
        rep.added,
        rep.duplicates,
        rep.rejected,
        rep.findings_removed,
        shown(&ws),
        shown(&ws)
    ));
    ctx.json(&rep);
    Ok(
        if rep.stored_copies_clean && check.is_clean() && rep.drop_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// Plans a drop over the sample library (a small medium, to stay quick),
/// builds the FAT32 image and the same volume as a folder, writes the image
/// to two image files and verifies them. Returns whether every copy is ok.
fn demo_drop(dir: &Path, ws: &Path, ctx: &Ctx) -> Result<bool> {
    use baram_drop::job::{self, Format, PlanSpec};
    let lib = Library::open(ws)?;
    let spec = PlanSpec {
        medium: "64000000".into(),
        profile: "notel".into(),
        ..PlanSpec::default()
    };
    let (out, skipped) = job::make_plan(&lib, &spec)?;
    for s in &skipped {
        ctx.say(format!(
            "   skipped #{} {}: {}",
            s.id, s.file_name, s.reason
        ));
    }
    let plan = &out.plan;
    let plan_path = dir.join("plan.json");
    fs::write(&plan_path, plan.to_json())?;
    let v = &plan.variants[0];
    ctx.say(format!(
        "   plan {}: {} files, value {} (optimal: {}), {} of {} bytes used (64 MB medium, 3% margin)",
        shown(&plan_path),
        v.files_count,
        v.value,
        v.proven_optimal,
        v.used_bytes,
        plan.capacity.fs.allocatable_bytes
    ));
    let image = dir.join("drop.img");
    job::build(plan, 0, &lib, Format::Fat32, &image, 1)?;
    let folder = dir.join("drop-folder");
    job::build(plan, 0, &lib, Format::Dir, &folder, 1)?;
    ctx.say(format!("   image  {}", shown(&image)));
    ctx.say(format!(
        "   folder {} (the same files, for a laptop)",
        shown(&folder)
    ));
    let targets = [dir.join("copy-1.img"), dir.join("copy-2.img")];
    let pre = baram_drop::write::preflight(&image, &targets)?;
    let report = pre.run(&Default::default(), &|_| {})?;
    for t in &report.targets {
        ctx.say(format!(
            "   wrote and verified {}: {:?}",
            t.target, t.verdict
        ));
    }
    Ok(report.all_ok())
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}
