//! Reads cargo-mutants outcomes (`caught.txt`, `missed.txt`, `timeout.txt`,
//! `unviable.txt` in one or more `mutants.out` directories, e.g. one per shard) and the
//! accepted survivors, and reports the mutation score per area and per file, and the
//! survivors nobody has accepted yet.
//!
//! An accepted survivor is named by its file and description, without line and column,
//! so it stays accepted when code above it moves; it then covers every mutant with that
//! description in that file. One whose reason starts with `equivalent:` is a mutant no
//! test could catch (it computes the same thing): it is reported apart and left out of
//! the score, as mutation scores usually are. Every other accepted survivor still counts
//! as missed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub mod carry;

/// What the tests did with a mutant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// A test failed.
    Caught,
    /// The tests ran past the timeout (they noticed, by hanging): counted as caught.
    Timeout,
    /// Every test passed.
    Missed,
    /// The mutant did not build: it does not count.
    Unviable,
}

impl Outcome {
    /// The cargo-mutants file listing mutants with this outcome.
    pub fn file_name(self) -> &'static str {
        match self {
            Outcome::Caught => "caught.txt",
            Outcome::Timeout => "timeout.txt",
            Outcome::Missed => "missed.txt",
            Outcome::Unviable => "unviable.txt",
        }
    }

    /// Every outcome, in report order.
    pub const ALL: [Outcome; 4] = [Outcome::Caught, Outcome::Timeout, Outcome::Missed, Outcome::Unviable];
}

/// One mutant: where, and what was changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mutant {
    /// The source file, relative to the workspace.
    pub file: String,
    /// 1-based line and column.
    pub line: u32,
    /// See `line`.
    pub col: u32,
    /// cargo-mutants' description, e.g. `replace < with <= in Reader::read`.
    pub description: String,
}

impl Mutant {
    /// How `accepted.txt` names it.
    pub fn key(&self) -> AcceptedKey {
        AcceptedKey {
            file: self.file.clone(),
            description: self.description.clone(),
        }
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.description)
    }
}

/// A survivor as `accepted.txt` names it: file and description.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcceptedKey {
    /// The source file.
    pub file: String,
    /// The mutant's description.
    pub description: String,
}

impl fmt::Display for AcceptedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.description)
    }
}

/// A line that could not be read, with where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file being read.
    pub source: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub why: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.why)
    }
}

/// Reads one outcome list: `FILE:LINE:COL: DESCRIPTION` per line.
pub fn parse_outcome_list(source: &str, text: &str) -> Result<Vec<Mutant>, ParseError> {
    let mut mutants = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let error = |why| ParseError {
            source: source.to_string(),
            line: index + 1,
            why,
        };
        let mut parts = line.splitn(4, ':');
        let (Some(file), Some(line_no), Some(col), Some(description)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(error("expected FILE:LINE:COL: DESCRIPTION"));
        };
        let (Ok(line_no), Ok(col)) = (line_no.parse::<u32>(), col.parse::<u32>()) else {
            return Err(error("line and column must be numbers"));
        };
        let description = description.trim();
        if file.is_empty() || description.is_empty() {
            return Err(error("empty file or description"));
        }
        mutants.push(Mutant {
            file: file.to_string(),
            line: line_no,
            col,
            description: description.to_string(),
        });
    }
    Ok(mutants)
}

/// Reads `accepted.txt`: `FILE: DESCRIPTION | REASON` per line; `#` starts a comment
/// line. Every entry needs a reason.
pub fn parse_accepted(source: &str, text: &str) -> Result<BTreeMap<AcceptedKey, String>, ParseError> {
    let mut accepted = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |why| ParseError {
            source: source.to_string(),
            line: index + 1,
            why,
        };
        let Some((mutant, reason)) = line.rsplit_once(" | ") else {
            return Err(error("expected FILE: DESCRIPTION | REASON"));
        };
        let Some((file, description)) = mutant.split_once(": ") else {
            return Err(error("expected FILE: DESCRIPTION before the reason"));
        };
        if reason.trim().is_empty() {
            return Err(error("an accepted survivor needs a reason"));
        }
        let key = AcceptedKey {
            file: file.trim().to_string(),
            description: description.trim().to_string(),
        };
        if accepted.insert(key, reason.trim().to_string()).is_some() {
            return Err(error("listed twice"));
        }
    }
    Ok(accepted)
}

/// The area of the library a file belongs to, for the per-area score.
pub fn area_of(file: &str) -> &'static str {
    let path = file.strip_prefix("lightning/src/").unwrap_or(file);
    const BOLT3: [&str; 7] = [
        "chan/commitment.rs",
        "chan/htlc_tx.rs",
        "chan/closing.rs",
        "chan/keys.rs",
        "chan/script.rs",
        "chan/secrets.rs",
        "chan/signing.rs",
    ];
    if path.starts_with("wire/") {
        "wire"
    } else if path.starts_with("transport/") {
        "transport (BOLT 8)"
    } else if path.starts_with("onion/") {
        "onion (BOLT 4)"
    } else if BOLT3.contains(&path) {
        "transactions and keys (BOLT 3)"
    } else if path.starts_with("chan/") {
        "channel state machine"
    } else if path.starts_with("chain/") {
        "chain (monitor)"
    } else if path.starts_with("sign/") {
        "signers"
    } else {
        "other"
    }
}

/// Counts per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Caught by a failing test.
    pub caught: usize,
    /// Caught by a timeout.
    pub timeout: usize,
    /// Survived.
    pub missed: usize,
    /// Did not build.
    pub unviable: usize,
    /// Survived, but accepted as equivalent: left out of the score.
    pub equivalent: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Caught => self.caught += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::Missed => self.missed += 1,
            Outcome::Unviable => self.unviable += 1,
        }
    }

    /// Caught (timeouts included) over viable mutants that are not equivalent, in
    /// percent; `None` with none.
    pub fn score_percent(&self) -> Option<f64> {
        let viable = self.caught + self.timeout + self.missed;
        (viable > 0).then(|| 100.0 * (self.caught + self.timeout) as f64 / viable as f64)
    }
}

/// Everything a run (or several shards of one) found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Each mutant's outcome. A mutant seen in several shards keeps its worst outcome
    /// for the tests (missed over timeout over caught).
    pub outcomes: BTreeMap<Mutant, Outcome>,
}

impl Report {
    /// Adds one outcome list.
    pub fn add(&mut self, outcome: Outcome, mutants: Vec<Mutant>) {
        for mutant in mutants {
            let entry = self.outcomes.entry(mutant).or_insert(outcome);
            // Missed outranks everything: a survivor in any shard is a survivor.
            if outcome == Outcome::Missed || (*entry == Outcome::Caught && outcome == Outcome::Timeout) {
                *entry = outcome;
            }
        }
    }

    /// Tallies by a key of each mutant's file; survivors accepted as equivalent are
    /// counted apart.
    pub fn tally_by(
        &self,
        accepted: &BTreeMap<AcceptedKey, String>,
        key: impl Fn(&str) -> String,
    ) -> BTreeMap<String, Tally> {
        let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
        for (mutant, outcome) in &self.outcomes {
            let tally = tallies.entry(key(&mutant.file)).or_default();
            if is_equivalent(accepted, mutant, *outcome) {
                tally.equivalent += 1;
            } else {
                tally.add(*outcome);
            }
        }
        tallies
    }

    /// The whole run's tally.
    pub fn total(&self, accepted: &BTreeMap<AcceptedKey, String>) -> Tally {
        self.tally_by(accepted, |_| String::new())
            .into_values()
            .next()
            .unwrap_or_default()
    }

    /// Survivors not in `accepted`.
    pub fn new_survivors<'a>(&'a self, accepted: &BTreeMap<AcceptedKey, String>) -> Vec<&'a Mutant> {
        self.outcomes
            .iter()
            .filter(|(m, o)| **o == Outcome::Missed && !accepted.contains_key(&m.key()))
            .map(|(m, _)| m)
            .collect()
    }

    /// Accepted entries this run tested without a survivor among them: they can go.
    pub fn stale_acceptances<'a>(&self, accepted: &'a BTreeMap<AcceptedKey, String>) -> Vec<&'a AcceptedKey> {
        accepted
            .keys()
            .filter(|key| {
                let mut tested = self.outcomes.iter().filter(|(m, _)| m.key() == **key).peekable();
                tested.peek().is_some() && tested.all(|(_, o)| matches!(o, Outcome::Caught | Outcome::Timeout))
            })
            .collect()
    }
}

/// Whether `mutant` survived and `accepted` names it as equivalent.
fn is_equivalent(accepted: &BTreeMap<AcceptedKey, String>, mutant: &Mutant, outcome: Outcome) -> bool {
    outcome == Outcome::Missed
        && accepted
            .get(&mutant.key())
            .is_some_and(|reason| reason.starts_with("equivalent:"))
}

/// The report as Markdown: totals, per area, per file, new survivors.
pub fn render(report: &Report, accepted: &BTreeMap<AcceptedKey, String>) -> String {
    let mut out = String::new();
    let row = |name: &str, t: &Tally| {
        let score = t
            .score_percent()
            .map_or_else(|| "-".to_string(), |s| format!("{s:.1}%"));
        format!(
            "| {name} | {score} | {} | {} | {} | {} | {} |\n",
            t.caught, t.timeout, t.missed, t.equivalent, t.unviable
        )
    };
    let header =
        "| | score | caught | timeout | missed | equivalent | unviable |\n|---|---:|---:|---:|---:|---:|---:|\n";
    out.push_str("## By area\n\n");
    out.push_str(header);
    for (area, tally) in report.tally_by(accepted, |f| area_of(f).to_string()) {
        out.push_str(&row(&area, &tally));
    }
    out.push_str(&row("**all**", &report.total(accepted)));
    out.push_str("\n## By file\n\n");
    out.push_str(header);
    for (file, tally) in report.tally_by(accepted, str::to_string) {
        out.push_str(&row(&format!("`{file}`"), &tally));
    }
    let survivors: BTreeSet<&Mutant> = report
        .outcomes
        .iter()
        .filter(|(_, o)| **o == Outcome::Missed)
        .map(|(m, _)| m)
        .collect();
    out.push_str("\n## Survivors\n\n");
    if survivors.is_empty() {
        out.push_str("None.\n");
    }
    for mutant in survivors {
        match accepted.get(&mutant.key()) {
            Some(reason) => out.push_str(&format!("- accepted: `{mutant}` ({reason})\n")),
            None => out.push_str(&format!("- **new**: `{mutant}`\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(file: &str, description: &str) -> Mutant {
        Mutant {
            file: file.into(),
            line: 1,
            col: 1,
            description: description.into(),
        }
    }

    fn key(file: &str, description: &str) -> AcceptedKey {
        mutant(file, description).key()
    }

    #[test]
    fn outcome_lines_read_file_line_column_and_description() {
        let text = "lightning/src/wire/bigsize.rs:45:9: replace BigSize::len -> usize with 0\n\n";
        assert_eq!(
            parse_outcome_list("missed.txt", text),
            Ok(vec![Mutant {
                line: 45,
                col: 9,
                ..mutant("lightning/src/wire/bigsize.rs", "replace BigSize::len -> usize with 0")
            }])
        );
        let bad = parse_outcome_list("missed.txt", "a\nlightning/src/x.rs:one:2: d\n").unwrap_err();
        assert_eq!((bad.line, bad.why), (1, "expected FILE:LINE:COL: DESCRIPTION"));
        let bad = parse_outcome_list("missed.txt", "lightning/src/x.rs:one:2: d\n").unwrap_err();
        assert_eq!(bad.to_string(), "missed.txt:1: line and column must be numbers");
    }

    #[test]
    fn accepted_entries_need_a_reason_and_appear_once() {
        let text = "# comment\nlightning/src/a.rs: replace f with () | logging only\n";
        let accepted = parse_accepted("accepted.txt", text).expect("reads");
        assert_eq!(
            accepted.get(&key("lightning/src/a.rs", "replace f with ()")),
            Some(&"logging only".to_string())
        );
        let no_reason = parse_accepted("accepted.txt", "lightning/src/a.rs: replace f with () | \n");
        assert_eq!(no_reason.unwrap_err().why, "expected FILE: DESCRIPTION | REASON");
        let twice = "x.rs: d | r\nx.rs: d | r2\n";
        assert_eq!(parse_accepted("accepted.txt", twice).unwrap_err().line, 2);
        // A description may itself contain " | " (a mutated `|` operator): the reason is
        // what follows the last one.
        let pipes = parse_accepted("a", "x.rs: replace | with ^ in f | equivalent here\n").expect("reads");
        assert!(pipes.contains_key(&key("x.rs", "replace | with ^ in f")));
    }

    #[test]
    fn scores_count_timeouts_as_caught_and_ignore_unviable() {
        let mut report = Report::default();
        let file = "lightning/src/wire/tlv.rs";
        report.add(Outcome::Caught, vec![mutant(file, "a"), mutant(file, "b")]);
        report.add(Outcome::Timeout, vec![mutant(file, "c")]);
        report.add(Outcome::Missed, vec![mutant(file, "d")]);
        report.add(Outcome::Unviable, vec![mutant(file, "e")]);
        let by_area = report.tally_by(&BTreeMap::new(), |f| area_of(f).to_string());
        assert_eq!(by_area["wire"].score_percent(), Some(75.0));
        assert_eq!(Tally::default().score_percent(), None);
    }

    /// A survivor accepted as equivalent leaves the score; one accepted for another
    /// reason still counts as missed.
    #[test]
    fn equivalent_survivors_leave_the_score_and_others_stay_in_it() {
        let mut report = Report::default();
        let file = "lightning/src/wire/tlv.rs";
        report.add(Outcome::Caught, vec![mutant(file, "a")]);
        report.add(Outcome::Missed, vec![mutant(file, "b"), mutant(file, "c")]);
        let accepted = BTreeMap::from([
            (key(file, "b"), "equivalent: the same value".to_string()),
            (key(file, "c"), "not worth a test".to_string()),
        ]);
        let total = report.total(&accepted);
        assert_eq!((total.caught, total.missed, total.equivalent), (1, 1, 1));
        assert_eq!(total.score_percent(), Some(50.0));
        assert!(report.new_survivors(&accepted).is_empty());
        let markdown = render(&report, &accepted);
        assert!(
            markdown.contains("| **all** | 50.0% | 1 | 0 | 1 | 1 | 0 |"),
            "{markdown}"
        );
    }

    #[test]
    fn a_survivor_in_any_shard_is_a_survivor() {
        let mut report = Report::default();
        let m = mutant("lightning/src/chan/ledger.rs", "replace x");
        report.add(Outcome::Missed, vec![m.clone()]);
        report.add(Outcome::Caught, vec![m.clone()]);
        assert_eq!(report.outcomes[&m], Outcome::Missed);
        let accepted = BTreeMap::new();
        assert_eq!(report.new_survivors(&accepted), vec![&m]);
        let accepted = BTreeMap::from([(m.key(), "equivalent".to_string())]);
        assert!(report.new_survivors(&accepted).is_empty());
        assert!(render(&report, &accepted).contains("accepted: `lightning/src/chan/ledger.rs:1:1: replace x`"));
    }

    #[test]
    fn caught_acceptances_are_stale() {
        let mut report = Report::default();
        let m = mutant("lightning/src/sign/node.rs", "replace y");
        report.add(Outcome::Caught, vec![m.clone()]);
        let accepted = BTreeMap::from([(m.key(), "was equivalent".to_string())]);
        assert_eq!(report.stale_acceptances(&accepted), vec![&m.key()]);
        // The same description surviving elsewhere in the file keeps the entry.
        let elsewhere = Mutant { line: 9, ..m.clone() };
        report.add(Outcome::Missed, vec![elsewhere]);
        assert!(report.stale_acceptances(&accepted).is_empty());
        assert!(
            report.new_survivors(&accepted).is_empty(),
            "one entry covers every line"
        );
    }

    #[test]
    fn mutants_with_one_description_on_different_lines_count_apart() {
        let mut report = Report::default();
        let a = mutant("lightning/src/wire/tlv.rs", "replace == with != in f");
        let b = Mutant { line: 2, ..a.clone() };
        report.add(Outcome::Caught, vec![a, b]);
        assert_eq!(report.total(&BTreeMap::new()).caught, 2);
    }

    #[test]
    fn files_fall_into_the_areas_the_targets_name() {
        assert_eq!(
            area_of("lightning/src/chan/commitment.rs"),
            "transactions and keys (BOLT 3)"
        );
        assert_eq!(
            area_of("lightning/src/chan/channel/operation.rs"),
            "channel state machine"
        );
        assert_eq!(area_of("lightning/src/chan/ledger.rs"), "channel state machine");
        assert_eq!(area_of("lightning/src/onion/packet.rs"), "onion (BOLT 4)");
        assert_eq!(area_of("lightning/src/events.rs"), "other");
    }
}
