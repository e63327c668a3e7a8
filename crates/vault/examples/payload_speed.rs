//! In-memory encryption speed of intake's payload writer against the age
//! crate's one-thread writer, both into /dev/null (no disk):
//!
//!     cargo run --release -p baram-vault --example payload_speed -- [MIB] [WORKERS]
use baram_vault::payload::{self, Tuning};
use std::io::Write;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().map_or(256, |a| a.parse().expect("MIB"));
    let workers: Option<usize> = args.next().map(|a| a.parse().expect("WORKERS"));
    let data: Vec<u8> = (0..(mib << 20))
        .map(|i| ((i * 2_654_435_761usize) >> 13) as u8)
        .collect();
    let r = age::x25519::Identity::generate().to_public();
    let mut null = std::fs::File::create("/dev/null").unwrap();
    let rate = |t: Instant| format!("{:.0} MB/s", mib as f64 / t.elapsed().as_secs_f64());

    let t = Instant::now();
    let mut w = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .unwrap()
        .wrap_output(std::io::BufWriter::with_capacity(1 << 20, &mut null))
        .unwrap();
    w.write_all(&data).unwrap();
    w.finish().unwrap();
    println!("age crate (one thread):      {}", rate(t));

    let t = Instant::now();
    let h = blake3::hash(&data);
    println!("BLAKE3 alone (one thread):   {}", rate(t));

    let mut tuning = Tuning::default();
    if let Some(w) = workers {
        tuning.workers = w;
    }
    for workers in [1, tuning.workers] {
        let t = Instant::now();
        let (_, hash) = payload::encrypt_to(
            &mut &data[..],
            &mut null,
            &[&r],
            Tuning { workers, ..tuning },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(hash, h);
        println!(
            "payload writer, {workers} worker(s): {} (with BLAKE3)",
            rate(t)
        );
    }
}
