//! A sample catalogue with Korean titles, shared by the site tests and the
//! `site_sample` example (which makes docs/index.png).

use baram_drop::site::{self, NameInput, SiteItem};
use baram_library::Kind;

/// (kind, title, series, episode, tags, ext, size, duration, description)
type Row = (
    Kind,
    &'static str,
    Option<&'static str>,
    Option<u32>,
    &'static [&'static str],
    &'static str,
    u64,
    Option<u64>,
    Option<&'static str>,
);

const ROWS: &[Row] = &[
    (
        Kind::Video,
        "사랑의 불시착",
        Some("사랑의 불시착"),
        Some(1),
        &["연속극", "남한"],
        "mp4",
        734_003_200,
        Some(4_920),
        Some("패러글라이딩 사고로 북쪽에 내린 남쪽 여자와 군인의 이야기."),
    ),
    (
        Kind::Video,
        "사랑의 불시착",
        Some("사랑의 불시착"),
        Some(2),
        &["연속극", "남한"],
        "mp4",
        712_441_856,
        Some(4_815),
        None,
    ),
    (
        Kind::Video,
        "바깥 세상 이야기",
        None,
        None,
        &["세계", "여행"],
        "avi",
        361_758_720,
        Some(2_710),
        Some("여러 나라 사람들이 어떻게 사는지 보여 주는 기록 영화."),
    ),
    (
        Kind::Video,
        "서울의 밤",
        None,
        None,
        &["도시"],
        "mp4",
        120_586_240,
        Some(1_505),
        None,
    ),
    (
        Kind::Audio,
        "아리랑 변주곡",
        None,
        None,
        &["음악"],
        "mp3",
        5_347_737,
        Some(214),
        None,
    ),
    (
        Kind::Audio,
        "오늘의 세계 소식",
        None,
        None,
        &["뉴스", "평양"],
        "mp3",
        14_155_776,
        Some(1_800),
        Some("라디오 뉴스 녹음."),
    ),
    (
        Kind::Book,
        "평양에서 온 편지",
        None,
        None,
        &["수기"],
        "pdf",
        2_202_009,
        None,
        Some("탈북한 사람이 가족에게 쓴 편지를 모은 책."),
    ),
    (
        Kind::Text,
        "인권이란 무엇인가",
        None,
        None,
        &["인권"],
        "txt",
        48_211,
        None,
        None,
    ),
    (
        Kind::Image,
        "한반도 지도",
        None,
        None,
        &["지도"],
        "jpg",
        1_048_576,
        None,
        None,
    ),
];

/// The sample items with their on-volume names; sizes as listed (the files
/// written by tests are small dummies: only the catalogue reads `size`).
pub fn items() -> Vec<SiteItem> {
    let inputs: Vec<NameInput> = ROWS
        .iter()
        .enumerate()
        .map(|(i, r)| NameInput {
            id: i as i64 + 1,
            kind: r.0,
            title: r.1.to_string(),
            series: r.2.map(str::to_string),
            episode: r.3,
            extension: r.5.to_string(),
        })
        .collect();
    let names = site::file_names(&inputs);
    ROWS.iter()
        .zip(names)
        .map(|(r, name)| SiteItem {
            title: r.1.to_string(),
            kind: r.0,
            path: format!("{}/{}", site::folder_for(r.0), name),
            size: r.6,
            series: r.2.map(str::to_string),
            episode: r.3,
            tags: r.4.iter().map(|t| t.to_string()).collect(),
            lang: "ko".to_string(),
            duration_seconds: r.7,
            description: r.8.map(str::to_string),
        })
        .collect()
}

/// Writes the catalogue plus a small dummy file for every item into `dir`.
/// The dummies are not valid media, so the page's "cannot play" message
/// shows when one is played.
pub fn write(
    dir: &std::path::Path,
    items: &[SiteItem],
    opts: &site::SiteOptions,
) -> std::io::Result<()> {
    for e in site::site_entries(items, opts) {
        if let baram_drop::tree::EntryKind::File {
            source: baram_drop::tree::Source::Bytes(b),
            ..
        } = &e.kind
        {
            std::fs::write(dir.join(e.path.join("/")), b.as_slice())?;
        }
    }
    for it in items {
        let p = dir.join(&it.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, b"not really media\n")?;
    }
    Ok(())
}
