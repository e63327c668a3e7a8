//! `baram sanitize inspect|clean` and `baram demo` through the real binary.

use baram_sanitize::{fixtures, redstar};
use std::fs;
use std::process::Command;

fn baram() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
    c.env_remove("BARAM_WORKSPACE");
    c
}

#[test]
fn inspect_and_clean() {
    let d = tempfile::tempdir().unwrap();
    let photo = d.path().join("사진.jpg");
    fs::write(
        &photo,
        redstar::append_trailer(&fixtures::jpeg_with_exif(), &["WD-X1", "WD-X2"]),
    )
    .unwrap();
    let doc = d.path().join("report.docx");
    fs::write(&doc, fixtures::docx_with_redstar(&["S3RIAL"], true)).unwrap();
    let mut half = fixtures::png_with_text();
    half.truncate(100);
    let broken = d.path().join("half.png");
    fs::write(&broken, &half).unwrap();

    // inspect --json: findings and the decoded serials; the broken file named.
    let out = baram()
        .args(["--json", "sanitize", "inspect"])
        .args([&photo, &doc, &broken])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["report"]["format"], "jpeg");
    assert_eq!(v[0]["report"]["redstar"]["blocks"], 2);
    assert_eq!(v[0]["report"]["redstar"]["serials"][1], "WD-X2");
    assert_eq!(v[1]["report"]["redstar"]["serials"][0], "S3RIAL");
    assert!(v[2]["error"].as_str().unwrap().contains("not a valid PNG"));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("half.png") && err.contains("at byte"), "{err}");

    // clean: cleaned copies for the good files, nothing for the broken one.
    let o = d.path().join("out");
    let out = baram()
        .args(["-q", "sanitize", "clean"])
        .args([&photo, &doc, &broken])
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!o.join("half.png").exists());
    for name in ["사진.jpg", "report.docx"] {
        let cleaned = fs::read(o.join(name)).unwrap();
        let r = baram_sanitize::inspect(&cleaned).unwrap();
        assert!(r.is_clean(), "{name}: {r:?}");
        for p in fixtures::PLANTED {
            assert!(
                !cleaned.windows(p.len()).any(|w| w == p.as_bytes()),
                "{name}: {p}"
            );
        }
    }
    // Refuses to overwrite its input.
    let out = baram()
        .args(["sanitize", "clean"])
        .arg(&photo)
        .arg("-o")
        .arg(d.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("overwrite the input"));
}

#[test]
fn demo_runs() {
    let d = tempfile::tempdir().unwrap();
    let out = baram()
        .current_dir(d.path())
        .args(["--json", "demo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stored_copies_clean"], true);
    assert_eq!(
        v["duplicates"], 1,
        "the photo with a Red Star chain is the same item"
    );
    assert_eq!(v["rejected"], 2, "the truncated JPEG and the unknown file");
    assert!(v["added"].as_u64().unwrap() >= 10);
    // The drop: planned, built (image and folder with the catalogue), and
    // written to two verified copies identical to the image.
    assert_eq!(v["drop_ok"], true);
    // The vault step: intake, import, processing, a Korean search.
    assert_eq!(v["vault_ok"], true);
    assert!(
        d.path()
            .join("baram-demo/vault-bundle/bundle.json")
            .is_file()
    );
    // ...and a case exported: a ZIP with the manifest, no courier code.
    let zip = fs::read(d.path().join("baram-demo/vault-export.zip")).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));
    assert!(memchr::memmem::find(&zip, b"manifest.json").is_some());
    assert!(memchr::memmem::find(&zip, b"DEMO-7").is_none());
    // The flight step: an ensemble from the shipped GFS sample, its
    // probabilities summing to 1, and its self-contained report.
    assert_eq!(v["flight_ok"], true);
    assert_eq!(v["flight"]["members"], 200);
    assert_eq!(v["flight"]["winds_held_steady"], true);
    let probs = v["flight"]["probabilities"].as_array().unwrap();
    assert_eq!(probs[0][0], "PRK");
    let total: f64 = probs.iter().map(|p| p[1].as_f64().unwrap()).sum::<f64>()
        + v["flight"]["failed_probability"].as_f64().unwrap();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    let demo = d.path().join("baram-demo");
    let report = fs::read_to_string(demo.join("flight-report.html")).unwrap();
    assert!(report.contains("<svg") && !report.contains("http"));
    let img = fs::read(demo.join("drop.img")).unwrap();
    assert_eq!(fs::read(demo.join("copy-1.img")).unwrap(), img);
    assert_eq!(fs::read(demo.join("copy-2.img")).unwrap(), img);
    assert!(demo.join("drop-folder/index.html").is_file());
    assert!(demo.join("drop-folder/video").is_dir());
    // A second run replaces its own folder.
    assert!(
        baram()
            .current_dir(d.path())
            .args(["-q", "demo"])
            .status()
            .unwrap()
            .success()
    );
    // But never a folder it did not make.
    fs::create_dir_all(d.path().join("mine")).unwrap();
    let out = baram()
        .current_dir(d.path())
        .args(["demo", "--dir", "mine"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn demo_without_ffmpeg_says_what_it_skipped() {
    let d = tempfile::tempdir().unwrap();
    // A PATH with no ffmpeg or ffprobe on it.
    let out = baram()
        .current_dir(d.path())
        .env("PATH", d.path())
        .args(["demo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("ffmpeg"), "{text}");
    assert!(text.contains("apt-get install ffmpeg"), "{text}");
    // The drop is still built, without the media that needed conversion.
    assert!(text.contains("skipped #"), "{text}");
    let demo = d.path().join("baram-demo");
    assert!(demo.join("drop.img").is_file());
    assert!(demo.join("drop-folder/index.html").is_file());
    assert!(demo.join("drop-folder/book").is_dir());
    // The flight step needs no ffmpeg.
    assert!(text.contains("== 5. A balloon launch plan"), "{text}");
    assert!(text.contains("held steady"), "{text}");
    assert!(text.contains("baram-demo/flight-report.html"), "{text}");
    assert!(demo.join("flight-report.html").is_file());
}
