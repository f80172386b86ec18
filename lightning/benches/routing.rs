//! Pathfinding on a seeded scale-free graph of 10,000 nodes and about 40,000 channels
//! (preferential attachment, four channels per new node), with varied capacities and
//! policies: the default router's cost per route between random pairs, one core.
//!
//! Run: `cargo bench -p lightning --bench routing` (criterion reports the median).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::routing::{DefaultRouter, FirstHop, NetworkGraph, RouteParameters, Router, RoutingPolicy};
use lightning::wire::ShortChannelId;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const NODES: usize = 10_000;
const CHANNELS_PER_NODE: usize = 4;

fn below(rng: &mut ChaCha20Rng, bound: u64) -> u64 {
    rng.next_u64() % bound
}

/// Each node's channels as (scid, peer, capacity in sat).
type Adjacency = Vec<Vec<(ShortChannelId, usize, u64)>>;

/// The graph, its nodes' ids, and each node's channels.
fn scale_free_graph() -> (NetworkGraph, Vec<PublicKey>, Adjacency) {
    let secp = Secp256k1::new();
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let ids: Vec<PublicKey> = (0..NODES)
        .map(|i| {
            let mut secret = [0u8; 32];
            secret[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            secret[31] = 1;
            PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&secret).expect("key"))
        })
        .collect();
    let mut graph = NetworkGraph::new();
    let mut adjacency = vec![Vec::new(); NODES];
    let mut ends: Vec<usize> = Vec::new();
    let mut next_scid = 1u64;
    let mut add = |graph: &mut NetworkGraph, rng: &mut ChaCha20Rng, a: usize, b: usize, ends: &mut Vec<usize>| {
        let scid = ShortChannelId(next_scid);
        next_scid += 1;
        // 100,000 sat to 16,000,000 sat, log-uniform-ish.
        let capacity_sat = 100_000u64 << below(rng, 8);
        graph.add_channel(scid, ids[a], ids[b], capacity_sat).expect("new");
        for from in [a, b] {
            let policy = RoutingPolicy {
                fee_base_msat: below(rng, 2_000) as u32,
                fee_proportional_millionths: below(rng, 1_000) as u32,
                cltv_expiry_delta: 18 + below(rng, 126) as u16,
                htlc_minimum_msat: 1,
                htlc_maximum_msat: capacity_sat * 1000,
                enabled: below(rng, 20) != 0,
            };
            graph.update_policy(scid, &ids[from], policy).expect("an end");
        }
        adjacency[a].push((scid, b, capacity_sat));
        adjacency[b].push((scid, a, capacity_sat));
        ends.extend([a, b]);
    };
    for i in 1..=CHANNELS_PER_NODE {
        add(&mut graph, &mut rng, i - 1, i, &mut ends);
    }
    for node in CHANNELS_PER_NODE + 1..NODES {
        let mut peers: Vec<usize> = Vec::new();
        while peers.len() < CHANNELS_PER_NODE {
            let peer = ends[below(&mut rng, ends.len() as u64) as usize];
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
        for peer in peers {
            add(&mut graph, &mut rng, node, peer, &mut ends);
        }
    }
    (graph, ids, adjacency)
}

fn routing(c: &mut Criterion) {
    let (graph, ids, adjacency) = scale_free_graph();
    println!(
        "graph: {} nodes, {} channels",
        graph.node_count(),
        graph.channel_count()
    );
    let router = DefaultRouter::new(graph);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    // Payers with their channels as first hops, payees anywhere: 64 pairs, cycled.
    let pairs: Vec<(usize, usize)> = (0..64)
        .map(|_| {
            let payer = below(&mut rng, NODES as u64) as usize;
            let mut payee = below(&mut rng, NODES as u64) as usize;
            if payee == payer {
                payee = (payee + 1) % NODES;
            }
            (payer, payee)
        })
        .collect();
    let mut found = 0;
    let mut group = c.benchmark_group("routing_10000_nodes");
    let mut index = 0;
    group.bench_function("find_route_50000_sat", |b| {
        b.iter(|| {
            let (payer, payee) = pairs[index % pairs.len()];
            index += 1;
            let first_hops: Vec<FirstHop> = adjacency[payer]
                .iter()
                .map(|&(scid, peer, capacity_sat)| FirstHop {
                    short_channel_id: scid,
                    counterparty: ids[peer],
                    outbound_capacity_msat: capacity_sat * 500,
                })
                .collect();
            let params = RouteParameters::new(ids[payee], 50_000_000, 18);
            let route = router.find_route(&ids[payer], &params, &first_hops);
            found += usize::from(route.is_ok());
            black_box(route)
        })
    });
    group.finish();
    assert!(found > 0, "routes are found");
}

criterion_group!(benches, routing);
criterion_main!(benches);
