//! Ensembles in analytic wind fields: counts add up, the seed alone decides,
//! threads do not matter, spreads widen the cloud, the areas and the airport
//! check answer as the geography says.

use baram_flight::ensemble::{self, EnsembleResult, EnsembleSpec, Spreads, WindError};
use baram_flight::geo::{self, Area};
use baram_flight::model::{
    self, Ascent, Descent, Error, FlightSpec, Float, FloatKind, Launch, Release,
};
use baram_flight::wind::{OutOfData, Wind, WindField};

const T0: f64 = 1_740_000_000.0;
/// Seoul City Hall.
const SEOUL: (f64, f64) = (37.5665, 126.9780);

/// Uniform wind inside a box of time, latitude, longitude and altitude.
struct Uniform {
    u: f64,
    v: f64,
    lat_max: f64,
}

impl Uniform {
    fn new(u: f64, v: f64) -> Uniform {
        Uniform {
            u,
            v,
            lat_max: 45.0,
        }
    }
}

impl WindField for Uniform {
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        let (from, to) = (T0 - 86_400.0, T0 + 5.0 * 86_400.0);
        if !(from..=to).contains(&t) {
            return Err(OutOfData::Time { t, from, to });
        }
        if !(30.0..=self.lat_max).contains(&lat) || !(115.0..=135.0).contains(&lon) {
            return Err(OutOfData::Region { lat, lon });
        }
        if alt > 30_000.0 {
            return Err(OutOfData::Above { alt, top: 30_000.0 });
        }
        Ok(Wind {
            u: self.u,
            v: self.v,
        })
    }
    fn steady(&self) -> bool {
        true
    }
}

/// A float flight: 3 m/s up to a float at `float_m`, released after
/// `minutes`, falling at 5 m/s.
fn float_flight(lat: f64, lon: f64, float_m: f64, minutes: f64) -> FlightSpec {
    let mut spec = FlightSpec::new(
        Launch {
            lat_deg: lat,
            lon_deg: lon,
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
    spec.float = Some(Float {
        altitude_m: float_m,
        kind: FloatKind::ZeroPressure,
    });
    spec.release = Release::Timer {
        minutes_after_launch: minutes,
    };
    spec
}

fn total(r: &EnsembleResult) -> f64 {
    r.areas.iter().map(|a| a.probability).sum::<f64>() + r.failed_probability
}

/// RMS distance of the landings from their mean, km.
fn spread_km(r: &EnsembleResult) -> f64 {
    let n = r.landings.len() as f64;
    let lat = r.landings.iter().map(|l| l.lat_deg).sum::<f64>() / n;
    let lon = r.landings.iter().map(|l| l.lon_deg).sum::<f64>() / n;
    let ms = r
        .landings
        .iter()
        .map(|l| geo::haversine_m(lat, lon, l.lat_deg, l.lon_deg).powi(2))
        .sum::<f64>()
        / n;
    ms.sqrt() / 1000.0
}

fn arg_of(e: Error) -> &'static str {
    match e {
        Error::Argument { arg, .. } => arg,
        other => panic!("not an argument error: {other}"),
    }
}

#[test]
fn no_spread_in_a_uniform_field_lands_every_member_on_the_deterministic_landing() {
    let field = Uniform::new(4.0, 6.0);
    let base = float_flight(SEOUL.0, SEOUL.1, 5_000.0, 120.0);
    let mut spec = EnsembleSpec::new(base, 64, 1);
    spec.spreads = Spreads::none();
    spec.wind_error = WindError::none();
    let r = ensemble::run(&spec, &field, 1).unwrap();
    let det = model::landing(&base, &field).unwrap();
    assert_eq!(r.landings.len(), 64);
    for l in &r.landings {
        assert_eq!(
            (l.lat_deg, l.lon_deg, l.t_unix_s),
            (det.lat_deg, det.lon_deg, det.t_unix_s)
        );
    }
    let area = geo::area_at(det.lat_deg, det.lon_deg);
    assert_eq!(r.count(area), 64);
    assert_eq!(r.failed, 0);
    assert!(r.winds_held_steady);
    assert_eq!(r.ground, "sea level (no elevation model)");
    assert_eq!(r.density.cells.len(), 1);
    assert_eq!(r.density.cells[0].count, 64);
    // The nominal track ends at the deterministic landing.
    let nominal = r.nominal.as_ref().unwrap();
    let end = nominal.points.last().unwrap();
    assert_eq!((end[0], end[1]), (det.lat_deg, det.lon_deg));
}

#[test]
fn probabilities_and_failures_sum_to_one() {
    // Northward wind, data ends at 37.75 N: members that float far enough
    // north leave it and fail; they are counted, not dropped.
    let mut field = Uniform::new(0.0, 8.0);
    field.lat_max = 37.75;
    let base = float_flight(37.3, 126.9, 5_000.0, 60.0);
    let mut spec = EnsembleSpec::new(base, 400, 3);
    spec.spreads.timer_minutes = 30.0;
    let r = ensemble::run(&spec, &field, 2).unwrap();
    assert!((total(&r) - 1.0).abs() < 1e-12, "{}", total(&r));
    let landed: u32 = r.areas.iter().map(|a| a.count).sum();
    assert_eq!(landed + r.failed, 400);
    assert_eq!(r.landings.len() as u32, landed);
    assert!(
        r.failed > 0 && landed > 0,
        "failed {} landed {landed}",
        r.failed
    );
    assert_eq!(
        r.failure_kinds.iter().map(|k| k.count).sum::<u32>(),
        r.failed
    );
    assert_eq!(r.failure_kinds[0].kind, "left the wind data's region");
    assert!(!r.failures.is_empty() && r.failures.len() <= 20);
    assert!(
        r.failures[0].reason.contains("left the wind data"),
        "{}",
        r.failures[0].reason
    );
    let in_grid: u32 = r.density.cells.iter().map(|c| c.count).sum();
    assert_eq!(in_grid + r.density.outside, landed);
}

#[test]
fn the_seed_alone_decides() {
    let field = Uniform::new(3.0, 7.0);
    let spec = EnsembleSpec::new(float_flight(SEOUL.0, SEOUL.1, 6_000.0, 180.0), 200, 42);
    let a = ensemble::run(&spec, &field, 1).unwrap();
    let b = ensemble::run(&spec, &field, 1).unwrap();
    assert_eq!(a, b);
    let other = EnsembleSpec { seed: 43, ..spec };
    let c = ensemble::run(&other, &field, 1).unwrap();
    assert_ne!(a.landings, c.landings);
}

#[test]
fn thread_count_does_not_change_the_result() {
    let field = Uniform::new(3.0, 7.0);
    let mut spec = EnsembleSpec::new(float_flight(SEOUL.0, SEOUL.1, 6_000.0, 180.0), 301, 9);
    spec.sample_tracks = 5;
    let one = ensemble::run(&spec, &field, 1).unwrap();
    for threads in [2, 3, 8] {
        assert_eq!(
            one,
            ensemble::run(&spec, &field, threads).unwrap(),
            "{threads} threads"
        );
    }
}

#[test]
fn bad_arguments_are_named() {
    let field = Uniform::new(3.0, 7.0);
    let base = float_flight(SEOUL.0, SEOUL.1, 6_000.0, 180.0);
    let spec = EnsembleSpec::new(base, 0, 1);
    let e = ensemble::run(&spec, &field, 1).unwrap_err();
    assert!(e.to_string().starts_with("members: "), "{e}");
    assert_eq!(arg_of(e), "members");

    let ok = EnsembleSpec::new(base, 10, 1);
    assert_eq!(
        arg_of(ensemble::run(&ok, &field, 0).unwrap_err()),
        "threads"
    );

    let mut s = ok;
    s.spreads.float_altitude_m = -1.0;
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "spreads.float_altitude_m"
    );
    let mut s = ok;
    s.spreads.ascent_rel = f64::NAN;
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "spreads.ascent_rel"
    );
    let mut s = ok;
    s.wind_error.modes = 0;
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "wind_error.modes"
    );
    let mut s = ok;
    s.wind_error.correlation_length_km = 0.0;
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "wind_error.correlation_length_km"
    );
    let mut s = ok;
    s.wind_error.forecast_run_unix_s = Some(T0 + 1.0);
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "wind_error.forecast_run_unix_s"
    );
    let mut s = ok;
    s.density_cell_deg = 0.0;
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "density_cell_deg"
    );
    // The base flight's own errors come through with the model's names.
    let mut s = ok;
    s.base.launch.time_unix_s = T0 + 10.0 * 86_400.0;
    assert_eq!(
        arg_of(ensemble::run(&s, &field, 1).unwrap_err()),
        "launch.time_unix_s"
    );
}

#[test]
fn spreads_widen_the_cloud() {
    let field = Uniform::new(5.0, 5.0);
    let base = float_flight(SEOUL.0, SEOUL.1, 6_000.0, 240.0);
    let mut spec = EnsembleSpec::new(base, 300, 5);
    spec.spreads = Spreads::none();
    spec.wind_error = WindError::none();
    let none = spread_km(&ensemble::run(&spec, &field, 2).unwrap());
    spec.spreads = Spreads::default();
    let balloon = spread_km(&ensemble::run(&spec, &field, 2).unwrap());
    spec.wind_error = WindError::default();
    let wind = spread_km(&ensemble::run(&spec, &field, 2).unwrap());
    spec.wind_error.sigma0_m_s = 4.0;
    let more = spread_km(&ensemble::run(&spec, &field, 2).unwrap());
    assert!(none < 1e-6, "{none}");
    assert!(balloon > 1.0, "{balloon}");
    assert!(wind > balloon * 1.5, "{wind} vs {balloon}");
    assert!(more > wind * 1.3, "{more} vs {wind}");
}

#[test]
fn the_wind_error_grows_with_lead_time() {
    let field = Uniform::new(5.0, 5.0);
    let base = float_flight(SEOUL.0, SEOUL.1, 6_000.0, 240.0);
    let mut spec = EnsembleSpec::new(base, 300, 5);
    spec.spreads = Spreads::none();
    let fresh = spread_km(&ensemble::run(&spec, &field, 2).unwrap());
    spec.wind_error.forecast_run_unix_s = Some(T0 - 3.0 * 86_400.0);
    let old = spread_km(&ensemble::run(&spec, &field, 2).unwrap());
    // σ at 0–4 h ≈ 1.6 m/s; at 72–76 h ≈ 4.9 m/s.
    assert!(old > 2.0 * fresh, "{old} vs {fresh}");
    assert!((WindError::default().sigma_m_s(24.0) - 2.628).abs() < 1e-9);
    assert_eq!(WindError::default().sigma_m_s(1000.0), 8.0);
}

#[test]
fn a_wind_pushing_north_from_seoul_lands_in_the_north() {
    // 10 m/s northward for 3 h at 5 km: about 110 km north of Seoul.
    let field = Uniform::new(0.0, 10.0);
    let base = float_flight(SEOUL.0, SEOUL.1, 5_000.0, 180.0);
    let spec = EnsembleSpec::new(base, 500, 11);
    let r = ensemble::run(&spec, &field, 2).unwrap();
    let p = r.probability(Area::Prk);
    assert!(p > 0.9, "P(PRK) = {p}");
    assert!(r.probability(Area::Kor) < 0.05);
    assert_eq!(r.inland.members, r.count(Area::Prk));
    let median = r.inland.median_km.unwrap();
    assert!(median > 30.0 && median < 120.0, "{median} km");
    assert!(r.inland.p90_km.unwrap() >= median);
    assert!(r.inland.max_km.unwrap() >= r.inland.p90_km.unwrap());
    assert_eq!(r.inland.beyond[0].km, 10.0);
    assert!(r.inland.beyond[0].count >= r.inland.beyond[1].count);
}

#[test]
fn the_airport_check_flags_a_flight_over_incheon() {
    // Incheon International, 37.4492 N 126.4509 E. Launched 35 km to its
    // south-west with a north-easterly drift at 4 km: over the airport
    // about 40 minutes later, far below 10 km.
    let base = float_flight(37.22, 126.16, 4_000.0, 120.0);
    let mut spec = EnsembleSpec::new(base, 50, 2);
    spec.sample_tracks = 0;
    spec.spreads = Spreads::none();
    spec.wind_error = WindError::none();
    let toward = ensemble::run(&spec, &Uniform::new(8.0, 8.0), 1).unwrap();
    assert_eq!(toward.airports.members, 50);
    assert_eq!(toward.airports.share, 1.0);
    assert_eq!(toward.airports.airports[0].iata.as_deref(), Some("ICN"));
    assert_eq!(toward.airports.airports[0].count, 50);
    // With the default spreads and wind error most members still pass it
    // (the few that do not pass 10-14 km from it, checked by hand).
    spec.spreads = Spreads::default();
    spec.wind_error = WindError::default();
    let spread = ensemble::run(&spec, &Uniform::new(8.0, 8.0), 1).unwrap();
    assert!(spread.airports.share > 0.8, "{}", spread.airports.share);
    assert_eq!(spread.airports.airports[0].iata.as_deref(), Some("ICN"));
    // Away from it, over the Yellow Sea: nothing.
    let away = ensemble::run(&spec, &Uniform::new(-8.0, -8.0), 1).unwrap();
    assert_eq!(away.airports.members, 0);
    assert!(away.airports.airports.is_empty());
    // Above the altitude limit nothing is flagged: ask for below 100 m
    // only, with a launch 36 km from the airport (and a landing far from
    // any).
    spec.spreads = Spreads::none();
    spec.wind_error = WindError::none();
    spec.airport_below_m = 100.0;
    let high = ensemble::run(&spec, &Uniform::new(8.0, 8.0), 1).unwrap();
    assert_eq!(high.airports.members, 0);
}

#[test]
fn a_members_trajectory_ends_where_the_ensemble_counted_it() {
    let field = Uniform::new(2.0, 9.0);
    let mut spec = EnsembleSpec::new(float_flight(SEOUL.0, SEOUL.1, 6_000.0, 150.0), 20, 77);
    spec.sample_tracks = 3;
    let r = ensemble::run(&spec, &field, 2).unwrap();
    for i in [0u32, 7, 19] {
        let t = ensemble::member_trajectory(&spec, &field, i).unwrap();
        let l = r.landings.iter().find(|l| l.member == i).unwrap();
        assert_eq!(
            (t.landing().lat_deg, t.landing().lon_deg),
            (l.lat_deg, l.lon_deg)
        );
    }
    assert_eq!(r.tracks.len(), 3);
    let last = r.tracks[1].points.last().unwrap();
    let l1 = r.landings.iter().find(|l| l.member == 1).unwrap();
    assert_eq!((last[0], last[1]), (l1.lat_deg, l1.lon_deg));
    assert!(r.tracks.iter().all(|t| t.points.len() <= 240));
}

#[test]
fn member_numbers_follow_the_spreads() {
    let base = float_flight(SEOUL.0, SEOUL.1, 6_000.0, 180.0);
    let spec = EnsembleSpec::new(base, 2000, 8);
    let (mut floats, mut timers) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        let m = ensemble::member_flight(&spec, i);
        floats.push(m.float.unwrap().altitude_m);
        if let Release::Timer {
            minutes_after_launch,
        } = m.release
        {
            timers.push(minutes_after_launch);
        }
    }
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        (mean, sd)
    };
    let (m, sd) = stats(&floats);
    assert!(
        (m - 6000.0).abs() < 20.0 && (sd / 300.0 - 1.0).abs() < 0.08,
        "{m} {sd}"
    );
    let (m, sd) = stats(&timers);
    assert!(
        (m - 180.0).abs() < 0.5 && (sd / 5.0 - 1.0).abs() < 0.08,
        "{m} {sd}"
    );
}
