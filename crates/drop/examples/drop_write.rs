//! Writes an image to several targets at once and verifies them, printing
//! timings: the stand-in for `baram drop write` until the CLI is wired, and
//! the program bench/drop_write.sh measures.
//!
//! Usage: drop_write [--yes] [--no-verify] [--json] IMAGE TARGET...
//!
//! Prints `write_fsync_seconds=…` (from the start until every target has
//! been written and flushed), `verify_seconds=…` (from then until every
//! target is verified) and one line per target, or the JSON report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use baram_drop::write::{Phase, WriteOptions, preflight};

fn main() -> ExitCode {
    let mut options = WriteOptions::default();
    let mut json = false;
    let mut paths: Vec<PathBuf> = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.to_str() {
            Some("--yes") => options.yes = true,
            Some("--no-verify") => options.verify = false,
            Some("--json") => json = true,
            _ => paths.push(a.into()),
        }
    }
    if paths.len() < 2 {
        eprintln!("usage: drop_write [--yes] [--no-verify] [--json] IMAGE TARGET...");
        return ExitCode::from(2);
    }
    let image = paths.remove(0);
    let pre = match preflight(&image, &paths) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let n = pre.targets.len();
    // When each target finished writing+fsync (entered Verify or Done).
    let written: Mutex<Vec<Option<Instant>>> = Mutex::new(vec![None; n]);
    let start = Instant::now();
    let result = pre.run(&options, &|e| {
        if matches!(e.phase, Phase::Verify | Phase::Done)
            && let Ok(mut w) = written.lock()
            && w[e.target].is_none()
        {
            w[e.target] = Some(Instant::now());
        }
    });
    let end = Instant::now();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written_at = written
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(end);
    if json {
        println!("{}", report.to_json());
    } else {
        let w = written_at.duration_since(start).as_secs_f64();
        let v = end.duration_since(written_at).as_secs_f64();
        println!("bytes={}", report.image_size * n as u64);
        println!("write_fsync_seconds={w:.3}");
        println!("verify_seconds={v:.3}");
        for t in &report.targets {
            println!("{}: {:?} read_back={:?}", t.target, t.verdict, t.read_back);
        }
    }
    if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
