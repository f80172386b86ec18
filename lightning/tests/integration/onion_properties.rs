//! Onion properties over random routes: every hop of a route of 1 to 27 hops peels its
//! own payload and nothing else, and an error from any hop is attributed to that hop.

use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::onion::{
    build_failure_packet, construct_onion_packet, decode_failure_packet, peel_onion_packet, wrap_failure_packet,
    OnionError, OnionHop, MAX_HOPS,
};
use lightning::sign::{InMemoryNodeSigner, NodeSigner};
use proptest::prelude::*;

fn key(n: u8, salt: u8) -> SecretKey {
    SecretKey::from_slice(&[
        n.max(1),
        salt,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
        7,
    ])
    .expect("valid")
}

/// A route of `sizes.len()` hops whose payloads have the given sizes.
fn route(sizes: &[usize], salt: u8) -> (Vec<InMemoryNodeSigner>, Vec<OnionHop>) {
    let signers: Vec<InMemoryNodeSigner> = (0..sizes.len())
        .map(|i| InMemoryNodeSigner::new(key(i as u8 + 1, salt)))
        .collect();
    let hops = signers
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (s, size))| OnionHop {
            node_id: s.node_id(),
            payload: vec![i as u8; *size],
        })
        .collect();
    (signers, hops)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_hop_peels_its_own_payload(
        // Sizes that fit: each hop takes 1 + size + 32 of the 1300 bytes.
        sizes in (1..=MAX_HOPS).prop_flat_map(|n| proptest::collection::vec(2usize..=(1300 / n - 33).min(200), n)),
        salt in any::<u8>(),
        failing in any::<prop::sample::Index>(),
    ) {
        let secp = Secp256k1::new();
        let (signers, hops) = route(&sizes, salt);
        let session_key = key(200, salt);
        let (mut packet, secrets) = construct_onion_packet(&secp, &session_key, &hops, b"hash").expect("fits");
        let mut peeled_secrets = Vec::new();
        for (i, (signer, hop)) in signers.iter().zip(&hops).enumerate() {
            // Nobody but this hop can peel this layer.
            if let Some(other) = signers.get(i + 1) {
                prop_assert_eq!(peel_onion_packet(&secp, &packet, other, b"hash"), Err(OnionError::HmacMismatch));
            }
            let peeled = peel_onion_packet(&secp, &packet, signer, b"hash").expect("peels");
            prop_assert_eq!(&peeled.payload, &hop.payload);
            prop_assert_eq!(peeled.shared_secret, secrets[i]);
            peeled_secrets.push(peeled.shared_secret);
            match peeled.next_packet {
                Some(next) => packet = next,
                None => prop_assert_eq!(i, hops.len() - 1),
            }
        }
        // An error from any hop, wrapped by every hop back to the origin, is attributed to it.
        let failing = failing.index(hops.len());
        let mut error = build_failure_packet(&peeled_secrets[failing], &[0x20, 0x02]);
        for secret in peeled_secrets[..failing].iter().rev() {
            wrap_failure_packet(secret, &mut error);
        }
        let decoded = decode_failure_packet(&secrets, &error).expect("attributed");
        prop_assert_eq!(decoded.hop_index, failing);
        prop_assert_eq!(decoded.failure_message, vec![0x20, 0x02]);
    }
}

#[test]
fn routes_must_fit() {
    let secp = Secp256k1::new();
    let session_key = key(200, 0);
    let (_, hops) = route(&[2; 28], 0);
    assert_eq!(
        construct_onion_packet(&secp, &session_key, &hops, &[]).map(|_| ()),
        Err(OnionError::BadRouteLength)
    );
    assert_eq!(
        construct_onion_packet(&secp, &session_key, &[], &[]).map(|_| ()),
        Err(OnionError::BadRouteLength)
    );
    // 27 hops of 12-byte payloads fit exactly: 27 * (1 + 12 + 32) = 1215 <= 1300.
    let (_, hops) = route(&[12; 27], 0);
    assert!(construct_onion_packet(&secp, &session_key, &hops, &[]).is_ok());
    let (_, hops) = route(&[400, 400, 400], 0);
    assert_eq!(
        construct_onion_packet(&secp, &session_key, &hops, &[]).map(|_| ()),
        Err(OnionError::PayloadsTooLong)
    );
    let (_, hops) = route(&[1], 0);
    assert_eq!(
        construct_onion_packet(&secp, &session_key, &hops, &[]).map(|_| ()),
        Err(OnionError::PayloadsTooLong)
    );
}

#[test]
fn malformed_packets_are_refused_with_the_right_reason() {
    let secp = Secp256k1::new();
    let (signers, hops) = route(&[10, 10], 3);
    let (packet, _) = construct_onion_packet(&secp, &key(200, 3), &hops, &[]).expect("fits");
    let mut bad_version = packet.clone();
    bad_version.version = 1;
    assert_eq!(
        peel_onion_packet(&secp, &bad_version, &signers[0], &[]),
        Err(OnionError::UnknownVersion(1))
    );
    let mut bad_key = packet.clone();
    bad_key.public_key[0] = 4;
    assert_eq!(
        peel_onion_packet(&secp, &bad_key, &signers[0], &[]),
        Err(OnionError::InvalidPublicKey)
    );
    let _ = PublicKey::from_slice(&packet.public_key).expect("the original key is valid");
}
