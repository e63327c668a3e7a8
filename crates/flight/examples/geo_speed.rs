//! Times the geography lookups: `cargo run --release -p baram-flight --example geo_speed`.
//!
//! Prints the time to parse and index the embedded data, then nanoseconds per
//! lookup for 1,000,000 `area_at` calls (points uniform in the data box, and
//! points near coastline vertices, the slow case), 1,000,000 `within_airport`
//! calls (10 km) and 10,000 `distance_to_mdl_m` calls.

use std::hint::black_box;
use std::time::Instant;

use baram_flight::geo;

/// splitmix64: a fixed, dependency-free source of points.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn per_call(n: usize, pts: &[(f64, f64)], f: impl Fn(f64, f64) -> usize) -> (f64, usize) {
    let t = Instant::now();
    let mut acc = 0usize;
    for i in 0..n {
        let (lat, lon) = pts[i % pts.len()];
        acc = acc.wrapping_add(f(black_box(lat), black_box(lon)));
    }
    (t.elapsed().as_nanos() as f64 / n as f64, acc)
}

fn main() {
    let t = Instant::now();
    geo::warm_up();
    let (uniform, mixed, edges, breaks) = geo::index_stats();
    println!(
        "parse + index: {:.1} ms ({uniform} uniform cells, {mixed} mixed, {edges} edges and {breaks} breaks stored)",
        t.elapsed().as_secs_f64() * 1e3
    );
    let (x0, x1, y0, y1) = geo::DATA_BOX;
    let mut rng = Rng(42);
    let in_box: Vec<(f64, f64)> = (0..1 << 16)
        .map(|_| {
            (
                y0 + rng.next_f64() * (y1 - y0),
                x0 + rng.next_f64() * (x1 - x0),
            )
        })
        .collect();
    let verts: Vec<(f64, f64)> = geo::coastline().iter().flatten().copied().collect();
    let near_coast: Vec<(f64, f64)> = (0..1 << 16)
        .map(|_| {
            let (lon, lat) = verts[(rng.next_f64() * verts.len() as f64) as usize % verts.len()];
            (
                lat + (rng.next_f64() - 0.5) * 0.02,
                lon + (rng.next_f64() - 0.5) * 0.02,
            )
        })
        .collect();
    let n = 1_000_000;
    let (ns, acc) = per_call(n, &in_box, |la, lo| geo::area_at(la, lo) as usize);
    println!("area_at, uniform in the box:        {ns:7.1} ns/lookup (checksum {acc})");
    let (ns, acc) = per_call(n, &near_coast, |la, lo| geo::area_at(la, lo) as usize);
    println!("area_at, within 0.01° of the coast: {ns:7.1} ns/lookup (checksum {acc})");
    let (ns, acc) = per_call(n, &in_box, |la, lo| {
        geo::within_airport(la, lo, 10_000.0).is_some() as usize
    });
    println!("within_airport 10 km, in the box:   {ns:7.1} ns/lookup (checksum {acc})");
    let (ns, acc) = per_call(10_000, &in_box, |la, lo| {
        geo::distance_to_mdl_m(la, lo).unwrap_or(0.0) as usize
    });
    println!("distance_to_mdl_m, in the box:      {ns:7.1} ns/lookup (checksum {acc})");
    let (ns, acc) = per_call(20_000, &in_box, |la, lo| {
        geo::area_at_brute_force(la, lo) as usize
    });
    println!("area_at_brute_force (reference):    {ns:7.1} ns/lookup (checksum {acc})");
}
