//! Benchmark of the vault's search index: generates N documents (default
//! 100,000) deterministically, mixed Korean and English, 1–3 KB each, with
//! Zipf-distributed vocabularies; builds the index (seconds, memory); runs
//! varied queries (one-, two-, three-syllable Hangul words, English words,
//! two-word ANDs, rare, absent, filtered) and prints p50/p95/p99; then
//! measures age encryption and decryption throughput, the cost an encrypted
//! on-disk index would pay at every unlock.
//!
//!   cargo run --release -p baram-vault --example search_bench [DOCS] [QUERIES]

use baram_vault::search::{DocFields, Query, SearchIndex};
use std::io::{Read, Write};
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Items with Zipf(1) weights by rank.
struct Zipf<T> {
    items: Vec<T>,
    cum: Vec<f64>,
}

impl<T: Clone> Zipf<T> {
    fn new(items: Vec<T>) -> Zipf<T> {
        let mut cum = Vec::with_capacity(items.len());
        let mut s = 0.0;
        for r in 0..items.len() {
            s += 1.0 / (r as f64 + 1.0);
            cum.push(s);
        }
        Zipf { items, cum }
    }
    fn pick(&self, rng: &mut Rng) -> T {
        let x = rng.unit() * self.cum[self.cum.len() - 1];
        let i = self
            .cum
            .partition_point(|&c| c < x)
            .min(self.items.len() - 1);
        self.items[i].clone()
    }
}

// Frequent Hangul syllables, roughly by frequency in Korean text.
const SYL: &str = "이다의는에하고을가지기로한사를서리도자수대인정부시아일어내주나국전생게실상보해제만성여장동적원문중모경구무들마소회요연간유우세학것비방화공말위관당조라재신개식계교으면금발선없물미현영통단진오불거산분저행결감치민군두남북평양김은회의시장";

const KO_WORDS: &[&str] = &[
    "평양",
    "김정은",
    "회의",
    "주민",
    "시장",
    "북한",
    "노동당",
    "위원장",
    "인민",
    "군대",
    "식량",
    "배급",
    "가격",
    "쌀",
    "옥수수",
    "국경",
    "탈북",
    "중국",
    "보위부",
    "단속",
    "장마당",
    "휴대폰",
    "신의주",
    "혜산",
    "함흥",
    "청진",
    "농장",
    "공장",
    "노동자",
    "학생",
    "선전",
    "교육",
    "회령",
    "무역",
    "밀수",
    "달러",
    "위안",
    "전기",
    "정전",
    "수해",
    "가뭄",
    "감시",
    "처벌",
    "수용소",
    "재판",
    "강연",
    "조직",
    "생활",
    "총화",
    "당국",
    "간부",
    "뇌물",
    "검열",
    "동원",
    "건설",
    "군인",
    "병원",
    "약품",
    "학교",
    "기차",
    "버스",
    "도로",
    "라디오",
    "영화",
    "드라마",
    "한국",
    "남조선",
    "미국",
    "일본",
    "러시아",
    "핵",
    "미사일",
    "시험",
    "발사",
    "행사",
    "기념일",
    "명절",
    "가족",
    "아이",
    "여성",
    "노인",
    "청년",
    "마을",
    "도시",
    "집",
    "돈",
    "빵",
    "국수",
    "고기",
    "물",
    "불",
    "밥",
    "옷",
    "신발",
    "겨울",
    "여름",
    "봄",
    "가을",
    "새벽",
    "저녁",
    "보고서",
    "증언",
    "사진",
    "문서",
    "편지",
    "소식",
    "통신원",
    "소식통",
    "내부",
    "외부",
    "당원",
    "경찰",
];

const PARTICLES: &[&str] = &[
    "", "", "", "에서", "의", "은", "는", "이", "가", "을", "를", "에", "와", "과", "로", "도",
    "만", "에게", "까지", "부터",
];

const ENDINGS: &[&str] = &[
    "했다",
    "한다",
    "있다",
    "없다",
    "되었다",
    "말했다",
    "전했다",
    "밝혔다",
    "알려졌다",
    "했습니다",
];

const EN_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "in",
    "to",
    "a",
    "was",
    "that",
    "for",
    "on",
    "market",
    "pyongyang",
    "kim",
    "jong",
    "un",
    "party",
    "meeting",
    "residents",
    "rice",
    "price",
    "border",
    "china",
    "security",
    "police",
    "crackdown",
    "smuggling",
    "phone",
    "radio",
    "army",
    "soldiers",
    "factory",
    "farm",
    "workers",
    "students",
    "school",
    "hospital",
    "medicine",
    "electricity",
    "power",
    "outage",
    "flood",
    "drought",
    "prison",
    "camp",
    "trial",
    "lecture",
    "source",
    "report",
    "testimony",
    "photo",
    "document",
    "letter",
    "sinuiju",
    "hyesan",
    "hamhung",
    "chongjin",
    "hoeryong",
    "dollar",
    "yuan",
    "trade",
    "bribe",
    "inspection",
    "mobilisation",
    "construction",
    "train",
    "bus",
    "road",
    "film",
    "drama",
    "south",
    "korea",
    "missile",
    "nuclear",
    "test",
    "launch",
    "holiday",
    "family",
    "children",
    "women",
    "elderly",
    "youth",
    "village",
    "city",
    "house",
    "money",
    "bread",
    "noodles",
    "meat",
    "water",
    "winter",
    "summer",
    "spring",
    "autumn",
    "morning",
    "evening",
    "said",
    "reported",
    "according",
];

const TAGS: &[&str] = &[
    "market",
    "border",
    "army",
    "prison",
    "food",
    "health",
    "education",
    "religion",
    "media",
    "labour",
    "women",
    "children",
    "trade",
    "security",
    "party",
    "weather",
    "energy",
    "transport",
    "housing",
    "law",
];
const STATUS: &[&str] = &["new", "reviewed", "verified", "redacted"];
const KINDS: &[&str] = &["text", "image-ocr", "audio-transcript", "video-subtitles"];

struct Vocab {
    syl: Zipf<char>,
    ko: Zipf<String>,
    en: Zipf<String>,
}

impl Vocab {
    fn new(rng: &mut Rng) -> Vocab {
        let syl = Zipf::new(SYL.chars().collect());
        // Real words first (most frequent), then a long tail of made-up words
        // with realistic syllables.
        let mut ko: Vec<String> = KO_WORDS.iter().map(|s| s.to_string()).collect();
        for _ in 0..20_000 {
            let n = 2 + rng.below(3);
            ko.push((0..n).map(|_| syl.pick(rng)).collect());
        }
        let mut en: Vec<String> = EN_WORDS.iter().map(|s| s.to_string()).collect();
        let letters = Zipf::new("etaoinshrdlcumwfgypbvkjxqz".chars().collect());
        for _ in 0..10_000 {
            let n = 3 + rng.below(7);
            en.push((0..n).map(|_| letters.pick(rng)).collect());
        }
        Vocab {
            syl,
            ko: Zipf::new(ko),
            en: Zipf::new(en),
        }
    }

    fn doc(&self, rng: &mut Rng) -> DocFields {
        let target = 1000 + rng.below(2000);
        let korean = rng.below(10) < 7;
        let mut text = String::with_capacity(target + 200);
        while text.len() < target {
            let words = 5 + rng.below(8);
            for w in 0..words {
                if w > 0 {
                    text.push(' ');
                }
                if korean && rng.below(12) != 0 || !korean && rng.below(6) == 0 {
                    text.push_str(&self.ko.pick(rng));
                    text.push_str(PARTICLES[rng.below(PARTICLES.len())]);
                } else {
                    let mut e = self.en.pick(rng);
                    if w == 0 {
                        e[..1].make_ascii_uppercase();
                    }
                    text.push_str(&e);
                }
            }
            if korean {
                text.push(' ');
                text.push_str(ENDINGS[rng.below(ENDINGS.len())]);
            }
            text.push_str(". ");
        }
        let title: String = text.split(' ').take(4).collect::<Vec<_>>().join(" ");
        let ntags = 1 + rng.below(3);
        DocFields {
            title,
            text,
            date: Some(1_262_304_000 + rng.below(15 * 365 * 86_400) as i64),
            tags: (0..ntags)
                .map(|_| TAGS[rng.below(TAGS.len())].to_string())
                .collect(),
            status: STATUS[rng.below(STATUS.len())].to_string(),
            kind: KINDS[rng.below(KINDS.len())].to_string(),
            cases: Vec::new(),
        }
    }

    fn query(&self, rng: &mut Rng, i: usize) -> (&'static str, Query) {
        let ko_word = |rng: &mut Rng, len: usize| -> String {
            loop {
                let w = if rng.below(2) == 0 {
                    self.ko.pick(rng)
                } else {
                    self.ko.items[rng.below(self.ko.items.len())].clone()
                };
                if w.chars().count() == len {
                    return w;
                }
            }
        };
        let (kind, text) = match i % 10 {
            0 => ("hangul-1", self.syl.pick(rng).to_string()),
            1 | 2 => ("hangul-2", ko_word(rng, 2)),
            3 => ("hangul-3", ko_word(rng, 3)),
            4 | 5 => ("english", self.en.pick(rng)),
            6 => {
                let len = 2 + rng.below(2);
                let ko = ko_word(rng, len);
                ("and-2", format!("{ko} {}", self.en.pick(rng)))
            }
            7 => ("and-2", format!("{} {}", ko_word(rng, 2), ko_word(rng, 3))),
            8 => (
                "rare",
                self.ko.items[self.ko.items.len() - 1 - rng.below(5000)].clone(),
            ),
            _ => (
                "absent",
                (0..3).map(|_| self.syl.pick(rng)).collect::<String>(),
            ),
        };
        let mut q = Query::new(text);
        if i.is_multiple_of(7) {
            q.tag = Some(TAGS[rng.below(TAGS.len())].to_string());
            q.date_from = Some(1_400_000_000);
        }
        (kind, q)
    }
}

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |k| k / 1024.0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("DOCS and QUERIES are numbers"))
        .collect();
    let n_docs = args.first().copied().unwrap_or(100_000);
    let n_queries = args.get(1).copied().unwrap_or(2_000);
    let mut rng = Rng(0x0062_6172_616d);
    let vocab = Vocab::new(&mut rng);

    let t = Instant::now();
    let docs: Vec<DocFields> = (0..n_docs).map(|_| vocab.doc(&mut rng)).collect();
    let bytes: usize = docs.iter().map(|d| d.title.len() + d.text.len()).sum();
    println!(
        "generated {n_docs} documents, {:.1} MB of text, in {:.2} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let rss0 = rss_mib();
    let t = Instant::now();
    let mut ix = SearchIndex::new();
    for (i, d) in docs.iter().enumerate() {
        ix.add(i as u64, d).expect("add");
    }
    ix.shrink_to_fit();
    let build = t.elapsed().as_secs_f64();
    let rss1 = rss_mib();
    println!(
        "build: {build:.2} s ({:.0} docs/s, {:.1} MB/s), {} terms, index {:.0} MiB (texts included), RSS +{:.0} MiB",
        n_docs as f64 / build,
        bytes as f64 / 1e6 / build,
        ix.term_count(),
        ix.memory_bytes() as f64 / 1048576.0,
        rss1 - rss0
    );

    let mut by_kind: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut all = Vec::with_capacity(n_queries);
    let mut hits_total = 0usize;
    for i in 0..n_queries {
        let (kind, q) = vocab.query(&mut rng, i);
        let t = Instant::now();
        let hits = ix.search(&q).expect("query");
        let ms = t.elapsed().as_secs_f64() * 1e3;
        hits_total += hits.len();
        all.push(ms);
        by_kind.entry(kind).or_default().push(ms);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "queries: {n_queries}, {:.1} hits each on average (limit 20)",
        hits_total as f64 / n_queries as f64
    );
    for (kind, v) in &mut by_kind {
        v.sort_by(f64::total_cmp);
        println!(
            "  {kind:<9} n={:<5} p50 {:>7.3} ms  p95 {:>7.3} ms  max {:>7.3} ms",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.95),
            v[v.len() - 1]
        );
    }
    let p95 = pct(&all, 0.95);
    println!(
        "query time: p50 {:.3} ms  p95 {p95:.3} ms  p99 {:.3} ms  max {:.3} ms  (goal p95 < 50 ms: {})",
        pct(&all, 0.5),
        pct(&all, 0.99),
        all[all.len() - 1],
        if p95 < 50.0 { "met" } else { "NOT MET" }
    );

    // What an encrypted on-disk index would pay at each unlock: decrypting
    // its serialised form (age, X25519 + ChaCha20-Poly1305), and at each
    // commit, encrypting it. Measured on 64 MiB of text, extrapolated.
    let mut payload = Vec::with_capacity(64 << 20);
    for d in &docs {
        if payload.len() >= 64 << 20 {
            break;
        }
        payload.extend_from_slice(d.text.as_bytes());
    }
    let idn = age::x25519::Identity::generate();
    let rcp = idn.to_public();
    let t = Instant::now();
    let mut sealed = Vec::with_capacity(payload.len() + 4096);
    {
        let enc = age::Encryptor::with_recipients(std::iter::once(&rcp as &dyn age::Recipient))
            .expect("recipients");
        let mut w = enc.wrap_output(&mut sealed).expect("encrypt");
        w.write_all(&payload).expect("encrypt");
        w.finish().expect("encrypt");
    }
    let enc_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut back = Vec::with_capacity(payload.len());
    age::Decryptor::new_buffered(&sealed[..])
        .expect("decrypt")
        .decrypt(std::iter::once(&idn as &dyn age::Identity))
        .expect("decrypt")
        .read_to_end(&mut back)
        .expect("decrypt");
    let dec_s = t.elapsed().as_secs_f64();
    assert_eq!(back, payload);
    let mb = payload.len() as f64 / 1048576.0;
    let postings_mib = (ix.memory_bytes() - bytes) as f64 / 1048576.0;
    println!(
        "age: encrypt {:.0} MiB/s, decrypt {:.0} MiB/s; an encrypted index of {postings_mib:.0} MiB (postings only) \
         would take {:.2} s to decrypt at unlock and {:.2} s to encrypt at each full write, vs {build:.2} s to rebuild in RAM",
        mb / enc_s,
        mb / dec_s,
        postings_mib / (mb / dec_s),
        postings_mib / (mb / enc_s)
    );
}
