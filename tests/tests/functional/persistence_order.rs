//! The crash-safe persistence order a wallet follows (the `lightning` crate's guide),
//! crashed at every point, during a payment each way, at either node: after reload no
//! channel fails, no payment is lost or hangs, and every event not yet handled is
//! delivered again.
//!
//! The order, after every input (bytes read, a command, a block):
//! 1. monitor updates are answered "in progress" (queued, not yet written);
//! 2. if `needs_persistence`, save the manager (`encode`), then `persisted`;
//! 3. write the queued monitor updates;
//! 4. report each with `monitor_update_completed`;
//! 5. save the manager again if it needs it;
//! 6. handle `pending_events`, go through 2-5 for what handling changed, then
//!    `events_handled` and save the manager;
//! 7. send what the peer manager has.
//!
//! A command (a payment) is durable once the manager is saved after it: a crash before
//! that is as if it was never given, and the wallet gives it again.

use std::collections::BTreeMap;

use lightning::chain::ChannelMonitor;
use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::events::Event;
use lightning::wire::{ChannelId, PaymentHash};
use tests::node_pair::*;

use super::node_e2e::{connected_channel, LINK};

/// Where in the order a crash comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// The input was processed; nothing written yet.
    AfterInput,
    /// The manager is saved; the monitor updates are not written.
    AfterManagerSaved,
    /// The monitor updates are written; their completion is not reported.
    AfterMonitorsWritten,
    /// Completions reported; the manager not saved again.
    AfterCompletionsReported,
    /// Events acted on; what that changed not yet saved.
    AfterEventsActed,
    /// Events acted on and saved; not yet acknowledged.
    BeforeEventsAcknowledged,
}

const POINTS: [Point; 6] = [
    Point::AfterInput,
    Point::AfterManagerSaved,
    Point::AfterMonitorsWritten,
    Point::AfterCompletionsReported,
    Point::AfterEventsActed,
    Point::BeforeEventsAcknowledged,
];

/// A node driven by the order, with what is on its disk.
struct Driven {
    node: Node,
    keys_seed: u8,
    restarts: u8,
    manager_on_disk: Vec<u8>,
    /// Turns taken so far; the crash comes at turn `crash.0`, point `crash.1`.
    turn: usize,
    crash: Option<(usize, Point)>,
    /// Every event handled (acknowledged or not), in order.
    handled: Vec<Event>,
}

/// The monitors on disk: those the persister made durable.
fn monitors_on_disk(node: &Node) -> BTreeMap<ChannelId, ChannelMonitor> {
    node.channel_handler().persister().monitors.clone()
}

impl Driven {
    fn new(mut node: Node, keys_seed: u8) -> Self {
        node.channel_handler_mut().persister_mut().hold = true;
        let manager_on_disk = node.channel_handler().encode();
        node.channel_handler_mut().persisted(&manager_on_disk);
        Driven {
            node,
            keys_seed,
            restarts: 0,
            manager_on_disk,
            turn: 0,
            crash: None,
            handled: Vec::new(),
        }
    }

    fn crashes_at(&self, point: Point) -> bool {
        self.crash == Some((self.turn, point))
    }

    fn save_manager_if_needed(&mut self) {
        let manager = self.node.channel_handler_mut();
        if let Some(bytes) = manager.encode_if_changed() {
            manager.persisted(&bytes);
            self.manager_on_disk = bytes;
        }
    }

    /// Steps 2 to 5; true if it crashed on the way.
    fn persist(&mut self) -> bool {
        self.save_manager_if_needed();
        if self.crashes_at(Point::AfterManagerSaved) {
            return true;
        }
        let written = self.node.channel_handler_mut().persister_mut().complete_all();
        if self.crashes_at(Point::AfterMonitorsWritten) {
            return true;
        }
        for (channel_id, update_id) in written {
            self.node
                .channel_handler_mut()
                .monitor_update_completed(&channel_id, update_id);
        }
        if self.crashes_at(Point::AfterCompletionsReported) {
            return true;
        }
        self.save_manager_if_needed();
        false
    }

    /// One turn after an input: the whole order; on a crash, the node restarts from
    /// its disk and reconnects to `peer`.
    fn turn(&mut self, peer: &mut Node) {
        self.turn += 1;
        if self.crashes_at(Point::AfterInput) || self.persist() {
            return self.restart(peer);
        }
        let events = self.node.channel_handler().pending_events().to_vec();
        if events.is_empty() {
            return;
        }
        for event in &events {
            handle(&mut self.node, event);
        }
        self.handled.extend(events.iter().cloned());
        if self.crashes_at(Point::AfterEventsActed) || self.persist() {
            return self.restart(peer);
        }
        if self.crashes_at(Point::BeforeEventsAcknowledged) {
            return self.restart(peer);
        }
        self.node.channel_handler_mut().events_handled(events.len());
        self.save_manager_if_needed();
    }

    fn restart(&mut self, peer: &mut Node) {
        self.restarts += 1;
        let mut persister = TestPersister::default();
        persister.hold = true;
        persister.monitors = monitors_on_disk(&self.node);
        let (node, mismatches) = restart_with(
            &self.manager_on_disk,
            [self.keys_seed; 32],
            [self.keys_seed.wrapping_add(100 + self.restarts); 32],
            persister,
            ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW),
            false,
        )
        .expect("what the order left on disk reads back");
        assert!(mismatches.is_empty(), "a channel failed at reload: {mismatches:?}");
        self.node = node;
        peer.disconnected(LINK);
        // What reading handed over again is written like any update.
        self.crash = None;
        self.persist();
        connect(peer, &mut self.node, LINK);
        // Events the crash left unhandled come again on the next turn.
        self.turn(peer);
    }
}

/// What a wallet does with an event: claims what it is paid.
fn handle(node: &mut Node, event: &Event) {
    if let Event::PaymentClaimable { payment_hash, .. } = event {
        match node.channel_handler().payment_preimage(payment_hash) {
            // Claimed once already (an event delivered again) is no error here.
            Some(preimage) => {
                let _ = node.channel_handler_mut().claim_payment(preimage);
            }
            // An event delivered again after its claim: nothing left to claim.
            None => assert!(
                !node
                    .channel_handler()
                    .claimable_payments()
                    .iter()
                    .any(|(hash, _)| hash == payment_hash),
                "claimable, but its preimage is gone"
            ),
        }
    }
}

/// Bytes both ways, one round at a time, the driven node persisting after each input,
/// until quiet. The other node handles its events at once.
fn run(driven: &mut Driven, other: &mut Node, other_events: &mut Vec<Event>, driven_is_first: bool) {
    for _ in 0..200 {
        // Events raised while reconnecting (bytes read inside `connect`) count too.
        for event in other.channel_handler_mut().take_events() {
            handle(other, &event);
            other_events.push(event);
        }
        let from_driven = driven.node.take_outbound(LINK);
        let from_other = other.take_outbound(LINK);
        if from_driven.is_empty() && from_other.is_empty() {
            return;
        }
        if !from_driven.is_empty() {
            other.read(LINK, &from_driven).expect("valid bytes");
        }
        if !from_other.is_empty() {
            driven.node.read(LINK, &from_other).expect("valid bytes");
            driven.turn(other);
        }
    }
    panic!("did not go quiet (driven first: {driven_is_first})");
}

/// One payment of `amount_msat` from the first node of the pair to the second, the
/// node `driven_index` (0 or 1) crashing at `crash`. Returns the turns taken.
fn pay_with_crash(payer_is_a: bool, driven_is_payer: bool, crash: Option<(usize, Point)>) -> usize {
    let (mut a, mut b, channel_id) = connected_channel();
    // Funds both ways first, so either can pay.
    let b_id = b.node_id();
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(Some(300_000_000));
    a.channel_handler_mut()
        .send_payment(b_id, hash, secret, 300_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("usable");
    pump(&mut a, &mut b, LINK);
    for event in events(&mut b) {
        handle(&mut b, &event);
    }
    pump(&mut a, &mut b, LINK);
    events(&mut a);

    let (payer, payee) = if payer_is_a { (a, b) } else { (b, a) };
    let (payer_seed, payee_seed) = if payer_is_a { (1, 2) } else { (2, 1) };
    let (driven, mut other, driven_seed) = if driven_is_payer {
        (payer, payee, payer_seed)
    } else {
        (payee, payer, payee_seed)
    };
    let other_balance_before = balance(&other, &channel_id);
    let mut driven = Driven::new(driven, driven_seed);
    let mut other_events = Vec::new();
    driven.crash = crash;
    let amount_msat = 12_345_000;
    let mut hash: PaymentHash;
    if driven_is_payer {
        hash = driven_pays(&mut driven, &mut other, amount_msat);
    } else {
        let payee_id = driven.node.node_id();
        let (mut h, mut secret) = driven
            .node
            .channel_handler_mut()
            .create_inbound_payment(Some(amount_msat));
        driven.turn(&mut other);
        if driven.node.channel_handler().payment_preimage(&h).is_none() {
            // Crashed before the invoice was saved: it was never handed out (the
            // contract), and the wallet makes it again.
            (h, secret) = driven
                .node
                .channel_handler_mut()
                .create_inbound_payment(Some(amount_msat));
            driven.turn(&mut other);
        }
        hash = h;
        other
            .channel_handler_mut()
            .send_payment(payee_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
            .expect("usable");
    }
    run(&mut driven, &mut other, &mut other_events, driven_is_payer);
    if driven_is_payer && crash == Some((1, Point::AfterInput)) {
        // The command was never saved: as if not given. Nothing moved; the wallet, which
        // saw no payment in flight after reload, asks again.
        assert_eq!(balance(&other, &channel_id), other_balance_before);
        hash = driven_pays(&mut driven, &mut other, amount_msat);
        run(&mut driven, &mut other, &mut other_events, driven_is_payer);
    }
    let turns = driven.turn;
    let context = format!("payer is a: {payer_is_a}, driven is payer: {driven_is_payer}, crash: {crash:?}");

    // No channel failed, no HTLC is left, the payment went through once.
    for node in [&driven.node, &other] {
        let channel = node.channel_handler().channel(&channel_id).expect("kept");
        assert_eq!(channel.phase(), ChannelPhase::Normal, "{context}");
        assert!(
            ChannelSnapshot::of(channel).htlcs.is_empty(),
            "{context}: an HTLC hangs: {:?}\nin flight updates {}\nclaimable {:?}",
            ChannelSnapshot::of(channel),
            node.channel_handler().in_flight_monitor_updates(&channel_id),
            node.channel_handler().claimable_payments()
        );
    }
    let other_balance_after = balance(&other, &channel_id);
    let moved = if driven_is_payer {
        other_balance_after - other_balance_before
    } else {
        other_balance_before - other_balance_after
    };
    assert_eq!(moved, amount_msat, "{context}");
    other_events.extend(other.channel_handler_mut().take_events());
    let (payer_events, payee_events) = if driven_is_payer {
        (driven.handled.clone(), other_events)
    } else {
        (other_events, driven.handled.clone())
    };
    let sent = |e: &Event| matches!(e, Event::PaymentSent { payment_hash, .. } if *payment_hash == hash);
    if driven_is_payer {
        assert!(
            payer_events.iter().any(sent),
            "{context}: the payer never heard: {payer_events:?}"
        );
    } else {
        let claimable = |e: &Event| matches!(e, Event::PaymentClaimable { payment_hash, .. } if *payment_hash == hash);
        assert!(payee_events.iter().any(claimable), "{context}: {payee_events:?}");
        assert!(driven.node.channel_handler().pending_events().is_empty(), "{context}");
    }
    turns
}

/// The driven node pays `payee` (an invoice of the payee's), then takes its turn.
fn driven_pays(driven: &mut Driven, payee: &mut Node, amount_msat: u64) -> PaymentHash {
    let payee_id = payee.node_id();
    let (hash, secret) = payee.channel_handler_mut().create_inbound_payment(Some(amount_msat));
    driven
        .node
        .channel_handler_mut()
        .send_payment(payee_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("usable");
    driven.turn(payee);
    hash
}

fn balance(node: &Node, channel_id: &ChannelId) -> u64 {
    let channel = node.channel_handler().channel(channel_id).expect("kept");
    channel.holder_view().holder_balance_msat
}

#[test]
fn a_crash_at_any_point_of_the_order_loses_nothing() {
    let mut runs = 0;
    for payer_is_a in [true, false] {
        for driven_is_payer in [true, false] {
            let turns = pay_with_crash(payer_is_a, driven_is_payer, None);
            assert!(turns >= 3, "the payment took {turns} turns");
            for turn in 1..=turns {
                for point in POINTS {
                    pay_with_crash(payer_is_a, driven_is_payer, Some((turn, point)));
                    runs += 1;
                }
            }
        }
    }
    assert!(runs >= 80, "{runs} crashes");
}

/// Why the order matters: the obvious one (monitor written and reported complete at
/// once, the manager saved later) leaves, after a crash in between, a manager older than
/// its monitor, and the channel fails on reload.
#[test]
fn the_obvious_order_leaves_a_manager_older_than_its_monitor() {
    let (mut a, mut b, _) = connected_channel();
    let saved = a.channel_handler().encode();
    let b_id = b.node_id();
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(Some(5_000_000));
    a.channel_handler_mut()
        .send_payment(b_id, hash, secret, 5_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("usable");
    // The commitment with the HTLC is signed: its monitor update is durable at once.
    exchange_rounds(&mut a, &mut b, LINK, 2);
    let (_, mismatches) = restart_from(
        &saved,
        [1; 32],
        [150; 32],
        &monitors_on_disk(&a),
        ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW),
        false,
    )
    .expect("reads");
    assert_eq!(mismatches.len(), 1, "the channel is failed at reload");
}
