//! `baram`: the command-line front end. A thin layer: it parses arguments,
//! calls the library crates, and prints. No capability logic lives here.

mod demo;
mod library_cmd;
mod output;
mod sanitize_cmd;

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
}

fn main() -> ExitCode {
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
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            output::error_line(&e);
            ExitCode::FAILURE
        }
    }
}
