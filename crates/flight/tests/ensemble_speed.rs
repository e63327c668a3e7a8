//! Speed: a 1,000-member ensemble of a 6-hour float flight through a
//! gridded field of the real size of a 0.25-degree cube over Korea (the
//! geo data box 117–134 E, 31–45 N: 69 × 57 points, 31 levels, 17 forecast
//! times 3 h apart), interpolated quadrilinearly, on one core, with the
//! default spreads and wind error and the airport watch. Run in release:
//! `cargo test --release -p baram-flight --test ensemble_speed -- --ignored --nocapture`.

use baram_flight::ensemble::{self, EnsembleSpec};
use baram_flight::model::{Ascent, Descent, FlightSpec, Float, FloatKind, Launch, Release};
use baram_flight::wind::{OutOfData, Wind, WindField};
use std::time::Instant;

const T0: f64 = 1_740_000_000.0;
const NT: usize = 17;
const NZ: usize = 31;
const NY: usize = 57;
const NX: usize = 69;
const DT: f64 = 10_800.0;

struct Grid {
    uv: Vec<[f32; 2]>,
}

impl Grid {
    fn new() -> Grid {
        let mut uv = Vec::with_capacity(NT * NZ * NY * NX);
        for t in 0..NT {
            for z in 0..NZ {
                for y in 0..NY {
                    for x in 0..NX {
                        let s = (t * 7 + z * 3 + y * 5 + x) as f32;
                        uv.push([
                            4.0 + 0.6 * z as f32 + (s * 0.1).sin() * 3.0,
                            3.0 + (s * 0.07).cos() * 4.0,
                        ]);
                    }
                }
            }
        }
        Grid { uv }
    }
}

fn cell(x: f64, n: usize) -> Option<(usize, f64)> {
    if !(x >= 0.0 && x <= (n - 1) as f64) {
        return None;
    }
    let i = (x.floor() as usize).min(n - 2);
    Some((i, x - i as f64))
}

impl WindField for Grid {
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        let (it, ft) = cell((t - T0) / DT, NT).ok_or(OutOfData::Time {
            t,
            from: T0,
            to: T0 + DT * (NT - 1) as f64,
        })?;
        let (iz, fz) = cell(alt / 1000.0, NZ).ok_or(OutOfData::Above { alt, top: 30_000.0 })?;
        let (iy, fy) = cell((lat - 31.0) * 4.0, NY).ok_or(OutOfData::Region { lat, lon })?;
        let (ix, fx) = cell((lon - 117.0) * 4.0, NX).ok_or(OutOfData::Region { lat, lon })?;
        let (mut u, mut v) = (0.0, 0.0);
        for (dt, wt) in [(0, 1.0 - ft), (1, ft)] {
            for (dz, wz) in [(0, 1.0 - fz), (1, fz)] {
                for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
                    let base = (((it + dt) * NZ + iz + dz) * NY + iy + dy) * NX + ix;
                    let w = wt * wz * wy;
                    let a = self.uv[base];
                    let b = self.uv[base + 1];
                    u += w * ((1.0 - fx) * a[0] as f64 + fx * b[0] as f64);
                    v += w * ((1.0 - fx) * a[1] as f64 + fx * b[1] as f64);
                }
            }
        }
        Ok(Wind { u, v })
    }
}

#[test]
#[ignore = "a benchmark: run in release"]
fn ensemble_of_1000_six_hour_float_flights_on_one_core() {
    let grid = Grid::new();
    let mut base = FlightSpec::new(
        Launch {
            lat_deg: 37.7,
            lon_deg: 126.6,
            time_unix_s: T0 + 3600.0,
            alt_m: 10.0,
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
        altitude_m: 6_000.0,
        kind: FloatKind::ZeroPressure,
    });
    base.release = Release::Timer {
        minutes_after_launch: 360.0,
    };
    baram_flight::geo::warm_up();
    let spec = EnsembleSpec::new(base, 1000, 1);
    let start = Instant::now();
    let r = ensemble::run(&spec, &grid, 1).unwrap();
    let took = start.elapsed();
    eprintln!(
        "1000 members of a 6 h float flight, one thread: {took:?} ({} landed, {} failed, P(PRK) {:.3}, airports {:.3})",
        r.landings.len(),
        r.failed,
        r.probability(baram_flight::geo::Area::Prk),
        r.airports.share
    );
    assert_eq!(r.failed, 0);
    assert!(took.as_secs_f64() < 1.0);
}

#[test]
#[ignore = "a benchmark: run in release"]
fn windows_over_24_hours_on_two_cores() {
    let grid = Grid::new();
    let mut base = FlightSpec::new(
        Launch {
            lat_deg: 37.7,
            lon_deg: 126.6,
            time_unix_s: T0,
            alt_m: 10.0,
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
        altitude_m: 6_000.0,
        kind: FloatKind::ZeroPressure,
    });
    base.release = Release::Timer {
        minutes_after_launch: 360.0,
    };
    baram_flight::geo::warm_up();
    let spec = baram_flight::windows::WindowsSpec::new(
        EnsembleSpec::new(base, 1000, 1),
        T0 + 3600.0,
        T0 + 24.0 * 3600.0,
    );
    let start = Instant::now();
    let r = baram_flight::windows::plan(&spec, &grid, 2).unwrap();
    let took = start.elapsed();
    eprintln!(
        "windows: {} candidates x 1000 members of a 6 h float flight, two threads: {took:?} ({} accepted)",
        r.candidates.len(),
        r.ranking.len()
    );
    assert_eq!(r.candidates.len(), 24);
    assert!(took.as_secs_f64() < 30.0);
}
