//! `baram radio channel`: parses, calls `baram_radio::channel`, prints.

use crate::output::Ctx;
use anyhow::{Context, Result};
use baram_radio::channel::{self, Agc, Am, ChannelConfig, ChannelReport, Profile, WavInfo};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum RadioCmd {
    /// Pass a recording through a simulated HF channel (ITU-R F.1487 Watterson
    /// two-path fading, noise at an SNR in 3 kHz, offset, clock error, AM).
    Channel(ChannelArgs),
}

#[derive(Args, Debug)]
pub struct ChannelArgs {
    /// The input WAV (any PCM or float WAV; mixed to mono, resampled to 8 kHz).
    input: PathBuf,
    /// The output WAV (8 kHz mono 16-bit).
    output: PathBuf,
    /// Signal over noise in 3 kHz, dB ("inf" for no noise).
    #[arg(long, allow_hyphen_values = true)]
    snr: f64,
    /// awgn, good (0.5 ms, 0.1 Hz), moderate (1 ms, 0.5 Hz), poor (2 ms, 1 Hz), flutter (0.5 ms, 10 Hz).
    #[arg(long, default_value = "awgn")]
    profile: Profile,
    /// Seed of the random fading and noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Frequency offset, Hz.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    freq_offset: f64,
    /// Recorder's sample clock against the sender's, ppm (positive: longer file).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    clock_ppm: f64,
    /// Model an AM broadcast: carrier and sidebands fade, envelope detector.
    #[arg(long)]
    am: bool,
    /// Modulation index of a full-scale signal with --am.
    #[arg(long, default_value_t = 0.8, requires = "am")]
    am_depth: f64,
    /// Receiver AGC towards RMS 0.25.
    #[arg(long)]
    agc: bool,
    /// Hard clipping at this fraction of full scale (0 < F <= 1).
    #[arg(long, value_name = "FRACTION")]
    clip: Option<f64>,
}

#[derive(Serialize)]
struct ChannelOut<'a> {
    input: String,
    output: String,
    input_format: &'a WavInfo,
    input_truncated: bool,
    profile: Profile,
    config: &'a ChannelConfig,
    report: &'a ChannelReport,
    /// Samples the WAV writer clipped at full scale.
    clipped_full_scale: u64,
    seconds: f64,
    elapsed_s: f64,
}

pub fn run(cmd: &RadioCmd, ctx: &Ctx) -> Result<ExitCode> {
    match cmd {
        RadioCmd::Channel(a) => run_channel(a, ctx),
    }
}

fn run_channel(a: &ChannelArgs, ctx: &Ctx) -> Result<ExitCode> {
    let t0 = Instant::now();
    let rec = channel::read_wav(&a.input)?;
    let in_name = a.input.display().to_string();
    if let Some(w) = rec.warning(&in_name) {
        eprintln!("baram: warning: {w}");
    }
    let mut cfg = ChannelConfig::new(a.profile, a.snr, a.seed);
    cfg.freq_offset_hz = a.freq_offset;
    cfg.clock_ppm = a.clock_ppm;
    cfg.am = a.am.then_some(Am { depth: a.am_depth });
    cfg.agc = a.agc.then(Agc::default);
    cfg.clip = a.clip;
    let (out, report) = channel::simulate(&rec.samples, &cfg).with_context(|| in_name.clone())?;
    let clipped = channel::write_wav(&a.output, &out)?;
    let elapsed = t0.elapsed().as_secs_f64();
    ctx.json(&ChannelOut {
        input: in_name.clone(),
        output: a.output.display().to_string(),
        input_format: &rec.info,
        input_truncated: rec.truncated.is_some(),
        profile: a.profile,
        config: &cfg,
        report: &report,
        clipped_full_scale: clipped,
        seconds: rec.duration_s(),
        elapsed_s: elapsed,
    });
    let snr = if report.noise_power > 0.0 {
        format!(
            "SNR in 3 kHz {:.2} dB (received {:.2} dB)",
            report.snr_ref_3k_db, report.snr_3k_db
        )
    } else {
        "no noise".to_string()
    };
    ctx.say(format!(
        "{} -> {}: {:.1} s, {} channel, {snr}{}{} in {:.2} s",
        in_name,
        a.output.display(),
        rec.duration_s(),
        a.profile.name(),
        if report.clipped > 0 {
            format!(", {} samples clipped", report.clipped)
        } else {
            String::new()
        },
        if clipped > 0 {
            format!(", {clipped} samples over full scale")
        } else {
            String::new()
        },
        elapsed
    ));
    Ok(ExitCode::SUCCESS)
}
