//! The consistency target: two whole nodes with a channel each way, driven by an opcode
//! stream that sends payments of many sizes, delivers bytes one chunk or all at a time,
//! disconnects and reconnects, stalls and completes monitor persistence (first, last or
//! all pending updates), restarts a node from its latest or a checkpointed (stale)
//! state, moves fee estimates and mines blocks. At the end everything settles and both
//! parties' views of every channel must agree.
//!
//! A finding is: a panic in the library, a channel closed or an `error`/`warning` sent
//! that no stale restart explains, or, after settling, an HTLC still pending, two ends
//! that disagree, a claimed payment its sender never learned was sent, a channel that
//! can no longer send (an HTLC its payee finds claimable), or a node that broadcast a
//! spend of a channel still open; and at any time, a node broadcasting a commitment its
//! peer never signed or saw revoked, or a node holding what its peer's durable monitor
//! cannot enforce (a commitment it does not know, a preimage it does not hold: a message
//! released before its monitor update was durable, see `sim::durability`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lightning::bitcoin::Transaction;
use lightning::chain::ChannelMonitor;
use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::ApiError;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::events::Event;
use lightning::transport::PeerId;
use lightning::wire::{ChannelId, PaymentHash};
use sim::node::{restart_from, Node, START_HEIGHT};

use super::whole_node::{
    complete_persistence, config, fund, is_commitment, monitor_spent_by, session_seed, start, AMOUNTS_MSAT,
    CAPACITY_SATOSHIS, PUSH_MSAT,
};

/// Both nodes see each other as this connection.
const LINK: PeerId = PeerId(0);
/// Blocks an input may mine: well inside the final CLTV delta (40) less the fail-back
/// margin (12), so no HTLC legitimately times out and closes a channel.
const MAX_BLOCKS: u32 = 10;

#[derive(Clone)]
struct Party {
    node: Node,
    keys_seed: [u8; 32],
    /// Starts so far: each restart takes fresh session entropy.
    starts: u8,
    /// A checkpoint: the manager's bytes, for a stale restart.
    checkpoint: Option<Vec<u8>>,
}

#[derive(Clone)]
struct Harness {
    parties: [Party; 2],
    /// Bytes in flight, per direction (index = sender), in the order they were sent.
    wires: [VecDeque<Vec<u8>>; 2],
    connected: bool,
    height: u32,
    /// Channels a stale restart closed, on purpose.
    expected_closed: BTreeSet<ChannelId>,
    /// Whether a stale restart happened: its peer may then see `error`s.
    stale_restarted: bool,
    /// Payments claimed by their payee, by hash, with their payer.
    claimed: BTreeMap<PaymentHash, usize>,
    /// Payments their payer learned were sent.
    sent: BTreeSet<PaymentHash>,
    /// Whether a payee claims what becomes claimable (off for the closing check, which
    /// needs each HTLC only to arrive).
    claiming: bool,
    /// Payments that became claimable while `claiming` was off.
    arrived: BTreeSet<PaymentHash>,
    fundings: Vec<Transaction>,
    /// How many of each node's broadcasts (since its last start) were checked.
    broadcasts_checked: [usize; 2],
}

impl Harness {
    fn new() -> Self {
        let parties = [[0x11u8; 32], [0x22u8; 32]].map(|keys_seed| Party {
            node: start(keys_seed, 0, true),
            keys_seed,
            starts: 0,
            checkpoint: None,
        });
        let mut h = Harness {
            parties,
            wires: [VecDeque::new(), VecDeque::new()],
            connected: false,
            height: START_HEIGHT,
            expected_closed: BTreeSet::new(),
            stale_restarted: false,
            claimed: BTreeMap::new(),
            sent: BTreeSet::new(),
            claiming: true,
            arrived: BTreeSet::new(),
            fundings: Vec::new(),
            broadcasts_checked: [0; 2],
        };
        h.reconnect();
        h.pump();
        // A channel each way, each funder pushing some to the other so both can pay.
        for funder in 0..2 {
            let peer = h.parties[1 - funder].node.node_id();
            h.parties[funder]
                .node
                .channel_handler_mut()
                .open_channel(peer, CAPACITY_SATOSHIS, PUSH_MSAT)
                .expect("connected");
            h.pump();
        }
        h.mine(3);
        h.pump();
        for party in &h.parties {
            let manager = party.node.channel_handler();
            let ready = manager
                .channel_ids()
                .iter()
                .filter(|id| manager.channel(id).is_some_and(|c| c.phase() == ChannelPhase::Normal))
                .count();
            assert_eq!(ready, 2, "the setup must leave both channels open");
        }
        h
    }

    fn node(&mut self, i: usize) -> &mut Node {
        &mut self.parties[i].node
    }

    /// Takes what each node wants to send and handles its events.
    fn collect(&mut self) {
        for i in 0..2 {
            self.handle_events(i);
            if self.connected {
                let bytes = self.node(i).take_outbound(LINK);
                if !bytes.is_empty() {
                    self.wires[i].push_back(bytes);
                }
            }
            self.check_messages(i);
            self.check_broadcasts(i);
            self.check_durability(i);
        }
    }

    /// Every commitment node `i` holds signed by its peer is one the peer's durable
    /// monitor knows.
    fn check_durability(&self, i: usize) {
        let signer = self.parties[1 - i].node.channel_handler();
        let unenforceable = sim::durability::unenforceable_commitment(
            self.parties[i].node.channel_handler(),
            signer.node_id(),
            &signer.persister().monitors,
        );
        if let Some(found) = unenforceable {
            panic!("{}", sim::durability::describe_unenforceable(1 - i, i, found));
        }
    }

    /// What node `i` broadcasts spends a channel's funding output, and a commitment among
    /// it is one its peer signed and never saw revoked: whatever failed the channel, a
    /// stale restart included, a node never puts a revoked state on chain (the peer
    /// would take everything). The peer's monitor is taken with every update its
    /// channel handed over, durable or not.
    fn check_broadcasts(&mut self, i: usize) {
        let broadcast = &self.parties[i].node.channel_handler().broadcaster().transactions;
        let peer_persister = self.parties[1 - i].node.channel_handler().persister();
        for tx in &broadcast[self.broadcasts_checked[i]..] {
            let (channel_id, _) = monitor_spent_by(&peer_persister.monitors, tx, &format!("node {i}"));
            if is_commitment(tx) {
                let txid = tx.compute_txid();
                let monitor = peer_persister.monitor_with_pending(&channel_id).expect("found above");
                assert!(
                    monitor.counterparty_commitments().values().any(|c| c.txid == txid),
                    "node {i} broadcast a commitment its peer never signed or saw revoked"
                );
            }
        }
        self.broadcasts_checked[i] = broadcast.len();
    }

    fn handle_events(&mut self, i: usize) {
        for _ in 0..8 {
            let events = self.node(i).channel_handler_mut().take_events();
            if events.is_empty() {
                return;
            }
            for event in events {
                match event {
                    Event::FundingGenerationReady { .. } => {
                        let index = self.fundings.len();
                        if let Some(tx) = fund(self.node(i), &event, index) {
                            self.fundings.push(tx);
                        }
                    }
                    Event::PaymentClaimable { payment_hash, .. } if !self.claiming => {
                        self.arrived.insert(payment_hash);
                    }
                    Event::PaymentClaimable { payment_hash, .. } => {
                        let manager = self.node(i).channel_handler_mut();
                        if let Some(preimage) = manager.payment_preimage(&payment_hash) {
                            if manager.claim_payment(preimage).is_ok() {
                                self.claimed.insert(payment_hash, 1 - i);
                            }
                        }
                    }
                    Event::PaymentSent { payment_hash, .. } => {
                        let payee_monitors = &self.parties[1 - i].node.channel_handler().persister().monitors;
                        assert!(
                            sim::durability::preimage_is_durable(payee_monitors, &payment_hash),
                            "{}",
                            sim::durability::describe_undurable_preimage(1 - i, i, &payment_hash)
                        );
                        self.sent.insert(payment_hash);
                    }
                    Event::ChannelClosed { channel_id, reason } => {
                        assert!(
                            self.expected_closed.contains(&channel_id) || self.stale_restarted,
                            "node {i} closed channel {channel_id:?} unexpectedly: {reason}"
                        );
                        self.expected_closed.insert(channel_id);
                    }
                    _ => {}
                }
            }
        }
    }

    /// An `error` or `warning` sent is a finding unless a stale restart explains it.
    fn check_messages(&mut self, i: usize) {
        for record in self.node(i).take_message_log() {
            if record.sent && matches!(record.name, "ErrorMessage" | "Warning") {
                assert!(
                    self.stale_restarted,
                    "node {i} sent {}: {:?}",
                    record.name,
                    String::from_utf8_lossy(&record.encoded)
                );
            }
        }
    }

    /// Delivers the oldest chunk from `from`, if any.
    fn deliver_one(&mut self, from: usize) -> bool {
        let Some(bytes) = self.wires[from].pop_front() else {
            return false;
        };
        if self.node(1 - from).read(LINK, &bytes).is_err() {
            // The receiver dropped the connection (a protocol complaint): a finding unless
            // a stale restart explains it.
            assert!(self.stale_restarted, "node {} dropped the connection", 1 - from);
            self.disconnect();
        }
        self.collect();
        true
    }

    fn pump(&mut self) {
        self.collect();
        for _ in 0..10_000 {
            let moved = self.deliver_one(0) | self.deliver_one(1);
            if !moved {
                return;
            }
        }
        panic!("the nodes never went quiet");
    }

    fn disconnect(&mut self) {
        if self.connected {
            self.node(0).disconnected(LINK);
            self.node(1).disconnected(LINK);
            self.connected = false;
        }
        self.wires = [VecDeque::new(), VecDeque::new()];
    }

    fn reconnect(&mut self) {
        if self.connected {
            return;
        }
        let their_id = self.parties[1].node.node_id();
        let Ok(act_one) = self.node(0).new_outbound(LINK, their_id) else {
            return;
        };
        if self.node(1).new_inbound(LINK).is_err() {
            return;
        }
        self.connected = true;
        self.wires[0].push_back(act_one);
    }

    fn mine(&mut self, blocks: u32) {
        for _ in 0..blocks {
            self.height += 1;
            let height = self.height;
            for party in &mut self.parties {
                let manager = party.node.channel_handler_mut();
                for tx in &self.fundings {
                    manager.transaction_confirmed(tx, START_HEIGHT + 1);
                }
                manager.best_block_updated(height);
            }
        }
        self.collect();
    }

    /// Node `from` pays the other `amount_msat`, over `channel_id` if given; its manager's
    /// answer.
    fn pay(&mut self, from: usize, amount_msat: u64, channel_id: Option<&ChannelId>) -> Result<(), ApiError> {
        let payee = self.parties[1 - from].node.node_id();
        let (hash, secret) = self
            .node(1 - from)
            .channel_handler_mut()
            .create_inbound_payment(Some(amount_msat));
        let manager = self.node(from).channel_handler_mut();
        // Refused at once (no usable channel, not enough balance) is fine.
        let answer = match channel_id {
            Some(channel_id) => {
                manager.send_payment_over(channel_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
            }
            None => manager.send_payment(payee, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA),
        };
        self.collect();
        answer
    }

    fn complete(&mut self, i: usize, which: u8) {
        complete_persistence(self.node(i), which);
        self.collect();
    }

    /// Node `i` crashes and restarts from its latest manager, or from its checkpoint
    /// (stale), with the monitors as durably stored.
    fn restart(&mut self, i: usize, stale: bool) {
        let bytes = match (&self.parties[i].checkpoint, stale) {
            (Some(checkpoint), true) => checkpoint.clone(),
            _ => self.parties[i].node.channel_handler().encode(),
        };
        let monitors: BTreeMap<ChannelId, ChannelMonitor> =
            self.parties[i].node.channel_handler().persister().monitors.clone();
        self.disconnect();
        let party = &mut self.parties[i];
        party.starts = party.starts.wrapping_add(1);
        let session = session_seed(party.keys_seed, party.starts);
        let config = config();
        let (node, mismatches) =
            restart_from(&bytes, party.keys_seed, session, &monitors, config, true).expect("its own bytes read back");
        party.node = node;
        self.broadcasts_checked[i] = 0;
        if !mismatches.is_empty() {
            assert!(stale, "a restart from the latest state found {mismatches:?}");
            self.stale_restarted = true;
            self.expected_closed.extend(mismatches.iter().map(|(id, _)| *id));
        }
        let height = self.height;
        self.node(i).channel_handler_mut().best_block_updated(height);
        self.collect();
    }

    fn step(&mut self, op: u8, next: u8) {
        match op {
            0x00..=0x1f => {
                let amount_msat = AMOUNTS_MSAT[usize::from((op >> 1) & 7)];
                let _ = self.pay(usize::from(op & 1), amount_msat, None);
            }
            0x20..=0x27 => {
                self.deliver_one(usize::from(op & 1));
            }
            0x28..=0x2b => {
                let from = usize::from(op & 1);
                while self.deliver_one(from) {}
            }
            0x2c..=0x2f => self.pump(),
            0x30..=0x32 => self.disconnect(),
            0x33..=0x37 => {
                self.reconnect();
                self.collect();
            }
            0x38..=0x3b => {
                self.node(usize::from(op & 1))
                    .channel_handler_mut()
                    .persister_mut()
                    .hold = op & 2 == 0
            }
            0x3c..=0x4f => self.complete(usize::from(op & 1), (op >> 1) % 3),
            0x50 | 0x51 => {
                let i = usize::from(op & 1);
                self.parties[i].checkpoint = Some(self.parties[i].node.channel_handler().encode());
            }
            0x52 | 0x53 => self.restart(usize::from(op & 1), false),
            0x54 | 0x55 => self.restart(usize::from(op & 1), true),
            0x56..=0x5f => {
                let feerate_per_kw = 253 + u32::from(next) * 40;
                self.node(usize::from(op & 1))
                    .channel_handler_mut()
                    .feerate_updated(feerate_per_kw);
                self.collect();
            }
            0x60..=0x63 if self.height < START_HEIGHT + 3 + MAX_BLOCKS => self.mine(1),
            _ => {}
        }
    }

    /// Reconnects, completes every update, drains; then checks what must hold.
    fn settle(&mut self) {
        for _ in 0..4 {
            for i in 0..2 {
                self.node(i).channel_handler_mut().persister_mut().hold = false;
                self.complete(i, 2);
            }
            self.reconnect();
            self.pump();
        }
        let open: Vec<ChannelId> = self.parties[0]
            .node
            .channel_handler()
            .channel_ids()
            .into_iter()
            .filter(|id| !self.expected_closed.contains(id))
            .collect();
        for id in &open {
            let (a, b) = (
                self.parties[0].node.channel_handler().channel(id),
                self.parties[1].node.channel_handler().channel(id),
            );
            let (Some(a), Some(b)) = (a, b) else {
                panic!("channel {id:?} is known to one end only")
            };
            assert_eq!(a.phase(), ChannelPhase::Normal, "channel {id:?}");
            assert_eq!(b.phase(), ChannelPhase::Normal, "channel {id:?}");
            let (sa, sb) = (ChannelSnapshot::of(a), ChannelSnapshot::of(b));
            assert!(sa.htlcs.is_empty(), "HTLCs left pending: {:?}", sa.htlcs);
            let diffs = sa.diff_against_peer(&sb);
            assert!(diffs.is_empty(), "the ends disagree: {diffs:?}");
            for (end, channel) in [(0, a), (1, b)] {
                assert_eq!(
                    channel.holder_view().total_msat(),
                    CAPACITY_SATOSHIS * 1000,
                    "node {end} holds the wrong total"
                );
            }
            // A channel still open was put on chain by neither end.
            let funding = self.parties[0].node.channel_handler().persister().monitors[id]
                .funding()
                .map(|f| f.funding_outpoint);
            for (end, party) in self.parties.iter().enumerate() {
                let broadcast = &party.node.channel_handler().broadcaster().transactions;
                assert!(
                    !broadcast
                        .iter()
                        .any(|tx| tx.input.first().map(|i| i.previous_output) == funding),
                    "node {end} broadcast a spend of open channel {id:?}"
                );
            }
        }
        // After a stale restart a channel may close with a claimed HTLC in it: only the
        // chain could tell its payer now, and on-chain resolution is not simulated here.
        if !self.stale_restarted {
            for hash in self.claimed.keys() {
                assert!(
                    self.sent.contains(hash),
                    "payment {hash:?} claimed but never known as sent"
                );
            }
        }
        // Every channel can still send: node k % 2 offers an HTLC over the k-th channel
        // and its payee finds it claimable, so both ends signed it in and revoked what
        // came before. Its removal is left out: the input's own payments take HTLCs out
        // of both commitments (none is left pending, checked above), and leaving it out
        // halves the check, which every input pays for. An end paid down to what it must
        // keep (its reserve, and as funder the fee) refuses at once, and says so; the
        // other end, which then holds nearly all the channel, offers it instead.
        if !self.stale_restarted {
            self.claiming = false;
            for (k, channel_id) in open.iter().enumerate() {
                let mut from = k % 2;
                let before = self.arrived.len();
                if let Err(ApiError::Channel(why)) = self.pay(from, 1_000, Some(channel_id)) {
                    assert!(why.contains("cannot afford"), "node {from} refused: {why}");
                    from = 1 - from;
                    let _ = self.pay(from, 1_000, Some(channel_id));
                }
                self.pump();
                assert_eq!(
                    self.arrived.len(),
                    before + 1,
                    "node {from} can no longer send over {channel_id:?}"
                );
            }
        }
    }
}

thread_local! {
    /// The state after setup, built once per thread: setting up (two nodes, a handshake,
    /// two channel openings) costs more than most inputs, and it never varies.
    static PREPARED: Harness = Harness::new();
}

/// Runs the opcode stream (each op may take the next byte as its argument), then settles.
pub fn consistency(data: &[u8]) {
    let mut harness = PREPARED.with(Harness::clone);
    for (i, &op) in data.iter().enumerate() {
        harness.step(op, data.get(i + 1).copied().unwrap_or(0));
    }
    harness.settle();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An end that paid a channel down to what it must keep (its reserve, and as funder
    /// the commitment fee) cannot offer the closing check's HTLC; the channel is not
    /// stuck for that. Found by the fuzzer with cheap keys, whose channel order put the
    /// drained end where the check sent from (`corpora/regressions/consistency/`); here
    /// the most node 0 can send over the first channel is found on copies of the harness.
    #[test]
    fn an_end_paid_down_to_its_reserve_does_not_fail_the_closing_check() {
        let mut harness = PREPARED.with(Harness::clone);
        let channel_id = harness.parties[0].node.channel_handler().channel_ids()[0];
        let (mut sendable_msat, mut refused_msat) = (0, CAPACITY_SATOSHIS * 1000);
        while refused_msat - sendable_msat > 1 {
            let middle = (sendable_msat + refused_msat) / 2;
            if takes(&harness, &channel_id, middle) {
                sendable_msat = middle;
            } else {
                refused_msat = middle;
            }
        }
        assert!(sendable_msat > 1_000_000, "node 0 holds more than dust here");
        harness
            .pay(0, sendable_msat, Some(&channel_id))
            .expect("within what node 0 may send");
        harness.pump();
        assert_eq!(harness.claimed.len(), 1, "the draining payment went through");
        assert!(!takes(&harness, &channel_id, 1_000), "node 0 is at what it must keep");
        harness.settle();
    }

    /// Whether node 0 would offer `amount_msat` over `channel_id` (tried on a copy).
    fn takes(harness: &Harness, channel_id: &ChannelId, amount_msat: u64) -> bool {
        let mut copy = harness.clone();
        let (hash, secret) = copy.node(1).channel_handler_mut().create_inbound_payment(None);
        copy.node(0)
            .channel_handler_mut()
            .send_payment_over(channel_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
            .is_ok()
    }
}
