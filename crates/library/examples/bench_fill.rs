//! Fills a workspace catalog with N generated items for bench/catalog.sh.
//! Usage: bench_fill WORKSPACE N

use baram_library::{BenchRow, Kind, Library};
use std::path::PathBuf;

const WORDS: &[&str] = &[
    "사랑의",
    "불시착",
    "평양",
    "서울",
    "바깥",
    "세상",
    "소식",
    "뉴스",
    "백과사전",
    "역사",
    "과학",
    "음악",
    "영화",
    "드라마",
    "편지",
    "자유",
    "시장",
    "경제",
    "건강",
    "요리",
    "world",
    "news",
    "history",
    "science",
    "music",
    "drama",
    "letter",
    "freedom",
    "market",
    "health",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let ws = PathBuf::from(args.next().expect("usage: bench_fill WORKSPACE N"));
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: bench_fill WORKSPACE N");
    let mut lib = Library::init(&ws).expect("init");
    let kinds = Kind::ALL;
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let rows = (0..n).map(|i| {
        let a = WORDS[(next() % WORDS.len() as u64) as usize];
        let b = WORDS[(next() % WORDS.len() as u64) as usize];
        let c = WORDS[(next() % WORDS.len() as u64) as usize];
        let series = (i % 10 == 0).then(|| format!("{a} {b}"));
        BenchRow {
            title: format!("{a} {b} {c} {i}"),
            file_name: format!("{a}_{b}_{i}.txt"),
            kind: kinds[(i % 6) as usize],
            episode: series.as_ref().map(|_| (i % 24) as u32 + 1),
            series,
            tags: vec![
                WORDS[(next() % 10) as usize].to_string(),
                format!("batch{}", i % 50),
            ],
            value: (next() % 100) as u8 + 1,
        }
    });
    let added = lib.bench_fill(rows).expect("fill");
    println!("{added} items in {}", ws.display());
}
