//! Writes a sample HTML report from an analytic wind field (no forecast
//! needed): `cargo run -p baram-flight --example report_sample -- out.html`.
//! The map in `docs/flight-report.png` is a headless-Chromium screenshot of
//! it.

use baram_flight::ensemble::{self, EnsembleSpec};
use baram_flight::geo::Area;
use baram_flight::model::{Ascent, Descent, FlightSpec, Float, FloatKind, Launch, Release};
use baram_flight::report::{self, ReportInput};
use baram_flight::wind::{OutOfData, Wind, WindField};
use baram_flight::windows::{self, WindowsSpec};

/// 2025-03-01T00:00Z, the sample forecast's run.
const RUN: f64 = 1_740_787_200.0;

/// A southerly that strengthens with height and swings 60 degrees either
/// way through the day, over 48 hours and the whole region.
struct Sample;

impl WindField for Sample {
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        let (from, to) = (RUN, RUN + 48.0 * 3600.0);
        if !(from..=to).contains(&t) {
            return Err(OutOfData::Time { t, from, to });
        }
        if !(30.0..=46.0).contains(&lat) || !(115.0..=136.0).contains(&lon) {
            return Err(OutOfData::Region { lat, lon });
        }
        if alt > 30_000.0 {
            return Err(OutOfData::Above { alt, top: 30_000.0 });
        }
        let h = (t - RUN) / 3600.0;
        let speed = 4.0 + 2.0 * alt / 1000.0;
        let dir = (5.0 + 60.0 * (h / 24.0 * std::f64::consts::TAU).sin() + 4.0 * (lon - 127.0))
            .to_radians();
        Ok(Wind {
            u: speed * dir.sin(),
            v: speed * dir.cos(),
        })
    }
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "flight-report.html".to_string());
    let mut base = FlightSpec::new(
        Launch {
            lat_deg: 37.72,
            lon_deg: 127.20,
            time_unix_s: RUN + 21.0 * 3600.0,
            alt_m: 40.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 2.5,
            burst_altitude_m: 12_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 4.0,
        },
    );
    base.float = Some(Float {
        altitude_m: 5_000.0,
        kind: FloatKind::ZeroPressure,
    });
    base.release = Release::Timer {
        minutes_after_launch: 150.0,
    };
    let mut spec = EnsembleSpec::new(base, 1000, 2018);
    spec.wind_error.forecast_run_unix_s = Some(RUN);
    spec.density_cell_deg = 0.05;
    let mut w = WindowsSpec::new(spec, RUN + 3600.0, RUN + 23.0 * 3600.0);
    w.every_s = 2.0 * 3600.0;
    w.ensemble.members = 300;
    let windows = windows::plan(&w, &Sample, 2).expect("windows");
    let result = ensemble::run(&spec, &Sample, 2).expect("ensemble");
    let html = report::html(&ReportInput {
        title: "Sample report / 보고서 견본",
        spec: &spec,
        result: &result,
        wind_source: "analytic sample field (no forecast): a southerly swinging through the day; run 2025-03-01T00:00Z",
        target: Area::Prk,
        windows: Some(&windows),
    });
    std::fs::write(&out, html).expect("write the report");
    eprintln!(
        "wrote {out}: P(PRK) {:.3}, P(KOR) {:.3}",
        result.probability(Area::Prk),
        result.probability(Area::Kor)
    );
}
