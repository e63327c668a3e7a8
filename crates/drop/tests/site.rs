//! The offline catalogue: static checks of every file (ASCII, ES5, nothing
//! external, nothing naming the builder, deterministic), the size bound,
//! and the page itself in headless Chromium (Debian `chromium`,
//! `chromium-driver`): the list renders, a Hangul search finds the right
//! items, playback failure is explained, and no network request is made.

#[path = "support/site_sample.rs"]
mod sample;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baram_drop::fat32;
use baram_drop::site::{self, SITE_FILES, SiteItem, SiteOptions};
use baram_drop::tree::{Entry, EntryKind, Source, Volume};
use proptest::prelude::*;

fn files(items: &[SiteItem], opts: &SiteOptions) -> Vec<(String, Vec<u8>)> {
    site::site_entries(items, opts)
        .into_iter()
        .map(|e| match e.kind {
            EntryKind::File {
                source: Source::Bytes(b),
                size,
            } => {
                assert_eq!(size, b.len() as u64);
                (e.path.join("/"), b.to_vec())
            }
            _ => panic!("{:?} is not an in-memory file", e.path),
        })
        .collect()
}

fn text(f: &[(String, Vec<u8>)], name: &str) -> String {
    let b = &f.iter().find(|x| x.0 == name).unwrap().1;
    String::from_utf8(b.clone()).unwrap()
}

// ---------------------------------------------------------------------------
// Static checks

#[test]
fn the_five_files_all_ascii() {
    let f = files(&sample::items(), &SiteOptions::default());
    let names: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(names, SITE_FILES);
    for (name, body) in &f {
        assert!(body.is_ascii(), "{name} has non-ASCII bytes");
    }
    let html = text(&f, "index.html");
    assert!(html.contains("<meta charset=\"utf-8\">"));
    // Korean survives as character references: 자료 목록 (default title).
    assert!(html.contains("<title>&#xC790;&#xB8CC; &#xBAA9;&#xB85D;</title>"));
    let data = text(&f, "data.js");
    assert!(data.starts_with("var ITEMS = [\n"));
    // 불시착, escaped.
    assert!(data.contains("\\ubd88\\uc2dc\\ucc29"));
}

#[test]
fn nothing_external() {
    let f = files(&sample::items(), &SiteOptions::default());
    for (name, body) in &f {
        let s = String::from_utf8_lossy(body).to_lowercase();
        for bad in [
            "://",
            "http:",
            "https:",
            "ws:",
            "wss:",
            "ftp:",
            "//cdn",
            "@import",
            "url(",
            "@font-face",
            "xmlhttprequest",
            "websocket",
            "eventsource",
            "sendbeacon",
            "importscripts",
            "<iframe",
            "<object",
            "<embed",
            "<base",
        ] {
            assert!(!s.contains(bad), "{name} contains {bad:?}");
        }
    }
    // Every src/href in the pages names one of our files.
    for page in ["index.html", "guide.html"] {
        let html = text(&f, page);
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let target = part.split('"').next().unwrap();
                assert!(
                    SITE_FILES.contains(&target),
                    "{page} refers to {target:?}, which is not one of the site files"
                );
            }
        }
    }
}

/// Identifier-level tokens of JavaScript source: comments and string
/// literals skipped, so words in Korean messages or comments do not count.
fn js_tokens(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if c == b'\'' || c == b'"' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push(src[s..i].to_string());
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            // Punctuators: keep the two- and three-character ones that
            // only ES2015+ has.
            let rest = &src[i..];
            if rest.starts_with("=>") || rest.starts_with("...") || rest.starts_with("**") {
                out.push(rest[..2].to_string());
                i += 2;
            } else {
                out.push((c as char).to_string());
                i += 1;
            }
        }
    }
    out
}

#[test]
fn scripts_are_es5() {
    let f = files(&sample::items(), &SiteOptions::default());
    for name in ["index.js", "data.js"] {
        let src = text(&f, name);
        assert!(!src.contains('`'), "{name}: template literal");
        for t in js_tokens(&src) {
            assert!(
                ![
                    "=>", "..", "**", "let", "const", "class", "import", "export", "async",
                    "await", "yield", "fetch", "Promise", "Symbol", "Map", "Set", "WeakMap",
                    "Proxy", "Reflect", "of", "super", "extends", "static"
                ]
                .contains(&t.as_str()),
                "{name} uses {t:?}, which Chrome 49 / Firefox 52 (ES5) may not have"
            );
        }
    }
    // The tokenizer does find them.
    let t = js_tokens("var a = 'let'; /* const */ let b = () => 1; // class\n");
    assert!(t.contains(&"let".to_string()) && t.contains(&"=>".to_string()));
    assert_eq!(t.iter().filter(|x| *x == "let").count(), 1);
    assert!(!t.contains(&"const".to_string()) && !t.contains(&"class".to_string()));
}

#[test]
fn nothing_names_the_builder() {
    let mut items = sample::items();
    items[0].title = "제목".into();
    let f = files(&items, &SiteOptions::default());
    let mut needles: Vec<String> = vec![
        "baram".into(),
        "cargo".into(),
        "rustc".into(),
        "/home/".into(),
        "/root".into(),
        "/work".into(),
        "/tmp".into(),
        "/usr/".into(),
        "c:\\".into(),
        env!("CARGO_PKG_VERSION").into(),
        env!("CARGO_MANIFEST_DIR").to_lowercase(),
        "generator".into(),
        "2024".into(),
        "2025".into(),
        "2026".into(),
    ];
    for var in ["USER", "LOGNAME", "HOSTNAME"] {
        if let Ok(v) = std::env::var(var)
            && v.len() >= 3
        {
            needles.push(v.to_lowercase());
        }
    }
    if let Ok(h) = std::fs::read_to_string("/etc/hostname")
        && h.trim().len() >= 3
    {
        needles.push(h.trim().to_lowercase());
    }
    for (name, body) in &f {
        let s = String::from_utf8_lossy(body).to_lowercase();
        // data.js holds the sizes and paths we gave; check the fixed files
        // for digits, all files for words.
        for n in &needles {
            if name == "data.js" && n.chars().all(|c| c.is_ascii_digit() || c == '.') {
                continue;
            }
            assert!(!s.contains(n.as_str()), "{name} contains {n:?}");
        }
    }
}

/// Text of a page whose non-ASCII characters are `&#xHHHH;` references.
fn decode_ncr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("&#x") {
        out.push_str(&rest[..p]);
        let after = &rest[p + 3..];
        let end = after.find(';').unwrap();
        let c = char::from_u32(u32::from_str_radix(&after[..end], 16).unwrap()).unwrap();
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_guide_says_how_to_play_hide_and_destroy() {
    let f = files(&[], &SiteOptions::default());
    let guide = decode_ncr(&text(&f, "guide.html"));
    for words in [
        "노트텔에서 보기",
        "<b>video</b> 폴더",
        "번호 순서",
        "카드 숨기기",
        "꼭 빼 두십시오",
        "카드 없애기",
        "포맷하는 것만으로는 모자랍니다",
        "가로질러 자르고",
        "서로 다른 곳에 나누어 버리십시오",
    ] {
        assert!(guide.contains(words), "the guide lacks {words:?}");
    }
    let index = decode_ncr(&text(&f, "index.html"));
    assert!(index.contains("<a href=\"guide.html\">사용 안내</a>"));
}

fn shuffled(items: &[SiteItem], seed: u64) -> Vec<SiteItem> {
    let mut v: Vec<(u64, SiteItem)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            (
                (i as u64 + 1).wrapping_mul(seed | 1).rotate_left(29),
                x.clone(),
            )
        })
        .collect();
    v.sort_by_key(|x| x.0);
    v.into_iter().map(|x| x.1).collect()
}

#[test]
fn deterministic_bytes_for_any_order() {
    let items = sample::items();
    let a = files(&items, &SiteOptions::default());
    for seed in [1, 7, 12345, u64::MAX] {
        assert_eq!(a, files(&shuffled(&items, seed), &SiteOptions::default()));
    }
    let o = SiteOptions {
        title: "<읽을거리> & 볼거리".into(),
    };
    let b = text(&files(&items, &o), "index.html");
    assert!(b.contains("&lt;&#xC77D;&#xC744;&#xAC70;&#xB9AC;&gt; &amp; "));
}

#[test]
fn site_and_media_make_a_valid_fat32_volume() {
    let items = sample::items();
    let mut entries: Vec<Entry> = site::site_entries(&items, &SiteOptions::default());
    for it in &items {
        entries.push(Entry {
            path: it.path.split('/').map(str::to_string).collect(),
            kind: EntryKind::File {
                size: 3,
                source: Source::Bytes(std::sync::Arc::new(b"abc".to_vec())),
            },
        });
    }
    let vol = Volume {
        label: "DROP".into(),
        entries,
        ..Default::default()
    };
    fat32::usage(&vol, 4096).expect("every name and path is valid on FAT32");
}

fn arb_item() -> impl Strategy<Value = SiteItem> {
    (
        0usize..6,
        ".{0,30}",
        prop::option::of("[가-힣 ]{0,10}"),
        prop::option::of(any::<u32>()),
        prop::collection::vec(".{0,8}", 0..4),
        any::<u64>(),
        prop::option::of(any::<u64>()),
        prop::option::of(".{0,60}"),
        "[a-z]{0,3}",
    )
        .prop_map(|(k, title, series, episode, tags, size, dur, desc, lang)| {
            let kind = baram_library::Kind::ALL[k];
            SiteItem {
                path: format!("{}/{}", site::folder_for(kind), title.replace('/', "_")),
                title,
                kind,
                size,
                series,
                episode,
                tags,
                lang,
                duration_seconds: dur,
                description: desc,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn bound_holds_for_every_subset(
        items in prop::collection::vec(arb_item(), 0..40),
        title in ".{0,100}",
        mask in any::<u64>(),
    ) {
        let opts = SiteOptions { title };
        let bound = site::site_bytes_upper_bound(&items, &opts);
        let total = |v: &[SiteItem]| -> u64 {
            files(v, &opts).iter().map(|x| x.1.len() as u64).sum()
        };
        prop_assert_eq!(total(&items), bound);
        let sub: Vec<SiteItem> = items.iter().enumerate()
            .filter(|(i, _)| mask >> (i % 64) & 1 == 1).map(|x| x.1.clone()).collect();
        prop_assert!(total(&sub) <= bound);
        prop_assert!(total(&[]) <= bound);
        for (name, body) in files(&sub, &opts) {
            prop_assert!(body.is_ascii(), "{} not ASCII", name);
        }
    }
}

// ---------------------------------------------------------------------------
// Headless Chromium

fn need(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("{tool} is needed by this test: apt-get install {package} (scripts/test installs it)");
}

/// Flags for every Chromium run: headless, and the browser's own
/// background traffic (updates, sync, accounts) turned off as far as flags
/// allow; what remains is told apart from the page's by its initiator.
fn chromium_flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-domain-reliability",
        "--disable-breakpad",
        "--lang=ko",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Waits for `child` at most `limit`; kills it and panics on timeout.
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> (String, String) {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        match child.try_wait().unwrap() {
            Some(_) => break,
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {limit:?}; killed");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let o = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let e = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    (o, e)
}

/// `chromium --dump-dom URL` with a net log; returns (DOM, net log text).
fn dump_dom(url: &str, work: &Path) -> (String, String) {
    let chromium = need("chromium", "chromium");
    let netlog = work.join("net.json");
    let child = Command::new(chromium)
        .args(chromium_flags(&work.join("profile")))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--virtual-time-budget=3000")
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let (dom, err) = wait_bounded(child, Duration::from_secs(60), "chromium --dump-dom");
    assert!(
        dom.contains("</html>"),
        "no DOM from chromium; stderr:\n{err}"
    );
    let log = std::fs::read_to_string(&netlog).expect("chromium wrote no net log");
    (dom, log)
}

/// Network requests in a Chromium net log that a page made: every URL
/// request whose URL is not file:, data: or blob: and whose initiator is
/// not the browser itself ("not an origin": update checks, account
/// probes). The net log of a complete run is JSON; a cut one is read up to
/// where it ends.
fn page_requests(netlog: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(netlog)
        .or_else(|_| {
            serde_json::from_str(&format!("{}]}}", netlog.trim_end().trim_end_matches(',')))
        })
        .expect("net log is JSON");
    let types = &v["constants"]["logEventTypes"];
    let start_job = types["URL_REQUEST_START_JOB"].as_u64().expect("event type");
    let mut out = Vec::new();
    for e in v["events"].as_array().into_iter().flatten() {
        if e["type"].as_u64() != Some(start_job) {
            continue;
        }
        let p = &e["params"];
        let Some(url) = p["url"].as_str() else {
            continue;
        };
        let local = ["file:", "data:", "blob:"]
            .iter()
            .any(|s| url.starts_with(s));
        if !local && p["initiator"].as_str() != Some("not an origin") {
            out.push(url.to_string());
        }
    }
    out
}

/// (class attribute, title) of every item in a dumped DOM.
fn dom_items(dom: &str) -> Vec<(String, String)> {
    dom.split("<li class=\"")
        .skip(1)
        .map(|part| {
            let class = part.split('"').next().unwrap().to_string();
            let title = part
                .split("<div class=\"title\">")
                .nth(1)
                .and_then(|t| t.split("</div>").next())
                .unwrap_or("")
                .to_string();
            (class, title)
        })
        .collect()
}

fn file_url(p: &Path) -> String {
    // Percent-encode what a URL cannot hold; our temp paths are ASCII.
    format!("file://{}", p.display())
}

#[test]
fn chromium_renders_the_list_and_a_hangul_search_without_network() {
    let dir = tempfile::tempdir().unwrap();
    let siteroot = dir.path().join("site");
    std::fs::create_dir(&siteroot).unwrap();
    let items = sample::items();
    sample::write(&siteroot, &items, &SiteOptions::default()).unwrap();
    let url = format!(
        "{}#q=%EB%B6%88%EC%8B%9C%EC%B0%A9",
        file_url(&siteroot.join("index.html"))
    );
    let (dom, netlog) = dump_dom(&url, dir.path());

    let found = dom_items(&dom);
    let titles: BTreeSet<&str> = found.iter().map(|x| x.1.as_str()).collect();
    // Titles as shown: an episode with its number.
    let expected: BTreeSet<String> = items
        .iter()
        .map(|x| match x.episode {
            Some(n) => format!("{} {n}화", x.title),
            None => x.title.clone(),
        })
        .collect();
    let expected: BTreeSet<&str> = expected.iter().map(|s| s.as_str()).collect();
    assert_eq!(titles, expected, "the list shows every item:\n{dom}");
    assert_eq!(found.len(), items.len());
    let visible: Vec<&str> = found
        .iter()
        .filter(|x| x.0 == "item")
        .map(|x| x.1.as_str())
        .collect();
    assert_eq!(visible, ["사랑의 불시착 1화", "사랑의 불시착 2화"], "{dom}");
    assert!(found.iter().filter(|x| x.0 == "item off").count() == items.len() - 2);
    assert!(dom.contains("찾은 자료 2개 / 전체 9개"), "{dom}");
    assert!(dom.contains("1:22:00 · 700 MB"), "{dom}");
    // Groups with no match are hidden: the audio group has none.
    assert!(
        dom.contains("<div class=\"group off\"><h2>음악과 소리 (2)</h2>"),
        "{dom}"
    );

    let reqs = page_requests(&netlog);
    assert!(reqs.is_empty(), "the page made network requests: {reqs:?}");
}

/// The oracle of the test above sees a request when a page makes one.
#[test]
fn chromium_net_log_oracle_sees_a_page_request() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .unwrap();
    let (_, netlog) = dump_dom(&file_url(&page), dir.path());
    assert_eq!(page_requests(&netlog), ["http://127.0.0.1:9/x.png"]);
}

// ---------------------------------------------------------------------------
// WebDriver (chromedriver on 127.0.0.1), with a minimal HTTP/1.1 client.

struct Driver {
    child: Option<Child>,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Driver {
    fn start() -> Driver {
        let bin = need("chromedriver", "chromium-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let d = Driver {
            child: Some(child),
            port,
        };
        let start = Instant::now();
        while d.try_call("GET", "/status", None).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::io::Result<serde_json::Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes())?;
        // chromedriver keeps the connection open: read the header, then
        // exactly Content-Length bytes (or chunks up to the last one).
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        let head_end = loop {
            if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::Error::other("connection closed in the header"));
            }
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let chunked = head.contains("transfer-encoding: chunked");
        loop {
            let have = raw.len() - head_end;
            let done = match length {
                Some(n) => have >= n,
                None if chunked => raw.ends_with(b"0\r\n\r\n"),
                None => false,
            };
            if done {
                break;
            }
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let rest = String::from_utf8_lossy(&raw[head_end..]).into_owned();
        let body = if chunked { dechunk(&rest) } else { rest };
        serde_json::from_str(&body).map_err(std::io::Error::other)
    }

    fn call(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let b = if method == "GET" || method == "DELETE" {
            None
        } else {
            Some(&body)
        };
        let v = self
            .try_call(method, path, b)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        if v["value"].get("error").is_some() {
            panic!("{method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((len, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

const VISIBLE_TITLES: &str = "var out = []; var li = document.getElementsByTagName('li');
for (var i = 0; i < li.length; i++) {
  if (li[i].offsetParent !== null) {
    out.push(li[i].querySelector('.title').textContent);
  }
}
return out;";

#[test]
fn chromedriver_types_a_hangul_search_and_plays() {
    let dir = tempfile::tempdir().unwrap();
    let siteroot = dir.path().join("site");
    std::fs::create_dir(&siteroot).unwrap();
    let items = sample::items();
    sample::write(&siteroot, &items, &SiteOptions::default()).unwrap();
    let d = Driver::start();
    let mut args: Vec<String> = chromium_flags(&dir.path().join("profile"));
    args.push("--window-size=1000,800".into());
    let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": need("chromium", "chromium"), "args": args}
    }}});
    let session = d.call("POST", "/session", caps);
    let sid = session["sessionId"].as_str().unwrap().to_string();
    let s = |p: &str| format!("/session/{sid}{p}");
    let exec = |script: &str| {
        d.call(
            "POST",
            &s("/execute/sync"),
            serde_json::json!({"script": script, "args": []}),
        )
    };
    d.call(
        "POST",
        &s("/url"),
        serde_json::json!({"url": file_url(&siteroot.join("index.html"))}),
    );

    let all = exec(VISIBLE_TITLES);
    assert_eq!(all.as_array().unwrap().len(), items.len(), "{all}");

    let q = d.call(
        "POST",
        &s("/element"),
        serde_json::json!({"using": "css selector", "value": "#q"}),
    );
    let q = q
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    d.call(
        "POST",
        &s(&format!("/element/{q}/value")),
        serde_json::json!({"text": "평양"}),
    );
    let got = exec(VISIBLE_TITLES);
    let got: BTreeSet<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    // One by title, one by tag.
    assert_eq!(
        got,
        BTreeSet::from(["평양에서 온 편지", "오늘의 세계 소식"])
    );

    // Play the (dummy) audio item: the browser cannot decode it and the
    // page says so.
    let msg = exec(
        "var b = document.getElementsByTagName('button'); var n = 0;
         for (var i = 0; i < b.length; i++) {
           if (b[i].offsetParent !== null && b[i].textContent === '재생') { b[i].click(); n++; }
         }
         return n;",
    );
    assert_eq!(msg, 1);
    let start = Instant::now();
    let err = loop {
        let e = exec(
            "var p = document.querySelectorAll('.err'); return p.length ? p[0].textContent : null;",
        );
        if let Some(t) = e.as_str() {
            break t.to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no playback error shown"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        err.contains("재생할 수 없습니다") && err.contains("VLC"),
        "{err}"
    );

    // Only our own files were loaded.
    let res = exec(
        "var e = performance.getEntriesByType('resource'); var o = [];
         for (var i = 0; i < e.length; i++) { o.push(e[i].name); } return o;",
    );
    for r in res.as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(r.starts_with("file:///"), "the page loaded {r}");
    }

    d.call("DELETE", &s(""), serde_json::Value::Null);
}
