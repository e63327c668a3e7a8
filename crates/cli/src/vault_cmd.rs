//! `baram vault ...`: keygen, intake, import, check, list, process, search,
//! show, triage (status, tag, note, case) and export. Thin: the logic is in
//! the vault crate.

use crate::output::{Ctx, file_error};
use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};
use baram_vault::{
    Intake, IntakeOptions, ItemOutcome, KeygenOptions, Keys, Triage, TriageStatus, Vault,
    collect_files, parse_recipient, read_recipients_file,
};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// The environment variable a passphrase may come from (tests, automation).
const PASS_ENV: &str = "BARAM_VAULT_PASSPHRASE";

#[derive(Args, Debug)]
pub struct VaultArgs {
    /// The vault folder (identity, catalog, encrypted blobs).
    #[arg(
        long,
        global = true,
        env = "BARAM_VAULT",
        default_value = "baram-vault"
    )]
    vault: PathBuf,
    /// Read the passphrase from the first line of FILE. Without it: the
    /// environment variable BARAM_VAULT_PASSPHRASE, else a prompt on the terminal.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    cmd: VaultCmd,
}

#[derive(Subcommand, Debug)]
enum VaultCmd {
    /// Create the vault and the analyst's identity (protected by a
    /// passphrase); prints the public recipient for intake machines.
    Keygen {
        /// scrypt work factor (log2 N); default: about one second. For tests.
        #[arg(long, hide = true)]
        scrypt_log_n: Option<u8>,
    },
    /// On the intake machine: encrypt files or folders into a bundle folder
    /// (for a USB stick), each with an encrypted record. Needs only the
    /// recipient; nothing taken in can be read back here.
    Intake(IntakeArgs),
    /// Verify intake bundles and move their items into the vault. Importing a
    /// bundle twice adds nothing.
    Import {
        #[arg(required = true, value_name = "BUNDLE")]
        bundles: Vec<PathBuf>,
    },
    /// Decrypt and verify every blob; report missing, corrupt, orphaned and
    /// stray files.
    Check {
        /// Remove orphans and stray files, mark items whose blobs are bad.
        #[arg(long)]
        repair: bool,
    },
    /// List the items: ids, original names, sizes, received times, status.
    List,
    /// Process every imported item not yet processed: findings (kept
    /// encrypted), safe re-encoded images, documents rendered to safe PDFs
    /// with OCR text, videos and recordings remuxed without metadata; hostile files
    /// quarantined. Converters run in a bubblewrap sandbox.
    Process(ProcessArgs),
    /// Search the items' text and names (Korean by syllable bigrams, English
    /// by words), with filters from the triage. The index lives only in
    /// memory, rebuilt from the decrypted data.
    Search(SearchArgs),
    /// Everything about one item: record, type, size, hashes, triage,
    /// findings, derivatives, duplicates, text (analyst-only).
    Show {
        /// The item's id (or a unique prefix of at least 4 digits).
        id: String,
    },
    /// Set an item's triage status.
    Status {
        id: String,
        #[arg(value_parser = ["new", "reviewed", "verified", "published", "rejected"])]
        status: String,
    },
    /// Add tags to an item, or remove them with --remove (kept encrypted).
    Tag {
        id: String,
        #[arg(required = true)]
        tags: Vec<String>,
        #[arg(long)]
        remove: bool,
    },
    /// Add a note to an item (kept encrypted). Notes stay out of exports
    /// unless marked with --export.
    Note {
        id: String,
        text: String,
        /// Put this note into exports of the item's cases.
        #[arg(long)]
        export: bool,
    },
    /// Cases: named sets of items (an item can be in several), for export.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Write a case's safe material for partners into one ZIP: safe
    /// derivatives, extracted text, notes marked for export and a manifest;
    /// never originals, findings, couriers, times, names or paths.
    Export {
        /// The case to export.
        #[arg(long)]
        case: String,
        /// The ZIP to write (replaced atomically if it exists).
        #[arg(short, long, value_name = "OUT.zip")]
        output: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum CaseCmd {
    /// Put items into a case (made if new).
    Add {
        name: String,
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Take items out of a case.
    Remove {
        name: String,
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// List the cases and their items.
    List,
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// Words (all must match) and "quoted phrases"; may be left out when a
    /// filter is given.
    query: Vec<String>,
    /// At most this many hits.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Only items of this type (jpg, png, txt, pdf, ...).
    #[arg(long)]
    kind: Option<String>,
    /// Only items with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Only items with this triage status.
    #[arg(long, value_parser = ["new", "reviewed", "verified", "published", "rejected"])]
    status: Option<String>,
    /// Only items of this case.
    #[arg(long)]
    case: Option<String>,
    /// Only items received on or after this day (YYYY-MM-DD, UTC) or time
    /// (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Only items received on or before this day or time.
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
}

#[derive(Args, Debug)]
struct ProcessArgs {
    /// Run the converters (LibreOffice, poppler, tesseract, ffmpeg) without
    /// the bubblewrap sandbox when it cannot start. Hostile documents then
    /// run with your user's rights and network: only on an offline machine.
    #[arg(long)]
    no_sandbox: bool,
    /// Time limit for one document, all steps together (seconds).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    doc_timeout: u64,
    /// Most pages of one document that are rendered.
    #[arg(long, value_name = "N", default_value_t = 200)]
    max_pages: u32,
}

#[derive(Args, Debug)]
struct IntakeArgs {
    /// Files or folders (recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The bundle folder to write into (created if needed).
    #[arg(long, value_name = "DIR")]
    bundle: PathBuf,
    /// The analyst's recipient (age1…), as `baram vault keygen` printed it.
    #[arg(long = "to", value_name = "RECIPIENT")]
    to: Vec<String>,
    /// A file of recipients, one per line (# comments allowed).
    #[arg(long, value_name = "FILE")]
    recipients_file: Option<PathBuf>,
    /// The courier's code (stored only in the encrypted records).
    #[arg(long, value_name = "CODE")]
    courier: Option<String>,
    /// A note about these files (stored only in the encrypted records).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

pub fn run(a: &VaultArgs, ctx: &Ctx) -> Result<ExitCode> {
    match &a.cmd {
        VaultCmd::Keygen { scrypt_log_n } => keygen(a, *scrypt_log_n, ctx),
        VaultCmd::Intake(i) => intake(i, ctx),
        VaultCmd::Import { bundles } => import(a, bundles, ctx),
        VaultCmd::Check { repair } => check(a, *repair, ctx),
        VaultCmd::List => list(a, ctx),
        VaultCmd::Process(p) => process(a, p, ctx),
        VaultCmd::Search(s) => search(a, s, ctx),
        VaultCmd::Show { id } => show(a, id, ctx),
        VaultCmd::Status { id, status } => {
            let st: TriageStatus = status.parse()?;
            triage_change(a, id, ctx, |v, k, id| v.set_status(k, id, st))
        }
        VaultCmd::Tag { id, tags, remove } => {
            triage_change(a, id, ctx, |v, k, id| v.tag(k, id, tags, *remove))
        }
        VaultCmd::Note { id, text, export } => {
            triage_change(a, id, ctx, |v, k, id| v.add_note(k, id, text, *export))
        }
        VaultCmd::Case(c) => case(a, c, ctx),
        VaultCmd::Export { case, output } => export(a, case, output, ctx),
    }
}

/// The passphrase: --passphrase-file, else $BARAM_VAULT_PASSPHRASE, else a
/// prompt on the terminal (asked twice when `confirm`).
fn passphrase(a: &VaultArgs, confirm: bool) -> Result<SecretString> {
    if let Some(f) = &a.passphrase_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(f)
                .with_context(|| format!("{}: cannot read the passphrase file", f.display()))?,
        );
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            bail!("{}: the passphrase file is empty", f.display());
        }
        return Ok(SecretString::from(line.to_string()));
    }
    if let Some(v) = std::env::var_os(PASS_ENV) {
        let v = Zeroizing::new(
            v.into_string()
                .map_err(|_| anyhow::anyhow!("{PASS_ENV} is not valid UTF-8"))?,
        );
        if v.is_empty() {
            bail!("{PASS_ENV} is set but empty");
        }
        return Ok(SecretString::from(v.to_string()));
    }
    if std::fs::File::open("/dev/tty").is_err() {
        bail!(
            "no passphrase: pass --passphrase-file FILE or set {PASS_ENV} (there is no terminal to ask on)"
        );
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("vault passphrase: ").context("reading the passphrase")?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("the same passphrase again: ")
                .context("reading the passphrase")?,
        );
        if *again != *p {
            bail!("the two passphrases differ; nothing was created");
        }
    }
    Ok(SecretString::from(p.to_string()))
}

fn keygen(a: &VaultArgs, scrypt_log_n: Option<u8>, ctx: &Ctx) -> Result<ExitCode> {
    let pass = passphrase(a, true)?;
    let recipient = Vault::keygen(&a.vault, &pass, &KeygenOptions { scrypt_log_n })?;
    let fp = baram_vault::fingerprint(&parse_recipient(&recipient)?);
    #[derive(Serialize)]
    struct Out<'a> {
        vault: &'a Path,
        recipient: &'a str,
        fingerprint: &'a str,
    }
    ctx.json(&Out {
        vault: &a.vault,
        recipient: &recipient,
        fingerprint: &fp,
    });
    ctx.say(format!(
        "created vault {}; its public recipient (give it to intake machines; the passphrase cannot be recovered):",
        a.vault.display()
    ));
    if !ctx.json {
        println!("{recipient}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct FileOut {
    path: PathBuf,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn intake(a: &IntakeArgs, ctx: &Ctx) -> Result<ExitCode> {
    let mut recipients = Vec::new();
    for t in &a.to {
        recipients.push(parse_recipient(t)?);
    }
    if let Some(f) = &a.recipients_file {
        recipients.extend(read_recipients_file(f)?);
    }
    if recipients.is_empty() {
        bail!("no recipient: pass --to age1… (the analyst's public key from `baram vault keygen`)");
    }
    let opts = IntakeOptions {
        courier: a.courier.clone(),
        note: a.note.clone(),
    };
    opts.validate()?;
    let mut it = Intake::open(&a.bundle, &recipients)?;
    if !it.cleaned.is_empty() {
        ctx.say(format!(
            "removed {} leftover file(s) of an interrupted intake (those files were not taken; take them again)",
            it.cleaned.len()
        ));
    }
    let (files, bad) = collect_files(&a.paths);
    let mut out = Vec::new();
    for (p, e) in &bad {
        file_error(p, e);
        out.push(FileOut {
            path: p.clone(),
            outcome: "not-taken",
            id: None,
            size: None,
            reason: Some(e.to_string()),
        });
    }
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let pb = ctx.progress(total, "encrypting");
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut done = 0u64;
    let mut fatal = None;
    for (i, f) in files.iter().enumerate() {
        let res = it.add_file(f, &opts, &mut |n| pb.set_position(done + n));
        match res {
            Ok(t) => {
                done += t.size;
                tracing::info!(path = %f.display(), id = %t.id, "taken");
                out.push(FileOut {
                    path: f.clone(),
                    outcome: "taken",
                    id: Some(t.id),
                    size: Some(t.size),
                    reason: None,
                });
            }
            Err(e) => {
                pb.suspend(|| file_error(f, &e));
                out.push(FileOut {
                    path: f.clone(),
                    outcome: "not-taken",
                    id: None,
                    size: None,
                    reason: Some(e.to_string()),
                });
                if e.is_fatal() {
                    for rest in &files[i + 1..] {
                        file_error(rest, "not taken: the intake stopped");
                        out.push(FileOut {
                            path: rest.clone(),
                            outcome: "not-taken",
                            id: None,
                            size: None,
                            reason: Some("the intake stopped".into()),
                        });
                    }
                    fatal = Some(e);
                    break;
                }
            }
        }
    }
    pb.finish_and_clear();
    let taken = out.iter().filter(|o| o.outcome == "taken").count();
    let not_taken = out.len() - taken;
    ctx.json(&serde_json::json!({
        "bundle": a.bundle,
        "bundle_id": it.info().bundle_id,
        "taken": taken,
        "not_taken": not_taken,
        "files": out,
    }));
    ctx.say(format!(
        "{taken} taken, {not_taken} not taken, into {}",
        a.bundle.display()
    ));
    if let Some(e) = fatal {
        return Err(anyhow::Error::new(e).context(format!(
            "{}: the intake stopped (is the stick full or removed?)",
            a.bundle.display()
        )));
    }
    Ok(if not_taken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn import(a: &VaultArgs, bundles: &[PathBuf], ctx: &Ctx) -> Result<ExitCode> {
    let mut vault = Vault::open_writer(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let mut failed = false;
    let mut reports = Vec::new();
    for b in bundles {
        let pb = ctx.progress(0, "importing");
        let res = vault.import(&keys, b, &|i, n| {
            pb.set_length(n);
            pb.set_position(i)
        });
        pb.finish_and_clear();
        let rep = match res {
            Ok(r) => r,
            Err(e) => {
                eprintln!("baram: {e}");
                failed = true;
                continue;
            }
        };
        for o in &rep.items {
            match o {
                ItemOutcome::Failed { id, reason } => {
                    eprintln!("baram: {}: item {id}: {reason}; not taken", b.display());
                    failed = true;
                }
                ItemOutcome::Incomplete { file } => eprintln!(
                    "baram: {}: items/{file}: left by an interrupted intake; not taken (take that file in again)",
                    b.display()
                ),
                _ => {}
            }
        }
        for s in &rep.stray {
            eprintln!(
                "baram: {}: items/{s}: not written by a baram intake; ignored",
                b.display()
            );
        }
        if rep.imported + rep.duplicate + rep.failed + rep.incomplete == 0
            && rep.already_imported > 0
        {
            ctx.say(format!(
                "{}: already imported ({} items); nothing added",
                b.display(),
                rep.already_imported
            ));
        } else {
            ctx.say(format!(
                "{}: {} imported, {} duplicate, {} already imported, {} failed, {} incomplete",
                b.display(),
                rep.imported,
                rep.duplicate,
                rep.already_imported,
                rep.failed,
                rep.incomplete
            ));
        }
        reports.push(rep);
    }
    ctx.json(&reports);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn check(a: &VaultArgs, repair: bool, ctx: &Ctx) -> Result<ExitCode> {
    let mut vault = Vault::open_writer(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let pb = ctx.progress(vault.count()?, "checking");
    let rep = vault.check(&keys, repair, &|i, _| pb.set_position(i))?;
    pb.finish_and_clear();
    ctx.json(&rep);
    let fix = if repair {
        ""
    } else {
        " (restore it from a backup, or `vault check --repair` marks it)"
    };
    for p in &rep.problems {
        eprintln!(
            "baram: item {}: its {} blob {} is {}: {}{fix}",
            p.id, p.part, p.blob, p.kind, p.reason
        );
    }
    for b in &rep.orphaned {
        eprintln!("baram: blob {b}: no item refers to it (`vault check --repair` removes it)");
    }
    for s in &rep.stray {
        eprintln!(
            "baram: {}: stray file in the vault (`vault check --repair` removes it)",
            s.display()
        );
    }
    for r in rep.recovered.iter().chain(&rep.repaired) {
        ctx.say(format!("repaired: {r}"));
    }
    ctx.say(format!(
        "{} items, {} contents, {} blobs: {} problems, {} orphaned, {} stray, {} marked by earlier repairs",
        rep.items,
        rep.contents,
        rep.blobs,
        rep.problems.len(),
        rep.orphaned.len(),
        rep.stray.len(),
        rep.marked.len()
    ));
    Ok(if rep.is_clean() || repair {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn list(a: &VaultArgs, ctx: &Ctx) -> Result<ExitCode> {
    let vault = Vault::open(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let items = vault.list(&keys)?;
    ctx.json(&items);
    if !ctx.json {
        for i in &items {
            match &i.record {
                Some(r) => println!(
                    "{}  {:<7}  {:>12}  {}  {}{}",
                    i.id,
                    i.status,
                    r.size,
                    r.received_at,
                    r.original_name,
                    i.same_as
                        .as_ref()
                        .map(|s| format!("  (same as {s})"))
                        .unwrap_or_default()
                ),
                None => println!(
                    "{}  {:<7}  (record unreadable: run `baram vault check`)",
                    i.id, i.status
                ),
            }
        }
        ctx.say(format!("{} items", items.len()));
    }
    Ok(ExitCode::SUCCESS)
}

fn process(a: &VaultArgs, p: &ProcessArgs, ctx: &Ctx) -> Result<ExitCode> {
    use baram_vault::process::{Isolation, Options};
    let mut vault = Vault::open_writer(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let mut opts = Options::default();
    if p.no_sandbox && baram_vault::sandbox::Sandbox::probe().is_err() {
        opts.isolation = Isolation::Unconfined;
    }
    opts.docs.time = std::time::Duration::from_secs(p.doc_timeout.max(1));
    opts.docs.max_pages = p.max_pages.max(1);
    // HWP 5 and HWPX are read by this binary itself, in the sandbox.
    opts.docs.hwp_helper = Some(std::env::current_exe().map_err(|e| {
        anyhow::anyhow!("cannot find the baram binary to read HWP documents with: {e}")
    })?);
    let pb = ctx.progress(0, "processing");
    let rep = vault.process(&keys, &opts, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    });
    pb.finish_and_clear();
    let rep = rep?;
    for i in &rep.items {
        if let Some(reason) = &i.reason {
            eprintln!("baram: item {}: {:?}: {reason}", i.id, i.status);
        }
    }
    ctx.json(&rep);
    ctx.say(format!(
        "{} processed, {} quarantined, {} not handled yet, {} done before",
        rep.processed, rep.quarantined, rep.unhandled, rep.already
    ));
    if rep.deferred > 0 {
        eprintln!(
            "baram: {} item(s) in {} were not processed: {}",
            rep.deferred,
            a.vault.display(),
            rep.no_sandbox.as_deref().unwrap_or("no sandbox")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(if rep.quarantined > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn search(a: &VaultArgs, s: &SearchArgs, ctx: &Ctx) -> Result<ExitCode> {
    use baram_vault::search::Query;
    use baram_vault::triage::normalize_label;
    let text = s.query.join(" ");
    let mut q = Query::new(text.as_str());
    q.limit = s.limit;
    q.kind = s.kind.clone();
    q.status = s.status.clone();
    q.tag = s
        .tag
        .as_deref()
        .map(|t| normalize_label(t, "tag"))
        .transpose()?;
    q.case = s
        .case
        .as_deref()
        .map(|c| normalize_label(c, "case name"))
        .transpose()?;
    q.date_from = s
        .from
        .as_deref()
        .map(|d| baram_vault::parse_time_bound(d, false))
        .transpose()
        .context("--from")?;
    q.date_to =
        s.to.as_deref()
            .map(|d| baram_vault::parse_time_bound(d, true))
            .transpose()
            .context("--to")?;
    let filtered = q.kind.is_some()
        || q.status.is_some()
        || q.tag.is_some()
        || q.case.is_some()
        || q.date_from.is_some()
        || q.date_to.is_some();
    if text.trim().is_empty() && !filtered {
        bail!(
            "nothing to search for: give words, or a filter (--tag, --status, --kind, --case, --from, --to)"
        );
    }
    let vault = Vault::open(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let (index, items) = vault.search_index(&keys)?;
    let hits = index
        .search(&q)
        .map_err(|e| anyhow::anyhow!("query {text:?}: {e}"))?;
    #[derive(Serialize)]
    struct Out<'a> {
        id: &'a str,
        name: &'a str,
        score: f32,
        snippet: &'a str,
    }
    let out: Vec<Out> = hits
        .iter()
        .filter_map(|h| {
            let it = items.get(h.doc_id as usize)?;
            Some(Out {
                id: &it.id,
                name: it.record.as_ref().map_or("", |r| r.original_name.as_str()),
                score: h.score,
                snippet: &h.snippet,
            })
        })
        .collect();
    ctx.json(&out);
    for o in &out {
        ctx.say(format!("{}  {}\n    {}", o.id, o.name, o.snippet));
    }
    ctx.say(format!(
        "{} hit(s) in {} indexed item(s)",
        out.len(),
        index.len()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Opens the vault for writing, unlocks it, applies one triage change to an
/// item and reports the item's triage.
fn triage_change(
    a: &VaultArgs,
    id: &str,
    ctx: &Ctx,
    f: impl FnOnce(&mut Vault, &Keys, &str) -> std::result::Result<Triage, baram_vault::Error>,
) -> Result<ExitCode> {
    let mut vault = Vault::open_writer(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let full = vault.resolve_item(id)?;
    let t = f(&mut vault, &keys, &full)?;
    #[derive(Serialize)]
    struct Out<'a> {
        id: &'a str,
        #[serde(flatten)]
        triage: &'a Triage,
    }
    ctx.json(&Out {
        id: &full,
        triage: &t,
    });
    ctx.say(format!("{full}: {}", triage_line(&t)));
    Ok(ExitCode::SUCCESS)
}

fn triage_line(t: &Triage) -> String {
    let list = |s: &std::collections::BTreeSet<String>| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let exported = t.notes.iter().filter(|n| n.export).count();
    format!(
        "status {}; tags {}; cases {}; {} note(s), {} for export",
        t.status,
        list(&t.tags),
        list(&t.cases),
        t.notes.len(),
        exported
    )
}

fn case(a: &VaultArgs, c: &CaseCmd, ctx: &Ctx) -> Result<ExitCode> {
    match c {
        CaseCmd::Add { name, ids } | CaseCmd::Remove { name, ids } => {
            let add = matches!(c, CaseCmd::Add { .. });
            let mut vault = Vault::open_writer(&a.vault)?;
            let keys = vault.unlock(&passphrase(a, false)?)?;
            if add {
                vault.case_add(&keys, name, ids)?;
            } else {
                vault.case_remove(&keys, name, ids)?;
            }
            let cases = vault.cases(&keys)?;
            let norm = baram_vault::triage::normalize_label(name, "case name")?;
            let n = cases
                .iter()
                .find(|k| k.name == norm)
                .map_or(0, |k| k.items.len());
            ctx.json(&serde_json::json!({ "case": norm, "items": n }));
            ctx.say(format!("case {norm:?}: {n} item(s)"));
        }
        CaseCmd::List => {
            let vault = Vault::open(&a.vault)?;
            let keys = vault.unlock(&passphrase(a, false)?)?;
            let cases = vault.cases(&keys)?;
            ctx.json(&cases);
            for k in &cases {
                ctx.say(format!("{}  ({} item(s))", k.name, k.items.len()));
                for id in &k.items {
                    ctx.say(format!("    {id}"));
                }
            }
            ctx.say(format!("{} case(s)", cases.len()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(a: &VaultArgs, id: &str, ctx: &Ctx) -> Result<ExitCode> {
    let vault = Vault::open(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let d = vault.show(&keys, id)?;
    ctx.json(&d);
    if ctx.json {
        return Ok(ExitCode::SUCCESS);
    }
    let or = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    println!("item        {}", d.id);
    println!("bundle      {}", d.bundle_id);
    println!("integrity   {}", d.integrity);
    match &d.record {
        Some(r) => {
            println!("name        {}", r.original_name);
            println!("path        {}", r.original_path);
            println!("received    {}", r.received_at);
            println!("courier     {}", or(&r.courier));
            println!("intake note {}", or(&r.note));
        }
        None => println!("record      unreadable (run `baram vault check`)"),
    }
    match (&d.size, &d.content_error) {
        (Some(n), _) => println!("size        {n} bytes ({} encrypted)", d.cipher_size),
        (None, Some(e)) => println!("content     unreadable: {e} (run `baram vault check`)"),
        _ => {}
    }
    println!("blake3      {}", or(&d.blake3));
    println!("sha256      {}", or(&d.sha256));
    println!("triage      {}", triage_line(&d.triage));
    for (i, n) in d.triage.notes.iter().enumerate() {
        println!(
            "note {:<6} {}{}: {}",
            i + 1,
            n.added_at,
            if n.export { " [for export]" } else { "" },
            n.text
        );
    }
    match &d.processing {
        None => println!("processing  not processed yet (run `baram vault process`)"),
        Some(p) => {
            println!(
                "type        {} ({})",
                or(&p.kind),
                p.mime.as_deref().unwrap_or("unknown MIME type")
            );
            println!(
                "processing  {}{}",
                p.status,
                p.reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            if let Some(rs) = &p.redstar {
                println!(
                    "red star    {} machine(s): {}",
                    rs.blocks,
                    rs.serials.join(", ")
                );
            }
            if let Some(i) = &p.image {
                println!("image       {} x {} (dHash {})", i.width, i.height, i.dhash);
            }
            for f in &p.findings {
                println!(
                    "finding     {}: {}{}",
                    f.category,
                    f.field,
                    f.value
                        .as_ref()
                        .map(|v| format!(" = {v}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    for x in &d.derivatives {
        println!(
            "derivative  {} ({} bytes, BLAKE3 {})",
            x.kind, x.size, x.blake3
        );
    }
    for o in &d.duplicates.same_content {
        println!("duplicate   {o} (the same bytes)");
    }
    for o in &d.duplicates.same_cleaned {
        println!("duplicate   {o} (the same after cleaning)");
    }
    for (o, dist) in &d.duplicates.similar_images {
        println!("similar     {o} (image {dist}/64 bits apart)");
    }
    if let Some(t) = &d.text_excerpt {
        println!("text");
        for l in t.lines() {
            println!("    {l}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(a: &VaultArgs, case: &str, output: &Path, ctx: &Ctx) -> Result<ExitCode> {
    let vault = Vault::open(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let rep = vault.export_case(&keys, case, output)?;
    for l in &rep.left_out {
        eprintln!(
            "baram: item {}: {} of the export: {}",
            l.id,
            if l.refused { "refused" } else { "left out" },
            l.reason
        );
    }
    ctx.json(&rep);
    let Some(path) = &rep.path else {
        bail!(
            "case {case:?}: no item of it can be exported ({} left out, see above); nothing was written",
            rep.left_out.len()
        );
    };
    for (neutral, id) in &rep.map {
        ctx.say(format!("   {neutral} = item {id}"));
    }
    ctx.say(format!(
        "exported {} item(s), {} entries, {} bytes, to {} ({} left out)",
        rep.items,
        rep.entry_count,
        rep.size,
        path.display(),
        rep.left_out.len()
    ));
    Ok(if rep.left_out.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
