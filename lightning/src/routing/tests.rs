//! The default router on small graphs whose best answer is known.

use alloc::vec;
use alloc::vec::Vec;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

use super::*;
use crate::wire::ShortChannelId;

fn node(i: u8) -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[i + 1; 32]).expect("key"))
}

fn policy(fee_base_msat: u32, fee_proportional_millionths: u32, cltv_expiry_delta: u16) -> RoutingPolicy {
    RoutingPolicy {
        fee_base_msat,
        fee_proportional_millionths,
        cltv_expiry_delta,
        htlc_minimum_msat: 1,
        htlc_maximum_msat: u64::MAX,
        enabled: true,
    }
}

/// Adds a channel `a`-`b` with `policy` both ways.
fn link(graph: &mut NetworkGraph, scid: u64, a: u8, b: u8, capacity_sat: u64, policy: RoutingPolicy) {
    let scid = ShortChannelId(scid);
    graph.add_channel(scid, node(a), node(b), capacity_sat).expect("adds");
    graph.update_policy(scid, &node(a), policy).expect("policy");
    graph.update_policy(scid, &node(b), policy).expect("policy");
}

fn first_hop(scid: u64, to: u8, outbound_capacity_msat: u64) -> FirstHop {
    FirstHop {
        short_channel_id: ShortChannelId(scid),
        counterparty: node(to),
        outbound_capacity_msat,
    }
}

fn scids(path: &Path) -> Vec<u64> {
    path.hops.iter().map(|h| h.short_channel_id.0).collect()
}

/// 0 - 1 - 2 - 3 in a line: fees and deltas add up backward from the payee.
#[test]
fn a_line_charges_each_forwarder_its_fee_and_delta() {
    let mut graph = NetworkGraph::new();
    link(&mut graph, 1, 0, 1, 1_000_000, policy(1_000, 1_000, 40));
    link(&mut graph, 2, 1, 2, 1_000_000, policy(2_000, 0, 30));
    link(&mut graph, 3, 2, 3, 1_000_000, policy(100, 100, 20));
    let router = DefaultRouter::new(graph);
    let params = RouteParameters::new(node(3), 10_000_000, 18);
    let route = router
        .find_route(&node(0), &params, &[first_hop(1, 1, 500_000_000)])
        .expect("a route");
    let path = &route.paths[0];
    assert_eq!(scids(path), [1, 2, 3]);
    // Node 2 forwards 10,000,000 over channel 3: 100 + 1,000 fee.
    assert_eq!(path.hops[2].amount_msat, 10_000_000);
    assert_eq!(path.hops[1].amount_msat, 10_001_100);
    // Node 1 forwards 10,001,100 over channel 2: 2,000 fee.
    assert_eq!(path.hops[0].amount_msat, 10_003_100);
    assert_eq!(path.fee_msat(), 3_100);
    assert_eq!(
        path.hops
            .iter()
            .map(|h| h.expiry_beyond_final_blocks)
            .collect::<Vec<_>>(),
        [50, 20, 0]
    );
    assert_eq!(path.check(), Ok(()));
}

/// Two ways from 1 to 3: the cheaper wins; avoiding it, the other; a delta beyond the
/// bound, neither.
#[test]
fn the_cheaper_way_wins_and_avoided_or_too_slow_ways_are_not_taken() {
    let mut graph = NetworkGraph::new();
    link(&mut graph, 1, 0, 1, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 2, 1, 2, 1_000_000, policy(50_000, 0, 40));
    link(&mut graph, 3, 2, 3, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 4, 1, 4, 1_000_000, policy(10, 0, 40));
    link(&mut graph, 5, 4, 3, 1_000_000, policy(10, 0, 40));
    let router = DefaultRouter::new(graph);
    let hops = [first_hop(1, 1, u64::MAX)];
    let mut params = RouteParameters::new(node(3), 1_000_000, 18);
    let route = router.find_route(&node(0), &params, &hops).expect("a route");
    assert_eq!(scids(&route.paths[0]), [1, 4, 5]);
    params.avoid.push(ShortChannelId(5));
    let route = router.find_route(&node(0), &params, &hops).expect("a route");
    assert_eq!(scids(&route.paths[0]), [1, 2, 3]);
    assert_eq!(route.fee_msat(), 50_000);
    params.max_fee_msat = Some(49_999);
    assert!(matches!(
        router.find_route(&node(0), &params, &hops),
        Err(RouteError::NoPath(_))
    ));
    params.max_fee_msat = None;
    params.max_total_cltv_expiry_delta = 18 + 79;
    assert!(matches!(
        router.find_route(&node(0), &params, &hops),
        Err(RouteError::NoPath(_))
    ));
}

/// A path that cannot carry the amount (capacity, HTLC maximum, disabled, our own
/// channel's capacity) is not taken.
#[test]
fn channels_that_cannot_carry_the_amount_are_skipped() {
    let mut graph = NetworkGraph::new();
    link(&mut graph, 1, 0, 1, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 2, 1, 3, 1_000, policy(0, 0, 40)); // 1,000 sat: too small.
    link(&mut graph, 3, 1, 2, 1_000_000, policy(1, 0, 40));
    link(&mut graph, 4, 2, 3, 1_000_000, policy(1, 0, 40));
    let capped = RoutingPolicy {
        htlc_maximum_msat: 1_999_999,
        ..policy(0, 0, 40)
    };
    link(&mut graph, 5, 1, 4, 1_000_000, capped);
    link(&mut graph, 6, 4, 3, 1_000_000, policy(0, 0, 40));
    let router = DefaultRouter::new(graph);
    let params = RouteParameters::new(node(3), 2_000_000, 18);
    let route = router
        .find_route(&node(0), &params, &[first_hop(1, 1, u64::MAX)])
        .expect("a route");
    assert_eq!(scids(&route.paths[0]), [1, 3, 4]);
    let small_first_hop = [first_hop(1, 1, 2_000_001)];
    assert!(
        router.find_route(&node(0), &params, &small_first_hop).is_err(),
        "2,000,002 msat must cross our channel"
    );
    assert_eq!(router.find_route(&node(0), &params, &[]), Err(RouteError::NoFirstHop));
    assert_eq!(
        router.find_route(&node(3), &params, &[first_hop(1, 1, 1)]),
        Err(RouteError::PayerIsPayee)
    );
}

/// Two 100,000-sat ways to the payee: 150,000 sat goes in two parts when allowed.
#[test]
fn an_amount_no_path_carries_alone_is_split() {
    let mut graph = NetworkGraph::new();
    link(&mut graph, 1, 0, 1, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 2, 0, 2, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 3, 1, 3, 100_000, policy(1, 0, 40));
    link(&mut graph, 4, 2, 3, 100_000, policy(1, 0, 40));
    let router = DefaultRouter::new(graph);
    let hops = [first_hop(1, 1, 500_000_000), first_hop(2, 2, 500_000_000)];
    let mut params = RouteParameters::new(node(3), 150_000_000, 18);
    assert!(router.find_route(&node(0), &params, &hops).is_err(), "unsplit");
    params.max_path_count = 4;
    let route = router.find_route(&node(0), &params, &hops).expect("split");
    assert_eq!(route.amount_msat(), 150_000_000);
    assert!(route.paths.len() >= 2 && route.paths.len() <= 4);
    for path in &route.paths {
        assert_eq!(path.check(), Ok(()));
        assert!(path.amount_msat() <= 100_000_000);
    }
    params.amount_msat = 200_000_001;
    assert!(
        router.find_route(&node(0), &params, &hops).is_err(),
        "beyond both together"
    );
}

/// A failure teaches the router: the same amount no longer goes that way.
#[test]
fn a_failed_channel_is_learned_and_avoided() {
    let mut graph = NetworkGraph::new();
    link(&mut graph, 1, 0, 1, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 2, 1, 3, 1_000_000, policy(0, 0, 40));
    link(&mut graph, 3, 1, 2, 1_000_000, policy(5, 0, 40));
    link(&mut graph, 4, 2, 3, 1_000_000, policy(5, 0, 40));
    let mut router = DefaultRouter::new(graph);
    let hops = [first_hop(1, 1, u64::MAX)];
    let params = RouteParameters::new(node(3), 300_000_000, 18);
    let route = router.find_route(&node(0), &params, &hops).expect("a route");
    assert_eq!(scids(&route.paths[0]), [1, 2]);
    router.path_failed(&route.paths[0], Some(ShortChannelId(2)));
    let retried = router.find_route(&node(0), &params, &hops).expect("a route");
    assert_eq!(scids(&retried.paths[0]), [1, 3, 4]);
    // A smaller amount may still use it.
    let small = RouteParameters::new(node(3), 1_000, 18);
    assert_eq!(
        scids(&router.find_route(&node(0), &small, &hops).expect("a route").paths[0]),
        [1, 2]
    );
}

/// The payee reached over our own channel alone, unannounced.
#[test]
fn a_direct_channel_needs_no_graph() {
    let router = DefaultRouter::new(NetworkGraph::new());
    let params = RouteParameters::new(node(5), 42_000, 18);
    let route = router
        .find_route(&node(0), &params, &[first_hop(9, 5, 42_000)])
        .expect("direct");
    assert_eq!(scids(&route.paths[0]), [9]);
    assert_eq!(route.fee_msat(), 0);
    let err = router.find_route(&node(0), &params, &[first_hop(9, 4, 42_000)]);
    assert!(matches!(err, Err(RouteError::NoPath(why)) if why.contains("no public channel")));
}

/// A path whose amounts or expiries grow toward the payee, or that is empty or too long,
/// is refused by `check`; its fee never underflows.
#[test]
fn malformed_paths_are_refused_and_their_fee_saturates() {
    let hop = |node_index: u8, amount_msat: u64, expiry: u32| RouteHop {
        node_id: node(node_index),
        short_channel_id: ShortChannelId(u64::from(node_index)),
        amount_msat,
        expiry_beyond_final_blocks: expiry,
    };
    let growing = Path {
        hops: vec![hop(1, 1_000, 40), hop(2, 2_000, 0)],
    };
    assert!(growing.check().is_err());
    assert_eq!(growing.fee_msat(), 0);
    let later_expiry = Path {
        hops: vec![hop(1, 2_000, 0), hop(2, 1_000, 40)],
    };
    assert!(later_expiry.check().is_err());
    assert!(Path { hops: Vec::new() }.check().is_err());
    let long = Path {
        hops: (0..=MAX_PATH_HOPS as u8).map(|i| hop(i, 1_000, 0)).collect(),
    };
    assert!(long.check().is_err());
    let good = Path {
        hops: vec![hop(1, 2_000, 40), hop(2, 1_000, 0)],
    };
    assert_eq!((good.check(), good.fee_msat()), (Ok(()), 1_000));
}
