//! What a run or a sweep came to, in the forms a CI job reads: one [`SeedSummary`] per
//! run, a JSON summary (`lnsim --json`) and a JUnit report (`lnsim sweep --junit`) with
//! one test case per seed.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::markup::escape;
use crate::network::{Network, PaymentOutcome, PaymentTally, Violation};

/// How a failed run failed: a check's kind, or a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `invariant`, `liveness`, `expectation`, `refusal` or `panic`.
    pub kind: String,
    /// What broke, in one line.
    pub text: String,
    /// When (simulated ms), if known.
    pub at_ms: Option<u64>,
    /// The trace's last lines before it.
    pub last_events: Vec<String>,
}

impl Failure {
    /// From a violation.
    pub fn of(violation: &Violation) -> Failure {
        Failure {
            kind: violation.kind.name().to_string(),
            text: violation.invariant.clone(),
            at_ms: Some(violation.at.as_ms()),
            last_events: violation.last_events.clone(),
        }
    }

    /// A run that panicked, with what the panic said.
    pub fn panic(message: String) -> Failure {
        Failure {
            kind: "panic".to_string(),
            text: format!("panicked: {message}"),
            at_ms: None,
            last_events: Vec::new(),
        }
    }
}

/// One payment as a report needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentPoint {
    /// When it was dispatched (simulated ms).
    pub dispatched_ms: u64,
    /// How long until the payer learned the outcome, if it did.
    pub latency_ms: Option<u64>,
    /// How it ended.
    pub outcome: PaymentOutcome,
}

/// What one seed's run came to.
#[derive(Clone, Debug)]
pub struct SeedSummary {
    /// The seed.
    pub seed: u64,
    /// Its payments, counted.
    pub tally: PaymentTally,
    /// Each payment, for plots.
    pub payments: Vec<PaymentPoint>,
    /// Why payments did not go through, with how many each.
    pub reasons: Vec<(String, u64)>,
    /// What failed, if anything.
    pub failure: Option<Failure>,
    /// Events the simulator handled.
    pub events: u64,
    /// Where the simulated clock ended (ms).
    pub end_ms: u64,
    /// How long the run took on the wall clock (ms): the one figure that differs
    /// between two runs of a seed.
    pub wall_ms: u64,
}

impl SeedSummary {
    /// The summary of `network` after a run under `seed` that ended with `violation`.
    pub fn of(seed: u64, network: &Network, violation: Option<&Violation>, wall_ms: u64) -> SeedSummary {
        let payments = network
            .payments()
            .iter()
            .map(|p| PaymentPoint {
                dispatched_ms: p.dispatched.as_ms(),
                latency_ms: p.resolved.map(|r| r.as_ms() - p.dispatched.as_ms()),
                outcome: p.outcome,
            })
            .collect();
        let mut reasons: std::collections::BTreeMap<String, u64> = Default::default();
        for p in network.payments() {
            if matches!(
                p.outcome,
                PaymentOutcome::Refused | PaymentOutcome::Failed | PaymentOutcome::OnChain
            ) {
                *reasons
                    .entry(format!("{}: {}", p.outcome.name(), p.reason))
                    .or_default() += 1;
            }
        }
        SeedSummary {
            seed,
            tally: network.tally(),
            payments,
            reasons: reasons.into_iter().collect(),
            failure: violation.map(Failure::of),
            events: network.events_processed(),
            end_ms: network.now().as_ms(),
            wall_ms,
        }
    }

    /// A run that panicked.
    pub fn panicked(seed: u64, message: String, wall_ms: u64) -> SeedSummary {
        SeedSummary {
            seed,
            tally: PaymentTally::default(),
            payments: Vec::new(),
            reasons: Vec::new(),
            failure: Some(Failure::panic(message)),
            events: 0,
            end_ms: 0,
            wall_ms,
        }
    }
}

/// The tally as JSON.
pub fn tally_json(tally: &PaymentTally) -> Value {
    json!({
        "dispatched": tally.dispatched,
        "sent": tally.sent,
        "failed": tally.failed,
        "refused": tally.refused,
        "refused_channel_failed": tally.refused_channel_failed,
        "on_chain": tally.on_chain,
        "impossible": tally.impossible,
    })
}

/// Every seed's tally added up.
pub fn total(summaries: &[SeedSummary]) -> PaymentTally {
    let mut total = PaymentTally::default();
    for s in summaries {
        total.dispatched += s.tally.dispatched;
        total.sent += s.tally.sent;
        total.failed += s.tally.failed;
        total.refused += s.tally.refused;
        total.refused_channel_failed += s.tally.refused_channel_failed;
        total.on_chain += s.tally.on_chain;
        total.impossible += s.tally.impossible;
    }
    total
}

fn failure_json(failure: &Failure) -> Value {
    json!({
        "kind": failure.kind,
        "text": failure.text,
        "at_ms": failure.at_ms,
        "last_events": failure.last_events,
    })
}

/// One run as JSON: its seed, result, failure, payments and size.
pub fn run_json(file: &str, summary: &SeedSummary, replay: Option<&str>) -> Value {
    json!({
        "file": file,
        "seed": summary.seed,
        "result": if summary.failure.is_some() { "fail" } else { "pass" },
        "failure": summary.failure.as_ref().map(failure_json),
        "payments": tally_json(&summary.tally),
        "reasons": summary
            .reasons
            .iter()
            .map(|(reason, count)| json!({ "reason": reason, "count": count }))
            .collect::<Vec<_>>(),
        "events": summary.events,
        "end_ms": summary.end_ms,
        "replay": replay,
    })
}

/// A sweep as JSON: its seeds, the failing ones with their failure, the kinds of
/// failure (how many, the first seed, what broke), and the payments over all seeds.
pub fn sweep_json(file: &str, seeds: &str, summaries: &[SeedSummary], replay: &str) -> Value {
    let failing: Vec<&SeedSummary> = summaries.iter().filter(|s| s.failure.is_some()).collect();
    json!({
        "file": file,
        "seeds": seeds,
        "runs": summaries.len(),
        "result": if failing.is_empty() { "pass" } else { "fail" },
        "failing": failing.iter().map(|s| s.seed).collect::<Vec<_>>(),
        "failures": failing
            .iter()
            .map(|s| {
                let f = s.failure.as_ref().expect("filtered");
                json!({ "seed": s.seed, "kind": f.kind, "text": f.text, "at_ms": f.at_ms })
            })
            .collect::<Vec<_>>(),
        "kinds": kinds(summaries)
            .into_iter()
            .map(|k| json!({ "kind": k.kind, "count": k.count, "first_seed": k.first_seed, "text": k.text }))
            .collect::<Vec<_>>(),
        "payments": tally_json(&total(summaries)),
        "replay": replay,
    })
}

/// One kind of failure across a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureRow {
    /// `invariant`, `liveness`, `expectation`, `refusal` or `panic`.
    pub kind: String,
    /// How many seeds failed so.
    pub count: usize,
    /// The first of them.
    pub first_seed: u64,
    /// What broke there.
    pub text: String,
}

/// The sweep's failures grouped by kind and shape (numbers and ids ignored), most
/// frequent first.
pub fn kinds(summaries: &[SeedSummary]) -> Vec<FailureRow> {
    let mut rows: std::collections::BTreeMap<(String, String), FailureRow> = Default::default();
    for s in summaries {
        if let Some(f) = &s.failure {
            let key = (f.kind.clone(), crate::shrink::violation_kind(&f.text));
            rows.entry(key)
                .or_insert_with(|| FailureRow {
                    kind: f.kind.clone(),
                    count: 0,
                    first_seed: s.seed,
                    text: f.text.clone(),
                })
                .count += 1;
        }
    }
    let mut rows: Vec<FailureRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.first_seed.cmp(&b.first_seed)));
    rows
}

/// A JUnit XML report: one test suite for the script, one test case per seed (a
/// failed check is a `failure` of its kind, a panic an `error`), the replay command of
/// each failing seed in its text.
pub fn junit(file: &str, summaries: &[SeedSummary], replay_for: impl Fn(u64) -> String) -> String {
    let failures = summaries
        .iter()
        .filter(|s| s.failure.as_ref().is_some_and(|f| f.kind != "panic"))
        .count();
    let errors = summaries
        .iter()
        .filter(|s| s.failure.as_ref().is_some_and(|f| f.kind == "panic"))
        .count();
    let seconds = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let total_ms: u64 = summaries.iter().map(|s| s.wall_ms).sum();
    let stem = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"lnsim\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">",
        summaries.len(),
        seconds(total_ms)
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{}\">",
        escape(file),
        summaries.len(),
        seconds(total_ms)
    );
    for s in summaries {
        let _ = write!(
            out,
            "    <testcase classname=\"lnsim.{}\" name=\"seed {}\" time=\"{}\"",
            escape(&stem),
            s.seed,
            seconds(s.wall_ms)
        );
        let payments = format!(
            "payments: {} dispatched, {} sent, {} failed, {} refused, {} left to the chain; {} events",
            s.tally.dispatched, s.tally.sent, s.tally.failed, s.tally.refused, s.tally.on_chain, s.events
        );
        match &s.failure {
            None => {
                let _ = writeln!(
                    out,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&payments)
                );
            }
            Some(f) => {
                let element = if f.kind == "panic" { "error" } else { "failure" };
                let mut body = format!("{}\nreplay: {}\n", f.text, replay_for(s.seed));
                for line in &f.last_events {
                    body.push_str(line);
                    body.push('\n');
                }
                let _ = writeln!(
                    out,
                    ">\n      <{element} type=\"{}\" message=\"{}\">{}</{element}>\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&f.kind),
                    escape(&f.text),
                    escape(&body),
                    escape(&payments)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(seed: u64, failure: Option<&str>) -> SeedSummary {
        SeedSummary {
            seed,
            tally: PaymentTally {
                dispatched: 3,
                sent: 2,
                refused: 1,
                ..PaymentTally::default()
            },
            payments: Vec::new(),
            reasons: Vec::new(),
            failure: failure.map(|kind| Failure {
                kind: kind.to_string(),
                text: format!("{kind} <broke> & \"quoted\" \u{1}"),
                at_ms: Some(5),
                last_events: vec![r#"{"t_ms":5}"#.to_string()],
            }),
            events: 10,
            end_ms: 100,
            wall_ms: 12,
        }
    }

    /// The report parses as JUnit: a case per seed, failures and errors counted and
    /// typed, the replay command in the failure's text.
    #[test]
    fn junit_reads_back_as_junit() {
        let summaries = [
            summary(0, None),
            summary(1, Some("liveness")),
            summary(2, Some("panic")),
        ];
        let xml = junit("dir/a.scn", &summaries, |seed| {
            format!("lnsim run dir/a.scn --seed {seed}")
        });
        let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).expect("valid JUnit");
        assert_eq!((suites.tests, suites.failures, suites.errors), (3, 1, 1));
        let suite = &suites.suites[0];
        assert_eq!(suite.cases.len(), 3);
        assert_eq!(suite.cases[0].original_name, "seed 0");
        assert_eq!(suite.cases[0].classname.as_deref(), Some("lnsim.a"));
        assert!(suite.cases[0].status.is_success());
        let failure = suite.cases[1].status.failure_as_ref();
        assert_eq!(failure.failure_type, "liveness");
        assert!(
            failure.text.contains("lnsim run dir/a.scn --seed 1"),
            "{}",
            failure.text
        );
        assert!(failure.message.contains("<broke> & \"quoted\""));
        assert!(suite.cases[2].status.is_error());
    }

    #[test]
    fn sweep_json_groups_failures_by_kind() {
        let summaries = [
            summary(0, None),
            summary(1, Some("liveness")),
            summary(4, Some("liveness")),
        ];
        let value = sweep_json("a.scn", "0..5", &summaries, "lnsim run a.scn --seed N");
        let text = serde_json::to_string(&value).expect("serializes");
        let back: Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back["failing"], json!([1, 4]));
        assert_eq!(back["kinds"][0]["count"], 2);
        assert_eq!(back["kinds"][0]["first_seed"], 1);
        assert_eq!(back["payments"]["dispatched"], 9);
        assert_eq!(back["result"], "fail");
    }
}
