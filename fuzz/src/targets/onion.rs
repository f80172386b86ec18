//! BOLT 4: hop payloads, peeling, error onions.

use lightning::bitcoin::secp256k1::{PublicKey, SecretKey};
use lightning::onion::crypto::{generate_key, hmac_parts, xor_stream, MU, RHO};
use lightning::onion::errors::decode_failure_packet;
use lightning::onion::packet::peel_onion_packet;
use lightning::onion::payload::HopPayload;
use lightning::sign::NodeSigner;
use lightning::wire::{BigSize, Decode, Encode, OnionPacket, Reader};

use super::{secp, shared_keys};

/// A hop payload (a TLV stream) round-trips when it decodes.
pub fn hop_payload(data: &[u8]) {
    let Ok(payload) = HopPayload::decode_exact(data) else {
        return;
    };
    let bytes = payload.encode_to_vec();
    assert_eq!(HopPayload::decode_exact(&bytes), Ok(payload));
}

/// Peeling gives a typed error or a payload, never a panic. A first byte that is even
/// takes the rest as a raw 1366-byte onion (version, key, payloads, HMAC) and associated
/// data; one that is odd makes the fuzzer the sender, who knows the shared secret: the
/// rest is the plaintext of the hop payloads (then associated data), which the target
/// encrypts and authenticates, so every input gets past the HMAC check to the payload
/// parsing behind it (where a too-long payload once cut the next packet past its end).
pub fn onion_peel(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let node = shared_keys(3);
    let (packet, associated_data) = if mode % 2 == 0 {
        let Ok(packet) = OnionPacket::decode_exact(data.get(..1366).unwrap_or(data)) else {
            return;
        };
        (packet, data.get(1366..).unwrap_or_default())
    } else {
        let session_key = SecretKey::from_slice(&[0x42; 32]).expect("key");
        let session_public = PublicKey::from_secret_key(secp(), &session_key);
        let Ok(shared) = node.ecdh(&session_public) else {
            return;
        };
        let shared_secret = shared.secret_bytes();
        let split = data.len().min(1300);
        let mut hop_payloads = [0u8; 1300];
        hop_payloads[..split].copy_from_slice(&data[..split]);
        let associated_data = &data[split..];
        xor_stream(&generate_key(RHO, &shared_secret), 0, &mut hop_payloads);
        let hmac = hmac_parts(&generate_key(MU, &shared_secret), &[&hop_payloads, associated_data]);
        let packet = OnionPacket {
            version: 0,
            public_key: session_public.serialize(),
            hop_payloads,
            hmac,
        };
        (packet, associated_data)
    };
    if let Ok(peeled) = peel_onion_packet(secp(), &packet, node, associated_data) {
        // A peeled payload, its length prefix and the next HMAC fit in the packet.
        assert!(peeled.payload.len() < 1300 - 32);
        if mode % 2 == 1 {
            assert_eq!(peeled.payload, payload_of(&data[..data.len().min(1300)]));
        }
    }
}

/// The payload a sender's plaintext carries: its length prefix's worth of bytes after it.
fn payload_of(plaintext: &[u8]) -> Vec<u8> {
    let mut padded = plaintext.to_vec();
    padded.resize(1300, 0);
    let mut r = Reader::new(&padded);
    let len = BigSize::decode(&mut r).expect("peeled, so the prefix read").0 as usize;
    r.take(len).expect("peeled, so the payload fit").to_vec()
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
