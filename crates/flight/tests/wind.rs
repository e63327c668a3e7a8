//! Wind cubes: import of the real GRIB2 samples checked against ecCodes'
//! `grib_get_data` (an independent decoder), interpolation checked against
//! exact analytic fields, the cube format against corruption.

use baram_flight::wind::synth::{self, Linear, Spec};
use baram_flight::wind::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/grib")
        .join(name)
}
const GFS: &str = "gfs.t12z.pgrbf120.2p5deg.grib2";
const JMA: &str = "jma_meps_20190605T00Z_korea_uv.grib2";
const GDAS: &str = "gdas.t12z.pgrb2.0p25.f000.12";

fn opts(region: Option<Region>, isa: bool) -> ImportOptions {
    ImportOptions {
        region,
        std_atmosphere_heights: isa,
    }
}

fn imp(files: &[PathBuf], o: &ImportOptions) -> Result<(Cube, ImportReport), WindError> {
    import(files, o, &mut |_, _| {})
}

/// (lat, lon, value) of one field, decoded by ecCodes.
fn eccodes(file: &Path, short_name: &str, level: u32) -> Vec<(f64, f64, f64)> {
    let out = Command::new("grib_get_data")
        .args([
            "-F",
            "%.9g",
            "-w",
            &format!("shortName={short_name},level={level},typeOfLevel=isobaricInhPa"),
        ])
        .arg(file)
        .output()
        .expect(
            "grib_get_data (Debian libeccodes-tools) must be installed: scripts/test installs it",
        );
    assert!(out.status.success(), "grib_get_data failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (f[0], f[1], f[2])
        })
        .collect()
}

/// Every grid node of the cube at level `k`, variable `var` equals the
/// value ecCodes decodes at that latitude/longitude.
fn assert_nodes_match(cube: &Cube, k: usize, var: usize, oracle: &[(f64, f64, f64)]) {
    let g = cube.meta().grid;
    let mut matched = 0;
    for &(lat, lon, val) in oracle {
        let j = ((lat - g.lat0) / g.dlat).round();
        let i = ((lon - g.lon0) / g.dlon).round();
        if j < 0.0 || i < 0.0 || j as usize >= g.nlat || i as usize >= g.nlon {
            continue;
        }
        let (j, i) = (j as usize, i as usize);
        if (g.lat(j) - lat).abs() > 1e-3 || (g.lon(i) - lon).abs() > 1e-3 {
            continue;
        }
        let got = cube.node(0, k, j, i)[var] as f64;
        assert!(
            (got - val).abs() <= 1e-5 * val.abs().max(1.0),
            "level {k} var {var} at {lat} N {lon} E: cube {got}, ecCodes {val}"
        );
        matched += 1;
    }
    assert_eq!(matched, g.nlat * g.nlon, "every node compared once");
}

#[test]
fn gfs_2p5_import_equals_eccodes_at_every_node() {
    let (cube, report) = imp(&[data(GFS)], &opts(Some(Region::KOREA), false)).unwrap();
    let m = cube.meta();
    assert_eq!(m.levels_hpa.len(), 26);
    assert_eq!(m.levels_hpa[0], 1000.0);
    assert_eq!(*m.levels_hpa.last().unwrap(), 10.0);
    assert_eq!(
        m.grid,
        Grid {
            lat0: 30.0,
            dlat: 2.5,
            nlat: 7,
            lon0: 115.0,
            dlon: 2.5,
            nlon: 9
        }
    );
    // 2011-01-15 12Z valid, run 2011-01-10 12Z.
    assert_eq!(m.times, vec![1_295_092_800]);
    assert_eq!(m.run_time, 1_294_660_800);
    assert_eq!(m.source, "gfs.t12z.pgrbf120.2p5deg.grib2; centre 7 (NCEP)");
    assert!(m.height_source.iter().all(|h| *h == HeightSource::Data));
    // The 5 sub-messages with bit map 254 are skipped with a note.
    assert_eq!(report.skipped.len(), 5);
    assert!(report.skipped.iter().all(|s| s.note.contains("254")));
    assert_eq!(report.used, 26 * 3);
    for (k, level) in [(0, 1000), (5, 850), (12, 500), (16, 300), (25, 10)] {
        assert_eq!(m.levels_hpa[k], level as f64);
        assert_nodes_match(&cube, k, 0, &eccodes(&data(GFS), "gh", level));
        assert_nodes_match(&cube, k, 1, &eccodes(&data(GFS), "u", level));
        assert_nodes_match(&cube, k, 2, &eccodes(&data(GFS), "v", level));
    }
}

#[test]
fn single_time_cube_is_steady_and_says_so() {
    let (cube, report) = imp(&[data(GFS)], &opts(Some(Region::KOREA), false)).unwrap();
    assert!(cube.steady());
    assert!(report.notes.iter().any(|n| n.contains("held steady")));
    let t = cube.meta().times[0] as f64;
    let a = cube.wind(t, 37.5, 127.0, 5000.0).unwrap();
    let b = cube.wind(t + 86_400.0 * 3.0, 37.5, 127.0, 5000.0).unwrap();
    assert_eq!(a, b);
    let multi = synth::uniform(&Spec::korea(0, 6), 1.0, 2.0).unwrap();
    assert!(!multi.steady());
}

#[test]
fn jma_without_heights_is_refused_naming_the_levels() {
    let e = imp(&[data(JMA)], &opts(Some(Region::KOREA), false))
        .unwrap_err()
        .to_string();
    // Korea reaches 117 E, JMA MEPS starts at 120 E.
    assert!(e.contains("117..134 E is not inside"), "{e}");
    let region = Some(Region {
        lat0: 31.0,
        lat1: 45.0,
        lon0: 120.0,
        lon1: 134.0,
    });
    let e = imp(&[data(JMA)], &opts(region, false))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing HGT (geopotential height) at 975, 950, 925, 850 hPa"),
        "{e}"
    );
    assert!(e.contains("--std-atmosphere"), "{e}");
}

#[test]
fn jma_with_standard_atmosphere_heights_imports_and_says_so() {
    let region = Some(Region {
        lat0: 31.0,
        lat1: 45.0,
        lon0: 120.0,
        lon1: 134.0,
    });
    let (cube, report) = imp(&[data(JMA)], &opts(region, true)).unwrap();
    let m = cube.meta();
    assert_eq!(m.levels_hpa, vec![975.0, 950.0, 925.0, 850.0, 300.0]);
    assert_eq!(m.std_atmosphere_levels(), vec![975.0, 950.0, 925.0, 850.0]);
    assert_eq!(m.height_source[4], HeightSource::Data);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("standard atmosphere"))
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("HGT at 500 hPa has no winds"))
    );
    assert!(m.source.contains("centre 34 (JMA)"));
    assert_eq!(m.grid.dlat, 0.1);
    assert!((m.grid.dlon - 0.125).abs() < 1e-12);
    // Heights at 850 hPa are the standard atmosphere's everywhere.
    let h850 = isa::height_of_pressure(850.0).unwrap() as f32;
    assert_eq!(cube.node(0, 3, 5, 5)[0], h850);
    for (k, level) in [(0, 975), (3, 850), (4, 300)] {
        assert_nodes_match(&cube, k, 1, &eccodes(&data(JMA), "u", level));
        assert_nodes_match(&cube, k, 2, &eccodes(&data(JMA), "v", level));
    }
    assert_nodes_match(&cube, 4, 0, &eccodes(&data(JMA), "gh", 300));
    // Written and reopened, the flag survives.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("jma.cube");
    cube.write(&p).unwrap();
    let back = Cube::open(&p).unwrap();
    assert_eq!(back.meta(), cube.meta());
}

/// Sections of one GRIB2 message: (offset, number).
fn sections(msg: &[u8]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut pos = 16;
    while pos + 4 < msg.len() {
        let len = u32::from_be_bytes(msg[pos..pos + 4].try_into().unwrap()) as usize;
        out.push((pos, msg[pos + 4]));
        pos += len;
    }
    out
}

/// The real GDAS 0.25° message relabelled as `category/number` on
/// isobaric level `pa`, with `add` added to its reference value.
fn relabel(gdas: &[u8], category: u8, number: u8, pa: u32, add: f32) -> Vec<u8> {
    let mut m = gdas.to_vec();
    let secs = sections(&m);
    let s4 = secs.iter().find(|s| s.1 == 4).unwrap().0;
    let s5 = secs.iter().find(|s| s.1 == 5).unwrap().0;
    m[s4 + 9] = category;
    m[s4 + 10] = number;
    m[s4 + 22] = 100;
    m[s4 + 23] = 0;
    m[s4 + 24..s4 + 28].copy_from_slice(&pa.to_be_bytes());
    m[s4 + 28] = 255;
    let r = f32::from_be_bytes(m[s5 + 11..s5 + 15].try_into().unwrap()) + add;
    m[s5 + 11..s5 + 15].copy_from_slice(&r.to_be_bytes());
    m
}

#[test]
fn gdas_0p25_grid_loads_and_equals_eccodes() {
    // The GDAS file itself has no winds: a clear refusal.
    let e = imp(&[data(GDAS)], &opts(None, false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no HGT, UGRD or VGRD on isobaric levels"), "{e}");
    // Its 0.25° field relabelled as HGT/UGRD/VGRD at 900 and 800 hPa (the
    // 800 hPa heights shifted up by 200 km so heights increase).
    let g = std::fs::read(data(GDAS)).unwrap();
    let mut file = Vec::new();
    for (pa, add) in [(90_000, 0.0), (80_000, 200.0)] {
        file.extend(relabel(&g, 3, 5, pa, add));
        file.extend(relabel(&g, 2, 2, pa, 0.0));
        file.extend(relabel(&g, 2, 3, pa, 0.0));
    }
    let (cube, _) = import_bytes(
        &[("gdas-relabelled.grib2".into(), &file)],
        &opts(Some(Region::KOREA), false),
        &mut |_, _| {},
    )
    .unwrap();
    let m = cube.meta();
    assert_eq!((m.grid.nlat, m.grid.nlon), (57, 69));
    assert_eq!((m.grid.lat0, m.grid.lon0, m.grid.dlat), (31.0, 117.0, 0.25));
    // The original field, decoded by ecCodes.
    let out = Command::new("grib_get_data")
        .args(["-F", "%.9g"])
        .arg(data(GDAS))
        .output()
        .expect("grib_get_data");
    let oracle: Vec<(f64, f64, f64)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (f[0], f[1], f[2])
        })
        .collect();
    assert_eq!(oracle.len(), 1440 * 721);
    assert_nodes_match(&cube, 0, 0, &oracle);
    assert_nodes_match(&cube, 0, 1, &oracle);
    assert_nodes_match(&cube, 1, 2, &oracle);
    let shifted: Vec<_> = oracle
        .iter()
        .map(|&(a, b, v)| (a, b, v + 200_000.0))
        .collect();
    assert_nodes_match(&cube, 1, 0, &shifted);
}

/// Offsets of the messages in a GRIB2 file, from their length fields.
fn message_offsets(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        out.push(pos);
        pos += u64::from_be_bytes(b[pos + 8..pos + 16].try_into().unwrap()) as usize;
    }
    out
}

#[test]
fn corrupt_grib_errors_name_message_and_offset() {
    let b = std::fs::read(data(GFS)).unwrap();
    let offs = message_offsets(&b);
    assert_eq!(offs.len(), 307);
    let run = |bytes: &[u8]| {
        import_bytes(
            &[("x/gfs.grib2".into(), bytes)],
            &ImportOptions::default(),
            &mut |_, _| {},
        )
        .unwrap_err()
        .to_string()
    };
    // Truncated inside message 10.
    let e = run(&b[..offs[9] + 100]);
    assert!(
        e.starts_with(&format!(
            "x/gfs.grib2: GRIB message 10 at byte {}:",
            offs[9]
        )),
        "{e}"
    );
    assert!(e.contains("truncated"), "{e}");
    // Garbage where message 3 starts.
    let mut c = b.clone();
    c[offs[2]] = b'X';
    let e = run(&c);
    assert!(
        e.starts_with(&format!("x/gfs.grib2: GRIB message 3 at byte {}:", offs[2])),
        "{e}"
    );
    // A broken section length inside message 5.
    let mut c = b.clone();
    let s = sections(&b[offs[4]..offs[5]]);
    let s3 = offs[4] + s.iter().find(|s| s.1 == 3).unwrap().0;
    c[s3..s3 + 4].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    let e = run(&c);
    assert!(
        e.starts_with(&format!("x/gfs.grib2: GRIB message 5 at byte {}:", offs[4])),
        "{e}"
    );
    // An empty file.
    assert!(run(&[]).contains("message 1 at byte 0: empty file"));
}

#[test]
fn mixed_grids_duplicated_times_and_bad_regions_are_refused() {
    let all = opts(None, true);
    let e = imp(&[data(GFS), data(JMA)], &all).unwrap_err().to_string();
    assert!(e.starts_with("mixed grids:"), "{e}");
    assert!(e.contains("message 1 (sub-message 1, byte 0)"), "{e}");
    let e = imp(&[data(GFS), data(GFS)], &all).unwrap_err().to_string();
    assert!(
        e.starts_with("duplicated: HGT at 10 hPa valid 2011-01-15 12:00 UTC"),
        "{e}"
    );
    assert!("350,10,0,10".parse::<Region>().is_err());
    let e = "30,40,350,10".parse::<Region>().unwrap_err();
    assert!(e.contains("crossing 0°/360°"), "{e}");
    // A region crossing the grid's 0° edge.
    let r = "30,40,-10,10".parse::<Region>().unwrap();
    let e = imp(&[data(GFS)], &opts(Some(r), false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not supported"), "{e}");
    // The western hemisphere given as negative longitudes is found at +360.
    let r = "30,40,-100,-90".parse::<Region>().unwrap();
    let (c, _) = imp(&[data(GFS)], &opts(Some(r), false)).unwrap();
    assert_eq!(c.meta().grid.lon0, 260.0);
    assert!(
        c.wind(c.meta().times[0] as f64, 35.0, -95.0, 3000.0)
            .is_ok()
    );
    // Synthetic: duplicated valid times.
    let mut s = Spec::korea(0, 6);
    s.times = vec![0, 3600, 3600];
    let e = synth::uniform(&s, 1.0, 0.0).unwrap_err().to_string();
    assert!(
        e.contains("duplicated valid time 1970-01-01 01:00 UTC"),
        "{e}"
    );
}

#[test]
fn standard_atmosphere_matches_the_icao_table() {
    // ICAO standard atmosphere (Doc 7488) geopotential heights.
    for (hpa, m) in [
        (1013.25, 0.0),
        (1000.0, 110.9),
        (850.0, 1457.3),
        (700.0, 3012.0),
        (500.0, 5574.4),
        (300.0, 9164.2),
        (200.0, 11_784.1),
        (100.0, 16_180.3),
        (50.0, 20_576.0),
        (10.0, 31_054.6),
    ] {
        let h = isa::height_of_pressure(hpa).unwrap();
        assert!((h - m).abs() < 2.0, "{hpa} hPa: {h} m, table {m} m");
        let p = isa::pressure_of_height(h).unwrap();
        assert!((p - hpa).abs() < 1e-6 * hpa, "round trip {hpa}: {p}");
    }
    assert!(isa::height_of_pressure(0.5).is_none());
}

fn small_spec() -> Spec {
    Spec {
        lat0: 33.0,
        lat1: 41.0,
        dlat: 1.0,
        lon0: 120.0,
        lon1: 131.0,
        dlon: 0.5,
        levels_hpa: vec![1000.0, 850.0, 700.0, 500.0, 300.0, 200.0, 100.0],
        times: vec![1_700_000_000, 1_700_010_800, 1_700_021_600, 1_700_043_200],
    }
}

#[test]
fn out_of_data_is_an_error_in_every_dimension() {
    let c = synth::uniform(&small_spec(), 3.0, -1.0).unwrap();
    let t = 1_700_005_000.0;
    assert_eq!(
        c.wind(t, 37.0, 125.0, 3000.0).unwrap(),
        Wind { u: 3.0, v: -1.0 }
    );
    assert!(matches!(
        c.wind(1_699_999_999.0, 37.0, 125.0, 3000.0),
        Err(OutOfData::Time { .. })
    ));
    assert!(matches!(
        c.wind(1_700_043_201.0, 37.0, 125.0, 3000.0),
        Err(OutOfData::Time { .. })
    ));
    // The last time and the edges are inside.
    assert!(c.wind(1_700_043_200.0, 41.0, 131.0, 3000.0).is_ok());
    assert!(c.wind(1_700_000_000.0, 33.0, 120.0, 3000.0).is_ok());
    for (lat, lon) in [
        (32.99, 125.0),
        (41.01, 125.0),
        (37.0, 119.99),
        (37.0, 131.01),
        (f64::NAN, 125.0),
    ] {
        assert!(
            matches!(c.wind(t, lat, lon, 3000.0), Err(OutOfData::Region { .. })),
            "{lat} {lon}"
        );
    }
    let top = isa::height_of_pressure(100.0).unwrap();
    match c.wind(t, 37.0, 125.0, top + 1.0) {
        Err(OutOfData::Above { top: got, .. }) => assert!((got - top).abs() < 0.01),
        other => panic!("{other:?}"),
    }
    assert!(c.wind(t, 37.0, 125.0, top - 1.0).is_ok());
    // Below the lowest level: the lowest level's wind, held.
    let s = synth::shear(&small_spec(), 1.0, 0.0, 0.01, 0.0).unwrap();
    let h0 = isa::height_of_pressure(1000.0).unwrap();
    let w = s.wind(t, 37.0, 125.0, 0.0).unwrap();
    assert!((w.u - (1.0 + 0.01 * h0)).abs() < 1e-3, "{w:?}");
}

#[test]
fn analytic_fields_are_reproduced_exactly() {
    let spec = small_spec();
    let t = 1_700_030_000.0;
    let sh = synth::shear(&spec, 2.0, -1.0, 0.002, 0.001).unwrap();
    for alt in [200.0, 1457.0, 2000.0, 5000.0, 9000.0, 15_000.0] {
        let w = sh.wind(t, 36.3, 127.7, alt).unwrap();
        assert!((w.u - (2.0 + 0.002 * alt)).abs() < 1e-4, "{alt}: {w:?}");
        assert!((w.v - (-1.0 + 0.001 * alt)).abs() < 1e-4, "{alt}: {w:?}");
    }
    let (lat_c, lon_c, om) = (37.0, 125.5, 1e-5);
    let rot = synth::rotation(&spec, lat_c, lon_c, om).unwrap();
    let k = std::f64::consts::PI / 180.0 * synth::EARTH_RADIUS;
    for (lat, lon) in [(37.0, 125.5), (38.25, 124.1), (34.0, 130.9)] {
        let w = rot.wind(t, lat, lon, 4000.0).unwrap();
        let x = k * lat_c.to_radians().cos() * (lon - lon_c);
        let y = k * (lat - lat_c);
        assert!(
            (w.u + om * y).abs() < 1e-4 && (w.v - om * x).abs() < 1e-4,
            "{w:?}"
        );
    }
}

#[test]
fn cube_round_trips_and_corruption_is_refused() {
    let c = synth::linear(
        &small_spec(),
        Linear {
            t_ref: 1_700_000_000,
            u: [1.0, 1e-4, 0.1, -0.2, 0.001],
            v: [-2.0, -1e-4, 0.3, 0.05, 0.0005],
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.cube");
    let n = c.write(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(n as usize, bytes.len());
    assert_eq!(bytes, c.to_bytes());
    let o = Cube::open(&p).unwrap();
    assert_eq!(o.meta(), c.meta());
    assert_eq!(o.values(), c.values());
    let q = (1_700_012_345.0, 36.7, 126.1, 4321.0);
    assert_eq!(o.wind(q.0, q.1, q.2, q.3), c.wind(q.0, q.1, q.2, q.3));
    let refuse = |b: &[u8]| {
        std::fs::write(&p, b).unwrap();
        Cube::open(&p).unwrap_err().to_string()
    };
    let name = p.display().to_string();
    // A flipped payload bit.
    let mut b = bytes.clone();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    let e = refuse(&b);
    assert!(
        e.starts_with(&name) && e.contains("checksum mismatch"),
        "{e}"
    );
    assert!(
        e.contains(&format!("(at byte {})", bytes.len() - 32)),
        "{e}"
    );
    // Truncated.
    let e = refuse(&bytes[..bytes.len() - 1000]);
    assert!(
        e.contains("truncated") && e.contains(&format!("at byte {}", bytes.len() - 1000)),
        "{e}"
    );
    let e = refuse(&bytes[..40]);
    assert!(e.contains("truncated"), "{e}");
    // Not a cube; another version.
    let e = refuse(b"GRIB\0\0\0\x02 not a cube at all, just some bytes to fill the header..........................");
    assert!(e.contains("bad magic") && e.contains("(at byte 0)"), "{e}");
    let mut b = bytes.clone();
    b[8] = 2;
    let e = refuse(&b);
    assert!(e.contains("version 2") && e.contains("(at byte 8)"), "{e}");
    // A header change with a recomputed checksum is still checked.
    let mut b = bytes.clone();
    b[32..40].copy_from_slice(&(-1.0f64).to_le_bytes());
    let body = b.len() - 32;
    let h = blake3::hash(&b[..body]);
    b[body..].copy_from_slice(h.as_bytes());
    let e = refuse(&b);
    assert!(e.contains("spacings must be finite and positive"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A field affine in time, latitude, longitude and height, on levels
    /// whose heights vary (affinely) in time, latitude and longitude, is
    /// interpolated exactly anywhere inside (up to f32 storage).
    #[test]
    fn interpolation_of_a_linear_field_is_exact_inside(
        c in prop::array::uniform5(-1.0f64..1.0),
        d in prop::array::uniform5(-1.0f64..1.0),
        hs in prop::array::uniform3(-1.0f64..1.0),
        ft in 0.0f64..1.0, flat in 0.0f64..1.0, flon in 0.0f64..1.0, fh in 0.0f64..1.0,
    ) {
        let spec = small_spec();
        let t0 = spec.times[0];
        let lin = Linear {
            t_ref: t0,
            u: [c[0] * 10.0, c[1] * 1e-4, c[2], c[3], c[4] * 1e-3],
            v: [d[0] * 10.0, d[1] * 1e-4, d[2], d[3], d[4] * 1e-3],
        };
        // Heights: standard atmosphere tilted by up to ±100 m per degree/3 h.
        let height = move |t: f64, lat: f64, lon: f64, hpa: f64| {
            isa::height_of_pressure(hpa).unwrap()
                + hs[0] * 100.0 * (t - t0 as f64) / 10_800.0
                + hs[1] * 100.0 * (lat - 37.0)
                + hs[2] * 100.0 * (lon - 125.0)
        };
        let cube = synth::from_fn_with_heights(&spec, "test", height, move |t, la, lo, h| lin.at(t, la, lo, h)).unwrap();
        let t = t0 as f64 + ft * (spec.times[3] - t0) as f64;
        let lat = 33.0 + flat * 8.0;
        let lon = 120.0 + flon * 11.0;
        // An altitude between the lowest and top level's heights there.
        let lo_h = height(t, lat, lon, 1000.0);
        let hi_h = height(t, lat, lon, 100.0);
        let alt = lo_h + fh * (hi_h - lo_h);
        let w = cube.wind(t, lat, lon, alt).unwrap();
        let (u, v) = lin.at(t, lat, lon, alt);
        prop_assert!((w.u - u).abs() < 2e-3 * (1.0 + u.abs()), "u {} expected {}", w.u, u);
        prop_assert!((w.v - v).abs() < 2e-3 * (1.0 + v.abs()), "v {} expected {}", w.v, v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// `wind_near` answers exactly as `wind` (bit for bit, errors too),
    /// whatever the hint holds: a walk of nearby points, jumps across
    /// cells, levels and times, points above and below the data, and a hint
    /// last used on another cube (a smaller grid whose cells line up).
    #[test]
    fn a_hint_never_changes_the_answer(
        steps in prop::collection::vec(
            (0.0f64..1.0, -0.2f64..1.2, -0.1f64..1.1, -0.1f64..1.1, 0.0f64..1.0),
            1..60,
        ),
        tilt in prop::array::uniform3(-1.0f64..1.0),
        steady in any::<bool>(),
    ) {
        let mut spec = small_spec();
        if steady {
            spec.times.truncate(1);
        }
        let t0 = spec.times[0] as f64;
        let t_end = *spec.times.last().unwrap() as f64;
        let height = move |t: f64, lat: f64, lon: f64, hpa: f64| {
            isa::height_of_pressure(hpa).unwrap()
                + tilt[0] * 300.0 * (t - t0) / 10_800.0
                + tilt[1] * 200.0 * (lat - 37.0)
                + tilt[2] * 200.0 * (lon - 125.0)
        };
        let wind = |t: f64, lat: f64, lon: f64, h: f64| {
            ((lat * 3.1 + h * 1e-3 + t * 1e-5).sin() * 20.0, (lon * 2.3 - h * 7e-4).cos() * 15.0)
        };
        let cube = synth::from_fn_with_heights(&spec, "a", height, wind).unwrap();
        // Another cube, on a smaller grid: the hint's row and column can
        // be past its last interval.
        let mut small = spec.clone();
        (small.lat1, small.lon1) = (35.0, 122.0);
        let other = synth::from_fn_with_heights(&small, "b", height, |t, la, lo, h| {
            let (u, v) = wind(t, la, lo, h);
            (v + 1.0, u - 1.0)
        })
        .unwrap();
        let mut hint = Hint::default();
        for (i, &(ft, fh, flat, flon, jump)) in steps.iter().enumerate() {
            let t = t0 + ft * (t_end - t0);
            let lat = 33.0 + flat * 8.0;
            let lon = 120.0 + flon * 11.0;
            // Heights from below the lowest level to above the top one.
            let alt = -500.0 + fh * 17_000.0;
            if jump < 0.2 {
                // The other cube uses (and fills) the same hint, and answers
                // as it would without it.
                let lat_s = 33.0 + flat * 2.0;
                let lon_s = 120.0 + flon * 2.0;
                let a = other.wind(t, lat_s, lon_s, alt);
                let b = other.wind_near(t, lat_s, lon_s, alt, &mut hint);
                prop_assert_eq!(a, b);
            }
            let fresh = cube.wind(t, lat, lon, alt);
            let near = cube.wind_near(t, lat, lon, alt, &mut hint);
            match (&fresh, &near) {
                (Ok(a), Ok(b)) => prop_assert!(
                    a.u.to_bits() == b.u.to_bits() && a.v.to_bits() == b.v.to_bits(),
                    "step {i}: {a:?} != {b:?}"
                ),
                _ => prop_assert_eq!(&fresh, &near, "step {}", i),
            }
        }
    }
}
