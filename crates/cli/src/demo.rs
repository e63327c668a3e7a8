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
    flight_ok: bool,
    flight: Option<FlightDemo>,
    vault_ok: bool,
    radio_ok: bool,
}

/// The flight step's outcome.
#[derive(Serialize)]
struct FlightDemo {
    members: u32,
    /// Probability per area code (PRK first), and of a failed member.
    probabilities: Vec<(&'static str, f64)>,
    failed_probability: f64,
    winds_held_steady: bool,
    report: PathBuf,
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
        flight_ok: false,
        flight: None,
        vault_ok: false,
        radio_ok: false,
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

    ctx.say("== 5. A balloon launch plan: an ensemble from the shipped GFS forecast");
    let flight = demo_flight(dir, ctx)?;
    let total: f64 =
        flight.probabilities.iter().map(|(_, p)| p).sum::<f64>() + flight.failed_probability;
    rep.flight_ok = (total - 1.0).abs() < 1e-9 && flight.report.is_file();
    rep.flight = Some(flight);

    ctx.say("== 6. The vault: material carried out, encrypted from the first byte");
    rep.vault_ok = demo_vault(dir, &input, ctx)?;

    ctx.say("== 7. Radio: files over shortwave, rebuilt from a damaged recording");
    rep.radio_ok = demo_radio(dir, ctx)?;

    ctx.say(format!(
        "\nDemo done: {} added, {} duplicate, {} refused; {} identifying items removed.\nWorkspace: {}\nFlight report: {}\nTry: baram --workspace {} library list",
        rep.added,
        rep.duplicates,
        rep.rejected,
        rep.findings_removed,
        shown(&ws),
        rep.flight.as_ref().map_or("-".to_string(), |f| shown(&f.report)),
        shown(&ws)
    ));
    ctx.json(&rep);
    Ok(
        if rep.stored_copies_clean
            && check.is_clean()
            && rep.drop_ok
            && rep.flight_ok
            && rep.vault_ok
            && rep.radio_ok
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// Takes a few sample files through the vault as a field laptop and an
/// analyst would: intake into a bundle (encrypted while read, with a
/// courier code), import, processing (findings kept encrypted, safe images),
/// and a Korean search. Returns whether every step did what it should.
fn demo_vault(dir: &Path, input: &Path, ctx: &Ctx) -> Result<bool> {
    use age::secrecy::SecretString;
    use baram_vault::search::Query;
    use baram_vault::{Intake, IntakeOptions, KeygenOptions, Vault, parse_recipient};
    let root = dir.join("vault");
    // A demo passphrase and a cheap key derivation: a real vault uses
    // `baram vault keygen`, which asks for a passphrase and takes a second.
    let pass = SecretString::from("baram demo passphrase".to_string());
    let recipient = Vault::keygen(
        &root,
        &pass,
        &KeygenOptions {
            scrypt_log_n: Some(10),
        },
    )?;
    ctx.say(format!(
        "   analyst key made in {} (recipient {}...)",
        shown(&root),
        &recipient[..12]
    ));
    let testimony = input.join("증언.txt");
    fs::write(
        &testimony,
        "평양에서 온 증언: 시장에서 쌀값이 두 배로 올랐다. 주민들은 장마당에 의지한다.\n",
    )?;
    let files = [
        testimony,
        input.join("사진 (red star).jpg"),
        input.join("보고서.docx"),
    ];
    let bundle = dir.join("vault-bundle");
    let mut intake = Intake::open(&bundle, &[parse_recipient(&recipient)?])?;
    let opts = IntakeOptions {
        courier: Some("DEMO-7".into()),
        note: Some("demo intake".into()),
    };
    for f in &files {
        intake
            .add_file(f, &opts, &mut |_| {})
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
    }
    ctx.say(format!(
        "   field laptop: {} files encrypted into {} (it holds no key to read them back)",
        files.len(),
        shown(&bundle)
    ));
    let mut vault = Vault::open_writer(&root)?;
    let keys = vault.unlock(&pass)?;
    vault.import(&keys, &bundle, &|_, _| {})?;
    let rep = vault.process(&keys, &Default::default(), &|_, _| {})?;
    ctx.say(format!(
        "   analyst: imported the bundle; processed {}, quarantined {}, not handled yet {}",
        rep.processed, rep.quarantined, rep.unhandled
    ));
    let (index, items) = vault.search_index(&keys)?;
    let mut redstar = 0;
    for it in &items {
        if let Some(r) = vault.process_report(&keys, &it.id)?
            && let Some(rs) = &r.redstar
        {
            redstar = rs.blocks;
            ctx.say(format!(
                "   {}: Red Star watermark of {} machines found (serials kept encrypted, for the analyst only)",
                it.record.as_ref().map_or("?", |r| r.original_name.as_str()),
                rs.blocks
            ));
        }
    }
    let hits = index
        .search(&Query::new("평양"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for h in &hits {
        ctx.say(format!("   search 평양: {}", h.snippet));
    }
    // Triage and export: a case of all three, one note for partners, one not.
    let ids: Vec<String> = items.iter().map(|it| it.id.clone()).collect();
    let testimony_id = items
        .iter()
        .find(|it| {
            it.record
                .as_ref()
                .is_some_and(|r| r.original_name == "증언.txt")
        })
        .map(|it| it.id.clone())
        .context("the testimony was imported")?;
    drop(index);
    let case = "장마당 물가";
    vault.case_add(&keys, case, &ids)?;
    let t = &testimony_id;
    vault.set_status(&keys, t, baram_vault::TriageStatus::Verified)?;
    vault.tag(&keys, t, &["market".into()], false)?;
    vault.add_note(&keys, t, "쌀값 두 배: 2차 출처로 확인됨", true)?;
    vault.add_note(&keys, t, "analyst only: ask the courier again", false)?;
    let zip = dir.join("vault-export.zip");
    let ex = vault.export_case(&keys, case, &zip)?;
    for l in &ex.left_out {
        ctx.say(format!(
            "   left out of the export: item {}: {}",
            &l.id[..8],
            l.reason
        ));
    }
    ctx.say(format!(
        "   export of case {case}: {} ({} items, {} entries: safe copies, text, the note for export, manifest.json; no original, finding, courier, time or name)",
        shown(&zip),
        ex.items,
        ex.entry_count
    ));
    Ok(rep.quarantined == 0
        && hits.len() == 1
        && redstar > 0
        && ex.path.is_some()
        && ex.items >= 2
        && !ex.left_out.iter().any(|l| l.refused))
}

/// Plans a drop over the sample library (a small medium, to stay quick),
/// builds the FAT32 image and the same volume as a folder, writes the image
/// to two image files and verifies them. Returns whether every copy is ok.
fn demo_drop(dir: &Path, ws: &Path, ctx: &Ctx) -> Result<bool> {
    use baram_drop::job::{self, Drops, Format, PlanSpec};
    let lib = Library::open(ws)?;
    let spec = PlanSpec {
        medium: "64000000".into(),
        profile: "notel".into(),
        ..PlanSpec::default()
    };
    if let Err(e) = baram_drop::convert::ffmpeg_available() {
        ctx.say(format!("   {e}"));
    }
    let drops = Drops::new(&lib, &spec.profile)?;
    let (out, skipped) = job::make_plan(&drops, &spec, &|_, _| {})?;
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

/// The GFS sample shipped with the flight crate: NCEP GFS 2.5°, run
/// 2011-01-10 12Z, +120 h (crates/flight/data/grib/README.md). Embedded, so
/// the demo needs no file beside the binary.
const GFS_SAMPLE: &[u8] = include_bytes!("../../flight/data/grib/gfs.t12z.pgrbf120.2p5deg.grib2");
const GFS_SAMPLE_NAME: &str = "gfs.t12z.pgrbf120.2p5deg.grib2";

/// Imports the GFS sample over Korea, flies a 200-member ensemble from
/// Ganghwa and writes its HTML report.
fn demo_flight(dir: &Path, ctx: &Ctx) -> Result<FlightDemo> {
    use baram_flight::ensemble::{self, EnsembleSpec};
    use baram_flight::geo::Area;
    use baram_flight::model::{Ascent, Descent, FlightSpec, Launch};
    use baram_flight::report::{self, ReportInput};
    use baram_flight::wind::{self, ImportOptions, Region, WindField};
    let opts = ImportOptions {
        region: Some(Region::KOREA),
        std_atmosphere_heights: false,
    };
    let (cube, _) = wind::import_bytes(
        &[(GFS_SAMPLE_NAME.to_string(), GFS_SAMPLE)],
        &opts,
        &mut |_, _| {},
    )?;
    let m = cube.meta();
    ctx.say(format!(
        "   winds: {} (run {}, valid {})",
        m.source,
        wind::format_time(m.run_time),
        wind::format_time(m.times[0])
    ));
    // Ganghwa, 2011-01-15T12:00Z (the forecast's valid time): 5 m/s up to a
    // 25 km burst (below the data's 10 hPa top, about 30.7 km, even with the
    // burst altitude's spread), 5 m/s down under a parachute.
    let base = FlightSpec::new(
        Launch {
            lat_deg: 37.75,
            lon_deg: 126.48,
            time_unix_s: 1_295_092_800.0,
            alt_m: 0.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 5.0,
            burst_altitude_m: 25_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    let mut spec = EnsembleSpec::new(base, 200, 1);
    spec.wind_error.forecast_run_unix_s = Some(m.run_time as f64);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let r = ensemble::run(&spec, &cube, threads).map_err(crate::flight_cmd::explain)?;
    ctx.say(format!(
        "   200 members from Ganghwa (37.75 N 126.48 E) at 2011-01-15T12:00Z: 5 m/s ascent, 25 km burst, 5 m/s descent; wind error σ {:.1} m/s (a 120 h forecast)",
        spec.wind_error.sigma_m_s(120.0)
    ));
    crate::flight_cmd::say_areas(ctx, &r);
    ctx.say(format!(
        "   airports: {} of {} members pass within 10 km of an airport below 10,000 m",
        r.airports.members, r.members
    ));
    if let Some(w) = baram_flight::windows::mdl_warning(37.75, 126.48) {
        ctx.say(format!("   WARNING: {w}"));
    }
    if cube.steady() {
        ctx.say("   note: the sample has one forecast time: winds are held steady over the flight");
    }
    let source = format!(
        "{}; run {}; one valid time ({}): winds held steady",
        m.source,
        wind::format_time(m.run_time),
        wind::format_time(m.times[0])
    );
    let html = report::html(&ReportInput {
        title: "baram demo: Ganghwa, GFS sample",
        spec: &spec,
        result: &r,
        wind_source: &source,
        target: Area::Prk,
        windows: None,
    });
    let path = dir.join("flight-report.html");
    fs::write(&path, html).with_context(|| format!("{}: cannot write", path.display()))?;
    ctx.say(format!(
        "   report {} (one file, opens offline)",
        shown(&path)
    ));
    Ok(FlightDemo {
        members: r.members,
        probabilities: r.areas.iter().map(|a| (a.area, a.probability)).collect(),
        failed_probability: r.failed_probability,
        winds_held_steady: r.winds_held_steady,
        report: path,
    })
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

/// Encodes two small files in the robust mode, passes the recording through
/// the CCIR Poor channel at -3 dB with a frequency offset and a clock error,
/// cuts 30% out of the middle, and decodes: the files must come back
/// bit-exact, verified against the signed manifest.
fn demo_radio(dir: &Path, ctx: &Ctx) -> Result<bool> {
    use baram_radio::broadcast;
    use baram_radio::carousel::{self, Receiver};
    use baram_radio::channel::{self, ChannelConfig, Profile};
    use baram_radio::modem::{Demodulator, Mode};
    let rdir = dir.join("radio");
    fs::create_dir_all(&rdir).with_context(|| rdir.display().to_string())?;
    let news =
        "자유아시아 방송 소식: 오늘 평양의 날씨는 맑습니다. 세계 소식을 전합니다.\n".repeat(8);
    let mut picture = Vec::with_capacity(1200);
    let mut x = 0x2545_F491u32;
    for _ in 0..1200 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        picture.push(x as u8);
    }
    let files = vec![
        ("소식.txt".to_string(), news.into_bytes()),
        ("picture.bin".to_string(), picture),
    ];
    // A demo key (fixed so the demo is reproducible); real broadcasts use
    // `baram radio keygen`.
    let key = carousel::signing_key_from_seed(b"baram demo broadcaster key, v1.\0");
    let b = broadcast::encode(
        &files,
        &key,
        Mode::Robust,
        Some(6.0),
        broadcast::DEFAULT_OVERHEAD,
    )?;
    let wav = rdir.join("broadcast.wav");
    channel::write_wav(&wav, &b.audio)?;
    ctx.say(format!(
        "   {} files, {} bytes -> {} robust frames, {:.1} min of audio ({:.0} b/s): {}",
        b.summary.files,
        b.summary.bytes,
        b.summary.frames,
        b.summary.seconds / 60.0,
        b.summary.payload_bit_rate,
        shown(&wav)
    ));
    let mut cfg = ChannelConfig::new(Profile::Poor, -3.0, 7);
    cfg.freq_offset_hz = 25.0;
    cfg.clock_ppm = 0.0;
    let (rx_audio, rep) = channel::simulate(&b.audio, &cfg)?;
    let n = rx_audio.len();
    let (a, z) = (n / 5, n / 5 + n * 3 / 10);
    let mut damaged = rx_audio[..a].to_vec();
    damaged.extend_from_slice(&rx_audio[z..]);
    let rec = rdir.join("recording.wav");
    channel::write_wav(&rec, &damaged)?;
    ctx.say(format!(
        "   through CCIR Poor at {:.1} dB SNR (3 kHz), 25 Hz off, then 30% cut out: {}",
        rep.snr_ref_3k_db,
        shown(&rec)
    ));
    let into = rdir.join("received");
    let _ = fs::remove_dir_all(&into);
    fs::create_dir_all(&into)?;
    let mut receiver = Receiver::open(&into, &key.verifying_key())?;
    let r = broadcast::receive(&mut receiver, &mut Demodulator::new(), &damaged)?;
    ctx.say(format!(
        "   decoded {} frames ({} not decodable, {} cut off)",
        r.frames_decoded, r.frames_failed, r.frames_cut_off
    ));
    let mut ok = true;
    for (name, bytes) in &files {
        let got = fs::read(into.join(name)).ok();
        let same = got.as_deref() == Some(bytes.as_slice());
        ok &= same;
        ctx.say(format!(
            "   {name}: {}",
            if same {
                "rebuilt bit-exact, signature and BLAKE3 verified"
            } else {
                "NOT rebuilt"
            }
        ));
    }
    Ok(ok)
}
