//! `baram wind import | synth` through the real binary.

use baram_flight::wind::{Cube, WindField};
use std::path::PathBuf;
use std::process::Command;

fn baram() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
    c.env_remove("BARAM_WORKSPACE");
    c
}

fn grib(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../flight/data/grib")
        .join(name)
}

#[test]
fn import_gfs_json_and_summary() {
    let d = tempfile::tempdir().unwrap();
    let cube = d.path().join("gfs.cube");
    let out = baram()
        .args([
            "--json",
            "wind",
            "import",
            "--region",
            "31,45,117,134",
            "-o",
        ])
        .arg(&cube)
        .arg(grib("gfs.t12z.pgrbf120.2p5deg.grib2"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["steady"], true);
    assert_eq!(v["cube"]["levels_hpa"].as_array().unwrap().len(), 26);
    assert_eq!(v["report"]["skipped"].as_array().unwrap().len(), 5);
    assert!(
        v["report"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("held steady")
    );
    assert!(v["mb_per_s"].as_f64().unwrap() > 0.0);
    // The source names the file, never its folder.
    let src = v["cube"]["source"].as_str().unwrap();
    assert!(!src.contains('/'), "{src}");
    let c = Cube::open(&cube).unwrap();
    assert!(c.steady());

    // Human summary.
    let out = baram()
        .args(["wind", "import", "--region", "31,45,117,134", "-o"])
        .arg(&cube)
        .arg(grib("gfs.t12z.pgrbf120.2p5deg.grib2"))
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("grid: 7 x 9 points"), "{s}");
    assert!(s.contains("STEADY"), "{s}");
    assert!(
        s.contains("skipped: gfs.t12z.pgrbf120.2p5deg.grib2 message 263"),
        "{s}"
    );
}

#[test]
fn import_jma_needs_std_atmosphere_and_errors_are_one_line() {
    let d = tempfile::tempdir().unwrap();
    let cube = d.path().join("jma.cube");
    let jma = grib("jma_meps_20190605T00Z_korea_uv.grib2");
    let out = baram()
        .args(["wind", "import", "--region", "31,45,120,134", "-o"])
        .arg(&cube)
        .arg(&jma)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("baram: error: ")
            && e.contains("missing HGT")
            && e.contains("--std-atmosphere"),
        "{e}"
    );
    assert!(!cube.exists());
    let out = baram()
        .args([
            "wind",
            "import",
            "--std-atmosphere",
            "--region",
            "31,45,120,134",
            "-o",
        ])
        .arg(&cube)
        .arg(&jma)
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.contains("heights from the standard atmosphere at: 975, 950, 925, 850 hPa"),
        "{s}"
    );
    // A corrupt file: one line naming the message and offset.
    let broken = d.path().join("broken.grib2");
    let b = std::fs::read(&jma).unwrap();
    std::fs::write(&broken, &b[..5000]).unwrap();
    let out = baram()
        .args(["wind", "import", "-o"])
        .arg(&cube)
        .arg(&broken)
        .output()
        .unwrap();
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(
        e.contains("broken.grib2: GRIB message 1 at byte 0:") && e.contains("truncated"),
        "{e}"
    );
}

#[test]
fn synth_kinds_write_cubes() {
    let d = tempfile::tempdir().unwrap();
    for kind in ["uniform", "shear", "rotation"] {
        let p = d.path().join(format!("{kind}.cube"));
        let out = baram()
            .args(["wind", "synth", "--kind", kind, "--hours", "6", "-o"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = Cube::open(&p).unwrap();
        assert_eq!(c.meta().times.len(), 3);
        let w = c
            .wind(1_704_067_200.0 + 3600.0, 38.0, 125.5, 1000.0)
            .unwrap();
        match kind {
            "uniform" => assert_eq!((w.u, w.v), (10.0, 0.0)),
            "shear" => assert!((w.u - 12.0).abs() < 1e-3, "{w:?}"),
            _ => assert!(w.u.abs() < 1e-6 && w.v.abs() < 1e-6, "{w:?}"),
        }
    }
}
