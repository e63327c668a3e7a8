//! The HTML report: self-contained (no URL of any kind), well-formed, the
//! same bytes for the same input, and it shows the numbers and notices.

use baram_flight::ensemble::{self, EnsembleSpec};
use baram_flight::geo::Area;
use baram_flight::model::{Ascent, Descent, FlightSpec, Float, FloatKind, Launch, Release};
use baram_flight::report::{self, ReportInput};
use baram_flight::wind::{OutOfData, Wind, WindField};
use baram_flight::windows::{self, WindowsSpec};
use std::io::Write;
use std::process::{Command, Stdio};

const T0: f64 = 1_740_000_000.0;

struct North {
    steady: bool,
}

impl WindField for North {
    fn wind(&self, t: f64, lat: f64, lon: f64, _alt: f64) -> Result<Wind, OutOfData> {
        let (from, to) = (T0 - 3600.0, T0 + 86_400.0);
        if !(from..=to).contains(&t) {
            return Err(OutOfData::Time { t, from, to });
        }
        if !(30.0..=45.0).contains(&lat) || !(115.0..=135.0).contains(&lon) {
            return Err(OutOfData::Region { lat, lon });
        }
        Ok(Wind { u: 1.0, v: 11.0 })
    }
    fn steady(&self) -> bool {
        self.steady
    }
}

fn spec() -> EnsembleSpec {
    let mut base = FlightSpec::new(
        Launch {
            lat_deg: 37.5665,
            lon_deg: 126.978,
            time_unix_s: T0,
            alt_m: 20.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 3.0,
            burst_altitude_m: 20_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    base.float = Some(Float {
        altitude_m: 5_000.0,
        kind: FloatKind::ZeroPressure,
    });
    base.release = Release::Timer {
        minutes_after_launch: 150.0,
    };
    let mut s = EnsembleSpec::new(base, 200, 31);
    s.sample_tracks = 10;
    s
}

fn page(steady: bool, with_windows: bool) -> (String, ensemble::EnsembleResult) {
    let field = North { steady };
    let s = spec();
    let r = ensemble::run(&s, &field, 2).unwrap();
    let w = with_windows.then(|| {
        let mut ws = WindowsSpec::new(s, T0, T0 + 2.0 * 3600.0);
        ws.ensemble.members = 30;
        windows::plan(&ws, &field, 2).unwrap()
    });
    let html = report::html(&ReportInput {
        title: "Test <report> & 시험",
        spec: &s,
        result: &r,
        wind_source: "analytic field",
        target: Area::Prk,
        windows: w.as_ref(),
    });
    (html, r)
}

fn python(script: &str, input: &str) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the report tests");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_report_is_self_contained_and_deterministic() {
    let (a, _) = page(false, true);
    let (b, _) = page(false, true);
    assert_eq!(a, b);
    let lower = a.to_ascii_lowercase();
    for bad in [
        "http://", "https://", "//", "<script", "src=", "href=", "url(", "@import",
    ] {
        assert!(!lower.contains(bad), "the report contains {bad:?}");
    }
    assert!(a.starts_with("<!DOCTYPE html>"));
    assert!(a.contains("<meta charset=\"utf-8\">"));
    // The title is escaped.
    assert!(a.contains("Test &lt;report&gt; &amp; 시험"));
}

#[test]
fn the_svg_is_well_formed_xml_and_the_page_parses() {
    let (html, r) = page(false, false);
    let start = html.find("<svg").unwrap();
    let end = html.find("</svg>").unwrap() + "</svg>".len();
    let svg = &html[start..end];
    let counts = python(
        "import sys, xml.dom.minidom as m\nd = m.parseString(sys.stdin.read())\nprint(len(d.getElementsByTagName('path')), len(d.getElementsByTagName('rect')), len(d.getElementsByTagName('text')))",
        svg,
    );
    let n: Vec<usize> = counts
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    // Two countries or more, coast, DMZ, MDL, tracks, nominal, site;
    // background, density cells, scale;
    // labels.
    assert!(n[0] >= 7 + r.tracks.len(), "{counts}");
    assert!(n[1] > r.density.cells.len(), "{counts}");
    assert!(n[2] >= 4, "{counts}");
    // The whole page through html.parser: every opened tag closed.
    let out = python(
        "import sys\nfrom html.parser import HTMLParser\nvoid = {'meta','br','img','input','hr','link'}\nclass P(HTMLParser):\n    def __init__(s):\n        super().__init__(); s.stack=[]; s.bad=[]\n    def handle_starttag(s, t, a):\n        if t not in void: s.stack.append(t)\n    def handle_startendtag(s, t, a): pass\n    def handle_endtag(s, t):\n        if not s.stack or s.stack.pop() != t: s.bad.append(t)\np = P(); p.feed(sys.stdin.read()); p.close()\nprint('ok' if not p.bad and not p.stack else ('bad', p.bad, p.stack))",
        &html,
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn the_report_shows_the_numbers_and_the_notices() {
    let (html, r) = page(true, true);
    // Every area's count and probability, in the table, with Korean names.
    for a in &r.areas {
        let cell = format!(
            "<td>{} {}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1} %</td>",
            a.name_ko,
            a.name_en,
            a.area,
            a.count,
            100.0 * a.probability
        );
        assert!(html.contains(&cell), "missing {cell}");
    }
    assert!(r.probability(Area::Prk) > 0.9);
    for ko in ["북한", "대한민국", "착지 확률", "발사 지점", "군사분계선"] {
        assert!(html.contains(ko), "missing {ko}");
    }
    assert!(html.contains("winds held steady (single forecast time)"));
    assert!(html.contains("ground at sea level (no elevation model)"));
    // Every input.
    for s in [
        "37.5665 N 126.9780 E, 20 m above sea level",
        "2025-02-19T21:20:00.000Z",
        "constant rate 3.00 m/s, burst at 20000 m",
        "zero-pressure float at 5000 m",
        "timer, 150.0 min after launch",
        "one payload, 5.00 m/s at sea level",
        "200 members, seed 31",
        "ascent rate 10.0 %, burst altitude 1000 m, float altitude 300 m, timer 5.0 min, descent rate 10.0 %",
        "σ = min(1.50 + 0.047 × lead hours, 8.0) m/s per component",
        "analytic field",
        "RK4, step 30 s",
    ] {
        assert!(html.contains(s), "missing input {s:?}");
    }
    // The windows table.
    assert!(html.contains("발사 시간대 Launch windows"));
    assert!(html.contains("2025-02-19T23:20:00.000Z"));
    // Not steady: the notice is absent.
    let (moving, _) = page(false, false);
    assert!(!moving.contains("winds held steady"));
    assert!(moving.contains("winds vary with time"));
}

#[test]
fn a_site_near_the_mdl_is_warned_about_in_the_report() {
    let field = North { steady: false };
    let mut s = spec();
    s.base.launch.lat_deg = 37.8894;
    s.base.launch.lon_deg = 126.7403;
    let r = ensemble::run(&s, &field, 1).unwrap();
    let html = report::html(&ReportInput {
        title: "t",
        spec: &s,
        result: &r,
        wind_source: "analytic field",
        target: Area::Prk,
        windows: None,
    });
    assert!(html.contains("class=\"warn\""));
    assert!(html.contains("19 September 2018"));
}
