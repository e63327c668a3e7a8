//! The reader on documents made here (`baram_hwp::fixtures`): HWP 5 and
//! HWPX of one sample read to the same paragraphs and table; pyhwp's
//! `hwp5txt` (an independent HWP 5 reader, installed by scripts/test) and
//! Python's zipfile + ElementTree (for HWPX) find the same text; the
//! author and title never reach the flat ODT; damaged and hostile files
//! are refused with a reason, never a panic.

use baram_hwp::fixtures::{self, MEETING, Sample};
use baram_hwp::{Block, Error, Limits, read, to_fodt};
use std::path::PathBuf;
use std::process::Command;

fn lim() -> Limits {
    Limits::default()
}

/// Every paragraph and cell text of MEETING, in reading order.
fn expected() -> Vec<String> {
    let mut v: Vec<String> = MEETING.paragraphs.iter().map(|s| s.to_string()).collect();
    v.push(String::new()); // the paragraph holding the table
    for r in MEETING.table {
        v.extend(r.iter().map(|s| s.to_string()));
    }
    v.extend(MEETING.after.iter().map(|s| s.to_string()));
    v
}

fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.split('\n').map(str::to_string).collect();
    v.pop();
    v
}

#[test]
fn hwp5_and_hwpx_read_alike() {
    let a = read(&fixtures::hwp5(&MEETING), &lim()).unwrap();
    let b = read(&fixtures::hwpx(&MEETING), &lim()).unwrap();
    assert_eq!(a, b);
    let want: Vec<String> = expected()
        .join("\n")
        .split('\n')
        .map(str::to_string)
        .collect();
    assert_eq!(lines(&a.text()), want);
    let tables: Vec<_> = a
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tables.len(), 1);
    assert_eq!(
        (tables[0].rows, tables[0].cols, tables[0].cells.len()),
        (3, 2, 6)
    );
    let p = a.page.unwrap();
    assert!(
        (p.width - 210.0).abs() < 0.1 && (p.height - 297.0).abs() < 0.1,
        "{p:?}"
    );
    assert!(
        (p.left - 30.0).abs() < 0.1 && (p.top - 35.0).abs() < 0.1,
        "{p:?}"
    );
}

#[test]
fn metadata_never_reaches_the_odt() {
    for data in [fixtures::hwp5(&MEETING), fixtures::hwpx(&MEETING)] {
        let x = to_fodt(&read(&data, &lim()).unwrap());
        assert!(x.contains("평양 시내 회의록"));
        assert!(x.contains("옥수수 500그램"));
        for secret in [MEETING.author, MEETING.title, "김철수"] {
            assert!(!x.contains(secret), "{secret} in the ODT");
        }
        // The metadata is in the files, where Hangul keeps it (UTF-16 in
        // HWP 5's property set, UTF-8 in content.hpf).
        let u16s: Vec<u8> = MEETING
            .author
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let inflated = unzip_all(&data);
        assert!(
            memchr::memmem::find(&data, &u16s).is_some()
                || memchr::memmem::find(&inflated, MEETING.author.as_bytes()).is_some()
        );
    }
}

fn unzip_all(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(data)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..z.len() {
        z.by_index(i).unwrap().read_to_end(&mut out).unwrap();
    }
    out
}

/// The well-formedness oracle: Python's XML parser on the ODT.
fn python_parses(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.fodt");
    std::fs::write(&p, xml).unwrap();
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
        ])
        .arg(&p)
        .output()
        .expect("python3 is required (scripts/test installs it)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn odt_is_well_formed_xml() {
    let nasty = Sample {
        paragraphs: &["<&>\"' \u{1}\u{b}  \u{FFFE}]]>", "  두 칸\t탭"],
        table: &[&["<td>", "&amp;"]],
        after: &[""],
        ..MEETING
    };
    for data in [fixtures::hwp5(&nasty), fixtures::hwpx(&nasty)] {
        let d = read(&data, &lim()).unwrap();
        assert!(d.text().contains("<&>\"'"), "{:?}", d.text());
        python_parses(&to_fodt(&d));
    }
}

fn hwp5proc() -> PathBuf {
    if let Some(p) = std::env::var_os("BARAM_HWP5PROC") {
        return p.into();
    }
    let p = PathBuf::from("/opt/baram-pyhwp/bin/hwp5proc");
    assert!(
        p.is_file(),
        "pyhwp's hwp5proc is required: scripts/test installs it in /opt/baram-pyhwp"
    );
    p
}

/// pyhwp (an HWP 5 reader written from the same specification by others):
/// its XML model of the fixture (`hwp5proc xml`) has the same paragraphs in
/// the same order, tabs and line breaks included, the same table grid and
/// cell addresses, and the author and title in the summary information.
#[test]
fn pyhwp_reads_the_hwp5_fixture_alike() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("meeting.hwp");
    std::fs::write(&p, fixtures::hwp5(&MEETING)).unwrap();
    let o = Command::new(hwp5proc())
        .args(["xml", "--no-validate-wellformed"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "hwp5proc: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let script = r#"
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
def text(e):
    s = ''
    for c in e:
        if c.tag == 'Paragraph':
            continue
        if c.tag == 'Text':
            s += c.text or ''
        elif c.tag == 'ControlChar':
            s += {'TAB': '\t', 'LINE_BREAK': '\n'}.get(c.get('name'), '')
        s += text(c)
    return s
paras = [text(p) for p in root.iter('Paragraph')]
tables = [[int(b.get('rows')), int(b.get('cols'))] for b in root.iter('TableBody')]
cells = [[int(c.get('row')), int(c.get('col')), int(c.get('rowspan')), int(c.get('colspan'))]
         for c in root.iter('TableCell')]
props = [p.get('value') for p in root.iter('Property')]
json.dump(dict(paras=paras, tables=tables, cells=cells, props=props), sys.stdout)
"#;
    let mut py = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(py.stdin.as_mut().unwrap(), &o.stdout).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = read(&std::fs::read(&p).unwrap(), &lim()).unwrap();
    let mut paras = Vec::new();
    let mut tables = Vec::new();
    let mut cells = Vec::new();
    fn walk(
        bs: &[Block],
        paras: &mut Vec<String>,
        tables: &mut Vec<[u16; 2]>,
        cells: &mut Vec<[u16; 4]>,
    ) {
        for b in bs {
            match b {
                Block::Para(t) => paras.push(t.clone()),
                Block::Table(t) => {
                    tables.push([t.rows, t.cols]);
                    for c in &t.cells {
                        cells.push([c.row, c.col, c.row_span, c.col_span]);
                        walk(&c.blocks, paras, tables, cells);
                    }
                }
            }
        }
    }
    walk(&doc.blocks, &mut paras, &mut tables, &mut cells);
    assert_eq!(theirs["paras"], serde_json::json!(paras));
    assert_eq!(theirs["tables"], serde_json::json!(tables));
    assert_eq!(theirs["cells"], serde_json::json!(cells));
    let props = theirs["props"].to_string();
    assert!(
        props.contains(MEETING.author) && props.contains(MEETING.title),
        "{props}"
    );
}

/// Python's zipfile and ElementTree find the same text in the HWPX.
#[test]
fn python_reads_the_hwpx_fixture_alike() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("meeting.hwpx");
    std::fs::write(&p, fixtures::hwpx(&MEETING)).unwrap();
    let script = r#"
import sys, zipfile, xml.etree.ElementTree as ET
HP = '{http://www.hancom.co.kr/hwpml/2011/paragraph}'
z = zipfile.ZipFile(sys.argv[1])
assert z.read('mimetype') == b'application/hwp+zip'
root = ET.fromstring(z.read('Contents/section0.xml'))
out = []
for p in root.iter(HP + 'p'):
    s = ''
    for run in p.findall(HP + 'run'):
        for t in run.findall(HP + 't'):
            s += t.text or ''
            for c in t:
                s += {'tab': '\t', 'lineBreak': '\n'}.get(c.tag[len(HP):], '')
                s += c.tail or ''
    out.append(s)
sys.stdout.write('\n'.join(out))
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut theirs: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .split('\n')
        .map(str::to_string)
        .collect();
    // ElementTree lists the table's paragraph before its cells' (document
    // order), as this reader does.
    theirs.sort();
    let mut ours = lines(&read(&std::fs::read(&p).unwrap(), &lim()).unwrap().text());
    ours.sort();
    assert_eq!(theirs, ours);
}

#[test]
fn damaged_files_are_refused_never_a_panic() {
    for (name, data) in [
        ("hwp5", fixtures::hwp5(&MEETING)),
        (
            "hwp5 uncompressed",
            fixtures::hwp5_from_body(&fixtures::hwp5_body(&MEETING), &MEETING, false),
        ),
        ("hwpx", fixtures::hwpx(&MEETING)),
    ] {
        let step = (data.len() / 300).max(1);
        for n in (0..data.len()).step_by(step) {
            let _ = read(&data[..n], &lim());
        }
        let half = read(&data[..data.len() / 2], &lim());
        assert!(half.is_err(), "{name}: half a file read as {half:?}");
        // Flipped bytes everywhere: whatever comes out, no panic.
        for i in (0..data.len()).step_by(step) {
            let mut d = data.clone();
            d[i] ^= 0x55;
            let _ = read(&d, &lim());
        }
    }
}

fn hwp5_with(body: &[u8]) -> Result<baram_hwp::Doc, Error> {
    read(&fixtures::hwp5_from_body(body, &MEETING, true), &lim())
}

fn rec(out: &mut Vec<u8>, tag: u32, level: u32, data: &[u8]) {
    out.extend((tag | level << 10 | (data.len() as u32) << 20).to_le_bytes());
    out.extend(data);
}

#[test]
fn hostile_hwp5_structures_are_refused() {
    // A stream that is not deflate at all.
    let plain = fixtures::hwp5_body(&MEETING);
    let e = read(
        &fixtures::hwp5_from_body(&plain, &MEETING, false)[..],
        &lim(),
    );
    assert!(e.is_ok());
    let mut bogus = plain.clone();
    bogus.truncate(bogus.len() - 3);
    let e = read(&fixtures::hwp5_from_body(&bogus, &MEETING, false), &lim()).unwrap_err();
    assert!(e.to_string().contains("past the end"), "{e}");
    // A table of 60000 x 60000 cells.
    let mut b = Vec::new();
    rec(&mut b, 0x42, 0, &[0u8; 22]);
    rec(&mut b, 0x47, 1, &u32::from_be_bytes(*b"tbl ").to_le_bytes());
    let mut t = vec![0u8; 4];
    t.extend(60000u16.to_le_bytes());
    t.extend(60000u16.to_le_bytes());
    rec(&mut b, 0x4D, 2, &t);
    let e = hwp5_with(&b).unwrap_err();
    assert!(matches!(e, Error::Limit(_)), "{e}");
    // A cell outside its 1 x 1 table.
    let mut b = Vec::new();
    rec(&mut b, 0x42, 0, &[0u8; 22]);
    rec(&mut b, 0x47, 1, &u32::from_be_bytes(*b"tbl ").to_le_bytes());
    let mut t = vec![0u8; 4];
    t.extend(1u16.to_le_bytes());
    t.extend(1u16.to_le_bytes());
    rec(&mut b, 0x4D, 2, &t);
    let mut l = vec![0u8; 8];
    l.extend([0, 0, 5, 0, 1, 0, 1, 0]);
    rec(&mut b, 0x48, 2, &l);
    let e = hwp5_with(&b).unwrap_err();
    assert!(e.to_string().contains("outside its 1 x 1 table"), "{e}");
    // A level that skips one.
    let mut b = Vec::new();
    rec(&mut b, 0x42, 0, &[0u8; 22]);
    rec(&mut b, 0x43, 2, &[65, 0]);
    assert!(hwp5_with(&b).unwrap_err().to_string().contains("level"));
    // Tables nested deeper than the limit.
    let mut b = Vec::new();
    for d in 0..40u32 {
        rec(&mut b, 0x42, 2 * d, &[0u8; 22]);
        rec(
            &mut b,
            0x47,
            2 * d + 1,
            &u32::from_be_bytes(*b"tbl ").to_le_bytes(),
        );
        let mut t = vec![0u8; 4];
        t.extend(1u16.to_le_bytes());
        t.extend(1u16.to_le_bytes());
        rec(&mut b, 0x4D, 2 * d + 2, &t);
        rec(&mut b, 0x48, 2 * d + 2, &[0u8; 16]);
    }
    let e = hwp5_with(&b).unwrap_err();
    assert!(matches!(e, Error::Limit(_)), "{e}");
}

#[test]
fn protected_and_foreign_files_are_named() {
    let mut d = fixtures::hwp5(&MEETING);
    // The FileHeader's flags: set the password bit in place.
    let sig = memchr::memmem::find(&d, b"HWP Document File").unwrap();
    d[sig + 36] |= 2;
    let e = read(&d, &lim()).unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
    d[sig + 36] = 1 | 4;
    assert!(
        read(&d, &lim())
            .unwrap_err()
            .to_string()
            .contains("distribution")
    );
    d[sig + 36] = 1;
    d[sig + 35] = 3;
    assert!(
        read(&d, &lim())
            .unwrap_err()
            .to_string()
            .contains("HWP version 3")
    );
    assert_eq!(read(b"%PDF-1.4", &lim()).unwrap_err(), Error::NotHwp);
}

#[test]
fn hostile_hwpx_xml_is_refused() {
    let cases = [
        (
            "<!DOCTYPE x [<!ENTITY a \"b\">]><hs:sec xmlns:hs=\"s\"/>",
            "DTD",
        ),
        (
            "<hs:sec xmlns:hs=\"s\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\"><hp:p><hp:run><hp:t>&ext;</hp:t></hp:run></hp:p></hs:sec>",
            "entity",
        ),
        (
            "<hs:sec xmlns:hs=\"s\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\"><hp:p><hp:run><hp:t>x</hp:t></hp:run>",
            "cut short",
        ),
        (
            "<hs:sec xmlns:hs=\"s\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\"><hp:p><hp:t>x</hp:p></hs:sec>",
            "well-formed",
        ),
        (
            "<hs:sec xmlns:hs=\"s\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\"><hp:tbl rowCnt=\"1\" colCnt=\"1\"><hp:tr><hp:tc><hp:cellAddr colAddr=\"3\" rowAddr=\"0\"/></hp:tc></hp:tr></hp:tbl></hs:sec>",
            "outside",
        ),
        (
            "<hs:sec xmlns:hs=\"s\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\"><hp:tbl rowCnt=\"65535\" colCnt=\"65535\"></hp:tbl></hs:sec>",
            "limit",
        ),
    ];
    for (xml, why) in cases {
        let e = read(&fixtures::hwpx_from_section(xml, &MEETING), &lim()).unwrap_err();
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
    // Character references and XML's own entities are text.
    let xml = "<hs:sec xmlns:hs=\"s\" xmlns:hp=\"http://www.hancom.co.kr/hwpml/2011/paragraph\"><hp:p><hp:run><hp:t>&#xD3C9;&#50577; &lt;&amp;&gt;</hp:t></hp:run></hp:p></hs:sec>";
    let d = read(&fixtures::hwpx_from_section(xml, &MEETING), &lim()).unwrap();
    assert_eq!(d.text(), "평양 <&>\n");
    // A ZIP that is not HWPX.
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("mimetype", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut z, b"application/zip").unwrap();
    let other = z.finish().unwrap().into_inner();
    assert_eq!(read(&other, &lim()).unwrap_err(), Error::NotHwp);
}
