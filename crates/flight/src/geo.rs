//! Areas, borders and airports of the Korea region, embedded in the binary.
//!
//! # The data
//!
//! Everything here comes from Natural Earth 1:10m (public domain; the GeoJSON
//! conversion is CC0), copied into `crates/flight/data/geo/` (see its
//! README) and compiled into the binary with `include_str!`. Nothing is read
//! from disk or the network at run time. The data is parsed once, lazily, on
//! first use (a few milliseconds in release builds); [`warm_up`] does it up
//! front when a caller wants timings without that first cost.
//!
//! * Countries: one MultiPolygon each for [`Area::Prk`], [`Area::Kor`],
//!   [`Area::Chn`], [`Area::Rus`] and [`Area::Jpn`], clipped to the data box
//!   117–134 E, 31–45 N ([`DATA_BOX`]). Natural Earth draws **de-facto**
//!   boundaries: the land border between the Koreas is the Military
//!   Demarcation Line, and the Northwest Islands (Baengnyeong, Daecheong,
//!   Socheong, Yeonpyeong, Gyodong, ...) are South Korean. Very small islets
//!   were assigned to the nearest country when the polygons were built, so an
//!   answer that rests on a single islet deserves care. Everything inside the
//!   box that no country polygon covers is [`Area::Sea`] (lakes and rivers
//!   are land: the polygons have no holes for them).
//! * The coastline ([`coastline`]), the MDL ([`mdl`]) and the two limits of
//!   the DMZ ([`dmz_lines`]), at full 1:10m resolution (not simplified).
//! * 25 airports in the box ([`airports`]).
//!
//! At 1:10m a coastline vertex is typically a few hundred metres from the
//! next, so "exact" below means exact with respect to these polygons, not to
//! the ground: near a coast or a border, the true answer can differ from the
//! data's within roughly a kilometre.
//!
//! # Coordinates
//!
//! Functions take `(lat, lon)` in degrees (WGS 84, east and north positive).
//! Geometry accessors return points as [`LonLat`] tuples `(lon, lat)`, in the
//! GeoJSON order (x, y), ready for drawing.
//!
//! # Point in polygon
//!
//! [`area_at`] is an exact even-odd test over every ring of every country
//! (holes would be respected; this data has none), using Shewchuk's robust
//! orientation predicate (crate `robust`) so that no rounding can put a point
//! on the wrong side of an edge. A uniform grid of 0.05° cells makes it
//! fast: a cell that no edge touches has its answer precomputed; a cell that
//! edges cross keeps those edges and, per country, the parity of the edges to
//! its east as a function of latitude, so a lookup tests only the few edges
//! in its own cell. The grid gives bit-for-bit the same answers as
//! [`area_at_brute_force`], which tests every edge (the tests check this for
//! random points and for points 1e-9° from every vertex). A point exactly on
//! a shared border belongs to the first country in [`Area::COUNTRIES`] order
//! whose polygon claims it (half-open rule), the same in both.
//!
//! # Distances
//!
//! Great-circle (haversine) distances on a sphere of radius
//! [`EARTH_RADIUS_M`] = 6,371,008.8 m (the IUGG mean Earth radius). Against
//! the WGS 84 ellipsoid this errs by up to about 0.5% (the tests compare with
//! Vincenty's formula); that is far below the uncertainty of any balloon
//! trajectory.

use std::sync::OnceLock;

use serde::Deserialize;

/// A point as `(lon, lat)` in degrees: GeoJSON order, x then y.
pub type LonLat = (f64, f64);

/// The region the data covers: `(lon_min, lon_max, lat_min, lat_max)` in
/// degrees, bounds included. Outside it [`area_at`] answers
/// [`Area::Outside`].
pub const DATA_BOX: (f64, f64, f64, f64) = (117.0, 134.0, 31.0, 45.0);

/// Mean Earth radius (IUGG), in metres, used by every distance here.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Where a point lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// North Korea (DPRK).
    Prk,
    /// South Korea (ROK), with the Northwest Islands.
    Kor,
    /// China.
    Chn,
    /// Russia.
    Rus,
    /// Japan.
    Jpn,
    /// Inside the data box and on no country's land: sea (or a gap in the
    /// data at islet scale).
    Sea,
    /// Outside the data box [`DATA_BOX`], or not a real coordinate (NaN,
    /// infinite). Ensembles count these as "beyond the map": the area there
    /// is unknown, not sea.
    Outside,
}

impl Area {
    /// The five countries of the data, in the order that breaks ties on a
    /// shared border.
    pub const COUNTRIES: [Area; 5] = [Area::Prk, Area::Kor, Area::Chn, Area::Rus, Area::Jpn];

    /// Every area, countries first.
    pub const ALL: [Area; 7] = [
        Area::Prk,
        Area::Kor,
        Area::Chn,
        Area::Rus,
        Area::Jpn,
        Area::Sea,
        Area::Outside,
    ];

    /// A stable three-letter code: ISO 3166-1 alpha-3 for countries, "SEA",
    /// "OUT".
    pub fn code(self) -> &'static str {
        match self {
            Area::Prk => "PRK",
            Area::Kor => "KOR",
            Area::Chn => "CHN",
            Area::Rus => "RUS",
            Area::Jpn => "JPN",
            Area::Sea => "SEA",
            Area::Outside => "OUT",
        }
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Area::Prk => "North Korea",
            Area::Kor => "South Korea",
            Area::Chn => "China",
            Area::Rus => "Russia",
            Area::Jpn => "Japan",
            Area::Sea => "Sea",
            Area::Outside => "Outside the map",
        }
    }

    /// Korean name (as used in the South).
    pub fn name_ko(self) -> &'static str {
        match self {
            Area::Prk => "북한",
            Area::Kor => "대한민국",
            Area::Chn => "중국",
            Area::Rus => "러시아",
            Area::Jpn => "일본",
            Area::Sea => "바다",
            Area::Outside => "지도 밖",
        }
    }

    /// The area for a code from [`Area::code`].
    pub fn from_code(code: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.code() == code)
    }

    fn country_index(self) -> Option<usize> {
        Area::COUNTRIES.iter().position(|&a| a == self)
    }
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

// ---------------------------------------------------------------------------
// Embedded data and its parsing.

const COUNTRIES_JSON: &str = include_str!("../data/geo/korea_region_ne10m_countries.geojson");
const COASTLINE_JSON: &str = include_str!("../data/geo/korea_region_ne10m_coastline.geojson");
const MDL_JSON: &str = include_str!("../data/geo/korea_dmz_mdl_lines_ne10m.geojson");
const AIRPORTS_JSON: &str = include_str!("../data/geo/korea_region_ne10m_airports.geojson");

#[derive(Deserialize)]
struct FeatureCollection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    properties: serde_json::Value,
    geometry: Geometry,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Geometry {
    Point {
        coordinates: [f64; 2],
    },
    LineString {
        coordinates: Vec<[f64; 2]>,
    },
    MultiLineString {
        coordinates: Vec<Vec<[f64; 2]>>,
    },
    Polygon {
        coordinates: Vec<Vec<[f64; 2]>>,
    },
    MultiPolygon {
        coordinates: Vec<Vec<Vec<[f64; 2]>>>,
    },
}

impl Geometry {
    /// Every line (or ring) of the geometry, as `(lon, lat)` points.
    fn lines(self) -> Vec<Vec<LonLat>> {
        let conv = |l: Vec<[f64; 2]>| l.into_iter().map(|[x, y]| (x, y)).collect();
        match self {
            Geometry::Point {
                coordinates: [x, y],
            } => vec![vec![(x, y)]],
            Geometry::LineString { coordinates } => vec![conv(coordinates)],
            Geometry::MultiLineString { coordinates } | Geometry::Polygon { coordinates } => {
                coordinates.into_iter().map(conv).collect()
            }
            Geometry::MultiPolygon { coordinates } => {
                coordinates.into_iter().flatten().map(conv).collect()
            }
        }
    }
}

/// Parses embedded GeoJSON. The files are ours and fixed at build time; a
/// test parses each of them, so a failure here is a build defect and stops
/// loudly.
fn parse(json: &str, what: &str) -> FeatureCollection {
    serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("embedded {what} GeoJSON does not parse: {e}"))
}

fn prop<'a>(f: &'a Feature, key: &str) -> Option<&'a str> {
    f.properties.get(key).and_then(|v| v.as_str())
}

// ---------------------------------------------------------------------------
// Countries and the point-in-polygon test.

#[derive(Clone, Copy, Debug)]
struct Edge {
    ax: f64,
    ay: f64,
    bx: f64,
    by: f64,
}

impl Edge {
    fn min_x(&self) -> f64 {
        self.ax.min(self.bx)
    }
    fn max_x(&self) -> f64 {
        self.ax.max(self.bx)
    }
    fn min_y(&self) -> f64 {
        self.ay.min(self.by)
    }
    fn max_y(&self) -> f64 {
        self.ay.max(self.by)
    }

    /// Whether a ray from `(px, py)` towards +x crosses this edge. An edge
    /// spans latitudes half-open, `[min_y, max_y)`, so a ray through a vertex
    /// counts once and horizontal edges never; the side test is exact
    /// (robust orientation), and a point exactly on the edge is not counted.
    #[inline]
    fn crosses(&self, px: f64, py: f64) -> bool {
        if (self.ay > py) == (self.by > py) {
            return false;
        }
        let (lo, hi) = if self.ay < self.by {
            ((self.ax, self.ay), (self.bx, self.by))
        } else {
            ((self.bx, self.by), (self.ax, self.ay))
        };
        robust::orient2d(
            robust::Coord { x: lo.0, y: lo.1 },
            robust::Coord { x: hi.0, y: hi.1 },
            robust::Coord { x: px, y: py },
        ) > 0.0
    }
}

struct Ring {
    edges: std::ops::Range<usize>,
    min_y: f64,
    max_y: f64,
    max_x: f64,
}

struct Country {
    rings: Vec<Vec<LonLat>>,
    edges: Vec<Edge>,
    ring_info: Vec<Ring>,
}

impl Country {
    fn new(rings: Vec<Vec<LonLat>>) -> Country {
        let mut edges = Vec::new();
        let mut ring_info = Vec::new();
        for ring in &rings {
            let start = edges.len();
            for w in ring.windows(2) {
                edges.push(Edge {
                    ax: w[0].0,
                    ay: w[0].1,
                    bx: w[1].0,
                    by: w[1].1,
                });
            }
            // GeoJSON rings repeat the first point; close the ring if not.
            if let (Some(&first), Some(&last)) = (ring.first(), ring.last())
                && first != last
            {
                edges.push(Edge {
                    ax: last.0,
                    ay: last.1,
                    bx: first.0,
                    by: first.1,
                });
            }
            let (mut min_y, mut max_y, mut max_x) =
                (f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
            for &(x, y) in ring {
                min_y = min_y.min(y);
                max_y = max_y.max(y);
                max_x = max_x.max(x);
            }
            ring_info.push(Ring {
                edges: start..edges.len(),
                min_y,
                max_y,
                max_x,
            });
        }
        Country {
            rings,
            edges,
            ring_info,
        }
    }

    /// Even-odd over every ring, testing every edge (rings skipped only when
    /// their bounding box proves no edge can cross the ray).
    fn contains_brute(&self, px: f64, py: f64) -> bool {
        let mut inside = false;
        for r in &self.ring_info {
            if py < r.min_y || py >= r.max_y || px > r.max_x {
                continue;
            }
            for e in &self.edges[r.edges.clone()] {
                inside ^= e.crosses(px, py);
            }
        }
        inside
    }
}

struct Countries {
    countries: [Country; 5],
    index: Index,
}

fn countries() -> &'static Countries {
    static C: OnceLock<Countries> = OnceLock::new();
    C.get_or_init(|| {
        let fc = parse(COUNTRIES_JSON, "countries");
        let mut rings: [Option<Vec<Vec<LonLat>>>; 5] = Default::default();
        for f in fc.features {
            let code = prop(&f, "adm0_a3").unwrap_or("").to_owned();
            let i = Area::from_code(&code)
                .and_then(Area::country_index)
                .unwrap_or_else(|| panic!("embedded countries: unexpected adm0_a3 {code:?}"));
            assert!(rings[i].is_none(), "embedded countries: {code} twice");
            rings[i] = Some(f.geometry.lines());
        }
        let countries = rings.map(|r| Country::new(r.expect("embedded countries: one is missing")));
        let index = Index::build(&countries);
        Countries { countries, index }
    })
}

/// Parses and indexes all embedded data now rather than on first use.
pub fn warm_up() {
    countries();
    lines();
    airport_table();
}

fn mask_to_area(mask: u8) -> Area {
    if mask == 0 {
        Area::Sea
    } else {
        Area::COUNTRIES[mask.trailing_zeros() as usize]
    }
}

fn in_box(lat: f64, lon: f64) -> bool {
    let (x0, x1, y0, y1) = DATA_BOX;
    // Written so that NaN fails every comparison and lands outside.
    lon >= x0 && lon <= x1 && lat >= y0 && lat <= y1
}

/// The area at a point: which country's land (de-facto boundaries), the
/// sea, or [`Area::Outside`] for points outside [`DATA_BOX`] and for NaN or
/// infinite coordinates. Exact with respect to the embedded 1:10m polygons
/// (see the module documentation), O(1) for most points. Never panics.
///
/// ```
/// use baram_flight::geo::{area_at, Area};
/// assert_eq!(area_at(39.0392, 125.7625), Area::Prk); // Pyongyang
/// assert_eq!(area_at(37.9700, 124.6300), Area::Kor); // Baengnyeong-do
/// assert_eq!(area_at(36.5, 124.0), Area::Sea); // Yellow Sea
/// assert_eq!(area_at(f64::NAN, 125.0), Area::Outside);
/// ```
pub fn area_at(lat: f64, lon: f64) -> Area {
    if !in_box(lat, lon) {
        return Area::Outside;
    }
    countries().index.area(lon, lat)
}

/// The same answer as [`area_at`], computed without the grid by testing
/// every edge of every ring: a slow reference for tests and audits
/// (hundreds of microseconds per point).
pub fn area_at_brute_force(lat: f64, lon: f64) -> Area {
    if !in_box(lat, lon) {
        return Area::Outside;
    }
    let c = countries();
    let mut mask = 0u8;
    for (i, country) in c.countries.iter().enumerate() {
        if country.contains_brute(lon, lat) {
            mask |= 1 << i;
        }
    }
    mask_to_area(mask)
}

/// The rings of a country's polygons as `(lon, lat)` points, each closed
/// (first point repeated last), at full 1:10m resolution (no
/// simplification). Empty for [`Area::Sea`] and [`Area::Outside`].
pub fn country_rings(area: Area) -> &'static [Vec<LonLat>] {
    match area.country_index() {
        Some(i) => &countries().countries[i].rings,
        None => &[],
    }
}

// The grid. Cells are `CELL`° square, origin at the data box's south-west
// corner. A cell's edges are those whose bounding box meets the cell grown
// by `MARGIN` on every side, so that rounding in the cell lookup can never
// put a point outside the region its cell vouches for.
const CELL: f64 = 0.05;
const COLS: usize = 340; // 17° / 0.05°
const ROWS: usize = 280; // 14° / 0.05°
const MARGIN: f64 = 1e-7;
const UNIFORM: u32 = 1 << 31;

fn col_x(j: usize) -> f64 {
    DATA_BOX.0 + j as f64 * CELL
}

fn row_y(r: usize) -> f64 {
    DATA_BOX.2 + r as f64 * CELL
}

/// One country's state in a cell that edges cross.
struct Entry {
    /// Bit of the country in the area mask.
    bit: u8,
    /// Parity of the country's edges east of the cell that span latitudes
    /// below the cell's window.
    base: bool,
    /// Latitudes (sorted) in the cell's window at which the parity of the
    /// country's edges east of the cell changes.
    breaks: std::ops::Range<u32>,
    /// The country's edges that meet the cell.
    edges: std::ops::Range<u32>,
}

struct Mixed {
    /// Countries with no edge in the cell whose polygons cover it.
    const_mask: u8,
    entries: std::ops::Range<u32>,
}

struct Index {
    /// Per cell, row-major: `UNIFORM | area index` or an index into `mixed`.
    cells: Vec<u32>,
    mixed: Vec<Mixed>,
    entries: Vec<Entry>,
    edges: Vec<Edge>,
    breaks: Vec<f64>,
}

/// Adds `v` to a parity set: present values are removed, absent inserted.
fn toggle(set: &mut Vec<f64>, v: f64) {
    match set.binary_search_by(|a| a.total_cmp(&v)) {
        Ok(i) => {
            set.remove(i);
        }
        Err(i) => set.insert(i, v),
    }
}

fn range32(start: usize, end: usize) -> std::ops::Range<u32> {
    let s = u32::try_from(start).expect("geo index too large");
    let e = u32::try_from(end).expect("geo index too large");
    s..e
}

impl Index {
    /// Builds the grid. The ray from a point in cell (r, j) towards +x meets
    /// three kinds of edge of the row's window: those wholly west of the
    /// cell (never crossed), those meeting the cell (tested one by one at
    /// lookup) and those wholly east of it (crossed exactly when they span
    /// the point's latitude). The parity of the last kind, as a function of
    /// latitude, is `base` plus one per endpoint latitude at or below the
    /// point's; endpoints shared by two eastern edges cancel, so only a few
    /// remain, and none at all when no edge meets the cell (the cell is then
    /// uniform).
    fn build(countries: &[Country; 5]) -> Index {
        let mut idx = Index {
            cells: vec![0; ROWS * COLS],
            mixed: Vec::new(),
            entries: Vec::new(),
            edges: Vec::new(),
            breaks: Vec::new(),
        };
        // Edges per row window, as (country, edge).
        let mut rows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); ROWS];
        for (c, country) in countries.iter().enumerate() {
            for (i, e) in country.edges.iter().enumerate() {
                let (lo, hi) = (e.min_y(), e.max_y());
                let r0 =
                    (((lo - DATA_BOX.2) / CELL).floor() as isize - 1).clamp(0, ROWS as isize - 1);
                let r1 =
                    (((hi - DATA_BOX.2) / CELL).floor() as isize + 1).clamp(0, ROWS as isize - 1);
                let r0 = r0 as usize;
                for (k, row) in rows[r0..=r1 as usize].iter_mut().enumerate() {
                    let r = r0 + k;
                    if lo <= row_y(r + 1) + MARGIN && hi >= row_y(r) - MARGIN {
                        row.push((c, i));
                    }
                }
            }
        }
        let mut col_edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); COLS];
        for (r, row) in rows.iter().enumerate() {
            let lo = row_y(r) - MARGIN;
            let hi = row_y(r + 1) + MARGIN;
            for v in col_edges.iter_mut() {
                v.clear();
            }
            // Per country, the row's edges from east to west by their
            // western end, for the sweep.
            let mut by_west: [Vec<usize>; 5] = Default::default();
            for &(c, i) in row {
                let e = &countries[c].edges[i];
                by_west[c].push(i);
                let (wx, ex) = (e.min_x(), e.max_x());
                let j0 =
                    (((wx - DATA_BOX.0) / CELL).floor() as isize - 1).clamp(0, COLS as isize - 1);
                let j1 =
                    (((ex - DATA_BOX.0) / CELL).floor() as isize + 1).clamp(0, COLS as isize - 1);
                let j0 = j0 as usize;
                for (k, cell) in col_edges[j0..=j1 as usize].iter_mut().enumerate() {
                    let j = j0 + k;
                    if wx <= col_x(j + 1) + MARGIN && ex >= col_x(j) - MARGIN {
                        cell.push((c, i));
                    }
                }
            }
            for (c, v) in by_west.iter_mut().enumerate() {
                let edges = &countries[c].edges;
                v.sort_by(|&a, &b| edges[b].min_x().total_cmp(&edges[a].min_x()));
            }
            let mut next = [0usize; 5];
            let mut base = [false; 5];
            let mut sets: [Vec<f64>; 5] = Default::default();
            for j in (0..COLS).rev() {
                let east = col_x(j + 1) + MARGIN;
                for c in 0..5 {
                    let edges = &countries[c].edges;
                    while let Some(&i) = by_west[c].get(next[c]) {
                        let e = &edges[i];
                        if e.min_x() <= east {
                            break;
                        }
                        next[c] += 1;
                        for v in [e.ay, e.by] {
                            if v < lo {
                                base[c] ^= true;
                            } else if v <= hi {
                                toggle(&mut sets[c], v);
                            }
                        }
                    }
                }
                let cell = &mut idx.cells[r * COLS + j];
                let here = &col_edges[j];
                if here.is_empty() {
                    let mut mask = 0u8;
                    for c in 0..5 {
                        assert!(
                            sets[c].is_empty(),
                            "geo index: row {r} col {j}: stray parity breaks"
                        );
                        mask |= (base[c] as u8) << c;
                    }
                    let area = mask_to_area(mask);
                    *cell = UNIFORM | Area::ALL.iter().position(|&a| a == area).unwrap_or(0) as u32;
                    continue;
                }
                let first_entry = idx.entries.len();
                let mut const_mask = 0u8;
                for c in 0..5 {
                    let mine = here.iter().filter(|&&(cc, _)| cc == c);
                    if mine.clone().next().is_none() {
                        assert!(
                            sets[c].is_empty(),
                            "geo index: row {r} col {j}: stray parity breaks"
                        );
                        const_mask |= (base[c] as u8) << c;
                        continue;
                    }
                    let e0 = idx.edges.len();
                    idx.edges.extend(mine.map(|&(_, i)| countries[c].edges[i]));
                    let b0 = idx.breaks.len();
                    idx.breaks.extend_from_slice(&sets[c]);
                    idx.entries.push(Entry {
                        bit: 1 << c,
                        base: base[c],
                        breaks: range32(b0, idx.breaks.len()),
                        edges: range32(e0, idx.edges.len()),
                    });
                }
                *cell = u32::try_from(idx.mixed.len()).expect("geo index too large");
                idx.mixed.push(Mixed {
                    const_mask,
                    entries: range32(first_entry, idx.entries.len()),
                });
            }
        }
        idx
    }

    /// The area at a point already known to lie in the data box.
    #[inline]
    fn area(&self, px: f64, py: f64) -> Area {
        let j = (((px - DATA_BOX.0) / CELL) as usize).min(COLS - 1);
        let r = (((py - DATA_BOX.2) / CELL) as usize).min(ROWS - 1);
        let cell = self.cells[r * COLS + j];
        if cell & UNIFORM != 0 {
            return Area::ALL[(cell & !UNIFORM) as usize];
        }
        let m = &self.mixed[cell as usize];
        let mut mask = m.const_mask;
        for e in &self.entries[m.entries.start as usize..m.entries.end as usize] {
            let breaks = &self.breaks[e.breaks.start as usize..e.breaks.end as usize];
            let mut inside = e.base ^ (breaks.iter().filter(|&&b| b <= py).count() % 2 == 1);
            for edge in &self.edges[e.edges.start as usize..e.edges.end as usize] {
                inside ^= edge.crosses(px, py);
            }
            if inside {
                mask |= e.bit;
            }
        }
        mask_to_area(mask)
    }
}

/// Counts of the grid's cells, for tests and the speed example: `(uniform,
/// mixed, edges stored, breaks stored)`.
pub fn index_stats() -> (usize, usize, usize, usize) {
    let i = &countries().index;
    (
        i.cells.len() - i.mixed.len(),
        i.mixed.len(),
        i.edges.len(),
        i.breaks.len(),
    )
}

// ---------------------------------------------------------------------------
// Lines: coastline, MDL, DMZ.

struct Lines {
    coastline: Vec<Vec<LonLat>>,
    mdl: Vec<Vec<LonLat>>,
    dmz: Vec<Vec<LonLat>>,
}

fn lines() -> &'static Lines {
    static L: OnceLock<Lines> = OnceLock::new();
    L.get_or_init(|| {
        let coastline = parse(COASTLINE_JSON, "coastline")
            .features
            .into_iter()
            .flat_map(|f| f.geometry.lines())
            .collect();
        let mut mdl = Vec::new();
        let mut dmz: Vec<Vec<LonLat>> = Vec::new();
        for f in parse(MDL_JSON, "MDL/DMZ").features {
            let name = prop(&f, "name").unwrap_or("").to_owned();
            if name.starts_with("Military Demarcation Line") {
                mdl.extend(f.geometry.lines());
            } else if name.contains("Demilitarized Zone") {
                dmz.extend(f.geometry.lines());
            } else {
                panic!("embedded MDL/DMZ: unexpected feature {name:?}");
            }
        }
        assert!(
            !mdl.is_empty() && dmz.len() == 2,
            "embedded MDL/DMZ: need the MDL and two DMZ limits"
        );
        let mean_lat = |l: &Vec<LonLat>| l.iter().map(|p| p.1).sum::<f64>() / l.len().max(1) as f64;
        dmz.sort_by(|a, b| mean_lat(a).total_cmp(&mean_lat(b)));
        Lines {
            coastline,
            mdl,
            dmz,
        }
    })
}

/// The coastline (NE 1:10m, clipped to the box) as `(lon, lat)` polylines,
/// not simplified.
pub fn coastline() -> &'static [Vec<LonLat>] {
    &lines().coastline
}

/// The Military Demarcation Line of 1953 as `(lon, lat)` polylines (NE
/// 1:10m: 9 pieces that join end to end, 52 points, from the Han estuary to
/// the East Sea; segments up to 17 km long). The land line only: the
/// disputed sea lines (NLL) are not in the data. The line is coarse: it
/// passes 1.27 km from Panmunjom, where the real MDL runs through the Joint
/// Security Area, so distances to it are good to about ±1.5 km; a safety
/// margin should allow for that.
pub fn mdl() -> &'static [Vec<LonLat>] {
    &lines().mdl
}

/// The two limits of the DMZ as `(lon, lat)` polylines: the southern limit
/// first, then the northern. For drawing only: Natural Earth draws them
/// 4.6–6.1 km from its MDL, a schematic band wider than the real DMZ (2 km
/// either side of the MDL).
pub fn dmz_lines() -> &'static [Vec<LonLat>] {
    &lines().dmz
}

/// Great-circle distance in metres between two points (degrees), by the
/// haversine formula on a sphere of radius [`EARTH_RADIUS_M`].
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Shortest distance in metres from a point to the MDL, or `None` for a NaN
/// or infinite coordinate.
///
/// The MDL's segments are taken as straight in longitude and latitude (as
/// drawn). For each segment the nearest point is found in a local
/// equirectangular projection around the query point, and the distance to
/// it is then measured by [`haversine_m`]. The projection only picks the
/// foot point; an error of δ along the segment changes the distance by about
/// δ²/2d, so the result is within 0.01% of the true distance for anything in
/// the data box (the tests check < 0.1% against dense sampling of the
/// segments and against great-circle arcs).
pub fn distance_to_mdl_m(lat: f64, lon: f64) -> Option<f64> {
    if !lat.is_finite() || !lon.is_finite() {
        return None;
    }
    let k = lat.to_radians().cos();
    let mut best = f64::INFINITY;
    for line in mdl() {
        for w in line.windows(2) {
            let (ax, ay) = ((w[0].0 - lon) * k, w[0].1 - lat);
            let (bx, by) = ((w[1].0 - lon) * k, w[1].1 - lat);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let flon = w[0].0 + t * (w[1].0 - w[0].0);
            let flat = w[0].1 + t * (w[1].1 - w[0].1);
            best = best.min(haversine_m(lat, lon, flat, flon));
        }
    }
    Some(best)
}

// ---------------------------------------------------------------------------
// Airports.

/// An airport of the embedded list (NE 1:10m airports in the data box).
#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    /// ICAO code (e.g. "RKSI"); `None` where the data has none (Sunchon).
    pub icao: Option<String>,
    /// IATA code (e.g. "ICN"), where the data has one.
    pub iata: Option<String>,
    /// Name as in Natural Earth (e.g. "Incheon Int'l").
    pub name: String,
    /// Latitude in degrees (the point NE gives: terminal, ramp or runway).
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

struct AirportTable {
    airports: Vec<Airport>,
    /// Per airport: latitude in radians, its cosine, longitude in radians.
    trig: Vec<(f64, f64, f64)>,
}

fn airport_table() -> &'static AirportTable {
    static A: OnceLock<AirportTable> = OnceLock::new();
    A.get_or_init(|| {
        let mut airports = Vec::new();
        for f in parse(AIRPORTS_JSON, "airports").features {
            let code = |k: &str| prop(&f, k).filter(|s| !s.is_empty()).map(str::to_owned);
            let (icao, iata) = (code("gps_code"), code("iata_code"));
            let name = code("name").unwrap_or_default();
            match f.geometry {
                Geometry::Point {
                    coordinates: [lon, lat],
                } => airports.push(Airport {
                    icao,
                    iata,
                    name,
                    lat,
                    lon,
                }),
                _ => panic!("embedded airports: {name:?} is not a point"),
            }
        }
        let trig = airports
            .iter()
            .map(|a| {
                let p = a.lat.to_radians();
                (p, p.cos(), a.lon.to_radians())
            })
            .collect();
        AirportTable { airports, trig }
    })
}

/// The 25 airports of the data box, in the data's order.
pub fn airports() -> &'static [Airport] {
    &airport_table().airports
}

/// The haversine term `sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)` from a point
/// (radians, with its cosine) to each airport, skipping airports whose
/// latitude alone puts them farther than `max_dphi` radians.
fn airport_hav(lat: f64, lon: f64, max_dphi: f64) -> Option<(usize, f64)> {
    let t = airport_table();
    let (p, l) = (lat.to_radians(), lon.to_radians());
    let cp = p.cos();
    let mut best: Option<(usize, f64)> = None;
    for (i, &(pa, cpa, la)) in t.trig.iter().enumerate() {
        let dp = pa - p;
        if dp.abs() > max_dphi {
            continue;
        }
        let h = (dp / 2.0).sin().powi(2) + cp * cpa * ((la - l) / 2.0).sin().powi(2);
        if best.is_none_or(|(_, b)| h < b) {
            best = Some((i, h));
        }
    }
    best
}

fn hav_to_m(h: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The nearest airport and its haversine distance in metres, or `None` for
/// a NaN or infinite coordinate.
pub fn nearest_airport(lat: f64, lon: f64) -> Option<(&'static Airport, f64)> {
    if !lat.is_finite() || !lon.is_finite() {
        return None;
    }
    let (i, h) = airport_hav(lat, lon, f64::INFINITY)?;
    Some((&airport_table().airports[i], hav_to_m(h)))
}

/// The nearest airport within `radius_m` metres (bound included), if any.
/// `None` too for a NaN or infinite coordinate or a radius that is negative
/// or NaN. Cheap enough to call at every model step: a latitude test rules
/// out almost every airport, and no inverse trigonometry is done.
pub fn within_airport(lat: f64, lon: f64, radius_m: f64) -> Option<&'static Airport> {
    if !lat.is_finite() || !lon.is_finite() || radius_m.is_nan() || radius_m < 0.0 {
        return None;
    }
    // d <= r  <=>  hav(d/R) <= hav(r/R) for r/R <= π, and d >= R|Δφ|.
    let angle = (radius_m / EARTH_RADIUS_M).min(std::f64::consts::PI);
    let h_max = (angle / 2.0).sin().powi(2);
    let (i, h) = airport_hav(lat, lon, angle)?;
    (h <= h_max).then(|| &airport_table().airports[i])
}

/// Area names for the trajectory writers ([`crate::output::AreaLookup`]):
/// the code of the area a point lies in (`PRK`, `KOR`, ..., `SEA`, `OUT`).
pub struct NaturalEarth;

impl crate::output::AreaLookup for NaturalEarth {
    fn area(&self, lat_deg: f64, lon_deg: f64) -> Option<String> {
        Some(area_at(lat_deg, lon_deg).code().to_string())
    }
}
