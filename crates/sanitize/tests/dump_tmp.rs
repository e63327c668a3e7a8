#[test]
fn dump() {
    use baram_sanitize::fixtures::*;
    let d = std::path::Path::new("/tmp/docsdump");
    std::fs::create_dir_all(d).unwrap();
    for (n, f) in [("a.docx", docx_with_metadata()), ("b.xlsx", xlsx_with_metadata()), ("c.pptx", pptx_with_metadata()), ("d.odt", odt_with_metadata()), ("e.ods", ods_with_metadata()), ("f.odp", odp_with_metadata()), ("g.docx", docx_with_redstar(&["WD-1","WD-2"], true))] {
        std::fs::write(d.join(n), &f).unwrap();
        let c = baram_sanitize::clean(&f, &Default::default());
        match c {
            Ok(c) => {
                std::fs::write(d.join(format!("clean-{n}")), &c.data).unwrap();
                println!("== {n}");
                for x in &c.report.findings { println!("  {:?} {} = {:?}", x.category, x.field, x.value); }
                println!("  redstar {:?}", c.report.redstar);
                let again = baram_sanitize::clean(&c.data, &Default::default()).unwrap();
                println!("  again clean={} same={}", again.report.is_clean(), again.data == c.data);
                for x in &again.report.findings { println!("  AGAIN {:?} {} = {:?}", x.category, x.field, x.value); }
            }
            Err(e) => println!("== {n} ERR {e}"),
        }
    }
}
