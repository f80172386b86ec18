//! Scenario scripts: a plain-text description of a run that a person writes and reads.
//!
//! One statement per line; `#` starts a comment. Times take a unit (`ms`, `s`, `min`).
//!
//! ```text
//! nodes 2
//! latency lognormal median=40ms sigma=0.5
//! jitter 10ms
//! block_interval 1min
//! channel 0 -> 1 capacity=1000000sat
//! at 4min pay 0 -> 1 5000000msat
//! at 4min disconnect 0 1
//! at 4min reconnect 1 -> 0 after=300ms
//! run 15min
//! ```
//!
//! Every mistake is reported as `file:line:column: message`, and nothing runs.

use std::fmt;

use crate::clock::SimTime;
use crate::latency::{InvalidLatency, Latency};
use crate::network::{Action, Network, NetworkConfig};

/// A mistake in a script, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The script's name as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column of the offending word.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A channel the scenario opens at the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The funder.
    pub from: usize,
    /// The peer.
    pub to: usize,
    /// Its capacity.
    pub capacity_satoshis: u64,
}

/// A parsed script.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// How many nodes.
    pub node_count: usize,
    /// Every link's delay.
    pub latency: Latency,
    /// Extra delay, uniform up to this.
    pub jitter_ms: u64,
    /// Time between blocks.
    pub block_interval_ms: u64,
    /// Channels opened at the start (connections made at time zero, opens one second
    /// later).
    pub channels: Vec<ChannelSpec>,
    /// Timed actions, in script order.
    pub actions: Vec<(SimTime, Action)>,
    /// How long the run lasts.
    pub duration_ms: u64,
}

/// One whitespace-separated word and its 1-based column.
#[derive(Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    column: usize,
}

struct Line<'a> {
    file: &'a str,
    number: usize,
    words: Vec<Word<'a>>,
    /// Column just past the last word, for "missing" errors.
    end_column: usize,
}

impl<'a> Line<'a> {
    fn error_at(&self, column: usize, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: self.number,
            column,
            message: message.into(),
        }
    }

    fn word(&self, index: usize, what: &str) -> Result<Word<'a>, ScenarioError> {
        self.words
            .get(index)
            .copied()
            .ok_or_else(|| self.error_at(self.end_column, format!("expected {what}")))
    }

    fn no_more_after(&self, index: usize) -> Result<(), ScenarioError> {
        match self.words.get(index) {
            Some(extra) => Err(self.error_at(extra.column, format!("unexpected `{}`", extra.text))),
            None => Ok(()),
        }
    }
}

fn split_words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push(Word {
                    text: &text[s..i],
                    column: text[..s].chars().count() + 1,
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: &text[s..],
            column: text[..s].chars().count() + 1,
        });
    }
    words
}

fn parse_number(line: &Line<'_>, word: Word<'_>, what: &str) -> Result<u64, ScenarioError> {
    word.text.parse::<u64>().map_err(|_| {
        line.error_at(
            word.column,
            format!("expected {what} (a whole number), found `{}`", word.text),
        )
    })
}

fn parse_float(line: &Line<'_>, word: Word<'_>, text: &str, what: &str) -> Result<f64, ScenarioError> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(line.error_at(
            word.column,
            format!("expected {what} (a non-negative number), found `{text}`"),
        )),
    }
}

/// `text` with one of `units` (each with its factor), scaled: `1.5s` is 1500 with
/// `ms`/`s` units.
fn parse_with_unit(
    line: &Line<'_>,
    word: Word<'_>,
    text: &str,
    units: &[(&str, f64)],
    what: &str,
) -> Result<f64, ScenarioError> {
    // Longest unit first, so `ms` is not read as `s`.
    let mut sorted: Vec<&(&str, f64)> = units.iter().collect();
    sorted.sort_by_key(|(unit, _)| core::cmp::Reverse(unit.len()));
    for (unit, factor) in sorted {
        if let Some(number) = text.strip_suffix(unit) {
            return Ok(parse_float(line, word, number, what)? * factor);
        }
    }
    let names: Vec<&str> = units.iter().map(|(u, _)| *u).collect();
    Err(line.error_at(
        word.column,
        format!("expected {what} with a unit ({}), found `{text}`", names.join(", ")),
    ))
}

const TIME_UNITS: &[(&str, f64)] = &[("ms", 1.0), ("s", 1000.0), ("min", 60_000.0), ("h", 3_600_000.0)];

fn parse_ms(line: &Line<'_>, word: Word<'_>, text: &str, what: &str) -> Result<u64, ScenarioError> {
    let ms = parse_with_unit(line, word, text, TIME_UNITS, what)?;
    if ms > 1e15 {
        return Err(line.error_at(word.column, format!("{what} is too long")));
    }
    Ok(ms.round() as u64)
}

fn parse_node(line: &Line<'_>, word: Word<'_>, node_count: Option<usize>) -> Result<usize, ScenarioError> {
    let node = parse_number(line, word, "a node number")?;
    match node_count {
        None => Err(line.error_at(word.column, "nodes must be declared (`nodes N`) before they are used")),
        Some(count) if node >= count as u64 => Err(line.error_at(
            word.column,
            format!("node {node} does not exist (nodes are 0 to {})", count - 1),
        )),
        Some(_) => Ok(node as usize),
    }
}

/// `key=value` at `index`, with `key` as given.
fn key_value<'a>(line: &Line<'a>, index: usize, key: &str) -> Result<(Word<'a>, &'a str), ScenarioError> {
    let word = line.word(index, &format!("`{key}=...`"))?;
    match word.text.split_once('=') {
        Some((k, v)) if k == key => Ok((word, v)),
        _ => Err(line.error_at(word.column, format!("expected `{key}=...`, found `{}`", word.text))),
    }
}

/// `A -> B` starting at `index`.
fn parse_arrow(line: &Line<'_>, index: usize, node_count: Option<usize>) -> Result<(usize, usize), ScenarioError> {
    let from = parse_node(line, line.word(index, "a node number")?, node_count)?;
    let arrow = line.word(index + 1, "`->`")?;
    if arrow.text != "->" {
        return Err(line.error_at(arrow.column, format!("expected `->`, found `{}`", arrow.text)));
    }
    let to = parse_node(line, line.word(index + 2, "a node number")?, node_count)?;
    if from == to {
        return Err(line.error_at(arrow.column, "a node cannot connect to itself"));
    }
    Ok((from, to))
}

impl Scenario {
    /// Parses `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let mut node_count = None;
        let mut latency = Latency::Constant { ms: 50 };
        let mut jitter_ms = 0;
        let mut block_interval_ms = 600_000;
        let mut channels = Vec::new();
        let mut actions = Vec::new();
        let mut duration_ms = None;
        for (index, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or_default();
            let words = split_words(content);
            let Some(first) = words.first().copied() else { continue };
            let line = Line {
                file,
                number: index + 1,
                end_column: content.trim_end().chars().count() + 1,
                words,
            };
            match first.text {
                "nodes" => {
                    let word = line.word(1, "how many nodes")?;
                    let count = parse_number(&line, word, "how many nodes")?;
                    if !(2..=1000).contains(&count) {
                        return Err(line.error_at(word.column, "nodes must be 2 to 1000"));
                    }
                    if node_count.is_some() {
                        return Err(line.error_at(first.column, "nodes declared twice"));
                    }
                    node_count = Some(count as usize);
                    line.no_more_after(2)?;
                }
                "latency" => {
                    latency = parse_latency(&line)?;
                }
                "jitter" => {
                    let word = line.word(1, "a jitter")?;
                    jitter_ms = parse_ms(&line, word, word.text, "a jitter")?;
                    line.no_more_after(2)?;
                }
                "block_interval" => {
                    let word = line.word(1, "a block interval")?;
                    block_interval_ms = parse_ms(&line, word, word.text, "a block interval")?;
                    if block_interval_ms == 0 {
                        return Err(line.error_at(word.column, "the block interval must be positive"));
                    }
                    line.no_more_after(2)?;
                }
                "channel" => {
                    let (from, to) = parse_arrow(&line, 1, node_count)?;
                    let (word, value) = key_value(&line, 4, "capacity")?;
                    let capacity = parse_with_unit(&line, word, value, &[("sat", 1.0)], "a capacity")?;
                    if capacity < 1.0 || capacity.fract() != 0.0 || capacity > 21e14 {
                        return Err(line.error_at(word.column, "a capacity is a whole, positive number of sat"));
                    }
                    line.no_more_after(5)?;
                    channels.push(ChannelSpec {
                        from,
                        to,
                        capacity_satoshis: capacity as u64,
                    });
                }
                "at" => {
                    let word = line.word(1, "a time")?;
                    let at = SimTime(parse_ms(&line, word, word.text, "a time")?);
                    for action in parse_action(&line, node_count)? {
                        let (delay_ms, action) = action;
                        actions.push((at.after_ms(delay_ms), action));
                    }
                }
                "run" => {
                    let word = line.word(1, "a duration")?;
                    duration_ms = Some(parse_ms(&line, word, word.text, "a duration")?);
                    line.no_more_after(2)?;
                }
                other => {
                    return Err(line.error_at(
                        first.column,
                        format!(
                            "unknown statement `{other}` (expected nodes, latency, jitter, block_interval, \
                             channel, at or run)"
                        ),
                    ))
                }
            }
        }
        let end = ScenarioError {
            file: file.to_string(),
            line: text.lines().count().max(1),
            column: 1,
            message: String::new(),
        };
        let node_count = node_count.ok_or_else(|| ScenarioError {
            message: "the script never says how many nodes (`nodes N`)".into(),
            ..end.clone()
        })?;
        let duration_ms = duration_ms.ok_or_else(|| ScenarioError {
            message: "the script never says how long to run (`run 10min`)".into(),
            ..end.clone()
        })?;
        Ok(Scenario {
            node_count,
            latency,
            jitter_ms,
            block_interval_ms,
            channels,
            actions,
            duration_ms,
        })
    }

    /// The network this scenario describes under `seed`, with everything scheduled.
    pub fn build(&self, seed: u64) -> Result<Network, InvalidLatency> {
        let mut network = Network::new(NetworkConfig {
            seed,
            node_count: self.node_count,
            latency: self.latency,
            jitter_ms: self.jitter_ms,
            block_interval_ms: self.block_interval_ms,
        })?;
        for channel in &self.channels {
            network.schedule(
                SimTime::ZERO,
                Action::Connect {
                    from: channel.from,
                    to: channel.to,
                },
            );
            network.schedule(
                SimTime(1_000),
                Action::OpenChannel {
                    from: channel.from,
                    to: channel.to,
                    funding_satoshis: channel.capacity_satoshis,
                },
            );
        }
        for (at, action) in &self.actions {
            network.schedule(*at, action.clone());
        }
        Ok(network)
    }
}

fn parse_latency(line: &Line<'_>) -> Result<Latency, ScenarioError> {
    let kind = line.word(1, "a latency kind (constant, uniform, normal, lognormal)")?;
    let ms = |index, key| -> Result<u64, ScenarioError> {
        let (word, value) = key_value(line, index, key)?;
        parse_ms(line, word, value, key)
    };
    let latency = match kind.text {
        "constant" => Latency::Constant { ms: ms(2, "ms")? },
        "uniform" => Latency::Uniform {
            min_ms: ms(2, "min")?,
            max_ms: ms(3, "max")?,
        },
        "normal" => Latency::Normal {
            mean_ms: ms(2, "mean")? as f64,
            std_dev_ms: ms(3, "std_dev")? as f64,
        },
        "lognormal" => {
            let (word, sigma) = key_value(line, 3, "sigma")?;
            Latency::LogNormal {
                median_ms: ms(2, "median")? as f64,
                sigma: parse_float(line, word, sigma, "sigma")?,
            }
        }
        other => {
            return Err(line.error_at(
                kind.column,
                format!("unknown latency `{other}` (expected constant, uniform, normal or lognormal)"),
            ))
        }
    };
    let used = match kind.text {
        "constant" => 3,
        _ => 4,
    };
    line.no_more_after(used)?;
    latency.validate().map_err(|e| line.error_at(kind.column, e.0))?;
    Ok(latency)
}

/// The action of an `at` line (from the third word on): each with its delay after the
/// line's time (`reconnect ... after=` makes two).
fn parse_action(line: &Line<'_>, node_count: Option<usize>) -> Result<Vec<(u64, Action)>, ScenarioError> {
    let verb = line.word(2, "an action")?;
    let node =
        |index| -> Result<usize, ScenarioError> { parse_node(line, line.word(index, "a node number")?, node_count) };
    let (actions, used) = match verb.text {
        "pay" => {
            let (from, to) = parse_arrow(line, 3, node_count)?;
            let word = line.word(6, "an amount")?;
            let amount = parse_with_unit(line, word, word.text, &[("msat", 1.0), ("sat", 1000.0)], "an amount")?;
            if amount < 1.0 || amount.fract() != 0.0 || amount > 21e17 {
                return Err(line.error_at(word.column, "an amount is a whole, positive number of msat"));
            }
            let pay = Action::Pay {
                from,
                to,
                amount_msat: amount as u64,
            };
            (vec![(0, pay)], 7)
        }
        "connect" => {
            let (from, to) = parse_arrow(line, 3, node_count)?;
            (vec![(0, Action::Connect { from, to })], 6)
        }
        "disconnect" => (
            vec![(
                0,
                Action::Disconnect {
                    a: node(3)?,
                    b: node(4)?,
                },
            )],
            5,
        ),
        "reconnect" => {
            // `reconnect A -> B after=T`: the connection drops now and A dials B after T.
            let (from, to) = parse_arrow(line, 3, node_count)?;
            let (word, value) = key_value(line, 6, "after")?;
            let after_ms = parse_ms(line, word, value, "after")?;
            (
                vec![
                    (0, Action::Disconnect { a: from, b: to }),
                    (after_ms, Action::Connect { from, to }),
                ],
                7,
            )
        }
        "pause_monitors" => (vec![(0, Action::PauseMonitors { node: node(3)? })], 4),
        "resume_monitors" => (vec![(0, Action::ResumeMonitors { node: node(3)? })], 4),
        "save_manager" => (vec![(0, Action::SaveManager { node: node(3)? })], 4),
        "crash" => (vec![(0, Action::Crash { node: node(3)? })], 4),
        "restart" => {
            let node = node(3)?;
            let stale_manager = match line.words.get(4) {
                None => false,
                Some(word) if word.text == "stale_manager" => true,
                Some(word) => {
                    return Err(line.error_at(
                        word.column,
                        format!("expected `stale_manager` or nothing, found `{}`", word.text),
                    ))
                }
            };
            (vec![(0, Action::Restart { node, stale_manager })], 5)
        }
        "feerate" => {
            let word = line.word(3, "a feerate")?;
            let feerate = parse_with_unit(line, word, word.text, &[("sat/kw", 1.0)], "a feerate")?;
            if !(253.0..=10_000_000.0).contains(&feerate) || feerate.fract() != 0.0 {
                return Err(line.error_at(word.column, "a feerate is a whole 253 to 10000000 sat/kw"));
            }
            (
                vec![(
                    0,
                    Action::FeeRate {
                        feerate_per_kw: feerate as u32,
                    },
                )],
                4,
            )
        }
        "partition" => {
            let mut side = Vec::new();
            for index in 3..line.words.len() {
                side.push(node(index)?);
            }
            if side.is_empty() {
                return Err(line.error_at(line.end_column, "expected the nodes cut off"));
            }
            let count = line.words.len();
            (vec![(0, Action::Partition { side })], count)
        }
        "heal" => (vec![(0, Action::Heal)], 3),
        other => {
            return Err(line.error_at(
                verb.column,
                format!(
                    "unknown action `{other}` (expected pay, connect, disconnect, reconnect, pause_monitors, \
                     resume_monitors, save_manager, crash, restart, feerate, partition or heal)"
                ),
            ))
        }
    };
    line.no_more_after(used)?;
    Ok(actions)
}

#[cfg(test)]
mod tests {
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
                capacity_satoshis: 1_000_000
            }]
        );
        assert_eq!(scenario.duration_ms, 900_000);
        assert_eq!(
            scenario.actions[..2],
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
        assert_eq!(scenario.actions[2], (SimTime(4_500), Action::Disconnect { a: 1, b: 0 }));
        assert_eq!(
            scenario.actions[3],
            (SimTime(4_800), Action::Connect { from: 1, to: 0 })
        );
        assert_eq!(
            scenario.actions[4].1,
            Action::Restart {
                node: 1,
                stale_manager: true
            }
        );
        assert_eq!(scenario.actions[7].1, Action::FeeRate { feerate_per_kw: 5_000 });
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
            "s.scn:2:1: unknown statement `chanel` (expected nodes, latency, jitter, block_interval, channel, at or run)"
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
            "s.scn:2:17: expected an amount"
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
            for seed in 0..3 {
                let mut network = scenario.build(seed).expect("valid");
                network
                    .run_until(SimTime(scenario.duration_ms))
                    .unwrap_or_else(|v| panic!("{name}: {v}"));
                let tally = network.tally();
                assert_eq!(
                    tally.sent + tally.failed + tally.refused,
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
}
