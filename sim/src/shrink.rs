//! Shrinking a failing scenario to a smallest script that still fails the same way.
//!
//! First the run's random faults and payments are written out as plain `at` lines (the
//! generators dropped), so each can be removed on its own. Then delta debugging (ddmin)
//! removes statements while the script still fails with the same kind of violation, and
//! finally the run is cut short to just past its last action if it still fails.

use crate::clock::SimTime;
use crate::network::{Action, FailureKind, Violation};
use crate::scenario::{at_line, Expectation, RunOutcome, Scenario};

/// A shrunk script and what it fails with.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The script, ready to write.
    pub script: String,
    /// Its violation.
    pub violation: Violation,
    /// How many runs shrinking took.
    pub runs: usize,
}

/// Why a script could not be shrunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    /// The script does not parse (the message names the place).
    Invalid(String),
    /// The script does not fail under this seed: nothing to shrink.
    DoesNotFail,
}

/// A violation's kind: its text with every number and hex id as `#`, so the same
/// failure on other nodes, channels or times counts as the same.
pub fn violation_kind(invariant: &str) -> String {
    let mut kind = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, kind: &mut String| {
        let hex = word.chars().all(|c| c.is_ascii_hexdigit()) && word.chars().any(|c| c.is_ascii_digit());
        let unit = word.trim_start_matches(|c: char| c.is_ascii_digit());
        if hex {
            kind.push('#');
        } else if unit.len() < word.len() {
            // A number with its unit: `12ms`.
            kind.push('#');
            kind.push_str(unit);
        } else {
            kind.push_str(word);
        }
        word.clear();
    };
    for c in invariant.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut kind);
            kind.push(c);
        }
    }
    flush(&mut word, &mut kind);
    kind
}

/// Statements shrinking never removes: without them a script does not parse.
fn essential(line: &str) -> bool {
    matches!(line.split_whitespace().next(), Some("nodes" | "run" | "seed"))
}

/// Shrinks `text` (named `file`) failing under `seed`; `run` runs a parsed scenario under
/// the seed (`None` if its network cannot be built).
pub fn shrink(
    file: &str,
    text: &str,
    seed: u64,
    run: impl Fn(&Scenario) -> Option<RunOutcome>,
) -> Result<Shrunk, ShrinkError> {
    let scenario = Scenario::parse(file, text).map_err(|e| ShrinkError::Invalid(e.to_string()))?;
    let mut runs = 1;
    let outcome = run(&scenario).ok_or(ShrinkError::DoesNotFail)?;
    let first = outcome.violation.clone().ok_or(ShrinkError::DoesNotFail)?;
    let kind = (first.kind, violation_kind(&first.invariant));
    // An expectation failure keeps its cause: the same expectation fails, over at least
    // as many payments as it needs to mean something (one refused payment out of one
    // "fails" `sent >= 90%`, and says nothing).
    let expectation = unmet_expectation(&scenario, &outcome);
    let fails = |lines: &[String], runs: &mut usize| -> Option<Violation> {
        let candidate = Scenario::parse(file, &join(lines)).ok()?;
        *runs += 1;
        let outcome = run(&candidate)?;
        let violation = outcome.violation.clone()?;
        if (violation.kind, violation_kind(&violation.invariant)) != kind {
            return None;
        }
        if let Some((wanted, base)) = &expectation {
            let (unmet, candidate_base) = unmet_expectation(&candidate, &outcome)?;
            if unmet.same_check(wanted) && candidate_base >= (*base).min(wanted.meaningful_base()) {
                return Some(violation);
            }
            return None;
        }
        Some(violation)
    };
    // Statements only: comments and blank lines go, `seed` is written at the end.
    let statements: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with("seed "))
        .collect();
    let mut lines = concretized(&statements, &scenario, outcome.network.generated());
    let mut violation = match fails(&lines, &mut runs) {
        Some(v) => v,
        None => {
            // The written-out run fails differently (removing the generators changed
            // what the seed draws): shrink the original statements instead.
            lines = statements;
            first
        }
    };
    lines = ddmin(lines, |candidate| {
        let result = fails(candidate, &mut runs);
        if let Some(v) = &result {
            violation = v.clone();
        }
        result.is_some()
    });
    lines = shorten_run(lines, &mut |candidate| fails(candidate, &mut runs).is_some());
    if let Some(v) = fails(&lines, &mut runs) {
        violation = v;
    }
    let mut script = format!(
        "# Shrunk from {file} (seed {seed}) by `lnsim shrink`.\n# It failed with: {}\nseed {seed}\n",
        violation.invariant.replace('\n', " ")
    );
    script.push_str(&join(&lines));
    Ok(Shrunk {
        script,
        violation,
        runs,
    })
}

/// The expectation a run failed, with the payments it counted over, if it failed one.
fn unmet_expectation(scenario: &Scenario, outcome: &RunOutcome) -> Option<(Expectation, u64)> {
    if outcome.violation.as_ref()?.kind != FailureKind::Expectation {
        return None;
    }
    let tally = outcome.network.tally();
    let unmet = scenario.expectations.iter().find(|e| e.unmet(&tally).is_some())?;
    Some((*unmet, unmet.base(&tally)))
}

fn join(lines: &[String]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `statements` with the generators (`fault`, `traffic`) replaced by the `at` lines of
/// what they made in this run.
fn concretized(statements: &[String], scenario: &Scenario, generated: &[(SimTime, Action)]) -> Vec<String> {
    if scenario.generators.is_empty() {
        return statements.to_vec();
    }
    let mut out: Vec<String> = statements
        .iter()
        .filter(|l| !matches!(l.split_whitespace().next(), Some("fault" | "traffic")))
        .cloned()
        .collect();
    let mut generated = generated.to_vec();
    generated.sort_by_key(|(at, _)| *at);
    let run_line = out.iter().position(|l| l.starts_with("run ")).unwrap_or(out.len());
    // What a fault or the traffic drew may be refused (a payment over a channel a
    // fault just failed): written out, it still may.
    let at_lines: Vec<String> = generated
        .iter()
        .filter(|(at, _)| at.as_ms() <= scenario.duration_ms)
        .filter_map(|(at, action)| at_line(*at, action))
        .map(|line| format!("{line} maybe_refused"))
        .collect();
    out.splice(run_line..run_line, at_lines);
    out
}

/// Delta debugging: a smallest (1-minimal over removable lines) list that still `fails`.
fn ddmin(mut lines: Vec<String>, mut fails: impl FnMut(&[String]) -> bool) -> Vec<String> {
    let mut chunks = 2;
    loop {
        let removable: Vec<usize> = (0..lines.len()).filter(|&i| !essential(&lines[i])).collect();
        if removable.is_empty() {
            return lines;
        }
        let chunks_now = chunks.min(removable.len());
        let size = removable.len().div_ceil(chunks_now);
        let mut reduced = false;
        for chunk in removable.chunks(size) {
            let candidate: Vec<String> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| !chunk.contains(i))
                .map(|(_, l)| l.clone())
                .collect();
            if fails(&candidate) {
                lines = candidate;
                chunks = (chunks_now - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if chunks_now >= removable.len() {
                return lines;
            }
            chunks = (chunks_now * 2).min(removable.len());
        }
    }
}

/// Cuts `run` to just past the last `at` line (then halves what is left) while it still
/// fails.
fn shorten_run(mut lines: Vec<String>, fails: &mut impl FnMut(&[String]) -> bool) -> Vec<String> {
    let Some(run_index) = lines.iter().position(|l| l.starts_with("run ")) else {
        return lines;
    };
    let last_at_ms = lines
        .iter()
        .filter_map(|l| l.strip_prefix("at "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|t| Scenario::parse("t", &format!("nodes 2\nrun {t}\n")).ok())
        .map(|s| s.duration_ms)
        .max()
        .unwrap_or(0);
    for margin_ms in [1_000, 10_000, 60_000] {
        let mut candidate = lines.clone();
        candidate[run_index] = format!("run {}ms", last_at_ms + margin_ms);
        if fails(&candidate) {
            lines = candidate;
            break;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_ignore_numbers_and_ids() {
        assert_eq!(
            violation_kind("channel 0a1b between nodes 3 and 14: node 3's monitor"),
            violation_kind("channel 9f3e between nodes 0 and 1: node 1's monitor")
        );
        assert_ne!(violation_kind("liveness: x"), violation_kind("ends disagree: x"));
        assert_eq!(
            violation_kind("node 3 at 12ms: a dead beef"),
            "node # at #ms: a dead beef"
        );
    }

    /// An expectation failure shrinks to a script that fails the same expectation over
    /// enough payments to mean something, its channel kept: not to one refused payment
    /// on a script whose channel was removed.
    #[test]
    fn an_expectation_failure_keeps_its_cause() {
        let text = "nodes 2\nswarm off\nblock_interval 1min\nchannel 0 -> 1 capacity=1000000sat push=300000sat\n\
                    warmup 4min\ntraffic every=3s amount=1000sat..5000sat\nfault partition every=20s for=15s\n\
                    fault_mix all\nrun 6min\nsettle 5min\nexpect sent >= 90%\n";
        let run = |s: &Scenario| s.run(3).ok();
        let original = run(&Scenario::parse("e.scn", text).expect("valid")).expect("runs");
        let violation = original.violation.as_ref().expect("the partitions refuse payments");
        assert_eq!(violation.kind, FailureKind::Expectation, "{violation}");
        let shrunk = shrink("e.scn", text, 3, run).expect("shrinks");
        assert_eq!(shrunk.violation.kind, FailureKind::Expectation);
        assert!(shrunk.script.contains("channel 0 -> 1"), "{}", shrunk.script);
        let scenario = Scenario::parse("shrunk.scn", &shrunk.script).expect("the shrunk script parses");
        let outcome = run(&scenario).expect("runs");
        let tally = outcome.network.tally();
        let expectation = scenario.expectations[0];
        assert!(expectation.unmet(&tally).is_some());
        assert!(
            expectation.base(&tally) >= expectation.meaningful_base(),
            "{tally:?}\n{}",
            shrunk.script
        );
    }

    #[test]
    fn meaningful_bases() {
        let expectation = |comparison, value, percent| Expectation {
            metric: crate::scenario::Metric::Sent,
            comparison,
            value,
            percent,
            line: 1,
        };
        use crate::scenario::Comparison::*;
        // One failure in ten leaves 90%: ten payments before one alone fails `>= 90%`.
        assert_eq!(expectation(AtLeast, 90, true).meaningful_base(), 10);
        assert_eq!(expectation(AtLeast, 50, true).meaningful_base(), 2);
        assert_eq!(expectation(AtMost, 10, true).meaningful_base(), 10);
        assert_eq!(expectation(AtLeast, 7, false).meaningful_base(), 7);
    }

    #[test]
    fn ddmin_finds_the_lines_that_matter() {
        let lines: Vec<String> = ["nodes 2", "a", "b", "c", "d", "e", "f", "g", "run 1s"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Fails while both "c" and "f" are there.
        let shrunk = ddmin(lines, |l| l.iter().any(|x| x == "c") && l.iter().any(|x| x == "f"));
        assert_eq!(shrunk, ["nodes 2", "c", "f", "run 1s"]);
    }
}
