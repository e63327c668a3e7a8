//! `baram sanitize inspect|clean`.

use crate::output::{Ctx, file_error};
use anyhow::{Context, Result};
use baram_sanitize::{Options, Report};
use clap::Subcommand;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum SanitizeCmd {
    /// Report identifying metadata and watermarks, changing nothing.
    Inspect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write cleaned copies of FILES into DIR (same file names).
    Clean {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output folder (created if needed). Never the folder the files are in.
        #[arg(short, long)]
        out: PathBuf,
        /// Keep ICC colour profiles in images.
        #[arg(long)]
        keep_icc: bool,
    },
}

#[derive(Serialize)]
struct FileReport {
    path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(cmd: &SanitizeCmd, ctx: &Ctx) -> Result<ExitCode> {
    let (files, keep_icc, out) = match cmd {
        SanitizeCmd::Inspect { files } => (files, false, None),
        SanitizeCmd::Clean {
            files,
            out,
            keep_icc,
        } => (files, *keep_icc, Some(out)),
    };
    let (files, bad) = baram_library::collect_files(files);
    let mut reports = Vec::new();
    let mut failed = false;
    for (p, e) in bad {
        file_error(&p, &e);
        failed = true;
        reports.push(FileReport {
            path: p,
            report: None,
            output: None,
            error: Some(e.to_string()),
        });
    }
    if let Some(out) = out {
        fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create the output folder", out.display()))?;
    }
    let opts = Options {
        keep_icc,
        ..Default::default()
    };
    let pb = ctx.progress(
        files.len() as u64,
        if out.is_some() {
            "cleaning"
        } else {
            "inspecting"
        },
    );
    // Output names are decided first, in input order, so two inputs with the
    // same name are refused the same way however the threads run.
    let mut used_names = std::collections::HashSet::new();
    let dests: Vec<Result<Option<PathBuf>>> = files
        .iter()
        .map(|p| dest_for(p, out.map(|o| o.as_path()), &mut used_names))
        .collect();
    // Files are cleaned in parallel (rayon; RAYON_NUM_THREADS limits it) and
    // reported in input order.
    use rayon::prelude::*;
    let results: Vec<Result<(Report, Option<PathBuf>)>> = files
        .par_iter()
        .zip(dests.into_par_iter())
        .map(|(path, dest)| {
            let r = dest.and_then(|d| one(path, d, &opts));
            pb.inc(1);
            r
        })
        .collect();
    for (path, r) in files.iter().zip(results) {
        match r {
            Ok((report, output)) => {
                pb.suspend(|| print_report(path, &report, output.as_deref(), ctx));
                reports.push(FileReport {
                    path: path.clone(),
                    report: Some(report),
                    output,
                    error: None,
                });
            }
            Err(e) => {
                failed = true;
                pb.suspend(|| file_error(path, format!("{e:#}")));
                reports.push(FileReport {
                    path: path.clone(),
                    report: None,
                    output: None,
                    error: Some(format!("{e:#}")),
                });
            }
        }
    }
    pb.finish_and_clear();
    ctx.json(&reports);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Where the cleaned copy of `path` goes (None for inspect).
fn dest_for(
    path: &Path,
    out: Option<&Path>,
    used: &mut std::collections::HashSet<std::ffi::OsString>,
) -> Result<Option<PathBuf>> {
    let Some(out) = out else {
        return Ok(None);
    };
    let name = path.file_name().context("no file name")?.to_os_string();
    if !used.insert(name.clone()) {
        anyhow::bail!(
            "another input has the same file name {:?}; clean them into different folders",
            name
        );
    }
    let dest = out.join(&name);
    if dest.canonicalize().ok() == path.canonicalize().ok() {
        anyhow::bail!("the output would overwrite the input; choose another -o folder");
    }
    Ok(Some(dest))
}

fn one(path: &Path, dest: Option<PathBuf>, opts: &Options) -> Result<(Report, Option<PathBuf>)> {
    // Each thread reads into one buffer it keeps: large files then cost no
    // fresh pages (page faults were half the time on big videos).
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let cleaned = BUF.with(|b| -> Result<baram_sanitize::Cleaned> {
        let mut data = b.borrow_mut();
        data.clear();
        std::io::Read::read_to_end(
            &mut fs::File::open(path).context("cannot read it")?,
            &mut data,
        )
        .context("cannot read it")?;
        let r = baram_sanitize::clean(&data, opts)
            .map_err(|e| anyhow::anyhow!("{e}; no cleaned copy written"));
        if data.capacity() > 1 << 30 {
            // Do not hold on to more than 1 GiB per thread.
            *data = Vec::new();
        }
        r
    })?;
    let Some(dest) = dest else {
        return Ok((cleaned.report, None));
    };
    let dir = dest.parent().context("output has no folder")?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).context("cannot write to the output folder")?;
    std::io::Write::write_all(&mut tmp, &cleaned.data).context("cannot write the cleaned copy")?;
    tmp.persist(&dest)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    Ok((cleaned.report, Some(dest)))
}

fn print_report(path: &Path, r: &Report, output: Option<&Path>, ctx: &Ctx) {
    if ctx.json || ctx.quiet {
        return;
    }
    let verb = if output.is_some() { "removed" } else { "found" };
    if r.is_clean() {
        println!(
            "{}: {} — nothing identifying {verb}",
            path.display(),
            r.format
        );
    } else {
        println!(
            "{}: {} — {} finding(s) {verb}",
            path.display(),
            r.format,
            r.findings.len()
        );
    }
    if let Some(rs) = &r.redstar {
        println!(
            "  ! Red Star OS watermark: {} machine(s), disk serials: {}",
            rs.blocks,
            rs.serials.join(", ")
        );
    }
    for f in &r.findings {
        println!(
            "  - {:<10} {}{}{}",
            serde_json::to_value(f.category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            f.field,
            f.value
                .as_ref()
                .map(|v| format!(": {v}"))
                .unwrap_or_default(),
            f.offset.map(|o| format!(" (byte {o})")).unwrap_or_default()
        );
    }
    if let Some(o) = output {
        println!("  -> {}", o.display());
    }
}
