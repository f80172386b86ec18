//! Scenario scripts: a plain-text description of a run that a person writes and reads.
//!
//! The reference below is `docs/scenarios.md`; a test fails when the parser knows a
//! keyword it does not mention, or when one of its examples does not parse.
#![doc = include_str!("../../../docs/scenarios.md")]

use std::collections::BTreeMap;
use std::fmt;

use crate::clock::SimTime;
use crate::faults::{Generator, GeneratorKind};
use crate::latency::{InvalidLatency, Latency};
use crate::network::{Action, FailureKind, Network, NetworkConfig, PaymentTally, ScriptLine, Violation};

mod check;
mod parse;
#[cfg(test)]
mod tests;
mod write;

pub use write::{action_text, at_line};

/// Why no node would open a channel of `capacity_satoshis`, if none would (for
/// importers of other formats).
pub fn check_capacity(capacity_satoshis: u64) -> Result<(), String> {
    check::capacity(capacity_satoshis)
}

/// How long the liveness phase may take unless the script says (`settle`): this, or six
/// block intervals if longer (a funding needs three blocks to be usable).
pub const DEFAULT_SETTLE_MS: u64 = 10 * 60_000;

/// The fee estimate nodes start with, and a spike's default base.
pub const DEFAULT_FEERATE_PER_KW: u32 = 253;

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
    /// What the funder gives the peer at the start.
    pub push_msat: u64,
    /// The `channel` line: a refused opening, or a channel never ready, names it.
    pub line: usize,
}

/// An action an `at` line schedules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedAction {
    /// When.
    pub at: SimTime,
    /// What.
    pub action: Action,
    /// Its line, and what the line says of a refusal.
    pub origin: ScriptLine,
    /// The column of the action's verb, for errors found after parsing.
    pub column: usize,
    /// The column of its time.
    pub time_column: usize,
}

/// A payment count an `expect` line compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Payments handed to a payer.
    Dispatched,
    /// Payments whose payer learned the preimage.
    Sent,
    /// Payments failed back to the payer.
    Failed,
    /// Payments the payer refused at once.
    Refused,
}

/// How an `expect` line compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `>=`
    AtLeast,
    /// `<=`
    AtMost,
    /// `==`
    Exactly,
}

/// `expect METRIC OP VALUE[%]`: checked once the run has settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// What is counted.
    pub metric: Metric,
    /// How.
    pub comparison: Comparison,
    /// Against what: a count, or a percentage of the payments dispatched (less those a
    /// lie or a restart made impossible by failing their channel on purpose).
    pub value: u64,
    /// Whether `value` is a percentage.
    pub percent: bool,
    /// The script line, for the report.
    pub line: usize,
}

impl Expectation {
    /// What a percentage is of: the payments that could go through
    /// ([`PaymentTally::impossible`] are left out: refused because a fault failed their
    /// channel or downed a node, made for the payee to reject, left to the chain). A
    /// count is over every payment dispatched.
    pub fn base(&self, tally: &PaymentTally) -> u64 {
        if self.percent {
            tally.dispatched - tally.impossible
        } else {
            tally.dispatched
        }
    }

    /// The fewest payments over which failing this expectation means something: for
    /// `>= P%`, enough that one payment alone cannot fail it; for `<= P%`, enough that
    /// one alone cannot break it; for `>= N`, N (fewer could never meet it).
    pub fn meaningful_base(&self) -> u64 {
        match (self.percent, self.comparison) {
            (true, Comparison::AtLeast) if self.value < 100 => 100u64.div_ceil(100 - self.value),
            (true, Comparison::AtMost) if self.value > 0 => 100u64.div_ceil(self.value),
            (false, Comparison::AtLeast) => self.value,
            (true, _) => u64::MAX,
            (false, _) => 0,
        }
    }

    /// Whether `other` checks the same thing (wherever its line is).
    pub fn same_check(&self, other: &Expectation) -> bool {
        (self.metric, self.comparison, self.value, self.percent)
            == (other.metric, other.comparison, other.value, other.percent)
    }

    /// Why the tally does not meet this expectation, if it does not.
    pub fn unmet(&self, tally: &PaymentTally) -> Option<String> {
        let (name, actual) = match self.metric {
            Metric::Dispatched => ("dispatched", tally.dispatched),
            Metric::Sent => ("sent", tally.sent),
            Metric::Failed => ("failed", tally.failed),
            Metric::Refused => ("refused", tally.refused),
        };
        // Percentages compare actual * 100 against value * base: no rounding.
        let base = self.base(tally);
        if self.percent && base == 0 {
            // A percentage of nothing holds whatever happened: it tested nothing.
            return Some(format!(
                "expectation on line {} has nothing to count: no payment that could go through was dispatched \
                 ({} dispatched in all)",
                self.line, tally.dispatched
            ));
        }
        let (lhs, rhs) = if self.percent {
            (u128::from(actual) * 100, u128::from(self.value) * u128::from(base))
        } else {
            (u128::from(actual), u128::from(self.value))
        };
        let (holds, op) = match self.comparison {
            Comparison::AtLeast => (lhs >= rhs, ">="),
            Comparison::AtMost => (lhs <= rhs, "<="),
            Comparison::Exactly => (lhs == rhs, "=="),
        };
        (!holds).then(|| {
            format!(
                "expectation on line {} not met: {name} {op} {}{}, but {actual} of {} dispatched{} were {name}",
                self.line,
                self.value,
                if self.percent { "%" } else { "" },
                if self.percent { base } else { tally.dispatched },
                if self.percent { " that could go through" } else { "" },
            )
        })
    }
}

/// A parsed script.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// How many nodes.
    pub node_count: usize,
    /// The seed runs use unless told otherwise.
    pub seed: Option<u64>,
    /// Every link's delay.
    pub latency: Latency,
    /// Extra delay, uniform up to this.
    pub jitter_ms: u64,
    /// Links with their own delay, by pair (lower node first): (latency, jitter).
    pub link_overrides: BTreeMap<(usize, usize), (Latency, u64)>,
    /// Time between blocks.
    pub block_interval_ms: u64,
    /// After how long nodes redial a lost channel peer, if they do.
    pub redial_ms: Option<u64>,
    /// Channels opened at the start (connections made at time zero, opens one second
    /// later).
    pub channels: Vec<ChannelSpec>,
    /// Timed actions, in script order.
    pub actions: Vec<ScriptedAction>,
    /// Random faults and payments during the run, from `warmup_ms` on.
    pub generators: Vec<Generator>,
    /// Before this, no random fault or payment (channels open and confirm in peace).
    pub warmup_ms: u64,
    /// How long the run (the fault window) lasts.
    pub duration_ms: u64,
    /// How long the liveness phase after it may take.
    pub settle_ms: u64,
    /// What must hold of the payments at the end.
    pub expectations: Vec<Expectation>,
    /// Settings of nodes' channel policies the script fixes (`node N config ...`).
    pub node_policies: BTreeMap<usize, Vec<crate::swarm::PolicyField>>,
    /// Whether each node's policy is drawn from the seed (`swarm on`, the default) or
    /// the library's defaults (`swarm off`).
    pub swarm: bool,
    /// Whether every fault generator runs (`fault_mix all`) or a mix drawn from the seed
    /// (`fault_mix drawn`, the default).
    pub all_faults: bool,
    /// How long payees hold an HTLC before claiming it (`payee_hold 0s..2s`).
    pub payee_hold_ms: Option<(u64, u64)>,
    /// Forwarding policies per direction (sender, peer) set on channels as they become
    /// ready (an imported SimLN network's).
    pub channel_policies: BTreeMap<(usize, usize), lightning::chan::manager::forward::ForwardingPolicy>,
}

/// A finished run: the network as it ended and what, if anything, went wrong.
pub struct RunOutcome {
    /// The network.
    pub network: Network,
    /// The broken invariant, liveness failure or unmet expectation that ended the run.
    pub violation: Option<Violation>,
}

impl Scenario {
    /// The seed to run with: `given`, else the script's, else 0.
    pub fn seed_or(&self, given: Option<u64>) -> u64 {
        given.or(self.seed).unwrap_or(0)
    }

    /// The network's configuration under `seed`.
    #[allow(clippy::needless_update)]
    pub fn network_config(&self, seed: u64) -> NetworkConfig {
        NetworkConfig {
            seed,
            node_count: self.node_count,
            latency: self.latency,
            jitter_ms: self.jitter_ms,
            block_interval_ms: self.block_interval_ms,
            redial_ms: self.redial_ms,
            link_overrides: self.link_overrides.clone(),
            swarm: self.swarm,
            policy_overrides: self.node_policies.clone(),
            payee_hold_ms: self.payee_hold_ms,
            channel_policies: self.channel_policies.clone(),
            // Fills `planted_bug` when that feature is on.
            ..NetworkConfig::default()
        }
    }

    /// The network this scenario describes under `seed`, with everything scheduled.
    pub fn build(&self, seed: u64) -> Result<Network, InvalidLatency> {
        self.build_with(self.network_config(seed))
    }

    /// As [`Scenario::build`], with the configuration given (a harness may change it).
    pub fn build_with(&self, config: NetworkConfig) -> Result<Network, InvalidLatency> {
        let mut network = Network::new(config)?;
        for channel in &self.channels {
            let origin = ScriptLine {
                line: channel.line,
                refusal: Default::default(),
            };
            network.schedule_channel(
                SimTime::ZERO,
                channel.from,
                channel.to,
                channel.capacity_satoshis,
                channel.push_msat,
                Some(origin),
            );
        }
        for scripted in &self.actions {
            network.schedule_scripted(scripted.at, scripted.action.clone(), scripted.origin);
        }
        let faults = self
            .generators
            .iter()
            .filter(|g| matches!(g.kind, GeneratorKind::Fault(_)))
            .count();
        let mut mix = crate::swarm::drawn_fault_mix(network.seed(), faults).into_iter();
        for generator in &self.generators {
            let runs = match generator.kind {
                GeneratorKind::Traffic(_) => true,
                GeneratorKind::Fault(_) => mix.next().unwrap_or(true) || self.all_faults,
            };
            if runs {
                network.add_generator(*generator, SimTime(self.warmup_ms), SimTime(self.duration_ms));
            } else {
                network.note_fault_left_out(*generator);
            }
        }
        Ok(network)
    }

    /// The whole run under `seed`: the fault window, the liveness phase, the
    /// expectations.
    pub fn run(&self, seed: u64) -> Result<RunOutcome, InvalidLatency> {
        self.run_with(self.network_config(seed))
    }

    /// As [`Scenario::run`], with the configuration given.
    pub fn run_with(&self, config: NetworkConfig) -> Result<RunOutcome, InvalidLatency> {
        self.run_observed(config, &mut |_| {})
    }

    /// As [`Scenario::run_with`], calling `progress` with the simulated time reached
    /// now and then during the fault window (a run's result does not depend on it).
    pub fn run_observed(
        &self,
        config: NetworkConfig,
        progress: &mut dyn FnMut(SimTime),
    ) -> Result<RunOutcome, InvalidLatency> {
        let mut network = self.build_with(config)?;
        const SLICES: u64 = 100;
        let mut run = || -> Result<(), Violation> {
            // Events up to each slice's end, in order: the same events as one call.
            for slice in 1..=SLICES {
                let end = SimTime(self.duration_ms / SLICES * slice);
                network.run_until(end)?;
                progress(end);
            }
            network.run_until(SimTime(self.duration_ms))?;
            network.settle(self.settle_ms)?;
            if let Some(unopened) = network.unopened_channel() {
                return Err(unopened);
            }
            let tally = network.tally();
            match self.expectations.iter().find_map(|e| e.unmet(&tally)) {
                Some(why) => Err(network.violation(FailureKind::Expectation, why)),
                None => Ok(()),
            }
        };
        let violation = run().err();
        Ok(RunOutcome { network, violation })
    }
}
