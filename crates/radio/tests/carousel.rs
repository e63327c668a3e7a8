//! Carousel: round trips, loss, accumulation across recordings, forgeries,
//! bad symbols, mixed broadcasts, garbage and a damaged store.

use std::fs;
use std::path::Path;

use baram_radio::carousel::{
    Carousel, DATA_OVERHEAD, Event, FileState, Packet, Received, Receiver, STATE_DIR, SigningKey,
    crc16, parse, sanitize_name,
};
use proptest::prelude::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Deterministic pseudo-random bytes (xorshift).
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "평양 소식 2024.txt".into(),
            "자유는 모든 사람의 권리입니다. ".repeat(120).into_bytes(),
        ),
        ("empty.bin".into(), Vec::new()),
        ("one.bin".into(), vec![42]),
        ("book.bin".into(), bytes(200_000, 1)),
    ]
}

/// Names of the files written into DIR (the state folder excluded).
fn written(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != STATE_DIR)
        .collect();
    v.sort();
    v
}

fn feed<'a>(rx: &mut Receiver, packets: impl IntoIterator<Item = &'a Vec<u8>>) {
    for p in packets {
        rx.receive(p).unwrap();
    }
}

/// Re-seal a packet's CRC-16 after editing it.
fn reseal(p: &mut [u8]) {
    let n = p.len() - 2;
    let c = crc16(&p[..n]);
    p[n..].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn round_trip_all_payload_sizes() {
    let files = files();
    for payload in [64, 128, 256] {
        let k = key(1);
        let c = Carousel::new(&files, &k, payload, 0.25).unwrap();
        let n = c.packets_per_round();
        let dir = tempfile::tempdir().unwrap();
        let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
        for p in c.packets().take(n as usize) {
            assert_eq!(p.len(), payload);
            rx.receive(&p).unwrap();
        }
        for s in rx.status() {
            assert!(matches!(s.state, FileState::Rebuilt(_)), "{payload}: {s:?}");
        }
        for (name, data) in &files {
            assert_eq!(
                &fs::read(dir.path().join(name)).unwrap(),
                data,
                "{payload} {name}"
            );
        }
        assert_eq!(rx.stats().bad, 0);
    }
}

#[test]
fn carousel_is_deterministic_and_sized() {
    let files = files();
    let a = Carousel::new(&files, &key(1), 64, 0.5).unwrap();
    let b = Carousel::new(&files, &key(1), 64, 0.5).unwrap();
    assert_eq!(a.broadcast_id(), b.broadcast_id());
    let far = 10 * a.packets_per_round();
    for n in (0..2000).chain(far..far + 200) {
        let p = a.packet(n);
        assert_eq!(p, b.packet(n));
        assert_eq!(p.len(), 64);
        assert!(parse(&p).is_ok());
    }
    // Late rounds carry fresh repair symbols, never a repeat of round 0.
    let first: std::collections::HashSet<Vec<u8>> =
        a.packets().take(a.packets_per_round() as usize).collect();
    let late = a
        .packets()
        .skip(3 * a.packets_per_round() as usize)
        .take(500)
        .filter(|p| matches!(parse(p), Ok(Packet::Data(_))));
    for p in late {
        assert!(!first.contains(&p));
    }
}

/// Symbols a receiver needs per block: K of each block of each file.
fn distinct_per_block(packets: &[Vec<u8>]) -> std::collections::HashMap<(u8, u8), usize> {
    let mut seen = std::collections::HashSet::new();
    let mut m = std::collections::HashMap::new();
    for p in packets {
        if let Ok(Packet::Data(d)) = parse(p)
            && seen.insert((d.file, d.sbn, d.esi))
        {
            *m.entry((d.file, d.sbn)).or_default() += 1;
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
    #[test]
    fn any_enough_subset_rebuilds(
        loss in 0.3f64..0.6,
        burst in 1usize..40,
        seed in any::<u64>(),
        start in 0u64..5000,
        payload in prop::sample::select(vec![64usize, 128, 256]),
    ) {
        let files = vec![
            ("a.txt".to_string(), bytes(3000, seed)),
            ("b.bin".to_string(), bytes(9000, seed ^ 7)),
        ];
        let k = key(3);
        let c = Carousel::new(&files, &k, payload, 0.3).unwrap();
        // Loss in bursts: each burst of `burst` packets is lost with probability `loss`.
        let mut rng = bytes(20_000, seed).into_iter();
        let total = (2.6 * c.packets_per_round() as f64 / (1.0 - loss)) as u64 + 200;
        let mut caught = Vec::new();
        let mut lost = false;
        for (i, n) in (start..start + total).enumerate() {
            if i % burst == 0 {
                lost = (rng.next().unwrap_or(0) as f64) < loss * 256.0;
            }
            if !lost {
                caught.push(c.packet(n));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
        feed(&mut rx, &caught);
        let have = distinct_per_block(&caught);
        let manifest_complete = c.manifest_packets().iter().all(|m| caught.contains(m));
        for (i, mf) in c.manifest().files.iter().enumerate() {
            let kk = mf.source_symbols() as usize;
            let enough = have.get(&(i as u8, 0)).copied().unwrap_or(0) >= kk + 2;
            let st = rx.status();
            let s = st.iter().find(|s| s.index == i as u8);
            if manifest_complete && enough {
                let s = s.unwrap();
                prop_assert!(matches!(s.state, FileState::Rebuilt(_)), "{:?}", s);
                prop_assert_eq!(&fs::read(dir.path().join(&mf.name)).unwrap(), &files[i].1);
            } else if !manifest_complete {
                prop_assert!(written(dir.path()).is_empty());
            }
        }
    }
}

#[test]
fn accumulates_across_recordings_and_reopen() {
    let files = vec![("책.txt".to_string(), bytes(20_000, 9))];
    let k = key(4);
    let c = Carousel::new(&files, &k, 128, 0.5).unwrap();
    let kk = c.manifest().files[0].source_symbols();
    let round = c.packets_per_round();
    // Two stretches, each with ~60% of K data symbols; the first one also
    // carries the whole manifest.
    let span = (kk as f64 * 0.6 * 17.0 / 16.0) as u64;
    let rec1: Vec<_> = (0..span).map(|n| c.packet(n)).collect();
    let rec2: Vec<_> = (3 * round..3 * round + span).map(|n| c.packet(n)).collect();
    let dir = tempfile::tempdir().unwrap();
    let held1;
    {
        let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
        feed(&mut rx, &rec1);
        rx.sync().unwrap();
        let s = &rx.status()[0];
        assert_eq!(s.state, FileState::Collecting);
        assert_eq!(s.symbols_needed, Some(kk));
        held1 = s.symbols_held;
        assert!(held1 < kk && held1 > kk / 2, "{held1} of {kk}");
        assert!(written(dir.path()).is_empty());
    }
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    assert_eq!(rx.status()[0].symbols_held, held1, "persisted");
    feed(&mut rx, &rec2);
    assert!(matches!(rx.status()[0].state, FileState::Rebuilt(_)));
    assert_eq!(fs::read(dir.path().join("책.txt")).unwrap(), files[0].1);
    // A third session sees it done and writes nothing new.
    drop(rx);
    let rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    assert!(matches!(rx.status()[0].state, FileState::Rebuilt(_)));
    assert_eq!(written(dir.path()), vec!["책.txt".to_string()]);
}

#[test]
fn data_before_manifest_is_kept_and_used() {
    let files = vec![("x.txt".to_string(), bytes(4000, 2))];
    let k = key(5);
    let c = Carousel::new(&files, &k, 64, 0.3).unwrap();
    let all: Vec<_> = c.packets().take(c.packets_per_round() as usize).collect();
    let (man, data): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|p| matches!(parse(p), Ok(Packet::Manifest(_))));
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    feed(&mut rx, data.iter().copied());
    let s = &rx.status()[0];
    assert_eq!(s.state, FileState::WaitingForManifest);
    assert!(s.symbols_held > 0);
    assert_eq!(s.symbols_needed, None);
    assert!(written(dir.path()).is_empty());
    feed(&mut rx, man.iter().copied());
    assert!(matches!(rx.status()[0].state, FileState::Rebuilt(_)));
    assert_eq!(fs::read(dir.path().join("x.txt")).unwrap(), files[0].1);
}

#[test]
fn status_numbers() {
    let files = vec![
        ("s.bin".to_string(), bytes(10_000, 3)),
        ("t.bin".to_string(), bytes(100, 4)),
    ];
    let k = key(6);
    let c = Carousel::new(&files, &k, 64, 0.0).unwrap();
    let t = 64 - DATA_OVERHEAD;
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    feed(&mut rx, c.manifest_packets());
    let st = rx.status();
    assert_eq!(st[0].symbols_needed, Some(10_000u64.div_ceil(t as u64)));
    assert_eq!(st[1].symbols_needed, Some(100u64.div_ceil(t as u64)));
    assert_eq!(st[0].symbols_held, 0);
    let mut sent = 0;
    for p in c.packets().take(100) {
        if let Ok(Packet::Data(d)) = parse(&p)
            && d.file == 0
        {
            sent += 1;
            assert_eq!(rx.receive(&p).unwrap(), Received::Symbol);
            assert_eq!(rx.receive(&p).unwrap(), Received::Duplicate);
        }
    }
    assert_eq!(rx.status()[0].symbols_held, sent);
    assert_eq!(rx.stats().duplicates, sent);
}

/// Re-fragment a (possibly tampered) blob like the sender does.
fn fragments_of(c: &Carousel, blob: &[u8]) -> Vec<Vec<u8>> {
    let p = c.manifest_packets()[0].len();
    let chunk = p - 15;
    let count = blob.len().div_ceil(chunk);
    let mut padded = blob.to_vec();
    padded.resize(count * chunk, 0);
    let digest: [u8; 4] = blake3::hash(blob).as_bytes()[..4].try_into().unwrap();
    padded
        .chunks(chunk)
        .enumerate()
        .map(|(i, ch)| {
            baram_radio::carousel::ManifestPacket {
                broadcast: c.broadcast_id(),
                digest,
                index: i as u16,
                count: count as u16,
                chunk: ch,
            }
            .encode()
        })
        .collect()
}

fn data_packets(c: &Carousel, n: u64) -> Vec<Vec<u8>> {
    c.packets()
        .take(n as usize)
        .filter(|p| matches!(parse(p), Ok(Packet::Data(_))))
        .collect()
}

fn assert_rejected(rx: &Receiver, dir: &Path, want: &str) {
    assert!(written(dir).is_empty(), "nothing written");
    let ev: Vec<String> = rx.events().iter().map(|e| e.to_string()).collect();
    assert!(
        rx.events()
            .iter()
            .any(|e| matches!(e, Event::ManifestRejected { .. })),
        "{ev:?}"
    );
    assert!(ev.iter().any(|e| e.contains(want)), "{ev:?} lacks {want}");
    for s in rx.status() {
        assert_eq!(s.state, FileState::ManifestRejected);
    }
}

#[test]
fn forged_manifest_wrong_key() {
    let files = files();
    let trusted = key(7);
    let forger = key(8);
    let c = Carousel::new(&files, &forger, 128, 0.3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &trusted.verifying_key()).unwrap();
    feed(
        &mut rx,
        &c.packets()
            .take(3 * c.packets_per_round() as usize)
            .collect::<Vec<_>>(),
    );
    let forger_id = baram_radio::carousel::key_id(&forger.verifying_key());
    let hex: String = forger_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_rejected(&rx, dir.path(), &hex);
    // Reopening does not change that.
    drop(rx);
    let rx = Receiver::open(dir.path(), &trusted.verifying_key()).unwrap();
    assert_rejected(&rx, dir.path(), "unknown key");
}

#[test]
fn forged_manifest_tampered_signature_and_hash() {
    let files = vec![("a.txt".to_string(), bytes(3000, 5))];
    let k = key(9);
    let c = Carousel::new(&files, &k, 64, 0.3).unwrap();
    let blob = c.manifest_blob().to_vec();
    let data = data_packets(&c, 2 * c.packets_per_round());
    // (1) a flipped bit in the signature; (2) a changed file hash (the
    // attacker's own data hash) under the original signature.
    let mut bad_sig = blob.clone();
    let n = bad_sig.len();
    bad_sig[n - 10] ^= 0x40;
    let hash_at = 4 + 4 + 4 + 8 + 4 + 2 + 1 + 1 + "a.txt".len() + 12;
    let mut bad_hash = blob.clone();
    bad_hash[hash_at] ^= 1;
    assert_eq!(
        &blob[hash_at..hash_at + 32],
        c.manifest().files[0].blake3.as_slice()
    );
    for forged in [bad_sig, bad_hash] {
        let dir = tempfile::tempdir().unwrap();
        let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
        feed(&mut rx, &fragments_of(&c, &forged));
        feed(&mut rx, &data);
        assert_rejected(&rx, dir.path(), "signature is not valid");
        // The genuine manifest arriving later still works.
        feed(&mut rx, c.manifest_packets());
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), files[0].1);
    }
}

#[test]
fn tampered_symbol_is_caught_and_recovered() {
    let files = vec![("news.txt".to_string(), bytes(5000, 6))];
    let k = key(10);
    let c = Carousel::new(&files, &k, 64, 1.0).unwrap();
    let kk = c.manifest().files[0].source_symbols() as usize;
    let mut data = data_packets(&c, 3 * c.packets_per_round());
    // Corrupt source symbol 5 so that it still passes the CRC.
    let bad = data
        .iter()
        .position(|p| matches!(parse(p), Ok(Packet::Data(d)) if d.esi == 5))
        .unwrap();
    data[bad][30] ^= 0xFF;
    reseal(&mut data[bad]);
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    feed(&mut rx, c.manifest_packets());
    feed(&mut rx, &data[..kk]);
    let s = &rx.status()[0];
    assert!(
        matches!(s.state, FileState::FailedVerification { .. }),
        "{s:?}"
    );
    assert!(written(dir.path()).is_empty());
    assert!(
        rx.events()
            .iter()
            .any(|e| matches!(e, Event::VerificationFailed { .. }))
    );
    // More symbols: the bad one is left out and the file rebuilds correctly.
    let mut fed = kk;
    while !matches!(rx.status()[0].state, FileState::Rebuilt(_)) {
        assert!(fed < data.len(), "never recovered");
        rx.receive(&data[fed]).unwrap();
        fed += 1;
    }
    assert!(
        fed < kk + kk / 4,
        "recovered after {} extra symbols",
        fed - kk
    );
    assert_eq!(fs::read(dir.path().join("news.txt")).unwrap(), files[0].1);
}

#[test]
fn many_forged_symbols_from_a_jammer_never_write_false_data() {
    let files = vec![("n.txt".to_string(), bytes(3000, 8))];
    let k = key(11);
    let c = Carousel::new(&files, &k, 64, 1.0).unwrap();
    let mut data = data_packets(&c, 3 * c.packets_per_round());
    // Every 7th symbol is forged with a valid CRC.
    for (i, p) in data.iter_mut().enumerate() {
        if i % 7 == 3 {
            p[20] ^= 0x5A;
            reseal(p);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    feed(&mut rx, c.manifest_packets());
    feed(&mut rx, &data);
    // Whatever the state, anything written is the true file.
    for name in written(dir.path()) {
        assert_eq!(fs::read(dir.path().join(name)).unwrap(), files[0].1);
    }
}

#[test]
fn two_broadcasts_mixed() {
    let trusted = key(12);
    let fa = vec![("a.txt".to_string(), bytes(2000, 1))];
    let fb = vec![("b.txt".to_string(), bytes(2500, 2))];
    let fc = vec![("a.txt".to_string(), bytes(1500, 3))];
    let a = Carousel::new(&fa, &trusted, 64, 0.5).unwrap();
    let b = Carousel::new(&fb, &key(13), 64, 0.5).unwrap();
    let c = Carousel::new(&fc, &trusted, 64, 0.5).unwrap();
    assert_ne!(a.broadcast_id(), b.broadcast_id());
    let n = 2 * a
        .packets_per_round()
        .max(b.packets_per_round())
        .max(c.packets_per_round());
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &trusted.verifying_key()).unwrap();
    for i in 0..n {
        rx.receive(&a.packet(i)).unwrap();
        rx.receive(&b.packet(i)).unwrap();
        rx.receive(&c.packet(i)).unwrap();
    }
    assert_eq!(rx.broadcasts().len(), 3);
    // Same name from another trusted broadcast: written beside, not over.
    let mut got = vec![
        fs::read(dir.path().join("a.txt")).unwrap(),
        fs::read(dir.path().join("a (2).txt")).unwrap(),
    ];
    got.sort();
    let mut want = vec![fa[0].1.clone(), fc[0].1.clone()];
    want.sort();
    assert_eq!(got, want);
    assert!(!dir.path().join("b.txt").exists());
    let st = rx.status();
    let sb = st.iter().find(|s| s.broadcast == b.broadcast_id()).unwrap();
    assert_eq!(sb.state, FileState::ManifestRejected);
    assert!(rx.events().iter().any(
        |e| matches!(e, Event::ManifestRejected { broadcast, .. } if *broadcast == b.broadcast_id())
    ));
}

#[test]
fn garbage_packets_are_counted_not_stored() {
    let files = vec![("g.txt".to_string(), bytes(3000, 4))];
    let k = key(14);
    let c = Carousel::new(&files, &k, 64, 0.5).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    let mut bad = 0;
    for i in 0..500u64 {
        let len = [0usize, 1, 10, 31, 64, 64, 200, 9000][(i % 8) as usize];
        let g = bytes(len, i);
        if let Received::Bad(_) = rx.receive(&g).unwrap() {
            bad += 1;
        }
        // A real packet with a flipped bit.
        let mut p = c.packet(i);
        p[(i as usize * 7) % 64] ^= 1 << (i % 8);
        assert!(matches!(rx.receive(&p).unwrap(), Received::Bad(_)));
        bad += 1;
    }
    assert_eq!(rx.stats().bad, bad);
    assert!(written(dir.path()).is_empty());
    // Well-formed packets of unknown kind and version are refused too.
    let mut p = c.packet(1);
    p[0] = 0x13;
    reseal(&mut p);
    assert!(matches!(rx.receive(&p).unwrap(), Received::Bad(_)));
    p[0] = 0x21;
    reseal(&mut p);
    assert!(matches!(rx.receive(&p).unwrap(), Received::Bad(_)));
    // Then the real stream still works.
    feed(
        &mut rx,
        &c.packets()
            .take(c.packets_per_round() as usize)
            .collect::<Vec<_>>(),
    );
    assert_eq!(fs::read(dir.path().join("g.txt")).unwrap(), files[0].1);
}

#[test]
fn hostile_names_stay_inside_dir() {
    assert_eq!(sanitize_name("../../etc/passwd", 0), "_._.._etc_passwd");
    assert_eq!(sanitize_name("..", 3), "file-3");
    assert_eq!(sanitize_name(".baram-carousel", 1), "_baram-carousel");
    assert_eq!(sanitize_name("김정은 비판.pdf", 1), "김정은 비판.pdf");
    assert_eq!(sanitize_name("a\nb\0c", 1), "a_b_c");
    let files = vec![
        ("../evil.txt".to_string(), b"x".to_vec()),
        ("/abs".to_string(), b"y".to_vec()),
    ];
    let k = key(15);
    let c = Carousel::new(&files, &k, 64, 0.5).unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("in");
    let mut rx = Receiver::open(&dir, &k.verifying_key()).unwrap();
    feed(
        &mut rx,
        &c.packets()
            .take(2 * c.packets_per_round() as usize)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        written(&dir),
        vec!["_._evil.txt".to_string(), "_abs".to_string()]
    );
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
}

#[test]
fn damaged_store_recovers_what_is_valid() {
    let files = vec![("k.txt".to_string(), bytes(6000, 12))];
    let k = key(16);
    let c = Carousel::new(&files, &k, 64, 1.0).unwrap();
    let data = data_packets(&c, 4 * c.packets_per_round());
    let kk = c.manifest().files[0].source_symbols() as usize;
    let base = tempfile::tempdir().unwrap();
    {
        let mut rx = Receiver::open(base.path(), &k.verifying_key()).unwrap();
        feed(&mut rx, c.manifest_packets());
        feed(&mut rx, &data[..kk * 3 / 4]);
        rx.sync().unwrap();
    }
    let bdir = base
        .path()
        .join(STATE_DIR)
        .join(c.broadcast_id().to_string());
    let log = fs::read(bdir.join("f0.log")).unwrap();
    let mlog = fs::read(bdir.join("manifest.log")).unwrap();
    let mut rng = bytes(4000, 77).into_iter().map(|b| b as usize);
    for trial in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let sd = dir
            .path()
            .join(STATE_DIR)
            .join(c.broadcast_id().to_string());
        fs::create_dir_all(&sd).unwrap();
        let mut l = log.clone();
        let mut m = mlog.clone();
        match trial % 4 {
            0 => l.truncate((rng.next().unwrap() * 257 + rng.next().unwrap()) % l.len()),
            1 => {
                for _ in 0..3 {
                    let at = (rng.next().unwrap() * 256 + rng.next().unwrap()) % l.len();
                    l[at] ^= 1 + rng.next().unwrap() as u8 % 255;
                }
            }
            2 => m.truncate(rng.next().unwrap() % m.len()),
            _ => {
                let at = (rng.next().unwrap() * 256 + rng.next().unwrap()) % l.len();
                l.splice(at..at, bytes(rng.next().unwrap() + 1, trial));
            }
        }
        fs::write(sd.join("f0.log"), &l).unwrap();
        fs::write(sd.join("manifest.log"), &m).unwrap();
        let rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
        let held = rx.status().iter().map(|s| s.symbols_held).sum::<u64>();
        assert!(held <= (kk * 3 / 4) as u64);
        if l != log || m != mlog {
            assert!(
                rx.events()
                    .iter()
                    .any(|e| matches!(e, Event::StoreRepaired { .. })),
                "trial {trial}: {:?}",
                rx.events()
            );
        }
        drop(rx);
        // Reopening the repaired store is clean, and the rest rebuilds the file.
        let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
        assert!(
            !rx.events()
                .iter()
                .any(|e| matches!(e, Event::StoreRepaired { .. }))
        );
        feed(&mut rx, c.manifest_packets());
        feed(&mut rx, &data[kk * 3 / 4..kk * 3]);
        assert_eq!(
            fs::read(dir.path().join("k.txt")).unwrap(),
            files[0].1,
            "trial {trial}"
        );
    }
}

#[test]
fn overheads() {
    let names: Vec<String> = (0..10)
        .map(|i| format!("뉴스-2024-06-{i:02}.txt"))
        .collect();
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (n.clone(), bytes(30_000, 1)))
        .collect();
    for payload in [64, 128, 256] {
        let c = Carousel::new(&files, &key(1), payload, 0.2).unwrap();
        println!(
            "payload {payload}: data header {DATA_OVERHEAD} B = {:.1}%, manifest blob for 10 files {} B in {} packets, \
             manifest share of the carousel {:.1}%",
            100.0 * DATA_OVERHEAD as f64 / payload as f64,
            c.manifest_blob().len(),
            c.manifest_packets().len(),
            100.0 * (c.packets_per_round() - c.data_packets_per_round()) as f64
                / c.packets_per_round() as f64,
        );
    }
}

/// Timing of the 200 kB book at 64-byte payloads (run with --nocapture).
#[test]
fn speed_200k() {
    let files = vec![("book.bin".to_string(), bytes(200_000, 1))];
    let k = key(1);
    let t0 = std::time::Instant::now();
    let c = Carousel::new(&files, &k, 64, 0.5).unwrap();
    let build = t0.elapsed();
    let n = c.packets_per_round();
    let t1 = std::time::Instant::now();
    // Round 1 onwards: repair symbols only, so the decoder really solves.
    let pk: Vec<_> = (n..2 * n).map(|i| c.packet(i)).collect();
    let gen_time = t1.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &k.verifying_key()).unwrap();
    let t2 = std::time::Instant::now();
    feed(&mut rx, &pk);
    let rx_time = t2.elapsed();
    assert!(matches!(rx.status()[0].state, FileState::Rebuilt(_)));
    println!(
        "200 kB, K = {}: carousel build {build:?}, {n} packets generated in {gen_time:?} ({:.0}/s), received+decoded in {rx_time:?}",
        c.manifest().files[0].source_symbols(),
        n as f64 / gen_time.as_secs_f64()
    );
}

/// The raptorq crate numbers repair symbols from K, not K' (found by the
/// modem's end-to-end test: K = 4 has K' = 10, and the first six repair
/// symbols were refused). A file rebuilt from repair symbols only.
#[test]
fn repair_symbols_between_k_and_k_prime_are_used() {
    let data = bytes(4 * 100, 9);
    let files = vec![("four.bin".to_string(), data.clone())];
    let c = Carousel::new(&files, &key(1), 100 + DATA_OVERHEAD, 2.0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::open(dir.path(), &key(1).verifying_key()).unwrap();
    for p in c.manifest_packets() {
        rx.receive(p).unwrap();
    }
    let mut fed = 0;
    for n in 0..200 {
        let p = c.packet(n);
        if let Ok(Packet::Data(d)) = parse(&p) {
            if d.esi < 4 {
                continue;
            }
            assert!(d.esi < 10, "the first round's repair symbols are ESIs 4..");
            assert_eq!(rx.receive(&p).unwrap(), Received::Symbol, "ESI {}", d.esi);
            fed += 1;
            if fed == 6 {
                break;
            }
        }
    }
    assert_eq!(fs::read(dir.path().join("four.bin")).unwrap(), data);
}
