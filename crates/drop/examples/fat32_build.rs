//! Builds a FAT32 image from a folder (used by bench/fat32_build.sh until the
//! CLI is wired).
//!
//! Usage: fat32_build SRC_DIR IMAGE SIZE [--no-partition] [--threads N] [--plan]
//! SIZE is in bytes, or with a K/M/G suffix (powers of 1024), or "auto" for
//! the smallest image that holds SRC_DIR, or "auto+P%" for that plus P
//! percent (rounded up to whole MiB). The image is fsynced before exit.
//! --plan writes nothing and prints "<image size> <cluster size>".

use std::path::Path;
use std::process::ExitCode;

use baram_drop::fat32::{self, Fat32Options};
use baram_drop::tree::{Entry, EntryKind, Source, Volume};

fn walk(root: &Path, rel: &mut Vec<String>, out: &mut Vec<Entry>) -> std::io::Result<()> {
    let dir = root.join(rel.iter().collect::<std::path::PathBuf>());
    for e in std::fs::read_dir(&dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let ft = e.file_type()?;
        rel.push(name);
        if ft.is_dir() {
            out.push(Entry {
                path: rel.clone(),
                kind: EntryKind::Dir,
            });
            walk(root, rel, out)?;
        } else if ft.is_file() {
            let size = e.metadata()?.len();
            out.push(Entry {
                path: rel.clone(),
                kind: EntryKind::File {
                    size,
                    source: Source::Path(e.path()),
                },
            });
        }
        rel.pop();
    }
    Ok(())
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err(
            "usage: fat32_build SRC_DIR IMAGE SIZE|auto [--no-partition] [--threads N]".into(),
        );
    }
    let mut opts = Fat32Options::default();
    let mut plan = false;
    let mut i = 3;
    while i < args.len() {
        match args[i].as_str() {
            "--no-partition" => opts.partition = false,
            "--plan" => plan = true,
            "--threads" => {
                i += 1;
                opts.threads = args
                    .get(i)
                    .and_then(|t| t.parse().ok())
                    .ok_or("--threads needs a number")?;
            }
            a => return Err(format!("unknown argument {a}")),
        }
        i += 1;
    }
    let mut entries = Vec::new();
    walk(Path::new(&args[0]), &mut Vec::new(), &mut entries)
        .map_err(|e| format!("{}: {e}", args[0]))?;
    let vol = Volume {
        label: "DROP".into(),
        serial: 0x1234_5678,
        entries,
        ..Default::default()
    };
    let size = if let Some(rest) = args[2].strip_prefix("auto") {
        let min = fat32::min_image_size(&vol, opts.partition).map_err(|e| e.to_string())?;
        let pct: u64 = match rest.strip_prefix('+').and_then(|r| r.strip_suffix('%')) {
            Some(p) => p.parse().map_err(|_| format!("bad size {}", args[2]))?,
            None if rest.is_empty() => 0,
            None => return Err(format!("bad size {}", args[2])),
        };
        if pct == 0 {
            min
        } else {
            (min + min * pct / 100).div_ceil(1 << 20) * (1 << 20)
        }
    } else {
        parse_size(&args[2]).ok_or_else(|| format!("bad size {}", args[2]))?
    };
    let layout = fat32::layout(&vol, size, &opts).map_err(|e| e.to_string())?;
    if plan {
        println!("{size} {}", layout.cluster_size());
        return Ok(());
    }
    let f = std::fs::File::create(&args[1]).map_err(|e| format!("{}: {e}", args[1]))?;
    fat32::write_image_file(&vol, &layout, &f).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| format!("{}: {e}", args[1]))?;
    eprintln!(
        "{}: {} bytes, {}-byte clusters, {} used, {} free",
        args[1],
        size,
        layout.cluster_size(),
        layout.used_clusters,
        layout.free_clusters()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fat32_build: {e}");
            ExitCode::FAILURE
        }
    }
}
