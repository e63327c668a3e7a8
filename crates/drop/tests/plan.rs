//! The drop planner against independent oracles: brute force over every
//! subset (exact FAT costs recomputed here, not by the planner), a dynamic
//! program at moderate sizes, the LP bound at 100,000 items, and mkfs.fat /
//! fsck.fat (dosfstools) for the FAT32 layout figures and directory costs.

use baram_drop::plan::{
    Candidate, Error, Fat32Model, FsFigures, FsModel, Oversize, Plan, Reason, Request, plan,
    plan_with,
};
use baram_library::Kind;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const KINDS: [Kind; 3] = [Kind::Video, Kind::Audio, Kind::Book];

/// Splitmix64: a tiny deterministic generator for fixtures.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A FAT-like model with a tiny data area, so that directory rounding binds:
/// 512-byte clusters, `clusters` of them. Same cost rules as FAT32.
struct Tiny {
    clusters: u64,
}
impl FsModel for Tiny {
    fn figures(&self) -> FsFigures {
        FsFigures {
            model: "tiny".into(),
            volume_bytes: self.clusters * 512,
            sector_bytes: 512,
            cluster_bytes: 512,
            clusters: self.clusters,
            reserved_sectors: 0,
            fat_sectors: 0,
            fixed_overhead_bytes: 0,
            allocatable_bytes: self.clusters * 512,
        }
    }
    fn max_file_size(&self) -> u64 {
        u32::MAX as u64
    }
    fn file_data_bytes(&self, size: u64) -> u64 {
        size.div_ceil(512) * 512
    }
    fn entry_bytes(&self, name: &str) -> u64 {
        32 * (1 + (name.encode_utf16().count() as u64).div_ceil(13))
    }
    fn dir_bytes(&self, e: u64, root: bool) -> Option<u64> {
        let slots = e / 32 + if root { 1 } else { 2 };
        (slots <= 65_536).then(|| (slots * 32).div_ceil(512).max(1) * 512)
    }
}

/// Exact bytes of a layout, computed independently of the planner: FAT
/// rules (1 + ceil(len/13) entries per name, `.`/`..`, label, clusters).
fn oracle_used(cands: &[&Candidate], cluster: u64, label: bool) -> u64 {
    let mut slots: BTreeMap<&str, u64> = BTreeMap::new();
    let mut data = 0;
    for c in cands {
        data += c.size.div_ceil(cluster) * cluster;
        *slots.entry(c.kind.as_str()).or_insert(2) +=
            1 + (c.name.encode_utf16().count() as u64).div_ceil(13);
    }
    let mut root = u64::from(label);
    let mut dirs = 0;
    for (folder, s) in &slots {
        root += 1 + (folder.len() as u64).div_ceil(13);
        dirs += (s * 32).div_ceil(cluster).max(1) * cluster;
    }
    data + dirs + (root * 32).div_ceil(cluster).max(1) * cluster
}

/// Best value over every subset of groups (series whole) that fits exactly.
fn brute_force(cands: &[Candidate], cluster: u64, allocatable: u64, label: bool) -> u64 {
    let mut groups: BTreeMap<String, Vec<&Candidate>> = BTreeMap::new();
    for c in cands {
        let key = match &c.series {
            Some(s) => format!("s{s}"),
            None => format!("i{}", c.id),
        };
        groups.entry(key).or_default().push(c);
    }
    let groups: Vec<Vec<&Candidate>> = groups.into_values().collect();
    assert!(groups.len() <= 20);
    let mut best = 0;
    for mask in 0u32..(1 << groups.len()) {
        let chosen: Vec<&Candidate> = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .flat_map(|(_, g)| g.iter().copied())
            .collect();
        let value: u64 = chosen.iter().map(|c| u64::from(c.value)).sum();
        if value > best && oracle_used(&chosen, cluster, label) <= allocatable {
            best = value;
        }
    }
    best
}

fn name_of(rng: &mut Rng, id: i64) -> String {
    let len = rng.range(1, 40) as usize;
    let mut s = format!("{id} ");
    while s.chars().count() < len {
        s.push(if rng.next().is_multiple_of(3) {
            '한'
        } else {
            'x'
        });
    }
    s.push_str(".avi");
    s
}

/// A random instance: `n` items, some in series, sizes in `lo..=hi`.
fn instance(seed: u64, n: usize, lo: u64, hi: u64) -> Vec<Candidate> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let id = i as i64 + 1;
            let kind = KINDS[(rng.next() % 3) as usize];
            let mut c = Candidate::new(id, rng.range(lo, hi), rng.range(1, 100) as u8, kind);
            c.name = name_of(&mut rng, id);
            if rng.next().is_multiple_of(4) {
                c.series = Some(format!("series {}", rng.next() % 3));
                c.episode = Some(id as u32);
            }
            c
        })
        .collect()
}

fn tiny_request(cands: Vec<Candidate>) -> Request {
    Request {
        candidates: cands,
        medium: "100000000".into(),
        margin_percent: 0.0,
        ..Request::default()
    }
}

fn files_of(p: &Plan, k: usize) -> Vec<i64> {
    p.variants[k].files.iter().map(|f| f.id).collect()
}

fn check_series_whole(req: &Request, p: &Plan) {
    let mut series: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for c in &req.candidates {
        if let Some(s) = &c.series {
            series.entry(s).or_default().insert(c.id);
        }
    }
    for v in &p.variants {
        let ids: BTreeSet<i64> = v.files.iter().map(|f| f.id).collect();
        for (s, members) in &series {
            let n = members.iter().filter(|m| ids.contains(m)).count();
            assert!(n == 0 || n == members.len(), "series {s} split in {ids:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Exact on small instances with a tiny data area (directory rounding
    /// binds): equal to the brute-force optimum, series whole.
    #[test]
    fn brute_force_tiny(seed in any::<u64>(), n in 1usize..=13, clusters in 8u64..=120) {
        let cands = instance(seed, n, 0, 9000);
        let req = tiny_request(cands.clone());
        let out = plan_with(&req, &|_| Ok(Box::new(Tiny { clusters }) as Box<dyn FsModel>)).unwrap();
        let p = &out.plan;
        let best = brute_force(&cands, 512, clusters * 512, true);
        prop_assert_eq!(p.variants[0].value, best);
        prop_assert!(p.variants[0].proven_optimal);
        check_series_whole(&req, p);
        // The planner's bytes agree with the oracle's.
        let chosen: Vec<&Candidate> = cands.iter().filter(|c| files_of(p, 0).contains(&c.id)).collect();
        prop_assert_eq!(p.variants[0].used_bytes, oracle_used(&chosen, 512, true));
        prop_assert!(p.variants[0].used_bytes <= clusters * 512);
    }

    /// Many identical items (exercises the symmetry breaking of the search).
    #[test]
    fn brute_force_many_ties(seed in any::<u64>(), n in 1usize..=14, clusters in 8u64..=60) {
        let mut rng = Rng(seed);
        let cands: Vec<Candidate> = (1..=n as i64)
            .map(|id| {
                let mut c = Candidate::new(id, rng.range(1, 3) * 700, rng.range(1, 3) as u8, KINDS[(rng.next() % 2) as usize]);
                c.name = format!("{id:03}.avi");
                c
            })
            .collect();
        let req = tiny_request(cands.clone());
        let out = plan_with(&req, &|_| Ok(Box::new(Tiny { clusters }) as Box<dyn FsModel>)).unwrap();
        prop_assert_eq!(out.plan.variants[0].value, brute_force(&cands, 512, clusters * 512, true));
        prop_assert!(out.plan.variants[0].proven_optimal);
    }

    /// Same with the real FAT32 model on a 40 MB medium (512-byte clusters).
    #[test]
    fn brute_force_fat32(seed in any::<u64>(), n in 1usize..=12) {
        let cands = instance(seed, n, 1, 8_000_000);
        let mut req = tiny_request(cands.clone());
        req.medium = "40000000".into();
        req.margin_percent = 3.0;
        let p = plan(&req).unwrap().plan;
        let fs = &p.capacity.fs;
        prop_assert_eq!(fs.cluster_bytes, 512);
        let best = brute_force(&cands, 512, fs.allocatable_bytes, true);
        prop_assert_eq!(p.variants[0].value, best);
        check_series_whole(&req, &p);
    }

    /// Input order never changes the plan.
    #[test]
    fn order_independent(seed in any::<u64>(), n in 1usize..=60, rot in 0usize..60) {
        let cands = instance(seed, n, 0, 3_000_000_000);
        let mut req = Request { candidates: cands, variants: 2, seed, ..Request::default() };
        let a = plan(&req).unwrap().plan.to_json();
        req.candidates.rotate_left(rot % n);
        req.candidates.reverse();
        let b = plan(&req).unwrap().plan.to_json();
        prop_assert_eq!(a, b);
    }
}

/// Twenty groups, brute force over all 2^20 subsets.
#[test]
fn brute_force_twenty_groups() {
    for seed in [1u64, 2, 3] {
        let mut cands = instance(seed, 24, 0, 6000);
        // Exactly 20 groups: series "series 0..2" plus singles; trim singles.
        loop {
            let groups: BTreeSet<String> = cands
                .iter()
                .map(|c| c.series.clone().unwrap_or(format!("#{}", c.id)))
                .collect();
            if groups.len() <= 20 {
                break;
            }
            let pos = cands.iter().rposition(|c| c.series.is_none()).unwrap();
            cands.remove(pos);
        }
        let clusters = 60;
        let req = tiny_request(cands.clone());
        let out = plan_with(&req, &|_| {
            Ok(Box::new(Tiny { clusters }) as Box<dyn FsModel>)
        })
        .unwrap();
        assert_eq!(
            out.plan.variants[0].value,
            brute_force(&cands, 512, clusters * 512, true),
            "seed {seed}"
        );
        assert!(out.plan.variants[0].proven_optimal);
    }
}

/// Optimum by dynamic programming over clusters: one kind, short names, so
/// the folder and root take one cluster each whatever is chosen.
fn dp_optimum(cands: &[Candidate], cluster: u64, allocatable: u64) -> u64 {
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for c in cands {
        let key = c.series.clone().unwrap_or(format!("#{}", c.id));
        let e = groups.entry(key).or_default();
        e.0 += c.size.div_ceil(cluster);
        e.1 += u64::from(c.value);
    }
    let cap = (allocatable / cluster - 2) as usize;
    let mut best = vec![0u64; cap + 1];
    for (w, v) in groups.values() {
        let w = *w as usize;
        if w > cap {
            continue;
        }
        for c in (w..=cap).rev() {
            best[c] = best[c].max(best[c - w] + v);
        }
    }
    best[cap]
}

#[test]
fn dp_moderate_sizes() {
    for (seed, n) in [(11u64, 80usize), (12, 150), (13, 150), (14, 200)] {
        let mut cands = instance(seed, n, 5_000_000, 200_000_000);
        for c in &mut cands {
            c.kind = Kind::Video;
            c.name = format!("{}.avi", c.id);
        }
        let req = Request {
            candidates: cands.clone(),
            ..Request::default()
        };
        let p = plan(&req).unwrap().plan;
        let fs = &p.capacity.fs;
        assert_eq!(fs.cluster_bytes, 32768);
        let dp = dp_optimum(&cands, fs.cluster_bytes, fs.allocatable_bytes);
        assert_eq!(p.variants[0].value, dp, "seed {seed}, n {n}");
        check_series_whole(&req, &p);
    }
}

#[test]
fn hundred_thousand_items_within_one_percent_of_lp_bound() {
    let mut rng = Rng(99);
    let cands: Vec<Candidate> = (0..100_000)
        .map(|i| {
            let id = i as i64 + 1;
            // Log-uniform 10 kB .. 400 MB.
            let e = rng.range(0, 1_000_000) as f64 / 1_000_000.0;
            let size = (10_000.0 * 40_000f64.powf(e)) as u64;
            let mut c = Candidate::new(id, size, rng.range(1, 100) as u8, KINDS[i % 3]);
            c.name = format!("{id} 항목.avi");
            c
        })
        .collect();
    let req = Request {
        candidates: cands,
        medium: "usb-16g".into(),
        ..Request::default()
    };
    let p = plan(&req).unwrap().plan;
    let v = &p.variants[0];
    assert!(v.lp_bound > 0);
    let gap = (v.lp_bound - v.value) as f64 / v.lp_bound as f64;
    assert!(
        gap < 0.01,
        "gap {gap}: value {} bound {}",
        v.value,
        v.lp_bound
    );
    assert!(v.used_bytes <= p.capacity.fs.allocatable_bytes);
}

#[test]
fn series_whole_or_nothing() {
    // A series of three 3 GB episodes (value 100 each) cannot fit whole on an
    // 8 GB card; the singles must fill it instead.
    let mut cands = Vec::new();
    for e in 1..=3 {
        let mut c = Candidate::new(e, 3_000_000_000, 100, Kind::Video);
        c.series = Some("드라마".into());
        c.episode = Some(e as u32);
        cands.push(c);
    }
    for id in 10..20 {
        cands.push(Candidate::new(id, 500_000_000, 10, Kind::Video));
    }
    let req = Request {
        candidates: cands,
        ..Request::default()
    };
    let out = plan(&req).unwrap();
    let ids = files_of(&out.plan, 0);
    assert!(ids.iter().all(|&i| i >= 10), "{ids:?}");
    let lo: Vec<_> = out
        .explanation
        .left_out
        .iter()
        .filter(|l| l.id <= 3)
        .collect();
    assert_eq!(lo.len(), 3);
    assert!(
        lo.iter()
            .all(|l| l.reason == Reason::SeriesTooLargeForMedium)
    );
    assert!(lo[0].message.contains("whole"), "{}", lo[0].message);

    // Two 2 GB episodes fit whole (4 GB) and beat singles; they go together.
    let mut req2 = req.clone();
    req2.candidates.retain(|c| c.id != 3);
    for c in &mut req2.candidates {
        if c.id <= 2 {
            c.size = 2_000_000_000;
        }
    }
    let p = plan(&req2).unwrap().plan;
    let ids = files_of(&p, 0);
    assert!(ids.contains(&1) && ids.contains(&2), "{ids:?}");
    assert_eq!(
        p.variants[0].files[0].series.as_deref(),
        Some("드라마"),
        "files sorted by path, series recorded"
    );
}

#[test]
fn tag_filters() {
    let mut cands = Vec::new();
    for (id, tags) in [
        (1, vec!["news"]),
        (2, vec!["news", "violent"]),
        (3, vec!["drama"]),
        (4, vec![]),
    ] {
        let mut c = Candidate::new(id, 1000, 50, Kind::Text);
        c.tags = tags.into_iter().map(String::from).collect();
        cands.push(c);
    }
    let req = Request {
        candidates: cands,
        include_any: vec!["news".into(), "drama".into()],
        exclude: vec!["violent".into()],
        ..Request::default()
    };
    let out = plan(&req).unwrap();
    assert_eq!(files_of(&out.plan, 0), vec![1, 3]);
    let reasons: BTreeMap<i64, Reason> = out
        .explanation
        .left_out
        .iter()
        .map(|l| (l.id, l.reason))
        .collect();
    assert_eq!(reasons[&2], Reason::ExcludedByTag);
    assert_eq!(reasons[&4], Reason::NoIncludedTag);
    assert!(
        out.explanation
            .to_string()
            .contains("excluded by tag \"violent\"")
    );
    assert_eq!(out.plan.include_any, vec!["drama", "news"], "sorted");
}

#[test]
fn variants_cover_everything_that_fits() {
    // ~18.5 GB of 50–300 MB items: fits in 3 cards of 7.7 GB with room.
    let mut rng = Rng(5);
    let mut cands = Vec::new();
    let mut total = 0;
    let mut id = 0;
    while total < 18_500_000_000u64 {
        id += 1;
        let size = rng.range(50_000_000, 300_000_000);
        total += size;
        let mut c = Candidate::new(id, size, rng.range(1, 100) as u8, KINDS[id as usize % 3]);
        c.name = format!("{id} 영상 파일.mp4");
        cands.push(c);
    }
    let req = Request {
        candidates: cands.clone(),
        variants: 3,
        seed: 7,
        ..Request::default()
    };
    let out = plan(&req).unwrap();
    let p = &out.plan;
    let mut covered = BTreeSet::new();
    for (k, v) in p.variants.iter().enumerate() {
        covered.extend(files_of(p, k));
        // Each variant is full: nothing left out would still fit.
        assert!(
            v.free_bytes < 300_000_000 + 65536,
            "variant {k} free {}",
            v.free_bytes
        );
        assert!(v.used_bytes <= p.capacity.fs.allocatable_bytes);
    }
    assert_eq!(covered.len(), cands.len(), "every item on some variant");
    assert!(out.explanation.left_out.is_empty());
    // Variant 0 is the plain optimum-seeking plan: most value.
    assert!(p.variants[0].value >= p.variants[1].value);
    assert_ne!(files_of(p, 0), files_of(p, 1));
}

#[test]
fn deterministic_json_and_hash() {
    let cands = instance(42, 300, 1_000_000, 500_000_000);
    let req = Request {
        candidates: cands,
        variants: 2,
        seed: 3,
        profile: "notel-avi".into(),
        ..Request::default()
    };
    let a = plan(&req).unwrap().plan;
    let b = plan(&req).unwrap().plan;
    assert_eq!(a.to_json(), b.to_json());
    let mut shuffled = req.clone();
    let mut rng = Rng(1);
    for i in (1..shuffled.candidates.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        shuffled.candidates.swap(i, j);
    }
    assert_eq!(plan(&shuffled).unwrap().plan.to_json(), a.to_json());

    let json = a.to_json();
    assert!(json.ends_with("}\n"));
    assert!(json.contains("\"profile\": \"notel-avi\""));
    assert_eq!(a.hash.len(), 64);
    let back = Plan::from_json(&json).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.volume_serial(0), a.volume_serial(0));
    assert_ne!(a.volume_serial(0), a.volume_serial(1));
    let tampered = json.replacen("\"seed\": 3", "\"seed\": 4", 1);
    assert!(matches!(
        Plan::from_json(&tampered),
        Err(Error::Hash { .. })
    ));
    // The volume tree carries the plan's timestamp and serial.
    let vol = a
        .volume(1, "BARAM", |_, _| {
            baram_drop::tree::Source::Bytes(std::sync::Arc::new(Vec::new()))
        })
        .unwrap();
    assert_eq!(vol.serial, a.volume_serial(1));
    assert_eq!(vol.timestamp, baram_drop::tree::Timestamp::default());
    assert_eq!(vol.entries.len(), a.variants[1].files.len());
    assert!(a.volume(2, "X", |_, _| unreachable!()).is_err());
}

#[test]
fn four_gib_refused_naming_the_item() {
    let mut big = Candidate::new(77, 4_294_967_296, 90, Kind::Video);
    big.name = "영화.avi".into();
    let req = Request {
        candidates: vec![Candidate::new(1, 1000, 10, Kind::Video), big],
        ..Request::default()
    };
    let err = plan(&req).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::FileTooLarge { id: 77, .. }), "{msg}");
    assert!(msg.contains("item 77") && msg.contains("4 GiB"), "{msg}");

    // 4 GiB - 1 is fine.
    let mut ok = req.clone();
    ok.candidates[1].size = 4_294_967_295;
    assert_eq!(files_of(&plan(&ok).unwrap().plan, 0), vec![1, 77]);

    // Skip: left out, explained. Excluded by tag: no error either.
    let mut skip = req.clone();
    skip.oversize = Oversize::Skip;
    let out = plan(&skip).unwrap();
    assert_eq!(files_of(&out.plan, 0), vec![1]);
    assert_eq!(out.explanation.left_out[0].reason, Reason::OverFat32Limit);
    let mut tagged = req.clone();
    tagged.candidates[1].tags = vec!["old".into()];
    tagged.exclude = vec!["old".into()];
    let out = plan(&tagged).unwrap();
    assert_eq!(out.explanation.left_out[0].reason, Reason::ExcludedByTag);
}

#[test]
fn margin_and_overhead_accounting() {
    let cands = instance(8, 400, 1_000_000, 300_000_000);
    for (medium, margin) in [
        ("sd-8g", 3.0),
        ("usb-16g", 0.0),
        ("sd-32g", 10.0),
        ("dvd-4.7g", 3.0),
    ] {
        let req = Request {
            candidates: cands.clone(),
            medium: medium.into(),
            margin_percent: margin,
            ..Request::default()
        };
        let p = plan(&req).unwrap().plan;
        let c = &p.capacity;
        assert_eq!(
            c.margin_bytes,
            (c.nominal_bytes as f64 * margin / 100.0).ceil() as u64
        );
        assert!(c.fs.volume_bytes <= c.nominal_bytes - c.margin_bytes);
        assert!(c.nominal_bytes - c.margin_bytes - c.fs.volume_bytes < 512);
        assert_eq!(
            c.fs.volume_bytes,
            c.fs.fixed_overhead_bytes + c.fs.allocatable_bytes
        );
        let v = &p.variants[0];
        // Independent recomputation of the exact cost.
        let chosen: Vec<&Candidate> = cands
            .iter()
            .filter(|x| files_of(&p, 0).contains(&x.id))
            .collect();
        let used = oracle_used(&chosen, c.fs.cluster_bytes, true);
        assert_eq!(v.used_bytes, used);
        assert_eq!(v.used_bytes, v.data_bytes + v.directory_bytes);
        assert_eq!(v.file_bytes, chosen.iter().map(|x| x.size).sum::<u64>());
        assert!(
            v.file_bytes + v.directory_bytes + c.fs.fixed_overhead_bytes
                <= c.nominal_bytes - c.margin_bytes
        );
        assert_eq!(v.free_bytes, c.fs.allocatable_bytes - v.used_bytes);
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let base = Request {
        candidates: vec![Candidate::new(1, 10, 10, Kind::Text)],
        ..Request::default()
    };
    let e = |r: &Request| plan(r).unwrap_err().to_string();
    let mut r = base.clone();
    r.medium = "floppy".into();
    assert!(e(&r).contains("unknown medium \"floppy\"") && e(&r).contains("sd-8g"));
    let mut r = base.clone();
    r.variants = 0;
    assert!(e(&r).contains("variants"), "{}", e(&r));
    for m in [-1.0, 50.5, f64::NAN] {
        let mut r = base.clone();
        r.margin_percent = m;
        assert!(e(&r).contains("margin"), "{}", e(&r));
    }
    let mut r = base.clone();
    r.margin_percent = 50.0;
    assert!(plan(&r).is_ok());
    let mut r = base.clone();
    r.candidates[0].value = 0;
    assert!(e(&r).contains("item 1: value 0"));
    let mut r = base.clone();
    r.candidates.push(Candidate::new(1, 5, 5, Kind::Text));
    assert!(e(&r).contains("item 1 is listed twice"));
    let mut r = base.clone();
    r.candidates[0].name = "a/b.txt".into();
    assert!(e(&r).contains("a/b.txt"));
    let mut r = base.clone();
    let mut c = Candidate::new(2, 5, 5, Kind::Text);
    c.name = "1.BIN".into();
    r.candidates.push(c);
    assert!(e(&r).contains("items 1 and 2"), "{}", e(&r));
    let mut r = base.clone();
    r.candidates[0].series = Some("s".into());
    assert!(e(&r).contains("episode"));
    let mut r = base.clone();
    r.medium = "1000000".into();
    assert!(e(&r).contains("too small for FAT32"), "{}", e(&r));
    let mut r = base.clone();
    r.timestamp.month = 13;
    assert!(e(&r).contains("timestamp"));
}

#[test]
fn explain_lower_density() {
    let req = Request {
        candidates: vec![
            Candidate::new(1, 600_000_000, 100, Kind::Video),
            Candidate::new(2, 500_000_000, 10, Kind::Video),
            Candidate::new(3, 2_000_000_000, 100, Kind::Video),
        ],
        medium: "1000000000".into(),
        ..Request::default()
    };
    let out = plan(&req).unwrap();
    assert_eq!(files_of(&out.plan, 0), vec![1]);
    let r: BTreeMap<i64, Reason> = out
        .explanation
        .left_out
        .iter()
        .map(|l| (l.id, l.reason))
        .collect();
    assert_eq!(r[&2], Reason::LowerValueDensity);
    assert_eq!(r[&3], Reason::TooLargeForMedium);
    let text = out.explanation.to_string();
    assert!(text.contains("variant 0: 1 files, value 100"), "{text}");
}

// --- dosfstools as the oracle of the FAT32 layout --------------------------

fn need(tool: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "{tool} not found: apt-get install dosfstools mtools");
}

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    (0..n).fold(0, |a, i| a | (u64::from(b[at + i]) << (8 * i)))
}

#[test]
fn fat32_model_matches_mkfs_fat() {
    need("mkfs.fat");
    let dir = tempfile::tempdir().unwrap();
    for volume in [
        40_000_000u64,
        300_000_000,
        2_300_000_000,
        4_559_000_000,
        7_760_000_000,
        31_040_000_000,
    ] {
        let m = Fat32Model::new(volume, false, true).unwrap().figures();
        let img = dir.path().join("v.img");
        let f = std::fs::File::create(&img).unwrap();
        f.set_len(volume).unwrap();
        drop(f);
        let out = Command::new("mkfs.fat")
            .args(["-F", "32", "-S", "512", "-R", "32", "-f", "2", "-a", "-s"])
            .arg((m.cluster_bytes / 512).to_string())
            .arg(&img)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut b = [0u8; 512];
        std::io::Read::read_exact(&mut std::fs::File::open(&img).unwrap(), &mut b).unwrap();
        let spc = le(&b, 13, 1);
        let total = le(&b, 32, 4);
        let fat = le(&b, 36, 4);
        assert_eq!(spc * 512, m.cluster_bytes, "{volume}");
        assert_eq!(total * 512, m.volume_bytes, "{volume}");
        // mkfs.fat -a makes the smallest FAT; ours may be a few sectors
        // larger so that the data area starts on a whole cluster.
        assert!(
            fat <= m.fat_sectors && m.fat_sectors < fat + spc.max(2),
            "{volume}"
        );
        assert_eq!(
            (total - 32 - 2 * m.fat_sectors) / spc,
            m.clusters,
            "{volume}"
        );
    }
}

/// Directory and data costs against a real FAT32 made by mkfs.fat, filled by
/// mtools, counted by fsck.fat.
#[test]
fn layout_cost_matches_fsck_fat() {
    need("mkfs.fat");
    need("mcopy");
    need("fsck.fat");
    let dir = tempfile::tempdir().unwrap();
    let volume = 40_000_000u64;
    let model = Fat32Model::new(volume, false, true).unwrap();
    let fig = model.figures();
    let img = dir.path().join("v.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(volume)
        .unwrap();
    let st = Command::new("mkfs.fat")
        .args([
            "-F", "32", "-S", "512", "-R", "32", "-f", "2", "-a", "-s", "1",
        ])
        .args(["-n", "BARAM"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(st.status.success());
    // 60 files in two folders, long Korean and Latin names, odd sizes.
    let mut rng = Rng(3);
    let mut layout = Vec::new();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for folder in ["video", "book"] {
        let st = Command::new("mmd")
            .arg("-i")
            .arg(&img)
            .arg(format!("::/{folder}"))
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        for i in 0..30 {
            let name = format!(
                "{i:02} 사랑의 불시착 {} episode long name.avi",
                "가".repeat(rng.range(0, 30) as usize)
            );
            let size = rng.range(0, 20_000);
            let p = src.join(format!("{folder}-{i}"));
            std::fs::write(&p, vec![7u8; size as usize]).unwrap();
            let st = Command::new("mcopy")
                .arg("-i")
                .arg(&img)
                .arg(&p)
                .arg(format!("::/{folder}/{name}"))
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{}",
                String::from_utf8_lossy(&st.stderr)
            );
            layout.push((vec![folder.to_string(), name], size));
        }
    }
    let out = Command::new("fsck.fat")
        .arg("-n")
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // "v.img: 62 files, 1234/77000 clusters"
    let used: u64 = text
        .split_whitespace()
        .find_map(|w| w.split_once('/').and_then(|(a, _)| a.parse().ok()))
        .unwrap_or_else(|| panic!("fsck.fat said: {text}"));
    assert_eq!(
        model.layout_bytes(&layout).unwrap(),
        used * fig.cluster_bytes,
        "fsck.fat: {text}"
    );
}

/// The seed only breaks ties: equal items are picked differently by different
/// seeds, always for the same value; the same seed always picks the same.
#[test]
fn seed_breaks_ties_only() {
    let cands: Vec<Candidate> = (1..=40)
        .map(|id| Candidate::new(id, 400_000_000, 50, Kind::Video))
        .collect();
    let mut sets = BTreeSet::new();
    let mut values = BTreeSet::new();
    for seed in 0..6 {
        let req = Request {
            candidates: cands.clone(),
            seed,
            ..Request::default()
        };
        let p = plan(&req).unwrap().plan;
        assert_eq!(p, plan(&req).unwrap().plan);
        values.insert(p.variants[0].value);
        assert!(p.variants[0].proven_optimal, "identical items: no blow-up");
        sets.insert(files_of(&p, 0));
    }
    assert_eq!(values.len(), 1);
    assert!(sets.len() > 1, "different seeds, different ties broken");
}

/// A plan and the FAT32 writer agree to the cluster: the image of every
/// variant, root files at their reserved size included, lays out with
/// exactly the plan's used bytes, and the space left is too small for any
/// item that was left out for lack of room.
#[test]
fn plans_match_the_writers_layout() {
    use baram_drop::fat32::{self, Fat32Options};
    use baram_drop::plan::RootFile;
    use baram_drop::tree::{Entry, EntryKind, Source};
    for partition in [true, false] {
        let mut rng = Rng(11);
        let cands: Vec<Candidate> = (1..=300)
            .map(|id| {
                let mut c = Candidate::new(
                    id,
                    rng.range(0, 900_000),
                    rng.range(1, 100) as u8,
                    KINDS[rng.range(0, 2) as usize],
                );
                c.name = format!(
                    "{id:03} 사랑의 불시착 {}.avi",
                    "가".repeat(rng.range(0, 20) as usize)
                );
                c
            })
            .collect();
        let req = Request {
            candidates: cands,
            medium: "80000000".into(),
            variants: 2,
            partition,
            root_files: vec![
                RootFile {
                    name: "index.html".into(),
                    max_size: 20_000,
                },
                RootFile {
                    name: "data.js".into(),
                    max_size: 70_001,
                },
            ],
            ..Request::default()
        };
        let out = plan(&req).unwrap();
        let p = &out.plan;
        assert_eq!(p.partition, partition);
        let image = p.capacity.fs.volume_bytes;
        for (k, v) in p.variants.iter().enumerate() {
            let mut vol = p
                .volume(k, "", |f, sc| {
                    let n = sc.map_or(f.size, |s| s.size);
                    Source::Bytes(std::sync::Arc::new(vec![0; n as usize]))
                })
                .unwrap();
            for r in &p.root_files {
                vol.entries.push(Entry {
                    path: vec![r.name.clone()],
                    kind: EntryKind::File {
                        size: r.max_size,
                        source: Source::Bytes(std::sync::Arc::new(vec![0; r.max_size as usize])),
                    },
                });
            }
            let opts = Fat32Options {
                partition,
                ..Fat32Options::default()
            };
            let l = fat32::layout(&vol, image, &opts).unwrap();
            assert_eq!(l.cluster_size() as u64, p.capacity.fs.cluster_bytes);
            assert_eq!(
                l.used_clusters as u64 * l.cluster_size() as u64,
                v.used_bytes,
                "variant {k}"
            );
            assert_eq!(l.geometry.data_capacity(), p.capacity.fs.allocatable_bytes);
        }
        // Tight: no left-out single item would have fitted in variant 0's free space.
        let v0 = &p.variants[0];
        for lo in &out.explanation.left_out {
            let c = req.candidates.iter().find(|c| c.id == lo.id).unwrap();
            assert!(
                c.size.div_ceil(p.capacity.fs.cluster_bytes) * p.capacity.fs.cluster_bytes
                    > v0.free_bytes,
                "item {} ({} bytes) was left out with {} bytes free",
                c.id,
                c.size,
                v0.free_bytes
            );
        }
    }
}
