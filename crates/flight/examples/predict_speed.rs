//! Time per prediction of one ascent-burst-descent flight through a wind
//! cube, in process (the figure `flight predict --repeat` gives, without the
//! CLI). For comparing builds side by side:
//! `cargo run --release -p baram-flight --example predict_speed -- CUBE LAT LON [RUNS]`
//! (launch 2011-01-15 12:00 UTC at sea level, 5 m/s up, burst 30 km, 5 m/s
//! down at sea level, 60 s steps: the Tawhiri bench's standard case).

use baram_flight::model::{self, Ascent, Descent, FlightSpec, Launch};
use baram_flight::wind::Cube;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: predict_speed CUBE LAT LON [RUNS]");
        std::process::exit(2);
    }
    let cube = Cube::open(std::path::Path::new(&args[1])).expect("a wind cube");
    let lat: f64 = args[2].parse().expect("latitude");
    let lon: f64 = args[3].parse().expect("longitude");
    let runs: usize = args.get(4).map_or(2000, |r| r.parse().expect("runs"));
    let launch = Launch {
        lat_deg: lat,
        lon_deg: lon,
        alt_m: 0.0,
        time_unix_s: 1_295_092_800.0,
    };
    let mut spec = FlightSpec::new(
        launch,
        Ascent::ConstantRate {
            rate_m_s: 5.0,
            burst_altitude_m: 30_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    spec.step_s = 60.0;
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let r = model::landing(&spec, &cube);
            let dt = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(r.ok());
            dt
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let p = model::landing(&spec, &cube).expect("a landing");
    println!(
        "median {:.4} ms, min {:.4} ms over {runs} runs; landing {:.6} {:.6}",
        ms[runs / 2],
        ms[0],
        p.lat_deg,
        p.lon_deg
    );
}
