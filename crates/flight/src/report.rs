//! The HTML report: one self-contained file for an operator.
//!
//! [`html`] writes a single HTML5 page with inline CSS, no script and no
//! reference to anything outside it (no URL at all: it opens offline from a
//! USB stick): an SVG map, the landing probabilities, the safety checks,
//! the launch windows if there are any, and every input used. Text is in
//! Korean and English. The output depends only on the input: no date of
//! writing, no machine, no path.
//!
//! The map is an equirectangular projection scaled by cos(φ₀) at the
//! view's middle latitude (distances are right to within a few percent
//! over the Korea region). It draws the country areas and coastline of
//! [`geo`] (Natural Earth 1:10m, de-facto boundaries), the MDL and the
//! schematic DMZ limits, the airports with the radius of the airport
//! check, the landing density grid shaded by count, sample member tracks,
//! the unperturbed track and the launch site.

use crate::ensemble::{EnsembleResult, EnsembleSpec};
use crate::geo::{self, Area, LonLat};
use crate::model::{Ascent, Descent, FloatKind, Release};
use crate::output::iso8601;
use crate::windows::{self, WindowsResult};
use std::fmt::Write as _;

/// Everything the report shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// A title, e.g. the operation's code name (never a person's name).
    pub title: &'a str,
    pub spec: &'a EnsembleSpec,
    pub result: &'a EnsembleResult,
    /// Where the winds came from, e.g. "GFS 0.25°, run 2025-03-01T00Z".
    pub wind_source: &'a str,
    /// The area the load should reach.
    pub target: Area,
    /// The launch-window search, when the report is for one.
    pub windows: Option<&'a WindowsResult>,
}

/// Largest map width and height in pixels.
const MAX_W: f64 = 720.0;
const MAX_H: f64 = 760.0;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(p: f64) -> String {
    format!("{:.1} %", 100.0 * p)
}

fn num(x: f64, d: usize) -> String {
    let s = format!("{x:.d$}");
    if s.starts_with('-') && s[1..].bytes().all(|c| c == b'0' || c == b'.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// The view: lon/lat bounds and the projection.
struct View {
    lon0: f64,
    lat1: f64,
    k: f64,
    s: f64,
    w: f64,
    h: f64,
    lon_min: f64,
    lon_max: f64,
    lat_min: f64,
    lat_max: f64,
}

impl View {
    fn fit(r: &EnsembleResult, site: (f64, f64)) -> View {
        let (mut lon_min, mut lon_max, mut lat_min, mut lat_max) =
            (site.1 - 0.6, site.1 + 0.6, site.0 - 0.5, site.0 + 0.5);
        let mut take = |lat: f64, lon: f64| {
            if lat.is_finite() && lon.is_finite() {
                lon_min = lon_min.min(lon);
                lon_max = lon_max.max(lon);
                lat_min = lat_min.min(lat);
                lat_max = lat_max.max(lat);
            }
        };
        for l in &r.landings {
            take(l.lat_deg, l.lon_deg);
        }
        for t in r.tracks.iter().chain(r.nominal.as_ref().ok()) {
            for p in &t.points {
                take(p[0], p[1]);
            }
        }
        let (bx0, bx1, by0, by1) = geo::DATA_BOX;
        let lon_min = (lon_min - 0.3).max(bx0);
        let lon_max = (lon_max + 0.3).min(bx1);
        let lat_min = (lat_min - 0.3).max(by0);
        let lat_max = (lat_max + 0.3).min(by1);
        let k = ((lat_min + lat_max) / 2.0).to_radians().cos();
        let s = (MAX_W / ((lon_max - lon_min) * k)).min(MAX_H / (lat_max - lat_min));
        View {
            lon0: lon_min,
            lat1: lat_max,
            k,
            s,
            w: (lon_max - lon_min) * k * s,
            h: (lat_max - lat_min) * s,
            lon_min,
            lon_max,
            lat_min,
            lat_max,
        }
    }
    fn x(&self, lon: f64) -> f64 {
        (lon - self.lon0) * self.k * self.s
    }
    fn y(&self, lat: f64) -> f64 {
        (self.lat1 - lat) * self.s
    }
    fn inside(&self, lat: f64, lon: f64) -> bool {
        lat >= self.lat_min && lat <= self.lat_max && lon >= self.lon_min && lon <= self.lon_max
    }
    /// Whether a line's bounding box meets the view (with a margin).
    fn meets(&self, line: &[LonLat]) -> bool {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in line {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        x1 >= self.lon_min - 0.5
            && x0 <= self.lon_max + 0.5
            && y1 >= self.lat_min - 0.5
            && y0 <= self.lat_max + 0.5
    }
    /// SVG path data of a line (lon, lat), thinned to points 0.8 px apart.
    fn path(&self, line: &[LonLat], close: bool) -> String {
        let mut d = String::new();
        let mut last: Option<(f64, f64)> = None;
        for (i, &(lon, lat)) in line.iter().enumerate() {
            let (x, y) = (self.x(lon), self.y(lat));
            let end = i + 1 == line.len();
            if let Some((lx, ly)) = last
                && (x - lx).hypot(y - ly) < 0.8
                && !end
            {
                continue;
            }
            let _ = write!(
                d,
                "{}{} {}",
                if last.is_none() { "M" } else { "L" },
                num(x, 1),
                num(y, 1)
            );
            last = Some((x, y));
        }
        if close {
            d.push('Z');
        }
        d
    }
}

fn country_fill(a: Area) -> &'static str {
    match a {
        Area::Prk => "#f3d9a4",
        Area::Kor => "#cfe3c1",
        Area::Chn => "#e3dccf",
        Area::Rus => "#dcd6e6",
        Area::Jpn => "#e6d3d3",
        Area::Sea | Area::Outside => "#d6e8f5",
    }
}

/// Label points for the countries (lat, lon).
fn label_at(a: Area) -> &'static [(f64, f64)] {
    match a {
        Area::Prk => &[(40.0, 126.9), (39.0, 126.9), (38.55, 127.3), (38.45, 126.2)],
        Area::Kor => &[(36.4, 128.0), (37.15, 127.6), (37.35, 128.6)],
        Area::Chn => &[(41.6, 123.2), (40.6, 122.5)],
        Area::Rus => &[(43.6, 132.3)],
        Area::Jpn => &[(34.3, 132.6)],
        Area::Sea | Area::Outside => &[],
    }
}

fn map(input: &ReportInput) -> String {
    let r = input.result;
    let l = input.spec.base.launch;
    let v = View::fit(r, (l.lat_deg, l.lon_deg));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"map\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"Map of the predicted landings\">",
        num(v.w, 0),
        num(v.h, 0)
    );
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
        num(v.w, 0),
        num(v.h, 0),
        country_fill(Area::Sea)
    );
    // Countries.
    for a in Area::COUNTRIES {
        let mut d = String::new();
        for ring in geo::country_rings(a) {
            if v.meets(ring) {
                d.push_str(&v.path(ring, true));
            }
        }
        if !d.is_empty() {
            let _ = writeln!(
                s,
                "<path class=\"land\" d=\"{d}\" fill=\"{}\" stroke=\"#8a8a8a\" stroke-width=\"0.6\"/>",
                country_fill(a)
            );
        }
    }
    // Coastline.
    let mut d = String::new();
    for line in geo::coastline() {
        if v.meets(line) {
            d.push_str(&v.path(line, false));
        }
    }
    let _ = writeln!(
        s,
        "<path class=\"coast\" d=\"{d}\" fill=\"none\" stroke=\"#4a6f8a\" stroke-width=\"0.8\"/>"
    );
    // Graticule.
    let _ = writeln!(
        s,
        "<g class=\"grid\" stroke=\"#7a8a99\" stroke-width=\"0.4\" stroke-dasharray=\"2 4\" fill=\"#44525e\" font-size=\"11\">"
    );
    let mut lon = v.lon_min.ceil();
    while lon <= v.lon_max {
        let x = v.x(lon);
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{1}\"/><text x=\"{2}\" y=\"{3}\" stroke=\"none\">{4}°E</text>",
            num(x, 1),
            num(v.h, 0),
            num(x + 2.0, 1),
            num(v.h - 4.0, 0),
            lon
        );
        lon += 1.0;
    }
    let mut lat = v.lat_min.ceil();
    while lat <= v.lat_max {
        let y = v.y(lat);
        let _ = writeln!(
            s,
            "<line x1=\"0\" y1=\"{0}\" x2=\"{3}\" y2=\"{0}\"/><text x=\"3\" y=\"{1}\" stroke=\"none\">{2}°N</text>",
            num(y, 1),
            num(y - 3.0, 1),
            lat,
            num(v.w, 0)
        );
        lat += 1.0;
    }
    s.push_str("</g>\n");
    // Density.
    let g = &r.density;
    if g.max_count > 0 {
        let _ = writeln!(s, "<g class=\"density\" fill=\"#b4002d\">");
        for c in &g.cells {
            let x0 = v.x(c.lon_deg);
            let x1 = v.x(c.lon_deg + g.cell_deg);
            let y0 = v.y(c.lat_deg + g.cell_deg);
            let y1 = v.y(c.lat_deg);
            let o = 0.15 + 0.75 * (f64::from(c.count) / f64::from(g.max_count)).sqrt();
            let _ = writeln!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill-opacity=\"{}\"><title>{} landings</title></rect>",
                num(x0, 1),
                num(y0, 1),
                num((x1 - x0).max(0.5), 1),
                num((y1 - y0).max(0.5), 1),
                num(o, 2),
                c.count
            );
        }
        s.push_str("</g>\n");
    }
    // DMZ and MDL.
    let mut d = String::new();
    for line in geo::dmz_lines() {
        d.push_str(&v.path(line, false));
    }
    let _ = writeln!(
        s,
        "<path class=\"dmz\" d=\"{d}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>"
    );
    let mut d = String::new();
    for line in geo::mdl() {
        d.push_str(&v.path(line, false));
    }
    let _ = writeln!(
        s,
        "<path class=\"mdl\" d=\"{d}\" fill=\"none\" stroke=\"#d10000\" stroke-width=\"2\"/>"
    );
    // Tracks.
    let _ = writeln!(
        s,
        "<g class=\"tracks\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"0.8\" stroke-opacity=\"0.35\">"
    );
    for t in &r.tracks {
        let line: Vec<LonLat> = t.points.iter().map(|p| (p[1], p[0])).collect();
        let _ = writeln!(s, "<path d=\"{}\"/>", v.path(&line, false));
    }
    s.push_str("</g>\n");
    if let Ok(t) = &r.nominal {
        let line: Vec<LonLat> = t.points.iter().map(|p| (p[1], p[0])).collect();
        let _ = writeln!(
            s,
            "<path class=\"nominal\" d=\"{}\" fill=\"none\" stroke=\"#111\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>",
            v.path(&line, false)
        );
    }
    // Airports.
    let radius_px = input.spec.airport_radius_m / 111_195.0 * v.s;
    let _ = writeln!(s, "<g class=\"airports\" font-size=\"11\">");
    for a in geo::airports() {
        if !v.inside(a.lat, a.lon) {
            continue;
        }
        let (x, y) = (v.x(a.lon), v.y(a.lat));
        let code = a.iata.as_deref().or(a.icao.as_deref()).unwrap_or("");
        let _ = writeln!(
            s,
            "<circle cx=\"{0}\" cy=\"{1}\" r=\"{2}\" fill=\"#ff9900\" fill-opacity=\"0.12\" stroke=\"#e07000\" stroke-width=\"1\" stroke-dasharray=\"3 2\"/><circle cx=\"{0}\" cy=\"{1}\" r=\"2.5\" fill=\"#e07000\"/><text x=\"{3}\" y=\"{4}\" fill=\"#8a4500\">✈ {5}</text>",
            num(x, 1),
            num(y, 1),
            num(radius_px, 1),
            num(x + 4.0, 1),
            num(y - 4.0, 1),
            esc(code)
        );
    }
    s.push_str("</g>\n");
    // Country labels.
    let _ = writeln!(
        s,
        "<g class=\"labels\" font-size=\"15\" font-weight=\"bold\" fill=\"#333\" text-anchor=\"middle\">"
    );
    for a in Area::COUNTRIES {
        if let Some(&(lat, lon)) = label_at(a)
            .iter()
            .find(|&&(lat, lon)| v.inside(lat - 0.1, lon) && v.inside(lat + 0.1, lon))
        {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\">{} <tspan font-size=\"11\" font-weight=\"normal\">{}</tspan></text>",
                num(v.x(lon), 1),
                num(v.y(lat), 1),
                a.name_ko(),
                esc(a.name_en())
            );
        }
    }
    s.push_str("</g>\n");
    // Launch site.
    let (x, y) = (v.x(l.lon_deg), v.y(l.lat_deg));
    let _ = writeln!(
        s,
        "<g class=\"site\"><path d=\"M{} {}L{} {}L{} {}Z\" fill=\"#ffd400\" stroke=\"#000\" stroke-width=\"1.2\"/><text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"bold\" fill=\"#000\">발사 지점 Launch</text></g>",
        num(x, 1),
        num(y - 9.0, 1),
        num(x + 8.0, 1),
        num(y + 6.0, 1),
        num(x - 8.0, 1),
        num(y + 6.0, 1),
        num(x + 11.0, 1),
        num(y + 5.0, 1)
    );
    // Scale bar: 50 km.
    let px50 = 50_000.0 / 111_195.0 * v.s;
    let (sx, sy) = (v.w - px50 - 20.0, v.h - 24.0);
    let _ = writeln!(
        s,
        "<g class=\"scale\" font-size=\"11\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"5\" fill=\"#222\"/><text x=\"{}\" y=\"{}\" fill=\"#222\">50 km</text></g>",
        num(sx, 1),
        num(sy, 1),
        num(px50, 1),
        num(sx, 1),
        num(sy - 4.0, 1)
    );
    s.push_str("</svg>\n");
    s
}

fn row(s: &mut String, key: &str, value: &str) {
    let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", key, esc(value));
}

fn inputs(input: &ReportInput) -> String {
    let e = input.spec;
    let b = &e.base;
    let l = b.launch;
    let mut s = String::from("<table class=\"inputs\">\n");
    row(
        &mut s,
        "발사 지점 Launch site",
        &format!(
            "{} N {} E, {} m above sea level",
            num(l.lat_deg, 4),
            num(l.lon_deg, 4),
            num(l.alt_m, 0)
        ),
    );
    row(
        &mut s,
        "발사 시각 Launch time",
        &format!("{} (UTC)", iso8601(l.time_unix_s)),
    );
    let ascent = match b.ascent {
        Ascent::ConstantRate {
            rate_m_s,
            burst_altitude_m,
        } => format!(
            "constant rate {} m/s, burst at {} m",
            num(rate_m_s, 2),
            num(burst_altitude_m, 0)
        ),
        Ascent::Balloon(bl) => format!(
            "balloon physics: {:?}, envelope {} kg, payload {} kg, free lift {} kg, burst diameter {} m, drag coefficient {}",
            bl.gas,
            num(bl.balloon_mass_kg, 3),
            num(bl.payload_mass_kg, 3),
            num(bl.free_lift_kg, 3),
            num(bl.burst_diameter_m, 2),
            num(bl.drag_coefficient, 2)
        ),
    };
    row(&mut s, "상승 Ascent", &ascent);
    let float = match b.float {
        None => "none (the balloon rises until it bursts)".to_string(),
        Some(f) => match f.kind {
            FloatKind::ZeroPressure => {
                format!("zero-pressure float at {} m", num(f.altitude_m, 0))
            }
            FloatKind::SuperPressure {
                leak_percent_per_hour,
            } => format!(
                "super-pressure float at {} m, leaking {} % of lift per hour",
                num(f.altitude_m, 0),
                num(leak_percent_per_hour, 2)
            ),
        },
    };
    row(&mut s, "부유 Float", &float);
    let release = match b.release {
        Release::AtBurst => "at burst".to_string(),
        Release::Timer {
            minutes_after_launch,
        } => format!("timer, {} min after launch", num(minutes_after_launch, 1)),
        Release::Altitude { altitude_m } => {
            format!("at {} m on the way up", num(altitude_m, 0))
        }
    };
    row(&mut s, "투하 Release", &release);
    let descent = match b.descent {
        Descent::Payload { sea_level_rate_m_s } => format!(
            "one payload, {} m/s at sea level (Tawhiri drag descent)",
            num(sea_level_rate_m_s, 2)
        ),
        Descent::Leaflets(c) => format!(
            "leaflets, {} ± {} m/s at sea level (uniform); each member follows one leaflet",
            num(c.sea_level_rate_m_s, 2),
            num(c.spread_m_s, 2)
        ),
    };
    row(&mut s, "하강 Descent", &descent);
    row(
        &mut s,
        "계산 Integration",
        &format!(
            "RK4, step {} s, flights longer than {} h are failures",
            num(b.step_s, 0),
            num(b.max_duration_s / 3600.0, 1)
        ),
    );
    row(
        &mut s,
        "앙상블 Ensemble",
        &format!("{} members, seed {}", e.members, e.seed),
    );
    let sp = e.spreads;
    row(
        &mut s,
        "편차 Spreads (σ)",
        &format!(
            "ascent rate {} %, burst altitude {} m, float altitude {} m, timer {} min, descent rate {} %",
            num(100.0 * sp.ascent_rel, 1),
            num(sp.burst_altitude_m, 0),
            num(sp.float_altitude_m, 0),
            num(sp.timer_minutes, 1),
            num(100.0 * sp.descent_rel, 1)
        ),
    );
    let w = e.wind_error;
    row(
        &mut s,
        "바람 오차 Wind error",
        &format!(
            "σ = min({} + {} × lead hours, {}) m/s per component; correlation {} km, {} h, {} m vertically; {} Fourier modes per member (non-divergent); lead time from {}",
            num(w.sigma0_m_s, 2),
            num(w.growth_m_s_per_h, 3),
            num(w.max_m_s, 1),
            num(w.correlation_length_km, 0),
            num(w.correlation_time_h, 1),
            num(w.vertical_length_m, 0),
            w.modes,
            w.forecast_run_unix_s.map_or_else(
                || "the launch (forecast run time not given)".to_string(),
                |t| format!("the forecast run {}", iso8601(t))
            )
        ),
    );
    row(&mut s, "바람 자료 Wind data", input.wind_source);
    row(
        &mut s,
        "바람 시간 Wind time",
        if input.result.winds_held_steady {
            "winds held steady (single forecast time)"
        } else {
            "winds vary with time (interpolated between forecast times)"
        },
    );
    row(
        &mut s,
        "지면 Ground",
        &format!("ground at {}", input.result.ground),
    );
    row(
        &mut s,
        "공항 Airport check",
        &format!(
            "any point of the flight below {} m within {} km of an airport",
            num(e.airport_below_m, 0),
            num(e.airport_radius_m / 1000.0, 1)
        ),
    );
    row(
        &mut s,
        "격자 Density grid",
        &format!("{}° cells", num(e.density_cell_deg, 2)),
    );
    row(
        &mut s,
        "지리 Geography",
        "Natural Earth 1:10m (de-facto boundaries; MDL good to about ±1.5 km)",
    );
    s.push_str("</table>\n");
    s
}

fn probabilities(input: &ReportInput) -> String {
    let r = input.result;
    let mut s = String::from(
        "<table class=\"prob\">\n<tr><th>지역 Area</th><th>Code</th><th>착지 Landings</th><th>확률 Probability</th></tr>\n",
    );
    for a in &r.areas {
        let target = a.area == input.target.code();
        let _ = writeln!(
            s,
            "<tr{}><td>{} {}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if target { " class=\"target\"" } else { "" },
            a.name_ko,
            esc(a.name_en),
            a.area,
            a.count,
            pct(a.probability)
        );
    }
    let _ = writeln!(
        s,
        "<tr class=\"failed\"><td>실패 Failed (landing unknown)</td><td>-</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
        r.failed,
        pct(r.failed_probability)
    );
    let _ = writeln!(
        s,
        "<tr class=\"total\"><td>합계 Total</td><td></td><td class=\"n\">{}</td><td class=\"n\">100.0 %</td></tr>\n</table>",
        r.members
    );
    s
}

fn safety(input: &ReportInput) -> String {
    let r = input.result;
    let a = &r.airports;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<p><b>공항 Airports:</b> {} of {} members ({}) pass within {} km of an airport below {} m.</p>",
        a.members,
        r.members,
        pct(a.share),
        num(a.radius_m / 1000.0, 1),
        num(a.below_m, 0)
    );
    if !a.airports.is_empty() {
        s.push_str("<ul>\n");
        for x in &a.airports {
            let _ = writeln!(
                s,
                "<li>{} ({}): {} members</li>",
                esc(&x.name),
                esc(x.iata.as_deref().or(x.icao.as_deref()).unwrap_or("-")),
                x.count
            );
        }
        s.push_str("</ul>\n");
    }
    let i = &r.inland;
    let km = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |v| format!("{} km", num(v, 1)));
    let _ = writeln!(
        s,
        "<p><b>내륙 도달 Inland reach</b> (distance of landings in North Korea from the MDL): {} members; median {}, 90th percentile {}, farthest {}.</p>",
        i.members,
        km(i.median_km),
        km(i.p90_km),
        km(i.max_km)
    );
    s.push_str("<table class=\"beyond\"><tr>");
    for b in &i.beyond {
        let _ = write!(s, "<th>&gt; {} km</th>", num(b.km, 0));
    }
    s.push_str("</tr><tr>");
    for b in &i.beyond {
        let _ = write!(s, "<td class=\"n\">{} ({})</td>", b.count, pct(b.share));
    }
    s.push_str("</tr></table>\n");
    if r.failed > 0 {
        let _ = writeln!(
            s,
            "<p><b>실패 Failed members:</b> {} ({}).</p>\n<ul>",
            r.failed,
            pct(r.failed_probability)
        );
        for k in &r.failure_kinds {
            let _ = writeln!(s, "<li>{}: {}</li>", esc(k.kind), k.count);
        }
        s.push_str("</ul>\n<details><summary>Examples</summary><ul>\n");
        for f in &r.failures {
            let _ = writeln!(s, "<li>member {}: {}</li>", f.member, esc(&f.reason));
        }
        s.push_str("</ul></details>\n");
    }
    if let Err(e) = &r.nominal {
        let _ = writeln!(s, "<p><b>The unperturbed flight failed:</b> {}</p>", esc(e));
    }
    s
}

fn windows_table(w: &WindowsResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<p>Ranked by P({}); rejected when P({}) &gt; {}, when any member passes within {} km of an airport below {} m, or when more than {} of members fail. {} members per launch time, seed {}.</p>",
        w.target,
        w.own_side,
        pct(w.max_own_side),
        num(w.airport_radius_m / 1000.0, 1),
        num(w.airport_below_m, 0),
        pct(w.max_failed),
        w.members,
        w.seed
    );
    let _ = writeln!(
        s,
        "<table class=\"windows\">\n<tr><th>순위 Rank</th><th>발사 시각 Launch (UTC)</th><th>P({})</th><th>P({})</th><th>Failed</th><th>Airports</th><th>판정 Verdict</th></tr>",
        w.target, w.own_side
    );
    for c in &w.candidates {
        let verdict = if c.accepted {
            "accepted".to_string()
        } else {
            c.reasons.join("; ")
        };
        let _ = writeln!(
            s,
            "<tr class=\"{}\"><td class=\"n\">{}</td><td class=\"t\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            if c.accepted { "ok" } else { "rejected" },
            c.rank.map_or_else(|| "-".to_string(), |r| r.to_string()),
            esc(&c.launch_time),
            pct(c.p_target),
            pct(c.p_own_side),
            pct(c.p_failed),
            pct(c.airport_share),
            esc(&verdict)
        );
    }
    s.push_str("</table>\n");
    s
}

const CSS: &str = "body{font-family:'NanumGothic','Noto Sans CJK KR','Noto Sans KR','Malgun Gothic','Apple SD Gothic Neo',sans-serif;margin:16px;color:#111;background:#fff;max-width:1160px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:18px 0 6px;border-bottom:1px solid #ccc}
.notice{border:2px solid #c77700;background:#fff4e0;padding:6px 10px;margin:6px 0;font-weight:bold}
.warn{border:2px solid #c00;background:#ffecec;padding:6px 10px;margin:6px 0;font-weight:bold}
.top{display:flex;gap:16px;align-items:flex-start}
.map{border:1px solid #999;display:block}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.t{white-space:nowrap}
tr.target td{background:#ffe8b0;font-weight:bold}tr.failed td{color:#900}tr.total td{font-weight:bold}
tr.rejected td{color:#700;background:#fff5f5}tr.ok td{background:#f3fff0}
.legend{font-size:12px;margin:4px 0}.legend span{margin-right:14px;white-space:nowrap}
.sw{display:inline-block;width:14px;height:10px;vertical-align:middle;margin-right:4px;border:1px solid #777}
.inputs th{width:190px}";

/// The report as one self-contained HTML page (module documentation).
pub fn html(input: &ReportInput) -> String {
    let r = input.result;
    let l = input.spec.base.launch;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>",
        esc(input.title)
    );
    let _ = writeln!(
        s,
        "<h1>{}</h1>\n<p>풍선 비행 예측 Balloon flight prediction: launch {} UTC at {} N {} E; {} members.</p>",
        esc(input.title),
        esc(&iso8601(l.time_unix_s)),
        num(l.lat_deg, 4),
        num(l.lon_deg, 4),
        r.members
    );
    if let Some(w) = windows::mdl_warning(l.lat_deg, l.lon_deg) {
        let _ = writeln!(s, "<div class=\"warn\">⚠ {}</div>", esc(&w));
    }
    if let Some(w) = input.windows {
        for m in &w.warnings {
            if !m.contains("Demarcation") {
                let _ = writeln!(s, "<div class=\"warn\">⚠ {}</div>", esc(m));
            }
        }
    }
    if r.winds_held_steady {
        s.push_str("<div class=\"notice\">바람 고정: winds held steady (single forecast time). The forecast's change over the flight is not modelled.</div>\n");
    }
    s.push_str("<div class=\"notice\">지면 해수면: ground at sea level (no elevation model). Landings in mountains come down later and farther than shown.</div>\n");
    if r.airports.members > 0 {
        let _ = writeln!(
            s,
            "<div class=\"warn\">⚠ 공항 위험 Airport danger: {} of members pass within {} km of an airport below {} m.</div>",
            pct(r.airports.share),
            num(r.airports.radius_m / 1000.0, 1),
            num(r.airports.below_m, 0)
        );
    }
    s.push_str("<div class=\"top\">\n<div>\n");
    s.push_str(&map(input));
    s.push_str("<div class=\"legend\"><span><i class=\"sw\" style=\"background:#b4002d\"></i>착지 밀도 landing density</span><span><i class=\"sw\" style=\"background:#1f5fbf\"></i>member tracks</span><span><i class=\"sw\" style=\"background:#111\"></i>unperturbed track</span><span><i class=\"sw\" style=\"background:#d10000\"></i>MDL 군사분계선</span><span><i class=\"sw\" style=\"background:#fff\"></i>DMZ (dashed, schematic)</span><span><i class=\"sw\" style=\"background:#ff9900\"></i>airport check radius</span></div>\n");
    s.push_str("</div>\n<div>\n<h2>착지 확률 Landing probabilities</h2>\n");
    s.push_str(&probabilities(input));
    s.push_str("</div>\n</div>\n<h2>안전 Safety</h2>\n");
    s.push_str(&safety(input));
    if let Some(w) = input.windows {
        s.push_str("<h2>발사 시간대 Launch windows</h2>\n");
        s.push_str(&windows_table(w));
    }
    s.push_str("<h2>입력 Inputs</h2>\n");
    s.push_str(&inputs(input));
    s.push_str("<p class=\"legend\">The operator answers for local law; baram makes the risk visible. Probabilities come from a Monte Carlo ensemble with a modelled wind error, not from a calibrated ensemble forecast.</p>\n</body>\n</html>\n");
    s
}
