//! The `lnsim` command as a CI job sees it: exit codes, outputs, error places.

use std::process::Command;

fn lnsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lnsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("lnsim runs")
}

#[test]
fn run_writes_the_trace_and_exits_zero_when_invariants_hold() {
    let trace = std::env::temp_dir().join(format!("lnsim-trace-{}.jsonl", std::process::id()));
    let out = lnsim(&[
        "run",
        "scenarios/two_nodes_smoke.scn",
        "--seed",
        "4",
        "--trace",
        trace.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("5 dispatched, 5 sent"), "{stdout}");
    let written = std::fs::read_to_string(&trace).expect("trace written");
    std::fs::remove_file(&trace).ok();
    assert!(written.lines().count() > 50);
    assert!(written.lines().all(|l| l.starts_with("{\"t_ms\":") && l.ends_with('}')));
    // Same seed, same trace.
    let again = lnsim(&[
        "run",
        "scenarios/two_nodes_smoke.scn",
        "--seed",
        "4",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&trace).expect("written"), written);
    std::fs::remove_file(&trace).ok();
}

#[test]
fn run_writes_the_payments_csv() {
    let csv = std::env::temp_dir().join(format!("lnsim-payments-{}.csv", std::process::id()));
    let out = lnsim(&[
        "run",
        "scenarios/two_nodes_smoke.scn",
        "--payments",
        csv.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&csv).expect("csv written");
    std::fs::remove_file(&csv).ok();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("source,destination,payment_hash,amount_msat,dispatched_ms,latency_ms,outcome,reason,path,hops,fee_msat")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5);
    assert!(
        rows[0].starts_with("0,1,") && rows[0].contains(",50000000,240000,"),
        "{text}"
    );
    // Sent directly: one hop, no fee.
    assert!(
        rows.iter()
            .all(|r| r.ends_with(",sent,,0>1,1,0") || r.ends_with(",sent,,1>0,1,0")),
        "{text}"
    );
}

#[test]
fn a_broken_script_exits_two_naming_the_place() {
    let script = std::env::temp_dir().join(format!("lnsim-bad-{}.scn", std::process::id()));
    std::fs::write(&script, "nodes 2\nrun 1min\nat 5s pay 0 -> 3 1sat\n").expect("written");
    let out = lnsim(&["run", script.to_str().expect("utf-8 path")]);
    std::fs::remove_file(&script).ok();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":3:16: node 3 does not exist"), "{stderr}");
}

#[test]
fn sweep_reports_the_seeds_and_exits_zero_when_all_hold() {
    let out = lnsim(&["sweep", "scenarios/two_nodes_smoke.scn", "--seeds", "0..5"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 seeds, 0 failing"));
    let sharded = lnsim(&[
        "sweep",
        "scenarios/two_nodes_smoke.scn",
        "--seeds",
        "0..7",
        "--jobs",
        "2",
        "--shard",
        "2/3",
    ]);
    assert_eq!(sharded.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&sharded.stdout);
    // Seeds 1 and 4: the second of every three.
    assert!(
        stdout.contains("2 seeds, 0 failing") && stdout.contains("10 dispatched"),
        "{stdout}"
    );
    let bad_shard = lnsim(&[
        "sweep",
        "scenarios/two_nodes_smoke.scn",
        "--seeds",
        "0..2",
        "--shard",
        "3/2",
    ]);
    assert_eq!(bad_shard.status.code(), Some(2));
    let bad = lnsim(&["sweep", "scenarios/two_nodes_smoke.scn", "--seeds", "5..5"]);
    assert_eq!(bad.status.code(), Some(2), "an empty range is a usage error");
}

#[test]
fn run_draws_a_sequence_diagram_of_a_window() {
    let diagram = std::env::temp_dir().join(format!("lnsim-diagram-{}.html", std::process::id()));
    let out = lnsim(&[
        "run",
        "scenarios/two_nodes_smoke.scn",
        "--diagram",
        diagram.to_str().expect("utf-8 path"),
        "--window",
        "239s..262s",
        "--nodes",
        "0,1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&diagram).expect("diagram written");
    std::fs::remove_file(&diagram).ok();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg"));
    assert!(html.contains("UpdateAddHtlc"), "the payments at 240s are drawn");
    assert!(html.contains("crash"), "the crash at 260s is drawn");
    let bad = lnsim(&[
        "run",
        "scenarios/two_nodes_smoke.scn",
        "--diagram",
        "x.html",
        "--window",
        "9s..1s",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn shrink_refuses_a_run_that_does_not_fail() {
    let out = lnsim(&[
        "shrink",
        "scenarios/two_nodes_smoke.scn",
        "-o",
        std::env::temp_dir().join("never-written.scn").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not fail"));
}

#[test]
fn an_unmet_expectation_exits_one_and_names_it() {
    let dir = std::env::temp_dir();
    let script = dir.join(format!("lnsim-expect-{}.scn", std::process::id()));
    let trace = dir.join(format!("lnsim-expect-{}.jsonl", std::process::id()));
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/two_nodes_smoke.scn"))
        .expect("the smoke scenario");
    std::fs::write(&script, format!("{text}\nexpect dispatched == 99\n")).expect("temp dir writable");
    let out = lnsim(&[
        "run",
        script.to_str().expect("utf-8"),
        "--trace",
        trace.to_str().expect("utf-8"),
    ]);
    std::fs::remove_file(&script).ok();
    let written = std::fs::read_to_string(&trace);
    std::fs::remove_file(&trace).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not met: dispatched == 99, but 5 of 5"), "{stderr}");
    assert!(written
        .expect("the trace of a failing run")
        .contains("\"what\":\"quiet\""));
}
