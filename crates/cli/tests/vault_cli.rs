//! End-to-end tests of `baram vault` through the real binary: keygen, intake,
//! import, list, check, the plaintext-at-rest scan of everything the processes
//! wrote (vault, bundle, and their TMPDIR), one-line errors, and kill -9 at 50+
//! random moments during intake and import and 30+ during process.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASS: &str = "바람 vault test passphrase";
const COURIER: &str = "C-0419-백두";
const NOTE: &str = "received near Hyesan 혜산, second trip";

struct Env {
    root: PathBuf,
    vault: PathBuf,
    tmp: PathBuf,
}

impl Env {
    fn new(root: &Path) -> Env {
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        Env {
            root: root.to_path_buf(),
            vault: root.join("vault"),
            tmp,
        }
    }
    /// `baram vault --vault V ...` with the passphrase in the environment and
    /// TMPDIR inside the test folder (so the scan sees any temporary file).
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
        c.env_remove("BARAM_VAULT")
            .env("BARAM_VAULT_PASSPHRASE", PASS)
            .env("TMPDIR", &self.tmp)
            .env("HOME", self.root.join("home"))
            .arg("vault")
            .arg("--vault")
            .arg(&self.vault);
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }
    fn keygen(&self) -> String {
        let out = self.run(&["--json", "keygen", "--scrypt-log-n", "10"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["recipient"].as_str().unwrap().to_string()
    }
    fn intake_cmd(&self, bundle: &Path, recipient: &str, input: &Path) -> Command {
        let mut c = self.cmd();
        c.arg("intake")
            .arg(input)
            .arg("--bundle")
            .arg(bundle)
            .args(["--to", recipient, "--courier", COURIER, "--note", NOTE]);
        c
    }
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(&[&["--json"], args].concat());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}

fn all_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Writes the input set: Korean names, nested folders, an empty file, marker
/// strings. Returns (path, BLAKE3) of each file and the strings that must
/// never be found at rest.
fn make_input(dir: &Path) -> (Vec<(PathBuf, String)>, Vec<Vec<u8>>) {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut files = Vec::new();
    let mut secrets: Vec<Vec<u8>> = vec![
        COURIER.as_bytes().into(),
        NOTE.as_bytes().into(),
        b"Hyesan".to_vec(),
    ];
    let specs: Vec<(String, Vec<u8>)> = vec![
        (
            "증언/탈북자 증언 01.txt".into(),
            "MARKER-TESTIMONY-0001 국경경비대 초소 위치\n"
                .repeat(50)
                .into_bytes(),
        ),
        ("빈 파일".into(), Vec::new()),
        (
            "사진/2024/IMG_0001.jpg".into(),
            [
                &b"\xff\xd8"[..],
                b"MARKER-EXIF-SERIAL-4471",
                &rng.bytes(300_000),
            ]
            .concat(),
        ),
        (
            "문서.hwp".into(),
            [&rng.bytes(1_500_000)[..], b"MARKER-RSTAR-TAIL"].concat(),
        ),
    ];
    for (rel, data) in specs {
        let p = dir.join(&rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &data).unwrap();
        secrets.push(p.file_name().unwrap().to_string_lossy().as_bytes().to_vec());
        files.push((p, blake3::hash(&data).to_hex().to_string()));
    }
    secrets.extend(
        [
            "MARKER-TESTIMONY-0001",
            "MARKER-EXIF-SERIAL",
            "MARKER-RSTAR-TAIL",
            "국경경비대",
        ]
        .map(|s| s.as_bytes().to_vec()),
    );
    (files, secrets)
}

fn assert_no_plaintext(roots: &[&Path], secrets: &[Vec<u8>]) -> usize {
    let mut n = 0;
    for root in roots {
        for f in all_files(root) {
            let bytes = fs::read(&f).unwrap();
            let name = f.to_string_lossy().into_owned();
            for s in secrets {
                assert!(
                    memchr::memmem::find(&bytes, s).is_none(),
                    "{name}: holds the plaintext {:?}",
                    String::from_utf8_lossy(s)
                );
                assert!(
                    memchr::memmem::find(name.as_bytes(), s).is_none(),
                    "{name}: its name holds {:?}",
                    String::from_utf8_lossy(s)
                );
            }
            assert!(
                memchr::memmem::find(&bytes, b"AGE-SECRET-KEY").is_none(),
                "{name}"
            );
            n += 1;
        }
    }
    n
}

#[test]
fn keygen_intake_import_list_check_and_nothing_in_clear() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let input = d.path().join("input");
    let (files, secrets) = make_input(&input);
    let r = env.keygen();
    assert!(r.starts_with("age1"), "{r}");

    // Intake needs no vault and no passphrase.
    let bundle = d.path().join("usb/bundle");
    let out = env
        .intake_cmd(&bundle, &r, &input)
        .arg("--json")
        .env_remove("BARAM_VAULT_PASSPHRASE")
        .arg("--vault")
        .arg(d.path().join("no-vault-here"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["taken"], files.len());
    assert!(!d.path().join("no-vault-here").exists());

    // The intake machine cannot read back what it took in.
    let out = Command::new(env!("CARGO_BIN_EXE_baram"))
        .args(["vault", "--vault"])
        .arg(&bundle)
        .arg("list")
        .env("BARAM_VAULT_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a baram vault"));

    // Import, list, re-import.
    let v = env.json(&["import", bundle.to_str().unwrap()]);
    assert_eq!(v[0]["imported"], files.len(), "{v}");
    let list = env.json(&["list"]);
    let listed: HashMap<String, (String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let r = &i["record"];
            (
                r["original_path"].as_str().unwrap().to_string(),
                (
                    r["blake3"].as_str().unwrap().to_string(),
                    r["size"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    for (p, h) in &files {
        let (lh, size) = &listed[&p.to_string_lossy().into_owned()];
        assert_eq!(lh, h);
        assert_eq!(*size, fs::metadata(p).unwrap().len());
    }
    let out = env.run(&["list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("탈북자 증언 01.txt") && text.contains("빈 파일"),
        "{text}"
    );
    let out = env.run(&["import", bundle.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("already imported (4 items); nothing added"),
        "{text}"
    );
    let c = env.json(&["check"]);
    assert_eq!(c["items"], files.len());
    assert_eq!(c["blobs"], 2 * files.len());

    // Passphrase from a file; a wrong one is one clear line.
    let pf = d.path().join("pass.txt");
    fs::write(&pf, format!("{PASS}\n")).unwrap();
    let out = env
        .cmd()
        .env_remove("BARAM_VAULT_PASSPHRASE")
        .arg("--passphrase-file")
        .arg(&pf)
        .arg("list")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cmd()
        .env("BARAM_VAULT_PASSPHRASE", "not it")
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("identity.age: wrong passphrase"), "{err}");
    assert!(!err.contains("not it"));
    let out = env
        .cmd()
        .env_remove("BARAM_VAULT_PASSPHRASE")
        .arg("list")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--passphrase-file") && err.contains("BARAM_VAULT_PASSPHRASE"),
        "{err}"
    );

    // Everything the processes wrote: vault, bundle, TMPDIR, HOME.
    let scanned = assert_no_plaintext(
        &[&env.vault, &bundle, &env.tmp, &d.path().join("home")],
        &secrets,
    );
    assert!(scanned >= 2 * files.len() * 2 + 3, "{scanned}");
}

#[test]
fn errors_are_one_line_and_nonzero() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    let b = d.path().join("b");
    let b_s = b.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["check"],
        vec!["import", "/nonexistent/bundle"],
        vec!["intake", "/etc/hostname", "--bundle", b_s, "--to", secret],
        vec![
            "intake",
            "/etc/hostname",
            "--bundle",
            b_s,
            "--to",
            "age1xyz",
        ],
        vec!["intake", "/etc/hostname", "--bundle", b_s],
    ];
    for args in &cases {
        let out = env.run(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("baram: "), "{err}");
        assert!(!err.contains("QQQQQQQQ"), "a secret key was echoed: {err}");
        assert!(!err.contains("panicked"));
    }
    let r = env.keygen();
    let out = env.run(&["keygen"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never replaces"));
    // A missing input file is named, the others are taken, exit 1.
    fs::write(d.path().join("ok.txt"), b"fine").unwrap();
    let out = env
        .cmd()
        .args(["intake", "--bundle", b_s, "--to", &r])
        .arg(d.path().join("ok.txt"))
        .arg(d.path().join("missing.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("missing.txt") && err.contains("not taken"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 taken, 1 not taken"));
}

fn bundle_bytes(b: &Path) -> u64 {
    all_files(&b.join("items"))
        .iter()
        .map(|f| fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The invariant of a bundle at any moment: a record always has its data.
fn assert_bundle_consistent(bundle: &Path) {
    let Ok(rd) = fs::read_dir(bundle.join("items")) else {
        return;
    };
    let names: BTreeSet<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for n in &names {
        if let Some(id) = n.strip_suffix(".rec.age") {
            assert!(names.contains(&format!("{id}.age")), "{n} without its data");
        }
    }
}

/// kill -9 at 50+ random moments across intake and import. After each: a
/// bundle's records all have their data, the vault unlocks and checks clean,
/// nothing it had is lost; finally, re-running intake and import brings in
/// every file.
#[test]
fn kill_9_during_intake_and_import_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let input = d.path().join("input");
    fs::create_dir_all(&input).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut want = BTreeSet::new();
    for i in 0..30 {
        let len = if i % 10 == 0 {
            1_000_000 + rng.below(500_000) as usize
        } else {
            rng.below(30_000) as usize
        };
        let data = rng.bytes(len);
        want.insert(blake3::hash(&data).to_hex().to_string());
        let sub = input.join(format!("폴더 {}", i % 3));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("파일 {i:02}.bin")), data).unwrap();
    }
    let r = env.keygen();

    // How long uninterrupted runs take (into scratch bundle and vault).
    let scratch = Env::new(&d.path().join("scratch"));
    let sr = scratch.keygen();
    let t = Instant::now();
    let sb = d.path().join("scratch-bundle");
    assert!(
        scratch
            .intake_cmd(&sb, &sr, &input)
            .arg("-q")
            .status()
            .unwrap()
            .success()
    );
    let intake_time = t.elapsed().max(Duration::from_millis(20));
    let t = Instant::now();
    assert!(
        scratch
            .cmd()
            .args(["-q", "import"])
            .arg(&sb)
            .status()
            .unwrap()
            .success()
    );
    let import_time = t.elapsed().max(Duration::from_millis(20));

    let started = Instant::now();
    let mut kills = [0u32; 2];
    let mut round = 0u32;
    let mut bundles: Vec<PathBuf> = Vec::new();
    let mut have_items = 0u64;
    while kills[0] + kills[1] < 50 || kills[0] < 20 || kills[1] < 20 {
        assert!(round < 160, "only {kills:?} kills landed in {round} rounds");
        // Pairs of rounds: intake into a new bundle, then import it; each
        // killed. Every third bundle is written twice (a second intake
        // cleans up after the first and adds to it).
        let phase = (round % 2) as usize;
        if phase == 0 && (round / 2) % 3 != 2 {
            bundles.push(d.path().join(format!("bundle-{round}")));
        }
        let b = bundles.last().unwrap().clone();
        let (mut child, full) = if phase == 0 {
            (env.intake_cmd(&b, &r, &input), intake_time)
        } else {
            // A killed intake left a smaller bundle: scale the import's time.
            let share = bundle_bytes(&b) as f64 / bundle_bytes(&sb).max(1) as f64;
            let mut c = env.cmd();
            c.arg("import").arg(&b);
            (c, import_time.mul_f64(share.min(1.0)))
        };
        let mut child = child
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 4 / 5 + 1));
        std::thread::sleep(delay);
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if running {
            kills[phase] += 1;
        }
        round += 1;
        assert_bundle_consistent(&b);
        // Intake never touches the vault: check it after imports.
        if phase == 1 {
            let c = env.json(&["check"]);
            assert!(
                c["problems"].as_array().unwrap().is_empty()
                    && c["orphaned"].as_array().unwrap().is_empty()
                    && c["stray"].as_array().unwrap().is_empty(),
                "round {round} (kill after {delay:?}): {c}"
            );
            let items = c["items"].as_u64().unwrap();
            assert!(items >= have_items, "round {round}: items were lost");
            have_items = items;
        }
    }
    let loop_time = started.elapsed();

    // Finish: one uninterrupted intake, then import every bundle.
    let fin = d.path().join("bundle-final");
    assert!(
        env.intake_cmd(&fin, &r, &input)
            .arg("-q")
            .status()
            .unwrap()
            .success()
    );
    for b in bundles.iter().chain([&fin]).collect::<BTreeSet<_>>() {
        // An intake killed before it wrote bundle.json took nothing: such a
        // folder holds no record, and import rightly calls it no bundle.
        if !b.join("bundle.json").exists() {
            let records = fs::read_dir(b.join("items"))
                .map(|rd| {
                    rd.filter(|e| {
                        e.as_ref()
                            .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".rec.age"))
                    })
                    .count()
                })
                .unwrap_or(0);
            assert_eq!(records, 0, "{}: records without bundle.json", b.display());
            continue;
        }
        let out = env.cmd().args(["-q", "import"]).arg(b).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let c = env.json(&["check"]);
    assert!(c["problems"].as_array().unwrap().is_empty(), "{c}");
    assert_eq!(c["contents"], want.len());
    let list = env.json(&["list"]);
    let got: BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["record"]["blake3"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "every file is in the vault");
    // Another intake into the killed bundles removes their leftovers.
    for b in &bundles {
        let out = env
            .intake_cmd(b, &r, &input.join("폴더 0/파일 03.bin"))
            .arg("-q")
            .output()
            .unwrap();
        assert!(out.status.success());
        let names: Vec<String> = fs::read_dir(b.join("items"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
    }
    eprintln!(
        "kill loop: {kills:?} kills (intake, import) in {round} rounds, {loop_time:?}; full intake {intake_time:?}, import {import_time:?}"
    );
}

/// `vault process` then `vault search`: Korean bigram search over the
/// processed texts finds 평양 inside 평양에서, not a word that is absent, and
/// the plaintext-at-rest scan still finds nothing after processing.
#[test]
fn process_then_search_in_korean() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let recipient = env.keygen();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(
        input.join("소식.txt"),
        "MARKER-SEARCH-0007 평양에서 온 소식: 시장 가격이 올랐다.\n",
    )
    .unwrap();
    fs::write(
        input.join("other.txt"),
        "MARKER-SEARCH-0008 nothing here about the capital\n",
    )
    .unwrap();
    let bundle = d.path().join("bundle");
    let out = env
        .intake_cmd(&bundle, &recipient, &input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.run(&["import", bundle.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep = env.json(&["process"]);
    assert_eq!(rep["processed"], 2, "{rep}");
    let hits = env.json(&["search", "평양"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["name"], "소식.txt");
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("«평양»"),
        "{hits:?}"
    );
    let hits = env.json(&["search", "capital"]);
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(env.json(&["search", "개성"]).as_array().unwrap().len(), 0);
    let secrets: Vec<Vec<u8>> = [
        "MARKER-SEARCH-0007",
        "MARKER-SEARCH-0008",
        "평양에서",
        "소식.txt",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    assert!(assert_no_plaintext(&[&env.vault, &env.tmp, &bundle], &secrets) > 0);
}

/// Triage, show, search filters and export through the binary: the triage
/// is nowhere in clear, `show` shows the record and findings, search filters
/// by tag, status, case and date, and two exports made under different time
/// zones, locales and umasks are byte-identical, mode 0644, and hold none of
/// the courier, intake note, names, Red Star serials or private notes.
#[test]
fn triage_show_search_filters_and_a_reproducible_export() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let recipient = env.keygen();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let serials = ["WD-CLI-EXPORT-01", "S2R6-CLI-EXPORT-02"];
    fs::write(
        input.join("혜산 사진.jpg"),
        baram_sanitize::redstar::append_trailer(
            &baram_sanitize::fixtures::jpeg_with_exif(),
            &serials,
        ),
    )
    .unwrap();
    fs::write(
        input.join("소식.txt"),
        "MARKER-EXPORT-0009 평양에서 온 소식: 시장 가격이 올랐다.\n",
    )
    .unwrap();
    let bundle = d.path().join("bundle");
    let out = env
        .intake_cmd(&bundle, &recipient, &input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.run(&["import", bundle.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(env.json(&["process"])["processed"], 2);
    let list = env.json(&["list"]);
    let id_of = |name: &str| -> String {
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["record"]["original_name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let photo = id_of("혜산 사진.jpg");
    let news = id_of("소식.txt");
    let case = "CASE-혜산-초소";
    let ok = |args: &[&str]| {
        let o = env.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(&["status", &photo, "verified"]);
    ok(&["tag", &photo, "TAG-route-1", "TAG-gone"]);
    ok(&["tag", &photo, "TAG-gone", "--remove"]);
    ok(&["note", &photo, "NOTE-FOR-PARTNERS 사진 확인", "--export"]);
    ok(&["note", &photo[..6], "NOTE-PRIVATE the courier's cousin"]);
    let t = env.json(&["case", "add", case, &photo, &news]);
    assert_eq!(t["items"], 2);
    let cases = env.json(&["case", "list"]);
    assert_eq!(cases[0]["name"], case);
    assert_eq!(cases[0]["items"].as_array().unwrap().len(), 2);

    // Search filters (words optional when a filter is given).
    let hit_ids = |args: &[&str]| -> Vec<String> {
        let v = env.json(&[&["search"], args].concat());
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(hit_ids(&["--tag", "TAG-route-1"]), [photo.as_str()]);
    assert_eq!(hit_ids(&["--status", "verified"]), [photo.as_str()]);
    assert_eq!(hit_ids(&["--status", "new"]), [news.as_str()]);
    assert_eq!(hit_ids(&["--case", case, "평양"]), [news.as_str()]);
    assert_eq!(hit_ids(&["--kind", "jpg"]), [photo.as_str()]);
    assert_eq!(
        hit_ids(&["--from", "2000-01-01", "--to", "2000-12-31"]).len(),
        0
    );
    assert_eq!(hit_ids(&["--from", "2000-01-01"]).len(), 2);

    // Show.
    let s = env.json(&["show", &photo]);
    assert_eq!(s["record"]["courier"], COURIER);
    assert_eq!(s["record"]["note"], NOTE);
    assert_eq!(s["processing"]["redstar"]["serials"][1], serials[1]);
    assert_eq!(s["triage"]["status"], "verified");
    assert_eq!(s["triage"]["tags"][0], "TAG-route-1");
    assert_eq!(s["triage"]["cases"][0], case);
    assert_eq!(s["triage"]["notes"][1]["export"], false);
    assert_eq!(s["derivatives"][0]["kind"], "safe-image");
    assert_eq!(s["sha256"].as_str().unwrap().len(), 64);
    let human = ok(&["show", &news]);
    assert!(human.contains("MARKER-EXPORT-0009"), "{human}");
    assert!(human.contains(COURIER), "{human}");

    // The triage is nowhere in clear.
    let triage_secrets: Vec<Vec<u8>> = [case, "TAG-route-1", "NOTE-FOR-PARTNERS", "NOTE-PRIVATE"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    assert!(assert_no_plaintext(&[&env.vault, &env.tmp], &triage_secrets) > 0);

    // Two exports in different time zones, locales and umasks.
    let outdir = d.path().join("out");
    fs::create_dir_all(&outdir).unwrap();
    let export = |name: &str, tz: &str, umask: &str| -> Vec<u8> {
        let p = outdir.join(name);
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("umask {umask}; exec \"$@\""))
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_baram"))
            .args(["vault", "--vault"])
            .arg(&env.vault)
            .args(["export", "--case", case, "-o"])
            .arg(&p)
            .env_remove("BARAM_VAULT")
            .env("BARAM_VAULT_PASSPHRASE", PASS)
            .env("TMPDIR", &env.tmp)
            .env("TZ", tz)
            .env("LC_ALL", "C.UTF-8");
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("exported 2 item(s), 4 entries"), "{stdout}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        fs::read(&p).unwrap()
    };
    let a = export("a.zip", "UTC", "022");
    std::thread::sleep(Duration::from_millis(1100));
    let b = export("b.zip", "Asia/Pyongyang", "077");
    assert_eq!(a, b, "two exports of one case differ");
    let mut names: Vec<String> = fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.zip", "b.zip"], "no temporary left");
    // 7z as an independent reader: every entry's CRC checks, and it unpacks.
    let o = Command::new("7z")
        .arg("t")
        .arg(outdir.join("a.zip"))
        .output()
        .expect("7z (apt-get install p7zip-full)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let x = d.path().join("x");
    let o = Command::new("7z")
        .arg("x")
        .arg(format!("-o{}", x.display()))
        .arg(outdir.join("a.zip"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let mut forbidden: Vec<Vec<u8>> = [
        COURIER,
        NOTE,
        "Hyesan",
        "혜산 사진.jpg",
        "소식.txt",
        "NOTE-PRIVATE",
        "TAG-route-1",
        case,
        "PLANTED-SERIAL-4471",
        "KimCheolsu",
        &photo,
        &news,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    forbidden.extend(serials.iter().map(|s| s.as_bytes().to_vec()));
    for f in &forbidden {
        assert!(
            memchr::memmem::find(&a, f).is_none(),
            "{}",
            String::from_utf8_lossy(f)
        );
    }
    {
        let mut n = 0;
        for f in all_files(&x) {
            let bytes = fs::read(&f).unwrap();
            for s in &forbidden {
                assert!(
                    memchr::memmem::find(&bytes, s).is_none(),
                    "{}: {}",
                    f.display(),
                    String::from_utf8_lossy(s)
                );
            }
            n += 1;
        }
        assert_eq!(n, 4);
        assert!(
            fs::read_to_string(x.join("manifest.json"))
                .unwrap()
                .contains("\"sha256\"")
        );
    }

    // One-line errors, non-zero.
    for args in [
        vec!["show", "ffffffffffffffff"],
        vec!["export", "--case", "no such case", "-o", "/tmp/never.zip"],
        vec!["note", &photo, " "],
        vec!["search"],
        vec!["search", "--from", "yesterday"],
        vec!["export", "--case", case, "-o", "/nonexistent-dir/x.zip"],
    ] {
        let o = env.run(&args);
        assert!(!o.status.success(), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(e.trim_end().lines().count(), 1, "{args:?}: {e}");
        assert!(e.starts_with("baram: error: "), "{args:?}: {e}");
    }
    assert!(!std::path::Path::new("/tmp/never.zip").exists());
}

/// Without a bubblewrap that starts (simulated by BARAM_VAULT_BWRAP), a
/// document is not processed and not marked: the run fails with one line
/// saying why and what to do, text still goes through; `--no-sandbox` then
/// processes it (in a /dev/shm folder that is removed), and nothing of it
/// is at rest in clear.
#[test]
fn process_without_a_sandbox_waits_unless_no_sandbox() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let recipient = env.keygen();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(
        input.join("report.docx"),
        baram_sanitize::fixtures::docx_with_metadata(),
    )
    .unwrap();
    fs::write(input.join("note.txt"), "MARKER-NOSANDBOX-0011 평양\n").unwrap();
    let bundle = d.path().join("bundle");
    let out = env
        .intake_cmd(&bundle, &recipient, &input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::remove_dir_all(&input).unwrap();
    assert!(
        env.run(&["import", bundle.to_str().unwrap()])
            .status
            .success()
    );
    let missing = d.path().join("no-bwrap-here");
    let out = env
        .cmd()
        .env("BARAM_VAULT_BWRAP", &missing)
        .args(["--json", "process"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap();
    assert!(
        last.contains("1 item(s)")
            && last.contains("not processed")
            && last.contains("bubblewrap is not at")
            && last.contains("--no-sandbox")
            && last.contains("apt-get install bubblewrap"),
        "{err}"
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (rep["processed"].as_u64(), rep["deferred"].as_u64()),
        (Some(1), Some(1)),
        "{rep}"
    );
    // Again without a sandbox: still waiting (it was not marked).
    let out = env
        .cmd()
        .env("BARAM_VAULT_BWRAP", &missing)
        .args(["--json", "process"])
        .output()
        .unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["deferred"], 1, "{rep}");
    let shm_before: BTreeSet<_> = fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let run = env
        .cmd()
        .env("BARAM_VAULT_BWRAP", &missing)
        .args(["--json", "process", "--no-sandbox"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its folders end in its pid (other tests' runs make theirs meanwhile).
    let mine = format!("-{}", run.id());
    let out = run.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (rep["processed"].as_u64(), rep["deferred"].as_u64()),
        (Some(1), Some(0)),
        "{rep}"
    );
    let left: Vec<_> = fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| {
            let n8 = n.to_string_lossy();
            n8.starts_with("baram-vault-") && n8.ends_with(&mine) && !shm_before.contains(n)
        })
        .collect();
    assert!(left.is_empty(), "left in /dev/shm: {left:?}");
    let secrets: Vec<Vec<u8>> = ["MARKER-NOSANDBOX-0011", "KimCheolsu", "%PDF-"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    assert!(assert_no_plaintext(&[&env.vault, &env.tmp, &bundle], &secrets) > 0);
}

/// Every process below `root` (its children, theirs, …) as (pid, start time,
/// name), from /proc. Sandboxed processes are there too, under host pids.
fn descendants(root: u32) -> Vec<(u32, u64, String)> {
    let mut procs: Vec<(u32, u32, u64, String)> = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some((ppid, start, name)) = proc_stat(pid) {
            procs.push((pid, ppid, start, name));
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for (pid, ppid, start, name) in &procs {
            if *ppid == p {
                out.push((*pid, *start, name.clone()));
                todo.push(*pid);
            }
        }
    }
    out
}

/// (parent pid, start time, name) of a live (not zombie) process.
fn proc_stat(pid: u32) -> Option<(u32, u64, String)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, tail) = s.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let f: Vec<&str> = tail.split_whitespace().collect();
    if matches!(f.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    Some((f.get(1)?.parse().ok()?, f.get(19)?.parse().ok()?, name))
}

/// The `baram-vault-*` folders in /dev/shm (unconfined runs' work folders).
fn shm_folders() -> BTreeSet<std::ffi::OsString> {
    fs::read_dir("/dev/shm")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name())
                .filter(|n| n.to_string_lossy().starts_with("baram-vault-"))
                .collect()
        })
        .unwrap_or_default()
}

/// A /dev/shm folder that no live run holds (its flock can be taken).
fn shm_folder_is_stale(name: &std::ffi::OsStr) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = fs::File::open(Path::new("/dev/shm").join(name)) else {
        return false; // gone meanwhile
    };
    // SAFETY: flock(2) on a descriptor we own.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// The derivative kinds of processing (process.rs).
const DERIVATIVE_KINDS: [&str; 6] = [
    "safe-image",
    "safe-pdf",
    "safe-video",
    "safe-audio",
    "poster",
    "text",
];

/// Rounds 0 and 12 of the process kill loop bring a document.
fn has_doc(round: u32) -> bool {
    round.is_multiple_of(12) && round < 24
}

/// One round's new files: a text, a JPEG with EXIF and a Red Star trailer,
/// and a JPEG large enough to be OCRed (tesseract in the sandbox); rounds 0
/// and 12 add a DOCX (LibreOffice and poppler in the sandbox; each made
/// distinct by its Red Star serial).
fn kill_batch(dir: &Path, round: u32) -> Vec<Vec<u8>> {
    let sub = dir.join(format!("묶음 {round:02}"));
    fs::create_dir_all(&sub).unwrap();
    let marker = format!("MARKER-KILLPROC-{round:03}");
    let serial = format!("WD-KILLPROC-{round:03}");
    fs::write(
        sub.join(format!("소식 {round:02}.txt")),
        format!("{marker} 혜산에서 온 소식 {round}: 국경경비대 초소가 옮겨졌다.\n").repeat(20),
    )
    .unwrap();
    fs::write(
        sub.join(format!("사진 {round:02}.jpg")),
        baram_sanitize::redstar::append_trailer(
            &baram_sanitize::fixtures::jpeg_with_exif(),
            &[&serial],
        ),
    )
    .unwrap();
    fs::write(
        sub.join(format!("문서 사진 {round:02}.jpg")),
        baram_sanitize::fixtures::jpeg_plain_sized(400, 256 + round as u16),
    )
    .unwrap();
    let doc_serial = format!("S2R6-KILLDOC-{round:03}");
    if has_doc(round) {
        fs::write(
            sub.join(format!("보고서 {round:02}.docx")),
            baram_sanitize::fixtures::docx_with_redstar(&[&doc_serial], true),
        )
        .unwrap();
    }
    [marker, serial, doc_serial, format!("소식 {round:02}.txt")]
        .map(String::into_bytes)
        .into()
}

/// kill -9 at 30+ random moments during `baram vault process` (with
/// [`kill_9_during_intake_and_import_loses_nothing`]'s 20+ during intake and
/// 20+ during import, 50+ there: 80+ kills in all). Each round brings in new
/// files (texts, photos, a photo that is OCRed, now and then a DOCX rendered
/// by LibreOffice), then kills a `process` run after a random delay spread
/// over the time an uninterrupted run of what is waiting takes (measured
/// first); every third round runs without the sandbox (`--no-sandbox` with no
/// bubblewrap), in /dev/shm folders. After each kill:
///
/// * nothing the run started survives it: no bwrap, sh, soffice, pdftoppm or
///   tesseract of it is alive;
/// * `vault check` (the next writer, which resolves what was left pending)
///   is clean, the vault unlocks, no item is lost;
/// * every item is processed with a complete report (each derivative it
///   names is there and decrypts, and no other) or not processed at all; what
///   was processed stays so;
/// * no folder of a killed unconfined run is left in /dev/shm;
/// * no plaintext of the files is in the vault, the bundles, TMPDIR or HOME.
///
/// Finally one `process` finishes everything, and a case of all the items
/// exports. About 50 s on two busy cores (debug build), 30 rounds or so.
#[test]
fn kill_9_during_process_loses_nothing() {
    use baram_vault::Vault;
    let t0 = Instant::now();
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let input = d.path().join("input");
    let r = env.keygen();
    let shm_before = shm_folders();
    let pass = age::secrecy::SecretString::from(PASS.to_string());
    let no_bwrap = d.path().join("no-bwrap-here");
    let bring_in = |env: &Env, round: u32, secrets: &mut Vec<Vec<u8>>| {
        secrets.extend(kill_batch(&input, round));
        let b = d.path().join(format!("bundle-{round:02}"));
        let src = input.join(format!("묶음 {round:02}"));
        let out = env.intake_cmd(&b, &r, &src).arg("-q").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = env.cmd().args(["-q", "import"]).arg(&b).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let process_cmd = |env: &Env, unconfined: bool| {
        let mut c = env.cmd();
        c.args(["-q", "process"]);
        if unconfined {
            c.arg("--no-sandbox").env("BARAM_VAULT_BWRAP", &no_bwrap);
        }
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        c
    };
    let mut secrets: Vec<Vec<u8>> = [
        COURIER,
        NOTE,
        "KimCheolsu",
        "PLANTED-SERIAL-4471",
        "Report from the field",
        "planted-host",
        "국경경비대",
        "%PDF-",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();

    // How long uninterrupted runs take: nothing to do, one round's files
    // with a DOCX, one without (in a scratch vault).
    let scratch = Env::new(&d.path().join("scratch"));
    let sr = scratch.keygen();
    let time_process = |e: &Env| {
        let t = Instant::now();
        let out = process_cmd(e, false).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    };
    let t_empty = time_process(&scratch);
    let scratch_in = d.path().join("scratch-in");
    for round in [0, 1] {
        kill_batch(&scratch_in, round);
        let b = d.path().join(format!("scratch-bundle-{round}"));
        let src = scratch_in.join(format!("묶음 {round:02}"));
        assert!(
            scratch
                .intake_cmd(&b, &sr, &src)
                .arg("-q")
                .status()
                .unwrap()
                .success()
        );
        assert!(
            scratch
                .cmd()
                .args(["-q", "import"])
                .arg(&b)
                .status()
                .unwrap()
                .success()
        );
    }
    // Both batches at once, then measure one fast batch alone.
    let t_both = time_process(&scratch);
    kill_batch(&scratch_in, 3);
    let b = d.path().join("scratch-bundle-3");
    assert!(
        scratch
            .intake_cmd(&b, &sr, &scratch_in.join("묶음 03"))
            .arg("-q")
            .status()
            .unwrap()
            .success()
    );
    assert!(
        scratch
            .cmd()
            .args(["-q", "import"])
            .arg(&b)
            .status()
            .unwrap()
            .success()
    );
    let t_batch = time_process(&scratch).saturating_sub(t_empty);
    let t_doc = t_both.saturating_sub(t_empty + 2 * t_batch);
    let measured = t0.elapsed();

    let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
    let mut kills = [0u32; 2]; // sandboxed, unconfined
    let mut round = 0u32;
    let mut processed: BTreeSet<String> = BTreeSet::new();
    let mut items = 0u64;
    let mut survivors_seen = Vec::new();
    // Items without a report: (id, is a document).
    let mut waiting: Vec<(String, bool)> = Vec::new();
    let loop_start = Instant::now();
    while kills[0] + kills[1] < 30 || kills[1] < 8 {
        assert!(round < 70, "only {kills:?} kills landed in {round} rounds");
        bring_in(&env, round, &mut secrets);
        items += if has_doc(round) { 4 } else { 3 };
        // This round's items wait too (the next check lists them).
        let (mut new_docs, new_fast) = (has_doc(round) as u32, 3u32);
        // What waits: the fast files of each round not done, and documents.
        new_docs += waiting.iter().filter(|(_, doc)| *doc).count() as u32;
        let waiting_docs = new_docs;
        let waiting_fast = new_fast + waiting.iter().filter(|(_, doc)| !*doc).count() as u32;
        let full = t_empty + t_doc * waiting_docs + t_batch.mul_f64(waiting_fast as f64 / 3.0);
        let unconfined = round % 3 == 2; // rounds 2, 5, 8, …
        // With a document waiting, some runs must be let finish it.
        let stretch = if waiting_docs > 0 { 6 } else { 5 };
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * stretch / 5 + 1));
        let mut child = process_cmd(&env, unconfined).spawn().unwrap();
        std::thread::sleep(delay);
        let tree = descendants(child.id());
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        if running {
            kills[unconfined as usize] += 1;
        } else {
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let what = format!(
            "round {round} ({}, kill after {delay:?} of {full:?})",
            if unconfined {
                "unconfined"
            } else {
                "sandboxed"
            }
        );
        round += 1;

        // Nothing it started survives it.
        let until = Instant::now() + Duration::from_secs(2);
        let alive = loop {
            let alive: Vec<_> = tree
                .iter()
                .filter(|(pid, start, _)| proc_stat(*pid).is_some_and(|(_, s, _)| s == *start))
                .cloned()
                .collect();
            if alive.is_empty() || Instant::now() > until {
                break alive;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if !alive.is_empty() {
            for (pid, _, _) in &alive {
                // SAFETY: kill(2) on what this test started.
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
            survivors_seen.push(format!("{what}: {alive:?}"));
        }

        // The next writer resolves what was left; then all is consistent.
        let c = env.json(&["check"]);
        assert!(
            c["problems"].as_array().unwrap().is_empty()
                && c["orphaned"].as_array().unwrap().is_empty()
                && c["stray"].as_array().unwrap().is_empty()
                && c["marked"].as_array().unwrap().is_empty(),
            "{what}: {c}"
        );
        assert_eq!(c["items"], items, "{what}: items were lost");
        let v = Vault::open(&env.vault).unwrap();
        let keys = v.unlock(&pass).unwrap();
        let mut now_processed = BTreeSet::new();
        waiting.clear();
        for it in v.list(&keys).unwrap() {
            let id = &it.id;
            let report = v.process_report(&keys, id).unwrap();
            if processed.contains(id) {
                // Checked when it was done; still there (`check` verified
                // its blobs).
                assert!(report.is_some(), "{what}: {id}: its report is gone");
                now_processed.insert(id.clone());
                continue;
            }
            // Each derivative it has decrypts.
            let kinds: BTreeSet<&str> = DERIVATIVE_KINDS
                .into_iter()
                .filter(|k| v.derivative(&keys, id, k).unwrap().is_some())
                .collect();
            match report {
                None => {
                    assert!(
                        kinds.is_empty(),
                        "{what}: {id}: derivatives {kinds:?} without a report"
                    );
                    let name = it.record.as_ref().unwrap().original_name.clone();
                    waiting.push((id.clone(), name.ends_with(".docx")));
                }
                Some(rep) => {
                    assert_eq!(
                        rep.status,
                        baram_vault::process::Status::Processed,
                        "{what}: {id}: {rep:?}"
                    );
                    let named: BTreeSet<&str> =
                        rep.derivatives.iter().map(String::as_str).collect();
                    assert!(!named.is_empty(), "{what}: {id}: {rep:?}");
                    assert_eq!(
                        kinds, named,
                        "{what}: {id}: its report names other derivatives"
                    );
                    now_processed.insert(id.clone());
                }
            }
        }
        assert!(
            now_processed.is_superset(&processed),
            "{what}: a processed item was lost"
        );
        processed = now_processed;
        drop(v);

        // No work folder of a killed run is left in /dev/shm.
        let stale: Vec<_> = shm_folders()
            .difference(&shm_before)
            .filter(|n| shm_folder_is_stale(n))
            .cloned()
            .collect();
        assert!(stale.is_empty(), "{what}: left in /dev/shm: {stale:?}");
        let home = d.path().join("home");
        assert_no_plaintext(&[&env.vault, &env.tmp, &home], &secrets);
    }
    let loop_time = loop_start.elapsed();
    assert!(
        survivors_seen.is_empty(),
        "processes outlived the killed run: {survivors_seen:#?}"
    );

    // One uninterrupted run finishes everything; a case of all exports.
    let rep = env.json(&["process"]);
    assert_eq!(rep["deferred"], 0, "{rep}");
    assert_eq!(
        rep["processed"].as_u64().unwrap() + rep["already"].as_u64().unwrap(),
        items,
        "{rep}"
    );
    let c = env.json(&["check"]);
    assert!(
        c["problems"].as_array().unwrap().is_empty()
            && c["orphaned"].as_array().unwrap().is_empty(),
        "{c}"
    );
    let ids: Vec<String> = env
        .json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len() as u64, items);
    let mut args = vec!["case", "add", "CASE-kill-9"];
    args.extend(ids.iter().map(String::as_str));
    env.json(&args);
    let zip = d.path().join("out/export.zip");
    fs::create_dir_all(zip.parent().unwrap()).unwrap();
    let out = env.run(&[
        "export",
        "--case",
        "CASE-kill-9",
        "-o",
        zip.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("exported {items} item(s)")),
        "{stdout}"
    );
    let home = d.path().join("home");
    let bundles: Vec<PathBuf> = (0..round)
        .map(|i| d.path().join(format!("bundle-{i:02}")))
        .collect();
    let mut roots: Vec<&Path> = vec![env.vault.as_path(), env.tmp.as_path(), home.as_path()];
    roots.extend(bundles.iter().map(|b| b.as_path()));
    assert!(assert_no_plaintext(&roots, &secrets) > 4 * items as usize);
    eprintln!(
        "process kill loop: {kills:?} kills (sandboxed, unconfined) in {round} rounds, {loop_time:?}; measuring {measured:?} (empty run {t_empty:?}, a batch {t_batch:?}, a DOCX {t_doc:?}); in all {:?}",
        t0.elapsed()
    );
}

/// HWP 5 and HWPX through the real binary: `vault process` runs baram
/// itself (`__hwp-render`) in the sandbox to read them, and their text is
/// found by `vault search`; the author is not; `__hwp-render` refuses a
/// file that is no HWP with a one-line reason and exit 2.
#[test]
fn hwp_documents_processed_by_the_binary_itself() {
    use baram_hwp::fixtures::{self, MEETING};
    let d = tempfile::tempdir().unwrap();
    let env = Env::new(d.path());
    let recipient = env.keygen();
    let input = d.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("회의록.hwp"), fixtures::hwp5(&MEETING)).unwrap();
    fs::write(input.join("회의록.hwpx"), fixtures::hwpx(&MEETING)).unwrap();
    let bundle = d.path().join("bundle");
    let out = env
        .intake_cmd(&bundle, &recipient, &input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.run(&["import", bundle.to_str().unwrap()])
            .status
            .success()
    );
    let rep = env.json(&["process"]);
    assert_eq!(
        (rep["processed"].as_u64(), rep["quarantined"].as_u64()),
        (Some(2), Some(0)),
        "{rep}"
    );
    let hits = env.json(&["search", "옥수수"]);
    assert_eq!(hits.as_array().unwrap().len(), 2, "{hits}");
    assert_eq!(env.json(&["search", "김철수"]).as_array().unwrap().len(), 0);
    assert_eq!(env.json(&["search", "지도원"]).as_array().unwrap().len(), 0);

    let junk = d.path().join("junk.hwp");
    fs::write(&junk, b"not an HWP at all").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_baram"))
        .arg("__hwp-render")
        .arg(&junk)
        .arg(d.path().join("out.fodt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "not an HWP 5 or HWPX document", "{err}");
    let ok = Command::new(env!("CARGO_BIN_EXE_baram"))
        .arg("__hwp-render")
        .arg(input.join("회의록.hwp"))
        .arg(d.path().join("out.fodt"))
        .output()
        .unwrap();
    assert!(ok.status.success());
    let x = fs::read_to_string(d.path().join("out.fodt")).unwrap();
    assert!(x.contains("평양 시내 회의록") && !x.contains("김철수"));
}
