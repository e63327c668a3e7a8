use baram_sanitize::fixtures;

#[test]
#[ignore]
fn dump() {
    let d = std::path::Path::new("/tmp/imgfix");
    std::fs::create_dir_all(d).unwrap();
    for (n, b) in [
        ("exif.jpg", fixtures::jpeg_with_exif()),
        ("prog.jpg", fixtures::jpeg_progressive_with_exif()),
        ("rst.jpg", fixtures::jpeg_with_restarts()),
        ("plain.jpg", fixtures::jpeg_plain()),
        ("text.png", fixtures::png_with_text()),
        ("c.gif", fixtures::gif_with_comment()),
        ("e.webp", fixtures::webp_with_exif()),
        ("p.webp", fixtures::webp_plain()),
    ] {
        std::fs::write(d.join(n), &b).unwrap();
        let c = baram_sanitize::clean(&b, &Default::default());
        match c {
            Ok(c) => {
                std::fs::write(d.join(format!("clean-{n}")), &c.data).unwrap();
                for f in &c.report.findings { println!("{n}: {:?} {} = {:?} @{:?}", f.category, f.field, f.value, f.offset); }
            }
            Err(e) => println!("{n}: ERROR {e}"),
        }
    }
}
