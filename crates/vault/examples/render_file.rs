//! Renders one document as `vault process` would (in the sandbox) and
//! prints the report's document facts and the text. For trying converters
//! on a sample by hand; writes nothing.
//!
//! `cargo run -p baram-vault --example render_file -- FILE [SAFE.pdf]`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: render_file FILE");
        std::process::exit(2);
    };
    let data = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("render_file: {path}: {e}");
        std::process::exit(1);
    });
    let sb = baram_vault::sandbox::Sandbox::probe().unwrap_or_else(|e| {
        eprintln!("render_file: {e}");
        std::process::exit(1);
    });
    let kind = baram_vault::process::kind_of(&data).unwrap_or_default();
    // As processing does: the sanitizer's copy when it knows the format.
    let data = match baram_sanitize::clean(&data, &Default::default()) {
        Ok(c) => c.data,
        Err(_) => data,
    };
    let t = std::time::Instant::now();
    match baram_vault::render::render_document(&sb, &data, &kind, &Default::default()) {
        Ok(r) => {
            println!(
                "{:?} in {:?}, safe PDF {} bytes",
                r.facts,
                t.elapsed(),
                r.pdf.len()
            );
            println!("{}", &*r.text);
            // For checking by hand: the safe PDF where asked.
            if let Some(out) = std::env::args().nth(2) {
                std::fs::write(&out, &*r.pdf).expect("write the safe PDF");
            }
        }
        Err(e) => {
            eprintln!("render_file: {path}: {e}");
            std::process::exit(1);
        }
    }
}
