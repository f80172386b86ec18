//! The whole-node target: one node under test ("V") with two real peers, a channel
//! with each (V funds one, the other peer funds the other), driven by an opcode stream
//! of payments both ways, deliveries, disconnects, paused and completed persistence,
//! restarts, fee estimates, any number of blocks (so HTLCs may time out), timer ticks,
//! cooperative and force closes, more channels opened either way (a few per input)
//! whose funder's wallet may build a wrong funding output or never broadcast it, and
//! hostile input: messages
//! the fuzzer writes, handed to V as if a peer sent them (a forged channel id optional),
//! and raw bytes on a connection.
//!
//! Channels may close, peers may be disconnected: hostile input is allowed to cost the
//! hostile peer its channel. What must hold: the library never panics, and every force
//! close (on command, and of every channel left at the end) broadcasts a commitment that
//! spends the channel's funding output, creates no value (outputs never exceed the
//! funding; the channel's books still hold exactly the funding), is the commitment V's
//! monitor holds once persistence catches up, and, while the peer's monitor lives, is
//! one the peer signed and never saw revoked. Whatever else V broadcasts (a channel
//! failed on an error, a mutual close) spends a channel's funding with both signatures
//! and creates no value, and a commitment among it is one the peer never saw revoked.
//! And V never keeps a channel whose funding confirmed paying anything but exactly the
//! channel's value to its 2-of-2 script, nor one it accepted whose funding it has not
//! seen confirm for 2016 blocks since it signed it (BOLT 2).

use std::collections::{BTreeMap, VecDeque};

use lightning::bitcoin::{ScriptBuf, Transaction};
use lightning::chain::ChannelMonitor;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::FUNDING_WAIT_BLOCKS;
use lightning::events::Event;
use lightning::transport::{MessageHandler, PeerId};
use lightning::wire::{ChannelId, Message};
use sim::node::{restart_from, Node, START_HEIGHT};
use sim::wallet::{fund_channel_with, funding_transaction};

use super::whole_node::{
    complete_persistence, config, is_commitment, monitor_spent_by, session_seed, start, AMOUNTS_MSAT,
    CAPACITY_SATOSHIS, PUSH_MSAT,
};

/// Index of the node under test; 1 and 2 are its peers.
const V: usize = 0;
/// How each peer sees V.
const V_FROM_PEER: PeerId = PeerId(0);
/// The longest hostile message or byte string one op carries.
const MAX_INJECTED_LEN: usize = 96;
/// Channels an input may open after setup: each costs an opening and, with every
/// channel force-closed at the end, a close to check.
const MAX_EXTRA_CHANNELS: u8 = 2;

fn link_of(peer: usize) -> PeerId {
    PeerId(peer as u64)
}

#[derive(Clone)]
struct Link {
    connected: bool,
    /// Bytes in flight: [V to peer, peer to V].
    wires: [VecDeque<Vec<u8>>; 2],
}

#[derive(Clone)]
struct Harness {
    nodes: [Node; 3],
    keys_seeds: [[u8; 32]; 3],
    /// V's starts so far: each restart takes fresh session entropy.
    v_starts: u8,
    links: [Link; 2],
    height: u32,
    /// Funding transactions, with the height they confirm at.
    fundings: Vec<(Transaction, u32)>,
    /// Per node, how its wallet builds its next funding transaction (see [`fund_as`]).
    wallet_faults: [u8; 3],
    /// Channels opened after setup.
    extra_channels: u8,
    /// Channels whose funding transaction pays a wrong output, with the height it
    /// confirms at.
    wrong_fundings: Vec<(ChannelId, u32)>,
    /// Channels a peer funded to V whose funding is never broadcast, with the height V
    /// signed it at once V has.
    unbroadcast_to_v: Vec<(ChannelId, Option<u32>)>,
    /// How many of V's broadcasts (since its last start) were checked.
    v_broadcasts_checked: usize,
}

impl Harness {
    fn new() -> Self {
        let keys_seeds = [[0x31u8; 32], [0x32; 32], [0x33; 32]];
        let link = Link {
            connected: false,
            wires: [VecDeque::new(), VecDeque::new()],
        };
        let mut h = Harness {
            nodes: keys_seeds.map(|seed| start(seed, 0, false)),
            keys_seeds,
            v_starts: 0,
            links: [link.clone(), link],
            height: START_HEIGHT,
            fundings: Vec::new(),
            wallet_faults: [0; 3],
            extra_channels: 0,
            wrong_fundings: Vec::new(),
            unbroadcast_to_v: Vec::new(),
            v_broadcasts_checked: 0,
        };
        for peer in 1..=2 {
            h.reconnect(peer);
        }
        h.pump();
        // V funds its channel with peer 1; peer 2 funds its channel with V.
        for (funder, acceptor) in [(V, 1), (2, V)] {
            let acceptor_id = h.nodes[acceptor].node_id();
            h.nodes[funder]
                .channel_handler_mut()
                .open_channel(acceptor_id, CAPACITY_SATOSHIS, PUSH_MSAT)
                .expect("connected");
            h.pump();
        }
        h.mine(3);
        h.pump();
        assert_eq!(
            h.nodes[V].channel_handler().channel_ids().len(),
            2,
            "setup opens two channels"
        );
        h
    }

    /// Takes what every node wants to send and handles its events.
    fn collect(&mut self) {
        for i in 0..3 {
            self.handle_events(i);
        }
        for peer in 1..=2 {
            if !self.links[peer - 1].connected {
                continue;
            }
            let to_peer = self.nodes[V].take_outbound(link_of(peer));
            let to_v = self.nodes[peer].take_outbound(V_FROM_PEER);
            let wires = &mut self.links[peer - 1].wires;
            if !to_peer.is_empty() {
                wires[0].push_back(to_peer);
            }
            if !to_v.is_empty() {
                wires[1].push_back(to_v);
            }
        }
        self.check_v_broadcasts();
        // V signs a funding while handling `funding_created`, at its best height, which
        // is the harness's: the op that delivered it ends here.
        let height = self.height;
        for (channel_id, signed_at) in &mut self.unbroadcast_to_v {
            if signed_at.is_none() && self.nodes[V].channel_handler().channel(channel_id).is_some() {
                *signed_at = Some(height);
            }
        }
    }

    /// Whatever closed the channel (a command, a protocol error, the peer's `error`, an
    /// expired HTLC), what V broadcasts spends a funding output of one of its channels
    /// with both signatures and creates no value; a commitment among them is one the peer
    /// signed and never saw revoked. Every channel is set up before the stream, so the
    /// peer's monitor (persisted synchronously) knows each.
    fn check_v_broadcasts(&mut self) {
        let broadcast = &self.nodes[V].channel_handler().broadcaster().transactions;
        for tx in &broadcast[self.v_broadcasts_checked..] {
            let peer_monitors = (1..=2).flat_map(|p| &self.nodes[p].channel_handler().persister().monitors);
            let (_, peer_monitor) = monitor_spent_by(peer_monitors, tx, "V");
            let funding = peer_monitor.funding().expect("found by its funding");
            assert_eq!(tx.input.len(), 1, "{tx:?}");
            assert_eq!(tx.input[0].witness.len(), 4, "not signed by both: {tx:?}");
            let outputs_sat: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
            assert!(outputs_sat <= funding.funding_satoshis, "V's broadcast creates value");
            if is_commitment(tx) {
                let txid = tx.compute_txid();
                assert!(
                    peer_monitor.counterparty_commitments().values().any(|c| c.txid == txid),
                    "V broadcast a commitment its peer never signed or saw revoked"
                );
            }
        }
        self.v_broadcasts_checked = broadcast.len();
    }

    fn handle_events(&mut self, i: usize) {
        for _ in 0..8 {
            let events = self.nodes[i].channel_handler_mut().take_events();
            if events.is_empty() {
                return;
            }
            for event in events {
                match event {
                    Event::FundingGenerationReady { .. } => {
                        let fault = std::mem::take(&mut self.wallet_faults[i]);
                        let funded = fund_as(&mut self.nodes[i], &event, self.fundings.len(), fault);
                        match funded {
                            Some((channel_id, _)) if fault == NEVER_BROADCAST && i != V => {
                                self.unbroadcast_to_v.push((channel_id, None));
                            }
                            Some(_) if fault == NEVER_BROADCAST => {}
                            Some((channel_id, tx)) => {
                                self.fundings.push((tx, self.height + 1));
                                if fault != 0 {
                                    self.wrong_fundings.push((channel_id, self.height + 1));
                                }
                            }
                            None => {}
                        }
                    }
                    Event::PaymentClaimable { payment_hash, .. } => {
                        let manager = self.nodes[i].channel_handler_mut();
                        if let Some(preimage) = manager.payment_preimage(&payment_hash) {
                            let _ = manager.claim_payment(preimage);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Delivers the oldest chunk on `peer`'s link in one direction (0: V to the peer).
    fn deliver_one(&mut self, peer: usize, direction: usize) -> bool {
        let Some(bytes) = self.links[peer - 1].wires[direction].pop_front() else {
            return false;
        };
        let dropped = if direction == 0 {
            self.nodes[peer].read(V_FROM_PEER, &bytes).is_err()
        } else {
            self.nodes[V].read(link_of(peer), &bytes).is_err()
        };
        if dropped {
            self.disconnect(peer);
        }
        self.collect();
        true
    }

    fn pump(&mut self) {
        self.collect();
        for _ in 0..10_000 {
            let mut moved = false;
            for peer in 1..=2 {
                moved |= self.deliver_one(peer, 0) | self.deliver_one(peer, 1);
            }
            if !moved {
                return;
            }
        }
        panic!("the nodes never went quiet");
    }

    fn disconnect(&mut self, peer: usize) {
        let link = &mut self.links[peer - 1];
        if link.connected {
            link.connected = false;
            self.nodes[V].disconnected(link_of(peer));
            self.nodes[peer].disconnected(V_FROM_PEER);
        }
        self.links[peer - 1].wires = [VecDeque::new(), VecDeque::new()];
    }

    fn reconnect(&mut self, peer: usize) {
        if self.links[peer - 1].connected {
            return;
        }
        // A peer V dropped may still think itself connected: it learns otherwise first.
        self.nodes[peer].disconnected(V_FROM_PEER);
        self.nodes[V].disconnected(link_of(peer));
        let v_id = self.nodes[V].node_id();
        let Ok(act_one) = self.nodes[peer].new_outbound(V_FROM_PEER, v_id) else {
            return;
        };
        if self.nodes[V].new_inbound(link_of(peer)).is_err() {
            return;
        }
        self.links[peer - 1].connected = true;
        self.links[peer - 1].wires[1].push_back(act_one);
    }

    fn mine(&mut self, blocks: u32) {
        for _ in 0..blocks {
            self.height += 1;
            for node in &mut self.nodes {
                let manager = node.channel_handler_mut();
                for (tx, height) in &self.fundings {
                    if *height <= self.height {
                        manager.transaction_confirmed(tx, *height);
                    }
                }
                manager.best_block_updated(self.height);
            }
            let manager = self.nodes[V].channel_handler();
            for (channel_id, confirmed_at) in &self.wrong_fundings {
                assert!(
                    *confirmed_at > self.height || manager.channel(channel_id).is_none(),
                    "V kept a channel whose funding output is wrong"
                );
            }
            for (channel_id, signed_at) in &self.unbroadcast_to_v {
                let waited_blocks = signed_at.map(|h| self.height - h);
                assert!(
                    waited_blocks.is_none_or(|waited| waited < FUNDING_WAIT_BLOCKS)
                        || manager.channel(channel_id).is_none(),
                    "V kept a channel whose funding it has not seen for {FUNDING_WAIT_BLOCKS} blocks"
                );
            }
        }
        self.collect();
    }

    /// `funder` (V or a peer) opens another channel with the other end, its wallet
    /// building the funding as `fault` says (see [`fund_as`]).
    fn open_extra(&mut self, funder: usize, acceptor: usize, fault: u8) {
        if self.extra_channels >= MAX_EXTRA_CHANNELS {
            return;
        }
        self.extra_channels += 1;
        self.wallet_faults[funder] = fault % 5;
        let acceptor_id = self.nodes[acceptor].node_id();
        let _ = self.nodes[funder]
            .channel_handler_mut()
            .open_channel(acceptor_id, CAPACITY_SATOSHIS, PUSH_MSAT);
        self.collect();
    }

    fn pay(&mut self, payer: usize, payee: usize, amount_msat: u64) {
        let payee_id = self.nodes[payee].node_id();
        let (hash, secret) = self.nodes[payee]
            .channel_handler_mut()
            .create_inbound_payment(Some(amount_msat));
        let _ = self.nodes[payer].channel_handler_mut().send_payment(
            payee_id,
            hash,
            secret,
            amount_msat,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        );
        self.collect();
    }

    fn complete(&mut self, which: u8) {
        complete_persistence(&mut self.nodes[V], which);
        self.collect();
    }

    /// V crashes and restarts from its latest manager and its durable monitors.
    fn restart(&mut self) {
        let bytes = self.nodes[V].channel_handler().encode();
        let monitors: BTreeMap<ChannelId, ChannelMonitor> =
            self.nodes[V].channel_handler().persister().monitors.clone();
        for peer in 1..=2 {
            self.disconnect(peer);
        }
        self.v_starts = self.v_starts.wrapping_add(1);
        let session = session_seed(self.keys_seeds[V], self.v_starts);
        let config = config();
        let (node, _) = restart_from(&bytes, self.keys_seeds[V], session, &monitors, config, false)
            .expect("a manager's own bytes read back");
        self.nodes[V] = node;
        self.v_broadcasts_checked = 0;
        let height = self.height;
        self.nodes[V].channel_handler_mut().best_block_updated(height);
        self.collect();
    }

    /// V's channel with `peer`, if it still has one.
    fn channel_with(&self, peer: usize) -> Option<ChannelId> {
        let peer_id = self.nodes[peer].node_id();
        let manager = self.nodes[V].channel_handler();
        manager
            .channel_ids()
            .into_iter()
            .find(|id| manager.counterparty_of(id) == Some(peer_id))
    }

    /// A message written by the fuzzer, handed to V as if `peer` sent it; if `forge_id`,
    /// its first 32 payload bytes become the id of V's channel with that peer.
    fn inject_message(&mut self, peer: usize, bytes: &[u8], forge_id: bool) {
        let mut bytes = bytes.to_vec();
        if forge_id && bytes.len() >= 34 {
            if let Some(id) = self.channel_with(peer) {
                bytes[2..34].copy_from_slice(&id.0);
            }
        }
        let Ok(message) = Message::decode(&bytes) else {
            return;
        };
        let peer_id = self.nodes[peer].node_id();
        if self.links[peer - 1].connected {
            self.nodes[V].channel_handler_mut().handle_message(&peer_id, message);
            self.collect();
        }
    }

    /// Raw bytes on `peer`'s connection to V, as if the peer wrote them.
    fn inject_bytes(&mut self, peer: usize, bytes: &[u8]) {
        if self.links[peer - 1].connected && self.nodes[V].read(link_of(peer), bytes).is_err() {
            self.disconnect(peer);
        }
        self.collect();
    }

    /// Force-closes V's channel `channel_id`, if V will, and checks what it broadcast.
    fn force_close(&mut self, channel_id: ChannelId) {
        let Some(channel) = self.nodes[V].channel_handler().channel(&channel_id) else {
            return;
        };
        let view = channel.holder_view();
        let funding_satoshis = channel.funding_satoshis();
        let counterparty = self.nodes[V].channel_handler().counterparty_of(&channel_id);
        let broadcast_before = self.nodes[V].channel_handler().broadcaster().transactions.len();
        if self.nodes[V]
            .channel_handler_mut()
            .force_close_channel(&channel_id)
            .is_err()
        {
            return;
        }
        let broadcast = &self.nodes[V].channel_handler().broadcaster().transactions;
        assert_eq!(
            broadcast.len(),
            broadcast_before + 1,
            "a force close broadcasts one transaction"
        );
        let commitment: Transaction = broadcast[broadcast_before].clone();
        assert_eq!(
            view.total_msat(),
            funding_satoshis * 1000,
            "the books lost or made value"
        );
        let outputs_sat: u64 = commitment.output.iter().map(|o| o.value.to_sat()).sum();
        assert!(outputs_sat <= funding_satoshis, "the commitment creates value");
        // Once every update is durable, the monitor holds exactly this commitment.
        self.complete(2);
        let monitor = &self.nodes[V].channel_handler().persister().monitors[&channel_id];
        let funding = monitor.funding().expect("a signed commitment implies funding");
        assert_eq!(commitment.input[0].previous_output, funding.funding_outpoint);
        assert_eq!(funding.funding_satoshis, funding_satoshis);
        assert!(monitor.is_closed(), "the monitor was not told of the close");
        let held = monitor.holder_commitment().expect("a holder commitment");
        let txid = commitment.compute_txid();
        assert_eq!(
            held.transaction.compute_txid(),
            txid,
            "broadcast a commitment the monitor does not hold"
        );
        // The peer signed it and never saw it revoked (its persistence is synchronous).
        let peer = (1..=2).find(|&p| Some(self.nodes[p].node_id()) == counterparty);
        if let Some(peer) = peer {
            if let Some(peer_monitor) = self.nodes[peer].channel_handler().persister().monitors.get(&channel_id) {
                assert!(
                    peer_monitor.counterparty_commitments().values().any(|c| c.txid == txid),
                    "V broadcast a commitment its peer never signed or saw revoked"
                );
            }
        }
        self.collect();
    }

    fn step(&mut self, op: u8, arg: u8, tail: &[u8]) -> usize {
        let peer = usize::from(op & 1) + 1;
        match op {
            0x00..=0x1f => {
                let amount_msat = AMOUNTS_MSAT[usize::from((op >> 2) & 7)];
                let peer = usize::from((op >> 1) & 1) + 1;
                if op & 1 == 0 {
                    self.pay(V, peer, amount_msat);
                } else {
                    self.pay(peer, V, amount_msat);
                }
            }
            0x20..=0x27 => {
                self.deliver_one(peer, usize::from((op >> 1) & 1));
            }
            0x28..=0x2b => {
                let direction = usize::from((op >> 1) & 1);
                while self.deliver_one(peer, direction) {}
            }
            0x2c..=0x2f => self.pump(),
            0x30..=0x31 => self.disconnect(peer),
            0x32..=0x33 => {
                self.reconnect(peer);
                self.collect();
            }
            0x34..=0x35 => self.nodes[V].channel_handler_mut().persister_mut().hold = op & 1 == 0,
            0x36..=0x38 => self.complete(op - 0x36),
            0x39 => self.restart(),
            0x3a..=0x3b => {
                let feerate_per_kw = 253 + u32::from(arg) * 40;
                self.nodes[V].channel_handler_mut().feerate_updated(feerate_per_kw);
                self.collect();
                return 1;
            }
            0x3c..=0x43 => self.mine(u32::from(op - 0x3c) * 8 + 1),
            0x44 => {
                self.nodes[V].timer_tick();
                self.collect();
            }
            0x45..=0x46 => {
                if let Some(id) = self.channel_with(peer) {
                    let _ = self.nodes[V].channel_handler_mut().close_channel(&id);
                    self.collect();
                }
            }
            0x47..=0x48 => {
                let v_id = self.nodes[V].node_id();
                let manager = self.nodes[peer].channel_handler_mut();
                let id = manager
                    .channel_ids()
                    .into_iter()
                    .find(|id| manager.counterparty_of(id) == Some(v_id));
                if let Some(id) = id {
                    let _ = manager.close_channel(&id);
                    self.collect();
                }
            }
            0x49..=0x4a => {
                if let Some(id) = self.channel_with(peer) {
                    self.force_close(id);
                }
            }
            0x4b..=0x4e => {
                let len = usize::from(arg) % (MAX_INJECTED_LEN + 1);
                let bytes = &tail[..len.min(tail.len())];
                self.inject_message(peer, bytes, op & 2 != 0);
                return 1 + bytes.len();
            }
            0x4f..=0x50 => {
                let len = usize::from(arg) % (MAX_INJECTED_LEN + 1);
                let bytes = &tail[..len.min(tail.len())];
                self.inject_bytes(peer, bytes);
                return 1 + bytes.len();
            }
            0x51..=0x52 => {
                self.open_extra(peer, V, arg);
                return 1;
            }
            0x53..=0x54 => {
                self.open_extra(V, peer, arg);
                return 1;
            }
            _ => {}
        }
        0
    }

    /// Completes V's persistence, reconnects and drains; then force-closes every channel
    /// V still has, checking each.
    fn finish(&mut self) {
        self.nodes[V].channel_handler_mut().persister_mut().hold = false;
        self.complete(2);
        for peer in 1..=2 {
            self.reconnect(peer);
        }
        self.pump();
        for channel_id in self.nodes[V].channel_handler().channel_ids() {
            self.force_close(channel_id);
        }
    }
}

/// A wallet fault: the funding is built as asked but never broadcast.
const NEVER_BROADCAST: u8 = 4;

/// The user's wallet answers `event` if it is `FundingGenerationReady`, spending a coin
/// of its own per `index`, and building the funding as `fault` says: as asked (0, and
/// [`NEVER_BROADCAST`]), or wrong in a way both ends must catch before using the
/// channel: one satoshi short (1), to another script (2), or naming an output the
/// transaction lacks (3). The channel's id and the transaction, if the manager took it.
fn fund_as(node: &mut Node, event: &Event, index: usize, fault: u8) -> Option<(ChannelId, Transaction)> {
    let coin = [index as u8 + 1; 32];
    fund_channel_with(node, event, |funding_satoshis, output_script| match fault {
        1 => (
            funding_transaction(coin, funding_satoshis.saturating_sub(1), output_script),
            0,
        ),
        2 => {
            let other_script = ScriptBuf::new_p2wsh(&ScriptBuf::new().wscript_hash());
            (funding_transaction(coin, funding_satoshis, other_script), 0)
        }
        3 => (funding_transaction(coin, funding_satoshis, output_script), 1),
        _ => (funding_transaction(coin, funding_satoshis, output_script), 0),
    })
}

thread_local! {
    /// The state after setup (three nodes, two handshakes, two channels), built once per
    /// thread and copied per input.
    static PREPARED: Harness = Harness::new();
}

/// Runs the opcode stream (an op may take the next byte as its argument, and injecting
/// ops the bytes after it), then force-closes everything and checks it.
pub fn node(data: &[u8]) {
    let mut harness = PREPARED.with(Harness::clone);
    let mut i = 0;
    while i < data.len() {
        let arg = data.get(i + 1).copied().unwrap_or(0);
        let tail = data.get(i + 2..).unwrap_or_default();
        i += 1 + harness.step(data[i], arg, tail);
    }
    harness.finish();
}
