//! BOLT 4: hop payloads, peeling, error onions.

use lightning::onion::errors::decode_failure_packet;
use lightning::onion::packet::peel_onion_packet;
use lightning::onion::payload::HopPayload;
use lightning::wire::{Decode, Encode, OnionPacket};

use super::{secp, shared_keys};

/// A hop payload (a TLV stream) round-trips when it decodes.
pub fn hop_payload(data: &[u8]) {
    let Ok(payload) = HopPayload::decode_exact(data) else {
        return;
    };
    let bytes = payload.encode_to_vec();
    assert_eq!(HopPayload::decode_exact(&bytes), Ok(payload));
}

/// Any 1366-byte onion (version, key, payloads, HMAC) and associated data: peeling gives
/// a typed error or a payload, never a panic.
pub fn onion_peel(data: &[u8]) {
    let Ok(packet) = OnionPacket::decode_exact(data.get(..1366).unwrap_or(data)) else {
        return;
    };
    let associated_data = data.get(1366..).unwrap_or_default();
    if let Ok(peeled) = peel_onion_packet(secp(), &packet, shared_keys(3), associated_data) {
        // A peeled payload is bounded by the packet it came from.
        assert!(peeled.payload.len() <= 1300);
    }
}

/// An error onion decoded against up to 27 route secrets taken from the input: an
/// attribution or nothing, never a panic, and never a hop beyond the route.
pub fn onion_error(data: &[u8]) {
    let Some((&hops, rest)) = data.split_first() else {
        return;
    };
    let hops = usize::from(hops % 28);
    let secrets_len = hops * 32;
    if rest.len() < secrets_len {
        return;
    }
    let (secrets, packet) = rest.split_at(secrets_len);
    let route: Vec<[u8; 32]> = secrets
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunks"))
        .collect();
    if let Some(decoded) = decode_failure_packet(&route, packet) {
        assert!(decoded.hop_index < route.len(), "{decoded:?}");
    }
}
