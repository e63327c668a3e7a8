//! OCR with tesseract, in the sandbox: Korean and English (`-l kor+eng
//! --psm 6`), one thread per tesseract (`OMP_THREAD_LIMIT=1`) and pages in
//! parallel, one per core ([`par_map`]).
//!
//! One run writes both of tesseract's outputs for a page: the **text**
//! output is the page's text (what the search index gets: tesseract's own
//! line and word order, syllables whole), and the **TSV** output gives each
//! word's box, for the invisible text layer of a rebuilt PDF. (Extracting
//! text again from a PDF that tesseract wrote splits Hangul syllables; its
//! text output does not.)

use crate::sandbox::{Job, Limits, Sandbox, SandboxError};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The languages tesseract is run with.
pub const LANGS: &str = "kor+eng";

/// One recognised word, in pixels of the page image (origin top left).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    /// tesseract's confidence, 0..=100.
    pub conf: f32,
    /// (block, paragraph, line) of the word: words of one line share it.
    pub line: (u32, u32, u32),
}

/// What OCR found on one page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageText {
    /// tesseract's text output.
    pub text: String,
    pub words: Vec<Word>,
}

impl PageText {
    /// Mean confidence of the words (0 when there are none).
    pub fn mean_conf(&self) -> f32 {
        if self.words.is_empty() {
            return 0.0;
        }
        self.words.iter().map(|w| w.conf).sum::<f32>() / self.words.len() as f32
    }
}

/// The shell command (run in the sandbox's working folder) that OCRs
/// `png` into `o.txt` and `o.tsv`.
pub fn tesseract_command(png: &str) -> String {
    format!("tesseract {png} o -l {LANGS} --psm 6 txt tsv")
}

/// The environment of a tesseract run: one thread.
pub fn tesseract_env<'a>() -> Vec<(&'a str, String)> {
    vec![("OMP_THREAD_LIMIT", "1".to_string())]
}

/// OCRs one image (PNG bytes) in the sandbox.
pub fn ocr_png(sb: &Sandbox, png: &[u8], limits: &Limits) -> Result<PageText, String> {
    let script = tesseract_command("page.png");
    let mut j = Job::new("/bin/sh", &["-c", &script]);
    j.files = vec![("page.png", png)];
    j.outputs = vec!["o.txt", "o.tsv"];
    j.env = tesseract_env();
    let o = sb.run_job(&j, limits).map_err(|e| match e {
        SandboxError::Timeout(t) => format!("tesseract did not finish within {t:?}: killed"),
        e => format!("tesseract: {e}"),
    })?;
    if !o.success() {
        return Err(format!(
            "tesseract failed ({}): {}",
            o.status,
            last_line(&o.stderr)
        ));
    }
    page_text(o.files[0].as_deref(), o.files[1].as_deref())
}

/// A page's text from tesseract's two outputs.
pub fn page_text(txt: Option<&[u8]>, tsv: Option<&[u8]>) -> Result<PageText, String> {
    let (Some(txt), Some(tsv)) = (txt, tsv) else {
        return Err("tesseract wrote no output (is tesseract-ocr-kor installed?)".into());
    };
    let text = String::from_utf8_lossy(txt).trim_end().to_string();
    Ok(PageText {
        text,
        words: merge_overlaps(parse_tsv(&String::from_utf8_lossy(tsv))),
    })
}

/// Joins words of one line whose boxes overlap. tesseract's TSV splits some
/// Hangul words into syllables whose boxes overlap (배 spanning 배급소, then
/// 급 and 소) where its text output has the whole word; laid out as they
/// are, a text layer would read 배 / 급소 on different lines.
pub fn merge_overlaps(words: Vec<Word>) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    for w in words {
        if let Some(p) = out.last_mut()
            && p.line == w.line
            && w.left < p.left + p.width - 1.0
            && w.left >= p.left
        {
            let right = (p.left + p.width).max(w.left + w.width);
            let bottom = (p.top + p.height).max(w.top + w.height);
            p.top = p.top.min(w.top);
            p.width = right - p.left;
            p.height = bottom - p.top;
            let n = p.text.chars().count() as f32;
            let m = w.text.chars().count() as f32;
            p.conf = (p.conf * n + w.conf * m) / (n + m);
            p.text.push_str(&w.text);
            continue;
        }
        out.push(w);
    }
    out
}

/// The words (level 5 rows with text) of tesseract's TSV output. Rows that
/// do not parse are skipped: the output of a program that read hostile
/// input is not trusted to be well formed.
pub fn parse_tsv(tsv: &str) -> Vec<Word> {
    let mut out = Vec::new();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.splitn(12, '\t').collect();
        if f.len() != 12 || f[0] != "5" {
            continue;
        }
        let n = |i: usize| f[i].trim().parse::<f32>().ok().filter(|v| v.is_finite());
        let u = |i: usize| f[i].trim().parse::<u32>().ok();
        let text = f[11].trim();
        if text.is_empty() {
            continue;
        }
        let (Some(left), Some(top), Some(width), Some(height), Some(conf)) =
            (n(6), n(7), n(8), n(9), n(10))
        else {
            continue;
        };
        let (Some(b), Some(p), Some(l)) = (u(2), u(3), u(4)) else {
            continue;
        };
        if width <= 0.0 || height <= 0.0 || left < 0.0 || top < 0.0 {
            continue;
        }
        out.push(Word {
            text: text.to_string(),
            left,
            top,
            width,
            height,
            conf: conf.clamp(0.0, 100.0),
            line: (b, p, l),
        });
    }
    out
}

/// The last non-empty line of a tool's stderr, shortened, for a reason.
pub fn last_line(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    let l = s
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)");
    l.chars().take(300).collect()
}

/// How many pages run at once: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` over `items` on `threads` threads, results in order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= items.len() {
                            break;
                        }
                        mine.push((i, f(i, &items[i])));
                    }
                    mine
                })
            })
            .collect();
        for h in hs {
            for (i, r) in h.join().expect("a worker panicked") {
                results[i] = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every item"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_and_hostile_rows() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t1241\t1754\t-1\t\n\
4\t1\t1\t1\t1\t0\t118\t60\t620\t40\t-1\t\n\
5\t1\t1\t1\t1\t1\t118\t62\t80\t35\t96.5\t평양\n\
5\t1\t1\t1\t1\t2\t210\t62\t60\t35\t91\tcity\n\
5\t1\t1\t1\t1\t3\t210\t62\tNaN\t35\t91\tbad\n\
5\t1\t1\t1\t1\t4\t-5\t62\t10\t35\t91\tneg\n\
5\t1\t1\t1\t1\t5\t300\t62\t10\t35\t95\t   \n\
5\t1\tx\t1\t1\t6\t300\t62\t10\t35\t95\tnum\n\
garbage\n";
        let w = parse_tsv(tsv);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].text, "평양");
        assert_eq!(
            (w[0].left, w[0].top, w[0].width, w[0].height),
            (118.0, 62.0, 80.0, 35.0)
        );
        assert_eq!(w[1].line, (1, 1, 1));
        let p = PageText {
            text: String::new(),
            words: w,
        };
        assert!((p.mean_conf() - 93.75).abs() < 1e-3);
    }

    #[test]
    fn overlapping_syllables_become_one_word() {
        let w = |t: &str, x: f32, wd: f32, line: u32| Word {
            text: t.into(),
            left: x,
            top: 50.0,
            width: wd,
            height: 30.0,
            conf: 90.0,
            line: (1, 1, line),
        };
        let m = merge_overlaps(vec![
            w("시내", 134.0, 30.0, 1),
            w("배", 172.0, 47.0, 1),
            w("급", 191.0, 14.0, 1),
            w("소", 206.0, 12.0, 1),
            w("앞에", 226.0, 30.0, 1),
            w("다음", 230.0, 30.0, 2),
        ]);
        let t: Vec<&str> = m.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(t, ["시내", "배급소", "앞에", "다음"]);
        assert_eq!((m[1].left, m[1].width), (172.0, 47.0));
    }

    #[test]
    fn par_map_keeps_order_and_uses_threads() {
        let items: Vec<u32> = (0..50).collect();
        let ids = std::sync::Mutex::new(std::collections::HashSet::new());
        let out = par_map(&items, 4, |i, x| {
            ids.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(std::time::Duration::from_millis(2));
            (i as u32, x * 2)
        });
        assert_eq!(out, items.iter().map(|x| (*x, x * 2)).collect::<Vec<_>>());
        assert!(ids.lock().unwrap().len() > 1);
        assert!(par_map(&Vec::<u8>::new(), 4, |_, x| *x).is_empty());
    }
}
