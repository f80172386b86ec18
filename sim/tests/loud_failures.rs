//! `lnsim` never goes green by accident: what cannot happen is refused before anything
//! runs, what the script asked for and did not happen fails the run, outputs are only
//! where asked, and what a CI job reads (exit codes, JSON, JUnit) is right. One test
//! per defect a new user met.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn lnsim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("lnsim runs")
}

fn lnsim(args: &[&str]) -> Output {
    lnsim_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh, empty folder of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lnsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir writable");
    dir
}

const TWO_NODES: &str = "nodes 2\nswarm off\nblock_interval 1min\nchannel 0 -> 1 capacity=1000000sat push=300000sat\n";

/// Channels no node opens (1 sat, 99,999,999,999,999 sat) and a fifth channel to one peer
/// at once are script errors with their place, before anything runs.
#[test]
fn channels_that_can_never_open_are_refused_before_the_run() {
    let dir = scratch("channels");
    let cases = [
        (
            "nodes 2\nchannel 0 -> 1 capacity=1sat\nrun 1min\n",
            "c.scn:2:16: a channel of 1 sat cannot",
        ),
        (
            "nodes 2\nchannel 0 -> 1 capacity=99999999999999sat\nrun 1min\n",
            "c.scn:2:16: a channel holds at most 16777215 sat",
        ),
        (
            "nodes 2\nchannel 0 -> 1 capacity=100000sat\nchannel 0 -> 1 capacity=100000sat\n\
             channel 0 -> 1 capacity=100000sat\nchannel 0 -> 1 capacity=100000sat\n\
             channel 0 -> 1 capacity=100000sat\nrun 1min\n",
            "c.scn:6:1: node 1 accepts at most 4 channels from one peer",
        ),
    ];
    for (text, place) in cases {
        std::fs::write(dir.join("c.scn"), text).expect("written");
        let out = lnsim_in(&dir, &["run", "c.scn"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(stderr(&out).contains(place), "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "nothing ran: {}", stdout(&out));
    }
}

/// `restart 0` with no crash is a script error, not a refusal buried in the trace.
#[test]
fn a_restart_of_a_running_node_is_refused_before_the_run() {
    let dir = scratch("restart");
    std::fs::write(dir.join("r.scn"), format!("{TWO_NODES}at 4min restart 0\nrun 5min\n")).expect("written");
    let out = lnsim_in(&dir, &["run", "r.scn"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("r.scn:5:9: node 0 is running"),
        "{}",
        stderr(&out)
    );
}

/// A scripted payment refused at run time fails the run at its line; said to be
/// expected (`refused`), the same refusal passes, and an expected refusal that does not
/// come fails.
#[test]
fn a_refused_scripted_action_fails_the_run_at_its_line() {
    let dir = scratch("refused");
    // 2,000,000 sat is more than node 1 has.
    let pay = "at 4min pay 1 -> 0 2000000sat";
    std::fs::write(dir.join("p.scn"), format!("{TWO_NODES}{pay}\nrun 5min\n")).expect("written");
    let out = lnsim_in(&dir, &["run", "p.scn"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("SCRIPTED ACTION REFUSED"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("line 5: `pay 1 -> 0 2000000000msat` was refused"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("p.scn"), format!("{TWO_NODES}{pay} refused\nrun 5min\n")).expect("written");
    assert_eq!(lnsim_in(&dir, &["run", "p.scn"]).status.code(), Some(0));
    std::fs::write(
        dir.join("p.scn"),
        format!("{TWO_NODES}at 4min pay 0 -> 1 1sat refused\nrun 5min\n"),
    )
    .expect("written");
    let out = lnsim_in(&dir, &["run", "p.scn"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("carried out, but the script expects it refused"),
        "{}",
        stderr(&out)
    );
}

/// A percentage of no payments holds whatever happened: it fails, saying so.
#[test]
fn an_expectation_over_zero_dispatched_payments_fails() {
    let dir = scratch("zero");
    let text = format!("{TWO_NODES}warmup 5min\ntraffic every=2s amount=1sat\nrun 5min\nexpect sent >= 90%\n");
    std::fs::write(dir.join("z.scn"), text).expect("written");
    let out = lnsim_in(&dir, &["run", "z.scn"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("EXPECTATION NOT MET"), "{}", stderr(&out));
    assert!(stderr(&out).contains("has nothing to count"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("INVARIANT BROKEN"));
}

/// A closed pipe (`| head -1`) or a full disk on stdout is not the run's failure: the
/// exit status is the run's own, and nothing panics.
#[test]
fn a_closed_or_full_stdout_does_not_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnsim"))
        .args(["sweep", "scenarios/two_nodes_smoke.scn", "--seeds", "0..3"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // `head -1`: read nothing, close the pipe.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut err)
        .expect("reads");
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("opens");
        let out = Command::new(env!("CARGO_BIN_EXE_lnsim"))
            .args(["run", "scenarios/two_nodes_smoke.scn"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(full)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}

/// A failing run writes nothing it was not asked to (so the exit is 1 in a read-only
/// folder too) and says how to get its trace; `--artifacts DIR` writes trace and
/// payments there.
#[test]
fn a_failing_run_writes_only_where_asked() {
    let dir = scratch("artifacts");
    let script = dir.join("f.scn");
    std::fs::write(
        &script,
        format!("{TWO_NODES}at 4min pay 0 -> 1 1000sat\nrun 5min\nexpect sent == 7\n"),
    )
    .expect("written");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).expect("made");
    let out = lnsim_in(&work, &["run", script.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_dir(&work).expect("listed").count(), 0, "nothing written");
    assert!(
        stderr(&out).contains("replay it with its trace: lnsim run"),
        "{}",
        stderr(&out)
    );
    let kept = dir.join("kept");
    let out = lnsim_in(
        &work,
        &[
            "run",
            script.to_str().expect("utf-8"),
            "--artifacts",
            kept.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let trace = std::fs::read_to_string(kept.join("f-seed0.trace.jsonl")).expect("trace kept");
    assert!(trace.contains("\"what\":\"quiet\""));
    let csv = std::fs::read_to_string(kept.join("f-seed0.payments.csv")).expect("payments kept");
    assert_eq!(csv.lines().count(), 2);
}

/// Every output path is checked before the run: a bad one exits 3 at once, having
/// run nothing.
#[test]
fn a_bad_output_path_fails_before_the_run() {
    for flag in ["--trace", "--payments", "--diagram"] {
        let out = lnsim(&["run", "scenarios/two_nodes_smoke.scn", flag, "/nonexistent/dir/out"]);
        assert_eq!(out.status.code(), Some(3), "{flag}");
        assert!(
            stderr(&out).contains(&format!("{flag} /nonexistent/dir/out")),
            "{}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "nothing ran");
    }
    let out = lnsim(&[
        "sweep",
        "scenarios/two_nodes_smoke.scn",
        "--seeds",
        "0..2",
        "--junit",
        "/nonexistent/x.xml",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).is_empty());
}

/// Payments to or from a crashed node are in the CSV, refused, with the reason.
#[test]
fn the_payments_csv_has_every_dispatched_payment_with_its_reason() {
    let dir = scratch("csv");
    let text = format!(
        "{TWO_NODES}redial 1s\nat 4min crash 1\nat 4min pay 0 -> 1 1000sat maybe_refused\nat 4min restart 1\n\
         at 4.5min pay 0 -> 1 2000sat\nrun 5min\n"
    );
    std::fs::write(dir.join("c.scn"), text).expect("written");
    let out = lnsim_in(&dir, &["run", "c.scn", "--payments", "p.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = std::fs::read_to_string(dir.join("p.csv")).expect("written");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "source,destination,payment_hash,amount_msat,dispatched_ms,latency_ms,outcome,reason,path,hops,fee_msat"
    );
    assert_eq!(rows.len(), 3, "{csv}");
    // Refused: no path, no hop count, no fee.
    assert_eq!(rows[1], "0,1,,1000000,240000,,refused,node 1 is down,,,");
    assert!(rows[2].ends_with(",sent,,0>1,1,0"), "{csv}");
}

/// The diagram wants units in its window and refuses an empty selection: nodes the run
/// lacks (before running) and a window past the end (after).
#[test]
fn the_diagram_refuses_what_would_draw_nothing() {
    let dir = scratch("diagram");
    let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/two_nodes_smoke.scn");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", smoke, "--diagram", "d.html"];
        args.extend_from_slice(extra);
        lnsim_in(&dir, &args)
    };
    let out = run(&["--window", "240..250"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs a unit"), "{}", stderr(&out));
    let out = run(&["--nodes", "7"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("node 7 is not in"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "refused before running");
    let out = run(&["--window", "2h..3h"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("after the run's last happening"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("d.html").exists(), "no empty page left behind");
}

#[test]
fn version_json_and_junit() {
    let out = lnsim(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), format!("lnsim {}", env!("CARGO_PKG_VERSION")));
    let out = lnsim(&["run", "scenarios/two_nodes_smoke.scn", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(value["result"], "pass");
    // No progress line when stderr is not a terminal (a CI log, a pipe).
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(value["payments"]["sent"], 5);
    let dir = scratch("junit");
    let junit = dir.join("out.xml");
    let out = lnsim(&[
        "sweep",
        "scenarios/two_nodes_faults.scn",
        "--seeds",
        "0..4",
        "--jobs",
        "2",
        "--json",
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(value["runs"], 4);
    let file = std::fs::File::open(&junit).expect("written");
    let suites = junit_parser::from_reader(std::io::BufReader::new(file)).expect("valid JUnit");
    assert_eq!((suites.tests, suites.failures, suites.errors), (4, 0, 0));
    let names: Vec<&str> = suites.suites[0]
        .cases
        .iter()
        .map(|c| c.original_name.as_str())
        .collect();
    assert_eq!(names, ["seed 0", "seed 1", "seed 2", "seed 3"]);
}

/// The sweep's replay hint reproduces the run exactly: the planted bug included.
#[cfg(feature = "planted-bugs")]
#[test]
fn the_sweep_hint_keeps_the_planted_bug() {
    let out = lnsim(&[
        "sweep",
        "scenarios/two_nodes_smoke.scn",
        "--seeds",
        "0..2",
        "--planted-bug",
        "commit-before-monitor-update",
    ]);
    let text = stdout(&out);
    if out.status.code() == Some(1) {
        assert!(text.contains("--planted-bug commit-before-monitor-update"), "{text}");
    }
    let junit = scratch("hint").join("h.xml");
    let out = lnsim(&[
        "sweep",
        "scenarios/two_nodes_faults.scn",
        "--seeds",
        "0..3",
        "--planted-bug",
        "revoke-and-ack-before-monitor-update",
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "the bug is caught: {}", stdout(&out));
    assert!(
        stdout(&out).contains("--planted-bug revoke-and-ack-before-monitor-update"),
        "{}",
        stdout(&out)
    );
    let xml = std::fs::read_to_string(junit).expect("written");
    assert!(xml.contains("--seed 0 --planted-bug revoke-and-ack-before-monitor-update"));
}

/// `shrink` writes into this workspace's regression folder wherever it is run from.
#[test]
fn shrink_writes_into_the_workspace_wherever_it_runs() {
    let dir = scratch("shrink");
    std::fs::write(
        dir.join("lnsim-shrink-probe.scn"),
        format!("{TWO_NODES}at 4min pay 0 -> 1 1000sat\nrun 5min\nexpect sent == 7\n"),
    )
    .expect("written");
    let out = lnsim_in(&dir, &["shrink", "lnsim-shrink-probe.scn"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/regressions/lnsim-shrink-probe-seed0.scn");
    let text = std::fs::read_to_string(&written);
    std::fs::remove_file(&written).ok();
    assert!(text.expect("written into the workspace").contains("expect sent == 7"));
    assert_eq!(
        std::fs::read_dir(&dir).expect("listed").count(),
        1,
        "nothing in the working folder"
    );
    assert!(stdout(&out).contains("EXPECTATION NOT MET"), "{}", stdout(&out));
}

/// A payment no route can carry, and random traffic between nodes no channel joins,
/// are counted as refused with their reason, which the summary prints.
#[test]
fn payments_without_a_route_are_reported_with_their_reason() {
    let dir = scratch("no-route");
    let text = "nodes 4\nswarm off\nblock_interval 1min\nchannel 0 -> 1 capacity=100000sat push=50000sat\n\
                channel 1 -> 2 capacity=100000sat push=50000sat\nat 5min pay 0 -> 2 90000sat refused\n\
                at 5min pay 0 -> 2 1000sat\nwarmup 5min\ntraffic every=10s amount=1000sat pairs=any\nrun 10min\n";
    std::fs::write(dir.join("r.scn"), text).expect("written");
    let out = lnsim_in(&dir, &["run", "r.scn", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let reasons = json["reasons"].as_array().expect("reasons");
    let count_of = |needle: &str| {
        reasons
            .iter()
            .filter(|r| r["reason"].as_str().is_some_and(|t| t.contains(needle)))
            .map(|r| r["count"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert!(count_of("refused: no route: no path carries the amount") >= 1, "{json}");
    // Node 3 has no channel: traffic to or from it finds no route.
    assert!(count_of("refused: no route") > count_of("no path carries"), "{json}");
    assert!(json["payments"]["sent"].as_u64() >= Some(1), "{json}");
    let text_out = lnsim_in(&dir, &["run", "r.scn"]);
    assert!(stdout(&text_out).contains("not through: "), "{}", stdout(&text_out));
    let _ = std::fs::remove_dir_all(&dir);
}
