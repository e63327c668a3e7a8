//! OCRs page images the way `vault process` does (tesseract in the
//! sandbox, text and TSV, one thread each, pages in parallel one per core)
//! and prints the time. Used by bench/vault_ocr.sh.
//!
//! `cargo run --release -p baram-vault --example ocr_pages -- PAGE.png…`

fn main() {
    let pages: Vec<Vec<u8>> = std::env::args()
        .skip(1)
        .map(|p| {
            std::fs::read(&p).unwrap_or_else(|e| {
                eprintln!("ocr_pages: {p}: {e}");
                std::process::exit(1)
            })
        })
        .collect();
    let sb = baram_vault::sandbox::Sandbox::probe().unwrap_or_else(|e| {
        eprintln!("ocr_pages: {e}");
        std::process::exit(1)
    });
    let limits = baram_vault::sandbox::Limits::default();
    let threads = baram_vault::ocr::default_threads();
    let t = std::time::Instant::now();
    let out = baram_vault::ocr::par_map(&pages, threads, |_, png| {
        baram_vault::ocr::ocr_png(&sb, png, &limits)
    });
    let secs = t.elapsed().as_secs_f64();
    let mut chars = 0;
    for r in out {
        match r {
            Ok(p) => chars += p.text.chars().count(),
            Err(e) => {
                eprintln!("ocr_pages: {e}");
                std::process::exit(1)
            }
        }
    }
    println!(
        "{secs:.3} s for {} pages on {threads} threads, {chars} characters",
        pages.len()
    );
}
