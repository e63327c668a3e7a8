//! Printing: one line per error, JSON reports, logging, progress bars.

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::time::Duration;

/// Output settings shared by every command.
pub struct Ctx {
    pub json: bool,
    pub quiet: bool,
}

impl Ctx {
    /// Prints a human line on stdout unless --json or --quiet.
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.json && !self.quiet {
            println!("{}", line.as_ref());
        }
    }

    /// Prints `value` as JSON on stdout when --json.
    pub fn json<T: Serialize>(&self, value: &T) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("report serialises")
            );
        }
    }

    /// A progress bar on stderr for `total` steps; hidden under --quiet,
    /// --json, or when stderr is not a terminal (indicatif's own check). It
    /// shows only when the work lasts longer than a second.
    pub fn progress(&self, total: u64, what: &str) -> ProgressBar {
        if self.quiet || self.json {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_message(what.to_string());
        // Draw only after a second, so quick commands print no bar.
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        let shown = pb.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        });
        pb
    }
}

/// A per-file problem, printed as one line on stderr: `baram: PATH: reason`.
pub fn file_error(path: &std::path::Path, reason: impl std::fmt::Display) {
    eprintln!("baram: {}: {}", path.display(), reason);
}

/// The final error of a command, on one line.
pub fn error_line(e: &anyhow::Error) {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    eprintln!("baram: error: {msg}");
}

pub fn init_logging(verbose: u8, quiet: bool) {
    let level = if quiet {
        tracing::Level::ERROR
    } else {
        match verbose {
            0 => tracing::Level::WARN,
            1 => tracing::Level::INFO,
            2 => tracing::Level::DEBUG,
            _ => tracing::Level::TRACE,
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
