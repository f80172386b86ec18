//! AFL entry point: `lnfuzz-afl TARGET` runs the named `lnfuzz` target on the inputs AFL
//! feeds it (built with `cargo afl build`; see scripts/fuzz.sh).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = lnfuzz::target(&name) else {
        let names: Vec<&str> = lnfuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: lnfuzz-afl TARGET   (targets: {})", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| target(data));
}
