//! The flight model against exact solutions derived here by hand, in
//! analytic wind fields (uniform, linear shear, solid-body rotation on the
//! sphere), and against high-resolution quadrature of the vertical motion.

use baram_flight::atmosphere;
use baram_flight::model::{
    self, Ascent, Balloon, Descent, Error, Event, FlightSpec, Float, FloatKind, Gas, Launch,
    LeafletCloud, Phase, Release,
};
use baram_flight::wind::{OutOfData, Wind, WindField};
use std::f64::consts::PI;

const R: f64 = 6_371_009.0;
const T0: f64 = 1_740_000_000.0;
const LAT0: f64 = 37.5;
const LON0: f64 = 126.6;

// ---------------------------------------------------------------------------
// Analytic wind fields

/// Uniform wind inside a box of time, region and altitude.
struct Uniform {
    u: f64,
    v: f64,
    t_to: f64,
    top: f64,
}

impl Uniform {
    fn new(u: f64, v: f64) -> Self {
        Uniform {
            u,
            v,
            t_to: T0 + 10.0 * 86_400.0,
            top: 40_000.0,
        }
    }
}

impl WindField for Uniform {
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        let from = T0 - 3600.0;
        if t < from || t > self.t_to {
            return Err(OutOfData::Time {
                t,
                from,
                to: self.t_to,
            });
        }
        if !(20.0..=60.0).contains(&lat) || !(100.0..=160.0).contains(&lon) {
            return Err(OutOfData::Region { lat, lon });
        }
        if alt > self.top {
            return Err(OutOfData::Above { alt, top: self.top });
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

/// u = a h, v = 0.
struct Shear {
    a: f64,
}

impl WindField for Shear {
    fn wind(&self, _t: f64, _lat: f64, _lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        Ok(Wind {
            u: self.a * alt,
            v: 0.0,
        })
    }
}

type V3 = [f64; 3];

fn unit(lat: f64, lon: f64) -> V3 {
    let (p, l) = (lat.to_radians(), lon.to_radians());
    [p.cos() * l.cos(), p.cos() * l.sin(), p.sin()]
}

fn latlon(r: V3) -> (f64, f64) {
    (
        r[2].atan2(r[0].hypot(r[1])).to_degrees(),
        r[1].atan2(r[0]).to_degrees(),
    )
}

fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Rodrigues: `v` rotated by `angle` about unit `k`.
fn rotate(v: V3, k: V3, angle: f64) -> V3 {
    let (s, c) = angle.sin_cos();
    let kxv = cross(k, v);
    let kv = dot(k, v);
    [0, 1, 2].map(|i| v[i] * c + kxv[i] * s + k[i] * kv * (1.0 - c))
}

/// Great-circle distance on the sphere of radius R, m.
fn distance(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let a = unit(lat1, lon1);
    let b = unit(lat2, lon2);
    R * cross(a, b)
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .atan2(dot(a, b))
}

/// Rigid rotation of the atmosphere about the axis through `center` at
/// angular speed `omega` (rad/s, counter-clockwise seen from above):
/// velocity ω (R + h) p̂ × r̂, so every parcel circles the centre at the same
/// angular speed at every altitude, and the exact trajectory is r̂(t) =
/// rotation of r̂(0) by ω t about p̂.
struct Rotation {
    p: V3,
    omega: f64,
}

impl WindField for Rotation {
    fn wind(&self, _t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        let (phi, lam) = (lat.to_radians(), lon.to_radians());
        let r = unit(lat, lon);
        let vel = cross(self.p, r).map(|x| x * self.omega * (R + alt));
        let east = [-lam.sin(), lam.cos(), 0.0];
        let north = [-phi.sin() * lam.cos(), -phi.sin() * lam.sin(), phi.cos()];
        Ok(Wind {
            u: dot(vel, east),
            v: dot(vel, north),
        })
    }
}

// ---------------------------------------------------------------------------
// Reference vertical motion, written out here from the NASA Glenn formulas

/// NASA Glenn atmosphere density with Tawhiri's layer bounds, as published
/// (T in °C, p in kPa).
fn glenn_rho(h: f64) -> f64 {
    let (t, p) = if h > 25_000.0 {
        let t = -131.21 + 0.00299 * h;
        (t, 2.488 * ((t + 273.1) / 216.6).powf(-11.388))
    } else if h > 11_000.0 {
        (-56.46, 22.65 * (1.73 - 0.000157 * h).exp())
    } else {
        let t = 15.04 - 0.00649 * h;
        (t, 101.29 * ((t + 273.1) / 288.08).powf(5.256))
    };
    p / (0.2869 * (t + 273.1))
}

/// Composite Simpson on [a, b] with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let n = n + n % 2;
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// ∫ f over [0, top], split at the NASA fit's layer bounds (where the
/// density jumps), with 1e6 Simpson intervals in all.
fn integrate_descent(f: impl Fn(f64) -> f64, top: f64) -> f64 {
    let mut cuts = vec![0.0];
    for b in [11_000.0, 25_000.0] {
        if b < top {
            cuts.push(b);
        }
    }
    cuts.push(top);
    let mut total = 0.0;
    for w in cuts.windows(2) {
        let n = ((1e6 * (w[1] - w[0]) / top) as usize).max(1000);
        // Evaluate just inside each layer, as the model does on each side.
        let (a, b) = (w[0], w[1]);
        let eps = 1e-9;
        total += simpson(|h| f(h.clamp(a + eps, b)), a, b, n);
    }
    total
}

/// Descent speed at h, m/s (Tawhiri: 1.1045 v_sea / sqrt(rho)).
fn descent_speed(v_sea: f64, h: f64) -> f64 {
    1.1045 * v_sea / glenn_rho(h).sqrt()
}

/// Time to fall from `top` to 0, s.
fn descent_time(v_sea: f64, top: f64) -> f64 {
    integrate_descent(|h| 1.0 / descent_speed(v_sea, h), top)
}

/// ∫ dt / (R + h) over the fall from `top`, s/m.
fn descent_phi(v_sea: f64, top: f64) -> f64 {
    integrate_descent(|h| 1.0 / (descent_speed(v_sea, h) * (R + h)), top)
}

/// ∫ dt / (R + h) over a constant-rate ascent from h0 to h1.
fn ascent_phi(rate: f64, h0: f64, h1: f64) -> f64 {
    ((R + h1) / (R + h0)).ln() / rate
}

// ---------------------------------------------------------------------------
// Specs

fn launch() -> Launch {
    Launch {
        lat_deg: LAT0,
        lon_deg: LON0,
        time_unix_s: T0,
        alt_m: 0.0,
    }
}

fn burst_flight(rate: f64, burst: f64, v_sea: f64) -> FlightSpec {
    FlightSpec::new(
        launch(),
        Ascent::ConstantRate {
            rate_m_s: rate,
            burst_altitude_m: burst,
        },
        Descent::Payload {
            sea_level_rate_m_s: v_sea,
        },
    )
}

fn argument_name(e: Error) -> &'static str {
    match e {
        Error::Argument { arg, .. } => arg,
        other => panic!("expected an argument error, got {other}"),
    }
}

// ---------------------------------------------------------------------------
// Exact trajectories

/// Uniform east wind: latitude constant, lon = lon0 + u/cos(lat0) ∫dt/(R+h).
#[test]
fn uniform_east_wind_matches_the_exact_solution() {
    let (u, rate, burst, v_sea) = (12.0, 5.0, 30_000.0, 5.0);
    let traj = model::predict(&burst_flight(rate, burst, v_sea), &Uniform::new(u, 0.0)).unwrap();
    let phi_up = ascent_phi(rate, 0.0, burst);
    let t_burst = T0 + burst / rate;
    let b = traj.event(Event::Burst).unwrap();
    let lon_b = LON0 + (u * phi_up / LAT0.to_radians().cos()).to_degrees();
    assert!(
        (b.t_unix_s - t_burst).abs() < 1e-6,
        "burst time {}",
        b.t_unix_s - t_burst
    );
    let err_b = distance(b.lat_deg, b.lon_deg, LAT0, lon_b);
    let phi = phi_up + descent_phi(v_sea, burst);
    let land = traj.landing();
    let lon_l = LON0 + (u * phi / LAT0.to_radians().cos()).to_degrees();
    let err_l = distance(land.lat_deg, land.lon_deg, LAT0, lon_l);
    let hours = (land.t_unix_s - T0) / 3600.0;
    eprintln!(
        "uniform east: burst error {err_b:.2e} m, landing error {err_l:.2e} m over {hours:.2} h"
    );
    assert_eq!(land.lat_deg, LAT0);
    assert!(err_b < 1.0 * hours && err_l < 1.0 * hours);
    // Every recorded point on the exact solution too.
    for p in traj.balloon() {
        let phi = ascent_phi(rate, 0.0, p.alt_m);
        let lon = LON0 + (u * phi / LAT0.to_radians().cos()).to_degrees();
        assert!(
            distance(p.lat_deg, p.lon_deg, LAT0, lon) < 0.01,
            "at {} m",
            p.alt_m
        );
    }
    assert!(traj.winds_steady());
}

/// Pure north wind: lat = lat0 + v ∫dt/(R+h), longitude constant.
#[test]
fn pure_north_wind_matches_the_exact_solution() {
    let (v, rate, burst, v_sea) = (15.0, 4.0, 28_000.0, 6.0);
    let traj = model::predict(&burst_flight(rate, burst, v_sea), &Uniform::new(0.0, v)).unwrap();
    let phi = ascent_phi(rate, 0.0, burst) + descent_phi(v_sea, burst);
    let land = traj.landing();
    let lat = LAT0 + (v * phi).to_degrees();
    let err = distance(land.lat_deg, land.lon_deg, lat, LON0);
    let hours = (land.t_unix_s - T0) / 3600.0;
    eprintln!("pure north: landing error {err:.2e} m over {hours:.2} h");
    assert_eq!(land.lon_deg, LON0);
    assert!(err < 1.0 * hours);
}

/// Uniform (u, v): lat = lat0 + v Φ and, since dlon/dlat = u / (v cos lat),
/// the rhumb line lon − lon0 = (u/v) (ψ(lat) − ψ(lat0)), ψ = ln tan(π/4 +
/// lat/2).
#[test]
fn uniform_oblique_wind_follows_the_rhumb_line() {
    let (u, v, rate, burst, v_sea) = (20.0, -9.0, 5.0, 32_000.0, 4.0);
    let traj = model::predict(&burst_flight(rate, burst, v_sea), &Uniform::new(u, v)).unwrap();
    let phi = ascent_phi(rate, 0.0, burst) + descent_phi(v_sea, burst);
    let lat = LAT0.to_radians() + v * phi;
    let psi = |x: f64| (PI / 4.0 + x / 2.0).tan().ln();
    let lon = LON0 + (u / v * (psi(lat) - psi(LAT0.to_radians()))).to_degrees();
    let land = traj.landing();
    let err = distance(land.lat_deg, land.lon_deg, lat.to_degrees(), lon);
    let hours = (land.t_unix_s - T0) / 3600.0;
    eprintln!("oblique: landing error {err:.2e} m over {hours:.2} h");
    assert!(err < 1.0 * hours);
}

/// u = a h: on the ascent ∫ a h/(R+h) dt = (a/w) [(h − h0) − R ln((R+h)/(R+h0))];
/// on the descent the same integrand over dh / |w(h)| by quadrature.
#[test]
fn linear_shear_matches_the_closed_form() {
    let (a, rate, burst, v_sea) = (0.0015, 5.0, 30_000.0, 5.0);
    let traj = model::predict(&burst_flight(rate, burst, v_sea), &Shear { a }).unwrap();
    let up = a / rate * (burst - R * ((R + burst) / R).ln());
    let b = traj.event(Event::Burst).unwrap();
    let coslat = LAT0.to_radians().cos();
    let lon_b = LON0 + (up / coslat).to_degrees();
    let err_b = distance(b.lat_deg, b.lon_deg, LAT0, lon_b);
    let down = integrate_descent(|h| a * h / ((R + h) * descent_speed(v_sea, h)), burst);
    let lon_l = LON0 + ((up + down) / coslat).to_degrees();
    let land = traj.landing();
    let err_l = distance(land.lat_deg, land.lon_deg, LAT0, lon_l);
    let hours = (land.t_unix_s - T0) / 3600.0;
    eprintln!("shear: burst error {err_b:.2e} m, landing error {err_l:.2e} m over {hours:.2} h");
    assert!(err_b < 1.0 * hours && err_l < 1.0 * hours);
}

fn rotation_field() -> (Rotation, V3) {
    let p = unit(38.0, 127.0);
    (
        Rotation {
            p,
            omega: 2.0 * PI / (6.0 * 3600.0),
        },
        p,
    )
}

fn rotation_flight(step: f64) -> FlightSpec {
    let mut spec = FlightSpec::new(
        Launch {
            lat_deg: 38.9,
            lon_deg: 127.0,
            time_unix_s: T0,
            alt_m: 0.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 4.0,
            burst_altitude_m: 30_000.0,
        },
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    spec.float = Some(Float {
        altitude_m: 12_000.0,
        kind: FloatKind::ZeroPressure,
    });
    spec.release = Release::Timer {
        minutes_after_launch: 360.0,
    };
    spec.step_s = step;
    spec
}

/// Solid-body rotation on the sphere: the exact position after time t is
/// the launch point rotated by ω t about the centre, whatever the altitude.
#[test]
fn solid_body_rotation_matches_the_exact_rotation() {
    let (field, p) = rotation_field();
    let traj = model::predict(&rotation_flight(30.0), &field).unwrap();
    let r0 = unit(38.9, 127.0);
    let exact = |t: f64| latlon(rotate(r0, p, field.omega * (t - T0)));
    let rel = traj.event(Event::Release).unwrap();
    assert_eq!(rel.t_unix_s, T0 + 21_600.0);
    assert_eq!(rel.alt_m, 12_000.0);
    let t_land = T0 + 21_600.0 + descent_time(5.0, 12_000.0);
    let land = traj.landing();
    assert!(
        (land.t_unix_s - t_land).abs() < 1e-3,
        "landing time off by {} s",
        land.t_unix_s - t_land
    );
    let (lat, lon) = exact(land.t_unix_s);
    let err = distance(land.lat_deg, land.lon_deg, lat, lon);
    let hours = (land.t_unix_s - T0) / 3600.0;
    let mut worst: f64 = 0.0;
    for q in traj.balloon().iter().chain(traj.falls()[0].points()) {
        let (lat, lon) = exact(q.t_unix_s);
        worst = worst.max(distance(q.lat_deg, q.lon_deg, lat, lon));
    }
    eprintln!("rotation: landing error {err:.2e} m, worst point {worst:.2e} m over {hours:.2} h");
    assert!(err < 1.0 * hours && worst < 1.0 * hours);
}

/// RK4 is fourth order: halving the step divides the error by about 16.
#[test]
fn rotation_error_converges_at_fourth_order() {
    let (field, p) = rotation_field();
    let r0 = unit(38.9, 127.0);
    let errors: Vec<f64> = [600.0, 300.0, 150.0]
        .iter()
        .map(|&step| {
            let traj = model::predict(&rotation_flight(step), &field).unwrap();
            let rel = traj.event(Event::Release).unwrap();
            let (lat, lon) = latlon(rotate(r0, p, field.omega * (rel.t_unix_s - T0)));
            distance(rel.lat_deg, rel.lon_deg, lat, lon)
        })
        .collect();
    eprintln!("rotation errors at 600/300/150 s steps: {errors:?}");
    for w in errors.windows(2) {
        let ratio = w[0] / w[1];
        assert!((12.0..20.0).contains(&ratio), "ratio {ratio}");
    }
}

/// Phase ends are exact: burst at the burst altitude, landing at 0, at the
/// analytic times.
#[test]
fn burst_and_ground_are_found_exactly() {
    let (rate, burst, v_sea) = (5.0, 27_345.6, 4.5);
    for step in [30.0, 60.0, 7.0] {
        let mut spec = burst_flight(rate, burst, v_sea);
        spec.step_s = step;
        let traj = model::predict(&spec, &Uniform::new(7.0, 3.0)).unwrap();
        let b = traj.event(Event::Burst).unwrap();
        assert!((b.alt_m - burst).abs() < 1e-6);
        assert!((b.t_unix_s - (T0 + burst / rate)).abs() < 1e-6);
        let land = traj.landing();
        assert!(land.alt_m.abs() < 1e-6);
        assert_eq!(land.event, Some(Event::Landing));
        let t_exact = T0 + burst / rate + descent_time(v_sea, burst);
        let dt = land.t_unix_s - t_exact;
        eprintln!("step {step} s: landing time error {dt:.2e} s");
        assert!(dt.abs() < 1e-3, "step {step}: landing time off by {dt} s");
        // No recorded point below ground or above the burst.
        for q in traj.balloon().iter().chain(traj.falls()[0].points()) {
            assert!(q.alt_m >= 0.0 && q.alt_m <= burst);
        }
    }
}

/// A time-varying, sheared and rotating field for the step-halving test.
struct Swirl;

impl WindField for Swirl {
    fn wind(&self, t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        let s = (t - T0) / 86_400.0 * 2.0 * PI;
        let (x, y) = ((lon - 127.0) * 88_000.0, (lat - 38.0) * 111_000.0);
        let omega = 1e-4 * (1.0 + alt / 20_000.0);
        Ok(Wind {
            u: 5.0 + 0.0012 * alt + 4.0 * s.sin() - omega * y,
            v: 2.0 * (s + alt / 5000.0).cos() + omega * x,
        })
    }
}

/// Halving the step (30 s → 15 s) moves the landing by far less than 50 m.
#[test]
fn halving_the_step_barely_moves_the_landing() {
    let balloon = Balloon {
        gas: Gas::Helium,
        balloon_mass_kg: 1.2,
        payload_mass_kg: 1.0,
        free_lift_kg: 1.5,
        burst_diameter_m: 8.63,
        drag_coefficient: 0.3,
    };
    let mut spec = FlightSpec::new(
        launch(),
        Ascent::Balloon(balloon),
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    spec.float = Some(Float {
        altitude_m: 18_000.0,
        kind: FloatKind::SuperPressure {
            leak_percent_per_hour: 2.0,
        },
    });
    spec.release = Release::Timer {
        minutes_after_launch: 360.0,
    };
    let a = model::landing(&spec, &Swirl).unwrap();
    spec.step_s = 15.0;
    let b = model::landing(&spec, &Swirl).unwrap();
    let moved = distance(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
    eprintln!(
        "step halving (float flight): landing moved {moved:.2e} m, time {:.2e} s",
        a.t_unix_s - b.t_unix_s
    );
    assert!(moved < 50.0);

    let mut spec = burst_flight(5.0, 30_000.0, 5.0);
    let a = model::landing(&spec, &Swirl).unwrap();
    spec.step_s = 15.0;
    let b = model::landing(&spec, &Swirl).unwrap();
    let moved = distance(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
    eprintln!("step halving (burst flight): landing moved {moved:.2e} m");
    assert!(moved < 50.0);
}

// ---------------------------------------------------------------------------
// Float, release, leaflets, balloon physics

/// Zero-pressure float with a timer release: altitude exact during the float,
/// release at the exact time, position exact in a uniform wind.
#[test]
fn zero_pressure_float_with_timer_release() {
    let (u, rate, float, v_sea, minutes) = (9.0, 3.0, 8_000.0, 5.0, 123.4);
    let mut spec = burst_flight(rate, 30_000.0, v_sea);
    spec.float = Some(Float {
        altitude_m: float,
        kind: FloatKind::ZeroPressure,
    });
    spec.release = Release::Timer {
        minutes_after_launch: minutes,
    };
    let traj = model::predict(&spec, &Uniform::new(u, 0.0)).unwrap();
    let reached = traj.event(Event::FloatReached).unwrap();
    assert_eq!(reached.alt_m, float);
    assert!((reached.t_unix_s - (T0 + float / rate)).abs() < 1e-6);
    let rel = traj.event(Event::Release).unwrap();
    assert_eq!(rel.t_unix_s, T0 + minutes * 60.0);
    assert!(traj.event(Event::Burst).is_none());
    for q in traj.balloon().iter().filter(|q| q.phase == Phase::Float) {
        assert_eq!(q.alt_m, float);
    }
    let phi = ascent_phi(rate, 0.0, float)
        + (minutes * 60.0 - float / rate) / (R + float)
        + descent_phi(v_sea, float);
    let lon = LON0 + (u * phi / LAT0.to_radians().cos()).to_degrees();
    let land = traj.landing();
    let err = distance(land.lat_deg, land.lon_deg, LAT0, lon);
    let hours = (land.t_unix_s - T0) / 3600.0;
    eprintln!("zero-pressure float: landing error {err:.2e} m over {hours:.2} h");
    assert!(err < hours);
    assert!((land.t_unix_s - (rel.t_unix_s + descent_time(v_sea, float))).abs() < 1e-3);
}

/// A leaking super-pressure balloon sinks so that ρ(h(t)) = ρ(h_f) e^{kt}.
#[test]
fn super_pressure_leak_lowers_the_float_as_modelled() {
    let (float, leak, minutes) = (18_000.0, 3.0, 600.0);
    let mut spec = burst_flight(5.0, 30_000.0, 5.0);
    spec.float = Some(Float {
        altitude_m: float,
        kind: FloatKind::SuperPressure {
            leak_percent_per_hour: leak,
        },
    });
    spec.release = Release::Timer {
        minutes_after_launch: minutes,
    };
    let traj = model::predict(&spec, &Uniform::new(5.0, 0.0)).unwrap();
    let t_float = traj.event(Event::FloatReached).unwrap().t_unix_s;
    let rho_f = atmosphere::isa(float).density_kg_m3;
    let k = leak / 100.0 / 3600.0;
    let mut checked = 0;
    for q in traj.balloon().iter().filter(|q| q.phase == Phase::Float) {
        let want = rho_f * (k * (q.t_unix_s - t_float)).exp();
        let got = atmosphere::isa(q.alt_m).density_kg_m3;
        assert!(
            (got / want - 1.0).abs() < 1e-9,
            "at {} s: {got} vs {want}",
            q.t_unix_s - t_float
        );
        checked += 1;
    }
    assert!(checked > 900);
    let rel = traj.event(Event::Release).unwrap();
    // 3 %/h for 9 h in a 6.3 km scale height: about 1.7 km lower.
    assert!(
        rel.alt_m < float - 1_500.0 && rel.alt_m > float - 2_000.0,
        "{}",
        rel.alt_m
    );
}

/// A leak strong enough brings the balloon down with its payload.
#[test]
fn a_leaking_float_can_land_before_release() {
    let mut spec = burst_flight(5.0, 30_000.0, 5.0);
    spec.float = Some(Float {
        altitude_m: 3_000.0,
        kind: FloatKind::SuperPressure {
            leak_percent_per_hour: 50.0,
        },
    });
    spec.release = Release::Timer {
        minutes_after_launch: 600.0,
    };
    let traj = model::predict(&spec, &Uniform::new(5.0, 0.0)).unwrap();
    let land = traj.landing();
    assert_eq!(land.alt_m, 0.0);
    assert_eq!(land.phase, Phase::Float);
    assert!(traj.event(Event::Release).is_none());
    // ρ(0)/ρ(3000) = e^{k t}.
    let t_float = traj.event(Event::FloatReached).unwrap().t_unix_s;
    let k = 0.5 / 3600.0;
    let t = (atmosphere::isa(0.0).density_kg_m3 / atmosphere::isa(3000.0).density_kg_m3).ln() / k;
    assert!((land.t_unix_s - t_float - t).abs() < 1e-3);
}

#[test]
fn release_at_an_altitude_during_ascent() {
    let mut spec = burst_flight(5.0, 30_000.0, 5.0);
    spec.release = Release::Altitude {
        altitude_m: 12_345.0,
    };
    let traj = model::predict(&spec, &Uniform::new(5.0, 0.0)).unwrap();
    let rel = traj.event(Event::Release).unwrap();
    assert_eq!(rel.alt_m, 12_345.0);
    assert!(traj.event(Event::Burst).is_none());
    assert!(
        (traj.landing().t_unix_s - (T0 + 12_345.0 / 5.0 + descent_time(5.0, 12_345.0))).abs()
            < 1e-3
    );
}

#[test]
fn a_timer_after_the_burst_releases_at_burst() {
    let mut spec = burst_flight(5.0, 20_000.0, 5.0);
    spec.release = Release::Timer {
        minutes_after_launch: 600.0,
    };
    let traj = model::predict(&spec, &Uniform::new(5.0, 0.0)).unwrap();
    assert_eq!(traj.event(Event::Burst).unwrap().alt_m, 20_000.0);
    assert_eq!(traj.falls()[0].points()[0].alt_m, 20_000.0);
}

fn cloud(count: u32, seed: u64) -> FlightSpec {
    let mut spec = burst_flight(5.0, 20_000.0, 1.0);
    spec.descent = Descent::Leaflets(LeafletCloud {
        count,
        sea_level_rate_m_s: 2.0,
        spread_m_s: 0.5,
        seed,
    });
    spec
}

#[test]
fn leaflet_cloud_is_reproducible_and_within_its_spread() {
    let field = Uniform::new(10.0, 2.0);
    let a = model::predict(&cloud(7, 42), &field).unwrap();
    let b = model::predict(&cloud(7, 42), &field).unwrap();
    assert_eq!(a, b);
    let c = model::predict(&cloud(7, 43), &field).unwrap();
    assert_ne!(
        a.falls()[0].sea_level_rate_m_s(),
        c.falls()[0].sea_level_rate_m_s()
    );
    assert_eq!(a.falls().len(), 7);
    let rates = model::descent_rates(&cloud(7, 42).descent).unwrap();
    for (f, r) in a.falls().iter().zip(&rates) {
        assert_eq!(f.sea_level_rate_m_s(), *r);
        assert!((1.5..=2.5).contains(r));
        // Each leaflet its own trajectory: its own analytic descent time.
        let t = f.landing().t_unix_s - f.points()[0].t_unix_s;
        assert!((t - descent_time(*r, 20_000.0)).abs() < 1e-3);
        assert_eq!(f.landing().alt_m, 0.0);
    }
    // Slower leaflets drift further in a uniform wind.
    let mut by_rate: Vec<_> = a.falls().iter().collect();
    by_rate.sort_by(|x, y| x.sea_level_rate_m_s().total_cmp(&y.sea_level_rate_m_s()));
    for w in by_rate.windows(2) {
        assert!(w[0].landing().lon_deg > w[1].landing().lon_deg);
    }
    // landings_into gives the same landings.
    let mut out = Vec::new();
    model::landings_into(&cloud(7, 42), &field, &mut out).unwrap();
    assert_eq!(out.len(), 7);
    for (p, f) in out.iter().zip(a.falls()) {
        assert_eq!(p, f.landing());
    }
}

#[test]
fn leaflet_rates_fill_the_spread_uniformly() {
    let rates = model::descent_rates(&cloud(100_000, 7).descent).unwrap();
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!((mean - 2.0).abs() < 0.005, "{mean}");
    assert!((1.5..1.501).contains(&min) && max <= 2.5 && max > 2.499);
    // Uniform: a quarter of the draws in each quarter of the range.
    let q = rates.iter().filter(|&&r| r < 1.75).count() as f64 / rates.len() as f64;
    assert!((q - 0.25).abs() < 0.01, "{q}");
}

/// Balloon physics against the formulas worked by hand: gas amount from the
/// free lift, launch diameter from the ISA sea-level density 1.225, ascent
/// rate from lift = drag; burst where the diameter is the burst diameter.
#[test]
fn balloon_physics_matches_the_hand_calculation() {
    let b = Balloon {
        gas: Gas::Helium,
        balloon_mass_kg: 1.2,
        payload_mass_kg: 1.0,
        free_lift_kg: 1.5,
        burst_diameter_m: 8.63,
        drag_coefficient: 0.3,
    };
    let mut spec = FlightSpec::new(
        launch(),
        Ascent::Balloon(b),
        Descent::Payload {
            sea_level_rate_m_s: 5.0,
        },
    );
    spec.step_s = 1.0;
    let traj = model::predict(&spec, &Uniform::new(0.0, 0.0)).unwrap();
    let n = (1.5 + 1.2 + 1.0) / (0.0289644 - 0.004002602);
    let v0 = n * 0.0289644 / 1.225;
    let d0 = (6.0 * v0 / PI).cbrt();
    let w0 = (2.0 * 1.5 * 9.80665 / (0.3 * 1.225 * PI * d0 * d0 / 4.0)).sqrt();
    let p = traj.balloon();
    let w_model = (p[1].alt_m - p[0].alt_m) / (p[1].t_unix_s - p[0].t_unix_s);
    eprintln!("balloon: launch diameter {d0:.3} m, ascent rate {w0:.4} m/s (model {w_model:.4})");
    assert!((w_model / w0 - 1.0).abs() < 1e-3);
    // At burst, the volume n M/ρ has the burst diameter.
    let burst = traj.event(Event::Burst).unwrap();
    let vb = n * 0.0289644 / atmosphere::isa(burst.alt_m).density_kg_m3;
    assert!(((6.0 * vb / PI).cbrt() / 8.63 - 1.0).abs() < 1e-9);
    // Tabulated US 1976 densities bracket it: ρ_burst ≈ 0.0134 kg/m³ lies
    // between 30 km (0.01841) and 35 km (0.008463) geometric.
    let rho_b = n * 0.0289644 / (PI * 8.63f64.powi(3) / 6.0);
    assert!(rho_b < 0.01841 && rho_b > 0.008463);
    let (lo, hi) = (
        atmosphere::geometric_to_geopotential(30_000.0),
        atmosphere::geometric_to_geopotential(35_000.0),
    );
    assert!(burst.alt_m > lo && burst.alt_m < hi, "{}", burst.alt_m);
    // The ascent time is ∫ dh / w(h), w = w0 (ρ0/ρ)^(1/6).
    let t_up = simpson(
        |h| (atmosphere::isa(h).density_kg_m3 / 1.225).powf(1.0 / 6.0) / w0,
        0.0,
        burst.alt_m,
        200_000,
    );
    assert!(
        (burst.t_unix_s - T0 - t_up).abs() < 0.05,
        "{} vs {t_up}",
        burst.t_unix_s - T0
    );
}

// ---------------------------------------------------------------------------
// Bad arguments and leaving the data

#[test]
fn bad_arguments_are_named() {
    let field = Uniform::new(5.0, 0.0);
    let name = |spec: FlightSpec| argument_name(model::predict(&spec, &field).unwrap_err());

    assert_eq!(name(burst_flight(-5.0, 30_000.0, 5.0)), "ascent.rate_m_s");
    assert_eq!(name(burst_flight(0.0, 30_000.0, 5.0)), "ascent.rate_m_s");
    assert_eq!(
        name(burst_flight(f64::NAN, 30_000.0, 5.0)),
        "ascent.rate_m_s"
    );
    assert_eq!(
        name(burst_flight(5.0, 30_000.0, -5.0)),
        "descent.sea_level_rate_m_s"
    );
    assert_eq!(
        name(burst_flight(5.0, -1.0, 5.0)),
        "ascent.burst_altitude_m"
    );

    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.launch.lat_deg = f64::NAN;
    assert_eq!(name(s), "launch.lat_deg");
    s.launch.lat_deg = 95.0;
    assert_eq!(name(s), "launch.lat_deg");

    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.launch.lon_deg = f64::INFINITY;
    assert_eq!(name(s), "launch.lon_deg");

    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.launch.alt_m = -3.0;
    assert_eq!(name(s), "launch.alt_m");

    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.step_s = 0.0;
    assert_eq!(name(s), "step_s");
    s.step_s = -30.0;
    assert_eq!(name(s), "step_s");

    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.max_duration_s = f64::NAN;
    assert_eq!(name(s), "max_duration_s");

    // Float above the burst, at/below launch, above the data's top.
    let float = |alt: f64| {
        let mut s = burst_flight(5.0, 30_000.0, 5.0);
        s.float = Some(Float {
            altitude_m: alt,
            kind: FloatKind::ZeroPressure,
        });
        s.release = Release::Timer {
            minutes_after_launch: 300.0,
        };
        s
    };
    assert_eq!(name(float(31_000.0)), "float.altitude_m");
    assert_eq!(name(float(0.0)), "float.altitude_m");
    let mut s = float(41_000.0);
    s.ascent = Ascent::ConstantRate {
        rate_m_s: 5.0,
        burst_altitude_m: 45_000.0,
    };
    let e = model::predict(&s, &field).unwrap_err();
    assert!(e.to_string().contains("above the top level"), "{e}");
    assert_eq!(argument_name(e), "float.altitude_m");
    let mut s = float(20_000.0);
    s.float = Some(Float {
        altitude_m: 20_000.0,
        kind: FloatKind::SuperPressure {
            leak_percent_per_hour: -1.0,
        },
    });
    assert_eq!(name(s), "float.leak_percent_per_hour");
    let mut s = float(20_000.0);
    s.release = Release::AtBurst;
    assert_eq!(name(s), "release");

    // A burst above the data's top.
    assert_eq!(
        name(burst_flight(5.0, 45_000.0, 5.0)),
        "ascent.burst_altitude_m"
    );

    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.release = Release::Timer {
        minutes_after_launch: -1.0,
    };
    assert_eq!(name(s), "release.minutes_after_launch");
    s.release = Release::Altitude {
        altitude_m: 31_000.0,
    };
    assert_eq!(name(s), "release.altitude_m");

    // Zero leaflets, bad spreads.
    assert_eq!(name(cloud(0, 1)), "descent.count");
    let mut s = cloud(10, 1);
    s.descent = Descent::Leaflets(LeafletCloud {
        count: 10,
        sea_level_rate_m_s: 1.0,
        spread_m_s: 1.0,
        seed: 1,
    });
    assert_eq!(name(s), "descent.spread_m_s");
    s.descent = Descent::Leaflets(LeafletCloud {
        count: 10,
        sea_level_rate_m_s: 1.0,
        spread_m_s: -0.1,
        seed: 1,
    });
    assert_eq!(name(s), "descent.spread_m_s");

    // Balloon physics numbers.
    let balloon = |f: &dyn Fn(&mut Balloon)| {
        let mut b = Balloon {
            gas: Gas::Hydrogen,
            balloon_mass_kg: 0.6,
            payload_mass_kg: 0.5,
            free_lift_kg: 0.8,
            burst_diameter_m: 6.0,
            drag_coefficient: 0.3,
        };
        f(&mut b);
        let mut s = burst_flight(5.0, 30_000.0, 5.0);
        s.ascent = Ascent::Balloon(b);
        s
    };
    assert!(model::predict(&balloon(&|_| {}), &field).is_ok());
    assert_eq!(
        name(balloon(&|b| b.free_lift_kg = -0.1)),
        "ascent.free_lift_kg"
    );
    assert_eq!(
        name(balloon(&|b| b.payload_mass_kg = f64::NAN)),
        "ascent.payload_mass_kg"
    );
    assert_eq!(
        name(balloon(&|b| b.burst_diameter_m = 0.5)),
        "ascent.burst_diameter_m"
    );
    assert_eq!(
        name(balloon(&|b| b.burst_diameter_m = 500.0)),
        "ascent.burst_diameter_m"
    );
    assert_eq!(
        name(balloon(&|b| b.drag_coefficient = 0.0)),
        "ascent.drag_coefficient"
    );
}

#[test]
fn a_launch_outside_the_data_is_an_argument_error() {
    let field = Uniform::new(5.0, 0.0);
    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.launch.time_unix_s = T0 - 86_400.0;
    let e = model::predict(&s, &field).unwrap_err();
    assert_eq!(argument_name(e.clone()), "launch.time_unix_s");
    assert!(e.to_string().contains("outside the forecast"), "{e}");
    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.launch.lon_deg = 90.0;
    assert_eq!(
        argument_name(model::predict(&s, &field).unwrap_err()),
        "launch.lat_deg/launch.lon_deg"
    );
}

#[test]
fn leaving_the_data_says_where_and_when() {
    let mut field = Uniform::new(5.0, 0.0);
    field.t_to = T0 + 3600.0;
    let e = model::predict(&burst_flight(5.0, 30_000.0, 5.0), &field).unwrap_err();
    match &e {
        Error::LeftData {
            phase,
            t_unix_s,
            source: OutOfData::Time { .. },
            ..
        } => {
            assert_eq!(*phase, Phase::Ascent);
            assert!(*t_unix_s > T0 + 3600.0 && *t_unix_s <= T0 + 3630.0);
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("during ascent") && msg.contains("2025-02-19T22:"),
        "{msg}"
    );

    // Blown out of the region.
    let e =
        model::predict(&burst_flight(5.0, 30_000.0, 5.0), &Uniform::new(400.0, 0.0)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LeftData {
                source: OutOfData::Region { .. },
                ..
            }
        ),
        "{e}"
    );
}

struct NanWind;

impl WindField for NanWind {
    fn wind(&self, _: f64, _: f64, _: f64, alt: f64) -> Result<Wind, OutOfData> {
        Ok(Wind {
            u: if alt > 5000.0 { f64::NAN } else { 1.0 },
            v: 0.0,
        })
    }
}

#[test]
fn a_non_finite_wind_and_a_flight_too_long_are_errors() {
    let e = model::predict(&burst_flight(5.0, 30_000.0, 5.0), &NanWind).unwrap_err();
    assert!(matches!(e, Error::BadWind { .. }), "{e}");
    let mut s = burst_flight(5.0, 30_000.0, 5.0);
    s.max_duration_s = 3600.0;
    let e = model::predict(&s, &Uniform::new(1.0, 0.0)).unwrap_err();
    assert!(matches!(e, Error::NotLanded { .. }), "{e}");
    assert!(e.to_string().starts_with("max_duration_s"));
}

#[test]
fn the_trajectory_is_well_formed() {
    let traj = model::predict(&burst_flight(5.0, 30_000.0, 5.0), &Uniform::new(5.0, 1.0)).unwrap();
    let b = traj.balloon();
    assert_eq!(b[0].event, Some(Event::Launch));
    assert_eq!(b.last().unwrap().event, Some(Event::Burst));
    let f = traj.falls()[0].points();
    assert_eq!(f[0].event, Some(Event::Release));
    assert_eq!(f.last().unwrap().event, Some(Event::Landing));
    let all: Vec<_> = b.iter().chain(f).collect();
    for w in all.windows(2) {
        assert!(w[1].t_unix_s >= w[0].t_unix_s);
        assert!(w[1].t_unix_s - w[0].t_unix_s <= 30.0 + 1e-9);
    }
    // Points sit on the 30 s grid from launch, except the events.
    for p in all.iter().filter(|p| p.event.is_none()) {
        let k = (p.t_unix_s - T0) / 30.0;
        assert!((k - k.round()).abs() < 1e-9);
    }
    assert_eq!(traj.ground().describe(), "sea level (no elevation model)");
}

/// Data from 0 m to exactly the float altitude: the model never asks for
/// wind below the ground or above the float (RK4 stages overshoot by a hair
/// at a phase end; lookups stay within the step's altitude range).
struct Strict {
    top: f64,
}

impl WindField for Strict {
    fn wind(&self, _t: f64, lat: f64, lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        if alt > self.top {
            return Err(OutOfData::Above { alt, top: self.top });
        }
        if alt < 0.0 {
            return Err(OutOfData::Region { lat, lon });
        }
        Ok(Wind { u: 7.0, v: 2.0 })
    }
}

#[test]
fn winds_are_only_asked_where_the_flight_is() {
    for step in [30.0, 17.0, 60.0] {
        let mut spec = rotation_flight(step);
        spec.float = Some(Float {
            altitude_m: 9_123.4,
            kind: FloatKind::ZeroPressure,
        });
        assert!(model::predict(&spec, &Strict { top: 9_123.4 }).is_ok());
        let mut spec = burst_flight(5.0, 17_777.7, 5.0);
        spec.step_s = step;
        assert!(model::predict(&spec, &Strict { top: 17_777.7 }).is_ok());
    }
}
