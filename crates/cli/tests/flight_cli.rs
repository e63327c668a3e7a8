//! `baram flight predict | ensemble | windows` through the real binary.

use baram_flight::ensemble::EnsembleSpec;
use baram_flight::model::{Ascent, Descent, FlightSpec, Launch};
use baram_flight::wind::Cube;
use baram_flight::windows::{self, WindowsSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn baram() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baram"));
    c.env_remove("BARAM_WORKSPACE");
    c
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped GFS sample imported over Korea into `dir`.
fn gfs_cube(dir: &Path) -> PathBuf {
    let cube = dir.join("gfs.cube");
    let grib = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../flight/data/grib/gfs.t12z.pgrbf120.2p5deg.grib2");
    let out = baram()
        .args(["-q", "wind", "import", "--region", "25,50,110,145", "-o"])
        .arg(&cube)
        .arg(grib)
        .output()
        .unwrap();
    ok(&out);
    cube
}

/// A uniform synthetic cube (u east, v north, m/s) over 0..6 h, hourly,
/// from 2024-01-01T00:00Z.
fn synth_cube(dir: &Path, name: &str, u: f64, v: f64) -> PathBuf {
    let cube = dir.join(name);
    let out = baram()
        .args(["-q", "wind", "synth", "--kind", "uniform", "--hours", "6"])
        .args(["--every", "1", "--u", &u.to_string(), "--v", &v.to_string()])
        .arg("-o")
        .arg(&cube)
        .output()
        .unwrap();
    ok(&out);
    cube
}

const GANGHWA: &str = "37.75,126.48";
const GFS_TIME: &str = "2011-01-15T12:00:00Z";
/// 2024-01-01T00:00Z: the synthetic cubes' first time and run.
const SYNTH_T0: f64 = 1_704_067_200.0;

#[test]
fn predict_writes_geojson_kml_and_csv() {
    let d = tempfile::tempdir().unwrap();
    let cube = gfs_cube(d.path());
    let (gj, kml, csv) = (
        d.path().join("t.geojson"),
        d.path().join("t.kml"),
        d.path().join("t.csv"),
    );
    let out = baram()
        .args(["--json", "flight", "predict", "--cube"])
        .arg(&cube)
        .args(["--launch", GANGHWA, "--time", GFS_TIME, "--geojson"])
        .arg(&gj)
        .arg("--kml")
        .arg(&kml)
        .arg("--csv")
        .arg(&csv)
        .output()
        .unwrap();
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (lat, lon) = (
        v["landing"]["lat"].as_f64().unwrap(),
        v["landing"]["lon"].as_f64().unwrap(),
    );
    assert_eq!(v["winds_held_steady"], true);

    // GeoJSON: a FeatureCollection whose track ends at the landing.
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gj).unwrap()).unwrap();
    assert_eq!(g["type"], "FeatureCollection");
    let feats = g["features"].as_array().unwrap();
    let line = feats
        .iter()
        .find(|f| f["geometry"]["type"] == "LineString")
        .expect("a track");
    let coords = line["geometry"]["coordinates"].as_array().unwrap();
    assert!(coords.len() > 100);
    assert_eq!(coords[0][0].as_f64().unwrap(), 126.48);
    assert_eq!(coords[0][1].as_f64().unwrap(), 37.75);
    assert!((g["properties"]["landing"]["lat"].as_f64().unwrap() - lat).abs() < 1e-5);
    assert!((g["properties"]["landing"]["lon"].as_f64().unwrap() - lon).abs() < 1e-5);
    assert_eq!(g["properties"]["landing"]["area"], "KOR");

    // KML: well-formed XML, checked by an independent parser.
    let k = std::fs::read_to_string(&kml).unwrap();
    assert!(k.starts_with("<?xml"));
    match Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom as m; print(m.parse(sys.argv[1]).documentElement.tagName)",
        ])
        .arg(&kml)
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "kml");
        }
        Err(e) => eprintln!("python3 not available ({e}): KML parse check skipped"),
    }

    // CSV: a header, then rows of as many fields, from launch to landing.
    let c = std::fs::read_to_string(&csv).unwrap();
    let mut rows = c.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "t_iso", "t_s", "lat", "lon", "alt_m", "phase", "event", "object"
        ]
    );
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    assert!(rows.len() > 100);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert_eq!(rows[0][6], "launch");
    let last = rows.last().unwrap();
    assert!((last[2].parse::<f64>().unwrap() - lat).abs() < 1e-5);
    assert!((last[3].parse::<f64>().unwrap() - lon).abs() < 1e-5);
}

#[test]
fn ensemble_json_sums_to_one_and_the_report_is_offline() {
    let d = tempfile::tempdir().unwrap();
    let cube = gfs_cube(d.path());
    let html = d.path().join("report.html");
    let out = baram()
        .args(["--json", "flight", "ensemble", "--cube"])
        .arg(&cube)
        .args(["--launch", GANGHWA, "--time", GFS_TIME])
        .args([
            "--members",
            "120",
            "--seed",
            "3",
            "--threads",
            "2",
            "--html",
        ])
        .arg(&html)
        .output()
        .unwrap();
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["members"], 120);
    assert_eq!(v["seed"], 3);
    let areas = v["areas"].as_array().unwrap();
    assert_eq!(areas[0]["area"], "PRK");
    let p: f64 = areas
        .iter()
        .map(|a| a["probability"].as_f64().unwrap())
        .sum::<f64>()
        + v["failed_probability"].as_f64().unwrap();
    assert!((p - 1.0).abs() < 1e-9, "{p}");
    let n: u64 = areas
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .sum::<u64>()
        + v["failed"].as_u64().unwrap();
    assert_eq!(n, 120);
    // The lead time counts from the run the cube records.
    assert_eq!(v["forecast_run"], "2011-01-10T12:00:00.000Z");
    assert_eq!(v["winds_held_steady"], true);
    // Ganghwa is inside the 25 km band along the MDL.
    assert!(v["warnings"][0].as_str().unwrap().contains("Demarcation"));
    // The report: one file, an SVG map, no address of any kind.
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("<svg"));
    assert!(!h.contains("http"), "the report names a URL");
    assert!(h.contains("120 members, seed 3"));

    // The same run, by the human: the table, PRK first, and the notes.
    let out = baram()
        .args(["flight", "ensemble", "--cube"])
        .arg(&cube)
        .args(["--launch", GANGHWA, "--time", GFS_TIME])
        .args(["--members", "120", "--seed", "3", "--burst-alt", "25000"])
        .output()
        .unwrap();
    ok(&out);
    let s = String::from_utf8(out.stdout).unwrap();
    let prk = s.find("PRK  North Korea").expect("PRK row");
    assert!(prk < s.find("KOR  South Korea").unwrap(), "{s}");
    for want in [
        "WARNING: The launch site is",
        "airports:",
        "inland reach",
        "winds are held steady",
        "note: ground at sea level",
    ] {
        assert!(s.contains(want), "missing {want:?}: {s}");
    }
}

/// The flight both sides of the windows test fly: 5 m/s to 10 km, 5 m/s down.
fn windows_flight(t: f64) -> FlightSpec {
    FlightSpec::new(
        Launch {
            lat_deg: 37.75,
            lon_deg: 126.48,
            time_unix_s: t,
            alt_m: 0.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 5.0,
            burst_altitude_m: 10_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    )
}

fn windows_json(cube: &Path, to_h: u32) -> serde_json::Value {
    let out = baram()
        .args(["--json", "flight", "windows", "--cube"])
        .arg(cube)
        .args(["--site", GANGHWA, "--from", "2024-01-01T00:00:00Z"])
        .args(["--to", &format!("2024-01-01T{to_h:02}:00:00Z")])
        .args(["--every", "1h", "--members", "40", "--burst-alt", "10000"])
        .output()
        .unwrap();
    ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn library_windows(cube: &Path, to_h: u32) -> serde_json::Value {
    let c = Cube::open(cube).unwrap();
    let mut e = EnsembleSpec::new(windows_flight(SYNTH_T0), 40, 1);
    e.wind_error.forecast_run_unix_s = Some(c.meta().run_time as f64);
    let w = WindowsSpec::new(e, SYNTH_T0, SYNTH_T0 + f64::from(to_h) * 3600.0);
    serde_json::from_str(&windows::plan(&w, &c, 1).unwrap().to_json()).unwrap()
}

#[test]
fn windows_rank_and_reject_as_the_library_says() {
    let d = tempfile::tempdir().unwrap();
    // Blowing north from Ganghwa: over the MDL into the North within the
    // hour; the last launches outlive the 6 h forecast.
    let north = synth_cube(d.path(), "north.cube", 0.0, 10.0);
    let v = windows_json(&north, 6);
    let lib = library_windows(&north, 6);
    assert_eq!(v["candidates"], lib["candidates"]);
    assert_eq!(v["ranking"], lib["ranking"]);
    assert_eq!(v["warnings"], lib["warnings"]);
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 7);
    assert_eq!(cands[0]["rank"], 1);
    assert!(cands[0]["p_target"].as_f64().unwrap() > 0.9);
    let last = cands.last().unwrap();
    assert_eq!(last["accepted"], false);
    assert!(
        last["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("unknown landings"),
        "{last}"
    );
    assert!(v["warnings"][0].as_str().unwrap().contains("Demarcation"));
    assert_eq!(v["forecast_run"], "2024-01-01T00:00:00.000Z");

    // Blowing south-east, over Gimpo airport into Seoul: every launch time
    // is rejected, for the own side and for the airport.
    let south = synth_cube(d.path(), "south.cube", 10.0, -10.0);
    let v = windows_json(&south, 3);
    let lib = library_windows(&south, 3);
    assert_eq!(v["candidates"], lib["candidates"]);
    assert_eq!(v["ranking"], serde_json::json!([]));
    for c in v["candidates"].as_array().unwrap() {
        assert_eq!(c["accepted"], false);
        let r: Vec<&str> = c["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert!(r[0].starts_with("landing on the own side: P(KOR)"), "{r:?}");
        assert!(
            r[1].starts_with("airports:") && r[1].contains("GMP"),
            "{r:?}"
        );
    }

    // The human table: the MDL warning first, rejected rows with reasons,
    // and the report with the windows table.
    let html = d.path().join("w.html");
    let out = baram()
        .args(["flight", "windows", "--cube"])
        .arg(&south)
        .args(["--site", GANGHWA, "--from", "2024-01-01T00:00:00Z"])
        .args(["--to", "2024-01-01T02:00:00Z", "--members", "20"])
        .args(["--burst-alt", "10000", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    ok(&out);
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.starts_with("!! WARNING: The launch site is"), "{s}");
    assert!(s.contains("REJECTED") && s.contains("rejected: landing on the own side"));
    assert!(s.contains("best: none"), "{s}");
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("Launch windows") && !h.contains("http"));
}

/// Runs baram with `args`, expects failure with one line on stderr naming
/// `option`.
fn refused(args: &[&str], option: &str) {
    let out = baram().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
    assert!(
        e.starts_with(&format!("baram: error: {option}")),
        "{args:?} should name {option}: {e}"
    );
}

#[test]
fn bad_inputs_are_refused_naming_the_option() {
    let d = tempfile::tempdir().unwrap();
    let gfs = gfs_cube(d.path());
    let gfs = gfs.to_str().unwrap();
    let syn = synth_cube(d.path(), "s.cube", 0.0, 10.0);
    let syn = syn.to_str().unwrap();
    let t0 = "2024-01-01T00:00:00Z";
    for cmd in ["predict", "ensemble"] {
        let base = |extra: &[&'static str]| -> Vec<String> {
            let mut v: Vec<String> = ["flight", cmd, "--cube", gfs, "--members", "10"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if cmd == "predict" {
                v.drain(4..6);
            }
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let run = |extra: &[&'static str], option: &str| {
            let a = base(extra);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            refused(&a, option);
        };
        // A launch point outside the cube.
        run(&["--launch", "10,126.48", "--time", GFS_TIME], "--launch");
        // A float altitude above the data's top (10 hPa, about 30.7 km).
        run(
            &[
                "--launch",
                GANGHWA,
                "--time",
                GFS_TIME,
                "--burst-alt",
                "40000",
                "--float-alt",
                "35000",
                "--release-timer",
                "120",
            ],
            "--float-alt",
        );
        // Negative rates.
        run(
            &[
                "--launch",
                GANGHWA,
                "--time",
                GFS_TIME,
                "--ascent-rate",
                "-5",
            ],
            "--ascent-rate",
        );
        run(
            &[
                "--launch",
                GANGHWA,
                "--time",
                GFS_TIME,
                "--descent-rate",
                "-5",
            ],
            "--descent-rate",
        );
    }
    // A time outside the forecast (the synthetic cube covers 6 hours).
    refused(
        &[
            "flight",
            "predict",
            "--cube",
            syn,
            "--launch",
            GANGHWA,
            "--time",
            "2024-01-02T00:00:00Z",
        ],
        "--time",
    );
    refused(
        &[
            "flight",
            "ensemble",
            "--cube",
            syn,
            "--launch",
            GANGHWA,
            "--time",
            "2024-01-02T00:00:00Z",
            "--members",
            "10",
        ],
        "--time",
    );
    // Zero members, and other ensemble options.
    let ens = |extra: &[&str], option: &str| {
        let mut a = vec![
            "flight", "ensemble", "--cube", gfs, "--launch", GANGHWA, "--time", GFS_TIME,
        ];
        a.extend_from_slice(extra);
        refused(&a, option);
    };
    ens(&["--members", "0"], "--members");
    ens(
        &["--members", "10", "--ascent-spread", "-1"],
        "--ascent-spread",
    );
    ens(
        &["--members", "10", "--burst-spread", "-1"],
        "--burst-spread",
    );
    ens(&["--members", "10", "--wind-error", "-1"], "--wind-error");
    ens(&["--members", "10", "--threads", "0"], "--threads");
    ens(&["--members", "10", "--airport-km", "-1"], "--airport-km");
    ens(
        &["--members", "10", "--forecast-run", "2011-01-16T00:00:00Z"],
        "--forecast-run",
    );
    // A launch before the run the cube records.
    refused(
        &[
            "flight",
            "ensemble",
            "--cube",
            gfs,
            "--launch",
            GANGHWA,
            "--time",
            "2011-01-01T00:00:00Z",
            "--members",
            "10",
        ],
        "--time",
    );

    // Windows.
    let win = |extra: &[&str], option: &str| {
        let mut a = vec!["flight", "windows", "--cube", syn, "--members", "10"];
        a.extend_from_slice(extra);
        refused(&a, option);
    };
    let ok_span = [
        "--site",
        GANGHWA,
        "--from",
        t0,
        "--to",
        "2024-01-01T03:00:00Z",
    ];
    win(
        &[
            "--site",
            GANGHWA,
            "--from",
            t0,
            "--to",
            "2024-01-02T00:00:00Z",
        ],
        "--to",
    );
    win(
        &[
            "--site",
            GANGHWA,
            "--from",
            "2023-12-31T00:00:00Z",
            "--to",
            "2024-01-01T03:00:00Z",
            "--forecast-run",
            "2023-12-30T00:00:00Z",
        ],
        "--from",
    );
    win(
        &[
            "--site",
            "10,126.48",
            "--from",
            t0,
            "--to",
            "2024-01-01T03:00:00Z",
        ],
        "--site",
    );
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = ok_span.to_vec();
        v.extend_from_slice(extra);
        v
    };
    win(&with(&["--every", "10s"]), "--every");
    win(&with(&["--every", "soon"]), "--every");
    win(&with(&["--target", "XYZ"]), "--target");
    win(&with(&["--target", "KOR"]), "--target");
    win(&with(&["--max-own-side", "150"]), "--max-own-side");
    win(&with(&["--ascent-rate", "-1"]), "--ascent-rate");
    let mut zero = vec!["flight", "windows", "--cube", syn, "--members", "0"];
    zero.extend_from_slice(&ok_span);
    refused(&zero, "--members");
}
