//! The three-node consistency target: nodes A - B - C (0, 1, 2), two channels on each
//! link (one funded from each end), driven by an opcode stream: payments A -> C and
//! C -> A forwarded by B over a pair of channels the input picks, multi-part payments
//! over both pairs, direct payments on either link, and on each link and node what the
//! two-node target does (deliver one chunk or all per direction, disconnect and
//! reconnect, persistence held and completed first, last or all, checkpoints and
//! restarts from the latest or a stale manager, fee estimates, blocks). B forwards only
//! when the input says (`process_pending_forwards`), so forwards wait across every other
//! op.
//!
//! A finding is: a panic (the library asserts its forwarding rules as it goes), a
//! channel closed or an `error`/`warning` sent that no stale restart explains, a node
//! holding what its peer's durable monitor cannot enforce, a preimage learned before the
//! payee's monitor held it, a node broadcasting a commitment its peer never signed; and
//! after settling, an HTLC or a forward left pending, two ends that disagree, a claimed
//! payment its payer never learned was sent, or B's books not balancing: what B holds in
//! its channels is what it held at the start, plus what it was paid directly and what
//! its forwards earned, less what it paid (so a forward failed upstream while its
//! downstream was fulfilled shows as B poorer).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use lightning::bitcoin::Transaction;
use lightning::chain::ChannelMonitor;
use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::forward::ForwardStage;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::events::Event;
use lightning::routing::{Path, Route, RouteHop};
use lightning::transport::PeerId;
use lightning::wire::{ChannelId, PaymentHash, ShortChannelId};
use sim::node::{restart_from, Node, START_HEIGHT};

use super::whole_node::{
    complete_persistence, fund, is_commitment, monitor_spent_by, planted_bug, profile, session_seed, start_with,
    with_bug, Bug, AMOUNTS_MSAT, CAPACITY_SATOSHIS, PUSH_MSAT,
};

/// The links: (lower node, higher node).
const LINKS: [(usize, usize); 2] = [(0, 1), (1, 2)];
/// Blocks an input may mine (the final CLTV delta is 40, B keeps 72 more).
const MAX_BLOCKS: u32 = 10;

/// Node `i`'s connection to node `j`.
fn conn(j: usize) -> PeerId {
    PeerId(j as u64)
}

#[derive(Clone)]
struct Party {
    node: Node,
    keys_seed: [u8; 32],
    starts: u8,
    checkpoint: Option<Vec<u8>>,
    config: ChannelManagerConfig,
}

#[derive(Clone)]
struct Harness {
    parties: [Party; 3],
    /// Bytes in flight per link and direction: `wires[link][0]` from the lower node.
    wires: [[VecDeque<Vec<u8>>; 2]; 2],
    connected: [bool; 2],
    height: u32,
    /// Channels by link, in id order, with their short ids.
    channels: [Vec<(ChannelId, ShortChannelId)>; 2],
    fundings: Vec<(Transaction, u32)>,
    expected_closed: BTreeSet<ChannelId>,
    stale_restarted: bool,
    restored_stale: BTreeSet<ChannelId>,
    claimed: BTreeMap<PaymentHash, usize>,
    sent: BTreeSet<PaymentHash>,
    /// The payee of each payment made, for the preimage check.
    payees: BTreeMap<PaymentHash, usize>,
    broadcasts_checked: [usize; 3],
    /// B's books: what it held at the start and what moved since.
    b_start_msat: u64,
    b_received_msat: u64,
    b_paid_msat: u64,
    b_earned_msat: u64,
}

impl Harness {
    fn new(profiles: [u8; 3], bug: Bug) -> Self {
        let seeds = [[0x11u8; 32], [0x22u8; 32], [0x33u8; 32]];
        let parties = [0, 1, 2].map(|i| {
            let config = with_bug(profile(profiles[i]), bug);
            Party {
                node: start_with(seeds[i], 0, config.clone(), true),
                keys_seed: seeds[i],
                starts: 0,
                checkpoint: None,
                config,
            }
        });
        let mut h = Harness {
            parties,
            wires: Default::default(),
            connected: [false; 2],
            height: START_HEIGHT,
            channels: [Vec::new(), Vec::new()],
            fundings: Vec::new(),
            expected_closed: BTreeSet::new(),
            stale_restarted: false,
            restored_stale: BTreeSet::new(),
            claimed: BTreeMap::new(),
            sent: BTreeSet::new(),
            payees: BTreeMap::new(),
            broadcasts_checked: [0; 3],
            b_start_msat: 0,
            b_received_msat: 0,
            b_paid_msat: 0,
            b_earned_msat: 0,
        };
        for link in 0..2 {
            h.reconnect(link);
        }
        h.pump();
        for (link, (low, high)) in LINKS.into_iter().enumerate() {
            for (funder, peer) in [(low, high), (high, low)] {
                let peer_id = h.parties[peer].node.node_id();
                h.parties[funder]
                    .node
                    .channel_handler_mut()
                    .open_channel(peer_id, CAPACITY_SATOSHIS, PUSH_MSAT)
                    .expect("connected");
                h.pump();
            }
            let _ = link;
        }
        h.mine(3);
        h.pump();
        for (link, (low, high)) in LINKS.into_iter().enumerate() {
            let high_id = h.parties[high].node.node_id();
            let manager = h.parties[low].node.channel_handler();
            let details = manager.list_channels();
            h.channels[link] = details
                .iter()
                .filter(|d| d.counterparty_node_id == high_id && d.is_usable)
                .map(|d| (d.channel_id, d.short_channel_id.expect("confirmed in a block")))
                .collect();
            assert_eq!(
                h.channels[link].len(),
                2,
                "the setup leaves both channels of link {link} open"
            );
        }
        h.b_start_msat = h.holdings_msat(1);
        h
    }

    fn node(&mut self, i: usize) -> &mut Node {
        &mut self.parties[i].node
    }

    /// What node `i` holds in its open channels, HTLCs not counted.
    fn holdings_msat(&self, i: usize) -> u64 {
        self.parties[i]
            .node
            .channel_handler()
            .list_channels()
            .iter()
            .map(|d| d.balance_msat)
            .sum()
    }

    fn collect(&mut self) {
        for i in 0..3 {
            self.handle_events(i);
            for (link, (low, high)) in LINKS.into_iter().enumerate() {
                if !self.connected[link] || (i != low && i != high) {
                    continue;
                }
                let peer = if i == low { high } else { low };
                let bytes = self.node(i).take_outbound(conn(peer));
                if !bytes.is_empty() {
                    self.wires[link][usize::from(i == high)].push_back(bytes);
                }
            }
            self.check_messages(i);
            self.check_broadcasts(i);
        }
        for (low, high) in LINKS {
            for (holder, signer) in [(low, high), (high, low)] {
                let unenforceable = sim::durability::unenforceable_commitment(
                    self.parties[holder].node.channel_handler(),
                    self.parties[signer].node.channel_handler(),
                    |id| self.restored_stale.contains(id),
                );
                if let Some(found) = unenforceable {
                    panic!("{}", sim::durability::describe_unenforceable(signer, holder, found));
                }
            }
        }
    }

    fn check_broadcasts(&mut self, i: usize) {
        let broadcast = &self.parties[i].node.channel_handler().broadcaster().transactions;
        for tx in &broadcast[self.broadcasts_checked[i].min(broadcast.len())..] {
            // The channel's peer is whichever other node has its monitor.
            let peer = (0..3).filter(|j| *j != i).find(|j| {
                let monitors = &self.parties[*j].node.channel_handler().persister().monitors;
                let spent = tx.input.first().map(|input| input.previous_output);
                monitors
                    .values()
                    .any(|m| m.funding().map(|f| f.funding_outpoint) == spent)
            });
            let Some(peer) = peer else {
                panic!("node {i} broadcast a transaction spending no channel's funding: {tx:?}");
            };
            let peer_persister = self.parties[peer].node.channel_handler().persister();
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
                            self.fundings.push((tx, index as u32 + 1));
                        }
                    }
                    Event::PaymentClaimable { payment_hash, .. } => {
                        let manager = self.node(i).channel_handler_mut();
                        if let Some(preimage) = manager.payment_preimage(&payment_hash) {
                            if manager.claim_payment(preimage).is_ok() {
                                self.claimed.insert(payment_hash, i);
                            }
                        }
                    }
                    Event::PaymentClaimed { amount_msat, .. } if i == 1 => self.b_received_msat += amount_msat,
                    Event::PaymentSent {
                        payment_hash,
                        fee_paid_msat,
                        ref paths,
                        ..
                    } => {
                        let payee = self.payees.get(&payment_hash).copied().unwrap_or(usize::MAX);
                        if payee < 3 {
                            let monitors = &self.parties[payee].node.channel_handler().persister().monitors;
                            assert!(
                                sim::durability::preimage_is_durable(monitors, &payment_hash),
                                "{}",
                                sim::durability::describe_undurable_preimage(payee, i, &payment_hash)
                            );
                        }
                        if i == 1 {
                            let amount: u64 = paths.iter().map(Path::amount_msat).sum();
                            self.b_paid_msat += amount + fee_paid_msat;
                        }
                        self.sent.insert(payment_hash);
                    }
                    Event::PaymentForwarded { fee_earned_msat, .. } => {
                        assert_eq!(i, 1, "only B forwards");
                        self.b_earned_msat += fee_earned_msat;
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

    /// Delivers the oldest chunk on `link` in direction `dir` (0: from the lower node).
    fn deliver_one(&mut self, link: usize, dir: usize) -> bool {
        let Some(bytes) = self.wires[link][dir].pop_front() else {
            return false;
        };
        let (low, high) = LINKS[link];
        let (from, to) = if dir == 0 { (low, high) } else { (high, low) };
        if self.node(to).read(conn(from), &bytes).is_err() {
            assert!(self.stale_restarted, "node {to} dropped the connection to node {from}");
            self.disconnect(link);
        }
        self.collect();
        true
    }

    fn pump(&mut self) {
        self.collect();
        for _ in 0..10_000 {
            let mut moved = false;
            for link in 0..2 {
                moved |= self.deliver_one(link, 0) | self.deliver_one(link, 1);
            }
            if !moved {
                return;
            }
        }
        panic!("the nodes never went quiet");
    }

    fn disconnect(&mut self, link: usize) {
        let (low, high) = LINKS[link];
        if self.connected[link] {
            self.node(low).disconnected(conn(high));
            self.node(high).disconnected(conn(low));
            self.connected[link] = false;
        }
        self.wires[link] = Default::default();
    }

    fn reconnect(&mut self, link: usize) {
        if self.connected[link] {
            return;
        }
        let (low, high) = LINKS[link];
        let their_id = self.parties[high].node.node_id();
        let Ok(act_one) = self.node(low).new_outbound(conn(high), their_id) else {
            return;
        };
        if self.node(high).new_inbound(conn(low)).is_err() {
            return;
        }
        self.connected[link] = true;
        self.wires[link][0].push_back(act_one);
    }

    fn mine(&mut self, blocks: u32) {
        for _ in 0..blocks {
            self.height += 1;
            let height = self.height;
            for party in &mut self.parties {
                let manager = party.node.channel_handler_mut();
                for (tx, index) in &self.fundings {
                    manager.transaction_confirmed_in_block(tx, START_HEIGHT + 1, *index);
                }
                manager.best_block_updated(height);
            }
        }
        self.collect();
    }

    /// The path from `payer` (0 or 2) to the other end over link channels `pick`
    /// (bit 0: which channel on the payer's link, bit 1: which on the other), B charging
    /// its policy on the outgoing channel.
    fn forwarded_path(&self, payer: usize, pick: u8, amount_msat: u64) -> Option<Path> {
        let (first_link, second_link, payee) = if payer == 0 { (0, 1, 2) } else { (1, 0, 0) };
        let (first_channel, first_scid) = *self.channels[first_link].get(usize::from(pick & 1))?;
        let (second_channel, second_scid) = *self.channels[second_link].get(usize::from((pick >> 1) & 1))?;
        let _ = first_channel;
        let policy = self.parties[1]
            .node
            .channel_handler()
            .forwarding_policy(&second_channel);
        let fee = policy.routing_policy(true).fee_msat(amount_msat)?;
        Some(Path {
            hops: vec![
                RouteHop {
                    node_id: self.parties[1].node.node_id(),
                    short_channel_id: first_scid,
                    amount_msat: amount_msat + fee,
                    expiry_beyond_final_blocks: u32::from(policy.cltv_expiry_delta),
                },
                RouteHop {
                    node_id: self.parties[payee].node.node_id(),
                    short_channel_id: second_scid,
                    amount_msat,
                    expiry_beyond_final_blocks: 0,
                },
            ],
        })
    }

    /// `payer` pays the far end over B: one path, or (`parts`) two halves over both
    /// pairs of channels (a multi-part payment).
    fn pay_forwarded(&mut self, payer: usize, pick: u8, amount_msat: u64, parts: bool) {
        let payee = 2 - payer;
        let paths: Vec<Path> = if parts {
            let half = amount_msat / 2;
            [pick, pick ^ 3]
                .into_iter()
                .filter_map(|p| self.forwarded_path(payer, p, half))
                .collect()
        } else {
            self.forwarded_path(payer, pick, amount_msat).into_iter().collect()
        };
        if paths.is_empty() || paths.iter().any(|p| p.amount_msat() == 0) {
            return;
        }
        let total: u64 = paths.iter().map(Path::amount_msat).sum();
        let (hash, secret) = self
            .node(payee)
            .channel_handler_mut()
            .create_inbound_payment(Some(total));
        self.payees.insert(hash, payee);
        let route = Route { paths };
        // Refused at once (a channel away or short) is fine.
        let _ = self.node(payer).channel_handler_mut().send_payment_along_route(
            &route,
            hash,
            secret,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        );
        self.node(payer).process_events();
        self.collect();
    }

    /// A direct payment on `link` from its lower (`dir` 0) or higher node.
    fn pay_direct(&mut self, link: usize, dir: usize, amount_msat: u64) {
        let (low, high) = LINKS[link];
        let (from, to) = if dir == 0 { (low, high) } else { (high, low) };
        let payee_id = self.parties[to].node.node_id();
        let (hash, secret) = self
            .node(to)
            .channel_handler_mut()
            .create_inbound_payment(Some(amount_msat));
        self.payees.insert(hash, to);
        let _ = self.node(from).channel_handler_mut().send_payment(
            payee_id,
            hash,
            secret,
            amount_msat,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        );
        self.collect();
    }

    fn restart(&mut self, i: usize, stale: bool) {
        let bytes = match (&self.parties[i].checkpoint, stale) {
            (Some(checkpoint), true) => checkpoint.clone(),
            _ => self.parties[i].node.channel_handler().encode(),
        };
        let monitors: BTreeMap<ChannelId, ChannelMonitor> =
            self.parties[i].node.channel_handler().persister().monitors.clone();
        for (link, (low, high)) in LINKS.into_iter().enumerate() {
            if low == i || high == i {
                self.disconnect(link);
            }
        }
        let party = &mut self.parties[i];
        party.starts = party.starts.wrapping_add(1);
        let session = session_seed(party.keys_seed, party.starts);
        let config = party.config.clone();
        let (node, mismatches) =
            restart_from(&bytes, party.keys_seed, session, &monitors, config, true).expect("its own bytes read back");
        party.node = node;
        self.broadcasts_checked[i] = 0;
        if !mismatches.is_empty() {
            assert!(stale, "a restart from the latest state found {mismatches:?}");
            self.stale_restarted = true;
            self.expected_closed.extend(mismatches.iter().map(|(id, _)| *id));
        }
        if stale && self.parties[i].checkpoint.is_some() {
            let running = self.parties[i].node.channel_handler().channel_ids();
            self.stale_restarted = true;
            self.expected_closed.extend(running.iter().copied());
            self.restored_stale.extend(running);
        }
        let height = self.height;
        self.node(i).channel_handler_mut().best_block_updated(height);
        self.collect();
    }

    fn step(&mut self, op: u8, next: u8) {
        let amount_msat = AMOUNTS_MSAT[usize::from(next & 7)];
        match op {
            // Forwarded payments: A -> C or C -> A, over the pair of channels bits pick.
            0x00..=0x0f => self.pay_forwarded(usize::from(op & 1) * 2, (op >> 1) & 3, amount_msat, false),
            0x10..=0x13 => self.pay_forwarded(usize::from(op & 1) * 2, (op >> 1) & 3, amount_msat, true),
            // Direct payments on either link, either way.
            0x14..=0x17 => self.pay_direct(usize::from(op & 1), usize::from((op >> 1) & 1), amount_msat),
            // B forwards what waits.
            0x18..=0x1f => {
                self.node(1).channel_handler_mut().process_pending_forwards();
                self.node(1).process_events();
                self.collect();
            }
            0x20..=0x27 => {
                self.deliver_one(usize::from(op & 1), usize::from((op >> 1) & 1));
            }
            0x28..=0x2b => {
                let (link, dir) = (usize::from(op & 1), usize::from((op >> 1) & 1));
                while self.deliver_one(link, dir) {}
            }
            0x2c..=0x2f => self.pump(),
            0x30..=0x31 => self.disconnect(usize::from(op & 1)),
            0x32..=0x35 => {
                self.reconnect(usize::from(op & 1));
                self.collect();
            }
            0x36..=0x3b => {
                let i = usize::from(op % 3);
                self.node(i).channel_handler_mut().persister_mut().hold = op < 0x39;
            }
            0x3c..=0x4a => {
                let index = op - 0x3c;
                complete_persistence(self.node(usize::from(index % 3)), (index / 3) % 3);
                self.collect();
            }
            0x4b..=0x4d => {
                let i = usize::from(op - 0x4b);
                let bytes = self.parties[i].node.channel_handler().encode();
                self.parties[i].checkpoint = Some(bytes);
            }
            0x4e..=0x50 => self.restart(usize::from(op - 0x4e), false),
            0x51..=0x53 => self.restart(usize::from(op - 0x51), true),
            0x54..=0x59 => {
                let feerate_per_kw = 253 + u32::from(next) * 40;
                self.node(usize::from(op % 3))
                    .channel_handler_mut()
                    .feerate_updated(feerate_per_kw);
                self.collect();
            }
            0x5a..=0x5b if self.height < START_HEIGHT + 3 + MAX_BLOCKS => self.mine(1),
            _ => {}
        }
    }

    /// Heals everything, forwards and drains; then checks what must hold.
    fn settle(&mut self) {
        for _ in 0..6 {
            for i in 0..3 {
                self.node(i).channel_handler_mut().persister_mut().hold = false;
                complete_persistence(self.node(i), 2);
                self.node(i).channel_handler_mut().process_pending_forwards();
                self.node(i).process_events();
            }
            for link in 0..2 {
                self.reconnect(link);
            }
            self.pump();
        }
        // Multi-part payments missing a part fail after the timeout. The payee may hold
        // a part whose payer no longer knows the payment (it restarted stale): any HTLC
        // still on a channel is reason enough to let the timeout pass.
        let htlcs_left = (0..3).any(|i| {
            let manager = self.parties[i].node.channel_handler();
            manager
                .channel_ids()
                .iter()
                .filter_map(|id| manager.channel(id))
                .any(|c| !c.holder_view().htlcs.is_empty())
        });
        if htlcs_left
            || self.parties[2].node.channel_handler().pending_payments() > 0
            || self.parties[0].node.channel_handler().pending_payments() > 0
        {
            let blocks = lightning::chan::manager::payments::MPP_TIMEOUT_BLOCKS;
            self.mine(blocks);
            for _ in 0..3 {
                for i in 0..3 {
                    complete_persistence(self.node(i), 2);
                    self.node(i).process_events();
                }
                self.pump();
            }
        }
        // A forward whose outgoing HTLC sits on a channel closed on purpose (a stale
        // restart) waits for the chain, which is not simulated here: B may not fail its
        // incoming HTLC before then, so that one stays.
        let waiting_for_chain: BTreeSet<PaymentHash> = self.parties[1]
            .node
            .channel_handler()
            .forwards()
            .filter(|pair| match pair.stage() {
                ForwardStage::Offered { outgoing, .. } => self.expected_closed.contains(&outgoing.channel_id),
                _ => false,
            })
            .map(|pair| pair.incoming.payment_hash)
            .collect();
        for (link, (low, high)) in LINKS.into_iter().enumerate() {
            for (id, _) in &self.channels[link] {
                if self.expected_closed.contains(id) {
                    continue;
                }
                let (a, b) = (
                    self.parties[low].node.channel_handler().channel(id),
                    self.parties[high].node.channel_handler().channel(id),
                );
                let (Some(a), Some(b)) = (a, b) else {
                    panic!("channel {id:?} is known to one end only")
                };
                assert_eq!(a.phase(), ChannelPhase::Normal, "channel {id:?}");
                assert_eq!(b.phase(), ChannelPhase::Normal, "channel {id:?}");
                let (sa, sb) = (ChannelSnapshot::of(a), ChannelSnapshot::of(b));
                let pending: Vec<_> = sa
                    .htlcs
                    .values()
                    .filter(|h| !waiting_for_chain.contains(&h.payment_hash))
                    .collect();
                assert!(pending.is_empty(), "HTLCs left pending on link {link}: {pending:?}");
                let diffs = sa.diff_against_peer(&sb);
                assert!(diffs.is_empty(), "the ends disagree: {diffs:?}");
            }
        }
        if self.stale_restarted {
            return;
        }
        assert_eq!(
            self.parties[1].node.channel_handler().forwards().count(),
            0,
            "B holds a forward after settling"
        );
        for hash in self.claimed.keys() {
            assert!(
                self.sent.contains(hash),
                "payment {hash:?} claimed but never known as sent"
            );
        }
        let expected = self.b_start_msat + self.b_received_msat + self.b_earned_msat - self.b_paid_msat;
        assert_eq!(
            self.holdings_msat(1),
            expected,
            "B's books do not balance: started with {}, paid {} directly, earned {} forwarding, paid {}",
            self.b_start_msat,
            self.b_received_msat,
            self.b_earned_msat,
            self.b_paid_msat
        );
    }
}

thread_local! {
    /// The state after setup, per profile triple, built once per thread.
    static PREPARED: RefCell<BTreeMap<([u8; 3], Bug), Harness>> = const { RefCell::new(BTreeMap::new()) };
}

fn prepared(profiles: u8, bug: Bug) -> Harness {
    // Two profiles only per node here: setup costs three nodes and four channels.
    let key = [profiles & 1, (profiles >> 1) & 1, (profiles >> 2) & 1].map(|p| p * 3);
    PREPARED.with(|prepared| {
        prepared
            .borrow_mut()
            .entry((key, bug))
            .or_insert_with(|| Harness::new(key, bug))
            .clone()
    })
}

/// Runs the opcode stream after its first byte (which picks the nodes' policies), then
/// settles. With the `planted-bugs` feature every node runs the bug `PLANTED_BUG` names.
pub fn forwarding(data: &[u8]) {
    forwarding_with(data, planted_bug())
}

/// [`forwarding`] with every node running `bug`.
pub fn forwarding_with(data: &[u8], bug: Bug) {
    let (profiles, ops) = data.split_first().map_or((0, data), |(first, rest)| (*first, rest));
    let mut harness = prepared(profiles, bug);
    for (i, &op) in ops.iter().enumerate() {
        harness.step(op, ops.get(i + 1).copied().unwrap_or(0));
    }
    harness.settle();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ops: &[u8]) -> Harness {
        let mut harness = prepared(0, None);
        for (i, &op) in ops.iter().enumerate() {
            harness.step(op, ops.get(i + 1).copied().unwrap_or(0));
        }
        harness
    }

    /// A forwarded payment each way, and one in two parts, go through: B earns fees and
    /// its books balance.
    #[test]
    fn forwarded_and_multi_part_payments_settle_with_b_earning() {
        // A -> C (amount index 5), forward, pump; C -> A; A -> C in parts.
        let mut harness = run(&[
            0x00, 0x05, 0x2c, 0x18, 0x2c, 0x18, 0x2c, 0x01, 0x05, 0x2c, 0x18, 0x2c, 0x18, 0x2c, 0x10, 0x06, 0x2c, 0x18,
            0x2c, 0x18, 0x2c,
        ]);
        harness.settle();
        assert!(harness.sent.len() >= 3, "sent: {}", harness.sent.len());
        assert!(harness.b_earned_msat > 0);
    }

    /// A forward waiting at B across disconnections, held persistence and a restart of
    /// B resolves, and B's books balance.
    #[test]
    fn forwards_survive_faults_at_b() {
        let ops = [
            0x00, 0x05, 0x2c, // A -> C reaches B; B has not forwarded
            0x37, // B holds its updates
            0x18, 0x2c, // B forwards
            0x31, // link B-C drops
            0x4f, // B restarts from its latest manager
            0x33, 0x2c, 0x18, 0x2c,
        ];
        let mut harness = run(&ops);
        harness.settle();
        assert!(!harness.sent.is_empty());
    }
}
