//! `mutation-report [--accepted FILE] [--markdown OUT] DIR...`
//!
//! Reads the cargo-mutants outcomes in each DIR (a `mutants.out` directory, or one that
//! holds it; several for the shards of one run), prints the mutation score per area,
//! writes the full report as Markdown to OUT if given, and lists the survivors that
//! `--accepted` (default `mutation/accepted.txt`) does not. Exit status: 0, or 1 when
//! there are new survivors, or 2 when an input cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mutation::{parse_accepted, parse_outcome_list, render, Outcome, Report};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(why) => {
            eprintln!("mutation-report: {why}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether there is no new survivor.
fn run(args: Vec<String>) -> Result<bool, String> {
    let mut accepted_path = PathBuf::from("mutation/accepted.txt");
    let mut markdown: Option<PathBuf> = None;
    let mut dirs = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--accepted" => accepted_path = args.next().ok_or("--accepted needs a file")?.into(),
            "--markdown" => markdown = Some(args.next().ok_or("--markdown needs a file")?.into()),
            "-h" | "--help" => {
                println!("usage: mutation-report [--accepted FILE] [--markdown OUT] DIR...");
                return Ok(true);
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    if dirs.is_empty() {
        return Err("no mutants.out directory given".into());
    }

    let accepted_text =
        std::fs::read_to_string(&accepted_path).map_err(|e| format!("{}: {e}", accepted_path.display()))?;
    let accepted = parse_accepted(&accepted_path.display().to_string(), &accepted_text).map_err(|e| e.to_string())?;

    let mut report = Report::default();
    for dir in &dirs {
        let dir = outcomes_dir(dir)?;
        for outcome in Outcome::ALL {
            let path = dir.join(outcome.file_name());
            // A run with no mutant of a kind may not write its file.
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mutants = parse_outcome_list(&path.display().to_string(), &text).map_err(|e| e.to_string())?;
            report.add(outcome, mutants);
        }
    }

    let markdown_text = render(&report, &accepted);
    if let Some(path) = &markdown {
        std::fs::write(path, &markdown_text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "{:<34} {:>7} {:>7} {:>7} {:>7} {:>10} {:>8}",
        "area", "score", "caught", "timeout", "missed", "equivalent", "unviable"
    );
    let mut rows: Vec<(String, mutation::Tally)> = report
        .tally_by(&accepted, |f| mutation::area_of(f).to_string())
        .into_iter()
        .collect();
    rows.push(("all".into(), report.total(&accepted)));
    for (area, t) in rows {
        let score = t.score_percent().map_or_else(|| "-".into(), |s| format!("{s:.1}%"));
        println!(
            "{area:<34} {score:>7} {:>7} {:>7} {:>7} {:>10} {:>8}",
            t.caught, t.timeout, t.missed, t.equivalent, t.unviable
        );
    }
    for stale in report.stale_acceptances(&accepted) {
        println!("caught now, remove from {}: {stale}", accepted_path.display());
    }
    let new = report.new_survivors(&accepted);
    for mutant in &new {
        println!("NEW SURVIVOR: {mutant}");
    }
    if !new.is_empty() {
        println!(
            "{} new survivor(s): kill each with a test, or accept it in {} with a reason",
            new.len(),
            accepted_path.display()
        );
    }
    Ok(new.is_empty())
}

/// `dir` itself if it holds outcome files, else its `mutants.out`.
fn outcomes_dir(dir: &Path) -> Result<PathBuf, String> {
    if Outcome::ALL.iter().any(|o| dir.join(o.file_name()).exists()) {
        return Ok(dir.to_path_buf());
    }
    let nested = dir.join("mutants.out");
    if Outcome::ALL.iter().any(|o| nested.join(o.file_name()).exists()) {
        return Ok(nested);
    }
    Err(format!("{}: no cargo-mutants outcomes here", dir.display()))
}
