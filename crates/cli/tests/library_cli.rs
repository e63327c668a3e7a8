//! End-to-end tests of `baram library` through the real binary: a batch of
//! 1,000 generated files with duplicates, empty and broken ones, and kill -9
//! at random moments during `library add`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn baram() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
    c.env_remove("BARAM_WORKSPACE");
    c
}

/// `baram --workspace WS ...`
fn in_ws(ws: &Path) -> Command {
    let mut c = baram();
    c.arg("--workspace").arg(ws);
    c
}

fn init(ws: &Path) {
    assert!(in_ws(ws).args(["-q", "init"]).status().unwrap().success());
}

/// A small deterministic generator (xorshift64*), so failures can be replayed.
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
}

fn text(i: usize, len: usize) -> String {
    let mut s = format!("문서 {i}: 바깥 세상 소식\n");
    while s.len() < len {
        s.push_str("평양에서 온 편지와 세계 뉴스. ");
    }
    s
}

/// Writes the 1,000-file batch: 700 distinct texts, 100 duplicates of some of
/// them (in other folders, under other names), 100 empty files and 100 broken
/// ones (50 truncated JPEGs, 25 binary garbage, 25 texts with a NUL in them).
fn make_batch(dir: &Path) -> Vec<PathBuf> {
    let mut broken = Vec::new();
    for sub in ["a", "b/c", "dups", "empty", "broken"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for i in 0..700 {
        let sub = if i % 2 == 0 { "a" } else { "b/c" };
        fs::write(
            dir.join(sub).join(format!("문서 {i:04}.txt")),
            text(i, 64 + i % 300),
        )
        .unwrap();
    }
    for i in 0..100 {
        fs::write(
            dir.join("dups").join(format!("copy-{i}.txt")),
            text(i * 7, 64 + (i * 7) % 300),
        )
        .unwrap();
    }
    for i in 0..100 {
        fs::write(dir.join("empty").join(format!("empty-{i}.txt")), b"").unwrap();
    }
    for i in 0..100 {
        let p = dir.join("broken").join(format!("broken-{i}.bin"));
        if i % 2 == 0 {
            // Half of the broken ones are cut-off photos: they look like a
            // JPEG and must be refused as malformed, naming the byte.
            let photo = baram_sanitize::fixtures::jpeg_with_exif();
            let p = p.with_extension("jpg");
            fs::write(&p, &photo[..photo.len() * (i + 1) / 110]).unwrap();
            broken.push(p);
            continue;
        } else if i % 4 == 1 {
            fs::write(&p, [0xffu8, 0xfe, 0x00, i as u8, 0x80, 0x81]).unwrap();
        } else {
            fs::write(&p, format!("text then a NUL\0 {i}")).unwrap();
        }
        broken.push(p);
    }
    broken
}

#[test]
fn add_1000_files_reports_right_counts() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("input");
    let broken = make_batch(&input);
    let ws = d.path().join("ws");
    init(&ws);
    let out = in_ws(&ws)
        .args(["--json", "library", "add"])
        .arg(&input)
        .output()
        .unwrap();
    // Something was rejected: non-zero exit.
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["added"], 700, "{}", v["rejected_by_reason"]);
    assert_eq!(v["duplicate"], 100);
    assert_eq!(v["rejected"], 200);
    assert_eq!(v["rejected_by_reason"]["empty"], 100);
    assert_eq!(v["rejected_by_reason"]["unknown-type"], 50);
    assert_eq!(v["rejected_by_reason"]["malformed"], 50);
    assert_eq!(v["files"].as_array().unwrap().len(), 1000);
    // One clear line per rejected file, naming it.
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 200, "{err}");
    for b in &broken {
        let name = b.display().to_string();
        let line = lines
            .iter()
            .find(|l| l.contains(&name))
            .expect("each broken file is named");
        if name.ends_with(".jpg") {
            assert!(
                line.contains("not a valid JPEG") && line.contains("at byte"),
                "{line}"
            );
        } else {
            assert!(
                line.contains("unknown type") && line.contains("--no-sanitize"),
                "{line}"
            );
        }
    }
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("is empty (zero bytes)"))
            .count()
            == 100
    );
    assert!(!err.contains("panicked"));

    // The human summary.
    let out = in_ws(&ws)
        .args(["library", "add"])
        .arg(input.join("a"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.trim_end().ends_with("0 added, 350 duplicate, 0 rejected"),
        "{s}"
    );

    let out = in_ws(&ws).args(["library", "check"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = in_ws(&ws)
        .args(["--json", "library", "search", "문서 0042"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["title"], "문서 0042");
}

#[test]
fn errors_are_one_line_and_nonzero() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let cases: Vec<Vec<&str>> = vec![
        vec!["library", "list"],
        vec!["library", "show", "1"],
        vec!["library", "add", "/nonexistent/file"],
    ];
    for args in cases {
        let out = in_ws(&ws).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("baram: "), "{err}");
        assert!(!err.contains("panicked"));
    }
    init(&ws);
    let out = in_ws(&ws).args(["library", "show", "99"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no item with id 99"), "{err}");
    let out = in_ws(&ws)
        .args(["library", "add", "--value", "0", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2 (clap)");
}

/// kill -9 at random moments during `library add`, at least 30 times. After
/// every kill the workspace must check clean (no item without its blob, no
/// orphan), and a final uninterrupted add must bring in every file exactly once.
#[test]
fn kill_9_during_add_leaves_workspace_consistent() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("input");
    fs::create_dir_all(&input).unwrap();
    // Mixed sizes so kills land in reading, hashing, writing and committing.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let n_files = 240;
    for i in 0..n_files {
        let len = if i % 10 == 0 {
            2_000_000 + rng.below(1_000_000) as usize
        } else {
            100 + rng.below(20_000) as usize
        };
        fs::write(input.join(format!("f{i:03}.txt")), text(i, len)).unwrap();
    }
    let ws = d.path().join("ws");
    init(&ws);

    // How long an uninterrupted add takes (into a scratch workspace).
    let scratch = d.path().join("scratch");
    init(&scratch);
    let t = Instant::now();
    let st = in_ws(&scratch)
        .args(["-q", "library", "add"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(st.success());
    let full = t.elapsed().max(Duration::from_millis(50));

    // Keep going until at least 32 kills have landed while add was running
    // (a round whose add finished before the kill does not count).
    let mut killed_mid_run = 0;
    let mut round = 0;
    while killed_mid_run < 32 {
        assert!(
            round < 120,
            "only {killed_mid_run} kills landed in {round} rounds"
        );
        round += 1;
        // Each round starts from what the previous rounds left behind.
        let mut child = in_ws(&ws)
            .args(["-q", "library", "add"])
            .arg(&input)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Later rounds find most files already in (duplicates) and run
        // faster, so spread kills over the first half of a full run.
        let delay = Duration::from_micros(rng.below(full.as_micros() as u64 / 2 + 1));
        std::thread::sleep(delay);
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if still_running {
            killed_mid_run += 1;
        }
        let out = in_ws(&ws)
            .args(["--json", "library", "check"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "round {round} (kill after {delay:?}): check not clean: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["items"], v["blobs"],
            "round {round}: an item without its blob or an orphan"
        );
        // Clear the workspace now and then so kills also land in early files.
        if round % 4 == 0 {
            fs::remove_dir_all(&ws).unwrap();
            init(&ws);
        }
    }
    // Finish the job: every file exactly once.
    let out = in_ws(&ws)
        .args(["--json", "library", "add"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["added"].as_u64().unwrap() + v["duplicate"].as_u64().unwrap(),
        n_files as u64
    );
    let out = in_ws(&ws)
        .args(["--json", "library", "check"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"], n_files as u64);
    assert_eq!(v["blobs"], n_files as u64);
}
