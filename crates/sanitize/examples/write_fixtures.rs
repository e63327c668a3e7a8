//! Writes every sanitizer fixture (planted metadata, Red Star chains) into a
//! folder. Usage: write_fixtures DIR
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: write_fixtures DIR"));
    std::fs::create_dir_all(&dir).expect("create DIR");
    for (name, data) in baram_sanitize::fixtures::all() {
        std::fs::write(dir.join(&name), data).expect("write fixture");
        println!("{name}");
    }
}
