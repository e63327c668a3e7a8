//! `baram-vault-hwp __hwp-render IN OUT`: the HWP reader the vault runs in
//! its sandbox, as a program of this crate, so that its tests need not
//! build the baram binary. `baram __hwp-render` is the same function.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = match args.split_first() {
        Some((cmd, rest)) if cmd == "__hwp-render" => baram_vault::render::hwp_render_main(rest),
        _ => {
            eprintln!("usage: baram-vault-hwp __hwp-render IN OUT");
            2
        }
    };
    std::process::exit(code);
}
