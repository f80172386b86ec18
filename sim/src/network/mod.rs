//! Many nodes on one virtual clock: bytes cross links with sampled delays and TCP's
//! ordering, blocks arrive at an interval, a wallet funds channels, payees claim what
//! they are paid, and every happening is written to the trace.
//!
//! Determinism: nodes, links and streams are kept in `BTreeMap`s and `Vec`s, all
//! randomness comes from [`SimRng`] streams of the one seed, and ties on the clock are
//! broken by scheduling order, so a seed always gives the same trace.

use std::collections::{BTreeMap, BTreeSet};

use lightning::bitcoin::hashes::{sha256, Hash, HashEngine};
use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::events::Event;
use lightning::transport::PeerId;
use lightning::wire::{ChannelId, PaymentHash};

use crate::clock::{EventQueue, SimTime};
use crate::faults::Generator;
use crate::latency::{InvalidLatency, Latency, OrderedLink};
use crate::lies::{Lie, Told};
use crate::node::{node_with_config, Node};
use crate::rng::{SimRng, StreamId};
use crate::swarm::PolicyField;
use crate::wallet::fund_channel;
use chain::Chain;
pub use payments::{PaymentOutcome, PaymentRecord, PaymentTally};

/// The network's shape and pace.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The run's seed: every random choice derives from it.
    pub seed: u64,
    /// How many nodes.
    pub node_count: usize,
    /// Every link's delay.
    pub latency: Latency,
    /// Extra delay, uniform up to this.
    pub jitter_ms: u64,
    /// Time between blocks.
    pub block_interval_ms: u64,
    /// After how long a node redials a channel peer whose connection dropped (`None`:
    /// only scripted connects). A restarted node redials all its channel peers.
    pub redial_ms: Option<u64>,
    /// Links whose delay differs from `latency` and `jitter_ms`: (latency, jitter) by
    /// pair, lower node first; both directions.
    pub link_overrides: BTreeMap<(usize, usize), (Latency, u64)>,
    /// Whether each node's channel policy is drawn from the seed ([`crate::swarm`]);
    /// otherwise every node has the library's defaults.
    pub swarm: bool,
    /// Settings the script fixes, by node, over the drawn or default policy.
    pub policy_overrides: BTreeMap<usize, Vec<PolicyField>>,
    /// How long a payee holds an HTLC before claiming it: uniform in this range (ms),
    /// or claimed at once.
    pub payee_hold_ms: Option<(u64, u64)>,
    /// Forwarding policies per direction (sender, peer), set on a channel when it
    /// becomes ready; a node's own policy elsewhere.
    pub channel_policies: BTreeMap<(usize, usize), lightning::chan::manager::forward::ForwardingPolicy>,
    /// A deliberate library bug every node runs with.
    #[cfg(feature = "planted-bugs")]
    pub planted_bug: Option<lightning::chan::manager::PlantedBug>,
}

impl Default for NetworkConfig {
    /// Two nodes, 50 ms links, ten-minute blocks, no redialling.
    fn default() -> Self {
        NetworkConfig {
            seed: 0,
            node_count: 2,
            latency: Latency::Constant { ms: 50 },
            jitter_ms: 0,
            block_interval_ms: 600_000,
            redial_ms: None,
            link_overrides: BTreeMap::new(),
            swarm: false,
            policy_overrides: BTreeMap::new(),
            payee_hold_ms: None,
            channel_policies: BTreeMap::new(),
            #[cfg(feature = "planted-bugs")]
            planted_bug: None,
        }
    }
}

/// Something the simulation can be told to do at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Node `from` connects to node `to`.
    Connect { from: usize, to: usize },
    /// Node `from` opens a channel to its connected peer `to`.
    OpenChannel {
        from: usize,
        to: usize,
        funding_satoshis: u64,
        /// Given to the peer at the start.
        push_msat: u64,
    },
    /// Node `from` pays its channel peer `to`.
    Pay { from: usize, to: usize, amount_msat: u64 },
    /// Node `from` pays `to` exactly the most its first usable channel with `to` can
    /// send now: a funder drained to its reserve and the fee of one more HTLC.
    PayMost { from: usize, to: usize },
    /// The connection between `a` and `b` drops; bytes in flight are lost.
    Disconnect { a: usize, b: usize },
    /// Node `node`'s monitor persistence answers InProgress from now on.
    PauseMonitors { node: usize },
    /// Node `node`'s held monitor updates become durable; the manager hears of them in
    /// an order drawn from the fault stream, and new updates complete at once again.
    ResumeMonitors { node: usize },
    /// Node `node` writes its channel manager to disk (a later restart may load it).
    SaveManager { node: usize },
    /// Node `node` stops: its connections drop, held monitor updates are lost.
    Crash { node: usize },
    /// Node `node` starts again from its durable monitors and either the manager as it
    /// was at the crash or the last one it saved (stale).
    Restart { node: usize, stale_manager: bool },
    /// Every node's fee estimate moves to `feerate_per_kw` (a spike, or its end).
    FeeRate { feerate_per_kw: u32 },
    /// The nodes in `side` are cut off from the rest: connections across drop, and none
    /// can be made until [`Action::Heal`].
    Partition { side: Vec<usize> },
    /// The partition ends and every connection it cut is made again.
    Heal,
    /// The connection between `a` and `b` stops keeping TCP's order: bytes may overtake
    /// earlier bytes (both directions).
    BreakOrdering { a: usize, b: usize },
    /// The connection between `a` and `b` keeps order again.
    RestoreOrdering { a: usize, b: usize },
    /// Node `a` starts a cooperative close of its open channel with `b`.
    Close { a: usize, b: usize },
    /// Node `node` lies in the next message that carries `lie`'s field.
    Lie { node: usize, lie: Lie },
    /// Node `node` (crashed) starts again from its latest manager and the monitors as
    /// they were at its previous start: storage lost the writes since, which it must
    /// notice.
    RestartLosingWrites { node: usize },
    /// Node `from` pays `to` a payment `to` must reject: one msat less than the invoice
    /// of `amount_msat` asks, or (`unknown_hash`) to a hash `to` never made.
    PayWrong {
        from: usize,
        to: usize,
        amount_msat: u64,
        unknown_hash: bool,
    },
}

#[derive(Debug)]
enum SimEvent {
    /// Bytes on connection number `connection` of the pair, sent at `sent`, with the
    /// lies they carry.
    Deliver {
        from: usize,
        to: usize,
        connection: u64,
        sent: SimTime,
        bytes: Vec<u8>,
        told: Vec<Told>,
    },
    /// Node `node` claims the payment it held.
    Claim {
        node: usize,
        payment_hash: PaymentHash,
    },
    Block,
    /// An action, with the script line that asked for it (none if a fault drew it).
    Act(Action, Option<ScriptLine>),
    /// Random generator number `n` fires.
    Generate(usize),
    /// One of `node`'s monitor updates held in progress completes: which one, the fault
    /// stream picks.
    CompleteOneUpdate {
        node: usize,
    },
}

/// How often a channel open waiting for its connection's `init` looks again.
const OPEN_RETRY_MS: u64 = 100;

/// How long a channel open waits for its connection's `init` before it is tried (and
/// refused) anyway.
pub const OPEN_WAIT_MAX_MS: u64 = 60_000;

/// The most milliseconds between two completions of a resumed node's held monitor
/// updates: a storage catching up reports them one by one, in no particular order, and
/// messages go out between them.
const COMPLETION_SPACING_MAX_MS: u64 = 20;

/// Where a scheduled action came from in a script, and what its refusal would mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptLine {
    /// The 1-based line of the `at` or `channel` statement.
    pub line: usize,
    /// What the script says of a refusal.
    pub refusal: Refusal,
}

/// What a script says of an action's refusal (a word at the end of its `at` line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing: the script asked for it, so a refusal fails the run.
    #[default]
    Fails,
    /// `refused`: the action must be refused; carried out, it fails the run.
    Expected,
    /// `maybe_refused`: either is fine (faults drawn at random may make it impossible).
    Tolerated,
}

/// What kind of check a failed run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// A safety invariant checked after every event (the ends of a channel disagree, a
    /// revoked state on disk, money created...).
    Invariant,
    /// The network did not go quiet after healing: a payment or HTLC left hanging, a
    /// channel not usable.
    Liveness,
    /// An `expect` line did not hold, or had nothing to count.
    Expectation,
    /// Something the script asked for explicitly was refused (or carried out when the
    /// script said it would be refused), or a scripted channel never opened.
    Refusal,
}

impl FailureKind {
    /// Its name in summaries and reports: `invariant`, `liveness`, `expectation`, `refusal`.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Invariant => "invariant",
            FailureKind::Liveness => "liveness",
            FailureKind::Expectation => "expectation",
            FailureKind::Refusal => "refusal",
        }
    }

    /// How a person is told: `INVARIANT BROKEN`, `LIVENESS FAILED`, ...
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Invariant => "INVARIANT BROKEN",
            FailureKind::Liveness => "LIVENESS FAILED",
            FailureKind::Expectation => "EXPECTATION NOT MET",
            FailureKind::Refusal => "SCRIPTED ACTION REFUSED",
        }
    }
}

/// A failed check: the run stops there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What kind of check failed.
    pub kind: FailureKind,
    /// The run's seed, to replay it.
    pub seed: u64,
    /// When.
    pub at: SimTime,
    /// What broke.
    pub invariant: String,
    /// The trace's last lines before it.
    pub last_events: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "seed {} at {}: {}", self.seed, self.at, self.invariant)?;
        for line in &self.last_events {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// `action` as a person reads it in a failure: its script text, or what the channel
/// statement opens.
fn described(action: &Action) -> String {
    match (action, crate::scenario::action_text(action)) {
        (_, Some(text)) => format!("`{text}`"),
        (
            Action::OpenChannel {
                from,
                to,
                funding_satoshis,
                ..
            },
            None,
        ) => format!("the channel {from} -> {to} of {funding_satoshis} sat"),
        (_, None) => format!("{action:?}"),
    }
}

/// Why a scripted action's outcome fails the run, if it does: refused when the script
/// asked for it, or carried out when the script said it would be refused.
fn scripted_refusal(origin: ScriptLine, action: &str, outcome: Result<(), String>) -> Option<String> {
    let line = origin.line;
    match (origin.refusal, outcome) {
        (Refusal::Fails, Err(why)) => Some(format!("line {line}: {action} was refused: {why}")),
        (Refusal::Expected, Ok(())) => Some(format!(
            "line {line}: {action} was carried out, but the script expects it refused"
        )),
        _ => None,
    }
}

/// What must hold of one channel whose link is quiet (nothing in flight either way):
/// both ends agree on every commitment and HTLC, and each end's balances plus HTLCs add
/// up to the channel's value.
pub fn quiet_channel_violations(
    a: &ChannelSnapshot,
    a_total_msat: u64,
    b: &ChannelSnapshot,
    b_total_msat: u64,
    value_msat: u64,
) -> Vec<String> {
    let mut violations: Vec<String> = a
        .diff_against_peer(b)
        .into_iter()
        .map(|d| format!("ends disagree: {d}"))
        .collect();
    for (end, total) in [("first", a_total_msat), ("second", b_total_msat)] {
        if total != value_msat {
            violations.push(format!("{end} end holds {total} msat of a {value_msat} msat channel"));
        }
    }
    violations
}

/// The simulated network.
pub struct Network {
    config: NetworkConfig,
    queue: EventQueue<SimEvent>,
    nodes: Vec<Node>,
    /// One direction of each connection, by (from, to).
    links: BTreeMap<(usize, usize), OrderedLink>,
    link_rngs: BTreeMap<(usize, usize), SimRng>,
    chain: Chain,
    /// How many of each node's broadcasts the mempool has been offered (a restarted
    /// node's broadcaster starts empty).
    broadcasts_taken: Vec<usize>,
    trace: Vec<String>,
    tally: PaymentTally,
    /// Deliveries scheduled and not yet made, by (from, to).
    in_flight: BTreeMap<(usize, usize), usize>,
    /// Connections made so far: numbers each, so bytes of a dropped connection are
    /// never delivered on the next.
    connections_made: u64,
    /// The live connection's number, by (from, to).
    live: BTreeMap<(usize, usize), u64>,
    faults_rng: SimRng,
    /// Each node's key seed, kept for restarts.
    keys_seeds: Vec<[u8; 32]>,
    /// Each node's entropy stream, for fresh transport entropy on restart.
    node_rngs: Vec<SimRng>,
    /// Managers as each node last saved them.
    saved_managers: BTreeMap<usize, Vec<u8>>,
    /// Managers as they were at each crash.
    crash_managers: BTreeMap<usize, Vec<u8>>,
    crashed: BTreeSet<usize>,
    partition: Option<Partition>,
    payments: Vec<PaymentRecord>,
    /// Nodes whose state, or whose links, changed since the invariants were last checked:
    /// only pairs with one of them can have changed.
    touched: BTreeSet<usize>,
    /// Random faults and payments, fired until `window_end`.
    generators: Vec<Generator>,
    generated: Vec<(SimTime, Action)>,
    window_end: SimTime,
    traffic_rng: SimRng,
    /// Every pair with a channel, as (funder, peer): the funder redials.
    channel_peers: BTreeSet<(usize, usize)>,
    /// Channels a script opens, as (funder, peer, line): each must become ready.
    scripted_channels: Vec<(usize, usize, usize)>,
    /// Channels that became ready, as (funder, peer, id).
    ready_channels: BTreeSet<(usize, usize, ChannelId)>,
    /// How long opens have waited for their connection's `init`, by (funder, peer).
    open_waits: BTreeMap<(usize, usize), u64>,
    /// Directions whose bytes may overtake earlier bytes.
    unordered: BTreeSet<(usize, usize)>,
    /// Events handled so far.
    events_processed: u64,
    /// The highest fee estimate any node has been given: what a cooperative close is
    /// judged against (a close agreed just before the estimate fell paid the old one).
    fee_estimate_max_per_kw: u32,
    /// A broken invariant seen while handling the event (a broadcast), reported at its end.
    broken_while_handling: Option<String>,
    /// Each node's durable monitors as they were at its latest start: what storage that
    /// loses writes comes back with.
    monitors_at_start: Vec<BTreeMap<ChannelId, lightning::chain::ChannelMonitor>>,
    /// Channels a script or fault may close: lied on, dropped at a restart, or belonging
    /// to a node restarted stale. Any other close but a cooperative one is a violation.
    excused_channels: BTreeSet<ChannelId>,
    /// The pairs of nodes (lower first) with an excused channel: a payment between them
    /// may resolve only on chain, which is not simulated.
    excused_pairs: BTreeSet<(usize, usize)>,
    /// Payments their payee must reject: claiming one is a violation.
    must_reject: BTreeSet<PaymentHash>,
    /// Every public channel and its policies as the nodes announced them when ready:
    /// what payers route over (one graph for the whole network, as gossip would give;
    /// what payments teach it is shared too).
    router: lightning::routing::DefaultRouter,
    /// Each channel's short id in the router's graph.
    graph_channels: BTreeMap<ChannelId, lightning::wire::ShortChannelId>,
    /// Each node's books, checked once quiet.
    books: Vec<books::Books>,
}

/// The most a cooperative close may pay, in percent of what the highest fee estimate
/// asks for the closing transaction's own weight. The funder offers the estimate's fee
/// for a transaction with both outputs and 73-byte signatures; one output left out as
/// dust makes the transaction up to about a quarter lighter, never half.
pub const CLOSING_FEE_MAX_ESTIMATE_PERCENT: u64 = 150;

/// Why cooperative close `tx`, spending `input_satoshis`, pays more fee than
/// [`CLOSING_FEE_MAX_ESTIMATE_PERCENT`] of what `fee_estimate_per_kw` asks for its weight.
pub fn overpaid_close(
    tx: &lightning::bitcoin::Transaction,
    input_satoshis: u64,
    fee_estimate_per_kw: u32,
) -> Option<String> {
    let output_satoshis: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    let fee_satoshis = input_satoshis.saturating_sub(output_satoshis);
    let weight = tx.weight().to_wu();
    let estimate_fee_satoshis = u64::from(fee_estimate_per_kw) * weight / 1000;
    let bound_satoshis = estimate_fee_satoshis * CLOSING_FEE_MAX_ESTIMATE_PERCENT / 100;
    (fee_satoshis > bound_satoshis).then(|| {
        format!(
            "cooperative close {} pays {fee_satoshis} sat of fee for {weight} WU, more than \
             {CLOSING_FEE_MAX_ESTIMATE_PERCENT}% of the {estimate_fee_satoshis} sat the highest estimate \
             ({fee_estimate_per_kw} sat/kW) asks",
            tx.compute_txid()
        )
    })
}

/// Whether `tx` is a cooperative close: one input at the final sequence, no lock time
/// (a commitment's lock time and sequence carry its obscured number).
fn is_cooperative_close(tx: &lightning::bitcoin::Transaction) -> bool {
    use lightning::bitcoin::{absolute::LockTime, Sequence};
    tx.input.len() == 1 && tx.lock_time == LockTime::ZERO && tx.input[0].sequence == Sequence::MAX
}

/// A partition in force.
struct Partition {
    /// The nodes cut off from the rest.
    side: BTreeSet<usize>,
    /// The connections the cut dropped, made again on healing.
    cut: Vec<(usize, usize)>,
}

/// Trace lines a violation report carries.
const VIOLATION_CONTEXT_LINES: usize = 20;

/// Node `j` as node `i`'s connection id: one connection per pair.
fn conn(peer: usize) -> PeerId {
    PeerId(peer as u64)
}

impl Network {
    /// Nodes with keys from the seed, nothing connected, the first block due after one
    /// interval.
    pub fn new(config: NetworkConfig) -> Result<Self, InvalidLatency> {
        // Validate the link models once, up front, rather than at the first connection.
        OrderedLink::new(config.latency, config.jitter_ms)?;
        for (latency, jitter_ms) in config.link_overrides.values() {
            OrderedLink::new(*latency, *jitter_ms)?;
        }
        let mut node_rngs: Vec<SimRng> = (0..config.node_count)
            .map(|i| SimRng::new(config.seed, StreamId::Node(i as u32)))
            .collect();
        let keys_seeds: Vec<[u8; 32]> = node_rngs.iter_mut().map(|rng| rng.bytes32()).collect();
        let nodes = keys_seeds
            .iter()
            .zip(node_rngs.iter_mut())
            .enumerate()
            .map(|(i, (keys_seed, rng))| node_with_config(*keys_seed, rng.bytes32(), manager_config(&config, i), true))
            .collect();
        let fee_estimate_max_per_kw = (0..config.node_count)
            .map(|i| manager_config(&config, i).feerate_per_kw)
            .max()
            .unwrap_or(0);
        let mut queue = EventQueue::new();
        queue.schedule_in(config.block_interval_ms, SimEvent::Block);
        let (seed, node_count) = (config.seed, config.node_count);
        Ok(Network {
            config,
            queue,
            nodes,
            links: BTreeMap::new(),
            link_rngs: BTreeMap::new(),
            chain: Chain::new(),
            broadcasts_taken: vec![0; node_count],
            trace: Vec::new(),
            tally: PaymentTally::default(),
            in_flight: BTreeMap::new(),
            connections_made: 0,
            live: BTreeMap::new(),
            faults_rng: SimRng::new(seed, StreamId::Faults),
            keys_seeds,
            node_rngs,
            saved_managers: BTreeMap::new(),
            crash_managers: BTreeMap::new(),
            crashed: BTreeSet::new(),
            partition: None,
            payments: Vec::new(),
            touched: BTreeSet::new(),
            generators: Vec::new(),
            generated: Vec::new(),
            window_end: SimTime::ZERO,
            traffic_rng: SimRng::new(seed, StreamId::Workload),
            channel_peers: BTreeSet::new(),
            scripted_channels: Vec::new(),
            ready_channels: BTreeSet::new(),
            open_waits: BTreeMap::new(),
            unordered: BTreeSet::new(),
            events_processed: 0,
            fee_estimate_max_per_kw,
            broken_while_handling: None,
            monitors_at_start: vec![BTreeMap::new(); node_count],
            excused_channels: BTreeSet::new(),
            excused_pairs: BTreeSet::new(),
            must_reject: BTreeSet::new(),
            router: lightning::routing::DefaultRouter::default(),
            graph_channels: BTreeMap::new(),
            books: vec![books::Books::default(); node_count],
        })
    }

    /// Schedules `action` at `at`; a refusal is only traced.
    pub fn schedule(&mut self, at: SimTime, action: Action) {
        self.queue.schedule_at(at, SimEvent::Act(action, None));
    }

    /// Schedules `action` at `at` for script line `origin`: a refusal fails the run
    /// unless the line says it expects one.
    pub fn schedule_scripted(&mut self, at: SimTime, action: Action, origin: ScriptLine) {
        self.queue.schedule_at(at, SimEvent::Act(action, Some(origin)));
    }

    /// Schedules a channel from `from` to `to`: the connection at `at`, the open one
    /// second later (the handshake and `init` are done by then on any sane link). With a
    /// script line, a refused open fails the run, as does a channel never ready.
    pub fn schedule_channel(
        &mut self,
        at: SimTime,
        from: usize,
        to: usize,
        funding_satoshis: u64,
        push_msat: u64,
        origin: Option<ScriptLine>,
    ) {
        // The connection may already be up (a second channel to the same peer).
        self.schedule(at, Action::Connect { from, to });
        let open = Action::OpenChannel {
            from,
            to,
            funding_satoshis,
            push_msat,
        };
        match origin {
            Some(origin) => {
                self.scripted_channels.push((from, to, origin.line));
                self.schedule_scripted(at.after_ms(1_000), open, origin);
            }
            None => self.schedule(at.after_ms(1_000), open),
        }
    }

    /// Runs every event up to and including `end`, checking the invariants after each;
    /// stops at the first violation.
    pub fn run_until(&mut self, end: SimTime) -> Result<(), Violation> {
        while self.queue.next_time().is_some_and(|t| t <= end) {
            self.step()?;
        }
        Ok(())
    }

    /// Handles the next event and checks the invariants.
    fn step(&mut self) -> Result<(), Violation> {
        let Some((_, event)) = self.queue.pop() else {
            return Ok(());
        };
        self.events_processed += 1;
        match event {
            SimEvent::Deliver {
                from,
                to,
                connection,
                sent,
                bytes,
                told,
            } => self.deliver(from, to, connection, sent, &bytes, told),
            SimEvent::Claim { node, payment_hash } => self.claim(node, payment_hash),
            SimEvent::Block => self.block(),
            SimEvent::Act(action, origin) if self.awaiting_init(&action) => {
                // The connection is up but `init` is not through (a slow link): open once
                // it is, as a wallet waits for its peer before opening.
                self.queue.schedule_in(OPEN_RETRY_MS, SimEvent::Act(action, origin));
            }
            SimEvent::Act(action, origin) => {
                let text = origin.map(|_| described(&action));
                let outcome = self.act(action);
                if let (Some(origin), Some(text)) = (origin, text) {
                    if let Some(why) = scripted_refusal(origin, &text, outcome) {
                        return Err(self.violation(FailureKind::Refusal, why));
                    }
                }
            }
            SimEvent::Generate(index) => self.generate(index),
            SimEvent::CompleteOneUpdate { node } => self.complete_one_update(node),
        }
        match self.violated_invariant() {
            Some(invariant) => Err(self.violation(FailureKind::Invariant, invariant)),
            None => Ok(()),
        }
    }

    /// Whether `action` opens a channel over a connection still in its handshake or
    /// `init` exchange, and has waited less than [`OPEN_WAIT_MAX_MS`] for it.
    fn awaiting_init(&mut self, action: &Action) -> bool {
        let Action::OpenChannel { from, to, .. } = *action else {
            return false;
        };
        if self.crashed.contains(&from) || !self.live.contains_key(&(from, to)) {
            return false;
        }
        let peer = self.nodes[to].node_id();
        if self.nodes[from].connected_peers().iter().any(|(_, id)| *id == peer) {
            self.open_waits.remove(&(from, to));
            return false;
        }
        let waited_ms = self.open_waits.entry((from, to)).or_default();
        *waited_ms += OPEN_RETRY_MS;
        *waited_ms <= OPEN_WAIT_MAX_MS
    }

    /// A violation of `invariant` now, with the trace's last lines (also for checks
    /// made outside the run, such as a scenario's expectations).
    pub fn violation(&self, kind: FailureKind, invariant: String) -> Violation {
        let skip = self.trace.len().saturating_sub(VIOLATION_CONTEXT_LINES);
        Violation {
            kind,
            seed: self.config.seed,
            at: self.queue.now(),
            invariant,
            last_events: self.trace[skip..].to_vec(),
        }
    }

    /// The first broken invariant among channels whose link is quiet, checking only
    /// the pairs the last event touched.
    fn violated_invariant(&mut self) -> Option<String> {
        if let Some(broken) = self.broken_while_handling.take() {
            return Some(broken);
        }
        let touched = std::mem::take(&mut self.touched);
        let pairs: BTreeSet<(usize, usize)> = touched
            .iter()
            .flat_map(|&t| {
                (0..self.nodes.len())
                    .filter(move |&o| o != t)
                    .map(move |o| (t.min(o), t.max(o)))
            })
            .collect();
        for (a, b) in pairs {
            if let Some(broken) = self.revoked_state_on_disk(a, b) {
                return Some(broken);
            }
            if let Some(broken) = self.unenforceable_commitment(a, b) {
                return Some(broken);
            }
            // Quiet: connected, with nothing in flight either way. Across a dropped
            // connection the ends may differ until they reestablish.
            // Held monitor updates hold messages back, so they too make it busy.
            let busy = |from, to| self.in_flight.get(&(from, to)).copied().unwrap_or(0) > 0;
            let holding = |n: usize| !self.nodes[n].channel_handler().persister().in_progress.is_empty();
            if !self.live.contains_key(&(a, b)) || busy(a, b) || busy(b, a) || holding(a) || holding(b) {
                continue;
            }
            let (ma, mb) = (self.nodes[a].channel_handler(), self.nodes[b].channel_handler());
            for id in ma.channel_ids() {
                let (Some(ca), Some(cb)) = (ma.channel(&id), mb.channel(&id)) else {
                    continue;
                };
                // Before both ends have the funding signatures, the ends are not yet
                // comparable.
                let comparable = |phase| !matches!(phase, ChannelPhase::AwaitingFundingSigned);
                if !comparable(ca.phase()) || !comparable(cb.phase()) {
                    continue;
                }
                let violations = quiet_channel_violations(
                    &ChannelSnapshot::of(ca),
                    ca.holder_view().total_msat(),
                    &ChannelSnapshot::of(cb),
                    cb.holder_view().total_msat(),
                    ca.funding_satoshis() * 1000,
                );
                if let Some(first) = violations.into_iter().next() {
                    return Some(format!("channel {} between nodes {a} and {b}: {first}", hex(&id.0)));
                }
            }
        }
        None
    }

    /// A channel between `a` and `b` whose durable monitor at one end holds, as the
    /// commitment it would broadcast, one the other end already holds the revocation
    /// secret of: enforcing the channel from disk would broadcast a revoked state. A
    /// channel its node no longer runs is left out: it dropped it at a restart that found
    /// the monitor lacking (storage lost writes), and broadcasts nothing from it.
    fn revoked_state_on_disk(&self, a: usize, b: usize) -> Option<String> {
        for (x, y) in [(a, b), (b, a)] {
            let manager = self.nodes[x].channel_handler();
            let monitors = &manager.persister().monitors;
            let peer = self.nodes[y].channel_handler();
            for (id, monitor) in monitors {
                if manager.channel(id).is_none() {
                    continue;
                }
                let (Some(holder), Some(channel)) = (monitor.holder_commitment(), peer.channel(id)) else {
                    continue;
                };
                if channel.holds_counterparty_secret(holder.commitment_number) {
                    return Some(format!(
                        "channel {} between nodes {a} and {b}: node {x}'s monitor would broadcast its \
                         commitment {}, which node {y} holds the revocation secret of",
                        hex(&id.0),
                        holder.commitment_number
                    ));
                }
            }
        }
        None
    }

    /// A commitment one end of a channel between `a` and `b` holds, signed by the other,
    /// that the other's durable monitor does not know: a message went out before the
    /// monitor update it depends on was durable ([`crate::durability`]).
    fn unenforceable_commitment(&self, a: usize, b: usize) -> Option<String> {
        [(a, b), (b, a)].into_iter().find_map(|(signer, holder)| {
            crate::durability::unenforceable_commitment(
                self.nodes[holder].channel_handler(),
                self.nodes[signer].channel_handler(),
                |id| self.excused_channels.contains(id),
            )
            .map(|found| crate::durability::describe_unenforceable(signer, holder, found))
        })
    }

    /// The trace: one JSON object per line.
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    /// How many events (deliveries, blocks, actions, generator firings) were handled.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// The nodes, by index.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The clock.
    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    fn log(&mut self, node: usize, what: &str, detail: String) {
        self.log_line(&node.to_string(), what, detail);
    }

    /// `node` is a number, or `null` for the chain.
    fn log_line(&mut self, node: &str, what: &str, detail: String) {
        let line = format!(
            "{{\"t_ms\":{},\"node\":{node},\"what\":\"{what}\"{}{detail}}}",
            self.queue.now().as_ms(),
            if detail.is_empty() { "" } else { "," }
        );
        self.trace.push(line);
    }

    /// Node `from` dials `to`; refused across a partition or if they are connected.
    fn connect(&mut self, from: usize, to: usize) -> Result<(), String> {
        self.touched.extend([from, to]);
        let refused = |network: &mut Self, why: &str| {
            network.log(from, "connect", format!("\"to\":{to},\"refused\":\"{why}\""));
            Err(format!("{why}: nodes {from} and {to}"))
        };
        if let Some(Partition { side, .. }) = &self.partition {
            if side.contains(&from) != side.contains(&to) {
                return refused(self, "partitioned");
            }
        }
        let their_id = self.nodes[to].node_id();
        let Ok(act_one) = self.nodes[from].new_outbound(conn(to), their_id) else {
            return refused(self, "already connected");
        };
        if self.nodes[to].new_inbound(conn(from)).is_err() {
            self.nodes[from].disconnected(conn(to));
            return refused(self, "already connected");
        }
        self.connections_made += 1;
        let (latency, jitter_ms) = self
            .config
            .link_overrides
            .get(&(from.min(to), from.max(to)))
            .copied()
            .unwrap_or((self.config.latency, self.config.jitter_ms));
        for (a, b) in [(from, to), (to, from)] {
            let link = OrderedLink::new(latency, jitter_ms).expect("validated in new");
            self.links.insert((a, b), link);
            self.live.insert((a, b), self.connections_made);
            let stream = (a * self.config.node_count + b) as u32;
            self.link_rngs
                .entry((a, b))
                .or_insert_with(|| SimRng::new(self.config.seed, StreamId::Link(stream)));
        }
        self.log(from, "connect", format!("\"to\":{to}"));
        self.send(from, to, act_one, Vec::new());
        Ok(())
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>, told: Vec<Told>) {
        let now = self.queue.now();
        let (Some(link), Some(rng)) = (self.links.get_mut(&(from, to)), self.link_rngs.get_mut(&(from, to))) else {
            return;
        };
        let at = if self.unordered.contains(&(from, to)) {
            link.arrival_unordered(now, rng)
        } else {
            link.arrival(now, rng)
        };
        let Some(&connection) = self.live.get(&(from, to)) else {
            return;
        };
        *self.in_flight.entry((from, to)).or_default() += 1;
        self.queue.schedule_at(
            at,
            SimEvent::Deliver {
                from,
                to,
                connection,
                sent: now,
                bytes,
                told,
            },
        );
    }

    fn deliver(&mut self, from: usize, to: usize, connection: u64, sent: SimTime, bytes: &[u8], told: Vec<Told>) {
        let sent_ms = sent.as_ms();
        if self.live.get(&(from, to)) != Some(&connection) {
            // The connection these bytes were sent on is gone.
            return self.log(
                to,
                "lost",
                format!("\"from\":{from},\"sent_ms\":{sent_ms},\"bytes\":{}", bytes.len()),
            );
        }
        if let Some(count) = self.in_flight.get_mut(&(from, to)) {
            *count -= 1;
        }
        // A lie read makes its channel's close expected, at both ends.
        for lie in &told {
            self.excuse(lie.channel_id, from, to);
        }
        let result = self.nodes[to].read(conn(from), bytes);
        self.judge_lies(to, &told, result.is_err());
        // What the bytes held, as the receiver decoded it (for the sequence diagram).
        let names: Vec<String> = self.nodes[to]
            .take_message_log()
            .into_iter()
            .filter(|r| !r.sent && r.peer == conn(from))
            .map(|r| format!("\"{}\"", r.name))
            .collect();
        let mut detail = format!(
            "\"from\":{from},\"sent_ms\":{sent_ms},\"bytes\":{},\"msgs\":[{}]",
            bytes.len(),
            names.join(",")
        );
        if let Err(reason) = &result {
            detail.push_str(&format!(",\"disconnect\":{}", json_str(&format!("{reason:?}"))));
        }
        self.log(to, "deliver", detail);
        if result.is_err() {
            self.disconnect(from, to);
        }
        self.flush(to);
    }

    /// Both ends learn the connection is gone; what was in flight is lost.
    fn disconnect(&mut self, a: usize, b: usize) {
        self.touched.extend([a, b]);
        if self.live.remove(&(a, b)).is_none() {
            return;
        }
        self.live.remove(&(b, a));
        for (from, to) in [(a, b), (b, a)] {
            self.nodes[from].disconnected(conn(to));
            self.links.remove(&(from, to));
            self.in_flight.remove(&(from, to));
        }
        self.log(a, "disconnect", format!("\"peer\":{b}"));
        if let Some(delay_ms) = self.config.redial_ms {
            for (from, to) in [(a, b), (b, a)] {
                if self.channel_peers.contains(&(from, to)) {
                    self.queue
                        .schedule_in(delay_ms, SimEvent::Act(Action::Connect { from, to }, None));
                }
            }
        }
    }

    /// Connects every channel pair that is down, both ends running (only pairs with
    /// `node`, if given).
    fn redial_all(&mut self, node: Option<usize>) {
        let pairs: Vec<(usize, usize)> = self
            .channel_peers
            .iter()
            .filter(|(a, b)| node.is_none_or(|n| n == *a || n == *b))
            .filter(|(a, b)| !self.live.contains_key(&(*a, *b)))
            .filter(|(a, b)| !self.crashed.contains(a) && !self.crashed.contains(b))
            .copied()
            .collect();
        for (from, to) in pairs {
            // A redial that finds the pair connected (the peer dialled first) is moot.
            let _ = self.connect(from, to);
        }
    }

    fn block(&mut self) {
        let (height, confirmed) = self.chain.mine();
        for i in 0..self.nodes.len() {
            if self.crashed.contains(&i) {
                continue;
            }
            let manager = self.nodes[i].channel_handler_mut();
            for (index, tx) in confirmed.iter().enumerate() {
                // Index 0 is the block's coinbase.
                manager.transaction_confirmed_in_block(tx, height, index as u32 + 1);
            }
            manager.best_block_updated(height);
        }
        self.log_line(
            "null",
            "block",
            format!("\"height\":{height},\"confirmed\":{}", confirmed.len()),
        );
        for i in 0..self.nodes.len() {
            self.flush(i);
        }
        self.queue.schedule_in(self.config.block_interval_ms, SimEvent::Block);
    }

    /// Handles node `i`'s events and sends what it has for each peer.
    fn flush(&mut self, i: usize) {
        self.touched.insert(i);
        // A crashed node does nothing until it restarts as a new instance.
        if self.crashed.contains(&i) {
            return;
        }
        // Forwards wait for this call, and retries of failed payments; the simulated user
        // makes it whenever the node handled something.
        let manager = self.nodes[i].channel_handler_mut();
        manager.process_pending_forwards();
        manager.process_pending_payments(&mut self.router);
        // Events can make more events (funding makes messages, claims make updates).
        for _ in 0..16 {
            let events = self.nodes[i].channel_handler_mut().take_events();
            if events.is_empty() {
                break;
            }
            for event in events {
                self.handle_event(i, event);
            }
        }
        self.take_broadcasts(i);
        let peers: Vec<usize> = self.links.keys().filter(|(a, _)| *a == i).map(|(_, b)| *b).collect();
        // Lies told since the last flush ride with the bytes to their receiver; one to a
        // peer no longer connected went nowhere.
        let mut told = self.nodes[i].channel_handler_mut().take_told();
        for peer in peers {
            let bytes = self.nodes[i].take_outbound(conn(peer));
            // Taking the bytes may have taken the handler's last messages, lies included.
            told.extend(self.nodes[i].channel_handler_mut().take_told());
            if !bytes.is_empty() {
                let peer_id = self.nodes[peer].node_id();
                let (theirs, rest) = told.into_iter().partition(|t| t.to == peer_id);
                told = rest;
                self.send(i, peer, bytes, theirs);
            }
        }
    }

    /// Offers node `i`'s new broadcasts to the mempool.
    fn take_broadcasts(&mut self, i: usize) {
        let transactions = &self.nodes[i].channel_handler().broadcaster().transactions;
        let new: Vec<_> = transactions[self.broadcasts_taken[i].min(transactions.len())..].to_vec();
        self.broadcasts_taken[i] = transactions.len();
        for tx in new {
            if is_cooperative_close(&tx) && self.broken_while_handling.is_none() {
                let input_satoshis = self.chain.unspent_value(&tx.input[0].previous_output);
                self.broken_while_handling =
                    input_satoshis.and_then(|sat| overpaid_close(&tx, sat, self.fee_estimate_max_per_kw));
            }
            let detail = match self.chain.submit(&tx) {
                Ok(txid) => format!("\"txid\":\"{txid}\",\"outputs\":{}", tx.output.len()),
                Err(why) => format!("\"txid\":\"{}\",\"rejected\":{}", tx.compute_txid(), json_str(&why)),
            };
            self.log(i, "broadcast", detail);
        }
    }

    fn handle_event(&mut self, i: usize, event: Event) {
        self.book(i, &event);
        match event {
            Event::FundingGenerationReady {
                temporary_channel_id,
                funding_satoshis,
                ..
            } => {
                // The simulated wallet spends a coin unique to this channel.
                let coin = wallet_coin(i, &temporary_channel_id);
                let funded = fund_channel(&mut self.nodes[i], &event, coin);
                let ok = funded.is_some();
                if let Some((_, tx)) = funded {
                    self.chain.add_funding(tx);
                }
                self.log(i, "funding", format!("\"satoshis\":{funding_satoshis},\"ok\":{ok}"));
            }
            Event::PaymentClaimable { payment_hash, .. } => self.claimable(i, payment_hash),
            Event::ChannelReady {
                channel_id,
                counterparty_node_id,
            } => {
                if let Some(peer) = self.nodes.iter().position(|n| n.node_id() == counterparty_node_id) {
                    if self.channel_peers.contains(&(i, peer)) {
                        self.ready_channels.insert((i, peer, channel_id));
                    }
                }
                self.announce(i, channel_id);
                self.log(i, "event", "\"event\":\"ChannelReady\"".to_string());
            }
            Event::ChannelClosed { channel_id, reason } => {
                if let Some(scid) = self.graph_channels.remove(&channel_id) {
                    let _ = self.router.graph_mut().remove_channel(scid);
                }
                self.channel_closed(i, channel_id, &reason)
            }
            Event::PaymentSent {
                payment_hash,
                fee_paid_msat,
                ref paths,
                ..
            } => {
                let nodes = paths.iter().map(|path| self.path_nodes(i, path)).collect();
                self.record_paths(i, payment_hash.0, nodes, Some(fee_paid_msat));
                // The payee released the preimage: its durable monitor must hold it.
                let payee = (0..self.nodes.len()).filter(|&j| j != i).find(|&j| {
                    let monitors = &self.nodes[j].channel_handler().persister().monitors;
                    crate::durability::preimage_is_durable(monitors, &payment_hash)
                });
                if payee.is_none() && self.broken_while_handling.is_none() {
                    let payee = self.payee_of(payment_hash.0).unwrap_or(usize::MAX);
                    self.broken_while_handling =
                        Some(crate::durability::describe_undurable_preimage(payee, i, &payment_hash));
                }
                self.tally.sent += 1;
                self.resolve_payment(i, payment_hash.0, PaymentOutcome::Sent, String::new());
                self.log(i, "sent", format!("\"hash\":\"{}\"", hex(&payment_hash.0)));
            }
            Event::PaymentFailed {
                payment_hash,
                failure_code,
                ..
            } => {
                self.tally.failed += 1;
                let reason = payments::failure_text(failure_code);
                self.resolve_payment(i, payment_hash.0, PaymentOutcome::Failed, reason);
                self.log(i, "failed", format!("\"hash\":\"{}\"", hex(&payment_hash.0)));
            }
            Event::PaymentPathFailed {
                payment_hash,
                ref path,
                failure_code,
                ..
            } => {
                let nodes = self.path_nodes(i, path);
                self.record_paths(i, payment_hash.0, vec![nodes], None);
                self.log(
                    i,
                    "path_failed",
                    format!(
                        "\"hash\":\"{}\",\"reason\":{}",
                        hex(&payment_hash.0),
                        json_str(&payments::failure_text(failure_code))
                    ),
                );
            }
            Event::PaymentForwarded {
                fee_earned_msat,
                amount_forwarded_msat,
                ..
            } => self.log(
                i,
                "forwarded",
                format!("\"amount_msat\":{amount_forwarded_msat},\"fee_msat\":{fee_earned_msat}"),
            ),
            other => {
                let name = format!("{other:?}");
                let name = name.split([' ', '{', '(']).next().unwrap_or_default().to_string();
                self.log(i, "event", format!("\"event\":\"{name}\""));
            }
        }
    }
}

impl Network {
    /// The nodes a path of node `payer` went through, payer first.
    pub(super) fn path_nodes(&self, payer: usize, path: &lightning::routing::Path) -> Vec<usize> {
        std::iter::once(payer)
            .chain(
                path.hops
                    .iter()
                    .filter_map(|hop| self.nodes.iter().position(|n| n.node_id() == hop.node_id)),
            )
            .collect()
    }

    /// Node `i`'s channel became ready: it enters the graph with its capacity, and node
    /// `i`'s direction with its forwarding policy (as its `channel_update` would say).
    fn announce(&mut self, i: usize, channel_id: ChannelId) {
        let manager = self.nodes[i].channel_handler();
        let Some(details) = manager.list_channels().into_iter().find(|d| d.channel_id == channel_id) else {
            return;
        };
        let Some(scid) = details.short_channel_id else {
            return;
        };
        let me = manager.node_id();
        let peer = self
            .nodes
            .iter()
            .position(|n| n.node_id() == details.counterparty_node_id);
        if let Some(policy) = peer.and_then(|peer| self.config.channel_policies.get(&(i, peer))) {
            let set = self.nodes[i]
                .channel_handler_mut()
                .set_forwarding_policy(&channel_id, *policy);
            debug_assert!(set.is_ok());
        }
        let manager = self.nodes[i].channel_handler();
        let policy = manager.forwarding_policy(&channel_id).routing_policy(true);
        let graph = self.router.graph_mut();
        if graph.channel(scid).is_none() {
            let added = graph.add_channel(scid, me, details.counterparty_node_id, details.capacity_satoshis);
            debug_assert!(added.is_ok(), "{added:?}");
            self.graph_channels.insert(channel_id, scid);
        }
        let updated = graph.update_policy(scid, &me, policy);
        debug_assert!(updated.is_ok(), "{updated:?}");
    }
}

/// Node `node`'s manager policy: drawn from the seed with the swarm, the library's
/// defaults without, and what the script fixes over either.
fn manager_config(config: &NetworkConfig, node: usize) -> ChannelManagerConfig {
    let mut manager = if config.swarm {
        crate::swarm::drawn_policy(config.seed, node)
    } else {
        crate::swarm::default_policy()
    };
    for field in config.policy_overrides.get(&node).into_iter().flatten() {
        field.apply(&mut manager);
    }
    #[cfg(feature = "planted-bugs")]
    {
        manager.planted_bug = config.planted_bug;
    }
    #[cfg(not(feature = "planted-bugs"))]
    let _ = config;
    manager
}

/// The two nodes an action involves.
fn both(a: usize, b: usize) -> Vec<usize> {
    vec![a, b]
}

/// The wallet coin node `node` spends to fund the channel `temporary_channel_id`.
fn wallet_coin(node: usize, temporary_channel_id: &ChannelId) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&(node as u64).to_be_bytes());
    engine.input(&temporary_channel_id.0);
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// `text` as a JSON string literal.
fn json_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

mod actions;
mod adversary;
mod books;
mod chain;
mod liveness;
mod payments;
mod random;
#[cfg(test)]
mod tests;
