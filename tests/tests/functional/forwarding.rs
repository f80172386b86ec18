//! Payments across several hops between whole nodes over real BOLT 8 (`tests::node_line`):
//! forwards over 2 and 4 hops, each check's failure code attributed to the right hop,
//! and the forwarding node dropped, paused and crashed at each step of a forward, with
//! every payment resolved and no node poorer than its fees say.

use lightning::chan::manager::forward::{ForwardingPolicy, HtlcPair};
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::events::{Event, PaymentFailureReason};
use lightning::onion::errors::{
    AMOUNT_BELOW_MINIMUM, FEE_INSUFFICIENT, INCORRECT_CLTV_EXPIRY, INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
    TEMPORARY_CHANNEL_FAILURE, UNKNOWN_NEXT_PEER,
};
use lightning::routing::{Route, RouteParameters, Router};
use lightning::wire::{PaymentHash, ShortChannelId};
use tests::node_line::Line;

const CAPACITY_SAT: u64 = 1_000_000;
const PUSH_MSAT: u64 = 300_000_000;
const AMOUNT_MSAT: u64 = 50_000_000;

/// The fee a forwarder with the default policy charges to forward `amount_msat`.
fn default_fee(amount_msat: u64) -> u64 {
    let policy = ForwardingPolicy::default();
    u64::from(policy.fee_base_msat) + amount_msat * u64::from(policy.fee_proportional_millionths) / 1_000_000
}

/// Node `payer` paid `hash`: its one `PaymentSent`, with the fee it paid.
fn sent_fee(line: &mut Line, payer: usize, hash: PaymentHash) -> u64 {
    let events = line.take_events(payer);
    let fees: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::PaymentSent {
                payment_hash,
                fee_paid_msat,
                ..
            } if *payment_hash == hash => Some(*fee_paid_msat),
            _ => None,
        })
        .collect();
    assert_eq!(fees.len(), 1, "{events:?}");
    fees[0]
}

/// The fee node `i` reports earning on its forwards since the last look.
fn earned(line: &mut Line, i: usize) -> u64 {
    line.take_events(i)
        .iter()
        .map(|e| match e {
            Event::PaymentForwarded { fee_earned_msat, .. } => *fee_earned_msat,
            _ => 0,
        })
        .sum()
}

/// Pays `payer` -> `payee` over the line, claims it, and checks that the payer paid the
/// amount plus the fee it was told, each forwarder gained exactly what it reports, and
/// no HTLC is left.
fn pay_across(line: &mut Line, payer: usize, payee: usize, amount_msat: u64) {
    let before: Vec<u64> = (0..line.nodes.len()).map(|i| line.holdings_msat(i)).collect();
    let hash = line.send(payer, payee, amount_msat);
    line.process();
    let claimable = line.take_events(payee);
    assert_eq!(
        claimable,
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat
        }]
    );
    line.claim(payee, hash);
    line.process();
    let fee = sent_fee(line, payer, hash);
    let (low, high) = (payer.min(payee), payer.max(payee));
    let mut fees_earned = 0;
    for (i, held) in before.iter().enumerate() {
        let now = line.holdings_msat(i);
        let forwarder = i > low && i < high;
        if i == payer {
            assert_eq!(now, held - amount_msat - fee, "payer {i}");
        } else if i == payee {
            assert_eq!(now, held + amount_msat, "payee {i}");
        } else if forwarder {
            let gained = earned(line, i);
            assert!(gained > 0, "a forwarder earns");
            assert_eq!(now, held + gained, "forwarder {i}");
            fees_earned += gained;
        } else {
            assert_eq!(now, *held, "bystander {i}");
        }
        assert_eq!(line.htlc_count(i), 0, "node {i} holds no HTLC");
    }
    assert_eq!(fees_earned, fee, "the payer's fee is what the forwarders kept");
}

#[test]
fn a_payment_crosses_two_hops_and_the_forwarder_keeps_its_fee() {
    let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
    pay_across(&mut line, 0, 2, AMOUNT_MSAT);
    assert_eq!(default_fee(AMOUNT_MSAT), 6_000);
    pay_across(&mut line, 2, 0, AMOUNT_MSAT / 2);
}

#[test]
fn payments_cross_four_hops_both_ways() {
    let mut line = Line::new(5, CAPACITY_SAT, PUSH_MSAT);
    pay_across(&mut line, 0, 4, AMOUNT_MSAT);
    pay_across(&mut line, 4, 0, AMOUNT_MSAT);
    pay_across(&mut line, 1, 3, 1_234_567);
}

/// One `PaymentPathFailed` and one `PaymentFailed` for `hash` at `payer`: the path
/// failure's erring node, channel and code.
fn path_failure(
    line: &mut Line,
    payer: usize,
    hash: PaymentHash,
) -> (Option<usize>, Option<ShortChannelId>, Option<u16>) {
    let events = line.take_events(payer);
    let mut failures = events.iter().filter_map(|e| match e {
        Event::PaymentPathFailed {
            payment_hash,
            failing_node,
            short_channel_id,
            failure_code,
            ..
        } if *payment_hash == hash => Some((*failing_node, *short_channel_id, *failure_code)),
        _ => None,
    });
    let (node, scid, code) = failures.next().unwrap_or_else(|| panic!("{events:?}"));
    assert!(failures.next().is_none(), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::PaymentFailed { payment_hash, .. } if *payment_hash == hash)),
        "{events:?}"
    );
    let index = node.map(|id| line.nodes.iter().position(|n| n.node_id() == id).expect("a line node"));
    (index, scid, code)
}

/// Sends over the router's route without retries.
fn send_once(line: &mut Line, payer: usize, payee: usize, amount_msat: u64) -> PaymentHash {
    let route = route(line, payer, payee, amount_msat);
    send_route(line, payer, payee, &route, amount_msat)
}

fn route(line: &Line, payer: usize, payee: usize, amount_msat: u64) -> Route {
    let router = line.router();
    let params = RouteParameters::new(line.nodes[payee].node_id(), amount_msat, MIN_FINAL_CLTV_EXPIRY_DELTA);
    let first_hops = line.nodes[payer].channel_handler().first_hops();
    router
        .find_route(&line.nodes[payer].node_id(), &params, &first_hops)
        .expect("a route")
}

/// Pays an invoice of `invoice_msat` over `route` as given.
fn send_route(line: &mut Line, payer: usize, payee: usize, route: &Route, invoice_msat: u64) -> PaymentHash {
    let (hash, secret) = line.nodes[payee]
        .channel_handler_mut()
        .create_inbound_payment(Some(invoice_msat));
    line.nodes[payer]
        .channel_handler_mut()
        .send_payment_along_route(route, hash, secret, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("sent");
    line.nodes[payer].process_events();
    hash
}

/// Every node holds what it held before the failed payment, and no HTLC.
fn nothing_moved(line: &Line, before: &[u64]) {
    for (i, held) in before.iter().enumerate() {
        assert_eq!(line.holdings_msat(i), *held, "node {i}");
        assert_eq!(line.htlc_count(i), 0, "node {i}");
    }
}

#[test]
fn a_failure_at_each_hop_is_attributed_to_that_hop() {
    for failing in 1..=4 {
        let mut line = Line::new(5, CAPACITY_SAT, PUSH_MSAT);
        let before: Vec<u64> = (0..5).map(|i| line.holdings_msat(i)).collect();
        let route = route(&line, 0, 4, AMOUNT_MSAT);
        let invoice_msat = if failing == 4 {
            AMOUNT_MSAT + 1 // The payee asks more than the route brings.
        } else {
            // The forwarder raised its fee after the route was found.
            let channel_id = line.channels[failing];
            let policy = ForwardingPolicy {
                fee_base_msat: 50_000,
                ..ForwardingPolicy::default()
            };
            line.nodes[failing]
                .channel_handler_mut()
                .set_forwarding_policy(&channel_id, policy)
                .expect("its channel");
            AMOUNT_MSAT
        };
        let hash = send_route(&mut line, 0, 4, &route, invoice_msat);
        line.process();
        let (node, scid, code) = path_failure(&mut line, 0, hash);
        assert_eq!(node, Some(failing), "failing hop {failing}");
        if failing == 4 {
            assert_eq!((scid, code), (None, Some(INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS)));
        } else {
            assert_eq!((scid, code), (Some(line.scids[failing]), Some(FEE_INSUFFICIENT)));
            let forward_failed = line.take_events(failing);
            assert!(
                forward_failed.iter().any(|e| matches!(
                    e,
                    Event::ForwardFailed {
                        failure_code: Some(FEE_INSUFFICIENT),
                        ..
                    }
                )),
                "{forward_failed:?}"
            );
        }
        nothing_moved(&line, &before);
    }
}

#[test]
fn each_forwarding_check_fails_with_its_code() {
    type Spoil = fn(&mut Line, &mut Route);
    let cases: [(&str, Spoil, u16); 5] = [
        (
            "a fee a msat short",
            |_, route| route.paths[0].hops[0].amount_msat -= 1,
            FEE_INSUFFICIENT,
        ),
        (
            "a CLTV delta a block short",
            |_, route| route.paths[0].hops[0].expiry_beyond_final_blocks -= 1,
            INCORRECT_CLTV_EXPIRY,
        ),
        (
            "below the forwarder's minimum",
            |line, _| {
                let channel_id = line.channels[1];
                let policy = ForwardingPolicy {
                    htlc_minimum_msat: AMOUNT_MSAT + 1,
                    ..ForwardingPolicy::default()
                };
                line.nodes[1]
                    .channel_handler_mut()
                    .set_forwarding_policy(&channel_id, policy)
                    .expect("its channel");
            },
            AMOUNT_BELOW_MINIMUM,
        ),
        (
            "a channel the forwarder does not have",
            |_, route| route.paths[0].hops[1].short_channel_id = ShortChannelId(12_345),
            UNKNOWN_NEXT_PEER,
        ),
        (
            "the next peer away",
            |line, _| line.drop_link(1),
            TEMPORARY_CHANNEL_FAILURE,
        ),
    ];
    for (what, spoil, expected) in cases {
        let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
        let before: Vec<u64> = (0..3).map(|i| line.holdings_msat(i)).collect();
        let mut route = route(&line, 0, 2, AMOUNT_MSAT);
        spoil(&mut line, &mut route);
        let hash = send_route(&mut line, 0, 2, &route, AMOUNT_MSAT);
        line.process();
        let (node, _, code) = path_failure(&mut line, 0, hash);
        assert_eq!((node, code), (Some(1), Some(expected)), "{what}");
        let forwarder = line.take_events(1);
        assert!(
            forwarder
                .iter()
                .any(|e| matches!(e, Event::ForwardFailed { failure_code: Some(c), .. } if *c == expected)),
            "{what}: {forwarder:?}"
        );
        nothing_moved(&line, &before);
    }
}

/// Node 0 pays node 2; once it is claimable, the link 0 - 1 drops and node 2 claims: the
/// payment's hash and preimage, and node 1's forward, fulfilled downstream only.
fn fulfilled_while_upstream_is_away(line: &mut Line) -> (PaymentHash, lightning::wire::PaymentPreimage, HtlcPair) {
    let hash = line.send(0, 2, AMOUNT_MSAT);
    line.process();
    assert_eq!(line.take_events(2).len(), 1, "claimable");
    line.drop_link(0);
    let preimage = line.claim(2, hash);
    line.process();
    let forward = line.nodes[1]
        .channel_handler()
        .forwards()
        .next()
        .cloned()
        .expect("a forward");
    (hash, preimage, forward)
}

/// The forwarder's upstream link is down when the payee claims: the preimage waits in
/// the forwarder (and its incoming channel's monitor) and is claimed upstream when the
/// link is back, across a crash of the forwarder in between or not.
#[test]
fn a_preimage_learned_downstream_survives_a_crash_of_the_forwarder() {
    for crash in [false, true] {
        let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
        let before: Vec<u64> = (0..3).map(|i| line.holdings_msat(i)).collect();
        let (hash, preimage, forward) = fulfilled_while_upstream_is_away(&mut line);
        assert!(
            matches!(
                forward.stage(),
                lightning::chan::manager::forward::ForwardStage::Fulfilled { preimage: p, .. } if *p == preimage
            ),
            "{forward:?}"
        );
        let incoming_monitor = &line.nodes[1].channel_handler().persister().monitors[&line.channels[0]];
        assert_eq!(
            incoming_monitor.preimage(&hash),
            Some(preimage),
            "the incoming channel's monitor has it"
        );
        if crash {
            line.crash_and_restart(1);
            line.drop_link(0); // Still down: only link 1 came back.
        }
        line.reconnect_link(0);
        line.process();
        let fee = sent_fee(&mut line, 0, hash);
        assert_eq!(fee, default_fee(AMOUNT_MSAT), "crash {crash}");
        assert_eq!(earned(&mut line, 1), fee, "crash {crash}");
        assert_eq!(line.holdings_msat(0), before[0] - AMOUNT_MSAT - fee);
        assert_eq!(line.holdings_msat(1), before[1] + fee);
        assert_eq!(line.holdings_msat(2), before[2] + AMOUNT_MSAT);
        assert_eq!(line.nodes[1].channel_handler().forwards().count(), 0);
    }
}

/// The forwarder is taken down at each step of a forward: before it offers the
/// outgoing HTLC, once the outgoing HTLC is committed, and between the downstream
/// fulfill and the upstream claim. Every payment resolves and nobody is poorer than the
/// fees say.
#[test]
fn the_forwarder_crashing_at_each_step_loses_nothing() {
    for step in 0..3 {
        let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
        let before: Vec<u64> = (0..3).map(|i| line.holdings_msat(i)).collect();
        let hash = line.send(0, 2, AMOUNT_MSAT);
        match step {
            0 => {
                // The incoming HTLC is committed; nothing forwarded yet.
                line.process_with(false);
                assert_eq!(line.nodes[1].channel_handler().pending_forward_count(), 1);
                line.crash_and_restart(1);
                line.process();
            }
            1 => {
                line.process();
                line.crash_and_restart(1);
                line.process();
            }
            _ => {
                line.process();
                line.drop_link(0);
                line.claim(2, hash);
                line.process();
                line.crash_and_restart(1);
                line.process();
            }
        }
        if step < 2 {
            let claimable = line.take_events(2);
            assert_eq!(claimable.len(), 1, "step {step}: {claimable:?}");
            line.claim(2, hash);
            line.process();
        }
        let fee = sent_fee(&mut line, 0, hash);
        assert_eq!(earned(&mut line, 1), fee, "step {step}");
        assert_eq!(line.holdings_msat(0), before[0] - AMOUNT_MSAT - fee, "step {step}");
        assert_eq!(line.holdings_msat(1), before[1] + fee, "step {step}");
        assert_eq!(line.holdings_msat(2), before[2] + AMOUNT_MSAT, "step {step}");
        for i in 0..3 {
            assert_eq!(line.htlc_count(i), 0, "step {step}, node {i}");
        }
    }
}

/// The forwarder's persistence holds every update in progress: nothing it depends on
/// goes out until the updates complete, and then the payment goes through.
#[test]
fn a_paused_forwarder_forwards_once_its_updates_complete() {
    let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
    let before: Vec<u64> = (0..3).map(|i| line.holdings_msat(i)).collect();
    line.nodes[1].channel_handler_mut().persister_mut().hold = true;
    let hash = line.send(0, 2, AMOUNT_MSAT);
    line.process();
    assert!(line.take_events(2).is_empty(), "held: nothing reaches the payee");
    let mut claimed = false;
    for _ in 0..20 {
        let completed = line.nodes[1].channel_handler_mut().persister_mut().complete_all();
        for (channel_id, update_id) in completed {
            line.nodes[1]
                .channel_handler_mut()
                .monitor_update_completed(&channel_id, update_id);
        }
        line.nodes[1].process_events();
        line.process();
        if !claimed && !line.take_events(2).is_empty() {
            line.claim(2, hash);
            claimed = true;
        }
    }
    assert!(claimed, "the payee was paid");
    let fee = sent_fee(&mut line, 0, hash);
    assert_eq!(line.holdings_msat(1), before[1] + fee);
    assert_eq!(line.holdings_msat(2), before[2] + AMOUNT_MSAT);
}

/// A route given as is has no retry: its failure is the payment's.
#[test]
fn a_payment_failing_without_retries_is_reported_failed() {
    let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
    line.drop_link(1);
    let hash = send_once(&mut line, 0, 2, AMOUNT_MSAT);
    line.process();
    let events = line.take_events(0);
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::PaymentFailed {
                payment_hash,
                reason: PaymentFailureReason::RetriesExhausted,
                ..
            } if *payment_hash == hash
        )),
        "{events:?}"
    );
}

/// The `channel_update` a failure carries is the forwarder's, signed with its node key
/// over the message's body (BOLT 7), for the channel as the onion named it, with its
/// policy.
#[test]
fn a_failures_channel_update_is_signed_and_names_the_channel_asked_for() {
    use lightning::bitcoin::hashes::{sha256d, Hash};
    use lightning::bitcoin::secp256k1::{Message, Secp256k1};
    use lightning::wire::{ChannelUpdate, Decode};
    let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
    let policy = ForwardingPolicy {
        fee_base_msat: 4_321,
        ..ForwardingPolicy::default()
    };
    let channel_id = line.channels[1];
    line.nodes[1]
        .channel_handler_mut()
        .set_forwarding_policy(&channel_id, policy)
        .expect("its channel");
    let bytes = line.nodes[1]
        .channel_handler()
        .channel_update_bytes(line.scids[1])
        .expect("its channel");
    assert_eq!(&bytes[..2], &258u16.to_be_bytes(), "the type prefix");
    let update = ChannelUpdate::decode_exact(&bytes[2..]).expect("a channel_update");
    assert_eq!(update.short_channel_id, line.scids[1]);
    assert_eq!(update.fee_base_msat, 4_321);
    assert_eq!(update.cltv_expiry_delta, policy.cltv_expiry_delta);
    let digest = sha256d::Hash::hash(&bytes[2 + 64..]).to_byte_array();
    Secp256k1::verification_only()
        .verify_ecdsa(
            &Message::from_digest(digest),
            &update.signature,
            &line.nodes[1].node_id(),
        )
        .expect("signed by the forwarder");
    assert!(
        line.nodes[1]
            .channel_handler()
            .channel_update_bytes(ShortChannelId(99))
            .is_none(),
        "no channel of its own goes by that id"
    );
}

/// The forwarder holds the preimage but its incoming channel's peer stays away: a dozen
/// blocks before the incoming HTLC expires it goes on chain to claim it, not a block
/// before.
#[test]
fn a_forwarder_goes_on_chain_before_an_unclaimed_incoming_htlc_expires() {
    let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
    let (_, _, forward) = fulfilled_while_upstream_is_away(&mut line);
    let expiry = forward.incoming.cltv_expiry;
    let deadline = expiry - lightning::chan::manager::payments::CLAIM_DEADLINE_BLOCKS;
    line.connect_blocks(deadline - 1);
    line.process();
    let early = line.take_events(1);
    assert!(
        !early.iter().any(|e| matches!(e, Event::ChannelClosed { .. })),
        "{early:?}"
    );
    line.connect_blocks(deadline);
    line.process();
    let closed = line.take_events(1);
    assert!(
        closed.iter().any(|e| matches!(
            e,
            Event::ChannelClosed { channel_id, reason } if *channel_id == line.channels[0] && reason.contains("nears expiry")
        )),
        "{closed:?}"
    );
    assert!(
        !line.nodes[1].channel_handler().broadcaster().transactions.is_empty(),
        "its commitment is broadcast"
    );
}

/// Each end learns the other's alias from `channel_ready`, and an onion naming the
/// forwarder's outgoing channel by its alias (as a route hint would) is forwarded.
#[test]
fn an_onion_may_name_the_next_channel_by_its_alias() {
    let mut line = Line::new(3, CAPACITY_SAT, PUSH_MSAT);
    let details = |line: &Line, node: usize, channel: usize| {
        line.nodes[node]
            .channel_handler()
            .list_channels()
            .into_iter()
            .find(|d| d.channel_id == line.channels[channel])
            .expect("listed")
    };
    let (b_side, c_side) = (details(&line, 1, 1), details(&line, 2, 1));
    assert_eq!(c_side.inbound_scid_alias, Some(b_side.outbound_scid_alias));
    assert_eq!(b_side.inbound_scid_alias, Some(c_side.outbound_scid_alias));
    assert_ne!(b_side.outbound_scid_alias, line.scids[1], "an alias is not the real id");
    let before = line.holdings_msat(2);
    let mut route = route(&line, 0, 2, AMOUNT_MSAT);
    route.paths[0].hops[1].short_channel_id = b_side.outbound_scid_alias;
    let hash = send_route(&mut line, 0, 2, &route, AMOUNT_MSAT);
    line.process();
    assert_eq!(line.take_events(2).len(), 1, "claimable");
    line.claim(2, hash);
    line.process();
    sent_fee(&mut line, 0, hash);
    assert_eq!(line.holdings_msat(2), before + AMOUNT_MSAT);
}
