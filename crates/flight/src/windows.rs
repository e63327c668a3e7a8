//! Launch windows: which launch times within a forecast give the best
//! chance of reaching the target area, and which would endanger people.
//!
//! [`plan`] runs one ensemble ([`crate::ensemble::run`]) per candidate
//! launch time, from `--from` to `--to` every `--every`, in parallel over
//! candidates. Every candidate uses the same seed, so the members of two
//! launch times differ only by the weather (common random numbers: the
//! comparison between times is not blurred by sampling noise).
//!
//! Candidates are ranked by the probability of landing in the target area
//! (default North Korea). Safety limits are hard filters, never traded
//! against that probability; a candidate is rejected, with every reason
//! said, when
//!
//! * the probability of landing on the own side (default South Korea)
//!   exceeds [`WindowsSpec::max_own_side`] (default 5 %);
//! * any member passes within the ensemble's airport radius of an airport
//!   below its airport altitude (default 10 km and 10 km);
//! * more than [`WindowsSpec::max_failed`] of the members failed (left the
//!   wind data, ...): where they come down is unknown, so their risk cannot
//!   be shown.
//!
//! A warning is given when the site lies within 25 km of the Military
//! Demarcation Line, where the inter-Korean military agreement of 19
//! September 2018 banned balloon flights; the embedded MDL is good to about
//! ±1.5 km, so the warning starts at 26.5 km. The operator answers for
//! local law: baram makes the risk visible.

use crate::ensemble::{self, AreaCount, EnsembleResult, EnsembleSpec};
use crate::geo::{self, Area};
use crate::model::Error;
use crate::output::iso8601;
use crate::wind::{OutOfData, WindField};
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Width of the band along the MDL where the 2018 agreement banned
/// balloon flights, m.
pub const MDL_BAND_M: f64 = 25_000.0;
/// Accuracy of the embedded MDL, m ([`geo::mdl`]).
pub const MDL_ACCURACY_M: f64 = 1_500.0;
/// Most candidate launch times.
pub const MAX_CANDIDATES: usize = 1_000;

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowsSpec {
    /// The flight and its ensemble; its launch time is replaced by each
    /// candidate's.
    pub ensemble: EnsembleSpec,
    /// First candidate launch time, s since the Unix epoch.
    pub from_unix_s: f64,
    /// Last candidate launch time (included when on the step).
    pub to_unix_s: f64,
    /// Step between candidates, s (default 1 h).
    pub every_s: f64,
    /// Where the load should land (default PRK).
    pub target: Area,
    /// The side the launch is from (default KOR).
    pub own_side: Area,
    /// Most probability of landing on the own side (default 0.05).
    pub max_own_side: f64,
    /// Most share of failed members (default 0.05).
    pub max_failed: f64,
}

impl WindowsSpec {
    /// Every hour, target PRK, own side KOR, limits 5 % and 5 %.
    pub fn new(ensemble: EnsembleSpec, from_unix_s: f64, to_unix_s: f64) -> WindowsSpec {
        WindowsSpec {
            ensemble,
            from_unix_s,
            to_unix_s,
            every_s: 3600.0,
            target: Area::Prk,
            own_side: Area::Kor,
            max_own_side: 0.05,
            max_failed: 0.05,
        }
    }
}

/// One candidate launch time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub launch_unix_s: f64,
    /// ISO 8601, UTC.
    pub launch_time: String,
    pub p_target: f64,
    pub p_own_side: f64,
    pub p_failed: f64,
    /// Members passing near an airport (see [`crate::ensemble`]).
    pub airport_members: u32,
    pub airport_share: f64,
    pub areas: Vec<AreaCount>,
    /// Median distance from the MDL of the landings in PRK, km.
    pub inland_median_km: Option<f64>,
    pub accepted: bool,
    /// Why it was rejected (empty when accepted).
    pub reasons: Vec<String>,
    /// 1 for the best accepted candidate; `None` when rejected.
    pub rank: Option<u32>,
}

/// The search's outcome: every candidate in time order, and the ranking of
/// the accepted ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowsResult {
    pub site_lat_deg: f64,
    pub site_lon_deg: f64,
    pub site_alt_m: f64,
    /// Distance of the site from the MDL, m (±1.5 km).
    pub site_mdl_distance_m: Option<f64>,
    pub warnings: Vec<String>,
    pub target: &'static str,
    pub own_side: &'static str,
    pub max_own_side: f64,
    pub max_failed: f64,
    pub airport_radius_m: f64,
    pub airport_below_m: f64,
    pub members: u32,
    pub seed: u64,
    pub every_s: f64,
    pub winds_held_steady: bool,
    pub candidates: Vec<Candidate>,
    /// Indices into `candidates` of the accepted ones, best first.
    pub ranking: Vec<usize>,
    /// Each candidate's full ensemble, in the same order (not serialised).
    #[serde(skip)]
    pub results: Vec<EnsembleResult>,
}

impl WindowsResult {
    /// The best accepted candidate.
    pub fn best(&self) -> Option<&Candidate> {
        self.ranking.first().map(|&i| &self.candidates[i])
    }
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a windows result always serialises")
    }
}

fn arg(arg: &'static str, problem: impl Into<String>) -> Error {
    Error::Argument {
        arg,
        problem: problem.into(),
    }
}

fn share(name: &'static str, x: f64) -> Result<(), Error> {
    if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
        return Err(arg(name, format!("{x} is not a share in 0..=1")));
    }
    Ok(())
}

/// The candidate launch times: from, from + every, ... up to to.
fn candidates(spec: &WindowsSpec) -> Result<Vec<f64>, Error> {
    if !spec.from_unix_s.is_finite() {
        return Err(arg("--from", format!("{} is not a time", spec.from_unix_s)));
    }
    if !spec.to_unix_s.is_finite() {
        return Err(arg("--to", format!("{} is not a time", spec.to_unix_s)));
    }
    if spec.to_unix_s < spec.from_unix_s {
        return Err(arg(
            "--to",
            format!(
                "{} is before --from {}",
                iso8601(spec.to_unix_s),
                iso8601(spec.from_unix_s)
            ),
        ));
    }
    if !(spec.every_s.is_finite() && spec.every_s >= 60.0) {
        return Err(arg(
            "--every",
            format!("{} s is not a step of a minute or more", spec.every_s),
        ));
    }
    let n = ((spec.to_unix_s - spec.from_unix_s) / spec.every_s + 1e-9).floor() + 1.0;
    if n > MAX_CANDIDATES as f64 {
        return Err(arg(
            "--every",
            format!("{n} candidate launch times is more than the {MAX_CANDIDATES} allowed"),
        ));
    }
    Ok((0..n as usize)
        .map(|k| spec.from_unix_s + k as f64 * spec.every_s)
        .collect())
}

/// Checks that a candidate time is inside the forecast at the site.
fn probe(
    field: &dyn WindField,
    spec: &EnsembleSpec,
    t: f64,
    name: &'static str,
) -> Result<(), Error> {
    let l = spec.base.launch;
    match field.wind(t, l.lat_deg, l.lon_deg, l.alt_m) {
        Ok(_) => Ok(()),
        Err(e @ OutOfData::Time { .. }) => Err(arg(
            name,
            format!("{} is outside the forecast: {e}", iso8601(t)),
        )),
        Err(e @ OutOfData::Region { .. }) => Err(arg(
            "--site",
            format!("the launch site is outside the wind data: {e}"),
        )),
        Err(e @ OutOfData::Above { .. }) => Err(arg(
            "--site",
            format!("the launch altitude is above the wind data: {e}"),
        )),
    }
}

/// The warning for a site near the MDL, if any.
pub fn mdl_warning(lat: f64, lon: f64) -> Option<String> {
    let d = geo::distance_to_mdl_m(lat, lon)?;
    if d >= MDL_BAND_M + MDL_ACCURACY_M {
        return None;
    }
    let place = if d < MDL_BAND_M - MDL_ACCURACY_M {
        "inside"
    } else {
        "at the edge of"
    };
    Some(format!(
        "The launch site is {:.1} km from the Military Demarcation Line (the embedded line is good to about ±1.5 km): {place} the 25 km band where the inter-Korean military agreement of 19 September 2018 banned balloon flights. The operator answers for local law; baram only makes the risk visible.",
        d / 1000.0
    ))
}

fn judge(spec: &WindowsSpec, t: f64, r: &EnsembleResult) -> Candidate {
    let p_target = r.probability(spec.target);
    let p_own = r.probability(spec.own_side);
    let mut reasons = Vec::new();
    if p_own > spec.max_own_side {
        reasons.push(format!(
            "landing on the own side: P({}) = {:.1} % is above the {:.1} % limit",
            spec.own_side.code(),
            100.0 * p_own,
            100.0 * spec.max_own_side
        ));
    }
    let a = &r.airports;
    if a.members > 0 {
        let names: Vec<String> = a
            .airports
            .iter()
            .take(3)
            .map(|x| {
                let code = x.iata.as_deref().or(x.icao.as_deref()).unwrap_or("-");
                format!("{} ({code}) {}", x.name, x.count)
            })
            .collect();
        reasons.push(format!(
            "airports: {} of {} members ({:.1} %) pass within {:.0} km of an airport below {:.0} m: {}",
            a.members,
            r.members,
            100.0 * a.share,
            a.radius_m / 1000.0,
            a.below_m,
            names.join(", ")
        ));
    }
    if r.failed_probability > spec.max_failed {
        let kinds: Vec<String> = r
            .failure_kinds
            .iter()
            .map(|k| format!("{} {}", k.count, k.kind))
            .collect();
        reasons.push(format!(
            "unknown landings: {:.1} % of members failed ({}), above the {:.1} % limit; where they come down cannot be shown",
            100.0 * r.failed_probability,
            kinds.join(", "),
            100.0 * spec.max_failed
        ));
    }
    Candidate {
        launch_unix_s: t,
        launch_time: iso8601(t),
        p_target,
        p_own_side: p_own,
        p_failed: r.failed_probability,
        airport_members: a.members,
        airport_share: a.share,
        areas: r.areas.clone(),
        inland_median_km: r.inland.median_km,
        accepted: reasons.is_empty(),
        reasons,
        rank: None,
    }
}

/// Runs an ensemble per candidate launch time on `threads` threads and ranks
/// them (module documentation). Errors name the argument: `--from`, `--to`
/// (outside the forecast, or before `--from`), `--every`, `--site`,
/// `--target`, `--max-own-side`, `--max-failed`, `threads`, or the
/// ensemble's own (`members`, ...).
pub fn plan(
    spec: &WindowsSpec,
    field: &dyn WindField,
    threads: usize,
) -> Result<WindowsResult, Error> {
    if threads == 0 {
        return Err(arg("threads", "at least one thread is needed"));
    }
    if spec.target == spec.own_side {
        return Err(arg(
            "--target",
            format!("{} is the own side", spec.target.code()),
        ));
    }
    share("--max-own-side", spec.max_own_side)?;
    share("--max-failed", spec.max_failed)?;
    let times = candidates(spec)?;
    let mut first = spec.ensemble;
    first.base.launch.time_unix_s = spec.from_unix_s;
    ensemble::validate(&first)?;
    probe(field, &spec.ensemble, spec.from_unix_s, "--from")?;
    probe(field, &spec.ensemble, spec.to_unix_s, "--to")?;

    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, Result<EnsembleResult, Error>)>> =
        Mutex::new(Vec::with_capacity(times.len()));
    let work = || {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&t) = times.get(k) else { break };
            let mut e = spec.ensemble;
            e.base.launch.time_unix_s = t;
            let r = ensemble::run(&e, field, 1);
            done.lock().expect("no worker panics").push((k, r));
        }
    };
    let threads = threads.min(times.len());
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let mut done = done.into_inner().expect("no worker panics");
    done.sort_by_key(|(k, _)| *k);
    let mut results = Vec::with_capacity(done.len());
    for (_, r) in done {
        results.push(r?);
    }

    let mut cands: Vec<Candidate> = times
        .iter()
        .zip(&results)
        .map(|(&t, r)| judge(spec, t, r))
        .collect();
    let mut ranking: Vec<usize> = (0..cands.len()).filter(|&i| cands[i].accepted).collect();
    ranking.sort_by(|&a, &b| {
        let (x, y) = (&cands[a], &cands[b]);
        y.p_target
            .total_cmp(&x.p_target)
            .then(x.p_own_side.total_cmp(&y.p_own_side))
            .then(a.cmp(&b))
    });
    for (rank, &i) in ranking.iter().enumerate() {
        cands[i].rank = Some(rank as u32 + 1);
    }
    let l = spec.ensemble.base.launch;
    let mut warnings = Vec::new();
    if let Some(w) = mdl_warning(l.lat_deg, l.lon_deg) {
        warnings.push(w);
    }
    if field.steady() {
        warnings.push(
            "The winds are held steady (single forecast time): every candidate sees the same weather."
                .to_string(),
        );
    }
    if ranking.is_empty() {
        warnings.push("No candidate launch time passes the safety limits.".to_string());
    }
    Ok(WindowsResult {
        site_lat_deg: l.lat_deg,
        site_lon_deg: l.lon_deg,
        site_alt_m: l.alt_m,
        site_mdl_distance_m: geo::distance_to_mdl_m(l.lat_deg, l.lon_deg),
        warnings,
        target: spec.target.code(),
        own_side: spec.own_side.code(),
        max_own_side: spec.max_own_side,
        max_failed: spec.max_failed,
        airport_radius_m: spec.ensemble.airport_radius_m,
        airport_below_m: spec.ensemble.airport_below_m,
        members: spec.ensemble.members,
        seed: spec.ensemble.seed,
        every_s: spec.every_s,
        winds_held_steady: field.steady(),
        candidates: cands,
        ranking,
        results,
    })
}
