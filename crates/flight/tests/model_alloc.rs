//! The ensemble path allocates nothing once its output buffer has room.

use baram_flight::model::{
    self, Ascent, Descent, FlightSpec, Float, FloatKind, Launch, LeafletCloud, Release,
};
use baram_flight::wind::{OutOfData, Wind, WindField};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Only the test's own thread counts: the test harness's other threads
    // allocate whenever they like (that made this test flaky).
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

struct Field;

impl WindField for Field {
    fn wind(&self, t: f64, _lat: f64, _lon: f64, alt: f64) -> Result<Wind, OutOfData> {
        Ok(Wind {
            u: 5.0 + 0.001 * alt + (t * 1e-4).sin(),
            v: 1.0,
        })
    }
}

#[test]
fn landings_allocate_nothing() {
    let mut spec = FlightSpec::new(
        Launch {
            lat_deg: 37.7,
            lon_deg: 126.7,
            time_unix_s: 1.74e9,
            alt_m: 10.0,
        },
        Ascent::ConstantRate {
            rate_m_s: 3.0,
            burst_altitude_m: 20_000.0,
        },
        Descent::Leaflets(LeafletCloud {
            count: 20,
            sea_level_rate_m_s: 2.0,
            spread_m_s: 0.4,
            seed: 9,
        }),
    );
    spec.float = Some(Float {
        altitude_m: 9_000.0,
        kind: FloatKind::SuperPressure {
            leak_percent_per_hour: 1.0,
        },
    });
    spec.release = Release::Timer {
        minutes_after_launch: 360.0,
    };
    let mut out = Vec::with_capacity(20);
    model::landings_into(&spec, &Field, &mut out).unwrap();
    COUNTING.with(|c| c.set(true));
    let before = ALLOCS.load(Ordering::SeqCst);
    model::landings_into(&spec, &Field, &mut out).unwrap();
    let p = model::landing(&spec, &Field).unwrap();
    let after = ALLOCS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(false));
    // The counter itself works: a Vec in this thread is counted.
    COUNTING.with(|c| c.set(true));
    let v: Vec<u64> = Vec::with_capacity(3);
    let counted = ALLOCS.load(Ordering::SeqCst) - after;
    COUNTING.with(|c| c.set(false));
    drop(v);
    assert_eq!(counted, 1);
    assert_eq!(after - before, 0);
    assert_eq!(out.len(), 20);
    assert_eq!(p, out[0]);
}
