//! End-to-end tests of `baram drop` through the real binary: a library of
//! sample files is planned, built and written, and the image is checked by
//! independent readers (fsck.fat, mtools, exiftool). The same plan and
//! inputs must give a byte-identical image whatever the time zone, locale,
//! umask, thread count, order the files were added in, or file system the
//! workspace lives on.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn baram() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
    c.env_remove("BARAM_WORKSPACE");
    c
}

fn in_ws(ws: &Path) -> Command {
    let mut c = baram();
    c.arg("--workspace").arg(ws);
    c
}

fn ok(mut c: Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn need(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is needed by this test: apt-get install {package}"
    );
}

/// Writes the demo's sample files (planted metadata, Red Star chains) into
/// `dir/input`, in the order given by `order`, and adds them one by one to a
/// new workspace at `ws` with their tags, series and values.
fn library(ws: &Path, input: &Path, reverse: bool) {
    fs::create_dir_all(input).unwrap();
    ok({
        let mut c = in_ws(ws);
        c.args(["-q", "init"]);
        c
    });
    let mut samples = baram_sanitize::fixtures::demo_samples();
    if reverse {
        samples.reverse();
        // The same photo twice (two Red Star chains) is one item named after
        // the first added: keep that pair in its order so both libraries
        // hold the same titles.
        samples.sort_by_key(|s| s.name.contains("red star"));
    }
    for s in &samples {
        let p = input.join(s.name);
        fs::write(&p, &s.data).unwrap();
        let mut c = in_ws(ws);
        c.args(["-q", "library", "add"]).arg(&p);
        c.args(["--value", &s.value.to_string()]);
        if !s.tags.is_empty() {
            c.args(["--tags", &s.tags.join(",")]);
        }
        if let (Some(series), Some(ep)) = (s.series, s.episode) {
            c.args(["--series", series, "--episode", &ep.to_string()]);
        }
        // Refused samples (truncated on purpose) fail: that is expected.
        let _ = c.output().unwrap();
    }
}

fn plan_and_build(ws: &Path, dir: &Path, env: &[(&str, &str)], pre: &str) -> Vec<u8> {
    fs::create_dir_all(dir).unwrap();
    let plan = dir.join("plan.json");
    let img = dir.join("drop.img");
    let script = format!(
        "{pre} \"$0\" --workspace \"$1\" -q drop plan --medium 40000000 -o \"$2\" && \
         \"$0\" --workspace \"$1\" -q drop build --threads \"${{BARAM_TEST_THREADS:-1}}\" \"$2\" -o \"$3\""
    );
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_baram"))
        .arg(ws)
        .arg(&plan)
        .arg(&img);
    c.env_remove("BARAM_WORKSPACE");
    for (k, v) in env {
        c.env(k, v);
    }
    ok(c);
    fs::read(&img).unwrap()
}

fn blake(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

#[test]
fn plan_build_write_and_read_back_with_fsck_and_mtools() {
    need("fsck.fat", "dosfstools");
    need("mcopy", "mtools");
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    library(&ws, &t.path().join("input"), false);
    let plan = t.path().join("plan.json");
    let out = ok({
        let mut c = in_ws(&ws);
        c.args([
            "--json",
            "drop",
            "plan",
            "--medium",
            "40000000",
            "--explain",
            "-o",
        ])
        .arg(&plan);
        c
    });
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["hash"].as_str().unwrap().len() == 64);
    let p: serde_json::Value = serde_json::from_slice(&fs::read(&plan).unwrap()).unwrap();
    let files = p["variants"][0]["files"].as_array().unwrap().clone();
    assert!(files.len() >= 8, "{files:?}");

    // A bare volume too, for fsck.fat (which reads volumes, not disks).
    let bare_plan = t.path().join("bare.json");
    ok({
        let mut c = in_ws(&ws);
        c.args([
            "-q",
            "drop",
            "plan",
            "--medium",
            "40000000",
            "--no-partition",
            "-o",
        ])
        .arg(&bare_plan);
        c
    });
    let bare = t.path().join("bare.img");
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "build"])
            .arg(&bare_plan)
            .arg("-o")
            .arg(&bare);
        c
    });
    let fsck = Command::new("fsck.fat")
        .arg("-n")
        .arg(&bare)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&fsck.stdout).to_string();
    assert!(fsck.status.success(), "fsck.fat: {text}");
    assert_eq!(
        text.lines().count(),
        2,
        "fsck.fat reported something: {text}"
    );

    let img = t.path().join("drop.img");
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "build"])
            .arg(&plan)
            .arg("-o")
            .arg(&img);
        c
    });
    // mtools reads every planned file back, bit-exact with the library's
    // stored (sanitized) copy, under its Korean long name.
    let lib_files = ws.join("blobs");
    for f in &files {
        let path: Vec<&str> = f["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let dest = t.path().join("out.bin");
        let _ = fs::remove_file(&dest);
        let st = Command::new("mcopy")
            .arg("-n")
            .arg("-i")
            .arg(format!("{}@@1M", img.display()))
            .arg(format!("::/{}", path.join("/")))
            .arg(&dest)
            .env("MTOOLS_SKIP_CHECK", "1")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{path:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let got = fs::read(&dest).unwrap();
        let hash = f["meta"]["hash"].as_str().unwrap();
        assert_eq!(blake(&got), hash, "{path:?}");
        assert!(lib_files.exists());
    }
    let listing = Command::new("mdir")
        .args(["-/", "-i"])
        .arg(format!("{}@@1M", img.display()))
        .arg("::")
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("드라마"), "{listing}");

    // Written to two image files and verified.
    let a = t.path().join("a.img");
    let b = t.path().join("b.img");
    let out = ok({
        let mut c = baram();
        c.args(["--json", "drop", "write"])
            .arg(&img)
            .arg(&a)
            .arg(&b);
        c
    });
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in rep["targets"].as_array().unwrap() {
        assert_eq!(t["verdict"], "ok", "{t}");
    }
    assert_eq!(fs::read(&a).unwrap(), fs::read(&img).unwrap());
    assert_eq!(fs::read(&b).unwrap(), fs::read(&img).unwrap());
}

#[test]
fn same_image_whatever_the_environment() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    library(&ws, &t.path().join("input"), false);
    let base = plan_and_build(
        &ws,
        &t.path().join("base"),
        &[("TZ", "UTC"), ("LC_ALL", "C")],
        "umask 022;",
    );
    type Run<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let runs: Vec<Run> = vec![
        ("time zone", vec![("TZ", "Asia/Seoul")], ""),
        ("time zone 2", vec![("TZ", "America/Los_Angeles")], ""),
        (
            "locale",
            vec![("LC_ALL", "ko_KR.UTF-8"), ("LANG", "ko_KR.UTF-8")],
            "",
        ),
        ("umask", vec![], "umask 077;"),
        ("threads", vec![("BARAM_TEST_THREADS", "2")], ""),
        (
            "threads 2",
            vec![("BARAM_TEST_THREADS", "4"), ("RAYON_NUM_THREADS", "7")],
            "",
        ),
    ];
    for (what, env, pre) in runs {
        let img = plan_and_build(&ws, &t.path().join(what.replace(' ', "_")), &env, pre);
        assert!(img == base, "{what} changed the image");
    }
    // Another workspace with the files added in the opposite order (other
    // item ids), on another file system when /dev/shm (tmpfs) is there.
    let other_root = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let ws2: PathBuf = other_root.path().join("ws");
    library(&ws2, &other_root.path().join("input"), true);
    let img = plan_and_build(&ws2, &t.path().join("reversed"), &[], "");
    assert!(
        img == base,
        "the order files were added in (or the workspace's file system) changed the image"
    );
    // And the build really is deterministic, not just the same twice by luck:
    // a different timestamp changes it.
    let mut c = in_ws(&ws);
    let p2 = t.path().join("p2.json");
    c.args([
        "-q",
        "drop",
        "plan",
        "--medium",
        "40000000",
        "--date",
        "2012-05-05 10:00",
        "-o",
    ])
    .arg(&p2);
    ok(c);
    let i2 = t.path().join("i2.img");
    let mut c = in_ws(&ws);
    c.args(["-q", "drop", "build"]).arg(&p2).arg("-o").arg(&i2);
    ok(c);
    assert!(fs::read(&i2).unwrap() != base);
}

#[test]
fn nothing_on_the_volume_names_the_builder() {
    need("exiftool", "libimage-exiftool-perl");
    need("mcopy", "mtools");
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    library(&ws, &t.path().join("input"), false);
    let img_bytes = plan_and_build(&ws, &t.path().join("b"), &[], "");
    let img = t.path().join("b/drop.img");
    // Bytes of the image: no tool name, user, host or path.
    let host = fs::read_to_string("/etc/hostname").unwrap_or_default();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let tmp = t.path().display().to_string();
    let hay = String::from_utf8_lossy(&img_bytes).to_lowercase();
    for needle in ["baram", "mkfs", "mtools", host.trim()] {
        if needle.len() >= 4 {
            assert!(
                !hay.contains(&needle.to_lowercase()),
                "the image contains {needle:?}"
            );
        }
    }
    // Paths, case-sensitive (PDFs hold "/Root").
    let raw = String::from_utf8_lossy(&img_bytes);
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    for needle in [tmp.as_str(), &format!("{home}/"), "/home/", "/tmp/"] {
        assert!(!raw.contains(needle), "the image contains {needle:?}");
    }
    assert!(user.len() < 4 || !hay.contains(&format!("{user}@")));
    // Every file on it, through exiftool: no identifying tag.
    let out_dir = t.path().join("files");
    fs::create_dir_all(&out_dir).unwrap();
    let st = Command::new("mcopy")
        .args(["-s", "-n", "-i"])
        .arg(format!("{}@@1M", img.display()))
        .arg("::/")
        .arg(&out_dir)
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut checked = 0;
    let mut stack = vec![out_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bad = identifying(&p);
            assert!(bad.is_empty(), "{}: exiftool shows {bad:?}", p.display());
            let v3 = Command::new("exiftool")
                .arg("-v3")
                .arg(&p)
                .output()
                .unwrap();
            let v3 = String::from_utf8_lossy(&v3.stdout);
            assert!(
                !v3.contains("trailer") && !v3.contains("Trailer"),
                "{}: {v3}",
                p.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} files checked");
    // The check is not vacuous: the originals fail it.
    let originals = fs::read_dir(t.path().join("input"))
        .unwrap()
        .filter(|e| !identifying(&e.as_ref().unwrap().path()).is_empty())
        .count();
    assert!(
        originals >= 4,
        "exiftool finds identifying tags in only {originals} originals"
    );
}

#[test]
fn clear_errors_for_bad_plans_and_targets() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    library(&ws, &t.path().join("input"), false);
    // Unknown medium.
    let out = in_ws(&ws)
        .args(["drop", "plan", "--medium", "sd-9g"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("sd-9g") && err.contains("sd-8g"), "{err}");
    // An edited plan is refused.
    let plan = t.path().join("plan.json");
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "plan", "--medium", "40000000", "-o"])
            .arg(&plan);
        c
    });
    let text = fs::read_to_string(&plan)
        .unwrap()
        .replacen("\"seed\": 0", "\"seed\": 1", 1);
    fs::write(&plan, text).unwrap();
    let out = in_ws(&ws)
        .args(["drop", "build"])
        .arg(&plan)
        .args(["-o"])
        .arg(t.path().join("x.img"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hash") && err.contains("plan"), "{err}");
    assert!(!t.path().join("x.img").exists());
    // Writing onto the image itself is refused, nothing written.
    let img = t.path().join("i.img");
    fs::write(&img, vec![1u8; 4096]).unwrap();
    let out = baram()
        .args(["drop", "write"])
        .arg(&img)
        .arg(&img)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("i.img"));
    assert_eq!(fs::read(&img).unwrap(), vec![1u8; 4096]);
}

/// Lines of `exiftool -a -G1 -u -s` that name a person, device, place,
/// tool or time (zeroed and empty values are not identifying).
fn identifying(p: &Path) -> Vec<String> {
    let ex = Command::new("exiftool")
        .args(["-a", "-G1", "-u", "-s"])
        .arg(p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ex.stdout);
    let mut found = Vec::new();
    for line in text.lines() {
        let tag = line.split(':').next().unwrap_or("");
        // File-system facts of the extracted copy, and a stream flag.
        if tag.starts_with("[System]")
            || tag.starts_with("[File]")
            || tag.starts_with("[ExifTool]")
            || tag.contains("CopyrightFlag")
        {
            continue;
        }
        let value = line.split_once(':').map_or("", |x| x.1).trim();
        // Zeroed, empty, or one of the fixed dates every copy carries (the
        // ZIP format's DOS epoch, the drop's default timestamp).
        let harmless = value.is_empty()
            || value.chars().all(|c| "0: ".contains(c))
            || value.starts_with("1980:01:01 00:00:00")
            || value.starts_with("2010:01:01 00:00:00");
        let bad = [
            "GPS",
            "Serial",
            "Make",
            "Model",
            "Artist",
            "Author",
            "Creator",
            "Software",
            "Encoder",
            "Comment",
            "HostComputer",
            "Owner",
            "Copyright",
            "DateTimeOriginal",
            "CreateDate",
            "ModifyDate",
            "LastModifiedBy",
            "Producer",
        ];
        if !harmless && bad.iter().any(|b| tag.contains(b)) {
            found.push(line.to_string());
        }
    }
    found
}

fn escaped(s: &str) -> String {
    s.encode_utf16().map(|u| format!("\\u{u:04x}")).collect()
}

#[test]
fn dvd_plans_build_iso_and_folders_hold_the_same_files() {
    need("xorriso", "xorriso");
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    library(&ws, &t.path().join("input"), false);
    let plan = t.path().join("dvd.json");
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "plan", "--medium", "dvd-4.7g", "-o"])
            .arg(&plan);
        c
    });
    let p: serde_json::Value = serde_json::from_slice(&fs::read(&plan).unwrap()).unwrap();
    assert!(
        p["capacity"]["fs"]["model"]
            .as_str()
            .unwrap()
            .starts_with("iso")
    );
    // A DVD plan is not a FAT32 image.
    let out = in_ws(&ws)
        .args(["drop", "build"])
        .arg(&plan)
        .arg("-o")
        .arg(t.path().join("x.img"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format iso"));
    let iso = t.path().join("drop.iso");
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "build", "--format", "iso"])
            .arg(&plan)
            .arg("-o")
            .arg(&iso);
        c
    });
    let folder = t.path().join("folder");
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "build", "--format", "dir"])
            .arg(&plan)
            .arg("-o")
            .arg(&folder);
        c
    });
    let extracted = t.path().join("extracted");
    let x = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(&iso)
        .args(["-extract", "/"])
        .arg(&extracted)
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    let files = p["variants"][0]["files"].as_array().unwrap();
    for f in files {
        let rel: PathBuf = f["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let a = fs::read(extracted.join(&rel)).unwrap();
        let b = fs::read(folder.join(&rel)).unwrap();
        assert_eq!(a, b, "{}", rel.display());
        assert_eq!(blake(&a), f["meta"]["hash"].as_str().unwrap());
    }
    // The catalogue is on both, and lists the items (Hangul escaped).
    for root in [&extracted, &folder] {
        let data = fs::read_to_string(root.join("data.js")).unwrap();
        assert!(data.is_ascii());
        assert!(data.contains(&escaped("드라마")), "{data}");
        assert!(root.join("index.html").is_file() && root.join("guide.html").is_file());
    }
}

#[test]
fn without_ffmpeg_media_that_needs_it_is_skipped_and_the_rest_builds() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    library(&ws, &t.path().join("input"), false);
    let empty = t.path().join("empty-path");
    fs::create_dir_all(&empty).unwrap();
    let plan = t.path().join("plan.json");
    let out = in_ws(&ws)
        .args(["drop", "plan", "--medium", "40000000", "-o"])
        .arg(&plan)
        .env("PATH", &empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "skipped items make the exit code non-zero"
    );
    assert!(err.contains("apt-get install ffmpeg"), "{err}");
    // One clear line per skipped item, naming it.
    for line in err.lines() {
        assert!(line.starts_with("baram: item "), "{line}");
    }
    let p: serde_json::Value = serde_json::from_slice(&fs::read(&plan).unwrap()).unwrap();
    let files = p["variants"][0]["files"].as_array().unwrap();
    assert!(
        files.len() >= 5,
        "items that need no conversion still plan: {files:?}"
    );
    ok({
        let mut c = in_ws(&ws);
        c.args(["-q", "drop", "build"])
            .arg(&plan)
            .arg("-o")
            .arg(t.path().join("d.img"));
        c.env("PATH", &empty);
        c
    });
}

/// A video added with --subtitles: `notel` burns them in (the SRT does not
/// go as a text of its own, and the video differs from one without), `pc`
/// puts the SRT beside the video under the same name.
#[test]
fn subtitles_burned_for_notel_and_beside_the_video_for_pc() {
    need("ffmpeg", "ffmpeg");
    let t = tempfile::tempdir().unwrap();
    let video = t.path().join("사랑의 불시착 1화.mp4");
    let st = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10:duration=2",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&video)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let srt = t.path().join("자막.srt");
    fs::write(&srt, "1\n00:00:00,000 --> 00:00:02,000\n평양에서 온 편지\n").unwrap();
    let mut built = Vec::new();
    for (ws_name, with_subs) in [("with", true), ("without", false)] {
        let ws = t.path().join(ws_name);
        ok({
            let mut c = in_ws(&ws);
            c.args(["-q", "init"]);
            c
        });
        let mut c = in_ws(&ws);
        c.args(["-q", "library", "add"]).arg(&video);
        if with_subs {
            c.arg("--subtitles").arg(&srt);
        }
        ok(c);
        for profile in ["notel", "pc"] {
            let plan = t.path().join(format!("{ws_name}-{profile}.json"));
            ok({
                let mut c = in_ws(&ws);
                c.args([
                    "-q",
                    "drop",
                    "plan",
                    "--medium",
                    "40000000",
                    "--profile",
                    profile,
                    "-o",
                ])
                .arg(&plan);
                c
            });
            let dir = t.path().join(format!("{ws_name}-{profile}"));
            ok({
                let mut c = in_ws(&ws);
                c.args(["-q", "drop", "build", "--format", "dir"])
                    .arg(&plan)
                    .arg("-o")
                    .arg(&dir);
                c
            });
            let mut names: Vec<String> = fs::read_dir(dir.join("video"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            names.sort();
            assert!(
                !dir.join("text").exists(),
                "the SRT is not a text of its own"
            );
            built.push((ws_name, profile, dir, names));
        }
    }
    let find = |w: &str, p: &str| built.iter().find(|b| b.0 == w && b.1 == p).unwrap();
    let (_, _, notel_dir, notel) = find("with", "notel");
    assert_eq!(notel, &vec!["01 사랑의 불시착 1화.avi".to_string()]);
    let (_, _, plain_dir, _) = find("without", "notel");
    let a = fs::read(notel_dir.join("video").join(&notel[0])).unwrap();
    let b = fs::read(plain_dir.join("video").join(&notel[0])).unwrap();
    assert_ne!(a, b, "burned-in subtitles change the video");
    let (_, _, pc_dir, pc) = find("with", "pc");
    assert_eq!(
        pc,
        &vec![
            "01 사랑의 불시착 1화.mp4".to_string(),
            "01 사랑의 불시착 1화.srt".to_string()
        ]
    );
    let srt_out = fs::read_to_string(pc_dir.join("video/01 사랑의 불시착 1화.srt")).unwrap();
    assert!(srt_out.contains("평양에서 온 편지"), "{srt_out}");
    let (_, _, _, pc_plain) = find("without", "pc");
    assert_eq!(pc_plain, &vec!["01 사랑의 불시착 1화.mp4".to_string()]);
}
