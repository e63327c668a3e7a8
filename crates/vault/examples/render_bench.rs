//! Renders documents one after another the way `vault process` does (the
//! sanitizer's copy, then `render::render_document` in the sandbox, pages in
//! parallel) and prints the time. Used by bench/vault_render.sh.
//!
//! `cargo run --release -p baram-vault --example render_bench -- [--threads N] [--out DIR] FILE…`
//!
//! `--threads` sets [`DocOptions::threads`] (default: one per core);
//! `--out` writes each safe PDF as `DIR/<file name>.pdf` after the clock stops.

use baram_vault::render::DocOptions;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut opts = DocOptions::default();
    let mut out: Option<String> = None;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                opts.threads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .unwrap_or_else(|| fail("--threads takes a number"))
            }
            "--out" => out = Some(args.next().unwrap_or_else(|| fail("--out takes a folder"))),
            _ => files.push(a),
        }
    }
    if files.is_empty() {
        fail("usage: render_bench [--threads N] [--out DIR] FILE…");
    }
    let inputs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| fail(&format!("{p}: {e}"))))
        .collect();
    let sb = baram_vault::sandbox::Sandbox::probe().unwrap_or_else(|e| fail(&e.to_string()));
    let t = std::time::Instant::now();
    let mut done = Vec::new();
    let (mut pages, mut layer, mut ocr) = (0u32, 0u32, 0u32);
    for (path, data) in files.iter().zip(&inputs) {
        let kind = baram_vault::process::kind_of(data).unwrap_or_default();
        let cleaned = baram_sanitize::clean(data, &Default::default()).ok();
        let input = cleaned.as_ref().map_or(&data[..], |c| &c.data[..]);
        match baram_vault::render::render_document(&sb, input, &kind, &opts) {
            Ok(r) => {
                pages += r.facts.pages_rendered;
                layer += r.facts.text_layer_pages;
                ocr += r.facts.ocr_pages;
                done.push((path, r));
            }
            Err(e) => fail(&format!("{path}: {e}")),
        }
    }
    let secs = t.elapsed().as_secs_f64();
    if let Some(dir) = out {
        for (path, r) in &done {
            let name = std::path::Path::new(path)
                .file_name()
                .map_or("doc".into(), |n| n.to_string_lossy().into_owned());
            std::fs::write(format!("{dir}/{name}.pdf"), &*r.pdf)
                .unwrap_or_else(|e| fail(&format!("{dir}: {e}")));
        }
    }
    println!(
        "{secs:.3} s for {} documents, {pages} pages ({layer} text layer, {ocr} OCR) on {} threads",
        files.len(),
        opts.threads
    );
}

fn fail(msg: &str) -> ! {
    eprintln!("render_bench: {msg}");
    std::process::exit(1)
}
