//! Writes the sample catalogue (Korean titles, dummy media) into a folder
//! and, with `--screenshot PNG`, photographs `index.html` in headless
//! Chromium at 1000x800: this is how docs/index.png is made.
//!
//! Usage: site_sample DIR [--screenshot PNG]

#[path = "../tests/support/site_sample.rs"]
mod sample;

use std::path::Path;
use std::process::{Command, ExitCode};

use baram_drop::site::SiteOptions;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: site_sample DIR [--screenshot PNG]");
        return ExitCode::from(2);
    };
    let dir = Path::new(dir);
    let opts = SiteOptions::default();
    if let Err(e) =
        std::fs::create_dir_all(dir).and_then(|_| sample::write(dir, &sample::items(), &opts))
    {
        eprintln!("site_sample: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    if let (Some(flag), Some(png)) = (args.get(1), args.get(2)) {
        if flag != "--screenshot" {
            eprintln!("usage: site_sample DIR [--screenshot PNG]");
            return ExitCode::from(2);
        }
        let abs = match std::fs::canonicalize(dir) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("site_sample: {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        let png = std::path::absolute(png).unwrap_or_else(|_| png.into());
        let status = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--virtual-time-budget=2000",
                "--window-size=1000,800",
            ])
            .arg(format!(
                "--user-data-dir={}",
                abs.join(".profile").display()
            ))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}/index.html", abs.display()))
            .status();
        let _ = std::fs::remove_dir_all(abs.join(".profile"));
        match status {
            Ok(s) if s.success() => println!("{}", png.display()),
            Ok(s) => {
                eprintln!("site_sample: chromium failed ({s})");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("site_sample: cannot run chromium (apt-get install chromium): {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
