//! The in-process two-node channel harness: two channel state machines with real keys,
//! each with its monitor and a persister that completes updates at once or holds them
//! in progress, and an outbox that releases messages only once the updates they depend on
//! are durable. Messages are moved by hand, one at a time, in order per direction.

use std::collections::VecDeque;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::{Network, OutPoint, Txid};
use lightning::chain::ChannelMonitor;
use lightning::chan::channel::establish::OpenChannelParams;
pub use lightning::chan::channel::establish::UpfrontShutdown;
use lightning::chan::channel::persist::MonitorMismatch;
use lightning::chan::channel::{Channel, ChannelError, ChannelLimits, ChannelPhase};
use lightning::chan::monitor_update::ChannelMonitorUpdate;
use lightning::chan::outbox::MonitorGatedOutbox;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::sign::{InMemoryChannelSigner, KeysManager};
use lightning::wire::{ChannelId, Decode, Encode, Message, OnionPacket, PaymentHash, PaymentPreimage};

pub type Chan = Channel<InMemoryChannelSigner>;

pub const FUNDING_SATOSHIS: u64 = 1_000_000;

/// How a node's persister answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistMode {
    /// Every update is durable at once.
    Completed,
    /// Updates stay in progress until the test completes them.
    InProgress,
}

pub struct Node {
    pub channel: Chan,
    /// The monitor as the persister keeps it: updates applied once completed, in order.
    pub monitor: ChannelMonitor,
    pub outbox: MonitorGatedOutbox<Message>,
    pub persist_mode: PersistMode,
    /// Updates handed to the persister and not yet completed, serialized as a persister
    /// would store them.
    pub in_progress: Vec<(u64, Vec<u8>)>,
    /// Completed updates waiting for an earlier one before the monitor can apply them.
    completed_out_of_order: Vec<(u64, Vec<u8>)>,
    /// Preimages learned from fulfills.
    pub preimages: Vec<PaymentPreimage>,
}

pub struct Pair {
    pub nodes: [Node; 2],
    /// Messages in flight from node i to the other, in order.
    pub wires: [VecDeque<Message>; 2],
}

pub fn chain() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}

pub fn onion() -> OnionPacket {
    OnionPacket {
        version: 0,
        public_key: [2; 33],
        hop_payloads: [0; 1300],
        hmac: [0; 32],
    }
}

/// Where node `i` closes to: a P2WPKH of its own.
pub fn shutdown_script(i: usize) -> lightning::bitcoin::ScriptBuf {
    let hash = lightning::bitcoin::WPubkeyHash::from_byte_array([i as u8 + 1; 20]);
    lightning::bitcoin::ScriptBuf::new_p2wpkh(&hash)
}

pub fn preimage(n: u8) -> (PaymentPreimage, PaymentHash) {
    let preimage = PaymentPreimage([n; 32]);
    (preimage, PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array()))
}

impl Node {
    fn new(channel: Chan) -> Self {
        Node {
            channel,
            monitor: ChannelMonitor::new(),
            outbox: MonitorGatedOutbox::new(0),
            persist_mode: PersistMode::Completed,
            in_progress: Vec::new(),
            completed_out_of_order: Vec::new(),
            preimages: Vec::new(),
        }
    }

    /// Hands new monitor updates to the persister.
    fn persist_new_updates(&mut self) {
        for update in self.channel.take_monitor_updates() {
            let bytes = update.encode_to_vec();
            self.in_progress.push((update.update_id, bytes));
            if self.persist_mode == PersistMode::Completed {
                self.complete(update.update_id);
            }
        }
    }

    /// The persister reports `update_id` durable: the monitor applies every update that
    /// is now contiguous, read back from its stored bytes.
    pub fn complete(&mut self, update_id: u64) {
        let Some(position) = self.in_progress.iter().position(|(id, _)| *id == update_id) else {
            panic!("update {update_id} is not in progress");
        };
        let entry = self.in_progress.remove(position);
        self.completed_out_of_order.push(entry);
        self.completed_out_of_order.sort_by_key(|(id, _)| *id);
        while self
            .completed_out_of_order
            .first()
            .is_some_and(|(id, _)| *id == self.monitor.latest_update_id() + 1)
        {
            let (_, bytes) = self.completed_out_of_order.remove(0);
            let update = ChannelMonitorUpdate::decode_exact(&bytes).expect("stored update reads back");
            self.monitor
                .update(&update)
                .expect("the monitor accepts the channel's next update");
        }
        self.outbox.update_completed(update_id);
    }

    /// Completes the oldest update in progress.
    pub fn complete_first(&mut self) -> bool {
        let first = self.in_progress.iter().map(|(id, _)| *id).min();
        first.map(|id| self.complete(id)).is_some()
    }

    /// Completes the newest update in progress.
    pub fn complete_last(&mut self) -> bool {
        let last = self.in_progress.iter().map(|(id, _)| *id).max();
        last.map(|id| self.complete(id)).is_some()
    }

    pub fn complete_all(&mut self) {
        while self.complete_first() {}
    }
}

/// Node `i`'s channel signer, derived from its seed and keys id as after a restart.
pub fn signer_for(i: usize) -> InMemoryChannelSigner {
    let n = i as u8 + 1;
    KeysManager::new(&[n; 32], &[0; 32]).derive_channel_signer(&[n; 32])
}

/// What a node wrote to disk: its channel state and its monitor.
#[derive(Clone, Debug)]
pub struct Saved {
    pub channel: Vec<u8>,
    pub monitor: Vec<u8>,
}

/// Opens a channel between two fresh nodes (node 0 funds it) and brings it to `Normal`.
pub fn open_pair(push_msat: u64) -> Pair {
    let limits = ChannelLimits::default_for(FUNDING_SATOSHIS);
    open_pair_with(push_msat, limits, limits)
}

/// Node `i` commits at opening to close to [`shutdown_script`]`(i)`, and both nodes
/// offer `option_upfront_shutdown_script`.
pub fn committed_upfront(i: usize) -> UpfrontShutdown {
    UpfrontShutdown {
        holder_script: Some(shutdown_script(i)),
        negotiated: true,
        anysegwit: true,
    }
}

/// The fee estimate both nodes of a pair have: their channel opens at it, and a close
/// they fund pays what it asks.
pub const FEERATE_ESTIMATE_PER_KW: u32 = 1000;

/// Node 0's opening: `funding_satoshis` with `push_msat` at `feerate_per_kw`, the default
/// limits for that size, temporary id `[9; 32]` and its committed close script.
pub fn open_params(funding_satoshis: u64, push_msat: u64, feerate_per_kw: u32) -> OpenChannelParams {
    OpenChannelParams {
        chain_hash: chain(),
        temporary_channel_id: ChannelId([9; 32]),
        funding_satoshis,
        push_msat,
        feerate_per_kw,
        limits: ChannelLimits::default_for(funding_satoshis),
        upfront_shutdown: committed_upfront(0),
    }
}

/// [`open_pair`] with the limits each node demands of the other.
pub fn open_pair_with(push_msat: u64, a_limits: ChannelLimits, b_limits: ChannelLimits) -> Pair {
    open_pair_full(
        push_msat,
        [a_limits, b_limits],
        [committed_upfront(0), committed_upfront(1)],
    )
}

/// [`open_pair`] with each node's limits and upfront shutdown commitment.
pub fn open_pair_full(push_msat: u64, limits: [ChannelLimits; 2], upfront: [UpfrontShutdown; 2]) -> Pair {
    let a_signer = signer_for(0);
    let b_signer = signer_for(1);
    let [a_limits, b_limits] = limits;
    let params = OpenChannelParams {
        chain_hash: chain(),
        temporary_channel_id: ChannelId([9; 32]),
        funding_satoshis: FUNDING_SATOSHIS,
        push_msat,
        feerate_per_kw: FEERATE_ESTIMATE_PER_KW,
        limits: a_limits,
        upfront_shutdown: upfront[0].clone(),
    };
    let (mut a, open) = Chan::new_outbound(a_signer, &params).expect("open");
    let (mut b, accept) = Chan::new_inbound(b_signer, chain(), b_limits, 3, &upfront[1], &open).expect("accept");
    a.accept_channel(&accept).expect("accepted");
    assert_eq!(a.phase(), ChannelPhase::AwaitingFundingTransaction);
    assert!(a.funding_script_pubkey().expect("script").is_p2wsh());
    let outpoint = OutPoint {
        txid: Txid::from_byte_array([5; 32]),
        vout: 1,
    };
    let created = a.funding_transaction_generated(outpoint).expect("funding_created");
    let signed = b.funding_created(&created).expect("funding_signed");
    a.funding_signed(&signed).expect("commitment 0 verified");
    assert_eq!(a.channel_id(), b.channel_id());
    let ready_a = a.funding_confirmed().expect("ready");
    let ready_b = b.funding_confirmed().expect("ready");
    a.channel_ready(&ready_b).expect("ready");
    b.channel_ready(&ready_a).expect("ready");
    assert_eq!(a.phase(), ChannelPhase::Normal);
    assert_eq!(b.phase(), ChannelPhase::Normal);
    let mut pair = Pair {
        nodes: [Node::new(a), Node::new(b)],
        wires: [VecDeque::new(), VecDeque::new()],
    };
    for node in &mut pair.nodes {
        node.persist_new_updates();
        assert_eq!(node.monitor.latest_update_id(), node.channel.latest_monitor_update_id());
    }
    pair
}

impl Pair {
    /// Queues a message node `from` produced; it reaches the wire once the monitor
    /// updates produced before it are durable.
    pub fn send(&mut self, from: usize, message: Message) {
        let node = &mut self.nodes[from];
        node.persist_new_updates();
        let depends_on = node.channel.latest_monitor_update_id();
        node.outbox.push(depends_on, message);
        self.flush(from);
    }

    /// Moves node `from`'s releasable messages to the wire.
    pub fn flush(&mut self, from: usize) {
        let ready = self.nodes[from].outbox.take_ready();
        self.wires[from].extend(ready);
    }

    /// Completes node `i`'s updates in progress (all of them) and flushes.
    pub fn complete_all(&mut self, i: usize) {
        self.nodes[i].complete_all();
        self.flush(i);
    }

    /// Delivers the next message to `to`; its reply, if any, is queued back.
    pub fn deliver(&mut self, to: usize) -> Result<bool, ChannelError> {
        let Some(message) = self.wires[1 - to].pop_front() else {
            return Ok(false);
        };
        let node = &mut self.nodes[to];
        match message {
            Message::UpdateAddHtlc(m) => node.channel.update_add_htlc(&m)?,
            Message::UpdateFulfillHtlc(m) => {
                node.channel.update_fulfill_htlc(&m)?;
                node.preimages.push(m.payment_preimage);
            }
            Message::UpdateFailHtlc(m) => {
                node.channel.update_fail_htlc(&m)?;
            }
            Message::UpdateFee(m) => node.channel.update_fee(&m)?,
            Message::CommitmentSigned(m) => {
                let revoke = node.channel.commitment_signed(&m)?;
                self.send(to, Message::RevokeAndAck(revoke));
            }
            Message::RevokeAndAck(m) => node.channel.revoke_and_ack(&m)?,
            Message::ChannelReady(m) => node.channel.channel_ready(&m)?,
            Message::Shutdown(m) => {
                if let Some(reply) = node.channel.shutdown(&m, shutdown_script(to))? {
                    self.send(to, Message::Shutdown(reply));
                }
            }
            Message::ClosingSigned(m) => {
                if let Some(reply) = node.channel.closing_signed(&m, FEERATE_ESTIMATE_PER_KW)? {
                    self.send(to, Message::ClosingSigned(reply));
                }
            }
            Message::UpdateFailMalformedHtlc(m) => {
                node.channel.update_fail_malformed_htlc(&m)?;
            }
            other => panic!("unexpected {other:?}"),
        }
        self.nodes[to].persist_new_updates();
        self.flush(to);
        Ok(true)
    }

    /// Node `i`'s state as it would be on disk now: the channel and the monitor.
    pub fn save(&self, i: usize) -> Saved {
        Saved {
            channel: self.nodes[i].channel.encode_state(),
            monitor: self.nodes[i].monitor.encode_to_vec(),
        }
    }

    /// Node `i` crashes and restarts from `saved` (the connection drops with it). Returns
    /// how the reloaded channel and monitor relate.
    pub fn restart(&mut self, i: usize, saved: &Saved) -> Result<(), MonitorMismatch> {
        self.disconnect();
        let channel = Chan::read(&saved.channel, signer_for(i)).expect("saved channel reads back");
        let monitor = ChannelMonitor::decode_exact(&saved.monitor).expect("saved monitor reads back");
        let mut node = Node::new(channel);
        node.outbox = MonitorGatedOutbox::new(monitor.latest_update_id());
        node.monitor = monitor;
        self.nodes[i] = node;
        let node = &mut self.nodes[i];
        node.channel.check_against_monitor(&node.monitor)
    }

    /// The connection drops: everything in flight or held is lost.
    pub fn disconnect(&mut self) {
        for i in 0..2 {
            self.wires[i].clear();
            self.nodes[i].outbox.clear_messages();
            self.nodes[i].channel.peer_disconnected();
        }
    }

    /// Reconnects: both send `channel_reestablish`, each handles the other's and queues
    /// its retransmissions.
    pub fn reconnect(&mut self) -> Result<(), ChannelError> {
        let reestablish: Vec<_> = self
            .nodes
            .iter()
            .map(|n| n.channel.channel_reestablish_message())
            .collect::<Result<_, _>>()?;
        for to in 0..2 {
            let resend = self.nodes[to].channel.channel_reestablish(&reestablish[1 - to])?;
            for message in resend {
                self.send(to, message);
            }
        }
        Ok(())
    }

    /// Node `by` signs what is pending on its peer's commitment, then sends a
    /// `shutdown` that waited for that (as the manager does).
    pub fn commit(&mut self, by: usize) {
        if let Some(signed) = self.nodes[by].channel.send_commitment().expect("signs") {
            self.send(by, Message::CommitmentSigned(signed));
        }
        if let Some(shutdown) = self.nodes[by].channel.shutdown_due(&shutdown_script(by)) {
            self.send(by, Message::Shutdown(shutdown));
        }
    }

    /// The funder proposes a closing fee once the channel is clear for it.
    fn propose_close(&mut self) {
        let funder = if self.nodes[0].channel.is_funder() { 0 } else { 1 };
        let channel = &mut self.nodes[funder].channel;
        if channel.closing_proposal_due() {
            let proposal = channel
                .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
                .expect("funder proposes");
            self.send(funder, Message::ClosingSigned(proposal));
        }
    }

    /// Commits and delivers until both sides are quiet and agree. Updates held in
    /// progress stay held: a paused node simply stops the dance.
    pub fn settle(&mut self) {
        for _ in 0..200 {
            self.commit(0);
            self.commit(1);
            self.propose_close();
            let moved = self.deliver(0).expect("valid") | self.deliver(1).expect("valid");
            if !moved && self.wires.iter().all(|w| w.is_empty()) {
                let outdated = self
                    .nodes
                    .iter()
                    .any(|n| n.channel.ledger().counterparty_commitment_outdated());
                let held = self.nodes.iter().any(|n| !n.outbox.is_empty());
                let closed = self.nodes.iter().any(|n| n.channel.phase() == ChannelPhase::Closed);
                if !outdated && !held && !closed {
                    self.assert_mirrored();
                }
                return;
            }
        }
        panic!("did not settle");
    }

    pub fn assert_mirrored(&self) {
        let [a, b] = [&self.nodes[0].channel, &self.nodes[1].channel];
        assert_eq!(a.holder_view().total_msat(), FUNDING_SATOSHIS * 1000);
        let diffs = ChannelSnapshot::of(a).diff_against_peer(&ChannelSnapshot::of(b));
        assert!(diffs.is_empty(), "quiet channel disagrees: {diffs:?}");
        for node in &self.nodes {
            if node.in_progress.is_empty() {
                let holder = node.monitor.holder_commitment().expect("holder commitment");
                assert_eq!(holder.commitment_number, node.channel.holder_commitment_number());
            }
        }
    }

    /// Offers an HTLC from `from` and settles; returns its id.
    pub fn pay(&mut self, from: usize, amount_msat: u64, n: u8) -> u64 {
        let (_, hash) = preimage(n);
        let add = self.nodes[from]
            .channel
            .send_htlc(amount_msat, hash, 800_000, onion())
            .expect("can pay");
        let id = add.id;
        self.send(from, Message::UpdateAddHtlc(Box::new(add)));
        self.settle();
        id
    }

    /// Node 0's view of the balances: (its own, node 1's).
    pub fn balances(&self) -> (u64, u64) {
        let view = self.nodes[0].channel.holder_view();
        (view.holder_balance_msat, view.counterparty_balance_msat)
    }
}

/// Deterministic dances for disconnection and restart tests: node 0 pays node 1 40 000
/// sat and node 1 fulfills (or fails) as soon as it may; or node 0 changes the feerate.
pub mod dance {
    use super::*;
    use lightning::chan::ledger::Side;

    /// Which dance.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// An HTLC added, then fulfilled.
        Fulfill,
        /// An HTLC added, then failed.
        Fail,
        /// The funder's `update_fee`.
        Fee,
    }

    /// Every dance.
    pub const ALL: [Kind; 3] = [Kind::Fulfill, Kind::Fail, Kind::Fee];

    /// The feerate the fee dance moves to.
    pub const NEW_FEERATE_PER_KW: u32 = 2000;

    /// The number of messages the dance delivers when nothing goes wrong.
    pub fn messages(kind: Kind) -> usize {
        match kind {
            Kind::Fulfill | Kind::Fail => 10,
            Kind::Fee => 5,
        }
    }

    /// A fresh pair with the dance's first message queued.
    pub fn start(kind: Kind) -> Pair {
        let mut pair = open_pair(0);
        let first = match kind {
            Kind::Fulfill | Kind::Fail => {
                let (_, hash) = preimage(1);
                let add = pair.nodes[0]
                    .channel
                    .send_htlc(40_000_000, hash, 800_000, onion())
                    .expect("add");
                Message::UpdateAddHtlc(Box::new(add))
            }
            Kind::Fee => Message::UpdateFee(
                pair.nodes[0]
                    .channel
                    .send_update_fee(NEW_FEERATE_PER_KW)
                    .expect("funder"),
            ),
        };
        pair.send(0, first);
        pair
    }

    /// Settles the HTLC when due, commits, and delivers one message. Returns whether one
    /// moved.
    pub fn step(pair: &mut Pair, kind: Kind) -> bool {
        let b = &pair.nodes[1].channel;
        let due = kind != Kind::Fee
            && b.ledger().is_irrevocably_committed(Side::Counterparty, 0)
            && b.holder_view().htlcs.contains_key(&(Side::Counterparty, 0))
            && b.is_connected();
        if due {
            let channel = &mut pair.nodes[1].channel;
            let message = match kind {
                Kind::Fulfill => channel.fulfill_htlc(0, preimage(1).0).map(Message::UpdateFulfillHtlc),
                _ => channel.fail_htlc(0, vec![0; 292]).map(Message::UpdateFailHtlc),
            };
            if let Ok(message) = message {
                pair.send(1, message);
            }
        }
        pair.commit(0);
        pair.commit(1);
        let to = if pair.wires[0].is_empty() { 0 } else { 1 };
        pair.deliver(to).expect("honest messages are valid")
    }

    /// Runs the dance to its end and checks its outcome.
    pub fn finish(pair: &mut Pair, kind: Kind) {
        for _ in 0..100 {
            if !step(pair, kind) && pair.wires.iter().all(|w| w.is_empty()) {
                break;
            }
        }
        pair.settle();
        pair.commit(0);
        pair.commit(1);
        pair.settle();
        pair.assert_mirrored();
        let view = pair.nodes[0].channel.holder_view();
        assert!(view.htlcs.is_empty());
        match kind {
            Kind::Fulfill => assert_eq!(pair.balances(), (960_000_000, 40_000_000), "the payment completed"),
            Kind::Fail => assert_eq!(pair.balances(), (1_000_000_000, 0), "the payment failed back"),
            Kind::Fee => assert_eq!(view.feerate_per_kw, NEW_FEERATE_PER_KW, "the new feerate is committed"),
        }
    }
}
