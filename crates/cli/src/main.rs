//! `baram`: the command-line front end. A thin layer: it parses arguments,
//! calls the library crates, and prints. No capability logic lives here.

mod demo;
mod drop_cmd;
mod flight_cmd;
mod library_cmd;
mod output;
mod radio_cmd;
mod sanitize_cmd;
mod vault_cmd;
mod wind_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// baram (바람): move information into North Korea and evidence out, safely.
#[derive(Parser, Debug)]
#[command(name = "baram", version, about, long_about = None)]
pub struct Cli {
    /// The workspace folder (catalog and blob store).
    #[arg(
        long,
        global = true,
        env = "BARAM_WORKSPACE",
        default_value = "baram-workspace"
    )]
    pub workspace: PathBuf,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print reports as JSON on standard output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a workspace (catalog and blob store) in --workspace.
    Init,
    /// Build a small sample library and sanitize it, to see baram work.
    Demo(demo::DemoArgs),
    /// The content library: add, list, search, tag, remove, check.
    #[command(subcommand)]
    Library(library_cmd::LibraryCmd),
    /// Find and remove identifying metadata and watermarks.
    #[command(subcommand)]
    Sanitize(sanitize_cmd::SanitizeCmd),
    /// Drops: plan, build and write media for recipients' devices.
    #[command(subcommand)]
    Drop(drop_cmd::DropCmd),
    /// Wind data for balloon flights: import forecasts, synthesise test fields.
    #[command(subcommand)]
    Wind(wind_cmd::WindCmd),
    /// Balloon flights: predictions from wind forecasts.
    #[command(subcommand)]
    Flight(flight_cmd::FlightCmd),
    /// The vault: encrypted intake of material from the field (keygen,
    /// intake, import, check, list).
    Vault(vault_cmd::VaultArgs),
    /// Broadcast over AM/shortwave radio: the channel simulator.
    #[command(subcommand)]
    Radio(radio_cmd::RadioCmd),
}

/// Keeps freed large buffers in the process instead of returning them to the
/// kernel. glibc serves allocations over 128 KiB–32 MiB with fresh mmaps and
/// unmaps them on free, so every file cleaned costs page faults and kernel
/// page zeroing for its input and output buffers: that was 70% of the time of
/// `sanitize clean` over large videos (perf), and this setting makes it about
/// 3x faster (bench/sanitize_speed.sh). The cost is that memory once used
/// stays with the process until it exits, which suits a command-line batch.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator parameters. glibc documents it as
    // MT-unsafe, so it must not race other allocator calls: it runs first in
    // main, before any thread exists (Rust starts none before main and we
    // spawn none until after this), and its arguments are plain integers.
    unsafe {
        if libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30) == 0 {
            // Older glibc caps the threshold at 32 MiB (64-bit).
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        }
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// The name under which `vault process` runs this binary again, inside its
/// sandbox, to read an HWP 5 or HWPX document into a flat ODT
/// (`baram __hwp-render IN OUT`). Not a subcommand: it is taken before any
/// argument parsing, environment or logging, and is not for people.
const HWP_RENDER: &str = "__hwp-render";

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == HWP_RENDER) {
        return ExitCode::from(baram_vault::render::hwp_render_main(&args[2..]) as u8);
    }
    keep_freed_memory();
    let cli = Cli::parse();
    output::init_logging(cli.verbose, cli.quiet);
    let ctx = output::Ctx {
        json: cli.json,
        quiet: cli.quiet,
    };
    let result = match &cli.command {
        Command::Init => library_cmd::init(&cli.workspace, &ctx),
        Command::Demo(a) => demo::run(a, &ctx),
        Command::Library(c) => library_cmd::run(c, &cli.workspace, &ctx),
        Command::Sanitize(c) => sanitize_cmd::run(c, &ctx),
        Command::Drop(c) => drop_cmd::run(c, &cli.workspace, &ctx),
        Command::Wind(c) => wind_cmd::run(c, &ctx),
        Command::Flight(c) => flight_cmd::run(c, &ctx),
        Command::Vault(a) => vault_cmd::run(a, &ctx),
        Command::Radio(c) => radio_cmd::run(c, &ctx),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            output::error_line(&e);
            ExitCode::FAILURE
        }
    }
}
