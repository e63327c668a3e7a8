//! `baram radio keygen | encode | decode | channel`: parses, calls
//! `baram_radio`, prints.

use crate::output::Ctx;
use anyhow::bail;
use anyhow::{Context, Result};
use baram_radio::broadcast::{self, DEFAULT_OVERHEAD};
use baram_radio::carousel::{self, FileState, Receiver, VerifyingKey};
use baram_radio::channel::{self, Agc, Am, ChannelConfig, ChannelReport, Profile, WavInfo};
use baram_radio::modem::{Demodulator, Mode};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum RadioCmd {
    /// Create a broadcaster's signing key (KEY, secret) and its public key
    /// (KEY.pub) that listeners are given.
    Keygen(KeygenArgs),
    /// Files into a broadcast recording (8 kHz mono 16-bit WAV).
    Encode(EncodeArgs),
    /// Recordings into files: symbols add up in DIR across recordings; a file
    /// is written once rebuilt and verified against the signed manifest.
    Decode(DecodeArgs),
    /// Pass a recording through a simulated HF channel (ITU-R F.1487 Watterson
    /// two-path fading, noise at an SNR in 3 kHz, offset, clock error, AM).
    Channel(ChannelArgs),
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where the secret key goes (created 0600; never overwritten).
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// The files to broadcast (at most 255).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The output WAV.
    #[arg(short, long)]
    output: PathBuf,
    /// deepest (38 b/s; CCIR Poor at -12 dB), deep (77 b/s; AWGN at -12 dB,
    /// Poor at -10), robust (157 b/s; Poor at -5 dB), sturdy (311 b/s),
    /// steady (608 b/s), normal (1.5 kb/s), fast (2.7 kb/s; good channels).
    #[arg(long, default_value = "normal", value_parser = parse_mode)]
    mode: Mode,
    /// Length of the recording in minutes (default: one round of the
    /// carousel: every file once with the repair overhead).
    #[arg(long)]
    minutes: Option<f64>,
    /// The broadcaster's signing key (from `baram radio keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Repair symbols per source symbol in one round.
    #[arg(long, default_value_t = DEFAULT_OVERHEAD)]
    overhead: f64,
}

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Recordings: any WAV, or any audio ffmpeg reads (MP3, AAC/M4A, Opus,
    /// Ogg, AMR, FLAC, a video's sound); mixed to mono, resampled to 8 kHz.
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
    /// Folder that keeps the received symbols and gets the rebuilt files.
    #[arg(long)]
    into: PathBuf,
    /// The broadcaster's public key file (KEY.pub) or its 64 hex digits.
    #[arg(long)]
    key: String,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::from_name(s).ok_or_else(|| {
        format!("unknown mode {s:?}: deepest, deep, robust, sturdy, steady, normal or fast")
    })
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
        RadioCmd::Keygen(a) => run_keygen(a, ctx),
        RadioCmd::Encode(a) => run_encode(a, ctx),
        RadioCmd::Decode(a) => run_decode(a, ctx),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run_keygen(a: &KeygenArgs, ctx: &Ctx) -> Result<ExitCode> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("the system's random source: {e}"))?;
    let key = carousel::signing_key_from_seed(&seed);
    let public = key.verifying_key();
    let pub_path = PathBuf::from(format!("{}.pub", a.output.display()));
    if pub_path.exists() {
        bail!(
            "{}: exists; keygen never overwrites a key (choose another -o)",
            pub_path.display()
        );
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&a.output)
        .with_context(|| {
            format!(
                "{}: cannot create the key (it may exist: keygen never overwrites a key)",
                a.output.display()
            )
        })?;
    f.write_all(format!("{}\n", hex(&seed)).as_bytes())
        .and_then(|_| f.sync_all())
        .with_context(|| a.output.display().to_string())?;
    std::fs::write(&pub_path, format!("{}\n", hex(public.as_bytes())))
        .with_context(|| pub_path.display().to_string())?;
    let id = hex(&carousel::key_id(&public));
    ctx.json(&serde_json::json!({
        "key": a.output.display().to_string(),
        "public_key_file": pub_path.display().to_string(),
        "public_key": hex(public.as_bytes()),
        "key_id": id,
    }));
    ctx.say(format!(
        "secret key {} (keep it on the broadcasting machine), public key {} (give it to listeners): {}, key id {id}",
        a.output.display(),
        pub_path.display(),
        hex(public.as_bytes())
    ));
    Ok(ExitCode::SUCCESS)
}

fn run_encode(a: &EncodeArgs, ctx: &Ctx) -> Result<ExitCode> {
    let t0 = Instant::now();
    let key = carousel::load_signing_key(&a.key).with_context(|| {
        format!(
            "{}: cannot read the signing key (make one with `baram radio keygen -o FILE`)",
            a.key.display()
        )
    })?;
    let mut files = Vec::new();
    for p in &a.files {
        let bytes = std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()))?;
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: the file name is not UTF-8; rename it", p.display()))?
            .to_string();
        files.push((name, bytes));
    }
    let b = broadcast::encode(&files, &key, a.mode, a.minutes, a.overhead)?;
    channel::write_wav(&a.output, &b.audio)?;
    let s = &b.summary;
    ctx.json(&serde_json::json!({
        "output": a.output.display().to_string(),
        "summary": s,
        "elapsed_s": t0.elapsed().as_secs_f64(),
    }));
    ctx.say(format!(
        "{}: {} files ({} bytes) in {} {} frames, {:.1} min ({:.0} b/s payload), broadcast {}; one round is {} frames",
        a.output.display(),
        s.files,
        s.bytes,
        s.frames,
        s.mode,
        s.seconds / 60.0,
        s.payload_bit_rate,
        s.broadcast_id,
        s.packets_per_round
    ));
    Ok(ExitCode::SUCCESS)
}

fn parse_public_key(s: &str) -> Result<VerifyingKey> {
    let text = if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        s.to_string()
    } else {
        std::fs::read_to_string(s).with_context(|| {
            format!("{s}: cannot read the public key (give KEY.pub or 64 hex digits)")
        })?
    };
    let t = text.trim();
    if t.len() != 64 || !t.is_ascii() {
        bail!("{s}: a public key is 64 hex digits (the KEY.pub from `baram radio keygen`)");
    }
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = u8::from_str_radix(&t[2 * i..2 * i + 2], 16)
            .map_err(|_| anyhow::anyhow!("{s}: not hex"))?;
    }
    VerifyingKey::from_bytes(&b).map_err(|_| anyhow::anyhow!("{s}: not a valid Ed25519 public key"))
}

#[derive(Serialize)]
struct DecodeFile {
    broadcast: String,
    index: u8,
    name: Option<String>,
    size: Option<u64>,
    symbols_held: u64,
    symbols_needed: Option<u64>,
    state: String,
    path: Option<String>,
}

fn run_decode(a: &DecodeArgs, ctx: &Ctx) -> Result<ExitCode> {
    let key = parse_public_key(&a.key)?;
    std::fs::create_dir_all(&a.into)
        .with_context(|| format!("{}: cannot create", a.into.display()))?;
    let mut rx = Receiver::open(&a.into, &key).with_context(|| a.into.display().to_string())?;
    let mut demod = Demodulator::new();
    let mut reports = Vec::new();
    let mut failed = false;
    for p in &a.recordings {
        let name = p.display().to_string();
        let rec = match channel::read_recording(p) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("baram: {e}; skipped");
                failed = true;
                continue;
            }
        };
        if let Some(w) = rec.warning(&name) {
            eprintln!("baram: warning: {w}");
        }
        let t0 = Instant::now();
        let pb = ctx.progress(
            1000,
            &format!("{name} ({:.0} min)", rec.duration_s() / 60.0),
        );
        let r = broadcast::receive_with_progress(&mut rx, &mut demod, &rec.samples, &mut |f| {
            pb.set_position((f * 1000.0) as u64)
        })
        .with_context(|| format!("{}: writing the received symbols", a.into.display()))?;
        pb.finish_and_clear();
        ctx.say(format!(
            "{name}: {:.1} s, {} frames decoded, {} not decodable, {} cut off; {} new packets, {} duplicates{} ({:.0}x real time)",
            r.seconds,
            r.frames_decoded,
            r.frames_failed,
            r.frames_cut_off,
            r.packets_new,
            r.packets_duplicate,
            if r.packets_refused > 0 {
                format!(", {} refused", r.packets_refused)
            } else {
                String::new()
            },
            r.seconds / t0.elapsed().as_secs_f64().max(1e-9)
        ));
        if r.frames_decoded == 0 {
            eprintln!(
                "baram: {name}: no frame could be decoded (silence, noise, or a signal too weak); nothing taken from it"
            );
        }
        reports.push((name, r));
    }
    for e in rx.events() {
        ctx.say(format!("{e}"));
    }
    let files: Vec<DecodeFile> = rx
        .status()
        .into_iter()
        .map(|f| {
            let (state, path) = match &f.state {
                FileState::WaitingForManifest => ("waiting for the manifest".to_string(), None),
                FileState::ManifestRejected => (
                    "manifest rejected (forged or another key)".to_string(),
                    None,
                ),
                FileState::Collecting => ("collecting".to_string(), None),
                FileState::Rebuilt(p) => ("written".to_string(), Some(p.display().to_string())),
                FileState::FailedVerification { failures } => (
                    format!("failed verification {failures} times; waiting for more symbols"),
                    None,
                ),
            };
            DecodeFile {
                broadcast: f.broadcast.to_string(),
                index: f.index,
                name: f.name,
                size: f.size,
                symbols_held: f.symbols_held,
                symbols_needed: f.symbols_needed,
                state,
                path,
            }
        })
        .collect();
    for f in &files {
        ctx.say(format!(
            "  {} #{} {}: {} of {} symbols, {}{}",
            f.broadcast,
            f.index,
            f.name.as_deref().unwrap_or("(name not yet known)"),
            f.symbols_held,
            f.symbols_needed.map_or("?".to_string(), |n| n.to_string()),
            f.state,
            f.path
                .as_deref()
                .map(|p| format!(": {p}"))
                .unwrap_or_default()
        ));
    }
    let rejected = rx
        .events()
        .iter()
        .any(|e| matches!(e, carousel::Event::ManifestRejected { .. }));
    ctx.json(&serde_json::json!({
        "recordings": reports.iter().map(|(n, r)| serde_json::json!({"file": n, "report": r})).collect::<Vec<_>>(),
        "files": files,
        "events": rx.events().iter().map(|e| e.to_string()).collect::<Vec<_>>(),
    }));
    if rejected {
        eprintln!(
            "baram: a manifest was rejected (forged, or signed by another key): its files are not written"
        );
    }
    Ok(if failed || rejected {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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
