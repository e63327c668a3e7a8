//! The vault's library API end to end: keys, intake, import, list, check,
//! tampering, leftovers of killed intakes, and the independent `age` tool as
//! an oracle for the format.

use age::secrecy::{ExposeSecret, SecretString};
use baram_vault::{
    Error, Intake, IntakeOptions, ItemOutcome, KeygenOptions, Vault, bundle, collect_files,
    parse_recipient,
};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{PASS, new_vault as keygen, pass};

const COURIER: &str = "K-7731-조";
const NOTE: &str = "met at the Dandong market, 단둥 시장 뒤편";

/// Deterministic bytes (xorshift64*).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2).wrapping_add(1);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        v.extend_from_slice(&s.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// The fixture set: marker strings that must never appear at rest, Korean
/// names, an empty file, a 20 MB file, nested folders.
struct Fixtures {
    dir: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
    /// Byte strings that must not occur in any file written at rest.
    secrets: Vec<Vec<u8>>,
}

fn fixtures(dir: &Path) -> Fixtures {
    let mut files = Vec::new();
    let mut secrets: Vec<Vec<u8>> = vec![
        COURIER.as_bytes().to_vec(),
        NOTE.as_bytes().to_vec(),
        b"Dandong".to_vec(),
    ];
    let add = |rel: &str, data: Vec<u8>, files: &mut Vec<(PathBuf, Vec<u8>)>| {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &data).unwrap();
        files.push((p, data));
    };
    add(
        "평양 보고서.txt",
        "MARKER-PYONGYANG-0001 보위부 명단: 김철수, 리영희\n"
            .repeat(40)
            .into_bytes(),
        &mut files,
    );
    add("빈 파일.txt", Vec::new(), &mut files);
    let mut big = noise(7, 20 << 20);
    for (i, at) in [0usize, 10 << 20, (20 << 20) - 64].into_iter().enumerate() {
        let m = format!("MARKER-BIG-{i:04}-END");
        big[at..at + m.len()].copy_from_slice(m.as_bytes());
    }
    add("영상/큰 파일 20MB.bin", big, &mut files);
    add(
        "a/b/c/깊은 곳의 문서.txt",
        b"MARKER-NESTED-0002 Red Star serial 0xDEADBEEF".to_vec(),
        &mut files,
    );
    add(
        "photo_IMG_4471.jpg",
        [
            &b"\xff\xd8\xff\xe1"[..],
            b"MARKER-CAMERA-SERIAL-SN99812 GPS 39.0392N 125.7625E",
        ]
        .concat(),
        &mut files,
    );
    for (p, data) in &files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        secrets.push(name.into_bytes());
        // Every marker, and windows of the larger files' contents.
        let mut i = 0;
        while let Some(pos) = memchr::memmem::find(&data[i..], b"MARKER-") {
            let start = i + pos;
            let end = (start + 18).min(data.len());
            secrets.push(data[start..end].to_vec());
            i = end;
        }
        if data.len() >= 4096 {
            for k in 0..8 {
                let at = data.len() / 8 * k;
                secrets.push(data[at..at + 64].to_vec());
            }
        }
    }
    secrets.push(b"a/b/c".to_vec());
    secrets.push(dir.to_string_lossy().as_bytes().to_vec());
    Fixtures {
        dir: dir.to_path_buf(),
        files,
        secrets,
    }
}

/// Every regular file under `root`, recursively.
fn all_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// The plaintext-at-rest scan: no secret in any byte of any file, and none in
/// any file name.
fn assert_no_plaintext(root: &Path, secrets: &[Vec<u8>]) {
    let files = all_files(root);
    assert!(!files.is_empty());
    for f in &files {
        let bytes = fs::read(f).unwrap();
        let name = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        for s in secrets {
            assert!(
                memchr::memmem::find(&bytes, s).is_none(),
                "{}: holds the plaintext {:?}",
                f.display(),
                String::from_utf8_lossy(s)
            );
            assert!(
                memchr::memmem::find(name.as_bytes(), s).is_none(),
                "{name}: a file name holds {:?}",
                String::from_utf8_lossy(s)
            );
        }
        assert!(
            memchr::memmem::find(&bytes, b"AGE-SECRET-KEY").is_none(),
            "{}: holds a secret key in clear",
            f.display()
        );
    }
}

fn intake(bundle: &Path, recipient: &str, paths: &[PathBuf]) -> Vec<String> {
    let r = parse_recipient(recipient).unwrap();
    let mut it = Intake::open(bundle, &[r]).unwrap();
    let (files, bad) = collect_files(paths);
    assert!(bad.is_empty());
    let opts = IntakeOptions {
        courier: Some(COURIER.into()),
        note: Some(NOTE.into()),
    };
    files
        .iter()
        .map(|f| it.add_file(f, &opts, &mut |_| {}).unwrap().id)
        .collect()
}

#[test]
fn keygen_unlock_and_wrong_passphrase() {
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("vault");
    let r = keygen(&v);
    assert!(r.starts_with("age1"), "{r}");
    parse_recipient(&r).unwrap();
    let idp = v.join("identity.age");
    let meta = fs::metadata(&idp).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(&v).unwrap().mode() & 0o777, 0o700);
    let bytes = fs::read(&idp).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(memchr::memmem::find(&bytes, b"AGE-SECRET-KEY").is_none());

    let vault = Vault::open(&v).unwrap();
    let keys = vault.unlock(&pass()).unwrap();
    assert_eq!(keys.recipient().to_string(), r);
    assert_eq!(vault.recipient().unwrap(), r);
    let e = vault
        .unlock(&SecretString::from("wrong".to_string()))
        .err()
        .unwrap();
    assert!(matches!(e, Error::WrongPassphrase(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("identity.age") && msg.contains("wrong passphrase"),
        "{msg}"
    );

    // Never replaced.
    let e = Vault::keygen(&v, &pass(), &KeygenOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, Error::IdentityExists(_)), "{e}");
    assert_eq!(fs::read(&idp).unwrap(), bytes);
    // An empty passphrase is refused.
    let e = Vault::keygen(
        &d.path().join("v2"),
        &SecretString::from(String::new()),
        &KeygenOptions::default(),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("passphrase is empty"));
}

#[test]
fn secret_key_is_refused_as_recipient_without_echo() {
    let id = age::x25519::Identity::generate();
    let s = id.to_string();
    let e = parse_recipient(s.expose_secret())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("secret key"), "{e}");
    assert!(!e.contains(&s.expose_secret()[20..]), "the key was echoed");
    assert!(parse_recipient("age1nonsense").is_err());
}

#[test]
fn intake_import_list_reimport_and_no_plaintext_at_rest() {
    let d = tempfile::tempdir().unwrap();
    let fx = fixtures(&d.path().join("input"));
    let v = d.path().join("vault");
    let r = keygen(&v);
    let b = d.path().join("usb/bundle-1");
    let ids = intake(&b, &r, std::slice::from_ref(&fx.dir));
    assert_eq!(ids.len(), fx.files.len());

    // The bundle in clear: bundle.json has exactly the allowed fields.
    let bj: serde_json::Value =
        serde_json::from_slice(&fs::read(b.join("bundle.json")).unwrap()).unwrap();
    let keys: Vec<&str> = bj.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["bundle_id", "format", "recipients", "version"]);
    assert_eq!(bj["bundle_id"].as_str().unwrap().len(), 32);
    // Every file and folder carries the fixed time; records are padded.
    for f in all_files(&b)
        .into_iter()
        .chain([b.clone(), b.join("items")])
    {
        let m = fs::metadata(&f).unwrap();
        assert_eq!(m.mtime(), 315_532_800, "{}", f.display());
        if f.to_string_lossy().ends_with(".rec.age") {
            // One 4096-byte padded record in one chunk, plus the age header
            // (whose random grease stanza varies in length): the length says
            // nothing about names, courier or note.
            assert!(
                (4096 + 16..4096 + 16 + 600).contains(&m.len()),
                "{}",
                m.len()
            );
        }
    }
    assert_no_plaintext(&b, &fx.secrets);
    // Nothing in the bundle can decrypt it: no identity, only a fingerprint.
    let all: Vec<u8> = all_files(&b)
        .iter()
        .flat_map(|f| fs::read(f).unwrap())
        .collect();
    assert!(memchr::memmem::find(&all, r.as_bytes()).is_none());

    // Import.
    let mut vault = Vault::open_writer(&v).unwrap();
    let keys = vault.unlock(&pass()).unwrap();
    let rep = vault.import(&keys, &b, &|_, _| {}).unwrap();
    assert_eq!(rep.imported, fx.files.len() as u64, "{rep:?}");
    assert_eq!(rep.failed + rep.incomplete + rep.duplicate, 0);
    let list = vault.list(&keys).unwrap();
    assert_eq!(list.len(), fx.files.len());
    for (p, data) in &fx.files {
        let name = p.file_name().unwrap().to_string_lossy();
        let it = list
            .iter()
            .find(|i| i.record.as_ref().unwrap().original_name == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        let rec = it.record.as_ref().unwrap();
        assert_eq!(rec.size, data.len() as u64);
        assert_eq!(rec.blake3, blake3::hash(data).to_hex().as_str());
        assert_eq!(rec.original_path, p.to_string_lossy());
        assert_eq!(rec.courier.as_deref(), Some(COURIER));
        assert_eq!(rec.note.as_deref(), Some(NOTE));
        assert!(rec.received_at.ends_with('Z') && rec.received_at.len() == 20);
        assert_eq!(it.status, "ok");
    }
    let c = vault.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:?}");
    assert_eq!(c.items, fx.files.len() as u64);
    assert_eq!(c.blobs, 2 * fx.files.len() as u64);

    // Twice: nothing added.
    let rep = vault.import(&keys, &b, &|_, _| {}).unwrap();
    assert_eq!(rep.already_imported, fx.files.len() as u64);
    assert_eq!(rep.imported + rep.duplicate, 0);
    assert_eq!(vault.count().unwrap(), fx.files.len() as u64);

    // The same files through a second intake: new items, no new content.
    let b2 = d.path().join("usb/bundle-2");
    intake(&b2, &r, std::slice::from_ref(&fx.dir));
    let rep = vault.import(&keys, &b2, &|_, _| {}).unwrap();
    assert_eq!(rep.duplicate, fx.files.len() as u64, "{rep:?}");
    let c = vault.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:?}");
    assert_eq!(c.contents, fx.files.len() as u64);
    assert_eq!(c.items, 2 * fx.files.len() as u64);
    drop(vault);
    assert_no_plaintext(&v, &fx.secrets);
}

/// The independent `age` tool (Debian package `age`) decrypts the vault's
/// blobs and the bundle's items with the identity decrypted from the vault's
/// key file: the plaintext is the original, byte for byte.
/// Runs `age -d -o OUT FILE` in a pseudo-terminal and types the passphrase.
const PTY_AGE: &str = r#"
import os, pty, sys, time
src, out, pw = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age", "-d", "-o", out, src])
buf = b""
while b"passphrase" not in buf.lower():
    buf += os.read(fd, 1024)
os.write(fd, pw.encode() + b"\n")
try:
    while os.read(fd, 1024):
        pass
except OSError:
    pass
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
"#;

#[test]
fn age_cli_decrypts_what_the_vault_stores() {
    if Command::new("age").arg("--version").output().is_err() {
        panic!("the `age` tool is missing: apt-get install age (scripts/test does)");
    }
    let d = tempfile::tempdir().unwrap();
    let fx = fixtures(&d.path().join("input"));
    let v = d.path().join("vault");
    let r = keygen(&v);
    let b = d.path().join("bundle");
    let ids = intake(&b, &r, std::slice::from_ref(&fx.dir));
    let mut vault = Vault::open_writer(&v).unwrap();
    let keys = vault.unlock(&pass()).unwrap();
    vault.import(&keys, &b, &|_, _| {}).unwrap();
    // The identity, decrypted from identity.age by the age tool itself with
    // the passphrase (it reads it from a terminal: a pty, via python3), and
    // the same key as our own unlocking gives.
    let idf = d.path().join("key.txt");
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(PTY_AGE)
        .arg(v.join("identity.age"))
        .arg(&idf)
        .arg(PASS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_text = fs::read_to_string(&idf).unwrap();
    let secret_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        secret_line(&key_text),
        secret_line(keys.identity_file_text().expose_secret())
    );
    let pubkey = Command::new("age-keygen")
        .arg("-y")
        .arg(&idf)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(pubkey.stdout).unwrap().trim(), r);
    let age_d = |f: &Path| {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&idf)
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let list = vault.list(&keys).unwrap();
    let mut seen = 0;
    for id in &ids {
        let rec_plain = age_d(&b.join("items").join(format!("{id}.rec.age")));
        let rec = bundle::parse_record(&rec_plain).unwrap();
        assert_eq!(&rec.item_id, id);
        let (p, data) = fx
            .files
            .iter()
            .find(|(p, _)| p.to_string_lossy() == rec.original_path)
            .unwrap();
        assert_eq!(
            age_d(&b.join("items").join(format!("{id}.age"))),
            *data,
            "{}",
            p.display()
        );
        assert!(list.iter().any(|i| &i.id == id));
        seen += 1;
    }
    assert_eq!(seen, fx.files.len());
    // Every blob in the vault is an age file the tool decrypts; the content
    // blobs together are exactly the fixtures.
    let mut plains: Vec<Vec<u8>> = all_files(&v.join("blobs"))
        .iter()
        .map(|f| age_d(f))
        .filter(|p| bundle::parse_record(p).is_err())
        .collect();
    plains.sort();
    let mut want: Vec<Vec<u8>> = fx.files.iter().map(|(_, d)| d.clone()).collect();
    want.sort();
    assert_eq!(plains, want);
}

/// The `age` tool decrypts what intake's parallel payload writer
/// ([`baram_vault::payload`]) writes, byte for byte, at every chunk and
/// block boundary, on a random large size, with blocks of one chunk too;
/// the age crate's decryptor agrees.
#[test]
fn age_cli_decrypts_the_parallel_payload_writer() {
    use baram_vault::payload::{self, CHUNK, CHUNKS_PER_BLOCK, Tuning};
    use std::io::{Read, Seek};
    if Command::new("age").arg("--version").output().is_err() {
        panic!("the `age` tool is missing: apt-get install age (scripts/test does)");
    }
    let d = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let r = id.to_public();
    let idf = d.path().join("key.txt");
    fs::write(&idf, format!("{}\n", id.to_string().expose_secret())).unwrap();
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).unwrap();
    let seed = u64::from_le_bytes(seed);
    let block = CHUNKS_PER_BLOCK * CHUNK;
    let random_large = 8 * block + (seed % (24 * block as u64)) as usize;
    let sizes = [
        0,
        1,
        65_535,
        65_536,
        65_537,
        3 * 65_536,
        block - 1,
        block,
        block + 1,
        random_large,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let data = noise(seed ^ i as u64, len);
        for tuning in [
            Tuning::default(),
            Tuning {
                chunks_per_block: 1,
                workers: 2,
            },
        ] {
            let what = format!("size {len} (seed {seed}), {tuning:?}");
            let f = d.path().join(format!("p{i}.age"));
            let _ = fs::remove_file(&f);
            let mut out = fs::File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&f)
                .unwrap();
            let (size, hash) =
                payload::encrypt_to(&mut &data[..], &mut out, &[&r], tuning, &mut |_| {}).unwrap();
            assert_eq!((size, hash), (len as u64, blake3::hash(&data)), "{what}");
            let age = Command::new("age")
                .arg("-d")
                .arg("-i")
                .arg(&idf)
                .arg(&f)
                .output()
                .unwrap();
            assert!(
                age.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&age.stderr)
            );
            assert!(age.stdout == data, "{what}: the age tool gave other bytes");
            out.rewind().unwrap();
            let mut plain = Vec::new();
            age::Decryptor::new(out)
                .unwrap()
                .decrypt(std::iter::once(&id as &dyn age::Identity))
                .unwrap()
                .read_to_end(&mut plain)
                .unwrap();
            assert!(plain == data, "{what}: the age crate gave other bytes");
        }
    }
}

#[test]
fn tampered_items_are_reported_and_not_taken_the_rest_go_on() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    for i in 0..5 {
        fs::write(
            input.join(format!("문서 {i}.txt")),
            noise(i, 300_000 + i as usize),
        )
        .unwrap();
    }
    let v = d.path().join("vault");
    let r = keygen(&v);
    let b = d.path().join("bundle");
    let ids = intake(&b, &r, std::slice::from_ref(&input));
    let items = b.join("items");
    // 0: a flipped byte in the ciphertext's middle.
    let p0 = items.join(format!("{}.age", ids[0]));
    let mut c = fs::read(&p0).unwrap();
    let mid = c.len() / 2;
    c[mid] ^= 1;
    fs::write(&p0, c).unwrap();
    // 1: truncated.
    let p1 = items.join(format!("{}.age", ids[1]));
    let c = fs::read(&p1).unwrap();
    fs::write(&p1, &c[..c.len() - 100]).unwrap();
    // 2 and 3: their records swapped.
    let r2 = items.join(format!("{}.rec.age", ids[2]));
    let r3 = items.join(format!("{}.rec.age", ids[3]));
    let (a, bb) = (fs::read(&r2).unwrap(), fs::read(&r3).unwrap());
    fs::write(&r2, bb).unwrap();
    fs::write(&r3, a).unwrap();
    // 4 is untouched.

    let mut vault = Vault::open_writer(&v).unwrap();
    let keys = vault.unlock(&pass()).unwrap();
    let rep = vault.import(&keys, &b, &|_, _| {}).unwrap();
    assert_eq!(rep.imported, 1, "{rep:?}");
    assert_eq!(rep.failed, 4, "{rep:?}");
    for (k, id) in ids.iter().enumerate().take(4) {
        let reason = rep
            .items
            .iter()
            .find_map(|o| match o {
                ItemOutcome::Failed { id: i, reason } if i == id => Some(reason.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("item {k} not reported"));
        assert!(!reason.is_empty());
        if k >= 2 {
            assert!(reason.contains("another item"), "{reason}");
        }
    }
    assert_eq!(vault.count().unwrap(), 1);
    let c = vault.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:?}");
    // Nothing of the failed items was kept: only the good item's 2 blobs.
    assert_eq!(c.blobs, 2);
}

#[test]
fn wrong_vault_and_leftovers_of_killed_intakes() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("a.txt"), b"MARKER-A").unwrap();
    fs::write(input.join("b.txt"), b"MARKER-B").unwrap();
    let v = d.path().join("vault");
    let r = keygen(&v);
    let other = d.path().join("other");
    let r_other = keygen(&other);
    let b = d.path().join("bundle");
    intake(&b, &r, std::slice::from_ref(&input));
    // A different key's bundle folder cannot be reused.
    let e = Intake::open(&b, &[parse_recipient(&r_other).unwrap()])
        .err()
        .unwrap();
    assert!(e.to_string().contains("other recipients"), "{e}");
    // Another vault refuses the bundle as a whole.
    let mut ov = Vault::open_writer(&other).unwrap();
    let ok = ov.unlock(&pass()).unwrap();
    let e = ov.import(&ok, &b, &|_, _| {}).err().unwrap();
    assert!(
        e.to_string().contains("not encrypted to this vault's key"),
        "{e}"
    );
    assert_eq!(ov.count().unwrap(), 0);

    // What a killed intake leaves: a partial and a data file without record.
    let items = b.join("items");
    let ghost = "0123456789abcdef0123456789abcdef";
    fs::write(items.join(format!("{ghost}.age.partial")), b"half").unwrap();
    fs::write(items.join(format!("{ghost}.age")), b"whole data, no record").unwrap();
    let mut vault = Vault::open_writer(&v).unwrap();
    let keys = vault.unlock(&pass()).unwrap();
    let rep = vault.import(&keys, &b, &|_, _| {}).unwrap();
    assert_eq!(rep.imported, 2);
    assert_eq!(rep.incomplete, 2, "{rep:?}");
    // The next intake removes them.
    let it = Intake::open(&b, &[parse_recipient(&r).unwrap()]).unwrap();
    assert_eq!(it.cleaned.len(), 2);
    drop(it);
    let scan = bundle::scan_items(&items).unwrap();
    assert_eq!(scan.complete.len(), 2);
    assert!(scan.partial.is_empty() && scan.incomplete.is_empty());
}

#[test]
fn check_finds_and_repairs() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    for i in 0..3 {
        fs::write(input.join(format!("{i}.bin")), noise(100 + i, 70_000)).unwrap();
    }
    let v = d.path().join("vault");
    let r = keygen(&v);
    let b = d.path().join("bundle");
    intake(&b, &r, std::slice::from_ref(&input));
    let mut vault = Vault::open_writer(&v).unwrap();
    let keys = vault.unlock(&pass()).unwrap();
    vault.import(&keys, &b, &|_, _| {}).unwrap();
    // Corrupt one blob, remove another, add an orphan and a stray file.
    let blobs = all_files(&v.join("blobs"));
    let big: Vec<&PathBuf> = blobs
        .iter()
        .filter(|p| fs::metadata(p).unwrap().len() > 60_000)
        .collect();
    let mut c = fs::read(big[0]).unwrap();
    c[1000] ^= 0x80;
    fs::write(big[0], c).unwrap();
    fs::remove_file(big[1]).unwrap();
    let orphan = "ab".repeat(32);
    fs::create_dir_all(v.join("blobs/ab/ab")).unwrap();
    fs::write(v.join("blobs/ab/ab").join(&orphan), b"x").unwrap();
    fs::write(v.join("blobs/ab/stray.txt"), b"x").unwrap();
    let rep = vault.check(&keys, false, &|_, _| {}).unwrap();
    assert!(!rep.is_clean());
    assert_eq!(rep.problems.len(), 2, "{rep:?}");
    assert!(
        rep.problems
            .iter()
            .any(|p| p.kind == "corrupt" && p.part == "content")
    );
    assert!(
        rep.problems
            .iter()
            .any(|p| p.kind == "missing" && p.part == "content")
    );
    assert_eq!(rep.orphaned, vec![orphan]);
    assert_eq!(rep.stray.len(), 1);
    let rep = vault.check(&keys, true, &|_, _| {}).unwrap();
    assert_eq!(rep.repaired.len(), 4, "{rep:?}");
    let rep = vault.check(&keys, false, &|_, _| {}).unwrap();
    assert!(rep.is_clean(), "{rep:?}");
    assert_eq!(rep.marked.len(), 2);
    let list = vault.list(&keys).unwrap();
    assert_eq!(list.iter().filter(|i| i.status != "ok").count(), 2);
}
