//! An ensemble's allocations do not grow with its members: the per-member
//! work (perturbed spec, perturbed field, flight) allocates nothing.

use baram_flight::ensemble::{self, EnsembleSpec};
use baram_flight::model::{Ascent, Descent, FlightSpec, Float, FloatKind, Launch, Release};
use baram_flight::wind::{OutOfData, Wind, WindField};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
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
            u: 1.0 + 0.0002 * alt + (t * 1e-4).sin(),
            v: 9.0,
        })
    }
}

fn allocations(members: u32) -> usize {
    let mut base = FlightSpec::new(
        Launch {
            lat_deg: 37.5665,
            lon_deg: 126.978,
            time_unix_s: 1.74e9,
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
        altitude_m: 5_000.0,
        kind: FloatKind::ZeroPressure,
    });
    base.release = Release::Timer {
        minutes_after_launch: 180.0,
    };
    let mut spec = EnsembleSpec::new(base, members, 4);
    spec.sample_tracks = 0;
    let before = ALLOCS.load(Ordering::SeqCst);
    let r = ensemble::run(&spec, &Field, 1).unwrap();
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(r.failed, 0);
    assert_eq!(r.landings.len() as u32, members);
    after - before
}

#[test]
fn allocations_do_not_grow_with_members() {
    allocations(5); // warm up the embedded geography
    let few = allocations(10);
    let many = allocations(1000);
    // Only the density grid's list of occupied cells may grow (a handful of
    // reallocations of one Vec), never per member.
    assert!(
        many <= few + 12,
        "{few} allocations for 10 members, {many} for 1000"
    );
}
