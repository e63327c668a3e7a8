//! Writes the HWP fixtures into a folder (the fuzz target's seeds):
//! `cargo run -p baram-hwp --example write_fixtures DIR`.
use baram_hwp::fixtures::{self, MEETING, Sample};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: write_fixtures DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let small = Sample {
        paragraphs: &["평양"],
        table: &[&["a"]],
        after: &[],
        ..MEETING
    };
    let files = [
        ("meeting.hwp", fixtures::hwp5(&MEETING)),
        (
            "meeting-plain.hwp",
            fixtures::hwp5_from_body(&fixtures::hwp5_body(&MEETING), &MEETING, false),
        ),
        ("small.hwp", fixtures::hwp5(&small)),
        ("meeting.hwpx", fixtures::hwpx(&MEETING)),
        ("small.hwpx", fixtures::hwpx(&small)),
    ];
    for (name, data) in files {
        std::fs::write(dir.join(name), data).unwrap();
    }
}
