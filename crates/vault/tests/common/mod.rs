//! What the vault's integration tests share: a vault with a fast passphrase
//! key, files brought in through a real intake bundle, and the scans for
//! plaintext left on disk. Each test file uses part of it.
#![allow(dead_code)]

use age::secrecy::SecretString;
use baram_vault::{Intake, IntakeOptions, KeygenOptions, Keys, Vault, parse_recipient};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const PASS: &str = "correct horse 바람 staple";

pub fn pass() -> SecretString {
    SecretString::from(PASS.to_string())
}

/// `tag-` and 8 random hex digits.
pub fn unique(tag: &str) -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    format!("{tag}-{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])
}

/// A new vault at `root` (scrypt cost 2^10, for speed); its recipient.
pub fn new_vault(root: &Path) -> String {
    Vault::keygen(
        root,
        &pass(),
        &KeygenOptions {
            scrypt_log_n: Some(10),
        },
    )
    .unwrap()
}

/// Takes `files` (name, bytes) in through an intake bundle and imports it.
/// Returns the item id of each name.
pub fn bring_in(root: &Path, work: &Path, files: &[(&str, Vec<u8>)]) -> HashMap<String, String> {
    bring_in_with(root, work, files, &IntakeOptions::default())
}

/// [`bring_in`] with the intake's courier code and note.
pub fn bring_in_with(
    root: &Path,
    work: &Path,
    files: &[(&str, Vec<u8>)],
    opts: &IntakeOptions,
) -> HashMap<String, String> {
    let recipient = fs::read_to_string(root.join("recipient.txt")).unwrap();
    let r = parse_recipient(recipient.trim()).unwrap();
    let src = work.join(unique("src"));
    fs::create_dir_all(&src).unwrap();
    let bundle = work.join(unique("bundle"));
    let mut it = Intake::open(&bundle, &[r]).unwrap();
    let mut ids = HashMap::new();
    for (name, data) in files {
        let p = src.join(name);
        fs::write(&p, data).unwrap();
        let id = it.add_file(&p, opts, &mut |_| {}).unwrap().id;
        fs::remove_file(&p).unwrap();
        ids.insert(name.to_string(), id);
    }
    drop(it);
    fs::remove_dir_all(&src).unwrap();
    let mut v = Vault::open_writer(root).unwrap();
    let keys = v.unlock(&pass()).unwrap();
    let rep = v.import(&keys, &bundle, &|_, _| {}).unwrap();
    assert_eq!(rep.failed + rep.incomplete, 0, "{rep:?}");
    fs::remove_dir_all(&bundle).unwrap();
    ids
}

pub fn open(root: &Path) -> (Vault, Keys) {
    let v = Vault::open_writer(root).unwrap();
    let k = v.unlock(&pass()).unwrap();
    (v, k)
}

/// Every regular file under `root`, skipping what cannot be read.
pub fn all_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// No file of at most `max_len` bytes among `files` holds any of `secrets`.
pub fn assert_absent(files: &[PathBuf], secrets: &[Vec<u8>], max_len: u64) {
    for f in files {
        if fs::metadata(f).map(|m| m.len() > max_len).unwrap_or(true) {
            continue;
        }
        let Ok(bytes) = fs::read(f) else { continue };
        for s in secrets {
            assert!(
                memchr::memmem::find(&bytes, s).is_none(),
                "{}: holds the plaintext {:?}",
                f.display(),
                String::from_utf8_lossy(s)
            );
        }
    }
}

/// Runs a required tool; its failure fails the test.
pub fn tool(cmd: &mut Command, what: &str) -> std::process::Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} is required ({e}); scripts/test installs it"));
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}
