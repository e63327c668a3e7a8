//! Integration tests for `baram_drop::write`: many targets at once, exact
//! corruption offsets, too-small and counterfeit targets, refusals, the
//! O_DIRECT fallback and a deterministic report.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use baram_drop::write::probe::{self, ProbeOutcome};
use baram_drop::write::{
    EngineTarget, Error, FileTarget, Found, Phase, ProgressEvent, ReadBack, Refusal, TargetIo,
    TargetKind, Verdict, WriteOptions, preflight, preflight_with, write_targets,
};

const MIB: u64 = 1 << 20;

/// Deterministic pseudo-random bytes (an xorshift stream): no two 1 MiB
/// chunks are alike, so a misplaced chunk cannot pass.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn make_image(dir: &Path, len: usize) -> (PathBuf, Vec<u8>) {
    let data = pattern(len, 0x5eed);
    let p = dir.join("drop.img");
    std::fs::write(&p, &data).unwrap();
    (p, data)
}

fn no_progress(_: ProgressEvent) {}

/// An in-memory drive. `real` bytes of storage behind a claimed size;
/// addresses beyond `real` either wrap (a counterfeit) or vanish.
#[derive(Clone)]
struct MemDisk {
    claimed: u64,
    store: Arc<Mutex<Vec<u8>>>,
    beyond: Beyond,
    /// Reads return this byte flipped (a medium that garbles one byte).
    flip_on_read: Option<u64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Beyond {
    Wrap,
    Lose,
}

impl MemDisk {
    fn new(claimed: u64, real: usize, beyond: Beyond) -> Self {
        MemDisk {
            claimed,
            store: Arc::new(Mutex::new(vec![0xa5; real])),
            beyond,
            flip_on_read: None,
        }
    }

    /// Where `offset` lands physically, if it is stored at all.
    fn phys(&self, offset: u64, real: usize) -> Option<usize> {
        if offset < real as u64 {
            Some(offset as usize)
        } else if self.beyond == Beyond::Wrap {
            Some((offset % real as u64) as usize)
        } else {
            None
        }
    }
}

impl TargetIo for MemDisk {
    fn claimed_size(&self) -> u64 {
        self.claimed
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut s = self.store.lock().unwrap();
        let real = s.len();
        let mut i = 0;
        while i < buf.len() {
            let o = offset + i as u64;
            // Contiguous run up to the next multiple of the real size.
            let run = (real - (o % real as u64) as usize).min(buf.len() - i);
            if let Some(p) = self.phys(o, real) {
                s[p..p + run].copy_from_slice(&buf[i..i + run]);
            }
            i += run;
        }
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let s = self.store.lock().unwrap();
        let real = s.len();
        let n = buf.len().min(self.claimed.saturating_sub(offset) as usize);
        let mut i = 0;
        while i < n {
            let o = offset + i as u64;
            let run = (real - (o % real as u64) as usize).min(n - i);
            match self.phys(o, real) {
                Some(p) => buf[i..i + run].copy_from_slice(&s[p..p + run]),
                None => buf[i..i + run].fill(0),
            }
            i += run;
        }
        if let Some(f) = self.flip_on_read
            && f >= offset
            && f < offset + n as u64
        {
            buf[(f - offset) as usize] ^= 0xff;
        }
        Ok(n)
    }
    fn read_back(&self) -> ReadBack {
        ReadBack::Uncached
    }
}

fn engine_target(name: &str, io: impl TargetIo + 'static, probe: bool) -> EngineTarget {
    EngineTarget {
        name: name.to_string(),
        kind: TargetKind::Device,
        io: Ok(Box::new(io)),
        probe,
    }
}

#[test]
fn writes_and_verifies_several_image_files_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Odd length: the last chunk is partial and the last O_DIRECT read short.
    let (image, data) = make_image(dir.path(), 9 * MIB as usize + 12_345);
    // One target exists and is bigger: it must be truncated to the image.
    std::fs::write(dir.path().join("c.img"), vec![1u8; 12 << 20]).unwrap();
    let targets: Vec<PathBuf> = ["a.img", "b.img", "c.img", "d.img"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let pre = preflight(&image, &targets).unwrap();
    assert!(pre.devices().is_empty());
    let events = Mutex::new(Vec::new());
    let report = pre
        .run(&WriteOptions::default(), &|e| {
            events.lock().unwrap().push(e)
        })
        .unwrap();
    assert!(report.all_ok(), "{}", report.to_json());
    for (t, r) in targets.iter().zip(&report.targets) {
        assert_eq!(std::fs::read(t).unwrap(), data, "{}", t.display());
        assert_eq!(r.read_back, Some(ReadBack::Direct));
        assert_eq!(r.kind, TargetKind::File);
        assert_eq!(r.claimed_size, data.len() as u64);
    }
    // Progress: per target, phases in order, bytes never go back, and both
    // writing and verifying reach the image size.
    let events = events.into_inner().unwrap();
    let len = data.len() as u64;
    for i in 0..targets.len() {
        let mine: Vec<_> = events.iter().filter(|e| e.target == i).collect();
        assert!(mine.iter().all(|e| e.total == len));
        assert!(mine.windows(2).all(
            |w| w[0].phase < w[1].phase || (w[0].phase == w[1].phase && w[0].done <= w[1].done)
        ));
        for phase in [Phase::Write, Phase::Verify] {
            assert_eq!(
                mine.iter()
                    .filter(|e| e.phase == phase)
                    .map(|e| e.done)
                    .max(),
                Some(len)
            );
        }
        assert_eq!(mine.last().unwrap().phase, Phase::Done);
    }
}

/// A real file target tampered with between write and verify: after the
/// final fsync, one byte is flipped on disk behind the writer's back.
struct Tamper {
    inner: FileTarget,
    path: PathBuf,
    at: u64,
}

impl TargetIo for Tamper {
    fn claimed_size(&self) -> u64 {
        self.inner.claimed_size()
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_at(buf, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()?;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)?;
        let mut b = [0u8];
        f.read_exact_at(&mut b, self.at)?;
        f.write_all_at(&[b[0] ^ 0x20], self.at)?;
        f.sync_all()
    }
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn read_back(&self) -> ReadBack {
        self.inner.read_back()
    }
}

#[test]
fn tampered_file_fails_at_the_exact_offset_others_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (image, data) = make_image(dir.path(), 6 * MIB as usize + 100);
    for at in [0u64, 3 * MIB + 4097, data.len() as u64 - 1] {
        let good = dir.path().join("good.img");
        let bad = dir.path().join("bad.img");
        let tamper = Tamper {
            inner: FileTarget::create_file(&bad, data.len() as u64).unwrap(),
            path: bad.clone(),
            at,
        };
        let targets = vec![
            engine_target(
                "good",
                FileTarget::create_file(&good, data.len() as u64).unwrap(),
                false,
            ),
            engine_target("bad", tamper, false),
        ];
        let r = write_targets(&image, targets, true, &no_progress).unwrap();
        assert_eq!(r.targets[0].verdict, Verdict::Ok);
        match &r.targets[1].verdict {
            Verdict::Failed {
                phase: Phase::Verify,
                offset: Some(x),
                reason,
            } => {
                assert_eq!(*x, at, "{reason}");
                assert!(reason.contains(&format!("offset {at}")), "{reason}");
            }
            v => panic!("expected a verify failure at {at}, got {v:?}"),
        }
        assert_eq!(r.targets[1].read_back, Some(ReadBack::Direct));
        assert!(!r.all_ok());
    }
}

#[test]
fn garbling_drive_double_fails_at_the_exact_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 5 * MIB as usize);
    let mut d = MemDisk::new(16 * MIB, 16 * MIB as usize, Beyond::Lose);
    d.flip_on_read = Some(1_234_567);
    let r = write_targets(
        &image,
        vec![engine_target("d", d, true)],
        true,
        &no_progress,
    )
    .unwrap();
    assert!(
        matches!(
            r.targets[0].verdict,
            Verdict::Failed {
                phase: Phase::Verify,
                offset: Some(1_234_567),
                ..
            }
        ),
        "{:?}",
        r.targets[0].verdict
    );
}

#[test]
fn too_small_target_gets_no_bytes_and_others_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let (image, data) = make_image(dir.path(), 3 * MIB as usize);
    let small = MemDisk::new(2 * MIB, 2 * MIB as usize, Beyond::Lose);
    let before = small.store.lock().unwrap().clone();
    let ok = dir.path().join("ok.img");
    // An existing file of 1 MiB opened as a fixed-size drive: too small too.
    let fixed = dir.path().join("fixed.img");
    std::fs::write(&fixed, vec![9u8; MIB as usize]).unwrap();
    let targets = vec![
        engine_target("small", small.clone(), true),
        engine_target(
            "ok",
            FileTarget::create_file(&ok, data.len() as u64).unwrap(),
            false,
        ),
        engine_target("fixed", FileTarget::open_device(&fixed).unwrap(), true),
    ];
    let r = write_targets(&image, targets, true, &no_progress).unwrap();
    let needed = data.len() as u64;
    assert_eq!(
        r.targets[0].verdict,
        Verdict::TooSmall {
            size: 2 * MIB,
            needed
        }
    );
    assert_eq!(r.targets[1].verdict, Verdict::Ok);
    assert_eq!(
        r.targets[2].verdict,
        Verdict::TooSmall { size: MIB, needed }
    );
    assert_eq!(*small.store.lock().unwrap(), before);
    assert_eq!(std::fs::read(&fixed).unwrap(), vec![9u8; MIB as usize]);
}

#[test]
fn wrapping_counterfeit_is_refused_before_any_content_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 4 * MIB as usize);
    // Claims 1 GiB, holds 16 MiB, addresses wrap (high bits ignored).
    let fake = MemDisk::new(1 << 30, 16 * MIB as usize, Beyond::Wrap);
    let before = fake.store.lock().unwrap().clone();
    let r = write_targets(
        &image,
        vec![engine_target("fake", fake.clone(), true)],
        true,
        &no_progress,
    )
    .unwrap();
    match &r.targets[0].verdict {
        Verdict::FakeCapacity {
            claimed,
            probe_offset,
            found,
            usable_at_most,
        } => {
            assert_eq!(*claimed, 1 << 30);
            assert_eq!(*probe_offset, 0);
            assert!(
                matches!(found, Found::MarkOf { offset } if offset % (16 * MIB) == 0 && *offset > 0)
            );
            assert_eq!(*usable_at_most, 16 * MIB);
        }
        v => panic!("expected fake capacity, got {v:?}"),
    }
    // Nothing of the image was written, and the probe blocks were restored.
    assert!(*fake.store.lock().unwrap() == before);
}

#[test]
fn wraps_at_other_sizes_and_lost_writes_are_found() {
    // Real sizes a power of two, a divisor of the claimed size by 64 and 3/16
    // of it, wrapping; and a drive that drops writes beyond its real size.
    let claimed = 1u64 << 30;
    for (real, beyond) in [
        (8 * MIB, Beyond::Wrap),
        (claimed / 64, Beyond::Wrap),
        (claimed * 3 / 16, Beyond::Wrap),
        (100 * MIB, Beyond::Lose),
    ] {
        let mut d = MemDisk::new(claimed, real as usize, beyond);
        let mut notes = Vec::new();
        let out = probe::probe(&mut d, &[3u8; 32], &mut notes).unwrap();
        let ProbeOutcome::Fake(f) = out else {
            panic!("real {real}: not detected");
        };
        assert!(
            f.usable_at_most <= real.next_power_of_two(),
            "real {real}: {f:?}"
        );
        assert!(f.usable_at_most >= real / 2, "real {real}: {f:?}");
        assert!(notes.is_empty());
    }
    // A genuine drive passes, also at an odd (512-aligned) size.
    for size in [64 * MIB, 64 * MIB + 512] {
        let mut d = MemDisk::new(size, size as usize, Beyond::Lose);
        let before = d.store.lock().unwrap().clone();
        let out = probe::probe(&mut d, &[4u8; 32], &mut Vec::new()).unwrap();
        assert_eq!(out, ProbeOutcome::Genuine);
        assert!(*d.store.lock().unwrap() == before, "probe must restore");
    }
}

#[test]
fn a_wrap_the_probe_cannot_see_is_caught_by_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), 6 * MIB as usize);
    // Holds 5 MiB + 12 KiB, claims 64 MiB, probe off: the image's tail
    // wraps onto its head, so the first chunk reads back wrong.
    let real = 5 * MIB as usize + 12_288;
    let d = MemDisk::new(64 * MIB, real, Beyond::Wrap);
    let r = write_targets(
        &image,
        vec![engine_target("d", d, false)],
        true,
        &no_progress,
    )
    .unwrap();
    assert!(
        matches!(
            r.targets[0].verdict,
            Verdict::Failed {
                phase: Phase::Verify,
                offset: Some(0),
                ..
            }
        ),
        "{:?}",
        r.targets[0].verdict
    );
}

#[test]
fn probe_passes_on_a_big_sparse_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sparse.img");
    let f = File::create(&p).unwrap();
    f.set_len(64 << 30).unwrap(); // 64 GiB, sparse
    drop(f);
    let mut t = FileTarget::open_device(&p).unwrap();
    assert_eq!(t.claimed_size(), 64 << 30);
    let mut notes = Vec::new();
    assert_eq!(
        probe::probe(&mut t, &[9u8; 32], &mut notes).unwrap(),
        ProbeOutcome::Genuine
    );
    assert_eq!(t.read_back(), ReadBack::Direct);
    assert!(notes.is_empty());
    // Restored: the probed blocks read as zeros again, and the file kept its size.
    let mut b = vec![1u8; 4096];
    File::open(&p)
        .unwrap()
        .read_exact_at(&mut b, (64 << 30) - 4096)
        .unwrap();
    assert!(b.iter().all(|&x| x == 0));
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 64 << 30);
}

fn refuse_direct(_: &Path) -> io::Result<File> {
    Err(io::Error::from_raw_os_error(22)) // EINVAL, as file systems without O_DIRECT answer
}

#[test]
fn o_direct_refusal_falls_back_with_a_clear_note() {
    let dir = tempfile::tempdir().unwrap();
    let (image, data) = make_image(dir.path(), 2 * MIB as usize + 3);
    let p = dir.path().join("t.img");
    let t = FileTarget::create_file(&p, data.len() as u64)
        .unwrap()
        .with_direct_opener(refuse_direct);
    let r = write_targets(
        &image,
        vec![engine_target("t", t, true)],
        true,
        &no_progress,
    )
    .unwrap();
    assert_eq!(r.targets[0].verdict, Verdict::Ok);
    match &r.targets[0].read_back {
        Some(ReadBack::Buffered { reason }) => {
            assert!(reason.contains("refused O_DIRECT"), "{reason}");
            assert!(reason.contains("page cache"), "{reason}");
        }
        other => panic!("expected a buffered read-back note, got {other:?}"),
    }
    assert!(r.to_json().contains("\"mode\": \"buffered\""));
    assert_eq!(std::fs::read(&p).unwrap(), data);
}

#[test]
fn image_file_targets_refused_when_they_are_the_image_or_named_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), MIB as usize);
    let link = dir.path().join("link.img");
    std::os::unix::fs::symlink(&image, &link).unwrap();
    let hard = dir.path().join("hard.img");
    std::fs::hard_link(&image, &hard).unwrap();
    let a = dir.path().join("a.img");
    let a2 = dir.path().join(".").join("a.img");
    let targets = vec![
        image.clone(),
        link.clone(),
        hard,
        a.clone(),
        a2,
        dir.path().to_path_buf(),
        dir.path().join("missing/x.img"),
    ];
    let never = &mut || -> Result<_, _> { panic!("no device among the targets") };
    let Err(Error::Refused(r)) = preflight_with(&image, &targets, never) else {
        panic!("expected a refusal");
    };
    let reasons: Vec<_> = r
        .iter()
        .map(|t| (t.target.clone(), t.reasons.clone()))
        .collect();
    assert_eq!(reasons[0].1, vec![Refusal::IsImage]);
    assert_eq!(reasons[1].1[0], Refusal::IsImage);
    assert_eq!(reasons[2].1[0], Refusal::IsImage);
    assert!(
        matches!(&reasons[3].1[..], [Refusal::Duplicate { first }] if *first == a.display().to_string())
    );
    assert!(matches!(&reasons[4].1[..], [Refusal::NotAFileOrDisk { what }] if what == "a folder"));
    assert!(
        matches!(&reasons[5].1[..], [Refusal::NotAFileOrDisk { what }] if what.contains("does not exist"))
    );
    // Nothing written: a.img was not created.
    assert!(!a.exists());
    let msg = Error::Refused(r).to_string();
    assert!(
        msg.contains("nothing was written") && msg.contains("is the image itself"),
        "{msg}"
    );
    // Also: no targets, empty image.
    assert!(matches!(preflight(&image, &[]), Err(Error::NoTargets)));
    let empty = dir.path().join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        preflight(&empty, &[a]),
        Err(Error::EmptyImage { .. })
    ));
}

/// The real thin layer on this machine: the disk holding `/` is refused.
#[test]
fn real_system_disk_is_refused() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let root_dev = std::fs::metadata("/").unwrap().dev();
    let dn = baram_drop::write::DevNum::from_rdev(root_dev);
    let node = PathBuf::from(format!("/dev/block/{dn}"));
    let node = if node.exists() {
        node
    } else {
        // No /dev/block links: look for the node in /dev.
        std::fs::read_dir("/dev")
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                std::fs::metadata(p)
                    .is_ok_and(|m| m.file_type().is_block_device() && m.rdev() == root_dev)
            })
            .unwrap_or_else(|| {
                panic!("/ is on device {dn} with no block device node: this test needs / on a disk")
            })
    };
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), MIB as usize);
    let facts = baram_drop::write::SystemFacts::read().unwrap();
    // The root device may be a partition (sda2) or a whole disk (vda).
    let disk = facts
        .disks
        .iter()
        .find(|d| d.dev == Some(dn) || d.partitions.iter().any(|p| p.dev == Some(dn)))
        .expect("the disk holding / is in /sys/block");
    let disk_node = PathBuf::from(format!("/dev/{}", disk.name));
    for target in [node, disk_node] {
        match preflight(&image, std::slice::from_ref(&target)) {
            Err(Error::Refused(r)) => {
                let reasons = &r[0].reasons;
                assert!(
                    reasons.iter().any(|x| matches!(
                        x,
                        Refusal::SystemDisk { .. } | Refusal::Partition { .. }
                    )),
                    "{}: {reasons:?}",
                    target.display()
                );
            }
            other => panic!("{} was not refused: {other:?}", target.display()),
        }
    }
}

#[test]
fn block_devices_need_confirmation_and_list_what_is_erased() {
    use baram_drop::write::{DeviceInfo, PlannedTarget, Preflight};
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = make_image(dir.path(), MIB as usize);
    let info = DeviceInfo {
        path: "/dev/sdz".into(),
        name: "sdz".into(),
        size: 32_000_000_000,
        vendor: Some("SanDisk".into()),
        model: Some("Ultra".into()),
        transport: "usb".into(),
    };
    let pre = Preflight {
        image: image.clone(),
        image_len: MIB,
        targets: vec![
            PlannedTarget {
                path: dir.path().join("x.img"),
                kind: TargetKind::File,
                device: None,
            },
            PlannedTarget {
                path: "/dev/sdz".into(),
                kind: TargetKind::Device,
                device: Some(info.clone()),
            },
        ],
    };
    assert_eq!(pre.devices(), vec![&info]);
    match pre.run(&WriteOptions::default(), &no_progress) {
        Err(e @ Error::NeedsConfirmation(_)) => {
            assert_eq!(
                e.to_string(),
                "writing erases everything on: /dev/sdz (SanDisk Ultra, 32.0 GB, usb); confirm (yes) to go on"
            );
            let Error::NeedsConfirmation(list) = e else {
                unreachable!()
            };
            assert_eq!(list, vec![info]);
        }
        other => panic!("expected a confirmation request, got {other:?}"),
    }
    assert!(
        !dir.path().join("x.img").exists(),
        "nothing may be written before confirmation"
    );
}

#[test]
fn report_json_is_deterministic() {
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let (image, _) = make_image(dir.path(), 2 * MIB as usize + 1);
        let small = MemDisk::new(MIB, MIB as usize, Beyond::Lose);
        let fake = MemDisk::new(1 << 30, 16 * MIB as usize, Beyond::Wrap);
        let mut bad = MemDisk::new(8 * MIB, 8 * MIB as usize, Beyond::Lose);
        bad.flip_on_read = Some(MIB + 5000); // outside every probe block
        let good = MemDisk::new(8 * MIB, 8 * MIB as usize, Beyond::Lose);
        let targets = vec![
            engine_target("/dev/sdb", good, true),
            engine_target("/dev/sdc", small, true),
            engine_target("/dev/sdd", fake, true),
            engine_target("/dev/sde", bad, true),
        ];
        // The image path differs per run: report only its file name.
        let cwd_image = PathBuf::from(image.file_name().unwrap());
        let r = write_targets(&image, targets, true, &no_progress).unwrap();
        let mut r = r;
        r.image = cwd_image.display().to_string();
        r.to_json()
    };
    let a = run();
    assert_eq!(a, run());
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    let t = &v["targets"];
    assert_eq!(v["image_size"], 2 * MIB + 1);
    assert_eq!(v["chunk_size"], MIB);
    assert_eq!(t[0]["verdict"], "ok");
    assert_eq!(t[0]["read_back"]["mode"], "uncached");
    assert_eq!(t[1]["verdict"], "too_small");
    assert_eq!(t[1]["needed"], 2 * MIB + 1);
    assert_eq!(t[2]["verdict"], "fake_capacity");
    assert_eq!(t[2]["usable_at_most"], 16 * MIB);
    assert_eq!(t[2]["found"]["kind"], "mark_of");
    assert_eq!(t[3]["verdict"], "failed");
    assert_eq!(t[3]["phase"], "verify");
    assert_eq!(t[3]["offset"], MIB + 5000);
    // Round trip.
    let back: baram_drop::write::WriteReport = serde_json::from_str(&a).unwrap();
    assert_eq!(back.to_json(), a);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Whatever byte the medium garbles, the report names exactly it.
    #[test]
    fn any_garbled_byte_is_located_exactly(len in 1usize..(3 << 20), at_frac in 0.0f64..1.0) {
        let dir = tempfile::tempdir().unwrap();
        let (image, _) = make_image(dir.path(), len);
        let at = ((len as f64 * at_frac) as u64).min(len as u64 - 1);
        let mut d = MemDisk::new(4 * MIB, 4 * MIB as usize, Beyond::Lose);
        d.flip_on_read = Some(at);
        let r = write_targets(&image, vec![engine_target("d", d, false)], true, &no_progress).unwrap();
        let ok = matches!(r.targets[0].verdict, Verdict::Failed { phase: Phase::Verify, offset: Some(x), .. } if x == at);
        proptest::prop_assert!(ok, "{:?}", r.targets[0].verdict);
    }
}
