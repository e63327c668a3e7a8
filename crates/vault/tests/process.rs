//! `Vault::process` end to end, through the real intake and import: findings
//! (Red Star chain, camera serial, GPS, authors) kept encrypted, safe images
//! with the same pixels and none of the metadata (exiftool as the oracle),
//! text for the search index, quarantine of hostile input with the batch going
//! on and nothing lost, deduplication, and crash safety under kills.

mod common;
use baram_sanitize::fixtures;
use baram_vault::process::{Options, Status};
use common::*;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn decode(data: &[u8]) -> image::RgbaImage {
    image::load_from_memory(data).unwrap().to_rgba8()
}

#[test]
fn findings_safe_images_text_and_nothing_in_clear() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let serial_a = unique("WD-VPROC");
    let serial_b = unique("S2R6-VPROC");
    let text_marker = unique("MARKER-TEXT");
    let photo = fixtures::jpeg_with_exif();
    let marked = baram_sanitize::redstar::append_trailer(&photo, &[&serial_a, &serial_b]);
    let text = format!("{text_marker} 평양 보고서: 내부 문서\n");
    let ids = bring_in(
        &root,
        t.path(),
        &[
            ("photo-redstar.jpg", marked.clone()),
            ("photo.jpg", photo.clone()),
            ("image.png", fixtures::png_with_text()),
            ("report.docx", fixtures::docx_with_metadata()),
            ("notes.txt", text.clone().into_bytes()),
        ],
    );
    let (mut v, keys) = open(&root);
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(
        (rep.processed, rep.quarantined, rep.unhandled),
        (5, 0, 0),
        "{rep:#?}"
    );

    // The Red Star chain, the camera serial and GPS: in the encrypted report.
    let r = v
        .process_report(&keys, &ids["photo-redstar.jpg"])
        .unwrap()
        .unwrap();
    assert_eq!(r.status, Status::Processed);
    assert_eq!(r.kind.as_deref(), Some("jpg"));
    let rs = r.redstar.as_ref().expect("the Red Star chain");
    assert_eq!(rs.blocks, 2);
    assert_eq!(rs.serials, vec![serial_a.clone(), serial_b.clone()]);
    let has = |r: &baram_vault::process::Report, cat: &str, needle: &str| {
        r.findings.iter().any(|f| {
            f.category == cat
                && (f.field.contains(needle) || f.value.as_deref().unwrap_or("").contains(needle))
        })
    };
    assert!(
        has(&r, "device-id", "PLANTED-SERIAL-4471"),
        "{:#?}",
        r.findings
    );
    assert!(has(&r, "location", "GPS"), "{:#?}", r.findings);
    assert!(has(&r, "person", "KimCheolsu"), "{:#?}", r.findings);
    assert!(has(&r, "watermark", &serial_a), "{:#?}", r.findings);
    let img = r.image.as_ref().unwrap();
    assert_eq!((img.width, img.height), (16, 16));

    // The safe image: the same pixels, none of the planted bytes.
    let safe = v
        .derivative(&keys, &ids["photo-redstar.jpg"], "safe-image")
        .unwrap()
        .unwrap();
    assert!(safe.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(decode(&safe), decode(&photo));
    let mut planted: Vec<Vec<u8>> = fixtures::PLANTED
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    planted.push(serial_a.as_bytes().to_vec());
    planted.push(serial_b.as_bytes().to_vec());
    planted.push(baram_sanitize::redstar::encode_blocks(&[&serial_a]));
    for id in [&ids["photo-redstar.jpg"], &ids["image.png"]] {
        let s = v.derivative(&keys, id, "safe-image").unwrap().unwrap();
        for p in &planted {
            assert!(
                memchr::memmem::find(&s, p).is_none(),
                "{}",
                String::from_utf8_lossy(p)
            );
        }
        assert!(!s.windows(4).any(|w| w == b"tEXt"
            || w == b"eXIf"
            || w == b"iTXt"
            || w == b"zTXt"
            || w == b"tIME"));
    }
    let png_safe = v
        .derivative(&keys, &ids["image.png"], "safe-image")
        .unwrap()
        .unwrap();
    assert_eq!(decode(&png_safe), decode(&fixtures::png_with_text()));
    let pr = v.process_report(&keys, &ids["image.png"]).unwrap().unwrap();
    assert!(
        has(&pr, "person", "KimCheolsu") || pr.findings.iter().any(|f| f.field.contains("tEXt")),
        "{:#?}",
        pr.findings
    );

    // The same photo with and without the chain: one cleaned image.
    let groups = v.exact_duplicates().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g.contains(&ids["photo-redstar.jpg"]) && g.contains(&ids["photo.jpg"])),
        "{groups:?}"
    );

    // The DOCX: its authors recorded, rendered to a safe PDF (not a safe image).
    let d = v
        .process_report(&keys, &ids["report.docx"])
        .unwrap()
        .unwrap();
    assert_eq!(d.status, Status::Processed, "{d:#?}");
    assert!(has(&d, "person", "KimCheolsu"), "{:#?}", d.findings);
    assert_eq!(d.sandbox.as_deref(), Some("bwrap"));
    assert!(
        v.derivative(&keys, &ids["report.docx"], "safe-image")
            .unwrap()
            .is_none()
    );
    let safe_pdf = v
        .derivative(&keys, &ids["report.docx"], "safe-pdf")
        .unwrap()
        .unwrap();
    assert!(safe_pdf.starts_with(b"%PDF-"));
    for p in &planted {
        assert!(
            memchr::memmem::find(&safe_pdf, p).is_none(),
            "{}",
            String::from_utf8_lossy(p)
        );
    }

    // Text for the search index.
    let tx = v
        .derivative(&keys, &ids["notes.txt"], "text")
        .unwrap()
        .unwrap();
    assert_eq!(&tx[..], text.as_bytes());

    // Nothing decrypted at rest: not in the vault, not in TMPDIR.
    let mut secrets = planted.clone();
    secrets.push(text_marker.as_bytes().to_vec());
    secrets.push("평양 보고서".as_bytes().to_vec());
    secrets.push(b"IHDR".to_vec()); // a safe image in clear would have one
    assert_absent(&all_files(&root), &secrets, u64::MAX);
    let unique_secrets = vec![
        serial_a.as_bytes().to_vec(),
        serial_b.as_bytes().to_vec(),
        text_marker.as_bytes().to_vec(),
    ];
    assert_absent(&all_files(&std::env::temp_dir()), &unique_secrets, 64 << 20);

    // The check knows the derivatives: no orphans, no problems.
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");

    // Processing again does nothing.
    let again = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(
        (again.processed, again.quarantined, again.unhandled),
        (0, 0, 0)
    );
    assert_eq!(again.already, 5);
    drop(v);

    // exiftool, the independent oracle: no EXIF, GPS, XMP or text in the safe image.
    let out = t.path().join("safe.png");
    fs::write(&out, &safe[..]).unwrap();
    let o = Command::new("exiftool")
        .args(["-a", "-G1", "-u"])
        .arg(&out)
        .output()
        .expect("exiftool (apt-get install libimage-exiftool-perl)");
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{s}");
    for bad in [
        "[IFD0]",
        "[ExifIFD]",
        "[GPS]",
        "[XMP",
        "[IPTC",
        "[ICC",
        "Serial",
        "GPS",
        "Author",
        "Comment",
    ] {
        assert!(!s.contains(bad), "exiftool found {bad}:\n{s}");
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn png_chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut c = ty.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend_from_slice(&crc32(&c).to_be_bytes());
}

/// A PNG that declares 60,000 x 60,000 RGBA pixels (14.4 GB decoded) with a
/// tiny IDAT: only the header is built, nothing of that size.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1 << 20]).unwrap();
    png_chunk(&mut out, b"IDAT", &z.finish().unwrap());
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A ZIP (zip64) with one deflated member of 10 GiB of zeros, about 10 MB on
/// disk: a raw deflate stream whose 1 MiB blocks after the first two are
/// byte-identical (sync flush, window all zeros), repeated.
fn zip_bomb() -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const CHUNK: usize = 1 << 20;
    const TOTAL: u64 = 10 << 30;
    let zeros = vec![0u8; CHUNK];
    let mut c = Compress::new(Compression::best(), false);
    let mut step = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(CHUNK);
        let mut inp = input;
        loop {
            let before_in = c.total_in();
            out.reserve(64 << 10);
            c.compress_vec(inp, &mut out, flush).unwrap();
            inp = &inp[(c.total_in() - before_in) as usize..];
            if inp.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        out
    };
    let a = step(&zeros, FlushCompress::Sync);
    let b = step(&zeros, FlushCompress::Sync);
    let b2 = step(&zeros, FlushCompress::Sync);
    assert_eq!(b, b2, "the repeated block is not stable");
    let n = (TOTAL / CHUNK as u64) as usize;
    let mut deflate = a;
    for _ in 1..n - 1 {
        deflate.extend_from_slice(&b);
    }
    deflate.extend_from_slice(&b2);
    deflate.extend(step(&[], FlushCompress::Finish));
    let name = b"zeros.bin";
    let mut zip64 = Vec::new();
    zip64.extend_from_slice(&1u16.to_le_bytes());
    zip64.extend_from_slice(&16u16.to_le_bytes());
    zip64.extend_from_slice(&TOTAL.to_le_bytes());
    zip64.extend_from_slice(&(deflate.len() as u64).to_le_bytes());
    let mut out = Vec::new();
    // Local header.
    out.extend_from_slice(b"PK\x03\x04");
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // time, date
    out.extend_from_slice(&0u32.to_le_bytes()); // crc (a bomb need not be honest)
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&(zip64.len() as u16).to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&zip64);
    out.extend_from_slice(&deflate);
    let cd_off = out.len() as u32;
    out.extend_from_slice(b"PK\x01\x02");
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&(zip64.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
    out.extend_from_slice(&0u32.to_le_bytes()); // external attrs
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name);
    out.extend_from_slice(&zip64);
    let cd_len = out.len() as u32 - cd_off;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn hostile_input_is_quarantined_the_batch_goes_on_nothing_is_lost() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let photo = fixtures::jpeg_with_exif();
    let truncated = photo[..photo.len() / 2].to_vec();
    let bomb = zip_bomb();
    assert!(bomb.len() < 16 << 20, "{}", bomb.len());
    let files = vec![
        ("truncated.jpg", truncated),
        ("huge.png", png_bomb()),
        ("bomb.zip", bomb),
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nstream\x00\x01garbage".to_vec(),
        ),
        ("fine.jpg", photo.clone()),
    ];
    let originals: HashMap<&str, Vec<u8>> = files.iter().map(|(n, d)| (*n, d.clone())).collect();
    let ids = bring_in(&root, t.path(), &files);
    let (mut v, keys) = open(&root);
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(
        (rep.processed, rep.quarantined, rep.unhandled),
        (1, 4, 0),
        "{rep:#?}"
    );
    let reason = |name: &str| {
        let r = v.process_report(&keys, &ids[name]).unwrap().unwrap();
        assert_eq!(r.status, Status::Quarantined, "{name}: {r:#?}");
        assert!(
            v.derivative(&keys, &ids[name], "safe-image")
                .unwrap()
                .is_none()
        );
        r.reason.unwrap()
    };
    let r = reason("truncated.jpg");
    assert!(r.contains("JPEG"), "{r}");
    let r = reason("huge.png");
    assert!(
        r.contains("decompression bomb") && r.contains("60000 x 60000"),
        "{r}"
    );
    let r = reason("bomb.zip");
    assert!(r.contains("ZIP bomb"), "{r}");
    let r = reason("broken.pdf");
    assert!(r.contains("PDF"), "{r}");
    // The batch went on.
    let fine = v.process_report(&keys, &ids["fine.jpg"]).unwrap().unwrap();
    assert_eq!(fine.status, Status::Processed);
    // Nothing lost: every original is still there, whole, and verifies.
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");
    assert_eq!(c.items, 5);
    let listed = v.list(&keys).unwrap();
    for (name, id) in &ids {
        let it = listed.iter().find(|i| &i.id == id).unwrap();
        let rec = it.record.as_ref().unwrap();
        assert_eq!(
            rec.blake3,
            blake3::hash(&originals[name.as_str()]).to_hex().to_string()
        );
        assert_eq!(it.status, "ok");
    }
}

/// Two pictures with structure (a photo and another scene), not flat colour.
fn scene(seed: u32, w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let v = match seed {
            0 => ((fx * 6.0).sin() * (fy * 4.0).cos() * 110.0 + 128.0) as u8,
            _ => (((fx - 0.5).powi(2) + (fy - 0.3).powi(2)).sqrt() * 900.0 % 255.0) as u8,
        };
        image::Rgb([v, v.wrapping_add(40), 255 - v])
    })
}

fn jpeg(img: &image::RgbImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(img)
        .unwrap();
    out
}

#[test]
fn near_duplicates_by_perceptual_hash() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let a = scene(0, 128, 96);
    let b = scene(1, 128, 96);
    let ids = bring_in(
        &root,
        t.path(),
        &[
            ("a.jpg", jpeg(&a, 95)),
            ("a-recompressed.jpg", jpeg(&a, 35)),
            ("b.jpg", jpeg(&b, 95)),
        ],
    );
    let (mut v, keys) = open(&root);
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(rep.processed, 3, "{rep:#?}");
    let all = v.near_duplicates(&keys, 64).unwrap();
    let dist = |x: &str, y: &str| {
        all.iter()
            .find(|d| (d.a == ids[x] && d.b == ids[y]) || (d.a == ids[y] && d.b == ids[x]))
            .unwrap()
            .distance
    };
    let same = dist("a.jpg", "a-recompressed.jpg");
    let other = dist("a.jpg", "b.jpg");
    assert!(same <= 4, "re-compressed copy: distance {same}");
    assert!(other >= 16, "another picture: distance {other}");
    let near = v.near_duplicates(&keys, 8).unwrap();
    assert_eq!(near.len(), 1, "{near:?}");
    // Not byte-identical after cleaning: not exact duplicates.
    assert!(v.exact_duplicates().unwrap().is_empty());
}

/// The child of [`killed_processing_resumes_and_leaves_nothing_half_done`]:
/// processes the vault named in the environment until it is killed.
#[test]
fn crash_child() {
    let Ok(root) = std::env::var("BARAM_TEST_PROCESS_VAULT") else {
        return;
    };
    let (mut v, keys) = open(Path::new(&root));
    v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
}

#[test]
fn killed_processing_resumes_and_leaves_nothing_half_done() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let files: Vec<(String, Vec<u8>)> = (0..24)
        .map(|i| {
            (
                format!("p{i}.jpg"),
                jpeg(&scene(i % 2, 200 + i * 8, 150), 90),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let ids = bring_in(&root, t.path(), &refs);
    let exe = std::env::current_exe().unwrap();
    let mut kills = 0;
    for delay_ms in [150u64, 300, 450, 600, 800, 1000, 1300, 1700] {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("BARAM_TEST_PROCESS_VAULT", &root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // After each kill: every item is processed whole or not at all, and
        // the vault checks clean once the next writer has recovered.
        let (mut v, keys) = open(&root);
        let c = v.check(&keys, false, &|_, _| {}).unwrap();
        assert!(c.is_clean(), "after a kill at {delay_ms} ms: {c:#?}");
        for id in ids.values() {
            if let Some(r) = v.process_report(&keys, id).unwrap() {
                assert_eq!(r.status, Status::Processed);
                assert!(v.derivative(&keys, id, "safe-image").unwrap().is_some());
            } else {
                assert!(v.derivative(&keys, id, "safe-image").unwrap().is_none());
            }
        }
    }
    assert!(kills > 0, "no run was killed mid-way");
    let (mut v, keys) = open(&root);
    v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    for id in ids.values() {
        assert_eq!(
            v.process_report(&keys, id).unwrap().unwrap().status,
            Status::Processed
        );
    }
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");
}
