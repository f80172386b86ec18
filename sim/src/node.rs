//! Whole nodes in one process: each a peer manager (real BOLT 8) over a channel manager
//! with a test persister. Written once for the simulator, which moves their bytes on a
//! clock, and the functional tests, which move them by hand (as `tests::node_pair`).

use std::collections::BTreeMap;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::Network;
use lightning::chain::{ChannelMonitor, Persist, PersistStatus};
use lightning::chan::manager::{ChannelManager, ChannelManagerConfig};
use lightning::chan::monitor_update::ChannelMonitorUpdate;
use lightning::events::Event;
use lightning::sign::{EntropySource, KeysManager};
use lightning::transport::{IgnoringHandler, PeerId, PeerManager, PeerManagerConfig};
use lightning::wire::{ChannelId, Decode, Encode, PaymentHash, PaymentPreimage};

use crate::lies::Lying;

/// A persister that stores each update's bytes, applies them to its monitors in id
/// order once durable, and can hold updates in progress. Updates may become durable in
/// any order (as with several watchtowers); each monitor applies them as soon as every
/// earlier one is durable too.
#[derive(Clone, Debug, Default)]
pub struct TestPersister {
    /// Whether new updates complete at once.
    pub hold: bool,
    /// Whether new updates fail for good (storage refused them), which must fail the
    /// channel.
    pub fail: bool,
    /// Whether an update its monitor refuses is reported `Failed`, as a persister that
    /// applies what it stores would, rather than panicking. Off, a refusal is a test's
    /// finding: the library handed over an update that does not follow its monitor. On
    /// where the monitors themselves may be corrupt (a fuzzer's input).
    pub report_refused: bool,
    /// Updates refused by their monitor while `report_refused` was on.
    pub refused: usize,
    /// The monitors as stored, updated in id order as updates complete.
    pub monitors: BTreeMap<ChannelId, ChannelMonitor>,
    /// Updates handed over and not completed: (channel, id, bytes).
    pub in_progress: Vec<(ChannelId, u64, Vec<u8>)>,
    /// Durable updates waiting for an earlier one before their monitor applies them.
    durable_waiting: BTreeMap<(ChannelId, u64), Vec<u8>>,
}

impl TestPersister {
    /// `bytes` (update `update_id`) is durable: applies it and every waiting update that
    /// follows it, in id order. Returns false if its monitor refused one (only with
    /// `report_refused`; otherwise that panics).
    fn make_durable(&mut self, channel_id: ChannelId, update_id: u64, bytes: Vec<u8>) -> bool {
        self.durable_waiting.insert((channel_id, update_id), bytes);
        loop {
            let monitor = self.monitors.entry(channel_id).or_default();
            let Some(next) = monitor.latest_update_id().checked_add(1) else {
                return true;
            };
            let Some(bytes) = self.durable_waiting.remove(&(channel_id, next)) else {
                return true;
            };
            let update = ChannelMonitorUpdate::decode_exact(&bytes).expect("stored update reads back");
            match monitor.update(&update) {
                Ok(()) => {}
                Err(_) if self.report_refused => {
                    // Later updates cannot apply either: the monitor stays where it was.
                    self.refused += 1;
                    return false;
                }
                Err(refusal) => panic!("update {next} does not apply to its monitor: {refusal:?}"),
            }
        }
    }

    /// Completes the update in progress at `index`; returns it.
    pub fn complete_at(&mut self, index: usize) -> Option<(ChannelId, u64)> {
        if index >= self.in_progress.len() {
            return None;
        }
        let (channel_id, update_id, bytes) = self.in_progress.remove(index);
        // A refusal (with `report_refused`) is counted in `refused`: completing
        // asynchronously has no way to say that it failed.
        self.make_durable(channel_id, update_id, bytes);
        Some((channel_id, update_id))
    }

    /// Completes every update in progress, oldest first; returns what completed.
    pub fn complete_all(&mut self) -> Vec<(ChannelId, u64)> {
        let mut completed = Vec::new();
        while let Some(done) = self.complete_at(0) {
            completed.push(done);
        }
        completed
    }

    /// `channel_id`'s monitor as it will be once every update handed over is durable:
    /// what the channel has told its monitor so far. `None` without a stored monitor.
    pub fn monitor_with_pending(&self, channel_id: &ChannelId) -> Option<ChannelMonitor> {
        let mut monitor = self.monitors.get(channel_id)?.clone();
        let mut pending: BTreeMap<u64, &[u8]> = self
            .in_progress
            .iter()
            .filter(|(id, _, _)| id == channel_id)
            .map(|(_, update_id, bytes)| (*update_id, bytes.as_slice()))
            .collect();
        pending.extend(
            self.durable_waiting
                .range((*channel_id, 0)..=(*channel_id, u64::MAX))
                .map(|((_, update_id), bytes)| (*update_id, bytes.as_slice())),
        );
        while let Some(bytes) = monitor
            .latest_update_id()
            .checked_add(1)
            .and_then(|next| pending.remove(&next))
        {
            let update = ChannelMonitorUpdate::decode_exact(bytes).expect("stored update reads back");
            monitor.update(&update).expect("updates apply in id order");
        }
        Some(monitor)
    }
}

impl Persist for TestPersister {
    fn persist(&mut self, channel_id: &ChannelId, update: &ChannelMonitorUpdate) -> PersistStatus {
        if self.fail {
            return PersistStatus::Failed;
        }
        let bytes = update.encode_to_vec();
        if self.hold {
            self.in_progress.push((*channel_id, update.update_id, bytes));
            return PersistStatus::InProgress;
        }
        if self.make_durable(*channel_id, update.update_id, bytes) {
            PersistStatus::Completed
        } else {
            PersistStatus::Failed
        }
    }
}

/// Entropy for the transport: a hash chain, separate from the keys manager's.
#[derive(Clone)]
pub struct TransportEntropy([u8; 32]);

impl TransportEntropy {
    /// A stream from `seed`: give each start of a node its own.
    pub fn new(seed: [u8; 32]) -> Self {
        TransportEntropy(seed)
    }
}

impl EntropySource for TransportEntropy {
    fn random_bytes(&mut self) -> [u8; 32] {
        self.0 = sha256::Hash::hash(&self.0).to_byte_array();
        self.0
    }
}

/// A broadcaster that records what it is given.
#[derive(Clone, Debug, Default)]
pub struct RecordingBroadcaster {
    pub transactions: Vec<lightning::bitcoin::Transaction>,
}

impl lightning::chain::Broadcaster for RecordingBroadcaster {
    fn broadcast(&mut self, transaction: &lightning::bitcoin::Transaction) {
        self.transactions.push(transaction.clone());
    }
}

/// The chain's height when nodes are made: the simulated chain starts here too.
pub const START_HEIGHT: u32 = 100;

pub type Manager = ChannelManager<KeysManager, TestPersister, RecordingBroadcaster>;
/// A node: its channel manager runs under [`Lying`], honest until armed.
pub type Node = PeerManager<KeysManager, TransportEntropy, Lying<Manager>, IgnoringHandler>;

/// The fee estimate every simulated and tested node starts with: the relay floor, as a
/// regtest chain with empty blocks would estimate. A scenario's `feerate` moves it.
pub const REGTEST_FEERATE_PER_KW: u32 = 253;

pub fn regtest() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}

/// A node from a seed byte.
pub fn node(seed: u8) -> Node {
    node_with_seeds([seed; 32], [seed; 32])
}

/// A node whose keys come from `keys_seed` and whose entropy for this start (preimages,
/// keys ids, handshake ephemerals) from `session_seed`.
pub fn node_with_seeds(keys_seed: [u8; 32], session_seed: [u8; 32]) -> Node {
    node_with_config(
        keys_seed,
        session_seed,
        ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW),
        false,
    )
}

/// As [`node_with_seeds`], with the manager's policy given, and logging messages (for
/// `take_message_log`) if `record_messages`.
pub fn node_with_config(
    keys_seed: [u8; 32],
    session_seed: [u8; 32],
    config: ChannelManagerConfig,
    record_messages: bool,
) -> Node {
    let keys = KeysManager::new(&keys_seed, &session_seed);
    let manager = ChannelManager::new(
        config,
        keys.clone(),
        TestPersister::default(),
        RecordingBroadcaster::default(),
        START_HEIGHT,
    );
    PeerManager::new(
        peer_manager_config(record_messages),
        keys,
        TransportEntropy(session_seed),
        Lying::new(manager),
        IgnoringHandler,
    )
}

fn peer_manager_config(record_messages: bool) -> PeerManagerConfig {
    PeerManagerConfig {
        record_messages,
        ..PeerManagerConfig::new(regtest())
    }
}

/// Moves bytes both ways on connection `id` until both sides are quiet.
pub fn pump(a: &mut Node, b: &mut Node, id: PeerId) {
    for _ in 0..1000 {
        let to_b = a.take_outbound(id);
        let to_a = b.take_outbound(id);
        if to_b.is_empty() && to_a.is_empty() {
            return;
        }
        if !to_b.is_empty() {
            b.read(id, &to_b).expect("valid bytes");
        }
        if !to_a.is_empty() {
            a.read(id, &to_a).expect("valid bytes");
        }
    }
    panic!("pump did not settle");
}

/// Connects `a` to `b` on connection `id`, through the handshake and `init`.
pub fn connect(a: &mut Node, b: &mut Node, id: PeerId) {
    let act_one = a.new_outbound(id, b.node_id()).expect("fresh id");
    b.new_inbound(id).expect("fresh id");
    b.read(id, &act_one).expect("act one");
    pump(a, b, id);
    assert_eq!(a.connected_peers().len(), 1);
}

/// Both sides see the connection drop.
pub fn disconnect(a: &mut Node, b: &mut Node, id: PeerId) {
    a.disconnected(id);
    b.disconnected(id);
}

/// The events node `n` raised since the last call.
pub fn events(n: &mut Node) -> Vec<Event> {
    n.channel_handler_mut().take_events()
}

/// What a payer heard of a payment: sent with its preimage, or failed with the last
/// failure code. Path failures on the way and fees are left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `PaymentSent`.
    Sent(PaymentHash, PaymentPreimage),
    /// `PaymentFailed`.
    Failed(PaymentHash, Option<u16>),
}

/// The payment outcomes among `events`, in order.
pub fn outcomes(events: &[Event]) -> Vec<Outcome> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PaymentSent {
                payment_hash,
                payment_preimage,
                ..
            } => Some(Outcome::Sent(*payment_hash, *payment_preimage)),
            Event::PaymentFailed {
                payment_hash,
                failure_code,
                ..
            } => Some(Outcome::Failed(*payment_hash, *failure_code)),
            _ => None,
        })
        .collect()
}

/// A channel the restarted manager found out of step with its monitor.
pub type Mismatch = (ChannelId, lightning::chan::channel::persist::MonitorMismatch);

/// Restarts node `n` (seed `seed`) from its manager bytes and the monitors `monitors`
/// (as its persister would hold them after a crash). Returns the new node and the
/// channels that did not match their monitors.
pub fn restart(n: &Node, seed: u8, monitors: &BTreeMap<ChannelId, ChannelMonitor>) -> (Node, Vec<Mismatch>) {
    let bytes = n.channel_handler().encode();
    restart_from(
        &bytes,
        [seed; 32],
        [seed.wrapping_add(100); 32],
        monitors,
        ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW),
        false,
    )
    .expect("the manager reads back")
}

/// A node restarted from persisted `manager_bytes` and `monitors`, its keys from
/// `keys_seed` (the same as before the crash) and its entropy from `session_seed`, which
/// must be fresh, its policy `config`, logging messages if `record_messages`.
pub fn restart_from(
    manager_bytes: &[u8],
    keys_seed: [u8; 32],
    session_seed: [u8; 32],
    monitors: &BTreeMap<ChannelId, ChannelMonitor>,
    config: ChannelManagerConfig,
    record_messages: bool,
) -> Result<(Node, Vec<Mismatch>), lightning::wire::DecodeError> {
    let persister = TestPersister {
        monitors: monitors.clone(),
        ..TestPersister::default()
    };
    restart_with(
        manager_bytes,
        keys_seed,
        session_seed,
        persister,
        config,
        record_messages,
    )
}

/// As [`restart_from`], with the monitors (and policy) of `persister`.
pub fn restart_with(
    manager_bytes: &[u8],
    keys_seed: [u8; 32],
    session_seed: [u8; 32],
    persister: TestPersister,
    config: ChannelManagerConfig,
    record_messages: bool,
) -> Result<(Node, Vec<Mismatch>), lightning::wire::DecodeError> {
    let keys = KeysManager::new(&keys_seed, &session_seed);
    let monitors = persister.monitors.clone();
    let (manager, mismatches) = ChannelManager::read(
        manager_bytes,
        config,
        keys.clone(),
        persister,
        RecordingBroadcaster::default(),
        &monitors,
    )?;
    let node = PeerManager::new(
        peer_manager_config(record_messages),
        keys,
        TransportEntropy(session_seed),
        Lying::new(manager),
        IgnoringHandler,
    );
    Ok((node, mismatches))
}

/// Moves bytes both ways `rounds` times only: part of an exchange, to cut it short.
pub fn exchange_rounds(a: &mut Node, b: &mut Node, id: PeerId, rounds: usize) {
    for _ in 0..rounds {
        let to_b = a.take_outbound(id);
        if !to_b.is_empty() {
            b.read(id, &to_b).expect("valid bytes");
        }
        let to_a = b.take_outbound(id);
        if !to_a.is_empty() {
            a.read(id, &to_a).expect("valid bytes");
        }
    }
}
