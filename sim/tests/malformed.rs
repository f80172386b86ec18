//! Malformed scripts and argument lists: each exits 2 with a message naming the place
//! (`file:line:column` for a script, the argument for the command line), none panics,
//! none hangs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `lnsim` with `args` in `dir`, killing it after `limit`: (status code, stderr).
fn run_bounded(dir: &Path, args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnsim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lnsim starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut err).expect("reads");
            return (status.code(), err);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("lnsim {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

const HEAD: &str = "nodes 3\nchannel 0 -> 1 capacity=100000sat\n";

/// (script, the place and words its error must name). Line 1 and 2 are `HEAD` unless
/// the script starts with `!`, which replaces it.
const SCRIPTS: &[(&str, &str)] = &[
    ("!nodes 2\nchannel 0 -> 1 capacity=1sat\nrun 1min", "m.scn:2:16: a channel of 1 sat"),
    ("!nodes 2\nchannel 0 -> 1 capacity=99999999999999sat\nrun 1min", "m.scn:2:16: a channel holds at most"),
    ("channel 0 -> 1 capacity=100000sat\nchannel 0 -> 1 capacity=100000sat\nchannel 0 -> 1 capacity=100000sat\nchannel 0 -> 1 capacity=100000sat\nrun 1min", "m.scn:6:1: node 1 accepts at most 4"),
    ("at 1min restart 0\nrun 2min", "m.scn:3:9: node 0 is running"),
    ("at 1min crash 0\nat 2min restart 0 stale_manager\nrun 3min", "m.scn:4:9: node 0 never saved its manager"),
    ("at 1min pay 0 -> 2 1sat\nrun 2min", "m.scn:3:9: no path of open channels joins nodes 0 and 2"),
    ("at 1min pay 0 -> 2 1sat maybe_refused\nrun 2min", "m.scn:3:9: no path of channels ever joins nodes 0 and 2"),
    ("at 1min pay 0 -> 2 most\nrun 2min", "m.scn:3:9: no channel between nodes 0 and 2"),
    ("at 1min heal\nrun 2min", "m.scn:3:9: nothing is partitioned"),
    ("at 1min partition 1\nat 2min partition 2\nrun 3min", "m.scn:4:9: the partition of line 3"),
    ("at 1min resume_monitors 1\nrun 2min", "m.scn:3:9: node 1's monitors are not paused"),
    ("at 1min restore_ordering 0 1\nrun 2min", "m.scn:3:9: the link between nodes 0 and 1 keeps order"),
    ("at 1min crash 1\nat 2min crash 1\nrun 3min", "m.scn:4:9: node 1 is down"),
    ("at 1min crash 1\nat 2min pay 0 -> 1 1sat\nrun 3min", "m.scn:4:9: node 1 is down (crashed on line 3"),
    ("at 1min close 1 2\nrun 2min", "m.scn:3:9: no channel between nodes 1 and 2"),
    ("at 1min close 0 1\nat 2min pay 0 -> 1 1sat\nrun 3min", "m.scn:4:9: the channel between nodes 0 and 1 was closed on line 3"),
    ("at 1min disconnect 1 2\nrun 2min", "m.scn:3:9: nodes 1 and 2 are never connected"),
    ("chanel 0 -> 1 capacity=1sat\nrun 1min", "m.scn:3:1: unknown statement `chanel`"),
    ("at 1min explode 0\nrun 2min", "m.scn:3:9: unknown action `explode`"),
    ("fault meteor every=1min\nrun 2min", "m.scn:3:7: unknown fault `meteor`"),
    ("fault crash for=1s\nrun 2min", "m.scn:3:19: expected `every=...`"),
    ("fault disconnect every=0s\nrun 2min", "m.scn:3:18: a fault needs a positive mean interval"),
    ("traffic every=1s amount=1sat reject=101%\nrun 2min", "m.scn:3:30: reject is a whole 0% to 100%"),
    ("traffic every=1s amount=1sat reject=60% most=50%\nrun 2min", "m.scn:3:49: reject and most add up to more than 100%"),
    ("run 1min\nexpect sent >= 101%", "m.scn:4:16: a percentage is 0 to 100"),
    ("run 1min\nexpect delivered >= 1", "m.scn:4:8: unknown measure `delivered`"),
    ("run 1min\nexpect sent => 1", "m.scn:4:13: unknown comparison `=>`"),
    ("at 5 pay 0 -> 1 1sat\nrun 1min", "m.scn:3:4: expected a time with a unit"),
    ("at 5s pay 0 -> 9 1sat\nrun 1min", "m.scn:3:16: node 9 does not exist"),
    ("!nodes 1\nrun 1min", "m.scn:1:7: nodes must be 2 to 1000"),
    ("nodes 4\nrun 1min", "m.scn:3:1: nodes declared twice"),
    ("at 1s pay 0 -> 1 1sat", "m.scn:3:1: the script never says how long to run"),
    ("!run 1min", "m.scn:1:1: the script never says how many nodes"),
    ("at 2min pay 0 -> 1 1sat\nrun 1min", "m.scn:3:4: this happens after the run ends"),
    ("latency uniform min=9ms max=3ms\nrun 1min", "m.scn:3:9: uniform latency with min above max"),
    ("latency lognormal median=40ms sigma=-1\nrun 1min", "m.scn:3:31: expected sigma (a non-negative number)"),
    ("link 1 1 constant ms=5ms\nrun 1min", "m.scn:3:8: a link joins two different nodes"),
    ("node 1 config colour=red\nrun 1min", "m.scn:3:15: unknown option `colour`"),
    ("node 1 config reserve=200%\nrun 1min", "m.scn:3:15: a reserve is 0% to 100%"),
    ("node 1 config dust_limit=100sat\nrun 1min", "m.scn:3:15: a dust limit is a whole number of sat, 354 or more"),
    ("payee_hold 2s..1s\nrun 1min", "m.scn:3:12: the shortest hold is above the longest"),
    ("swarm maybe\nrun 1min", "m.scn:3:7: expected `on` or `off`, found `maybe`"),
    ("!nodes 2\nchannel 0 -> 1 capacity=1000sat push=2000sat\nrun 1min", "m.scn:2:33: the push is more than the capacity"),
    ("at 1s feerate 100sat/kw\nrun 1min", "m.scn:3:15: a feerate is a whole 253 to 10000000 sat/kw"),
    ("at 1s crash 0 now\nrun 1min", "m.scn:3:15: unexpected `now`"),
    ("at 1s lie 0 everything\nrun 1min", "m.scn:3:13: unknown lie `everything`"),
    ("at 1s pay 0 -> 0 1sat\nrun 1min", "m.scn:3:13: a node cannot connect to itself"),
    ("block_interval 0s\nrun 1min", "m.scn:3:16: the block interval must be positive"),
    ("fault_mix some\nrun 1min", "m.scn:3:11: expected `drawn` or `all`, found `some`"),
    ("topology hexagon capacity=100000sat\nrun 1min", "m.scn:3:10: unknown topology `hexagon`"),
    ("topology ring\nrun 1min", "m.scn:3:14: expected `capacity=...`"),
    ("topology ring capacity=100000sat degree=3\nrun 1min", "m.scn:3:34: `degree` is for scale_free only"),
    ("topology scale_free capacity=100000sat degree=0\nrun 1min", "m.scn:3:40: degree is 1 to 8"),
    ("topology line capacity=100000sat push=200000sat\nrun 1min", "m.scn:3:34: the push is more than the capacity"),
    ("traffic every=1s amount=1sat..2sat sigma=1\nrun 1min", "m.scn:3:18: log-normal amounts take one amount"),
    ("traffic every=1s amount=1sat sigma=11\nrun 1min", "m.scn:3:30: sigma is between 0 and 10"),
    ("traffic every=1s amount=1sat pairs=all\nrun 1min", "m.scn:3:30: `pairs=all`: expected `peers` or `any`"),
    ("node 1 config cltv_delta=5\nrun 1min", "m.scn:3:15: cltv_delta is 12 to 2016 blocks"),
    ("import lnd net.json\nrun 1min", "m.scn:3:8: cannot import `lnd`: expected simln"),
    ("import simln missing.json\nrun 1min", "m.scn:3:14: cannot read"),
];

/// SimLN files with a mistake each: run directly, every one exits 2 naming its JSON path.
#[test]
fn malformed_simln_files_exit_two_naming_the_json_path() {
    let dir = std::env::temp_dir().join(format!("lnsim-simln-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir writable");
    let example = include_str!("../scenarios/simln_example.json");
    let cases = [
        ("{\"sim_network\": [", "net.json: line 1 column 17: not JSON"),
        ("{\"activity\": []}", "net.json: $: missing field `sim_network`"),
        (
            &example.replacen("\"capacity_msat\": 4000000000", "\"capacity_msat\": \"big\"", 1),
            "net.json: $.sim_network[0].capacity_msat: expected a whole number",
        ),
        (
            &example.replacen("\"cltv_expiry_delta\": 40", "\"cltv_expiry_delta\": 5000", 1),
            "net.json: $.sim_network[0].node_1.cltv_expiry_delta: at most 2016",
        ),
        (
            &example.replacen("\"pubkey\": \"0279be", "\"pubkey\": \"0479be", 1),
            "net.json: $.sim_network[0].node_1.pubkey: `0479be",
        ),
        (
            &example.replacen("\"destination\": \"erin\"", "\"destination\": \"zed\"", 1),
            "net.json: $.activity[0].destination: `zed` is no node of the sim_network",
        ),
    ];
    for (text, place) in cases {
        std::fs::write(dir.join("net.json"), text).expect("written");
        let (code, err) = run_bounded(&dir, &["run", "net.json"], Duration::from_secs(30));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(place), "expected `{place}`, got: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_scripts_exit_two_naming_the_place() {
    let dir = std::env::temp_dir().join(format!("lnsim-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir writable");
    assert!(SCRIPTS.len() >= 40);
    for (script, place) in SCRIPTS {
        let text = match script.strip_prefix('!') {
            Some(whole) => format!("{whole}\n"),
            None => format!("{HEAD}{script}\n"),
        };
        std::fs::write(dir.join("m.scn"), &text).expect("written");
        let (code, err) = run_bounded(&dir, &["run", "m.scn"], Duration::from_secs(30));
        assert_eq!(code, Some(2), "{text}\n{err}");
        assert!(err.contains(place), "expected `{place}` for:\n{text}\ngot: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Files that cannot be read name themselves.
    std::fs::write(dir.join("bad.scn"), [0xff, 0xfe, b'\n']).expect("written");
    for (file, words) in [
        ("bad.scn", "bad.scn: stream did not contain valid UTF-8"),
        ("missing.scn", "missing.scn: No such file"),
    ] {
        let (code, err) = run_bounded(&dir, &["run", file], Duration::from_secs(30));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(words), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_arguments_exit_two_naming_the_argument() {
    let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/two_nodes_smoke.scn");
    let cases: &[(&[&str], &str)] = &[
        (&["run"], "<FILE>"),
        (&["sweep", smoke, "--seeds", "5..5"], "--seeds"),
        (&["sweep", smoke, "--seeds", "a..b"], "--seeds"),
        (&["sweep", smoke], "--seeds"),
        (&["sweep", smoke, "--seeds", "0..2", "--shard", "0/3"], "--shard"),
        (&["sweep", smoke, "--seeds", "0..2", "--jobs", "0"], "--jobs"),
        (
            &["run", smoke, "--diagram", "d.html", "--window", "240..250"],
            "--window",
        ),
        (&["run", smoke, "--diagram", "d.html", "--window", "5s..1s"], "--window"),
        (
            &["run", smoke, "--diagram", "d.html", "--nodes", "7"],
            "--nodes: node 7",
        ),
        (&["run", smoke, "--diagram", "d.html", "--nodes", "x"], "--nodes"),
        (&["run", smoke, "--window", "1s..2s"], "--diagram"),
        (&["run", smoke, "--seed", "-1"], "'-1'"),
        (&["fly", smoke], "'fly'"),
        (&["run", smoke, "--planted-bug", "no-such-bug"], "--planted-bug"),
        (&["shrink", smoke, "--seed", "x"], "--seed"),
    ];
    let dir = std::env::temp_dir();
    for (args, words) in cases {
        let (code, err) = run_bounded(&dir, args, Duration::from_secs(30));
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: expected `{words}` in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!dir.join("d.html").exists());
}
