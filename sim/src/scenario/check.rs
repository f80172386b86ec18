//! What a script asks that cannot happen, found before anything runs: channels no node
//! would open, more channels to one peer than it accepts at once, and actions on a node
//! or link in a state that refuses them (a restart of a running node, a payment with no
//! channel). What only a run can tell is checked at run time: a scripted action that is
//! refused there fails the run at its line.
//!
//! Only actions the script asks for plainly are checked; one that ends in `refused` or
//! `maybe_refused` says the script expects (or allows) the refusal.

use std::collections::{BTreeMap, BTreeSet};

use lightning::chan::channel::establish::MAX_FUNDING_SATOSHIS_NO_LARGE;
use lightning::chan::channel::MIN_DUST_LIMIT_SATOSHIS;
use lightning::chan::commitment::{fee_for_weight, COMMITMENT_BASE_WEIGHT};
use lightning::chan::manager::handler::MAX_UNFUNDED_CHANNELS_PER_PEER;

use super::{Scenario, ScenarioError, ScriptedAction, DEFAULT_FEERATE_PER_KW};
use crate::network::{Action, Refusal};

/// The smallest channel any policy opens: the funder pays the first commitment's fee
/// at the lowest feerate and keeps more than the smallest reserve (the dust floor).
pub fn min_capacity_satoshis() -> u64 {
    fee_for_weight(DEFAULT_FEERATE_PER_KW, COMMITMENT_BASE_WEIGHT) + MIN_DUST_LIMIT_SATOSHIS + 1
}

/// Why no node would open a channel of `capacity_satoshis`, if none would.
pub(super) fn capacity(capacity_satoshis: u64) -> Result<(), String> {
    if capacity_satoshis > MAX_FUNDING_SATOSHIS_NO_LARGE {
        return Err(format!(
            "a channel holds at most {MAX_FUNDING_SATOSHIS_NO_LARGE} sat (without option_support_large_channel)"
        ));
    }
    let min = min_capacity_satoshis();
    if capacity_satoshis < min {
        return Err(format!(
            "a channel of {capacity_satoshis} sat cannot pay its first commitment's fee and keep a reserve: \
             at least {min} sat"
        ));
    }
    Ok(())
}

/// What the script's own statements say of each node and link at a point in time.
#[derive(Default)]
struct State {
    /// Crashed nodes, with the line that crashed each.
    down: BTreeMap<usize, usize>,
    /// Nodes that saved their manager.
    saved: BTreeSet<usize>,
    /// Nodes whose monitors are paused.
    paused: BTreeSet<usize>,
    /// Links (lower node first) whose ordering is broken.
    unordered: BTreeSet<(usize, usize)>,
    /// The line of the partition in force.
    partition: Option<usize>,
    /// Open channels per pair (lower node first), and the line that closed the last.
    channels: BTreeMap<(usize, usize), usize>,
    closed_on: BTreeMap<(usize, usize), usize>,
    /// Pairs a channel or a `connect` ever joined.
    met: BTreeSet<(usize, usize)>,
    /// Pairs a `channel` statement joins.
    met_by_channel: BTreeSet<(usize, usize)>,
}

/// Why `action` needs a channel, or a path of channels, between nodes none ever joins,
/// if it does.
fn never_joined(action: &Action, channels: &BTreeSet<(usize, usize)>) -> Option<String> {
    let (a, b) = match *action {
        Action::Pay { from, to, .. } => {
            return (!reachable(channels.iter().copied(), from, to))
                .then(|| format!("no path of channels ever joins nodes {from} and {to}"));
        }
        Action::PayMost { from, to } | Action::PayWrong { from, to, .. } => (from, to),
        Action::Close { a, b } => (a, b),
        _ => return None,
    };
    (!channels.contains(&pair(a, b))).then(|| format!("no channel ever joins nodes {a} and {b}"))
}

/// Whether `to` is reachable from `from` over `pairs` (either way).
fn reachable(pairs: impl Iterator<Item = (usize, usize)> + Clone, from: usize, to: usize) -> bool {
    let mut seen = BTreeSet::from([from]);
    let mut frontier = vec![from];
    while let Some(node) = frontier.pop() {
        if node == to {
            return true;
        }
        for (a, b) in pairs.clone() {
            let next = if a == node {
                b
            } else if b == node {
                a
            } else {
                continue;
            };
            if seen.insert(next) {
                frontier.push(next);
            }
        }
    }
    false
}

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl State {
    /// Why `action` would be refused now, if the script shows it.
    fn refusal(&self, action: &Action) -> Option<String> {
        let down = |node: &usize| {
            self.down
                .get(node)
                .map(|line| format!("node {node} is down (crashed on line {line}, not restarted)"))
        };
        let channel = |a: usize, b: usize, what: &str| {
            if self.channels.get(&pair(a, b)).copied().unwrap_or(0) > 0 {
                return None;
            }
            Some(match self.closed_on.get(&pair(a, b)) {
                Some(line) => format!("the channel between nodes {a} and {b} was closed on line {line}: no {what}"),
                None => format!("no channel between nodes {a} and {b}: a {what} reaches only a channel peer"),
            })
        };
        let open = self
            .channels
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(pair, _)| *pair);
        match action {
            Action::Pay { from, to, .. } => down(from).or_else(|| down(to)).or_else(|| {
                if reachable(open, *from, *to) {
                    return None;
                }
                Some(match self.closed_on.get(&pair(*from, *to)) {
                    Some(line) => {
                        format!("the channel between nodes {from} and {to} was closed on line {line}: no payment")
                    }
                    None => format!("no path of open channels joins nodes {from} and {to}: a payment needs one"),
                })
            }),
            Action::PayMost { from, to } | Action::PayWrong { from, to, .. } => down(from)
                .or_else(|| down(to))
                .or_else(|| channel(*from, *to, "payment")),
            Action::Close { a, b } => down(a).or_else(|| down(b)).or_else(|| channel(*a, *b, "close")),
            Action::Connect { from, to } => down(from).or_else(|| down(to)),
            Action::Disconnect { a, b } => down(a).or_else(|| down(b)).or_else(|| {
                (!self.met.contains(&pair(*a, *b)))
                    .then(|| format!("nodes {a} and {b} are never connected (no channel, no earlier `connect`)"))
            }),
            Action::PauseMonitors { node } | Action::SaveManager { node } | Action::Lie { node, .. } => down(node),
            Action::ResumeMonitors { node } => down(node)
                .or_else(|| (!self.paused.contains(node)).then(|| format!("node {node}'s monitors are not paused"))),
            Action::Crash { node } => down(node),
            Action::Restart { node, stale_manager } => {
                if !self.down.contains_key(node) {
                    Some(format!("node {node} is running: a restart follows a crash"))
                } else if *stale_manager && !self.saved.contains(node) {
                    Some(format!(
                        "node {node} never saved its manager: `restart {node} stale_manager` needs an earlier \
                         `save_manager {node}`"
                    ))
                } else {
                    None
                }
            }
            Action::RestartLosingWrites { node } => {
                (!self.down.contains_key(node)).then(|| format!("node {node} is running: a restart follows a crash"))
            }
            Action::Heal => self.partition.is_none().then(|| "nothing is partitioned".to_string()),
            Action::Partition { .. } => self
                .partition
                .map(|line| format!("the partition of line {line} is still in force (`heal` first)")),
            Action::RestoreOrdering { a, b } => (!self.unordered.contains(&pair(*a, *b)))
                .then(|| format!("the link between nodes {a} and {b} keeps order already")),
            Action::BreakOrdering { .. } | Action::FeeRate { .. } | Action::OpenChannel { .. } => None,
        }
    }

    /// The script's view after `action`, carried out on `line`.
    fn apply(&mut self, action: &Action, line: usize) {
        match action {
            Action::Crash { node } => {
                self.down.insert(*node, line);
            }
            Action::Restart { node, .. } | Action::RestartLosingWrites { node } => {
                self.down.remove(node);
                self.paused.remove(node);
            }
            Action::SaveManager { node } => {
                self.saved.insert(*node);
            }
            Action::PauseMonitors { node } => {
                self.paused.insert(*node);
            }
            Action::ResumeMonitors { node } => {
                self.paused.remove(node);
            }
            Action::Partition { .. } => self.partition = Some(line),
            Action::Heal => self.partition = None,
            Action::BreakOrdering { a, b } => {
                self.unordered.insert(pair(*a, *b));
            }
            Action::RestoreOrdering { a, b } => {
                self.unordered.remove(&pair(*a, *b));
            }
            Action::Connect { from, to } => {
                self.met.insert(pair(*from, *to));
            }
            Action::Close { a, b } => {
                if let Some(count) = self.channels.get_mut(&pair(*a, *b)) {
                    *count = count.saturating_sub(1);
                    self.closed_on.insert(pair(*a, *b), line);
                }
            }
            _ => {}
        }
    }
}

/// Checks a parsed script for what cannot happen.
pub(super) fn script(file: &str, scenario: &Scenario) -> Result<(), ScenarioError> {
    let error = |line: usize, column: usize, message: String| ScenarioError {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let mut state = State::default();
    // Every channel opens at the start: a node holds at most so many from one peer
    // awaiting funding, and refuses the next.
    let mut per_direction: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for channel in &scenario.channels {
        let count = per_direction.entry((channel.from, channel.to)).or_default();
        *count += 1;
        if *count > MAX_UNFUNDED_CHANNELS_PER_PEER {
            return Err(error(
                channel.line,
                1,
                format!(
                    "node {} accepts at most {MAX_UNFUNDED_CHANNELS_PER_PEER} channels from one peer awaiting \
                     funding, and every `channel` opens at the start: this is number {count} from node {}",
                    channel.to, channel.from
                ),
            ));
        }
        *state.channels.entry(pair(channel.from, channel.to)).or_default() += 1;
        state.met.insert(pair(channel.from, channel.to));
        state.met_by_channel.insert(pair(channel.from, channel.to));
    }
    // In the order they run: by time, then script order (ties run in script order).
    let mut actions: Vec<&ScriptedAction> = scenario.actions.iter().collect();
    actions.sort_by_key(|a| a.at);
    for scripted in actions {
        // A payment or close between nodes no channel ever joins cannot happen, whatever
        // the faults: even a line that allows a refusal is a mistake (unless it expects
        // one).
        if scripted.origin.refusal == Refusal::Tolerated {
            if let Some(why) = never_joined(&scripted.action, &state.met_by_channel) {
                return Err(error(scripted.origin.line, scripted.column, why));
            }
        }
        let refusal = state.refusal(&scripted.action);
        match (scripted.origin.refusal, refusal) {
            (Refusal::Fails, Some(why)) => {
                return Err(error(
                    scripted.origin.line,
                    scripted.column,
                    format!("{why} (end the line with `refused` if that is what it tests)"),
                ))
            }
            (_, None) => state.apply(&scripted.action, scripted.origin.line),
            (_, Some(_)) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_channel_is_the_fee_and_the_dust_reserve() {
        // 253 sat/kw on 724 weight units is 183 sat; the reserve floor is 354 sat.
        assert_eq!(min_capacity_satoshis(), 183 + 354 + 1);
        assert!(capacity(min_capacity_satoshis()).is_ok());
        assert!(capacity(min_capacity_satoshis() - 1).is_err());
        assert!(capacity(MAX_FUNDING_SATOSHIS_NO_LARGE).is_ok());
        assert!(capacity(MAX_FUNDING_SATOSHIS_NO_LARGE + 1).is_err());
    }
}
