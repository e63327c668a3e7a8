//! `baram init` and `baram library ...`.

use crate::output::{Ctx, file_error};
use anyhow::{Context, Result};
use baram_library::{AddError, AddOptions, AddOutcome, Item, Kind, Library, ListQuery};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum LibraryCmd {
    /// Add files or folders (recursively). Each file is sanitized and the
    /// cleaned copy stored; the same bytes twice are stored once.
    Add(AddArgs),
    /// List items in id order.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Only items of this kind.
        #[arg(long)]
        kind: Option<Kind>,
        /// Only items with this tag.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Everything about one item, findings included.
    Show { id: i64 },
    /// Items whose title, file name, series or tags contain the text.
    Search {
        text: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Add (+TAG or TAG) and remove (-TAG) tags of an item.
    Tag {
        id: i64,
        #[arg(allow_hyphen_values = true, required = true)]
        tags: Vec<String>,
    },
    /// Remove items and their stored copies.
    Rm {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Re-hash every blob; report corrupt, missing and orphaned blobs.
    Check {
        /// Remove orphans and stray files, mark items whose blob is gone.
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Title (default: the file name without extension). Only with one file.
    #[arg(long)]
    title: Option<String>,
    /// Language code.
    #[arg(long, default_value = "ko")]
    lang: String,
    /// video, audio, text, image, book or archive (guessed when absent).
    #[arg(long)]
    kind: Option<Kind>,
    /// Comma-separated tags.
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// The curator's priority, 1 to 100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=100))]
    value: u8,
    /// The series the files belong to.
    #[arg(long)]
    series: Option<String>,
    /// Episode number of the first file; further files count up.
    #[arg(long, requires = "series")]
    episode: Option<u32>,
    /// Store files as given, without cleaning (drops refuse such items).
    #[arg(long)]
    no_sanitize: bool,
    /// Keep ICC colour profiles in images.
    #[arg(long)]
    keep_icc: bool,
    /// An SRT file with the video's subtitles (stored as a text item and
    /// linked; drops burn it in or put it beside the video). One video only.
    #[arg(long, value_name = "FILE.srt")]
    subtitles: Option<PathBuf>,
}

pub fn init(ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    let existed = Library::exists(ws);
    let lib = Library::init(ws)?;
    #[derive(Serialize)]
    struct Out<'a> {
        workspace: &'a Path,
        created: bool,
        items: u64,
    }
    let items = lib.count()?;
    ctx.json(&Out {
        workspace: ws,
        created: !existed,
        items,
    });
    if existed {
        ctx.say(format!(
            "workspace {} already exists ({items} items)",
            ws.display()
        ));
    } else {
        ctx.say(format!("created workspace {}", ws.display()));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(cmd: &LibraryCmd, ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    match cmd {
        LibraryCmd::Add(a) => add(a, ws, ctx),
        LibraryCmd::List {
            limit,
            offset,
            kind,
            tag,
        } => {
            let lib = Library::open(ws)?;
            let items = lib.list(&ListQuery {
                kind: *kind,
                tag: tag.clone(),
                limit: Some(*limit),
                offset: *offset,
            })?;
            print_items(&items, ctx);
            Ok(ExitCode::SUCCESS)
        }
        LibraryCmd::Show { id } => {
            let lib = Library::open(ws)?;
            let item = lib.get(*id)?;
            ctx.json(&item);
            if !ctx.json {
                print_item_full(&item, &lib);
            }
            Ok(ExitCode::SUCCESS)
        }
        LibraryCmd::Search { text, limit } => {
            let lib = Library::open(ws)?;
            let items = lib.search(&text.join(" "), *limit)?;
            print_items(&items, ctx);
            Ok(ExitCode::SUCCESS)
        }
        LibraryCmd::Tag { id, tags } => {
            let mut add = Vec::new();
            let mut remove = Vec::new();
            for t in tags {
                if let Some(r) = t.strip_prefix('-') {
                    remove.push(r.to_string());
                } else {
                    add.push(t.strip_prefix('+').unwrap_or(t).to_string());
                }
            }
            let mut lib = Library::open_writer(ws)?;
            let item = lib.tag(*id, &add, &remove)?;
            ctx.json(&item);
            ctx.say(format!("{}: {}", item.id, item.tags.join(", ")));
            Ok(ExitCode::SUCCESS)
        }
        LibraryCmd::Rm { ids } => {
            let mut lib = Library::open_writer(ws)?;
            let mut failed = false;
            let mut removed = Vec::new();
            for id in ids {
                match lib.remove(*id) {
                    Ok(item) => {
                        ctx.say(format!("removed {} {}", item.id, item.title));
                        removed.push(item.id);
                    }
                    Err(e) => {
                        eprintln!("baram: item {id}: {e}");
                        failed = true;
                    }
                }
            }
            ctx.json(&serde_json::json!({ "removed": removed }));
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        LibraryCmd::Check { repair } => {
            let mut lib = Library::open_writer(ws)?;
            let pb = ctx.progress(lib.count()?, "checking");
            let rep = lib.check(*repair, &|i, _| pb.set_position(i))?;
            pb.finish_and_clear();
            ctx.json(&rep);
            for (id, h) in &rep.corrupt {
                eprintln!(
                    "baram: item {id}: blob {h} is corrupt (restore it from a backup, or `library check --repair` marks it)"
                );
            }
            for (id, h) in &rep.missing {
                eprintln!(
                    "baram: item {id}: blob {h} is missing (restore it from a backup, or `library check --repair` marks it)"
                );
            }
            for h in &rep.orphaned {
                eprintln!(
                    "baram: blob {h}: no item refers to it (`library check --repair` removes it)"
                );
            }
            for p in &rep.stray {
                eprintln!(
                    "baram: {}: stray file in the store (`library check --repair` removes it)",
                    p.display()
                );
            }
            for r in &rep.repaired {
                ctx.say(format!("repaired: {r}"));
            }
            ctx.say(format!(
                "{} items, {} blobs: {} corrupt, {} missing, {} orphaned, {} stray, {} marked by earlier repairs",
                rep.items,
                rep.blobs,
                rep.corrupt.len(),
                rep.missing.len(),
                rep.orphaned.len(),
                rep.stray.len(),
                rep.marked.len()
            ));
            Ok(if rep.is_clean() || *repair {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

#[derive(Serialize, Default)]
struct AddSummary {
    added: u64,
    duplicate: u64,
    rejected: u64,
    rejected_by_reason: BTreeMap<&'static str, u64>,
    files: Vec<FileResult>,
}

#[derive(Serialize)]
struct FileResult {
    path: PathBuf,
    #[serde(flatten)]
    result: FileOutcome,
}

#[derive(Serialize)]
#[serde(untagged)]
enum FileOutcome {
    Ok(AddOutcome),
    Rejected {
        outcome: &'static str,
        reason: &'static str,
        message: String,
    },
}

fn add(a: &AddArgs, ws: &Path, ctx: &Ctx) -> Result<ExitCode> {
    let (files, bad) = baram_library::collect_files(&a.paths);
    if a.title.is_some() && files.len() > 1 {
        anyhow::bail!(
            "--title: {} files given; a title applies to one file (leave it out to use file names)",
            files.len()
        );
    }
    if a.subtitles.is_some() && files.len() != 1 {
        anyhow::bail!(
            "--subtitles: {} files given; subtitles go with exactly one video",
            files.len()
        );
    }
    let mut lib = Library::open_writer(ws)?;
    let subtitles = match &a.subtitles {
        None => None,
        Some(srt) => {
            let opts = AddOptions {
                lang: a.lang.clone(),
                kind: Some(Kind::Text),
                value: a.value,
                ..AddOptions::default()
            };
            let id = match lib.add_file(srt, &opts) {
                Ok(AddOutcome::Added { id, .. }) => id,
                Ok(AddOutcome::Duplicate { existing_id, .. }) => existing_id,
                Err(e) => {
                    return Err(anyhow::Error::new(e)).with_context(|| {
                        format!(
                            "{}: the subtitles could not be added; nothing was added",
                            srt.display()
                        )
                    });
                }
            };
            Some(id)
        }
    };
    let mut sum = AddSummary::default();
    let reject = |sum: &mut AddSummary, path: &Path, e: &AddError| {
        file_error(path, e);
        sum.rejected += 1;
        *sum.rejected_by_reason.entry(e.reason()).or_default() += 1;
        sum.files.push(FileResult {
            path: path.to_path_buf(),
            result: FileOutcome::Rejected {
                outcome: "rejected",
                reason: e.reason(),
                message: e.to_string(),
            },
        });
    };
    for (p, e) in &bad {
        reject(&mut sum, p, e);
    }
    let pb = ctx.progress(files.len() as u64, "adding");
    for (i, path) in files.iter().enumerate() {
        let opts = AddOptions {
            title: a.title.clone(),
            lang: a.lang.clone(),
            kind: a.kind,
            tags: a
                .tags
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            value: a.value,
            series: a.series.clone(),
            episode: a.episode.map(|e| e + i as u32),
            sanitize: !a.no_sanitize,
            sanitize_options: baram_sanitize::Options {
                keep_icc: a.keep_icc,
                ..Default::default()
            },
        };
        match lib.add_file(path, &opts) {
            Ok(outcome) => {
                if let Some(srt) = subtitles {
                    let id = match &outcome {
                        AddOutcome::Added { id, .. } => *id,
                        AddOutcome::Duplicate { existing_id, .. } => *existing_id,
                    };
                    lib.set_subtitles(id, Some(srt))
                        .with_context(|| format!("{}: --subtitles", path.display()))?;
                    pb.suspend(|| ctx.say(format!("subtitles: item {srt} linked to item {id}")));
                }
                match &outcome {
                    AddOutcome::Added {
                        id,
                        title,
                        kind,
                        findings,
                        redstar_blocks,
                    } => {
                        sum.added += 1;
                        let rs = redstar_blocks
                            .map(|b| format!(", Red Star watermark from {b} machine(s) removed"))
                            .unwrap_or_default();
                        pb.suspend(|| {
                            ctx.say(format!(
                                "added {id} {kind} {title:?} ({findings} finding(s) removed{rs})"
                            ))
                        });
                    }
                    AddOutcome::Duplicate { existing_id, title } => {
                        sum.duplicate += 1;
                        pb.suspend(|| {
                            ctx.say(format!(
                                "duplicate {}: same content as item {existing_id} {title:?}, stored once",
                                path.display()
                            ))
                        });
                    }
                }
                sum.files.push(FileResult {
                    path: path.clone(),
                    result: FileOutcome::Ok(outcome),
                });
            }
            Err(e) if e.is_fatal() => {
                pb.finish_and_clear();
                return Err(anyhow::Error::new(e))
                    .with_context(|| format!("{}: adding stopped", path.display()));
            }
            Err(e) => pb.suspend(|| reject(&mut sum, path, &e)),
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    ctx.json(&sum);
    let reasons: Vec<String> = sum
        .rejected_by_reason
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    ctx.say(format!(
        "{} added, {} duplicate, {} rejected{}",
        sum.added,
        sum.duplicate,
        sum.rejected,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    ));
    Ok(if sum.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_items(items: &[Item], ctx: &Ctx) {
    if ctx.json {
        ctx.json(&items);
        return;
    }
    for it in items {
        let series = match (&it.series, it.episode) {
            (Some(s), Some(e)) => format!(" [{s} #{e}]"),
            (Some(s), None) => format!(" [{s}]"),
            _ => String::new(),
        };
        let tags = if it.tags.is_empty() {
            String::new()
        } else {
            format!(" #{}", it.tags.join(" #"))
        };
        let status = if it.status == "ok" {
            String::new()
        } else {
            format!(" ({})", it.status)
        };
        println!(
            "{:>6}  {:<7} {:>10}  v{:<3} {}{}{}{}",
            it.id,
            it.kind,
            human_size(it.size),
            it.value,
            it.title,
            series,
            tags,
            status
        );
    }
}

fn print_item_full(it: &Item, lib: &Library) {
    println!("id:        {}", it.id);
    println!("title:     {}", it.title);
    println!("file name: {}", it.file_name);
    println!("kind:      {} ({}, {})", it.kind, it.format, it.mime);
    println!("language:  {}", it.lang);
    println!("value:     {}", it.value);
    if let Some(s) = &it.series {
        println!(
            "series:    {s}{}",
            it.episode.map(|e| format!(" #{e}")).unwrap_or_default()
        );
    }
    println!("tags:      {}", it.tags.join(", "));
    println!("size:      {} ({} bytes)", human_size(it.size), it.size);
    println!("hash:      {}", it.hash);
    println!("original:  {}", it.original_hash);
    println!(
        "stored:    {}{}",
        if it.sanitized {
            "cleaned copy"
        } else {
            "AS GIVEN, NOT CLEANED"
        },
        if it.status == "ok" {
            String::new()
        } else {
            format!(" (blob {})", it.status)
        }
    );
    println!("blob:      {}", lib.blob_path(&it.hash).display());
    if let Some(m) = &it.media {
        println!(
            "media:     {}",
            serde_json::to_string(m).unwrap_or_default()
        );
    }
    if let Some(rs) = it.findings.get("redstar") {
        println!(
            "red star:  {} block(s): {}",
            rs.get("blocks").and_then(|b| b.as_u64()).unwrap_or(0),
            rs.get("serials").map(|s| s.to_string()).unwrap_or_default()
        );
    }
    let findings = it
        .findings
        .get("findings")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    println!("findings:  {} removed from the original", findings.len());
    for f in findings {
        println!(
            "  - {} {}{}",
            f.get("category").and_then(|c| c.as_str()).unwrap_or("?"),
            f.get("field").and_then(|c| c.as_str()).unwrap_or("?"),
            f.get("value")
                .and_then(|c| c.as_str())
                .map(|v| format!(": {v}"))
                .unwrap_or_default()
        );
    }
}

pub fn human_size(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < U.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[u])
    }
}
