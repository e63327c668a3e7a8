//! `baram vault ...`: keygen, intake, import, check, list.

use crate::output::{Ctx, file_error};
use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};
use baram_vault::{
    Intake, IntakeOptions, ItemOutcome, KeygenOptions, Vault, collect_files, parse_recipient,
    read_recipients_file,
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
    /// with OCR text, videos remuxed without metadata; hostile files
    /// quarantined. Converters run in a bubblewrap sandbox.
    Process(ProcessArgs),
    /// Search the items' text (Korean by syllable bigrams, English by words).
    /// The index lives only in memory, rebuilt from the decrypted texts.
    Search {
        /// Words (all must match) and "quoted phrases".
        #[arg(required = true)]
        query: Vec<String>,
        /// At most this many hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only items of this type (jpeg, text, pdf, ...).
        #[arg(long)]
        kind: Option<String>,
    },
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
        VaultCmd::Search { query, limit, kind } => search(a, &query.join(" "), *limit, kind, ctx),
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

fn search(
    a: &VaultArgs,
    text: &str,
    limit: usize,
    kind: &Option<String>,
    ctx: &Ctx,
) -> Result<ExitCode> {
    use baram_vault::search::Query;
    let vault = Vault::open(&a.vault)?;
    let keys = vault.unlock(&passphrase(a, false)?)?;
    let (index, items) = vault.search_index(&keys)?;
    let mut q = Query::new(text);
    q.limit = limit;
    q.kind = kind.clone();
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
