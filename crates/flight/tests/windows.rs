//! Launch windows in analytic fields whose wind turns with time, so that
//! the best and the forbidden launch times are known.

use baram_flight::ensemble::EnsembleSpec;
use baram_flight::geo::Area;
use baram_flight::model::{Ascent, Descent, Error, FlightSpec, Float, FloatKind, Launch, Release};
use baram_flight::wind::{OutOfData, Wind, WindField};
use baram_flight::windows::{self, WindowsSpec};
use std::f64::consts::TAU;

const T0: f64 = 1_740_000_000.0;
const DAY: f64 = 86_400.0;
const SEOUL: (f64, f64) = (37.5665, 126.9780);

/// A wind turning once a day: from the south (blowing north) at T0,
/// from the north (blowing south) at T0 + 12 h. Forecast T0 − 1 h to
/// T0 + 2 days.
struct Turning {
    speed: f64,
}

impl WindField for Turning {
    fn wind(&self, t: f64, lat: f64, lon: f64, _alt: f64) -> Result<Wind, OutOfData> {
        let (from, to) = (T0 - 3600.0, T0 + 2.0 * DAY);
        if !(from..=to).contains(&t) {
            return Err(OutOfData::Time { t, from, to });
        }
        if !(30.0..=45.0).contains(&lat) || !(115.0..=135.0).contains(&lon) {
            return Err(OutOfData::Region { lat, lon });
        }
        let a = TAU * (t - T0) / DAY;
        Ok(Wind {
            u: 0.3 * self.speed * a.sin(),
            v: self.speed * a.cos(),
        })
    }
}

fn flight(lat: f64, lon: f64) -> FlightSpec {
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
        altitude_m: 5_000.0,
        kind: FloatKind::ZeroPressure,
    });
    spec.release = Release::Timer {
        minutes_after_launch: 150.0,
    };
    spec
}

fn spec(lat: f64, lon: f64, members: u32, from: f64, to: f64) -> WindowsSpec {
    let mut e = EnsembleSpec::new(flight(lat, lon), members, 5);
    e.sample_tracks = 0;
    let mut w = WindowsSpec::new(e, from, to);
    w.every_s = 2.0 * 3600.0;
    w
}

fn arg_of(e: Error) -> &'static str {
    match e {
        Error::Argument { arg, .. } => arg,
        other => panic!("not an argument error: {other}"),
    }
}

#[test]
fn a_turning_wind_ranks_the_northward_hours_first_and_rejects_the_southward() {
    let s = spec(SEOUL.0, SEOUL.1, 150, T0, T0 + 22.0 * 3600.0);
    let r = windows::plan(&s, &Turning { speed: 15.0 }, 2).unwrap();
    assert_eq!(r.candidates.len(), 12);
    assert_eq!(r.target, "PRK");
    assert_eq!(r.own_side, "KOR");
    // In time order.
    for (k, c) in r.candidates.iter().enumerate() {
        assert_eq!(c.launch_unix_s, T0 + k as f64 * 7200.0);
    }
    // The best is the launch whose flight sees the most northward wind:
    // launched at T0 (wind due north, turning) or at T0 + 22 h (the flight
    // centred on T0 + 23.5 h).
    let best = r.best().unwrap();
    assert!(best.p_target > 0.9, "{best:?}");
    assert_eq!(best.rank, Some(1));
    let best_h = (best.launch_unix_s - T0) / 3600.0;
    assert!(best_h == 0.0 || best_h == 22.0, "best at {best_h} h");
    // Around T0 + 12 h the wind blows south: the load comes down in the
    // South, and those hours are rejected for the own side.
    let noon = &r.candidates[6];
    assert!(!noon.accepted);
    assert!(noon.p_own_side > 0.5);
    assert!(
        noon.reasons
            .iter()
            .any(|m| m.starts_with("landing on the own side: P(KOR)")),
        "{:?}",
        noon.reasons
    );
    assert_eq!(noon.rank, None);
    // The ranking holds every accepted candidate, best first, and no other.
    assert_eq!(
        r.ranking.len(),
        r.candidates.iter().filter(|c| c.accepted).count()
    );
    for w in r.ranking.windows(2) {
        assert!(r.candidates[w[0]].p_target >= r.candidates[w[1]].p_target);
    }
    for c in r.candidates.iter().filter(|c| c.accepted) {
        assert!(c.p_own_side <= 0.05 && c.airport_members == 0 && c.p_failed <= 0.05);
    }
    // Seoul City Hall is about 40 km from the MDL: no warning about it.
    assert!(
        r.warnings.iter().all(|w| !w.contains("Demarcation")),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.results.len(), 12);
}

#[test]
fn threads_do_not_change_the_windows() {
    let s = spec(SEOUL.0, SEOUL.1, 40, T0, T0 + 10.0 * 3600.0);
    let one = windows::plan(&s, &Turning { speed: 10.0 }, 1).unwrap();
    let two = windows::plan(&s, &Turning { speed: 10.0 }, 2).unwrap();
    assert_eq!(one, two);
}

#[test]
fn an_airport_on_the_way_rejects_every_candidate() {
    // South-west of Incheon airport with the wind blowing north-east.
    struct NorthEast;
    impl WindField for NorthEast {
        fn wind(&self, t: f64, _: f64, _: f64, _: f64) -> Result<Wind, OutOfData> {
            if !(T0 - 3600.0..=T0 + DAY).contains(&t) {
                return Err(OutOfData::Time {
                    t,
                    from: T0 - 3600.0,
                    to: T0 + DAY,
                });
            }
            Ok(Wind { u: 8.0, v: 8.0 })
        }
    }
    let s = spec(37.33, 126.31, 30, T0, T0 + 4.0 * 3600.0);
    let r = windows::plan(&s, &NorthEast, 2).unwrap();
    assert!(r.ranking.is_empty() && r.best().is_none());
    for c in &r.candidates {
        assert!(!c.accepted);
        let m = c
            .reasons
            .iter()
            .find(|m| m.starts_with("airports:"))
            .unwrap();
        assert!(
            m.contains("Incheon") && m.contains("(ICN)") && m.contains("within 10 km"),
            "{m}"
        );
    }
    assert!(r.warnings.iter().any(|w| w.contains("No candidate")));
}

#[test]
fn a_site_near_the_mdl_is_warned_about() {
    // Imjingak, Paju: a few kilometres from the MDL.
    let s = spec(37.8894, 126.7403, 20, T0, T0);
    let r = windows::plan(&s, &Turning { speed: 10.0 }, 1).unwrap();
    let d = r.site_mdl_distance_m.unwrap();
    assert!(d < 15_000.0, "{d}");
    let w = r
        .warnings
        .iter()
        .find(|w| w.contains("Demarcation"))
        .unwrap();
    assert!(
        w.contains("±1.5 km") && w.contains("2018") && w.contains("25 km") && w.contains("inside"),
        "{w}"
    );
    assert!(windows::mdl_warning(SEOUL.0, SEOUL.1).is_none());
}

#[test]
fn bad_arguments_are_named() {
    let field = Turning { speed: 10.0 };
    let bad = |s: WindowsSpec| arg_of(windows::plan(&s, &field, 2).unwrap_err());
    assert_eq!(bad(spec(SEOUL.0, SEOUL.1, 10, T0 - DAY, T0)), "--from");
    assert_eq!(bad(spec(SEOUL.0, SEOUL.1, 10, T0, T0 + 5.0 * DAY)), "--to");
    assert_eq!(bad(spec(SEOUL.0, SEOUL.1, 10, T0 + 3600.0, T0)), "--to");
    assert_eq!(bad(spec(SEOUL.0, SEOUL.1, 10, T0, f64::NAN)), "--to");
    assert_eq!(bad(spec(20.0, SEOUL.1, 10, T0, T0)), "--site");
    assert_eq!(bad(spec(SEOUL.0, SEOUL.1, 0, T0, T0)), "members");
    let mut s = spec(SEOUL.0, SEOUL.1, 10, T0, T0 + 3600.0);
    s.every_s = 0.0;
    assert_eq!(bad(s), "--every");
    let mut s = spec(SEOUL.0, SEOUL.1, 10, T0, T0 + 3600.0);
    s.max_own_side = 1.5;
    assert_eq!(bad(s), "--max-own-side");
    let mut s = spec(SEOUL.0, SEOUL.1, 10, T0, T0 + 3600.0);
    s.target = Area::Kor;
    assert_eq!(bad(s), "--target");
    let s = spec(SEOUL.0, SEOUL.1, 10, T0, T0 + 3600.0);
    assert_eq!(arg_of(windows::plan(&s, &field, 0).unwrap_err()), "threads");
    let e = windows::plan(&spec(SEOUL.0, SEOUL.1, 10, T0 - DAY, T0), &field, 1).unwrap_err();
    assert!(e.to_string().contains("outside the forecast"), "{e}");
}

#[test]
fn the_result_serialises_to_json() {
    let s = spec(SEOUL.0, SEOUL.1, 20, T0, T0 + 4.0 * 3600.0);
    let r = windows::plan(&s, &Turning { speed: 10.0 }, 2).unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(v["candidates"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["candidates"][0]["launch_time"],
        "2025-02-19T21:20:00.000Z"
    );
    assert_eq!(v["target"], "PRK");
    assert!(v["candidates"][0]["areas"][0]["name_ko"] == "북한");
    assert!(v.get("results").is_none());
    assert_eq!(v["members"], 20);
}
