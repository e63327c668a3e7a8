//! Speed: a 1,000-member ensemble of a 6-hour float flight through a
//! gridded field with 0.25-degree quadrilinear interpolation (time,
//! altitude, latitude, longitude), one core. Run in release:
//! `cargo test --release -p baram-flight --test model_speed -- --ignored --nocapture`.

use baram_flight::model::{self, Ascent, Descent, FlightSpec, Float, FloatKind, Launch, Release};
use baram_flight::wind::{OutOfData, Wind, WindField};
use std::time::Instant;

const T0: f64 = 1_740_000_000.0;
const NT: usize = 3;
const NZ: usize = 30;
const NY: usize = 61; // 30..45 N
const NX: usize = 81; // 120..140 E

struct Grid {
    uv: Vec<[f32; 2]>,
    scale: f64,
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
                            8.0 + z as f32 + (s * 0.1).sin() * 3.0,
                            (s * 0.07).cos() * 4.0,
                        ]);
                    }
                }
            }
        }
        Grid { uv, scale: 1.0 }
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
        let (it, ft) = cell((t - T0) / 21_600.0, NT).ok_or(OutOfData::Time {
            t,
            from: T0,
            to: T0 + 43_200.0,
        })?;
        let (iz, fz) = cell(alt / 1000.0, NZ).ok_or(OutOfData::Above { alt, top: 29_000.0 })?;
        let (iy, fy) = cell((lat - 30.0) * 4.0, NY).ok_or(OutOfData::Region { lat, lon })?;
        let (ix, fx) = cell((lon - 120.0) * 4.0, NX).ok_or(OutOfData::Region { lat, lon })?;
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
        Ok(Wind {
            u: u * self.scale,
            v: v * self.scale,
        })
    }
}

#[test]
#[ignore = "a benchmark: run in release"]
fn ensemble_of_1000_float_flights() {
    let mut grid = Grid::new();
    let mut spec = FlightSpec::new(
        Launch {
            lat_deg: 37.7,
            lon_deg: 124.9,
            time_unix_s: T0,
            alt_m: 10.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 5.0,
            burst_altitude_m: 20_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    spec.float = Some(Float {
        altitude_m: 9_000.0,
        kind: FloatKind::ZeroPressure,
    });
    spec.release = Release::Timer {
        minutes_after_launch: 360.0,
    };
    let start = Instant::now();
    let mut sum = 0.0;
    for m in 0..1000 {
        grid.scale = 0.5 + m as f64 / 2000.0;
        sum += model::landing(&spec, &grid).unwrap().lon_deg;
    }
    let took = start.elapsed();
    eprintln!("1000 members of a 6 h float flight: {took:?} (checksum {sum:.6})");
    assert!(took.as_secs_f64() < 1.0);
}
