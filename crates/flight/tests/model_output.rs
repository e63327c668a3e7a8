//! GeoJSON, KML and CSV output: structure, well-formedness, determinism.

use baram_flight::model::{self, Ascent, Descent, FlightSpec, Launch, LeafletCloud, Trajectory};
use baram_flight::output::{self, AreaLookup};
use baram_flight::wind::{OutOfData, Wind, WindField};
use serde_json::Value;

const T0: f64 = 1_740_000_000.0; // 2025-02-19T21:20:00Z

struct Field;

impl WindField for Field {
    fn wind(&self, _t: f64, _lat: f64, _lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        Ok(Wind {
            u: 5.0 + 0.001 * alt,
            v: -1.0,
        })
    }
}

struct Sea;

impl AreaLookup for Sea {
    fn area(&self, _lat: f64, _lon: f64) -> Option<String> {
        Some("sea <&> \"east\"".to_string())
    }
}

fn spec() -> FlightSpec {
    FlightSpec::new(
        Launch {
            lat_deg: 37.75,
            lon_deg: 126.5,
            time_unix_s: T0,
            alt_m: 12.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 5.0,
            burst_altitude_m: 15_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 6.0,
        },
    )
}

fn payload() -> Trajectory {
    model::predict(&spec(), &Field).unwrap()
}

fn leaflets() -> Trajectory {
    let mut s = spec();
    s.descent = Descent::Leaflets(LeafletCloud {
        count: 4,
        sea_level_rate_m_s: 1.5,
        spread_m_s: 0.3,
        seed: 5,
    });
    model::predict(&s, &Field).unwrap()
}

#[test]
fn iso8601_formats_and_parses() {
    assert_eq!(output::iso8601(T0), "2025-02-19T21:20:00.000Z");
    assert_eq!(output::iso8601(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(output::iso8601(951_782_400.25), "2000-02-29T00:00:00.250Z");
    assert_eq!(output::iso8601(-1.0), "1969-12-31T23:59:59.000Z");
    assert!(output::iso8601(f64::NAN).contains("NaN"));
    assert_eq!(output::parse_iso8601("2025-02-19T21:20:00Z").unwrap(), T0);
    assert_eq!(output::parse_iso8601("2025-02-19T21:20Z").unwrap(), T0);
    assert_eq!(
        output::parse_iso8601("2025-02-20T06:20:00+09:00").unwrap(),
        T0
    );
    assert_eq!(
        output::parse_iso8601("2025-02-19T21:20:00.5Z").unwrap(),
        T0 + 0.5
    );
    for bad in [
        "2025-02-19T21:20:00",
        "2025-02-30T00:00Z",
        "2025-13-01T00:00Z",
        "25-02-19T21:20Z",
        "",
        "2025-02-19T24:00Z",
        "2025-02-19T21:20:00+9",
    ] {
        assert!(output::parse_iso8601(bad).is_err(), "{bad}");
    }
}

#[test]
fn geojson_has_the_right_structure() {
    let traj = payload();
    let text = output::geojson(&traj, None);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "FeatureCollection");
    assert_eq!(v["properties"]["winds_held_steady"], false);
    assert_eq!(v["properties"]["ground"], "sea level (no elevation model)");
    assert_eq!(v["properties"]["landing"]["area"], Value::Null);
    let features = v["features"].as_array().unwrap();
    let line = &features[0];
    assert_eq!(line["geometry"]["type"], "LineString");
    assert_eq!(line["properties"]["winds_held_steady"], false);
    let coords = line["geometry"]["coordinates"].as_array().unwrap();
    let n = traj.balloon().len() + traj.falls()[0].points().len() - 1;
    assert_eq!(coords.len(), n);
    assert_eq!(features.len(), 1 + n);
    // [lon, lat, alt]
    assert_eq!(coords[0][0].as_f64().unwrap(), 126.5);
    assert_eq!(coords[0][1].as_f64().unwrap(), 37.75);
    assert_eq!(coords[0][2].as_f64().unwrap(), 12.0);
    assert_eq!(coords[n - 1][2].as_f64().unwrap(), 0.0);
    for f in &features[1..] {
        assert_eq!(f["geometry"]["type"], "Point");
        assert!(f["properties"]["time"].as_str().unwrap().ends_with('Z'));
        assert!(f["properties"]["altitude_m"].is_number());
    }
    assert_eq!(features[1]["properties"]["event"], "launch");
    assert_eq!(
        features[1]["properties"]["time"],
        "2025-02-19T21:20:00.000Z"
    );
    let last = &features[n]["properties"];
    assert_eq!(last["event"], "landing");
    assert_eq!(last["area"], Value::Null);
    assert!(features.iter().any(|f| f["properties"]["event"] == "burst"));

    let with_area: Value = serde_json::from_str(&output::geojson(&traj, Some(&Sea))).unwrap();
    assert_eq!(
        with_area["properties"]["landing"]["area"],
        "sea <&> \"east\""
    );
}

#[test]
fn geojson_of_a_leaflet_cloud() {
    let traj = leaflets();
    let v: Value = serde_json::from_str(&output::geojson(&traj, Some(&Sea))).unwrap();
    assert_eq!(v["properties"]["leaflets"], 4);
    let features = v["features"].as_array().unwrap();
    let lines = features
        .iter()
        .filter(|f| f["geometry"]["type"] == "LineString")
        .count();
    assert_eq!(lines, 1 + 4);
    let landings = features
        .iter()
        .filter(|f| f["properties"]["event"] == "landing")
        .count();
    assert_eq!(landings, 4);
}

fn well_formed_xml(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.kml");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import xml.dom.minidom,sys; d=xml.dom.minidom.parse(sys.argv[1]); print(len(d.getElementsByTagName('Placemark')), d.getElementsByTagName('altitudeMode')[0].firstChild.data)")
        .arg(&path)
        .output()
        .expect("python3 (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.trim().ends_with("absolute"), "{said}");
}

#[test]
fn kml_is_well_formed() {
    let traj = payload();
    let text = output::kml(&traj, Some(&Sea));
    well_formed_xml(&text);
    for name in [
        "<name>launch</name>",
        "<name>burst</name>",
        "<name>landing</name>",
        "<altitudeMode>absolute</altitudeMode>",
        "sea level (no elevation model)",
        "sea &lt;&amp;&gt; &quot;east&quot;",
    ] {
        assert!(text.contains(name), "{name}");
    }
    well_formed_xml(&output::kml(&leaflets(), None));
}

#[test]
fn csv_has_one_row_per_point() {
    let traj = payload();
    let text = output::csv(&traj);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "t_iso,t_s,lat,lon,alt_m,phase,event,object");
    assert_eq!(
        rows.len(),
        1 + traj.balloon().len() + traj.falls()[0].points().len()
    );
    assert_eq!(
        rows[1],
        "2025-02-19T21:20:00.000Z,0.000,37.750000,126.500000,12.00,ascent,launch,balloon"
    );
    assert!(
        rows.last()
            .unwrap()
            .ends_with(",0.00,descent,landing,payload")
    );
    for r in &rows[1..] {
        assert_eq!(r.split(',').count(), 8);
    }
    let cloud = leaflets();
    let rows = output::csv(&cloud).lines().count();
    assert_eq!(
        rows,
        1 + cloud.balloon().len()
            + cloud
                .falls()
                .iter()
                .map(|f| f.points().len())
                .sum::<usize>()
    );
}

#[test]
fn output_is_deterministic() {
    let (a, b) = (payload(), payload());
    assert_eq!(output::geojson(&a, None), output::geojson(&b, None));
    assert_eq!(output::kml(&a, None), output::kml(&b, None));
    assert_eq!(output::csv(&a), output::csv(&b));
    assert!(!output::csv(&a).contains("-0.00,"));
}
