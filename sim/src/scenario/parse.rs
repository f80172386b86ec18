//! The script parser: one statement per line, every mistake reported with its place.

use std::collections::BTreeMap;

use super::{
    ChannelSpec, Comparison, Expectation, Metric, Scenario, ScenarioError, ScriptedAction, DEFAULT_FEERATE_PER_KW,
    DEFAULT_SETTLE_MS,
};
use crate::clock::SimTime;
use crate::faults::{FaultKind, Generator, GeneratorKind, Traffic};
use crate::latency::Latency;
use crate::network::{Action, Refusal, ScriptLine};
use crate::swarm::PolicyField;

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
    /// Node names the script gives (`name N ALIAS`), wherever it gives them.
    names: &'a BTreeMap<String, usize>,
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
    if let Some(node) = line.names.get(word.text) {
        return Ok(*node);
    }
    if word.text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(line.error_at(
            word.column,
            format!("`{}` names no node (give names with `name N {}`)", word.text, word.text),
        ));
    }
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
        let mut scenario = Scenario {
            node_count: 0,
            seed: None,
            latency: Latency::Constant { ms: 50 },
            jitter_ms: 0,
            block_interval_ms: 600_000,
            redial_ms: None,
            link_overrides: BTreeMap::new(),
            channels: Vec::new(),
            actions: Vec::new(),
            generators: Vec::new(),
            warmup_ms: 0,
            duration_ms: 0,
            settle_ms: 0,
            expectations: Vec::new(),
            node_policies: BTreeMap::new(),
            swarm: true,
            all_faults: false,
            payee_hold_ms: None,
            channel_policies: BTreeMap::new(),
        };
        let mut node_count = None;
        // Imported payment series, with the line and column of their `import`.
        let mut imported: Vec<(crate::simln::SimlnActivity, usize, usize)> = Vec::new();
        let mut duration_ms = None;
        let mut settle_ms = None;
        // Names first, so any line may use a name given anywhere; checked where given.
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for raw in text.lines() {
            let words = split_words(raw.split('#').next().unwrap_or_default());
            if let [first, node, alias] = words.as_slice() {
                if let (true, Ok(node)) = (first.text == "name", node.text.parse::<usize>()) {
                    names.entry(alias.text.to_string()).or_insert(node);
                }
            }
        }
        // The names given so far, by node.
        let mut named: BTreeMap<usize, &str> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or_default();
            let words = split_words(content);
            let Some(first) = words.first().copied() else { continue };
            let line = Line {
                file,
                number: index + 1,
                end_column: content.trim_end().chars().count() + 1,
                words,
                names: &names,
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
                "seed" => {
                    let word = line.word(1, "a seed")?;
                    scenario.seed = Some(parse_number(&line, word, "a seed")?);
                    line.no_more_after(2)?;
                }
                "latency" => {
                    let (latency, used) = parse_latency(&line, 1)?;
                    line.no_more_after(used)?;
                    scenario.latency = latency;
                }
                "jitter" => {
                    let word = line.word(1, "a jitter")?;
                    scenario.jitter_ms = parse_ms(&line, word, word.text, "a jitter")?;
                    line.no_more_after(2)?;
                }
                "link" => {
                    // `link A B <latency> [jitter=T]`: both directions of one pair.
                    let a = parse_node(&line, line.word(1, "a node number")?, node_count)?;
                    let b_word = line.word(2, "a node number")?;
                    let b = parse_node(&line, b_word, node_count)?;
                    if a == b {
                        return Err(line.error_at(b_word.column, "a link joins two different nodes"));
                    }
                    let (latency, used) = parse_latency(&line, 3)?;
                    let mut jitter_ms = 0;
                    let mut next = used;
                    if line.words.len() > used {
                        let (word, value) = key_value(&line, used, "jitter")?;
                        jitter_ms = parse_ms(&line, word, value, "jitter")?;
                        next += 1;
                    }
                    line.no_more_after(next)?;
                    if scenario
                        .link_overrides
                        .insert((a.min(b), a.max(b)), (latency, jitter_ms))
                        .is_some()
                    {
                        return Err(line.error_at(first.column, format!("link {a} {b} declared twice")));
                    }
                }
                "block_interval" => {
                    let word = line.word(1, "a block interval")?;
                    scenario.block_interval_ms = parse_ms(&line, word, word.text, "a block interval")?;
                    if scenario.block_interval_ms == 0 {
                        return Err(line.error_at(word.column, "the block interval must be positive"));
                    }
                    line.no_more_after(2)?;
                }
                "redial" => {
                    let word = line.word(1, "a redial delay")?;
                    scenario.redial_ms = Some(parse_ms(&line, word, word.text, "a redial delay")?);
                    line.no_more_after(2)?;
                }
                "channel" => {
                    let (from, to) = parse_arrow(&line, 1, node_count)?;
                    let (word, value) = key_value(&line, 4, "capacity")?;
                    let capacity = parse_with_unit(&line, word, value, &[("sat", 1.0)], "a capacity")?;
                    if capacity < 1.0 || capacity.fract() != 0.0 || capacity > 21e14 {
                        return Err(line.error_at(word.column, "a capacity is a whole, positive number of sat"));
                    }
                    let mut push_msat = 0;
                    let mut used = 5;
                    if line.words.len() > 5 {
                        let (word, value) = key_value(&line, 5, "push")?;
                        push_msat = parse_amount(&line, word, value)?;
                        if push_msat > capacity as u64 * 1000 {
                            return Err(line.error_at(word.column, "the push is more than the capacity"));
                        }
                        used = 6;
                    }
                    line.no_more_after(used)?;
                    super::check::capacity(capacity as u64).map_err(|why| line.error_at(word.column, why))?;
                    scenario.channels.push(ChannelSpec {
                        from,
                        to,
                        capacity_satoshis: capacity as u64,
                        push_msat,
                        line: line.number,
                    });
                }
                "name" => {
                    let node_word = line.word(1, "a node number")?;
                    let node = parse_node(&line, node_word, node_count)?;
                    let alias = line.word(2, "a name")?;
                    line.no_more_after(3)?;
                    let well_formed = alias.text.starts_with(|c: char| c.is_ascii_alphabetic())
                        && alias.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !well_formed {
                        return Err(line.error_at(alias.column, "a name is a letter, then letters, digits or `_`"));
                    }
                    if names.get(alias.text) != Some(&node) {
                        return Err(line.error_at(alias.column, format!("`{}` names another node already", alias.text)));
                    }
                    if let Some(other) = named.insert(node, alias.text) {
                        return Err(line.error_at(alias.column, format!("node {node} is named `{other}` already")));
                    }
                }
                "import" => {
                    let kind = line.word(1, "what to import (simln)")?;
                    if kind.text != "simln" {
                        return Err(
                            line.error_at(kind.column, format!("cannot import `{}`: expected simln", kind.text))
                        );
                    }
                    let path_word = line.word(2, "a SimLN file")?;
                    line.no_more_after(3)?;
                    // A relative path is from the script's folder.
                    let path = std::path::Path::new(file)
                        .parent()
                        .unwrap_or(std::path::Path::new(""))
                        .join(path_word.text);
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| line.error_at(path_word.column, format!("cannot read {}: {e}", path.display())))?;
                    let network = crate::simln::parse(&path.display().to_string(), &text)
                        .map_err(|e| line.error_at(path_word.column, e.to_string()))?;
                    match node_count {
                        Some(count) if count != network.node_count => {
                            return Err(line.error_at(
                                path_word.column,
                                format!(
                                    "`nodes {count}`, but the SimLN network has {} nodes",
                                    network.node_count
                                ),
                            ))
                        }
                        _ => node_count = Some(network.node_count),
                    }
                    for channel in &network.channels {
                        scenario.channels.push(ChannelSpec {
                            from: channel.node_1,
                            to: channel.node_2,
                            capacity_satoshis: channel.capacity_sat,
                            push_msat: channel.node_2_balance_msat,
                            line: line.number,
                        });
                        scenario
                            .channel_policies
                            .insert((channel.node_1, channel.node_2), channel.policy_1);
                        scenario
                            .channel_policies
                            .insert((channel.node_2, channel.node_1), channel.policy_2);
                    }
                    imported.extend(network.activity.into_iter().map(|a| (a, line.number, first.column)));
                }
                "topology" => {
                    let node_count =
                        node_count.ok_or_else(|| line.error_at(1, "`nodes N` must come before `topology`"))?;
                    scenario.channels.extend(parse_topology(&line, node_count)?);
                }
                "at" => {
                    let word = line.word(1, "a time")?;
                    let at = SimTime(parse_ms(&line, word, word.text, "a time")?);
                    // A last word `refused` or `maybe_refused` says what a refusal means.
                    let mut line = line;
                    let refusal = match line.words.last().map(|w| w.text) {
                        Some("refused") => Refusal::Expected,
                        Some("maybe_refused") => Refusal::Tolerated,
                        _ => Refusal::Fails,
                    };
                    if refusal != Refusal::Fails && line.words.len() > 3 {
                        let marker = line.words.pop().expect("checked above");
                        line.end_column = marker.column;
                    }
                    let column = line.word(2, "an action")?.column;
                    for (delay_ms, action) in parse_action(&line, node_count)? {
                        scenario.actions.push(ScriptedAction {
                            at: at.after_ms(delay_ms),
                            action,
                            origin: ScriptLine {
                                line: line.number,
                                refusal,
                            },
                            column,
                            time_column: word.column,
                        });
                    }
                }
                "node" => {
                    // `node N config key=value ...`: settings of N's channel policy.
                    let node = parse_node(&line, line.word(1, "a node number")?, node_count)?;
                    let verb = line.word(2, "`config`")?;
                    if verb.text != "config" {
                        return Err(line.error_at(verb.column, format!("expected `config`, found `{}`", verb.text)));
                    }
                    let opts = options(&line, 3, &crate::swarm::POLICY_KEYS)?;
                    if opts.is_empty() {
                        return Err(line.error_at(line.end_column, "expected settings (`key=value`)"));
                    }
                    let fields = scenario.node_policies.entry(node).or_default();
                    for (key, (word, value)) in opts {
                        fields.push(parse_policy_field(&line, key, word, value)?);
                    }
                }
                "swarm" | "fault_mix" => {
                    let word = line.word(1, "a setting")?;
                    let expected = if first.text == "swarm" {
                        ["on", "off"]
                    } else {
                        ["drawn", "all"]
                    };
                    if !expected.contains(&word.text) {
                        return Err(line.error_at(
                            word.column,
                            format!("expected `{}` or `{}`, found `{}`", expected[0], expected[1], word.text),
                        ));
                    }
                    if first.text == "swarm" {
                        scenario.swarm = word.text == "on";
                    } else {
                        scenario.all_faults = word.text == "all";
                    }
                    line.no_more_after(2)?;
                }
                "payee_hold" => {
                    let word = line.word(1, "a hold time or range")?;
                    let (min, max) = word.text.split_once("..").unwrap_or((word.text, word.text));
                    let (min_ms, max_ms) = (
                        parse_ms(&line, word, min, "a hold time")?,
                        parse_ms(&line, word, max, "a hold time")?,
                    );
                    if min_ms > max_ms {
                        return Err(line.error_at(word.column, "the shortest hold is above the longest"));
                    }
                    scenario.payee_hold_ms = Some((min_ms, max_ms));
                    line.no_more_after(2)?;
                }
                "fault" => scenario.generators.push(parse_fault(&line)?),
                "traffic" => scenario.generators.push(parse_traffic(&line)?),
                "expect" => scenario.expectations.push(parse_expectation(&line)?),
                "run" => {
                    let word = line.word(1, "a duration")?;
                    duration_ms = Some(parse_ms(&line, word, word.text, "a duration")?);
                    line.no_more_after(2)?;
                }
                "warmup" => {
                    let word = line.word(1, "a warm-up time")?;
                    scenario.warmup_ms = parse_ms(&line, word, word.text, "a warm-up time")?;
                    line.no_more_after(2)?;
                }
                "settle" => {
                    let word = line.word(1, "a settling time")?;
                    settle_ms = Some(parse_ms(&line, word, word.text, "a settling time")?);
                    line.no_more_after(2)?;
                }
                other => {
                    return Err(line.error_at(
                        first.column,
                        format!(
                            "unknown statement `{other}` (expected nodes, seed, latency, jitter, link, \
                             block_interval, redial, channel, topology, import, name, node, swarm, fault_mix, \
                             payee_hold, at, warmup, fault, traffic, run, settle or expect)"
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
        scenario.node_count = node_count.ok_or_else(|| ScenarioError {
            message: "the script never says how many nodes (`nodes N`)".into(),
            ..end.clone()
        })?;
        scenario.duration_ms = duration_ms.ok_or_else(|| ScenarioError {
            message: "the script never says how long to run (`run 10min`)".into(),
            ..end.clone()
        })?;
        scenario
            .actions
            .extend(expand_activity(&imported, scenario.warmup_ms, scenario.duration_ms));
        // Long enough by default for a funding to confirm, however slow the blocks.
        scenario.settle_ms =
            settle_ms.unwrap_or_else(|| DEFAULT_SETTLE_MS.max(scenario.block_interval_ms.saturating_mul(6)));
        // Actions past the end would run during the liveness phase, which must be free
        // of faults.
        for scripted in &scenario.actions {
            if scripted.at.as_ms() > scenario.duration_ms {
                return Err(ScenarioError {
                    file: file.to_string(),
                    line: scripted.origin.line,
                    column: scripted.time_column,
                    message: format!("this happens after the run ends ({} ms)", scenario.duration_ms),
                });
            }
        }
        super::check::script(file, &scenario)?;
        Ok(scenario)
    }
}

/// Options `key=value` from word `from` on, each key at most once and only from
/// `allowed`.
fn options<'a>(
    line: &Line<'a>,
    from: usize,
    allowed: &[&str],
) -> Result<BTreeMap<&'a str, (Word<'a>, &'a str)>, ScenarioError> {
    let mut found = BTreeMap::new();
    for word in line.words.iter().skip(from) {
        let Some((key, value)) = word.text.split_once('=') else {
            return Err(line.error_at(word.column, format!("expected `key=value`, found `{}`", word.text)));
        };
        if !allowed.contains(&key) {
            return Err(line.error_at(
                word.column,
                format!("unknown option `{key}` (expected {})", allowed.join(", ")),
            ));
        }
        if found.insert(key, (*word, value)).is_some() {
            return Err(line.error_at(word.column, format!("`{key}` given twice")));
        }
    }
    Ok(found)
}

/// The time option `key`, which must be there.
fn required_ms(line: &Line<'_>, options: &BTreeMap<&str, (Word<'_>, &str)>, key: &str) -> Result<u64, ScenarioError> {
    let (word, value) = options
        .get(key)
        .ok_or_else(|| line.error_at(line.end_column, format!("expected `{key}=...`")))?;
    parse_ms(line, *word, value, key)
}

fn parse_feerate(line: &Line<'_>, word: Word<'_>, text: &str) -> Result<u32, ScenarioError> {
    let feerate = parse_with_unit(line, word, text, &[("sat/kw", 1.0)], "a feerate")?;
    if !(253.0..=10_000_000.0).contains(&feerate) || feerate.fract() != 0.0 {
        return Err(line.error_at(word.column, "a feerate is a whole 253 to 10000000 sat/kw"));
    }
    Ok(feerate as u32)
}

/// One `node N config` setting.
fn parse_policy_field(line: &Line<'_>, key: &str, word: Word<'_>, value: &str) -> Result<PolicyField, ScenarioError> {
    let whole = |max: u64| -> Result<u64, ScenarioError> {
        match value.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(line.error_at(word.column, format!("{key} is a whole number up to {max}"))),
        }
    };
    Ok(match key {
        "max_accepted_htlcs" => match whole(483)? {
            0 => return Err(line.error_at(word.column, "max_accepted_htlcs is 1 to 483")),
            n => PolicyField::MaxAcceptedHtlcs(n as u16),
        },
        "dust_limit" => {
            let msat = parse_amount(line, word, value)?;
            if msat < 354_000 || msat % 1000 != 0 {
                return Err(line.error_at(word.column, "a dust limit is a whole number of sat, 354 or more"));
            }
            PolicyField::DustLimitSatoshis(msat / 1000)
        }
        "reserve" => {
            let percent = parse_with_unit(line, word, value, &[("%", 1.0)], "a reserve")?;
            if !(0.0..=100.0).contains(&percent) || (percent * 10.0).fract() != 0.0 {
                return Err(line.error_at(word.column, "a reserve is 0% to 100%, in tenths"));
            }
            PolicyField::ReservePermille((percent * 10.0) as u16)
        }
        "htlc_minimum" => PolicyField::HtlcMinimumMsat(parse_amount(line, word, value)?),
        "max_in_flight" => match parse_percent(line, word, value, "max_in_flight")? {
            0 => return Err(line.error_at(word.column, "max_in_flight is 1% to 100%")),
            percent => PolicyField::MaxInFlightPercent(percent),
        },
        "to_self_delay" => PolicyField::ToSelfDelay(whole(2016)? as u16),
        "minimum_depth" => match whole(2016)? {
            0 => return Err(line.error_at(word.column, "minimum_depth is 1 to 2016")),
            n => PolicyField::MinimumDepth(n as u32),
        },
        "fee_base" if value == "0msat" => PolicyField::FeeBaseMsat(0),
        "fee_base" => match u32::try_from(parse_amount(line, word, value)?) {
            Ok(msat) => PolicyField::FeeBaseMsat(msat),
            Err(_) => return Err(line.error_at(word.column, "fee_base is at most 4294967295msat")),
        },
        "fee_ppm" => PolicyField::FeeProportionalMillionths(whole(u64::from(u32::MAX))? as u32),
        "cltv_delta" => match whole(2016)? {
            n if n < 12 => return Err(line.error_at(word.column, "cltv_delta is 12 to 2016 blocks")),
            n => PolicyField::CltvExpiryDelta(n as u16),
        },
        _ => PolicyField::FeeratePerKw(parse_feerate(line, word, value)?),
    })
}

/// `N%`, a whole 0 to 100.
fn parse_percent(line: &Line<'_>, word: Word<'_>, text: &str, what: &str) -> Result<u8, ScenarioError> {
    let percent = parse_with_unit(line, word, text, &[("%", 1.0)], what)?;
    if !(0.0..=100.0).contains(&percent) || percent.fract() != 0.0 {
        return Err(line.error_at(word.column, format!("{what} is a whole 0% to 100%")));
    }
    Ok(percent as u8)
}

fn parse_amount(line: &Line<'_>, word: Word<'_>, text: &str) -> Result<u64, ScenarioError> {
    let amount = parse_with_unit(line, word, text, &[("msat", 1.0), ("sat", 1000.0)], "an amount")?;
    if amount < 1.0 || amount.fract() != 0.0 || amount > 21e17 {
        return Err(line.error_at(word.column, "an amount is a whole, positive number of msat"));
    }
    Ok(amount as u64)
}

/// `fault KIND every=T [for=T] [max=R] [base=R]`.
fn parse_fault(line: &Line<'_>) -> Result<Generator, ScenarioError> {
    let kind_word = line.word(1, "a fault kind")?;
    let allowed: &[&str] = match kind_word.text {
        "disconnect" | "lie" => &["every"],
        "crash" | "pause_monitors" | "partition" | "reorder" | "lose_writes" => &["every", "for"],
        "feerate" => &["every", "for", "max", "base"],
        other => {
            return Err(line.error_at(
                kind_word.column,
                format!(
                "unknown fault `{other}` (expected disconnect, crash, pause_monitors, feerate, partition, reorder, \
                 lie or lose_writes)"
            ),
            ))
        }
    };
    let opts = options(line, 2, allowed)?;
    let mean_interval_ms = required_ms(line, &opts, "every")?;
    if mean_interval_ms == 0 {
        return Err(line.error_at(opts["every"].0.column, "a fault needs a positive mean interval"));
    }
    let for_ms = || required_ms(line, &opts, "for");
    let kind = match kind_word.text {
        "disconnect" => FaultKind::Disconnect,
        "crash" => FaultKind::Crash { down_ms: for_ms()? },
        "pause_monitors" => FaultKind::PauseMonitors { for_ms: for_ms()? },
        "partition" => FaultKind::Partition { for_ms: for_ms()? },
        "reorder" => FaultKind::Reorder { for_ms: for_ms()? },
        "lie" => FaultKind::Lie,
        "lose_writes" => FaultKind::LoseWrites { down_ms: for_ms()? },
        _ => {
            let (word, max) = opts
                .get("max")
                .ok_or_else(|| line.error_at(line.end_column, "expected `max=...`"))?;
            let max_feerate_per_kw = parse_feerate(line, *word, max)?;
            let base_feerate_per_kw = match opts.get("base") {
                Some((word, base)) => parse_feerate(line, *word, base)?,
                None => DEFAULT_FEERATE_PER_KW,
            };
            if base_feerate_per_kw > max_feerate_per_kw {
                return Err(line.error_at(word.column, "the spike's max is below its base"));
            }
            FaultKind::FeeSpike {
                for_ms: for_ms()?,
                base_feerate_per_kw,
                max_feerate_per_kw,
            }
        }
    };
    Ok(Generator {
        kind: GeneratorKind::Fault(kind),
        mean_interval_ms,
    })
}

/// `traffic every=T amount=A[..B]`.
fn parse_traffic(line: &Line<'_>) -> Result<Generator, ScenarioError> {
    let opts = options(line, 1, &["every", "amount", "reject", "most", "sigma", "pairs"])?;
    let mean_interval_ms = required_ms(line, &opts, "every")?;
    if mean_interval_ms == 0 {
        return Err(line.error_at(opts["every"].0.column, "traffic needs a positive mean interval"));
    }
    let (word, amount) = opts
        .get("amount")
        .ok_or_else(|| line.error_at(line.end_column, "expected `amount=...`"))?;
    let (min, max) = match amount.split_once("..") {
        Some((min, max)) => (parse_amount(line, *word, min)?, parse_amount(line, *word, max)?),
        None => {
            let amount = parse_amount(line, *word, amount)?;
            (amount, amount)
        }
    };
    if min > max {
        return Err(line.error_at(word.column, "the smallest amount is above the largest"));
    }
    let lognormal_sigma_milli = match opts.get("sigma") {
        Some((sigma_word, value)) => {
            if min != max {
                return Err(line.error_at(
                    word.column,
                    "log-normal amounts take one amount, the median (`amount=20000sat sigma=1`)",
                ));
            }
            let sigma = parse_float(line, *sigma_word, value, "sigma")?;
            if !(0.0..=10.0).contains(&sigma) {
                return Err(line.error_at(sigma_word.column, "sigma is between 0 and 10"));
            }
            Some((sigma * 1000.0).round() as u32)
        }
        None => None,
    };
    // A log-normal amount is cut at a hundred times its median.
    let max = if lognormal_sigma_milli.is_some() {
        max.saturating_mul(100)
    } else {
        max
    };
    let any_pair = match opts.get("pairs") {
        None => false,
        Some((_, "peers")) => false,
        Some((_, "any")) => true,
        Some((word, other)) => {
            return Err(line.error_at(word.column, format!("`pairs={other}`: expected `peers` or `any`")));
        }
    };
    let reject_percent = match opts.get("reject") {
        Some((word, value)) => parse_percent(line, *word, value, "reject")?,
        None => 0,
    };
    let most_percent = match opts.get("most") {
        Some((word, value)) => parse_percent(line, *word, value, "most")?,
        None => 0,
    };
    if u16::from(reject_percent) + u16::from(most_percent) > 100 {
        return Err(line.error_at(line.end_column, "reject and most add up to more than 100%"));
    }
    Ok(Generator {
        kind: GeneratorKind::Traffic(Traffic {
            min_amount_msat: min,
            max_amount_msat: max,
            reject_percent,
            most_percent,
            lognormal_sigma_milli,
            any_pair,
        }),
        mean_interval_ms,
    })
}

/// Imported payment series as payments, each series from `warmup_ms` plus its start
/// until its count or the run's end: intervals and amounts drawn from ranges with a
/// stream of their own per series, the same in every run.
fn expand_activity(
    imported: &[(crate::simln::SimlnActivity, usize, usize)],
    warmup_ms: u64,
    duration_ms: u64,
) -> Vec<ScriptedAction> {
    use crate::rng::{SimRng, StreamId};
    let mut actions = Vec::new();
    for (index, (activity, line, column)) in imported.iter().enumerate() {
        let mut rng = SimRng::new(index as u64, StreamId::Workload);
        let mut at_ms = warmup_ms.saturating_add(activity.start_secs.saturating_mul(1000));
        let mut sent = 0u64;
        while at_ms <= duration_ms && activity.count.is_none_or(|count| sent < count) {
            let amount_msat = rng.in_range(activity.amount_msat.0, activity.amount_msat.1);
            actions.push(ScriptedAction {
                at: SimTime(at_ms),
                action: Action::Pay {
                    from: activity.source,
                    to: activity.destination,
                    amount_msat,
                },
                // A series' payment may find no route (drained liquidity): counted, as
                // SimLN counts it, not a failed run.
                origin: crate::network::ScriptLine {
                    line: *line,
                    refusal: crate::network::Refusal::Tolerated,
                },
                column: *column,
                time_column: *column,
            });
            sent += 1;
            let interval_secs = rng.in_range(activity.interval_secs.0, activity.interval_secs.1);
            at_ms = at_ms.saturating_add(interval_secs.saturating_mul(1000));
        }
    }
    actions
}

/// `topology KIND capacity=AMOUNT [push=AMOUNT] [degree=N] [seed=N]`: the channels of
/// a network of that shape over every node.
fn parse_topology(line: &Line<'_>, node_count: usize) -> Result<Vec<ChannelSpec>, ScenarioError> {
    use crate::topology::Topology;
    let kind = line.word(1, "a topology (line, ring, star, grid, scale_free)")?;
    let opts = options(line, 2, &["capacity", "push", "degree", "seed"])?;
    let whole = |key: &str, default: u64, max: u64| -> Result<u64, ScenarioError> {
        match opts.get(key) {
            None => Ok(default),
            Some((word, value)) => match value.parse::<u64>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(line.error_at(word.column, format!("{key} is a whole number up to {max}"))),
            },
        }
    };
    let topology = match kind.text {
        "line" => Topology::Line,
        "ring" => Topology::Ring,
        "star" => Topology::Star,
        "grid" => Topology::Grid,
        "scale_free" => {
            let degree = whole("degree", 2, 8)?;
            if degree == 0 {
                return Err(line.error_at(opts["degree"].0.column, "degree is 1 to 8"));
            }
            Topology::ScaleFree {
                degree: degree as usize,
                seed: whole("seed", 0, u64::MAX)?,
            }
        }
        other => {
            return Err(line.error_at(
                kind.column,
                format!("unknown topology `{other}`: expected line, ring, star, grid or scale_free"),
            ))
        }
    };
    for key in ["degree", "seed"] {
        if !matches!(topology, Topology::ScaleFree { .. }) && opts.contains_key(key) {
            return Err(line.error_at(opts[key].0.column, format!("`{key}` is for scale_free only")));
        }
    }
    let (word, value) = opts
        .get("capacity")
        .ok_or_else(|| line.error_at(line.end_column, "expected `capacity=...`"))?;
    let capacity = parse_with_unit(line, *word, value, &[("sat", 1.0)], "a capacity")?;
    if capacity < 1.0 || capacity.fract() != 0.0 || capacity > 21e14 {
        return Err(line.error_at(word.column, "a capacity is a whole, positive number of sat"));
    }
    super::check::capacity(capacity as u64).map_err(|why| line.error_at(word.column, why))?;
    let push_msat = match opts.get("push") {
        Some((word, value)) => {
            let push = parse_amount(line, *word, value)?;
            if push > capacity as u64 * 1000 {
                return Err(line.error_at(word.column, "the push is more than the capacity"));
            }
            push
        }
        None => 0,
    };
    Ok(topology
        .channels(node_count)
        .into_iter()
        .map(|(from, to)| ChannelSpec {
            from,
            to,
            capacity_satoshis: capacity as u64,
            push_msat,
            line: line.number,
        })
        .collect())
}

/// `expect METRIC OP N[%]`.
fn parse_expectation(line: &Line<'_>) -> Result<Expectation, ScenarioError> {
    let metric_word = line.word(1, "what to expect (dispatched, sent, failed, refused)")?;
    let metric = match metric_word.text {
        "dispatched" => Metric::Dispatched,
        "sent" => Metric::Sent,
        "failed" => Metric::Failed,
        "refused" => Metric::Refused,
        other => {
            return Err(line.error_at(
                metric_word.column,
                format!("unknown measure `{other}` (expected dispatched, sent, failed or refused)"),
            ))
        }
    };
    let op_word = line.word(2, "a comparison (>=, <=, ==)")?;
    let op = match op_word.text {
        ">=" => Comparison::AtLeast,
        "<=" => Comparison::AtMost,
        "==" => Comparison::Exactly,
        other => {
            return Err(line.error_at(
                op_word.column,
                format!("unknown comparison `{other}` (expected >=, <= or ==)"),
            ))
        }
    };
    let value_word = line.word(3, "a number, or a percentage of the payments dispatched")?;
    let (number, percent) = match value_word.text.strip_suffix('%') {
        Some(number) => (number, true),
        None => (value_word.text, false),
    };
    let value = parse_number(
        line,
        Word {
            text: number,
            ..value_word
        },
        "a count or percentage",
    )?;
    if percent && value > 100 {
        return Err(line.error_at(value_word.column, "a percentage is 0 to 100"));
    }
    line.no_more_after(4)?;
    Ok(Expectation {
        metric,
        comparison: op,
        value,
        percent,
        line: line.number,
    })
}

/// A latency model whose kind is word `at`; returns it and the index past it.
fn parse_latency(line: &Line<'_>, at: usize) -> Result<(Latency, usize), ScenarioError> {
    let kind = line.word(at, "a latency kind (constant, uniform, normal, lognormal)")?;
    let ms = |index, key| -> Result<u64, ScenarioError> {
        let (word, value) = key_value(line, at + index, key)?;
        parse_ms(line, word, value, key)
    };
    let latency = match kind.text {
        "constant" => Latency::Constant { ms: ms(1, "ms")? },
        "uniform" => Latency::Uniform {
            min_ms: ms(1, "min")?,
            max_ms: ms(2, "max")?,
        },
        "normal" => Latency::Normal {
            mean_ms: ms(1, "mean")? as f64,
            std_dev_ms: ms(2, "std_dev")? as f64,
        },
        "lognormal" => {
            let (word, sigma) = key_value(line, at + 2, "sigma")?;
            Latency::LogNormal {
                median_ms: ms(1, "median")? as f64,
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
        "constant" => 2,
        _ => 3,
    };
    latency.validate().map_err(|e| line.error_at(kind.column, e.0))?;
    Ok((latency, at + used))
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
            let word = line.word(6, "an amount (or `most`)")?;
            if word.text == "most" {
                line.no_more_after(7)?;
                return Ok(vec![(0, Action::PayMost { from, to })]);
            }
            let amount_msat = parse_amount(line, word, word.text)?;
            let (pay, used) = match line.words.get(7) {
                None => (Action::Pay { from, to, amount_msat }, 7),
                Some(word) if matches!(word.text, "underpaid" | "unknown_hash") => (
                    Action::PayWrong {
                        from,
                        to,
                        amount_msat,
                        unknown_hash: word.text == "unknown_hash",
                    },
                    8,
                ),
                Some(word) => {
                    return Err(line.error_at(
                        word.column,
                        format!("expected `underpaid`, `unknown_hash` or nothing, found `{}`", word.text),
                    ))
                }
            };
            (vec![(0, pay)], used)
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
            let action = match line.words.get(4) {
                None => Action::Restart {
                    node,
                    stale_manager: false,
                },
                Some(word) if word.text == "stale_manager" => Action::Restart {
                    node,
                    stale_manager: true,
                },
                Some(word) if word.text == "lost_writes" => Action::RestartLosingWrites { node },
                Some(word) => {
                    return Err(line.error_at(
                        word.column,
                        format!(
                            "expected `stale_manager`, `lost_writes` or nothing, found `{}`",
                            word.text
                        ),
                    ))
                }
            };
            (vec![(0, action)], 5)
        }
        "lie" => {
            let node = node(3)?;
            let word = line.word(4, "what to lie about")?;
            let Some(lie) = crate::lies::Lie::ALL.into_iter().find(|l| l.name() == word.text) else {
                let names: Vec<&str> = crate::lies::Lie::ALL.iter().map(|l| l.name()).collect();
                return Err(line.error_at(
                    word.column,
                    format!("unknown lie `{}` (expected {})", word.text, names.join(", ")),
                ));
            };
            (vec![(0, Action::Lie { node, lie })], 5)
        }
        "feerate" => {
            let word = line.word(3, "a feerate")?;
            let feerate_per_kw = parse_feerate(line, word, word.text)?;
            (vec![(0, Action::FeeRate { feerate_per_kw })], 4)
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
        "break_ordering" => (
            vec![(
                0,
                Action::BreakOrdering {
                    a: node(3)?,
                    b: node(4)?,
                },
            )],
            5,
        ),
        "close" => (
            vec![(
                0,
                Action::Close {
                    a: node(3)?,
                    b: node(4)?,
                },
            )],
            5,
        ),
        "restore_ordering" => (
            vec![(
                0,
                Action::RestoreOrdering {
                    a: node(3)?,
                    b: node(4)?,
                },
            )],
            5,
        ),
        other => {
            return Err(line.error_at(
                verb.column,
                format!(
                    "unknown action `{other}` (expected pay, connect, disconnect, reconnect, pause_monitors, \
                     resume_monitors, save_manager, crash, restart, feerate, partition, heal, close, lie, \
                     break_ordering or restore_ordering)"
                ),
            ))
        }
    };
    line.no_more_after(used)?;
    Ok(actions)
}
