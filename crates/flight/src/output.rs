//! Writing predictions: GeoJSON, KML (Google Earth) and CSV, and ISO 8601
//! times.
//!
//! Output is deterministic: the same trajectory gives the same bytes on
//! every machine. Numbers have fixed decimals (latitude and longitude 6,
//! about 0.1 m; altitude 2; seconds 3; descent rates 4), times are UTC ISO
//! 8601 with milliseconds, and negative zero is written as zero. Every format
//! says whether the winds were held steady and what the ground is (sea
//! level: no elevation model).
//!
//! The area a landing lies in comes from an [`AreaLookup`] (the geography in
//! [`crate::geo`] will provide one); without one the area is written as
//! unknown (`null` in GeoJSON).

use crate::model::{Event, Fall, Point, Trajectory};
use std::fmt::Write as _;

/// Names the area a point lies in (a country, the sea, ...).
pub trait AreaLookup {
    fn area(&self, lat_deg: f64, lon_deg: f64) -> Option<String>;
}

/// A time as UTC ISO 8601 with milliseconds, `2025-03-01T12:00:00.000Z`.
/// Times that are not finite or are beyond ±100,000 years are written as a
/// plain number of seconds.
pub fn iso8601(t_unix_s: f64) -> String {
    if !t_unix_s.is_finite() || t_unix_s.abs() > 3.0e12 {
        return format!("{t_unix_s} s since the Unix epoch");
    }
    let ms = (t_unix_s * 1000.0).round() as i64;
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01 (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A time that is not ISO 8601 as [`parse_iso8601`] reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not an ISO 8601 time like 2025-03-01T12:00Z or 2025-03-01T21:00:00+09:00: {problem}"
)]
pub struct TimeError {
    pub input: String,
    pub problem: &'static str,
}

/// Reads `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM` (an
/// offset is required: a time without one is ambiguous) as seconds since
/// the Unix epoch.
pub fn parse_iso8601(input: &str) -> Result<f64, TimeError> {
    let err = |problem| TimeError {
        input: input.to_string(),
        problem,
    };
    let s = input.trim();
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, TimeError> {
        let part = b
            .get(from..from + len)
            .ok_or_else(|| err("it is too short"))?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(err("a date or time field is not digits"));
        }
        Ok(part.iter().fold(0, |a, &c| a * 10 + i64::from(c - b'0')))
    };
    let sep = |at: usize, want: &[u8]| -> Result<(), TimeError> {
        match b.get(at) {
            Some(c) if want.contains(c) => Ok(()),
            _ => Err(err("a separator is missing or wrong")),
        }
    };
    let year = num(0, 4)?;
    sep(4, b"-")?;
    let month = num(5, 2)?;
    sep(7, b"-")?;
    let day = num(8, 2)?;
    sep(10, b"Tt ")?;
    let hour = num(11, 2)?;
    sep(13, b":")?;
    let minute = num(14, 2)?;
    let mut i = 16;
    let mut second = 0.0;
    if b.get(i) == Some(&b':') {
        second = num(i + 1, 2)? as f64;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut j = start;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == start || j - start > 9 {
                return Err(err("the fraction of a second has no digits or too many"));
            }
            let frac = num(start, j - start)?;
            second += frac as f64 / 10f64.powi((j - start) as i32);
            i = j;
        }
    }
    let offset_s = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) if i + 6 == b.len() => {
            let oh = num(i + 1, 2)?;
            sep(i + 3, b":")?;
            let om = num(i + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err(err("the offset is out of range"));
            }
            let o = oh * 3600 + om * 60;
            if c == b'-' { -o } else { o }
        }
        None => return Err(err("a time zone (Z or +HH:MM) is required")),
        _ => return Err(err("the time zone must be Z or +HH:MM")),
    };
    let month_len = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err(err("the month is out of range")),
    };
    if day < 1 || day > month_len {
        return Err(err("the day is out of range"));
    }
    if hour > 23 || minute > 59 || second >= 60.0 {
        return Err(err("the time of day is out of range"));
    }
    let days = days_from_civil(year, month, day);
    Ok((days * 86_400 + hour * 3600 + minute * 60 - offset_s) as f64 + second)
}

/// `x` with `decimals` decimals; never "-0.00".
fn fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.starts_with('-') && s[1..].bytes().all(|c| c == b'0' || c == b'.') {
        s[1..].to_string()
    } else {
        s
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn coord(p: &Point) -> String {
    format!(
        "[{},{},{}]",
        fixed(p.lon_deg, 6),
        fixed(p.lat_deg, 6),
        fixed(p.alt_m, 2)
    )
}

fn opt_json(s: Option<String>) -> String {
    s.map_or_else(|| "null".to_string(), |s| json_str(&s))
}

/// Whether the trajectory's falls are leaflets (more than one, or a spread).
fn is_cloud(traj: &Trajectory) -> bool {
    traj.falls().len() > 1
}

/// The payload's whole track (balloon then fall) when there is one payload.
fn payload_track(traj: &Trajectory) -> Vec<Point> {
    let mut pts: Vec<Point> = traj.balloon().to_vec();
    if let Some(f) = traj.falls().first() {
        let skip = usize::from(
            pts.last()
                .is_some_and(|l| f.points().first().is_some_and(|p| p.t_unix_s == l.t_unix_s)),
        );
        pts.extend_from_slice(&f.points()[skip.min(f.points().len())..]);
    }
    pts
}

fn point_feature(p: &Point, extra: &str) -> String {
    format!(
        "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":{}}},\"properties\":{{\"time\":{},\"altitude_m\":{},\"phase\":{},\"event\":{}{extra}}}}}",
        coord(p),
        json_str(&iso8601(p.t_unix_s)),
        fixed(p.alt_m, 2),
        json_str(p.phase.name()),
        p.event
            .map_or_else(|| "null".to_string(), |e| json_str(e.name())),
    )
}

fn line_feature(points: &[Point], props: &str) -> String {
    let coords: Vec<String> = points.iter().map(coord).collect();
    format!(
        "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"LineString\",\"coordinates\":[{}]}},\"properties\":{{{props}}}}}",
        coords.join(",")
    )
}

/// The prediction as a GeoJSON FeatureCollection (RFC 7946, coordinates
/// `[lon, lat, alt_m]`): a LineString of the flight (for a leaflet cloud:
/// one for the balloon and one per leaflet), a Point for every balloon and
/// payload point with its time and altitude (for a cloud: the balloon's
/// points and each leaflet's landing), and the collection's properties: the
/// landing, its area, `winds_held_steady` and `ground`.
pub fn geojson(traj: &Trajectory, areas: Option<&dyn AreaLookup>) -> String {
    let area_of = |p: &Point| areas.and_then(|a| a.area(p.lat_deg, p.lon_deg));
    let common = format!(
        "\"winds_held_steady\":{},\"ground\":{}",
        traj.winds_steady(),
        json_str(traj.ground().describe())
    );
    let mut features = Vec::new();
    let landing = traj.landing();
    if is_cloud(traj) {
        features.push(line_feature(
            traj.balloon(),
            &format!("\"name\":\"balloon\",{common}"),
        ));
        for p in traj.balloon() {
            features.push(point_feature(p, ",\"object\":\"balloon\""));
        }
        for (i, f) in traj.falls().iter().enumerate() {
            features.push(line_feature(
                f.points(),
                &format!(
                    "\"name\":\"leaflet {i}\",\"sea_level_descent_rate_m_s\":{},{common}",
                    fixed(f.sea_level_rate_m_s(), 4)
                ),
            ));
            features.push(point_feature(
                f.landing(),
                &format!(
                    ",\"object\":\"leaflet {i}\",\"area\":{}",
                    opt_json(area_of(f.landing()))
                ),
            ));
        }
    } else {
        let track = payload_track(traj);
        features.push(line_feature(
            &track,
            &format!("\"name\":\"flight\",{common}"),
        ));
        for p in &track {
            let extra = if p.event == Some(Event::Landing) {
                format!(",\"object\":\"payload\",\"area\":{}", opt_json(area_of(p)))
            } else {
                ",\"object\":\"payload\"".to_string()
            };
            features.push(point_feature(p, &extra));
        }
    }
    format!(
        "{{\"type\":\"FeatureCollection\",\"properties\":{{\"landing\":{{\"time\":{},\"lat\":{},\"lon\":{},\"area\":{}}},\"leaflets\":{},{common}}},\"features\":[\n{}\n]}}\n",
        json_str(&iso8601(landing.t_unix_s)),
        fixed(landing.lat_deg, 6),
        fixed(landing.lon_deg, 6),
        opt_json(area_of(landing)),
        if is_cloud(traj) {
            traj.falls().len()
        } else {
            0
        },
        features.join(",\n")
    )
}

fn kml_coords(points: &[Point]) -> String {
    let mut s = String::new();
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(
            s,
            "{},{},{}",
            fixed(p.lon_deg, 6),
            fixed(p.lat_deg, 6),
            fixed(p.alt_m, 2)
        );
    }
    s
}

fn kml_line(name: &str, points: &[Point]) -> String {
    format!(
        "<Placemark><name>{}</name><styleUrl>#track</styleUrl><LineString><altitudeMode>absolute</altitudeMode><coordinates>{}</coordinates></LineString></Placemark>\n",
        xml_escape(name),
        kml_coords(points)
    )
}

fn kml_mark(name: &str, p: &Point, description: &str) -> String {
    format!(
        "<Placemark><name>{}</name><description>{}</description><TimeStamp><when>{}</when></TimeStamp><Point><altitudeMode>absolute</altitudeMode><coordinates>{}</coordinates></Point></Placemark>\n",
        xml_escape(name),
        xml_escape(description),
        iso8601(p.t_unix_s),
        kml_coords(std::slice::from_ref(p))
    )
}

/// The prediction as KML 2.2 for Google Earth: the track as a LineString
/// with altitudeMode absolute (for a cloud: the balloon and each leaflet),
/// and placemarks for launch, burst, float, release and landing(s).
pub fn kml(traj: &Trajectory, areas: Option<&dyn AreaLookup>) -> String {
    let area_of = |p: &Point| {
        areas
            .and_then(|a| a.area(p.lat_deg, p.lon_deg))
            .unwrap_or_else(|| "unknown".to_string())
    };
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n<name>baram flight prediction</name>\n",
    );
    let _ = writeln!(
        s,
        "<description>{}</description>",
        xml_escape(&format!(
            "Winds held steady: {}. Ground: {}.",
            if traj.winds_steady() { "yes" } else { "no" },
            traj.ground().describe()
        ))
    );
    s.push_str("<Style id=\"track\"><LineStyle><color>ff0000ff</color><width>2</width></LineStyle></Style>\n");
    let cloud = is_cloud(traj);
    if cloud {
        s.push_str(&kml_line("balloon", traj.balloon()));
    } else {
        s.push_str(&kml_line("flight", &payload_track(traj)));
    }
    for p in traj.balloon() {
        if let Some(e) = p.event {
            let description = format!("{} at {} m", e.name(), fixed(p.alt_m, 2));
            s.push_str(&kml_mark(e.name(), p, &description));
        }
    }
    let mark_landing = |s: &mut String, name: &str, f: &Fall| {
        let p = f.landing();
        let description = format!(
            "landing at {} m, area {}; sea-level descent rate {} m/s",
            fixed(p.alt_m, 2),
            area_of(p),
            fixed(f.sea_level_rate_m_s(), 4)
        );
        s.push_str(&kml_mark(name, p, &description));
    };
    for (i, f) in traj.falls().iter().enumerate() {
        if cloud {
            s.push_str(&kml_line(&format!("leaflet {i}"), f.points()));
            mark_landing(&mut s, &format!("landing leaflet {i}"), f);
        } else if f.points().len() > 1 {
            mark_landing(&mut s, "landing", f);
        }
    }
    s.push_str("</Document>\n</kml>\n");
    s
}

/// The prediction as CSV with a header line: `t_iso,t_s,lat,lon,alt_m,phase,event,object`,
/// `t_s` in seconds since launch. One row per balloon point, then one per
/// point of each fall (which starts at the release point), so the row count
/// is 1 + balloon points + the points of all falls.
pub fn csv(traj: &Trajectory) -> String {
    let t0 = traj.balloon().first().map_or(0.0, |p| p.t_unix_s);
    let mut s = String::from("t_iso,t_s,lat,lon,alt_m,phase,event,object\n");
    let mut row = |p: &Point, object: &str| {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{object}",
            iso8601(p.t_unix_s),
            fixed(p.t_unix_s - t0, 3),
            fixed(p.lat_deg, 6),
            fixed(p.lon_deg, 6),
            fixed(p.alt_m, 2),
            p.phase.name(),
            p.event.map_or("", |e| e.name()),
        );
    };
    for p in traj.balloon() {
        row(p, "balloon");
    }
    let cloud = is_cloud(traj);
    for (i, f) in traj.falls().iter().enumerate() {
        let object = if cloud {
            format!("leaflet {i}")
        } else {
            "payload".to_string()
        };
        for p in f.points() {
            row(p, &object);
        }
    }
    s
}
