//! Runs inputs through a target without a fuzzer: `replay TARGET [FILE...]`, or the
//! input on standard input when no file is given. A finding panics with the target's
//! message; exit code 2 for an unknown target or an unreadable file.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprintln!("usage: replay TARGET [FILE...]   (targets: {})", names());
        return ExitCode::from(2);
    };
    let Some(target) = lnfuzz::target(name) else {
        eprintln!("unknown target `{name}` (targets: {})", names());
        return ExitCode::from(2);
    };
    if args.len() == 1 {
        let mut input = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut input) {
            eprintln!("standard input: {e}");
            return ExitCode::from(2);
        }
        target(&input);
        return ExitCode::SUCCESS;
    }
    for file in &args[1..] {
        match std::fs::read(file) {
            Ok(input) => {
                eprintln!("{file}");
                target(&input);
            }
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

fn names() -> String {
    lnfuzz::TARGETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}
