//! Multi-part payments between whole nodes: a diamond `0 - 1 - 3`, `0 - 2 - 3` whose
//! paths each carry less than the payment. The payee claims only once every part
//! arrived, and fails every part back with `mpp_timeout` when the rest never comes.

use lightning::chan::manager::forward::ForwardingPolicy;
use lightning::chan::manager::outbound::Retry;
use lightning::chan::manager::payments::{MIN_FINAL_CLTV_EXPIRY_DELTA, MPP_TIMEOUT_BLOCKS};
use lightning::events::{Event, PaymentFailureReason};
use lightning::onion::errors::{FEE_INSUFFICIENT, MPP_TIMEOUT};
use lightning::routing::RouteParameters;
use tests::node_line::{Line, FUNDING_HEIGHT};

const DIAMOND: [(usize, usize); 4] = [(0, 1), (0, 2), (1, 3), (2, 3)];
const CAPACITY_SAT: u64 = 1_000_000;
const PUSH_MSAT: u64 = 300_000_000;
/// More than either path carries (each channel's funder holds 700,000,000 msat less its
/// reserve and the commitment fee).
const AMOUNT_MSAT: u64 = 900_000_000;

fn split_params(line: &Line) -> RouteParameters {
    let mut params = RouteParameters::new(line.nodes[3].node_id(), AMOUNT_MSAT, MIN_FINAL_CLTV_EXPIRY_DELTA);
    params.max_path_count = 4;
    params
}

#[test]
fn a_payment_no_path_carries_alone_arrives_in_parts_and_is_claimed_whole() {
    let mut line = Line::with_edges(4, &DIAMOND, CAPACITY_SAT, PUSH_MSAT);
    let before: Vec<u64> = (0..4).map(|i| line.holdings_msat(i)).collect();
    let unsplit = RouteParameters::new(line.nodes[3].node_id(), AMOUNT_MSAT, MIN_FINAL_CLTV_EXPIRY_DELTA);
    let (hash, secret) = line.nodes[3].channel_handler_mut().create_inbound_payment(None);
    let router = line.router();
    let refused =
        line.nodes[0]
            .channel_handler_mut()
            .send_payment_with_router(&router, unsplit, hash, secret, Retry::NEVER);
    assert!(refused.is_err(), "no single path carries it");

    let params = split_params(&line);
    let hash = line.send_with(0, 3, params, Retry::NEVER);
    line.process();
    assert_eq!(
        line.take_events(3),
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat: AMOUNT_MSAT
        }],
        "one claimable payment, whole"
    );
    line.claim(3, hash);
    line.process();
    let events = line.take_events(0);
    let Some(Event::PaymentSent {
        fee_paid_msat, paths, ..
    }) = events.iter().find(|e| matches!(e, Event::PaymentSent { .. }))
    else {
        panic!("{events:?}")
    };
    assert!(paths.len() >= 2, "{paths:?}");
    assert_eq!(paths.iter().map(|p| p.amount_msat()).sum::<u64>(), AMOUNT_MSAT);
    assert_eq!(line.holdings_msat(0), before[0] - AMOUNT_MSAT - fee_paid_msat);
    assert_eq!(line.holdings_msat(3), before[3] + AMOUNT_MSAT);
    let kept = line.holdings_msat(1) - before[1] + line.holdings_msat(2) - before[2];
    assert_eq!(kept, *fee_paid_msat, "the forwarders kept the fees");
}

#[test]
fn a_part_that_never_arrives_fails_every_part_after_the_timeout() {
    let mut line = Line::with_edges(4, &DIAMOND, CAPACITY_SAT, PUSH_MSAT);
    let before: Vec<u64> = (0..4).map(|i| line.holdings_msat(i)).collect();
    let params = split_params(&line);
    // Node 2 raises its fee once the route is found: its part fails there.
    let router = line.router();
    let (hash, secret) = line.nodes[3]
        .channel_handler_mut()
        .create_inbound_payment(Some(AMOUNT_MSAT));
    line.nodes[0]
        .channel_handler_mut()
        .send_payment_with_router(&router, params, hash, secret, Retry::NEVER)
        .expect("split");
    let channel_id = line.channels[3];
    let costly = ForwardingPolicy {
        fee_base_msat: 1_000_000,
        ..ForwardingPolicy::default()
    };
    line.nodes[2]
        .channel_handler_mut()
        .set_forwarding_policy(&channel_id, costly)
        .expect("its channel");
    line.nodes[0].process_events();
    line.process();
    assert!(line.take_events(3).is_empty(), "part of it is not claimable");
    let early = line.take_events(0);
    assert!(
        early.iter().any(|e| matches!(
            e,
            Event::PaymentPathFailed {
                failure_code: Some(FEE_INSUFFICIENT),
                ..
            }
        )),
        "{early:?}"
    );
    assert!(
        !early.iter().any(|e| matches!(e, Event::PaymentFailed { .. })),
        "a part is still out"
    );

    // One block short of the timeout the part waits; at it, it fails back.
    line.connect_blocks(FUNDING_HEIGHT + 2 + MPP_TIMEOUT_BLOCKS - 1);
    line.process();
    assert!(line.take_events(0).is_empty());
    line.connect_blocks(FUNDING_HEIGHT + 2 + MPP_TIMEOUT_BLOCKS);
    line.process();
    let late = line.take_events(0);
    assert!(
        late.iter().any(|e| matches!(
            e,
            Event::PaymentPathFailed {
                failure_code: Some(MPP_TIMEOUT),
                payment_failed_permanently: false,
                ..
            }
        )),
        "{late:?}"
    );
    assert!(
        late.iter().any(|e| matches!(
            e,
            Event::PaymentFailed {
                reason: PaymentFailureReason::RetriesExhausted,
                ..
            }
        )),
        "{late:?}"
    );
    assert!(line.take_events(3).is_empty(), "never claimable");
    for (i, held) in before.iter().enumerate() {
        assert_eq!(line.holdings_msat(i), *held, "node {i}");
        assert_eq!(line.htlc_count(i), 0, "node {i}");
    }
}

/// A path that fails at its forwarder is retried over the other side of the diamond:
/// the failing channel is avoided, the router learns, and the payment is sent once.
#[test]
fn a_failed_path_is_retried_over_another_route() {
    let mut line = Line::with_edges(4, &DIAMOND, CAPACITY_SAT, PUSH_MSAT);
    let mut router = line.router();
    let payee = line.nodes[3].node_id();
    let params = RouteParameters::new(payee, 10_000_000, MIN_FINAL_CLTV_EXPIRY_DELTA);
    let (hash, secret) = line.nodes[3]
        .channel_handler_mut()
        .create_inbound_payment(Some(10_000_000));
    line.nodes[0]
        .channel_handler_mut()
        .send_payment_with_router(&router, params, hash, secret, Retry::default())
        .expect("a route");
    // Whichever forwarder the route went through: the link from it to the payee drops.
    let first_try = line.nodes[0].channel_handler().payment_paths(&hash);
    let forwarder = line
        .nodes
        .iter()
        .position(|n| n.node_id() == first_try[0].hops[0].node_id)
        .expect("a node");
    let link_to_payee = line.edges.iter().position(|e| *e == (forwarder, 3)).expect("a link");
    line.drop_link(link_to_payee);
    line.nodes[0].process_events();
    line.process();
    let events = line.take_events(0);
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::PaymentPathFailed {
                payment_failed_permanently: false,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::PaymentFailed { .. })),
        "retries are left"
    );
    // The user's call retries; the router hears of the failure first.
    line.nodes[0]
        .channel_handler_mut()
        .process_pending_payments(&mut router);
    assert_eq!(
        router.scorer().learned_count(),
        1,
        "the forwarder's channel to the payee failed it"
    );
    let second_try = line.nodes[0].channel_handler().payment_paths(&hash);
    assert_eq!(second_try.len(), 1, "one retry in flight");
    assert_ne!(
        second_try[0].hops[0].node_id, first_try[0].hops[0].node_id,
        "the other side"
    );
    line.nodes[0].process_events();
    line.process();
    assert_eq!(
        line.take_events(3),
        vec![Event::PaymentClaimable {
            payment_hash: hash,
            amount_msat: 10_000_000
        }]
    );
    line.claim(3, hash);
    line.process();
    let sent: Vec<Event> = line
        .take_events(0)
        .into_iter()
        .filter(|e| matches!(e, Event::PaymentSent { .. }))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
}
