//! Benchmark input and timing for the drop planner (used by bench/plan.sh).
//!
//! `plan_bench [ITEMS] [VARIANTS] [DUMP]` makes ITEMS synthetic candidates
//! (seeded: sizes log-uniform 10 kB–400 MB, values 1–100, three kinds, Korean
//! names), plans them for usb-16g, and prints one line of figures. With DUMP,
//! also writes the same knapsack for a peer solver: first line the linear
//! capacity, then one `weight value` line per item (weight = the model's
//! linear cost: cluster-rounded data + directory entries).

use baram_drop::plan::{Candidate, Fat32Model, FsModel, Request, plan};
use baram_library::Kind;
use std::io::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let items: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let variants: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut state = 99u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let kinds = [Kind::Video, Kind::Audio, Kind::Book];
    let candidates: Vec<Candidate> = (0..items)
        .map(|i| {
            let id = i as i64 + 1;
            let e = (next() % 1_000_001) as f64 / 1_000_000.0;
            let size = (10_000.0 * 40_000f64.powf(e)) as u64;
            let mut c = Candidate::new(id, size, (1 + next() % 100) as u8, kinds[i % 3]);
            c.name = format!("{id} 항목.avi");
            c
        })
        .collect();
    let req = Request {
        candidates,
        medium: "usb-16g".into(),
        variants,
        ..Request::default()
    };
    let t = Instant::now();
    let out = match plan(&req) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("plan_bench: {e}");
            std::process::exit(1);
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let v = &out.plan.variants[0];
    let gap = 100.0 * (v.lp_bound - v.value) as f64 / v.lp_bound as f64;
    println!(
        "baram items={items} variants={variants} seconds={secs:.3} value={} lp_bound={} gap_percent={gap:.4} files={} free_bytes={}",
        v.value, v.lp_bound, v.files_count, v.free_bytes
    );
    if let Some(path) = args.get(3) {
        let fs = &out.plan.capacity.fs;
        let model = Fat32Model::new(fs.volume_bytes, out.plan.partition, out.plan.label)
            .expect("same volume as the plan");
        let cap = fs.allocatable_bytes - model.dir_bytes(0, true).unwrap_or(0);
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("dump file"));
        writeln!(f, "{cap}").expect("write");
        for c in &req.candidates {
            writeln!(f, "{} {}", model.file_cost(&c.name, c.size), c.value).expect("write");
        }
    }
}
