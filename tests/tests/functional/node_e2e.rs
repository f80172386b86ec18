//! Two whole nodes over real BOLT 8: open a channel, pay both ways with onions, fail a
//! payment with a wrong secret, pause persistence, reconnect mid-payment, and close.

use lightning::bitcoin::Transaction;
use lightning::chan::channel::{Cause, ChannelPhase};
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::ApiError;
use lightning::events::Event;
use lightning::onion::errors::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS;
use lightning::transport::PeerId;
use lightning::wire::{ChannelId, PaymentHash};
use sim::wallet::fund_channel;
use tests::node_pair::*;

pub(super) const LINK: PeerId = PeerId(1);

/// Opens a funded, confirmed channel from a to b; returns its id.
pub(super) fn open(a: &mut Node, b: &mut Node) -> ChannelId {
    let (channel_id, funding) = fund(a, b);
    both_see(a, b, &funding, 101, 103);
    pump(a, b, LINK);
    let (a_node, b_node) = (a.node_id(), b.node_id());
    assert_eq!(
        events(a),
        vec![Event::ChannelReady {
            channel_id,
            counterparty_node_id: b_node
        }]
    );
    assert_eq!(
        events(b),
        vec![Event::ChannelReady {
            channel_id,
            counterparty_node_id: a_node
        }]
    );
    channel_id
}

/// Both nodes see the funding transaction `funding` confirmed at `confirmed_height` and
/// the chain's tip at `best_height`.
pub(super) fn both_see(a: &mut Node, b: &mut Node, funding: &Transaction, confirmed_height: u32, best_height: u32) {
    for n in [a, b] {
        n.channel_handler_mut().transaction_confirmed(funding, confirmed_height);
        n.channel_handler_mut().best_block_updated(best_height);
    }
}

/// A channel from a to b, funded (both signed commitment 0) but not yet confirmed; with
/// its funding transaction.
pub(super) fn fund(a: &mut Node, b: &mut Node) -> (ChannelId, Transaction) {
    fund_with(a, b, 1_000_000, 8)
}

/// [`fund`] with `funding_satoshis`, from the wallet's coin `[coin_byte; 32]`.
pub(super) fn fund_with(a: &mut Node, b: &mut Node, funding_satoshis: u64, coin_byte: u8) -> (ChannelId, Transaction) {
    fund_over(a, b, LINK, funding_satoshis, coin_byte)
}

/// [`fund_with`] over the connection `link`.
fn fund_over(
    a: &mut Node,
    b: &mut Node,
    link: PeerId,
    funding_satoshis: u64,
    coin_byte: u8,
) -> (ChannelId, Transaction) {
    let b_id = b.node_id();
    let temporary = a
        .channel_handler_mut()
        .open_channel(b_id, funding_satoshis, 0)
        .expect("peer connected");
    pump(a, b, link);
    let ready = events(a);
    let Some(
        event @ Event::FundingGenerationReady {
            temporary_channel_id,
            funding_satoshis: to_fund,
            output_script,
            ..
        },
    ) = ready.first()
    else {
        panic!("{ready:?}")
    };
    assert_eq!((*temporary_channel_id, *to_fund), (temporary, funding_satoshis));
    assert!(output_script.is_p2wsh());
    let (channel_id, funding) = fund_channel(a, event, [coin_byte; 32]).expect("funded");
    pump(a, b, link);
    assert_eq!(events(a), vec![Event::FundingSigned { channel_id }]);
    (channel_id, funding)
}

/// Two connected nodes with an open channel from the first to the second.
pub(super) fn connected_channel() -> (Node, Node, ChannelId) {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let channel_id = open(&mut a, &mut b);
    (a, b, channel_id)
}

/// `payee` creates an invoice for `amount_msat` (any amount if `None`) and `payer` pays
/// it, with `secret` overriding the invoice's secret if given; nothing is delivered yet.
pub(super) fn start_payment(
    payer: &mut Node,
    payee: &mut Node,
    amount_msat: u64,
    secret: Option<[u8; 32]>,
) -> PaymentHash {
    let payee_id = payee.node_id();
    let (hash, invoice_secret) = payee.channel_handler_mut().create_inbound_payment(None);
    payer
        .channel_handler_mut()
        .send_payment(
            payee_id,
            hash,
            secret.unwrap_or(invoice_secret),
            amount_msat,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        )
        .expect("usable channel");
    hash
}

/// After a payment of `amount_msat` reached `payee`: it is claimable, the payee claims
/// it, and the payer learns the preimage.
fn claim_and_check(payer: &mut Node, payee: &mut Node, hash: PaymentHash, amount_msat: u64, context: &str) {
    let claimable = events(payee);
    assert_eq!(
        claimable,
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat
        }],
        "{context}"
    );
    let preimage = payee
        .channel_handler()
        .payment_preimage(&hash)
        .expect("ours, persisted");
    payee.channel_handler_mut().claim_payment(preimage).expect("claimable");
    pump(payer, payee, LINK);
    let sent = Outcome::Sent(hash, preimage);
    assert!(outcomes(&events(payer)).contains(&sent), "{context}");
}

/// `b` crashes (`a` sees the connection drop) and restarts from its manager and the
/// monitors it had made durable, which must match; they reconnect and the payment `hash`
/// of `amount_msat` from `a` completes. Returns the restarted `b`.
fn crash_restart_and_finish(a: &mut Node, b: Node, hash: PaymentHash, amount_msat: u64, context: &str) -> Node {
    a.disconnected(LINK);
    let durable = b.channel_handler().persister().monitors.clone();
    let (mut b, mismatches) = restart(&b, 2, &durable);
    assert!(mismatches.is_empty(), "{context}: {mismatches:?}");
    connect(a, &mut b, LINK);
    pump(a, &mut b, LINK);
    claim_and_check(a, &mut b, hash, amount_msat, context);
    b
}

/// `payer` pays `payee` through the whole flow; returns whether it was sent.
pub(super) fn pay(payer: &mut Node, payee: &mut Node, amount_msat: u64) {
    let payee_id = payee.node_id();
    let (hash, secret) = payee.channel_handler_mut().create_inbound_payment(Some(amount_msat));
    payer
        .channel_handler_mut()
        .send_payment(payee_id, hash, secret, amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("usable channel");
    pump(payer, payee, LINK);
    assert_eq!(
        events(payee),
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat
        }]
    );
    let preimage = payee.channel_handler().payment_preimage(&hash).expect("ours");
    payee.channel_handler_mut().claim_payment(preimage).expect("claimable");
    pump(payer, payee, LINK);
    assert_eq!(
        events(payee),
        vec![Event::PaymentClaimed {
            payment_hash: hash,
            amount_msat
        }]
    );
    assert_eq!(outcomes(&events(payer)), vec![Outcome::Sent(hash, preimage)]);
}

/// Node `n`'s only new event is the failure of `channel_id` for a reason containing
/// `reason_part`, and the channel is gone.
pub(super) fn assert_channel_failed(n: &mut Node, channel_id: ChannelId, reason_part: &str) {
    let closed = events(n);
    assert!(
        matches!(closed.as_slice(), [Event::ChannelClosed { channel_id: id, reason }] if *id == channel_id && reason.contains(reason_part)),
        "{closed:?}"
    );
    assert!(n.channel_handler().channel(&channel_id).is_none());
}

/// Node `n`'s stored monitor for `channel_id` holds every update its channel made: what
/// a restart handed over again has reached it.
fn assert_monitor_caught_up(n: &Node, channel_id: &ChannelId, context: &str) {
    let latest = n
        .channel_handler()
        .channel(channel_id)
        .expect("still open")
        .latest_monitor_update_id();
    let monitor = &n.channel_handler().persister().monitors[channel_id];
    assert_eq!(monitor.latest_update_id(), latest, "{context}");
}

pub(super) fn balances(n: &Node, channel_id: &ChannelId) -> (u64, u64) {
    let view = n.channel_handler().channel(channel_id).expect("channel").holder_view();
    (view.holder_balance_msat, view.counterparty_balance_msat)
}

#[test]
fn open_pay_both_ways_and_close() {
    let (mut a, mut b, channel_id) = connected_channel();
    pay(&mut a, &mut b, 300_000_000);
    pay(&mut b, &mut a, 100_000_000);
    assert_eq!(balances(&a, &channel_id), (800_000_000, 200_000_000));
    assert_eq!(balances(&b, &channel_id), (200_000_000, 800_000_000));
    // Every durable change reached the persisted monitors.
    for n in [&a, &b] {
        let manager = n.channel_handler();
        let monitor = &manager.persister().monitors[&channel_id];
        let channel = manager.channel(&channel_id).expect("channel");
        assert_eq!(monitor.latest_update_id(), channel.latest_monitor_update_id());
        assert_eq!(
            monitor.holder_commitment().map(|h| h.commitment_number),
            Some(channel.holder_commitment_number())
        );
        // Both offer option_upfront_shutdown_script: each side's commitment binds.
        let close = channel.close_state();
        assert!(close.upfront_negotiated);
        assert!(close.holder_upfront_script.as_ref().is_some_and(|s| s.is_p2wpkh()));
        assert!(close.counterparty_upfront_script.is_some());
    }
    a.channel_handler_mut()
        .close_channel(&channel_id)
        .expect("open channel");
    pump(&mut a, &mut b, LINK);
    let mut broadcast = Vec::new();
    for n in [&mut a, &mut b] {
        let closed = events(n);
        assert!(matches!(closed.as_slice(), [Event::ChannelClosed { .. }]), "{closed:?}");
        let monitor = &n.channel_handler().persister().monitors[&channel_id];
        assert!(monitor.is_closed());
        broadcast.extend(n.channel_handler().broadcaster().transactions.clone());
    }
    // Both broadcast the same fully signed closing transaction.
    assert_eq!(broadcast.len(), 2);
    assert_eq!(broadcast[0], broadcast[1]);
    assert_eq!(broadcast[0].input[0].witness.len(), 4);
    // Each side's balance went to the script it committed to at opening.
    for n in [&a, &b] {
        let committed = n.channel_handler().channel(&channel_id).expect("kept").close_state();
        let script = committed.holder_upfront_script.clone().expect("committed");
        assert!(broadcast[0].output.iter().any(|o| o.script_pubkey == script));
    }
}

/// Both nodes offer `option_shutdown_anysegwit` (optional, bit 27): their channel knows
/// it is negotiated, and learns it again from the connection after a restart (it is not
/// persisted).
#[test]
fn option_shutdown_anysegwit_is_negotiated_on_every_connection() {
    use lightning::transport::MessageHandler;
    use lightning::wire::Feature;
    let (mut a, b, channel_id) = connected_channel();
    let offered = b.channel_handler().init_features();
    assert!(offered.offers(Feature::ShutdownAnySegwit) && !offered.requires(Feature::ShutdownAnySegwit));
    for n in [&a, &b] {
        let channel = n.channel_handler().channel(&channel_id).expect("open");
        assert!(channel.close_state().anysegwit_negotiated);
    }
    a.disconnected(LINK);
    let durable = b.channel_handler().persister().monitors.clone();
    let (mut b, mismatches) = restart(&b, 2, &durable);
    assert!(mismatches.is_empty(), "{mismatches:?}");
    let read_back = b.channel_handler().channel(&channel_id).expect("read back");
    assert!(
        !read_back.close_state().anysegwit_negotiated,
        "not until the peer connects"
    );
    connect(&mut a, &mut b, LINK);
    let channel = b.channel_handler().channel(&channel_id).expect("open");
    assert!(channel.close_state().anysegwit_negotiated);
}

#[test]
fn a_payment_with_the_wrong_secret_fails_back_to_the_payer() {
    let (mut a, mut b, channel_id) = connected_channel();
    let hash = start_payment(&mut a, &mut b, 1_000_000, Some([0xee; 32]));
    pump(&mut a, &mut b, LINK);
    assert_failed_back_for_details(&mut a, &mut b, hash, channel_id, "wrong secret");
}

/// Nothing reached `payee`; `payer` learned that payment `hash` failed for its payment
/// details, and has all its funds in `channel_id` again.
fn assert_failed_back_for_details(
    payer: &mut Node,
    payee: &mut Node,
    hash: PaymentHash,
    channel_id: ChannelId,
    context: &str,
) {
    assert!(events(payee).is_empty(), "{context}: nothing claimable");
    assert_eq!(
        outcomes(&events(payer)),
        vec![Outcome::Failed(hash, Some(INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS))],
        "{context}"
    );
    assert_eq!(balances(payer, &channel_id), (1_000_000_000, 0), "{context}");
}

/// A final HTLC carrying less than the invoice asks, or arriving with fewer than the 18
/// blocks of expiry a final hop needs, is failed back with the payment details error,
/// even though the onion agrees with the HTLC (BOLT 4).
#[test]
fn an_underpaying_or_nearly_expired_final_htlc_fails_back() {
    // (invoice amount, amount paid, the payee's height when the HTLC arrives)
    let cases = [
        ("underpays", Some(5_000_000), 4_999_999, 103),
        // Sent at height 103 with 40 blocks: expiry 143, and 126 + 18 > 143.
        ("expires too soon", None, 5_000_000, 126),
    ];
    for (context, invoice_msat, paid_msat, payee_height) in cases {
        let (mut a, mut b, channel_id) = connected_channel();
        let b_id = b.node_id();
        let (hash, secret) = b.channel_handler_mut().create_inbound_payment(invoice_msat);
        b.channel_handler_mut().best_block_updated(payee_height);
        a.channel_handler_mut()
            .send_payment(b_id, hash, secret, paid_msat, MIN_FINAL_CLTV_EXPIRY_DELTA)
            .expect("usable channel");
        pump(&mut a, &mut b, LINK);
        assert_failed_back_for_details(&mut a, &mut b, hash, channel_id, context);
    }
}

#[test]
fn several_payments_failed_back_together_leave_the_channel_open() {
    // Found by the consistency fuzz target: failing one HTLC back re-entered the inbound
    // processing, which failed the others, and the outer loop then failed them again:
    // the second removal was refused and the channel closed.
    for count in 1..=4u64 {
        let (mut a, mut b, channel_id) = connected_channel();
        let hashes: Vec<PaymentHash> = (0..count)
            .map(|n| start_payment(&mut a, &mut b, 1_000_000 + n, Some([0xee; 32])))
            .collect();
        pump(&mut a, &mut b, LINK);
        assert!(events(&mut b).is_empty(), "{count}: nothing claimable, nothing closed");
        // Each payment's one path failed at the payee, for good, then the payment.
        let failed: Vec<PaymentHash> = events(&mut a)
            .into_iter()
            .filter_map(|e| match e {
                Event::PaymentFailed { payment_hash, .. } => Some(payment_hash),
                Event::PaymentPathFailed {
                    payment_failed_permanently: true,
                    short_channel_id: None,
                    ..
                } => None,
                other => panic!("{count}: {other:?}"),
            })
            .collect();
        assert_eq!(failed.len(), hashes.len(), "{count}");
        assert!(hashes.iter().all(|h| failed.contains(h)));
        assert_eq!(balances(&a, &channel_id), (1_000_000_000, 0), "{count}");
        pay(&mut a, &mut b, 2_000_000);
    }
}

#[test]
fn paused_persistence_holds_the_payment_until_it_completes() {
    let (mut a, mut b, channel_id) = connected_channel();
    b.channel_handler_mut().persister_mut().hold = true;
    let hash = start_payment(&mut a, &mut b, 5_000_000, None);
    pump(&mut a, &mut b, LINK);
    // B holds its revoke_and_ack: the HTLC is not irrevocable, nothing is claimable.
    assert!(events(&mut b).is_empty());
    let held = b.channel_handler().persister().in_progress.len();
    assert!(held > 0);
    // The manager keeps every update not yet durable, to hand over again after a crash.
    assert_eq!(b.channel_handler().in_flight_monitor_updates(&channel_id), held);
    let completed = b.channel_handler_mut().persister_mut().complete_all();
    b.channel_handler_mut().persister_mut().hold = false;
    for (id, update_id) in completed {
        b.channel_handler_mut().monitor_update_completed(&id, update_id);
    }
    pump(&mut a, &mut b, LINK);
    assert_eq!(
        events(&mut b),
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat: 5_000_000
        }]
    );
    // Every update is durable now: the manager forgot them all.
    assert_eq!(b.channel_handler().in_flight_monitor_updates(&channel_id), 0);
    assert_eq!(b.channel_handler().counterparty_of(&channel_id), Some(a.node_id()));
    assert_eq!(
        b.channel_handler()
            .counterparty_of(&lightning::wire::ChannelId([7; 32])),
        None
    );
}

#[test]
fn a_payment_survives_a_reconnection_mid_dance() {
    for cut_after_reads in 1..6 {
        let (mut a, mut b, channel_id) = connected_channel();
        let hash = start_payment(&mut a, &mut b, 7_000_000, None);
        // Deliver only part of the exchange, then drop the connection.
        exchange_rounds(&mut a, &mut b, LINK, cut_after_reads);
        disconnect(&mut a, &mut b, LINK);
        connect(&mut a, &mut b, LINK);
        pump(&mut a, &mut b, LINK);
        claim_and_check(&mut a, &mut b, hash, 7_000_000, &format!("cut {cut_after_reads}"));
        assert_eq!(balances(&a, &channel_id), (993_000_000, 7_000_000));
    }
}

#[test]
fn a_node_restarts_mid_payment_from_its_persisted_state() {
    for cut_after_reads in 1..6 {
        let (mut a, mut b, channel_id) = connected_channel();
        let hash = start_payment(&mut a, &mut b, 9_000_000, None);
        // Deliver only part of the exchange, then drop the connection.
        exchange_rounds(&mut a, &mut b, LINK, cut_after_reads);
        let b = crash_restart_and_finish(&mut a, b, hash, 9_000_000, &format!("cut {cut_after_reads}"));
        assert_eq!(balances(&b, &channel_id), (9_000_000, 991_000_000));
    }
}

#[test]
fn a_crash_that_loses_in_flight_monitor_updates_hands_them_over_again() {
    for cut_after_reads in 1..6 {
        let context = format!("cut {cut_after_reads}");
        let (mut a, mut b, channel_id) = connected_channel();
        // B's persistence stalls: whatever the dance makes B write is still in flight
        // when it crashes, and is lost with the process.
        b.channel_handler_mut().persister_mut().hold = true;
        let hash = start_payment(&mut a, &mut b, 6_000_000, None);
        exchange_rounds(&mut a, &mut b, LINK, cut_after_reads);
        a.disconnected(LINK);
        let durable = b.channel_handler().persister().monitors.clone();
        let lost = b.channel_handler().persister().in_progress.len();
        assert!(lost > 0, "{context}: nothing was in flight");
        let (mut b, mismatches) = restart(&b, 2, &durable);
        // The restarted manager still had the lost updates and handed them over again.
        assert!(mismatches.is_empty(), "{context} ({lost} lost): {mismatches:?}");
        assert_monitor_caught_up(&b, &channel_id, &context);
        connect(&mut a, &mut b, LINK);
        pump(&mut a, &mut b, LINK);
        claim_and_check(&mut a, &mut b, hash, 6_000_000, &context);
        assert_eq!(balances(&b, &channel_id), (6_000_000, 994_000_000), "{context}");
    }
}

/// With two channels, each channel gets back exactly its own lost updates: neither
/// another channel's nor none.
#[test]
fn a_crash_losing_updates_of_two_channels_hands_each_its_own() {
    let (mut a, mut b, first) = connected_channel();
    let second = open_another(&mut a, &mut b, 9);
    b.channel_handler_mut().persister_mut().hold = true;
    // The fee update moves both channels, so both have updates in flight at B.
    a.channel_handler_mut().feerate_updated(2_000);
    pump(&mut a, &mut b, LINK);
    a.disconnected(LINK);
    let held = &b.channel_handler().persister().in_progress;
    for id in [first, second] {
        assert!(
            held.iter().any(|(channel, _, _)| *channel == id),
            "{id:?} has nothing in flight"
        );
    }
    let durable = b.channel_handler().persister().monitors.clone();
    let (mut b, mismatches) = restart(&b, 2, &durable);
    assert!(mismatches.is_empty(), "{mismatches:?}");
    for id in [first, second] {
        assert_monitor_caught_up(&b, &id, &format!("{id:?}"));
    }
    connect(&mut a, &mut b, LINK);
    pump(&mut a, &mut b, LINK);
    for id in [first, second] {
        let view = b.channel_handler().channel(&id).expect("open").holder_view();
        assert_eq!(view.feerate_per_kw, 2_000);
    }
    pay(&mut a, &mut b, 1_000_000);
}

/// The manager was saved while an update was in flight, and the update became durable
/// before the crash: the monitor already has it, so only the updates after it are handed
/// over again, and the channel goes on.
#[test]
fn a_manager_saved_before_an_update_completed_hands_over_only_what_follows() {
    use lightning::chan::manager::ChannelManagerConfig;

    let (mut a, mut b, channel_id) = connected_channel();
    b.channel_handler_mut().persister_mut().hold = true;
    let hash = start_payment(&mut a, &mut b, 3_000_000, None);
    exchange_rounds(&mut a, &mut b, LINK, 2);
    let held = b.channel_handler().persister().in_progress.len();
    assert!(held >= 2, "{held} updates in flight");
    let saved_manager = b.channel_handler().encode();
    // The first update becomes durable after the manager was saved.
    b.channel_handler_mut()
        .persister_mut()
        .complete_at(0)
        .expect("in flight");
    a.disconnected(LINK);
    let durable = b.channel_handler().persister().monitors.clone();
    let (mut b, mismatches) = restart_from(
        &saved_manager,
        [2; 32],
        [102; 32],
        &durable,
        ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW),
        false,
    )
    .expect("reads back");
    assert!(mismatches.is_empty(), "{mismatches:?}");
    assert_monitor_caught_up(&b, &channel_id, "saved before completion");
    connect(&mut a, &mut b, LINK);
    pump(&mut a, &mut b, LINK);
    claim_and_check(&mut a, &mut b, hash, 3_000_000, "saved before completion");
}

/// Updates in flight that do not reach back to a stale monitor cannot fill its gap: the
/// channel is failed as out of step, not patched with half the updates.
#[test]
fn in_flight_updates_cannot_cover_an_older_gap() {
    let (mut a, mut b, channel_id) = connected_channel();
    let stale = b.channel_handler().persister().monitors.clone();
    pay(&mut a, &mut b, 1_000_000);
    b.channel_handler_mut().persister_mut().hold = true;
    start_payment(&mut a, &mut b, 2_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert!(b.channel_handler().in_flight_monitor_updates(&channel_id) > 0);
    a.disconnected(LINK);
    let (mut b, mismatches) = restart(&b, 2, &stale);
    assert!(
        matches!(
            mismatches.as_slice(),
            [(id, lightning::chan::channel::persist::MonitorMismatch::MonitorBehind { .. })] if *id == channel_id
        ),
        "{mismatches:?}"
    );
    assert_channel_failed(&mut b, channel_id, "not broadcasting");
}

/// Updates handed over again at a restart that the storage now refuses fail the channel,
/// as any refused update does.
#[test]
fn a_refused_replay_at_restart_fails_the_channel() {
    use lightning::chan::manager::{ChannelManager, ChannelManagerConfig};
    use lightning::sign::KeysManager;
    use tests::node_pair::{RecordingBroadcaster, TestPersister};

    let (mut a, mut b, channel_id) = connected_channel();
    b.channel_handler_mut().persister_mut().hold = true;
    start_payment(&mut a, &mut b, 2_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert!(b.channel_handler().in_flight_monitor_updates(&channel_id) > 0);
    let durable = b.channel_handler().persister().monitors.clone();
    let mut refusing = TestPersister::default();
    refusing.fail = true;
    refusing.monitors = durable.clone();
    let (mut manager, mismatches) = ChannelManager::read(
        &b.channel_handler().encode(),
        ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW),
        KeysManager::new(&[2; 32], &[102; 32]),
        refusing,
        RecordingBroadcaster::default(),
        &durable,
    )
    .expect("reads back");
    assert!(mismatches.is_empty(), "{mismatches:?}");
    let closed = manager.take_events();
    assert!(
        closed.iter().any(|e| matches!(e, Event::ChannelClosed { channel_id: id, reason } if *id == channel_id && reason.contains("persistence failed"))),
        "{closed:?}"
    );
}

#[test]
fn a_crash_after_an_out_of_order_completion_loses_nothing() {
    // Found by the consistency fuzz target: the manager forgot an update as soon as it
    // completed, even while an earlier one was still in flight, so after a crash it could
    // not hand the monitor the whole gap and failed the channel.
    let mut exercised = false;
    for cut_after_reads in 1..6 {
        let context = format!("cut {cut_after_reads}");
        let (mut a, mut b, channel_id) = connected_channel();
        b.channel_handler_mut().persister_mut().hold = true;
        let hash = start_payment(&mut a, &mut b, 4_000_000, None);
        exchange_rounds(&mut a, &mut b, LINK, cut_after_reads);
        // A fee update adds a second dance, so several updates are in flight.
        a.channel_handler_mut().feerate_updated(2_000);
        exchange_rounds(&mut a, &mut b, LINK, 2);
        let in_flight = b.channel_handler().persister().in_progress.len();
        if in_flight < 2 {
            continue;
        }
        exercised = true;
        // The latest update becomes durable before the earlier ones: the monitor cannot
        // apply it yet.
        let last = b.channel_handler_mut().persister_mut().complete_at(in_flight - 1);
        let (id, update_id) = last.expect("an update in flight");
        b.channel_handler_mut().monitor_update_completed(&id, update_id);
        let b = crash_restart_and_finish(&mut a, b, hash, 4_000_000, &context);
        assert_eq!(balances(&b, &channel_id), (4_000_000, 996_000_000), "{context}");
    }
    assert!(exercised, "no cut left two updates in flight");
}

#[test]
fn a_restart_with_a_stale_monitor_fails_the_channel_without_broadcasting() {
    let (mut a, mut b, channel_id) = connected_channel();
    let stale = b.channel_handler().persister().monitors.clone();
    pay(&mut a, &mut b, 20_000_000);
    let (b2, mismatches) = restart(&b, 2, &stale);
    assert_eq!(mismatches.len(), 1);
    assert!(matches!(
        mismatches[0].1,
        lightning::chan::channel::persist::MonitorMismatch::MonitorBehind { .. }
    ));
    let mut b2 = b2;
    assert_channel_failed(&mut b2, channel_id, "not broadcasting");
}

#[test]
fn an_unclaimed_payment_is_failed_back_before_it_expires() {
    let (mut a, mut b, channel_id) = connected_channel();
    // Sent at height 103: it expires at 143; B fails it back 12 blocks before.
    let hash = start_payment(&mut a, &mut b, 3_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert_eq!(
        events(&mut b),
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat: 3_000_000
        }]
    );
    for height in [120, 130] {
        b.channel_handler_mut().best_block_updated(height);
        a.channel_handler_mut().best_block_updated(height);
        pump(&mut a, &mut b, LINK);
        assert!(events(&mut a).is_empty(), "still held at {height}");
    }
    b.channel_handler_mut().best_block_updated(131);
    a.channel_handler_mut().best_block_updated(131);
    pump(&mut a, &mut b, LINK);
    assert_eq!(
        outcomes(&events(&mut a)),
        vec![Outcome::Failed(hash, Some(INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS))]
    );
    assert_eq!(balances(&a, &channel_id), (1_000_000_000, 0));
    // Too late to claim now.
    let preimage = b.channel_handler().payment_preimage(&hash).expect("ours");
    assert!(b.channel_handler_mut().claim_payment(preimage).is_err());
}

#[test]
fn an_offered_htlc_left_unanswered_past_expiry_fails_the_channel() {
    let (mut a, mut b, channel_id) = connected_channel();
    let _ = start_payment(&mut a, &mut b, 3_000_000, None);
    pump(&mut a, &mut b, LINK);
    // B vanishes with the HTLC committed.
    disconnect(&mut a, &mut b, LINK);
    a.channel_handler_mut().best_block_updated(142);
    assert!(events(&mut a).is_empty());
    a.channel_handler_mut().best_block_updated(143);
    assert_channel_failed(&mut a, channel_id, "");
}

#[test]
fn the_funder_follows_the_fee_estimate() {
    let (mut a, mut b, channel_id) = connected_channel();
    let feerate = |n: &Node| {
        n.channel_handler()
            .channel(&channel_id)
            .expect("channel")
            .holder_view()
            .feerate_per_kw
    };
    // (who estimates, the estimate, the feerate both ends hold after): a move by more than
    // a fifth is worth a commitment round (300, 2,300 and exactly a fifth, 2,400, are
    // not), and only the funder ever sends update_fee.
    let steps = [
        (0, 300, 253),
        (0, 2_000, 2_000),
        (0, 2_300, 2_000),
        (0, 2_400, 2_000),
        (0, 2_500, 2_500),
        (1, 10_000, 2_500),
    ];
    for (by, estimate, expected) in steps {
        let estimator = if by == 0 { &mut a } else { &mut b };
        estimator.channel_handler_mut().feerate_updated(estimate);
        pump(&mut a, &mut b, LINK);
        assert_eq!(
            (feerate(&a), feerate(&b)),
            (expected, expected),
            "estimate {estimate} at node {by}"
        );
    }
}

/// Once the channel is shutting down the funder leaves its feerate alone: the close
/// negotiates its own fee, and the pending HTLC settles on the commitments as they are.
#[test]
fn a_channel_shutting_down_ignores_the_fee_estimate() {
    let (mut a, mut b, channel_id) = connected_channel();
    let hash = start_payment(&mut a, &mut b, 2_000_000, None);
    pump(&mut a, &mut b, LINK);
    a.channel_handler_mut().close_channel(&channel_id).expect("open");
    pump(&mut a, &mut b, LINK);
    for n in [&a, &b] {
        let channel = n.channel_handler().channel(&channel_id).expect("HTLC pending");
        assert_eq!(channel.phase(), ChannelPhase::ShuttingDown);
    }
    a.channel_handler_mut().feerate_updated(5_000);
    pump(&mut a, &mut b, LINK);
    for n in [&a, &b] {
        let view = n.channel_handler().channel(&channel_id).expect("open").holder_view();
        assert_eq!(view.feerate_per_kw, 253);
    }
    claim_and_check(&mut a, &mut b, hash, 2_000_000, "shutting down");
    let phase = a.channel_handler().channel(&channel_id).map(|c| c.phase());
    assert_eq!(phase, Some(ChannelPhase::Closed), "closed once clear");
}

#[test]
fn events_not_yet_taken_survive_a_restart() {
    let (mut a, mut b, _) = connected_channel();
    let hash = start_payment(&mut a, &mut b, 4_000_000, None);
    pump(&mut a, &mut b, LINK);
    let preimage = b.channel_handler().payment_preimage(&hash).expect("ours");
    events(&mut b);
    b.channel_handler_mut().claim_payment(preimage).expect("claimable");
    pump(&mut a, &mut b, LINK);
    // A crashes before taking its PaymentSent.
    b.disconnected(LINK);
    let monitors = a.channel_handler().persister().monitors.clone();
    let (mut a, mismatches) = restart(&a, 1, &monitors);
    assert!(mismatches.is_empty());
    assert_eq!(outcomes(&events(&mut a)), vec![Outcome::Sent(hash, preimage)]);
}

#[test]
fn a_peer_cannot_pile_up_unfunded_channels() {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let b_id = b.node_id();
    for _ in 0..6 {
        a.channel_handler_mut()
            .open_channel(b_id, 1_000_000, 0)
            .expect("peer connected");
    }
    pump(&mut a, &mut b, LINK);
    let ready = events(&mut a)
        .into_iter()
        .filter(|e| matches!(e, Event::FundingGenerationReady { .. }))
        .count();
    assert_eq!(ready, lightning::chan::manager::handler::MAX_UNFUNDED_CHANNELS_PER_PEER);
    assert_eq!(
        b.channel_handler().channel_ids().len(),
        lightning::chan::manager::handler::MAX_UNFUNDED_CHANNELS_PER_PEER
    );
}

/// A node configured to accept few HTLCs asks that of the peer at opening, and the peer
/// keeps to it: the adds past the cap are refused at the sender.
#[test]
fn the_configured_htlc_cap_binds_the_peer() {
    use lightning::chan::manager::ChannelManagerConfig;

    let config = ChannelManagerConfig {
        max_accepted_htlcs: 2,
        ..ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW)
    };
    let (mut a, mut b) = (node(1), node_with_config([2; 32], [2; 32], config, false));
    connect(&mut a, &mut b, LINK);
    open(&mut a, &mut b);
    let b_id = b.node_id();
    let mut results = Vec::new();
    for _ in 0..3 {
        let (hash, secret) = b.channel_handler_mut().create_inbound_payment(None);
        results.push(
            a.channel_handler_mut()
                .send_payment(b_id, hash, secret, 1_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA),
        );
    }
    assert!(results[..2].iter().all(Result::is_ok), "{results:?}");
    assert!(
        matches!(&results[2], Err(ApiError::Channel(reason)) if reason.cause() == &Cause::TooManyHtlcs),
        "{results:?}"
    );
}

/// A cap outside BOLT 2's 1 to 483 is refused when opening, not sent to the peer.
#[test]
fn an_htlc_cap_outside_the_protocol_range_is_refused_at_opening() {
    use lightning::chan::manager::{ApiError, ChannelManagerConfig};

    for cap in [0, 484] {
        let config = ChannelManagerConfig {
            max_accepted_htlcs: cap,
            ..ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW)
        };
        let (mut a, mut b) = (node_with_config([1; 32], [1; 32], config, false), node(2));
        connect(&mut a, &mut b, LINK);
        let result = a.channel_handler_mut().open_channel(b.node_id(), 1_000_000, 0);
        assert!(
            matches!(&result, Err(ApiError::Channel(reason)) if reason.cause().mentions("max_accepted_htlcs must be 1 to 483")),
            "cap {cap}: {result:?}"
        );
        assert!(a.channel_handler().channel_ids().is_empty(), "cap {cap}");
    }
}

/// A dust limit or delay a peer would refuse is refused when opening, with the reason,
/// never quietly replaced.
#[test]
fn a_policy_a_peer_would_refuse_is_refused_at_opening() {
    use lightning::chan::manager::{ApiError, ChannelManagerConfig};

    let base = ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW);
    for (config, reason) in [
        (
            ChannelManagerConfig {
                dust_limit_satoshis: 100,
                ..base.clone()
            },
            "dust_limit_satoshis",
        ),
        (
            ChannelManagerConfig {
                to_self_delay: 3_000,
                ..base.clone()
            },
            "to_self_delay",
        ),
    ] {
        let (mut a, mut b) = (node_with_config([1; 32], [1; 32], config, false), node(2));
        connect(&mut a, &mut b, LINK);
        let result = a.channel_handler_mut().open_channel(b.node_id(), 1_000_000, 0);
        assert!(
            matches!(&result, Err(ApiError::Channel(why)) if why.cause().mentions(reason)),
            "{reason}: {result:?}"
        );
    }
}

#[test]
fn a_closing_negotiation_that_stalls_fails_the_channel_after_six_blocks() {
    let (mut a, mut b, channel_id) = connected_channel();
    a.channel_handler_mut()
        .close_channel(&channel_id)
        .expect("open channel");
    // Both shutdowns cross, then B vanishes before any closing_signed reaches it.
    exchange_rounds(&mut a, &mut b, LINK, 1);
    disconnect(&mut a, &mut b, LINK);
    let negotiating = |n: &Node| {
        let channel = n.channel_handler().channel(&channel_id).expect("kept");
        channel.phase() == ChannelPhase::ShuttingDown && channel.ready_for_closing_signed()
    };
    assert!(negotiating(&a) && negotiating(&b));
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().best_block_updated(200);
        n.channel_handler_mut().best_block_updated(205);
        assert!(events(n).is_empty(), "still within the time allowed");
        n.channel_handler_mut().best_block_updated(206);
        assert_channel_failed(n, channel_id, "closing negotiation");
    }
}

#[test]
fn a_close_that_finishes_is_not_failed_later() {
    let (mut a, mut b, channel_id) = connected_channel();
    a.channel_handler_mut()
        .close_channel(&channel_id)
        .expect("open channel");
    pump(&mut a, &mut b, LINK);
    for n in [&mut a, &mut b] {
        assert!(matches!(events(n).as_slice(), [Event::ChannelClosed { .. }]));
        n.channel_handler_mut().best_block_updated(300);
        n.channel_handler_mut().best_block_updated(310);
        assert!(events(n).is_empty(), "a finished close stays finished");
        assert_eq!(
            n.channel_handler().channel(&channel_id).map(|c| c.phase()),
            Some(ChannelPhase::Closed)
        );
    }
}

#[test]
fn a_close_interrupted_by_a_disconnect_at_any_round_finishes_after_reconnecting() {
    for rounds in 0..4 {
        let (mut a, mut b, channel_id) = connected_channel();
        pay(&mut a, &mut b, 250_000_000);
        a.channel_handler_mut()
            .close_channel(&channel_id)
            .expect("open channel");
        exchange_rounds(&mut a, &mut b, LINK, rounds);
        disconnect(&mut a, &mut b, LINK);
        connect(&mut a, &mut b, PeerId(2));
        pump(&mut a, &mut b, PeerId(2));
        let mut broadcast = Vec::new();
        for n in [&mut a, &mut b] {
            let closed = events(n);
            assert!(
                matches!(closed.as_slice(), [Event::ChannelClosed { .. }]),
                "after {rounds} rounds: {closed:?}"
            );
            broadcast.extend(n.channel_handler().broadcaster().transactions.clone());
        }
        assert_eq!(broadcast.len(), 2, "after {rounds} rounds");
        assert_eq!(broadcast[0], broadcast[1], "one closing transaction");
    }
}

/// A force close broadcasts our current commitment with both signatures (each checked
/// against the funding keys), with a payment still in flight as its own output; the
/// monitor holds that commitment and is closed; the peer learns of it.
#[test]
fn a_force_close_broadcasts_our_current_commitment_signed_by_both() {
    use lightning::bitcoin::secp256k1::{ecdsa::Signature, Secp256k1};
    use lightning::chan::script::funding_redeem_script;
    use lightning::chan::signing::verify_p2wsh_input;

    let (mut a, mut b, channel_id) = connected_channel();
    pay(&mut a, &mut b, 100_000_000);
    let hash = start_payment(&mut a, &mut b, 20_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert!(
        matches!(events(&mut b).as_slice(), [Event::PaymentClaimable { payment_hash, .. }] if *payment_hash == hash)
    );

    a.channel_handler_mut()
        .force_close_channel(&channel_id)
        .expect("a signed commitment");
    assert_channel_failed(&mut a, channel_id, "force-closed");
    let broadcast = a.channel_handler().broadcaster().transactions.clone();
    let [commitment] = broadcast.as_slice() else {
        panic!("{broadcast:?}")
    };
    let monitor = &a.channel_handler().persister().monitors[&channel_id];
    assert!(monitor.is_closed());
    let held = monitor.holder_commitment().expect("a holder commitment");
    assert_eq!(commitment.compute_txid(), held.transaction.compute_txid());
    assert_eq!(held.htlcs.len(), 1, "the payment in flight has its output");

    let funding = monitor.funding().expect("funded");
    assert_eq!(commitment.input[0].previous_output, funding.funding_outpoint);
    let outputs_sat: u64 = commitment.output.iter().map(|o| o.value.to_sat()).sum();
    assert!(outputs_sat < funding.funding_satoshis, "the funder pays a fee");
    assert!(commitment.output.iter().any(|o| o.value.to_sat() == 20_000));
    assert!(
        commitment.output.iter().any(|o| o.value.to_sat() == 100_000),
        "to_remote"
    );
    let keys = [
        funding.holder_pubkeys.funding_pubkey,
        funding.counterparty_pubkeys.funding_pubkey,
    ];
    let script = funding_redeem_script(&keys[0], &keys[1]);
    let witness: Vec<&[u8]> = commitment.input[0].witness.iter().collect();
    assert_eq!(witness.len(), 4);
    assert_eq!(witness[3], script.as_bytes());
    let mut ordered = keys;
    ordered.sort_by_key(|k| k.serialize());
    let secp = Secp256k1::new();
    for (der, key) in witness[1..3].iter().zip(ordered) {
        let (sighash_byte, der) = der.split_last().expect("a signature");
        assert_eq!(*sighash_byte, 1, "SIGHASH_ALL");
        let signature = Signature::from_der(der).expect("DER");
        assert!(verify_p2wsh_input(
            &secp,
            commitment,
            0,
            &script,
            funding.funding_satoshis,
            &signature,
            &key
        ));
    }

    pump(&mut a, &mut b, LINK);
    assert_channel_failed(&mut b, channel_id, "force-closed by the user");
}

/// Two connected nodes, the first having opened a channel to the second that is
/// accepted but not funded yet; returns its temporary id.
pub(super) fn accepted_unfunded_channel() -> (Node, Node, ChannelId) {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let b_id = b.node_id();
    let temporary = a
        .channel_handler_mut()
        .open_channel(b_id, 1_000_000, 0)
        .expect("peer connected");
    pump(&mut a, &mut b, LINK);
    (a, b, temporary)
}

#[test]
fn a_force_close_before_any_signed_commitment_is_refused() {
    let (mut a, _b, temporary) = accepted_unfunded_channel();
    assert!(matches!(
        a.channel_handler_mut().force_close_channel(&temporary),
        Err(lightning::chan::manager::ApiError::Channel(_))
    ));
    assert!(a.channel_handler().channel(&temporary).is_some());
    assert!(a.channel_handler().broadcaster().transactions.is_empty());
    assert_eq!(
        a.channel_handler_mut().force_close_channel(&ChannelId([9; 32])),
        Err(lightning::chan::manager::ApiError::UnknownChannel)
    );
}

/// The peer's signature on our commitment is persisted: after a restart the node can
/// still force-close, with the commitment its monitor holds.
#[test]
fn a_restarted_node_can_still_force_close() {
    let (mut a, mut b, channel_id) = connected_channel();
    pay(&mut a, &mut b, 100_000_000);
    b.disconnected(LINK);
    let durable = a.channel_handler().persister().monitors.clone();
    let (mut a, mismatches) = restart(&a, 1, &durable);
    assert!(mismatches.is_empty(), "{mismatches:?}");
    a.channel_handler_mut()
        .force_close_channel(&channel_id)
        .expect("a signed commitment");
    let broadcast = &a.channel_handler().broadcaster().transactions;
    let held = durable[&channel_id].holder_commitment().expect("a holder commitment");
    assert_eq!(broadcast.len(), 1);
    assert_eq!(broadcast[0].compute_txid(), held.transaction.compute_txid());
}

/// A node from `seed` (keys and session) that logs its messages.
fn recording_node(seed: u8) -> Node {
    use lightning::chan::manager::ChannelManagerConfig;

    node_with_config(
        [seed; 32],
        [seed; 32],
        ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW),
        true,
    )
}

/// A fee estimate the funder cannot afford is not sent, and nothing is said to the peer:
/// refusing our own update is not the peer's fault.
#[test]
fn an_unaffordable_fee_estimate_changes_nothing_and_warns_no_one() {
    let (mut a, mut b) = (recording_node(1), recording_node(2));
    connect(&mut a, &mut b, LINK);
    let channel_id = open(&mut a, &mut b);
    pay(&mut a, &mut b, 900_000_000);
    // The log records what the payment sent, so an empty one below means nothing was sent.
    let paid = a.take_message_log();
    assert!(paid.iter().any(|r| r.sent && r.name == "UpdateAddHtlc"));
    a.channel_handler_mut().feerate_updated(1_000_000);
    pump(&mut a, &mut b, LINK);
    let sent: Vec<&str> = a.take_message_log().iter().filter(|r| r.sent).map(|r| r.name).collect();
    assert!(sent.is_empty(), "sent {sent:?}");
    let view = a.channel_handler().channel(&channel_id).expect("open").holder_view();
    assert_eq!(view.feerate_per_kw, 253);
    assert!(events(&mut a).is_empty() && events(&mut b).is_empty());
}

#[test]
fn the_message_log_holds_each_message_as_sent_and_as_received() {
    use lightning::wire::Message;

    let (mut a, mut b) = (recording_node(1), recording_node(2));
    connect(&mut a, &mut b, LINK);
    open(&mut a, &mut b);
    a.take_message_log();
    b.take_message_log();
    pay(&mut a, &mut b, 5_000_000);
    let (log_a, log_b) = (a.take_message_log(), b.take_message_log());
    for (sender, receiver) in [(&log_a, &log_b), (&log_b, &log_a)] {
        let sent: Vec<(&str, &[u8])> = sender
            .iter()
            .filter(|r| r.sent)
            .map(|r| (r.name, r.encoded.as_slice()))
            .collect();
        let received: Vec<(&str, &[u8])> = receiver
            .iter()
            .filter(|r| !r.sent)
            .map(|r| (r.name, r.encoded.as_slice()))
            .collect();
        assert!(sent.iter().any(|(name, _)| *name == "CommitmentSigned"), "{sent:?}");
        assert_eq!(
            sent, received,
            "each message is logged once each way, as the same bytes"
        );
        for (name, encoded) in sent {
            assert_eq!(Message::decode(encoded).expect("a logged message decodes").name(), name);
        }
    }
}

/// Opens and confirms another channel from a to b, funded from the wallet coin `[coin_byte; 32]`.
pub(super) fn open_another(a: &mut Node, b: &mut Node, coin_byte: u8) -> ChannelId {
    open_another_over(a, b, LINK, coin_byte)
}

/// [`open_another`] over the connection `link`.
fn open_another_over(a: &mut Node, b: &mut Node, link: PeerId, coin_byte: u8) -> ChannelId {
    let (channel_id, funding) = fund_over(a, b, link, 500_000, coin_byte);
    both_see(a, b, &funding, 104, 106);
    pump(a, b, link);
    events(a);
    events(b);
    channel_id
}

/// A payment too large for the first channel with the peer (by id) goes over the next
/// one that can carry it, and leaves the first as it was.
#[test]
fn a_payment_too_large_for_the_first_channel_takes_the_next() {
    let (mut a, mut b, large) = connected_channel();
    // Funded from the wallet coin [1; 32], the 500,000-sat channel sorts before the
    // 1,000,000-sat one.
    let small = open_another(&mut a, &mut b, 1);
    assert!(small < large, "the small channel must be tried first");
    let (small_before, large_before) = (balances(&a, &small), balances(&a, &large));
    pay(&mut a, &mut b, 700_000_000);
    assert_eq!(balances(&a, &small), small_before);
    assert_eq!(balances(&a, &large).0, large_before.0 - 700_000_000);
    // Nothing takes an amount no channel holds; the refusal says why.
    let b_id = b.node_id();
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(None);
    let refused = a
        .channel_handler_mut()
        .send_payment(b_id, hash, secret, 2_000_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA);
    assert!(matches!(refused, Err(ApiError::Channel(_))), "{refused:?}");
    assert_eq!(balances(&a, &small), small_before);
}

/// `send_payment_over` pays over the channel it names, and only an open channel with a
/// connected peer.
#[test]
fn a_payment_can_name_its_channel() {
    let (mut a, mut b, first) = connected_channel();
    let second = open_another(&mut a, &mut b, 9);
    let b_id = b.node_id();
    let first_before = balances(&a, &first);
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(Some(5_000_000));
    a.channel_handler_mut()
        .send_payment_over(&second, hash, secret, 5_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("the second channel takes it");
    pump(&mut a, &mut b, LINK);
    let preimage = b.channel_handler().payment_preimage(&hash).expect("ours");
    b.channel_handler_mut().claim_payment(preimage).expect("claimable");
    pump(&mut a, &mut b, LINK);
    assert_eq!(balances(&a, &second).1, 5_000_000);
    assert_eq!(balances(&a, &first), first_before);

    let unknown = ChannelId([0xee; 32]);
    let attempt = |a: &mut Node, channel_id: &ChannelId| {
        a.channel_handler_mut().send_payment_over(
            channel_id,
            PaymentHash([7; 32]),
            [0; 32],
            1_000_000,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        )
    };
    assert_eq!(attempt(&mut a, &unknown), Err(ApiError::UnknownChannel));
    a.disconnected(LINK);
    assert_eq!(attempt(&mut a, &first), Err(ApiError::NoUsableChannel));
    assert_eq!(
        a.channel_handler_mut().send_payment(
            b_id,
            PaymentHash([7; 32]),
            [0; 32],
            1_000_000,
            MIN_FINAL_CLTV_EXPIRY_DELTA
        ),
        Err(ApiError::NoUsableChannel)
    );
}

/// The peer's `error` naming a channel fails that channel only; one with the all-zero
/// channel id fails every channel with that peer (BOLT 1).
#[test]
fn an_error_fails_the_channel_it_names_or_all_of_them() {
    use lightning::transport::MessageHandler;
    use lightning::wire::{ErrorMessage, Message, NoTlvs};

    let (mut a, mut b, first) = connected_channel();
    let second = open_another(&mut a, &mut b, 9);
    let error = |channel_id: ChannelId| {
        Message::Error(ErrorMessage {
            channel_id,
            data: b"test".to_vec(),
            extension: NoTlvs::default(),
        })
    };
    let a_id = a.node_id();
    b.channel_handler_mut().handle_message(&a_id, error(first));
    let failed: Vec<ChannelId> = events(&mut b)
        .into_iter()
        .filter_map(|e| match e {
            Event::ChannelClosed { channel_id, .. } => Some(channel_id),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![first]);
    assert!(b.channel_handler().channel(&second).is_some());

    let third = open_another(&mut a, &mut b, 10);
    b.channel_handler_mut().handle_message(&a_id, error(ChannelId::ALL));
    let mut failed: Vec<ChannelId> = events(&mut b)
        .into_iter()
        .filter_map(|e| match e {
            Event::ChannelClosed { channel_id, .. } => Some(channel_id),
            _ => None,
        })
        .collect();
    failed.sort();
    let mut expected = vec![second, third];
    expected.sort();
    assert_eq!(failed, expected);
}

/// A `channel_ready` lost to a disconnect is sent again on reconnection (BOLT 2: while
/// no commitment has moved past 0), and the channel opens once the peer confirms too.
#[test]
fn a_channel_ready_lost_to_a_disconnect_is_sent_again() {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let (channel_id, funding) = fund(&mut a, &mut b);
    a.channel_handler_mut().transaction_confirmed(&funding, 101);
    a.channel_handler_mut().best_block_updated(103);
    // a's channel_ready is queued; the connection drops before it is written.
    assert!(a.peers_with_outbound().contains(&LINK));
    a.disconnected(LINK);
    b.disconnected(LINK);
    connect(&mut a, &mut b, LINK);
    b.channel_handler_mut().transaction_confirmed(&funding, 101);
    b.channel_handler_mut().best_block_updated(103);
    pump(&mut a, &mut b, LINK);
    for n in [&a, &b] {
        let phase = n.channel_handler().channel(&channel_id).map(|c| c.phase());
        assert_eq!(phase, Some(ChannelPhase::Normal));
    }
}

/// A node already using the channel (it sent its `channel_ready` and got the peer's)
/// sends `channel_ready` again when the peer's reestablish shows it never got it.
#[test]
fn a_node_already_open_resends_a_channel_ready_its_peer_lost() {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let (channel_id, funding) = fund(&mut a, &mut b);
    both_see(&mut a, &mut b, &funding, 101, 103);
    // b's channel_ready reaches a; a's is lost with the connection.
    let to_a = b.take_outbound(LINK);
    a.read(LINK, &to_a).expect("valid bytes");
    let _lost = a.take_outbound(LINK);
    let phase = |n: &Node| n.channel_handler().channel(&channel_id).map(|c| c.phase());
    assert_eq!(phase(&a), Some(ChannelPhase::Normal));
    assert_ne!(phase(&b), Some(ChannelPhase::Normal));
    a.disconnected(LINK);
    b.disconnected(LINK);
    connect(&mut a, &mut b, LINK);
    pump(&mut a, &mut b, LINK);
    assert_eq!(phase(&b), Some(ChannelPhase::Normal));
}

/// A channel message naming a channel we do not have is answered with an `error` naming
/// it (BOLT 1), and changes nothing.
#[test]
fn a_message_for_an_unknown_channel_is_answered_with_an_error() {
    use lightning::transport::{HandlerAction, MessageHandler};
    use lightning::wire::{Message, NoTlvs, UpdateFee};

    let (a, mut b, channel_id) = connected_channel();
    b.channel_handler_mut().take_actions();
    let unknown = ChannelId([7; 32]);
    let update = Message::UpdateFee(UpdateFee {
        channel_id: unknown,
        feerate_per_kw: 1_000,
        extension: NoTlvs::default(),
    });
    b.channel_handler_mut().handle_message(&a.node_id(), update);
    let actions = b.channel_handler_mut().take_actions();
    assert!(
        matches!(actions.as_slice(), [HandlerAction::Send { node_id, message: Message::Error(e) }]
            if *node_id == a.node_id() && e.channel_id == unknown && e.data == b"unknown channel"),
        "{actions:?}"
    );
    assert_eq!(
        b.channel_handler().channel(&channel_id).map(|c| c.phase()),
        Some(ChannelPhase::Normal)
    );
}

/// A payment to a peer goes over the channel with that peer, not over the first usable
/// channel with anyone.
#[test]
fn a_payment_takes_the_channel_with_its_payee() {
    let (mut a, mut b, to_b) = connected_channel();
    let mut c = node(3);
    let other = PeerId(2);
    connect(&mut c, &mut a, other);
    // The channel with c sorts after the one with b.
    let to_c = open_another_over(&mut a, &mut c, other, 9);
    assert!(to_b < to_c);
    let c_id = c.node_id();
    let (hash, secret) = c.channel_handler_mut().create_inbound_payment(Some(2_000_000));
    a.channel_handler_mut()
        .send_payment(c_id, hash, secret, 2_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("a channel with c");
    pump(&mut a, &mut c, other);
    pump(&mut a, &mut b, LINK);
    assert_eq!(
        events(&mut c),
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat: 2_000_000
        }]
    );
    assert!(events(&mut b).is_empty());
    assert_eq!(balances(&a, &to_b), (1_000_000_000, 0));
}

/// The cap on unfunded channels is per peer: one peer at the cap does not stop another.
#[test]
fn the_unfunded_channel_cap_is_per_peer() {
    use lightning::chan::manager::handler::MAX_UNFUNDED_CHANNELS_PER_PEER;

    let (mut a, mut b, mut c) = (node(1), node(2), node(3));
    connect(&mut a, &mut b, LINK);
    let b_id = b.node_id();
    for _ in 0..MAX_UNFUNDED_CHANNELS_PER_PEER {
        a.channel_handler_mut()
            .open_channel(b_id, 1_000_000, 0)
            .expect("peer connected");
    }
    pump(&mut a, &mut b, LINK);
    let other = PeerId(2);
    connect(&mut c, &mut b, other);
    c.channel_handler_mut()
        .open_channel(b_id, 1_000_000, 0)
        .expect("peer connected");
    pump(&mut c, &mut b, other);
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, Event::FundingGenerationReady { .. })),
        "the second peer's channel is accepted"
    );
}

/// A monitor update the user's storage refuses for good fails the channel: it could no
/// longer be enforced on chain.
#[test]
fn a_monitor_update_that_cannot_be_persisted_fails_the_channel() {
    let (mut a, mut b, channel_id) = connected_channel();
    a.channel_handler_mut().persister_mut().fail = true;
    start_payment(&mut a, &mut b, 5_000_000, None);
    assert_channel_failed(&mut a, channel_id, "persistence failed");
}

/// The keys id the manager hands out for a channel re-derives that channel's signer.
#[test]
fn a_channels_keys_id_derives_its_signer() {
    use lightning::sign::ChannelSigner as _;
    use lightning::sign::KeysManager;

    let (a, _b, channel_id) = connected_channel();
    let keys_id = a.channel_handler().channel_keys_id(&channel_id).expect("known channel");
    // Node 1's keys come from seed [1; 32] (node_pair::node).
    let derived = KeysManager::new(&[1; 32], &[0; 32]).derive_channel_signer(&keys_id);
    let channel = a.channel_handler().channel(&channel_id).expect("open");
    assert_eq!(derived.pubkeys(), channel.signer().pubkeys());
}

/// A stored monitor at the last `u64` update id (only corrupt storage holds one) is found
/// ahead of its channel on restart, as any monitor newer than its channel is, instead of
/// the gap to it overflowing.
#[test]
fn a_monitor_at_the_last_update_id_is_found_ahead_not_overflowed() {
    use lightning::chain::ChannelMonitor;
    use lightning::chan::channel::persist::MonitorMismatch;
    use lightning::wire::{Decode, Encode};
    let (_, b, channel_id) = connected_channel();
    let mut monitors = b.channel_handler().persister().monitors.clone();
    let mut bytes = monitors[&channel_id].encode_to_vec();
    // After the version byte: the latest update id.
    bytes[1..9].copy_from_slice(&u64::MAX.to_be_bytes());
    let corrupt = ChannelMonitor::decode_exact(&bytes).expect("the id is all that changed");
    assert_eq!(corrupt.latest_update_id(), u64::MAX);
    monitors.insert(channel_id, corrupt);
    let (_, mismatches) = restart(&b, 2, &monitors);
    assert!(
        matches!(
            mismatches.as_slice(),
            [(id, MonitorMismatch::ChannelBehind { monitor_update_id: u64::MAX })] if *id == channel_id
        ),
        "{mismatches:?}"
    );
}

/// A channel opens at the user's fee estimate, which the configuration cannot leave out
/// (a node opening at the relay floor is refused by peers with a realistic minimum);
/// an estimate below the floor is raised to it.
#[test]
fn channels_open_at_the_users_fee_estimate() {
    for (estimate, committed) in [(2_500, 2_500), (100, 253)] {
        let config = lightning::chan::manager::ChannelManagerConfig::new(regtest(), estimate);
        let mut a = node_with_config([1; 32], [1; 32], config, false);
        let mut b = node(2);
        connect(&mut a, &mut b, LINK);
        let channel_id = open(&mut a, &mut b);
        for n in [&a, &b] {
            let view = n.channel_handler().channel(&channel_id).expect("open").holder_view();
            assert_eq!(view.feerate_per_kw, committed, "estimate {estimate}");
        }
        a.channel_handler_mut().feerate_updated(1);
        pump(&mut a, &mut b, LINK);
        let view = b.channel_handler().channel(&channel_id).expect("open").holder_view();
        assert!(
            view.feerate_per_kw >= 253,
            "never below the floor: {}",
            view.feerate_per_kw
        );
    }
}
