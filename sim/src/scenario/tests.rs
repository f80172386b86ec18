//! The script format: parsing, errors with their place, and the bundled examples.

use super::*;

const SMOKE: &str = "\
# Two nodes, one channel, a few payments.
nodes 2
latency lognormal median=40ms sigma=0.5
jitter 10ms
block_interval 1min
channel 0 -> 1 capacity=1000000sat
at 4min pay 0 -> 1 5000sat   # in sat
at 4min pay 0 -> 1 4000000msat
at 4.5s reconnect 1 -> 0 after=300ms
at 4.8min save_manager 1
at 4.9min crash 1
at 5min restart 1 stale_manager
at 5min partition 1
at 6min heal
at 6min feerate 5000sat/kw
run 15min
";

fn error(text: &str) -> String {
    Scenario::parse("s.scn", text).expect_err("a mistake").to_string()
}

#[test]
fn a_script_parses_into_the_network_it_describes() {
    let scenario = Scenario::parse("smoke.scn", SMOKE).expect("valid");
    assert_eq!(scenario.node_count, 2);
    assert_eq!(
        scenario.latency,
        Latency::LogNormal {
            median_ms: 40.0,
            sigma: 0.5
        }
    );
    assert_eq!((scenario.jitter_ms, scenario.block_interval_ms), (10, 60_000));
    assert_eq!(
        scenario.channels,
        vec![ChannelSpec {
            from: 0,
            to: 1,
            capacity_satoshis: 1_000_000,
            push_msat: 0,
            line: 6,
        }]
    );
    assert_eq!(scenario.duration_ms, 900_000);
    let timed: Vec<(SimTime, Action)> = scenario.actions.iter().map(|a| (a.at, a.action.clone())).collect();
    assert_eq!(
        timed[..2],
        [
            (
                SimTime(240_000),
                Action::Pay {
                    from: 0,
                    to: 1,
                    amount_msat: 5_000_000
                }
            ),
            (
                SimTime(240_000),
                Action::Pay {
                    from: 0,
                    to: 1,
                    amount_msat: 4_000_000
                }
            )
        ]
    );
    assert_eq!(timed[2], (SimTime(4_500), Action::Disconnect { a: 1, b: 0 }));
    assert_eq!(timed[3], (SimTime(4_800), Action::Connect { from: 1, to: 0 }));
    assert_eq!(
        timed[6].1,
        Action::Restart {
            node: 1,
            stale_manager: true
        }
    );
    assert_eq!(timed[9].1, Action::FeeRate { feerate_per_kw: 5_000 });
    // Each action knows its line, to fail the run there if it is refused.
    assert_eq!(scenario.actions[6].origin.line, 12);
    assert_eq!(scenario.actions[6].column, 9);
}

#[test]
fn a_parsed_script_runs() {
    let scenario = Scenario::parse(
        "pay.scn",
        "nodes 2\nblock_interval 1min\nchannel 0 -> 1 capacity=1000000sat\nat 4min pay 0 -> 1 5000sat\nrun 10min\n",
    )
    .expect("valid");
    let mut network = scenario.build(1).expect("valid");
    network
        .run_until(SimTime(scenario.duration_ms))
        .expect("no invariant broken");
    assert_eq!(network.tally().sent, 1);
}

#[test]
fn mistakes_name_their_place() {
    assert_eq!(
        error("nodes 2\nchanel 0 -> 1 capacity=1sat\nrun 1s"),
        "s.scn:2:1: unknown statement `chanel` (expected nodes, seed, latency, jitter, link, block_interval, \
         redial, channel, topology, import, name, node, swarm, fault_mix, payee_hold, at, warmup, fault, \
         traffic, run, settle or expect)"
    );
    assert_eq!(
        error("nodes 2\nchannel 0 -> 2 capacity=1sat\nrun 1s"),
        "s.scn:2:14: node 2 does not exist (nodes are 0 to 1)"
    );
    assert_eq!(
        error("nodes 2\n  at 5 pay 0 -> 1 1sat\nrun 1s"),
        "s.scn:2:6: expected a time with a unit (ms, s, min, h), found `5`"
    );
    assert_eq!(
        error("nodes 2\nat 5s pay 0 -> 1\nrun 1s"),
        "s.scn:2:17: expected an amount (or `most`)"
    );
    assert_eq!(
        error("channel 0 -> 1 capacity=1sat\n"),
        "s.scn:1:9: nodes must be declared (`nodes N`) before they are used"
    );
    assert_eq!(
        error("nodes 2\nlatency uniform min=9ms max=3ms\nrun 1s"),
        "s.scn:2:9: uniform latency with min above max"
    );
    assert_eq!(
        error("nodes 2\nat 1s crash 0 now\nrun 1s"),
        "s.scn:2:15: unexpected `now`"
    );
    assert_eq!(
        error("nodes 2\n"),
        "s.scn:1:1: the script never says how long to run (`run 10min`)"
    );
    assert_eq!(
        error("nodes 2\nat 1s feerate 5\nrun 1s"),
        "s.scn:2:15: expected a feerate with a unit (sat/kw), found `5`"
    );
    assert_eq!(
        error("nodes 2\nat 1s pay 0 -> 1 -5sat\nrun 1s"),
        "s.scn:2:18: expected an amount (a non-negative number), found `-5`"
    );
}

#[test]
fn every_bundled_scenario_parses_and_runs_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("sim/scenarios")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "scn"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        let scenario = Scenario::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        for seed in 0..2 {
            // The whole run: fault window, liveness phase, the script's expectations.
            let outcome = scenario.run(seed).expect("valid");
            if let Some(v) = outcome.violation {
                panic!("{name}: {v}");
            }
            let tally = outcome.network.tally();
            assert_eq!(
                tally.sent + tally.failed + tally.refused + tally.on_chain,
                tally.dispatched,
                "{name} seed {seed}: {tally:?}"
            );
            assert!(tally.sent > 0, "{name} seed {seed}: {tally:?}");
        }
    }
}

#[test]
fn comments_and_blank_lines_are_ignored() {
    let scenario = Scenario::parse("c.scn", "# only a comment\n\n   \nnodes 3 # three\nrun 1s\n").expect("valid");
    assert_eq!((scenario.node_count, scenario.duration_ms), (3, 1_000));
}

#[test]
fn every_written_action_parses_back_to_itself() {
    let actions = [
        Action::Connect { from: 1, to: 0 },
        Action::Pay {
            from: 0,
            to: 2,
            amount_msat: 1_234_567,
        },
        Action::Disconnect { a: 0, b: 1 },
        Action::PauseMonitors { node: 2 },
        Action::ResumeMonitors { node: 2 },
        Action::SaveManager { node: 1 },
        Action::Crash { node: 1 },
        Action::Restart {
            node: 1,
            stale_manager: true,
        },
        Action::Restart {
            node: 0,
            stale_manager: false,
        },
        Action::FeeRate { feerate_per_kw: 9_000 },
        Action::Partition { side: vec![0, 2] },
        Action::Heal,
        Action::BreakOrdering { a: 2, b: 0 },
        Action::RestoreOrdering { a: 2, b: 0 },
        Action::Close { a: 1, b: 2 },
    ];
    let mut text = String::from("nodes 3\nchannel 0 -> 1 capacity=100000sat\nchannel 0 -> 2 capacity=100000sat\nchannel 1 -> 2 capacity=100000sat\n");
    for (i, action) in actions.iter().enumerate() {
        // The order is arbitrary (a restart with no crash): refusals are allowed.
        text.push_str(&at_line(SimTime(i as u64 * 10), action).expect("scripts write it"));
        text.push_str(" maybe_refused\n");
    }
    text.push_str("run 1s\n");
    let scenario = Scenario::parse("w.scn", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let expected: Vec<(SimTime, Action)> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| (SimTime(i as u64 * 10), a.clone()))
        .collect();
    let parsed: Vec<(SimTime, Action)> = scenario.actions.iter().map(|a| (a.at, a.action.clone())).collect();
    assert_eq!(parsed, expected);
    assert!(scenario
        .actions
        .iter()
        .all(|a| a.origin.refusal == crate::network::Refusal::Tolerated));
    assert_eq!(
        action_text(&Action::OpenChannel {
            from: 0,
            to: 1,
            funding_satoshis: 1,
            push_msat: 0,
        }),
        None
    );
}

#[test]
fn faults_traffic_links_and_expectations_parse() {
    let scenario = Scenario::parse(
        "f.scn",
        "nodes 3\nseed 9\nredial 2s\nlink 2 0 constant ms=300ms jitter=5ms\n\
         fault disconnect every=30s\nfault crash every=5min for=10s\n\
         fault feerate every=4min for=1min max=20000sat/kw\ntraffic every=2s amount=1sat..5sat\n\
         run 20min\nsettle 5min\nexpect sent >= 90%\nexpect refused <= 3\n",
    )
    .expect("valid");
    assert_eq!(
        (scenario.seed, scenario.redial_ms, scenario.settle_ms),
        (Some(9), Some(2_000), 300_000)
    );
    assert_eq!(
        scenario.link_overrides.get(&(0, 2)),
        Some(&(Latency::Constant { ms: 300 }, 5))
    );
    assert_eq!(scenario.generators.len(), 4);
    assert_eq!(
        scenario.generators[1],
        Generator {
            kind: crate::faults::GeneratorKind::Fault(crate::faults::FaultKind::Crash { down_ms: 10_000 }),
            mean_interval_ms: 300_000
        }
    );
    assert_eq!(
        scenario.generators[3].kind,
        crate::faults::GeneratorKind::Traffic(crate::faults::Traffic {
            min_amount_msat: 1_000,
            max_amount_msat: 5_000,
            reject_percent: 0,
            most_percent: 0,
            lognormal_sigma_milli: None,
            any_pair: false,
        })
    );
    let tally = PaymentTally {
        dispatched: 10,
        sent: 9,
        failed: 0,
        refused: 1,
        refused_channel_failed: 0,
        on_chain: 0,
        impossible: 0,
    };
    assert_eq!(scenario.expectations[0].unmet(&tally), None);
    let worse = PaymentTally { sent: 8, ..tally };
    assert_eq!(
        scenario.expectations[0].unmet(&worse).as_deref(),
        Some("expectation on line 11 not met: sent >= 90%, but 8 of 10 dispatched that could go through were sent")
    );
    // Payments that could never go through are out of the base: 8 of 8.
    let excused = PaymentTally { impossible: 2, ..worse };
    assert!(scenario.expectations[0].unmet(&excused).is_none());
}

#[test]
fn mistakes_in_the_new_statements_name_their_place() {
    assert_eq!(
        error("nodes 2\nfault crash every=1min\nrun 1s"),
        "s.scn:2:23: expected `for=...`"
    );
    assert_eq!(
        error("nodes 2\nfault flood every=1min\nrun 1s"),
        "s.scn:2:7: unknown fault `flood` (expected disconnect, crash, pause_monitors, feerate, partition, reorder, lie or lose_writes)"
    );
    assert_eq!(
        error("nodes 2\nfault disconnect every=1min for=1s\nrun 1s"),
        "s.scn:2:29: unknown option `for` (expected every)"
    );
    assert_eq!(
        error("nodes 2\ntraffic every=1s amount=9sat..2sat\nrun 1s"),
        "s.scn:2:18: the smallest amount is above the largest"
    );
    assert_eq!(
        error("nodes 2\nexpect sent > 3\nrun 1s"),
        "s.scn:2:13: unknown comparison `>` (expected >=, <= or ==)"
    );
    assert_eq!(
        error("nodes 2\nlink 0 0 constant ms=1ms\nrun 1s"),
        "s.scn:2:8: a link joins two different nodes"
    );
    assert_eq!(
        error("nodes 2\nat 2s crash 0\nrun 1s"),
        "s.scn:2:4: this happens after the run ends (1000 ms)"
    );
}

#[test]
fn node_policies_swarm_and_payee_holds_parse() {
    let scenario = Scenario::parse(
        "s.scn",
        "nodes 2\nswarm off\nfault_mix all\npayee_hold 1s..2s\nnode 1 config max_accepted_htlcs=2 reserve=2.5% \
         dust_limit=600sat feerate=1000sat/kw\nrun 1s",
    )
    .expect("valid");
    assert!(!scenario.swarm && scenario.all_faults);
    assert_eq!(scenario.payee_hold_ms, Some((1_000, 2_000)));
    let fields = &scenario.node_policies[&1];
    assert!(fields.contains(&crate::swarm::PolicyField::MaxAcceptedHtlcs(2)));
    assert!(fields.contains(&crate::swarm::PolicyField::ReservePermille(25)));
    assert!(fields.contains(&crate::swarm::PolicyField::DustLimitSatoshis(600)));
    assert!(fields.contains(&crate::swarm::PolicyField::FeeratePerKw(1_000)));
    let defaults = Scenario::parse("s.scn", "nodes 2\nrun 1s").expect("valid");
    assert!(defaults.swarm && !defaults.all_faults, "drawn unless the script says");
}

#[test]
fn mistakes_in_policies_and_lies_name_their_place() {
    assert_eq!(
        error("nodes 2\nnode 1 config max_accepted_htlcs=484\nrun 1s"),
        "s.scn:2:15: max_accepted_htlcs is a whole number up to 483"
    );
    assert_eq!(
        error("nodes 2\nnode 1 config dust_limit=100sat\nrun 1s"),
        "s.scn:2:15: a dust limit is a whole number of sat, 354 or more"
    );
    assert_eq!(
        error("nodes 2\nnode 2 config feerate=300sat/kw\nrun 1s"),
        "s.scn:2:6: node 2 does not exist (nodes are 0 to 1)"
    );
    assert_eq!(
        error("nodes 2\nnode 1 settings x=1\nrun 1s"),
        "s.scn:2:8: expected `config`, found `settings`"
    );
    assert_eq!(
        error("nodes 2\nswarm maybe\nrun 1s"),
        "s.scn:2:7: expected `on` or `off`, found `maybe`"
    );
    assert_eq!(
        error("nodes 2\nat 0s lie 0 everything\nrun 1s"),
        "s.scn:2:13: unknown lie `everything` (expected commitment_signature, htlc_signature, htlc_id, \
         htlc_amount, htlc_cltv, revocation_secret, preimage, feerate)"
    );
    assert_eq!(
        error("nodes 2\ntraffic every=1s amount=1sat reject=101%\nrun 1s"),
        "s.scn:2:30: reject is a whole 0% to 100%"
    );
}

/// The reference, `docs/scenarios.md`.
const REFERENCE: &str = include_str!("../../../docs/scenarios.md");

/// Every keyword the parser knows (each word it matches, with the lie fields and policy
/// keys it takes from elsewhere) is in the reference, in backticks.
#[test]
fn the_reference_mentions_every_keyword_the_parser_knows() {
    let source = include_str!("parse.rs");
    let mut keywords = std::collections::BTreeSet::new();
    for line in source.lines() {
        // Code only: comments may quote anything.
        let code = line.split("//").next().unwrap_or_default();
        for (i, piece) in code.split('"').enumerate() {
            let literal = i % 2 == 1;
            if literal
                && !piece.is_empty()
                && piece.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && piece.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '/')
            {
                keywords.insert(piece.to_string());
            }
        }
    }
    assert!(keywords.len() > 60, "the scan found the parser's words: {keywords:?}");
    keywords.extend(crate::lies::Lie::ALL.iter().map(|l| l.name().to_string()));
    keywords.extend(crate::swarm::POLICY_KEYS.iter().map(|k| k.to_string()));
    keywords.extend(["%", ">=", "<=", "==", "->"].map(String::from));
    // Words of the reference's inline code (`at T ACTION`, `fault KIND every=T`), not
    // of its examples: a keyword only used in an example is not explained.
    let prose: String = REFERENCE
        .split("```")
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, text)| text)
        .collect();
    let documented: std::collections::BTreeSet<&str> = prose
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| {
            // Whole words (`>=`) and their parts (`every=T`).
            span.split_whitespace()
                .chain(span.split(|c: char| c.is_whitespace() || "=[]|(),.".contains(c)))
        })
        .collect();
    let missing: Vec<&String> = keywords.iter().filter(|k| !documented.contains(k.as_str())).collect();
    assert!(missing.is_empty(), "docs/scenarios.md does not mention: {missing:?}");
}

/// Every example in the reference parses.
#[test]
fn every_example_in_the_reference_parses() {
    let mut examples = 0;
    for (i, block) in REFERENCE.split("```scn\n").enumerate().skip(1) {
        let script = block.split("```").next().expect("closed");
        Scenario::parse(&format!("docs/scenarios.md example {i}"), script).unwrap_or_else(|e| panic!("{e}\n{script}"));
        examples += 1;
    }
    assert!(examples >= 20, "{examples} examples");
}

/// Names stand for node numbers anywhere in the script, before or after `name`.
#[test]
fn named_nodes_stand_for_their_numbers() {
    let text = "nodes 3\nchannel alice -> bob capacity=100000sat\nchannel bob -> carol capacity=100000sat\n\
                name 0 alice\nname 1 bob\nname 2 carol\nat 5min pay alice -> carol 1000sat\n\
                node carol config fee_ppm=5\nrun 10min\n";
    let scenario = Scenario::parse("n.scn", text).expect("parses");
    assert_eq!((scenario.channels[0].from, scenario.channels[0].to), (0, 1));
    assert_eq!((scenario.channels[1].from, scenario.channels[1].to), (1, 2));
    assert!(matches!(scenario.actions[0].action, Action::Pay { from: 0, to: 2, .. }));
    assert!(scenario.node_policies.contains_key(&2));
    for (bad, expected) in [
        (
            "nodes 2\nname 0 alice\nname 1 alice\nrun 1min\n",
            "n.scn:3:8: `alice` names another node already",
        ),
        (
            "nodes 2\nname 0 alice\nname 0 bob\nrun 1min\n",
            "n.scn:3:8: node 0 is named `alice` already",
        ),
        ("nodes 2\nname 0 9lives\nrun 1min\n", "n.scn:2:8: a name is a letter"),
        (
            "nodes 2\nchannel 0 -> dave capacity=100000sat\nrun 1min\n",
            "n.scn:2:14: `dave` names no node",
        ),
        ("nodes 2\nname 2 alice\nrun 1min\n", "n.scn:2:6: node 2 does not exist"),
    ] {
        let error = Scenario::parse("n.scn", bad).expect_err(expected).to_string();
        assert!(error.starts_with(expected), "{error} should start with {expected}");
    }
}
