//! `mutation-carry --list LIST.json --out DIR EARLIER...`
//!
//! Plans a full run that reuses earlier ones: reads the mutants of the tree as listed by
//! `cargo mutants --list --json --diff` (LIST.json) and the outcomes of earlier runs
//! (each EARLIER a cargo-mutants output directory, oldest first), writes the outcomes
//! that carry over (caught or unviable, code unchanged) to `DIR/carried/mutants.out/`
//! for `mutation-report`, and the mutants still to test to `DIR/to-test.txt`, one exact
//! `--re` regex per line. Exit status 2 when an input cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mutation::carry::{exact_regex, parse_list, parse_outcomes, plan};
use mutation::Outcome;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("mutation-carry: {why}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(args: Vec<String>) -> Result<(), String> {
    let (mut list, mut out, mut earlier) = (None, None, Vec::new());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = Some(PathBuf::from(args.next().ok_or("--list needs a file")?)),
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a directory")?)),
            "-h" | "--help" => {
                println!("usage: mutation-carry --list LIST.json --out DIR EARLIER...");
                return Ok(());
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => earlier.push(PathBuf::from(arg)),
        }
    }
    let list = list.ok_or("--list is required")?;
    let out = out.ok_or("--out is required")?;

    let mutants = parse_list(&list.display().to_string(), &read(&list)?)?;
    let mut outcomes = Vec::new();
    for dir in &earlier {
        let dir = if dir.join("outcomes.json").exists() {
            dir.clone()
        } else {
            dir.join("mutants.out")
        };
        let path = dir.join("outcomes.json");
        let found = parse_outcomes(&path.display().to_string(), &read(&path)?, |diff| read(&dir.join(diff)))?;
        outcomes.extend(found);
    }
    let plan = plan(&mutants, &outcomes);

    let carried_dir = out.join("carried").join("mutants.out");
    std::fs::create_dir_all(&carried_dir).map_err(|e| format!("{}: {e}", carried_dir.display()))?;
    for outcome in Outcome::ALL {
        let names: String = plan
            .carried
            .iter()
            .filter(|(_, o)| *o == outcome)
            .map(|(name, _)| format!("{name}\n"))
            .collect();
        write(&carried_dir.join(outcome.file_name()), &names)?;
    }
    let regexes: String = plan.to_test.iter().map(|name| exact_regex(name) + "\n").collect();
    write(&out.join("to-test.txt"), &regexes)?;
    println!(
        "{} mutants: {} carried over from {} earlier run(s), {} to test",
        mutants.len(),
        plan.carried.len(),
        earlier.len(),
        plan.to_test.len()
    );
    Ok(())
}
