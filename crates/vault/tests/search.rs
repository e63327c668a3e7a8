//! The vault's search index: Hangul bigram phrases, English words, filters,
//! snippets, ranking, and completeness / no false positives (proptest).

use baram_vault::search::{DocFields, Query, SearchError, SearchIndex};
use proptest::prelude::*;

fn doc(text: &str) -> DocFields {
    DocFields {
        title: String::new(),
        text: text.to_string(),
        date: None,
        tags: Vec::new(),
        status: "new".into(),
        kind: "text".into(),
        cases: Vec::new(),
    }
}

fn ids(ix: &SearchIndex, q: &str) -> Vec<u64> {
    let mut v: Vec<u64> = ix
        .search(&Query::new(q))
        .unwrap()
        .into_iter()
        .map(|h| h.doc_id)
        .collect();
    v.sort();
    v
}

fn sample() -> SearchIndex {
    let mut ix = SearchIndex::new();
    let docs = [
        (1, "김정은이 평양에서 회의를 열었다."),
        (2, "평양의 시장에서 주민들이 쌀을 샀다."),
        (3, "북한 주민의 생활은 어렵다."),
        (4, "Kim Jong Un visited PYONGYANG markets in 2024."),
        (5, "The market in Sinuiju was closed; residents protested."),
        (6, "평양에서 시장 가격이 올랐다. Pyongyang prices rose."),
    ];
    for (id, t) in docs {
        ix.add(id, &doc(t)).unwrap();
    }
    ix
}

#[test]
fn hangul_word_finds_longer_words() {
    let ix = sample();
    assert_eq!(ids(&ix, "평양"), [1, 2, 6]);
    assert_eq!(ids(&ix, "평양에서"), [1, 6]);
    assert_eq!(ids(&ix, "평양의"), [2]);
}

#[test]
fn inner_bigram_matches_but_not_a_non_substring() {
    let ix = sample();
    assert_eq!(ids(&ix, "양에"), [1, 6]);
    assert_eq!(ids(&ix, "평에"), Vec::<u64>::new());
    assert_eq!(ids(&ix, "양에서회"), Vec::<u64>::new());
}

/// Found by the property test below in CI: the bigrams of a word must not
/// be matched across a space, where the text has two words.
#[test]
fn a_word_does_not_match_across_a_separator() {
    let mut ix = SearchIndex::new();
    ix.add(1, &doc("양마 마북")).unwrap();
    ix.add(2, &doc("양마북")).unwrap();
    ix.add(3, &doc("양마, 마북")).unwrap();
    assert_eq!(ids(&ix, "양마북"), [2]);
    assert_eq!(ids(&ix, "\"양마 마북\""), [1, 3]);
    assert_eq!(ids(&ix, "양마 마북"), [1, 2, 3]);
}

#[test]
fn one_syllable_query_finds_the_syllable_anywhere() {
    let ix = sample();
    assert_eq!(ids(&ix, "북"), [3]);
    assert_eq!(ids(&ix, "한"), [3]);
    assert_eq!(ids(&ix, "쌀"), [2]);
    assert_eq!(ids(&ix, "양"), [1, 2, 6]);
}

#[test]
fn english_is_case_insensitive_by_words() {
    let ix = sample();
    assert_eq!(ids(&ix, "Pyongyang"), [4, 6]);
    assert_eq!(ids(&ix, "pyongYANG"), [4, 6]);
    assert_eq!(ids(&ix, "market"), [5]);
    assert_eq!(ids(&ix, "pyong"), Vec::<u64>::new());
}

#[test]
fn words_are_anded() {
    let ix = sample();
    assert_eq!(ids(&ix, "평양 시장"), [2, 6]);
    assert_eq!(ids(&ix, "평양 회의"), [1]);
    assert_eq!(ids(&ix, "kim markets"), [4]);
    assert_eq!(ids(&ix, "평양 pyongyang"), [6]);
    assert_eq!(ids(&ix, "평양 없는말"), Vec::<u64>::new());
}

#[test]
fn quoted_phrase_of_hangul_words() {
    let ix = sample();
    assert_eq!(ids(&ix, "\"평양에서 시장\""), [6]);
    assert_eq!(ids(&ix, "\"평양에서 열었다\""), Vec::<u64>::new());
    assert_eq!(ids(&ix, "\"평양에서 회의를\""), [1]);
    assert_eq!(ids(&ix, "\"jong un\""), [4]);
    assert_eq!(ids(&ix, "\"un jong\""), Vec::<u64>::new());
    assert_eq!(
        ix.search(&Query::new("\"평양")),
        Err(SearchError::UnterminatedQuote)
    );
}

#[test]
fn filters() {
    let mut ix = SearchIndex::new();
    for i in 0..10u64 {
        ix.add(
            i,
            &DocFields {
                title: format!("보고 {i}"),
                text: "평양 시장 보고서".into(),
                date: (i != 9).then_some(1_700_000_000 + i as i64 * 86_400),
                tags: if i % 2 == 0 {
                    vec!["market".into()]
                } else {
                    vec!["army".into(), "border".into()]
                },
                status: if i < 5 { "new" } else { "reviewed" }.into(),
                kind: if i % 3 == 0 { "image" } else { "text" }.into(),
                cases: match i {
                    0..=3 => vec!["혜산 A".into()],
                    4 => vec!["혜산 A".into(), "회령".into()],
                    _ => Vec::new(),
                },
            },
        )
        .unwrap();
    }
    let run = |q: Query| -> Vec<u64> {
        let mut v: Vec<u64> = ix.search(&q).unwrap().iter().map(|h| h.doc_id).collect();
        v.sort();
        v
    };
    let q = |f: fn(&mut Query)| {
        let mut q = Query::new("평양");
        f(&mut q);
        q
    };
    assert_eq!(run(q(|_| {})), (0..10).collect::<Vec<_>>());
    assert_eq!(
        run(q(|q| {
            q.date_from = Some(1_700_000_000 + 2 * 86_400);
            q.date_to = Some(1_700_000_000 + 4 * 86_400);
        })),
        [2, 3, 4]
    );
    assert_eq!(run(q(|q| q.tag = Some("border".into()))), [1, 3, 5, 7, 9]);
    assert_eq!(
        run(q(|q| q.tag = Some("nothing".into()))),
        Vec::<u64>::new()
    );
    assert_eq!(run(q(|q| q.status = Some("new".into()))), [0, 1, 2, 3, 4]);
    assert_eq!(run(q(|q| q.kind = Some("image".into()))), [0, 3, 6, 9]);
    assert_eq!(
        run(q(|q| {
            q.kind = Some("image".into());
            q.status = Some("reviewed".into());
            q.tag = Some("market".into());
        })),
        [6]
    );
    assert_eq!(run(q(|q| q.case = Some("혜산 A".into()))), [0, 1, 2, 3, 4]);
    assert_eq!(run(q(|q| q.case = Some("회령".into()))), [4]);
    assert_eq!(run(q(|q| q.case = Some("혜산".into()))), Vec::<u64>::new());
    assert_eq!(
        run(q(|q| {
            q.case = Some("혜산 A".into());
            q.tag = Some("market".into());
        })),
        [0, 2, 4]
    );
    // Filters alone, no words: all that pass, by id.
    let mut only = Query::new("");
    only.kind = Some("image".into());
    let hits = ix.search(&only).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.doc_id).collect::<Vec<_>>(),
        [0, 3, 6, 9]
    );
    let mut only = Query::new("");
    only.case = Some("회령".into());
    assert_eq!(
        ix.search(&only)
            .unwrap()
            .iter()
            .map(|h| h.doc_id)
            .collect::<Vec<_>>(),
        [4]
    );
    assert_eq!(ix.search(&Query::new("  ")), Err(SearchError::EmptyQuery));
    // Limit.
    let mut lim = Query::new("평양");
    lim.limit = 3;
    assert_eq!(ix.search(&lim).unwrap().len(), 3);
}

#[test]
fn snippet_marks_the_match() {
    let mut ix = SearchIndex::new();
    let long = format!(
        "{} 주민들은 평양에서 열린 회의에 대해 이야기했다. {}",
        "앞부분 문장입니다. ".repeat(20),
        "뒷부분 문장입니다. ".repeat(20)
    );
    ix.add(7, &doc(&long)).unwrap();
    ix.add(
        8,
        &DocFields {
            title: "Report from Pyongyang".into(),
            ..doc("nothing here")
        },
    )
    .unwrap();
    let h = &ix.search(&Query::new("평양")).unwrap()[0];
    assert!(h.snippet.contains("«평양»에서"), "{}", h.snippet);
    assert!(h.snippet.starts_with('…') && h.snippet.ends_with('…'));
    let n = h.snippet.chars().count();
    assert!((100..=130).contains(&n), "{n}: {}", h.snippet);
    let h = &ix.search(&Query::new("양에서 회의")).unwrap()[0];
    assert!(h.snippet.contains("평«양에서»"), "{}", h.snippet);
    assert!(h.snippet.contains("«회의»에"), "{}", h.snippet);
    let h = &ix.search(&Query::new("북")).unwrap();
    assert!(h.is_empty());
    let h = &ix.search(&Query::new("열")).unwrap()[0];
    assert!(h.snippet.contains("«열»린"), "{}", h.snippet);
    // Only the title matched: the snippet is the title.
    let h = &ix.search(&Query::new("pyongyang")).unwrap()[0];
    assert_eq!(h.doc_id, 8);
    assert_eq!(h.snippet, "Report from «Pyongyang»");
}

#[test]
fn ranking_and_ties() {
    let mut ix = SearchIndex::new();
    ix.add(30, &doc("시장 시장 시장 평양")).unwrap();
    ix.add(10, &doc("시장 평양")).unwrap();
    ix.add(20, &doc("시장 평양")).unwrap();
    ix.add(40, &doc("평양 something else entirely, long text here"))
        .unwrap();
    let hits = ix.search(&Query::new("시장")).unwrap();
    let order: Vec<u64> = hits.iter().map(|h| h.doc_id).collect();
    assert_eq!(order, [30, 10, 20]);
    assert_eq!(hits[1].score, hits[2].score);
    assert!(hits[0].score > hits[1].score);
}

#[test]
fn duplicate_document_is_an_error() {
    let mut ix = SearchIndex::new();
    ix.add(1, &doc("a")).unwrap();
    assert_eq!(ix.add(1, &doc("b")), Err(SearchError::DuplicateDoc(1)));
    assert_eq!(ix.len(), 1);
}

#[test]
fn nfd_text_is_found_by_nfc_query() {
    let mut ix = SearchIndex::new();
    // 평양 in conjoining jamo (NFD), as macOS writes file names.
    ix.add(
        1,
        &doc("\u{1111}\u{1167}\u{11BC}\u{110B}\u{1163}\u{11BC}에서"),
    )
    .unwrap();
    assert_eq!(ids(&ix, "평양에서"), [1]);
}

const SYLLABLES: &[char] = &['가', '나', '다', '라', '마', '평', '양', '북', '한', '의'];

fn hangul_doc() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            9 => prop::sample::select(SYLLABLES).prop_map(|c| c.to_string()),
            1 => Just(" ".to_string()),
        ],
        1..60,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every substring (two characters or more) of every document finds it,
    /// and every hit of a query really contains the query's words.
    #[test]
    fn complete_for_substrings_and_no_false_positives(
        docs in prop::collection::vec(hangul_doc(), 1..8),
        queries in prop::collection::vec(
            prop::collection::vec(prop::sample::select(SYLLABLES), 2..5)
                .prop_map(|v| v.into_iter().collect::<String>()),
            1..10,
        ),
    ) {
        let mut ix = SearchIndex::new();
        for (i, d) in docs.iter().enumerate() {
            ix.add(i as u64, &doc(d)).unwrap();
        }
        let all = Query { limit: usize::MAX, ..Query::default() };
        for (i, d) in docs.iter().enumerate() {
            let chars: Vec<char> = d.chars().collect();
            for s in 0..chars.len() {
                for e in s + 2..=chars.len() {
                    let sub: String = chars[s..e].iter().collect();
                    if sub.trim().is_empty() {
                        continue;
                    }
                    let hits = ix.search(&Query { text: sub.clone(), ..all.clone() }).unwrap();
                    prop_assert!(
                        hits.iter().any(|h| h.doc_id == i as u64),
                        "{sub:?} did not find {d:?}"
                    );
                }
            }
        }
        for q in &queries {
            let hits = ix.search(&Query { text: q.clone(), ..all.clone() }).unwrap();
            for h in &hits {
                prop_assert!(docs[h.doc_id as usize].contains(q.as_str()), "{q:?} in {:?}", docs[h.doc_id as usize]);
                prop_assert!(h.snippet.contains('«'), "{}", h.snippet);
                prop_assert!(h.snippet.replace(['«', '»'], "").contains(q.as_str()), "{}", h.snippet);
            }
            let expect = docs.iter().filter(|d| d.contains(q.as_str())).count();
            prop_assert_eq!(hits.len(), expect);
        }
    }
}

#[test]
fn hanja_as_bigrams_and_single_characters() {
    let mut ix = SearchIndex::new();
    ix.add(1, &doc("朝鮮民主主義人民共和國 平壤")).unwrap();
    ix.add(2, &doc("人民 日報")).unwrap();
    assert_eq!(ids(&ix, "人民"), [1, 2]);
    assert_eq!(ids(&ix, "主義"), [1]);
    assert_eq!(ids(&ix, "義主"), Vec::<u64>::new());
    assert_eq!(ids(&ix, "壤"), [1]);
    assert_eq!(ids(&ix, "日"), [2]);
}
