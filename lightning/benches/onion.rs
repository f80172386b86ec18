//! Constructing a 20-hop onion, and peeling it at every hop.
//!
//! Run: `cargo bench -p lightning --bench onion`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lightning::bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning::onion::{construct_onion_packet, peel_onion_packet, HopPayload, OnionHop};
use lightning::sign::{InMemoryNodeSigner, NodeSigner};
use lightning::wire::{Encode, ShortChannelId};

fn onion(c: &mut Criterion) {
    let secp = Secp256k1::new();
    let signers: Vec<InMemoryNodeSigner> = (1..=20u8)
        .map(|i| InMemoryNodeSigner::new(SecretKey::from_slice(&[i; 32]).expect("key")))
        .collect();
    let hops: Vec<OnionHop> = signers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let payload = if i == 19 {
                HopPayload::receive(1_000_000, 800_000, [9; 32], 1_000_000)
            } else {
                HopPayload::forward(
                    ShortChannelId(i as u64 + 1),
                    1_000_000 + i as u64,
                    800_000 + 40 * i as u32,
                )
            };
            OnionHop {
                node_id: s.node_id(),
                payload: payload.encode_to_vec(),
            }
        })
        .collect();
    let session_key = SecretKey::from_slice(&[42; 32]).expect("key");
    let payment_hash = [7u8; 32];

    let mut group = c.benchmark_group("onion_20_hops");
    group.bench_function("construct", |b| {
        b.iter(|| construct_onion_packet(&secp, black_box(&session_key), &hops, &payment_hash).expect("fits"))
    });
    let (packet, _) = construct_onion_packet(&secp, &session_key, &hops, &payment_hash).expect("fits");
    group.bench_function("peel_every_hop", |b| {
        b.iter(|| {
            let mut packet = packet.clone();
            for signer in &signers {
                let peeled = peel_onion_packet(&secp, &packet, signer, &payment_hash).expect("peels");
                match peeled.next_packet {
                    Some(next) => packet = next,
                    None => return peeled.payload,
                }
            }
            unreachable!("the last hop has no next packet")
        })
    });
    group.finish();
}

criterion_group!(benches, onion);
criterion_main!(benches);
