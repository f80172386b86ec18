//! BOLT 4 test vectors: `onion-test.json` (construction and peeling, byte for byte),
//! `onion-error-test.json` and the "Returning Errors" trace (error onions).
//!
//! The vectors are copies from the Lightning specification (CC-BY 4.0); see
//! `vectors/SOURCE.md`.

use alloc::string::String;
use alloc::vec::Vec;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

use super::crypto::{generate_key, hmac_parts, xor_stream, AMMAG, MU, RHO, UM};
use super::*;
use crate::sign::InMemoryNodeSigner;
use crate::wire::{BigSize, Decode, Encode, OnionPacket, Reader, ShortChannelId};

const ONION_TEST: &str = include_str!("vectors/onion-test.json");
const ONION_ERROR_TEST: &str = include_str!("vectors/onion-error-test.json");
const RETURNING_ERRORS: &str = include_str!("vectors/returning-errors.txt");

fn hex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| alloc::format!("{b:02x}")).collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("vector JSON")
}

fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key}"))
}

fn secret(s: &str) -> SecretKey {
    SecretKey::from_slice(&hex(s)).expect("secret")
}

/// The route of `onion-test.json`: node ids and payloads with their length prefix removed.
fn onion_test_route() -> (serde_json::Value, Vec<OnionHop>) {
    let v = json(ONION_TEST);
    let hops = v["generate"]["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|hop| {
            let prefixed = hex(str_of(hop, "payload"));
            let mut r = Reader::new(&prefixed);
            let len = BigSize::decode(&mut r).expect("length prefix").0 as usize;
            let payload = r.take(len).expect("payload").to_vec();
            assert!(r.is_empty(), "the prefix covers the whole payload");
            OnionHop {
                node_id: PublicKey::from_slice(&hex(str_of(hop, "pubkey"))).expect("pubkey"),
                payload,
            }
        })
        .collect();
    (v, hops)
}

#[test]
fn bolt4_onion_construction() {
    let secp = Secp256k1::new();
    let (v, hops) = onion_test_route();
    let session_key = secret(str_of(&v["generate"], "session_key"));
    let associated_data = hex(str_of(&v["generate"], "associated_data"));
    let (packet, secrets) = construct_onion_packet(&secp, &session_key, &hops, &associated_data).expect("builds");
    assert_eq!(secrets.len(), 5);
    assert_eq!(to_hex(&packet.encode_to_vec()), str_of(&v, "onion"));
}

#[test]
fn bolt4_onion_peeling() {
    let secp = Secp256k1::new();
    let (v, hops) = onion_test_route();
    let associated_data = hex(str_of(&v["generate"], "associated_data"));
    let mut packet = OnionPacket::decode_exact(&hex(str_of(&v, "onion"))).expect("packet");
    let keys = v["decode"].as_array().expect("decode keys");
    assert_eq!(keys.len(), hops.len());
    for (i, (key, hop)) in keys.iter().zip(&hops).enumerate() {
        let signer = InMemoryNodeSigner::new(secret(key.as_str().expect("key")));
        assert_eq!(crate::sign::NodeSigner::node_id(&signer), hop.node_id);
        // A flipped bit anywhere fails the HMAC check.
        let mut tampered = packet.clone();
        tampered.hop_payloads[700] ^= 1;
        assert_eq!(
            peel_onion_packet(&secp, &tampered, &signer, &associated_data),
            Err(OnionError::HmacMismatch)
        );
        assert_eq!(
            peel_onion_packet(&secp, &packet, &signer, b"other data").map(|_| ()),
            Err(OnionError::HmacMismatch)
        );
        let peeled = peel_onion_packet(&secp, &packet, &signer, &associated_data).expect("peels");
        assert_eq!(peeled.payload, hop.payload, "hop {i}");
        match peeled.next_packet {
            Some(next) => {
                assert!(i < hops.len() - 1, "hop {i} is not the last");
                packet = next;
            }
            None => assert_eq!(i, hops.len() - 1, "only the last hop has no next packet"),
        }
    }
}

#[test]
fn bolt4_error_onion() {
    let secp = Secp256k1::new();
    let v = json(ONION_ERROR_TEST);
    let hops = v["generate"]["hops"].as_array().expect("hops");
    let session_key = secret(str_of(&v["generate"], "session_key"));
    let node_ids: Vec<PublicKey> = hops
        .iter()
        .map(|h| PublicKey::from_slice(&hex(str_of(h, "pubkey"))).expect("pubkey"))
        .collect();
    let secrets = route_shared_secrets(&secp, &session_key, &node_ids).expect("secrets");
    // The vector lists the hops in route order; the last is the erring node.
    let secrets_by_vector = secrets.clone();
    for (hop, secret) in hops.iter().zip(&secrets_by_vector) {
        assert_eq!(to_hex(secret), str_of(hop, "hop_shared_secret"));
        assert_eq!(to_hex(&generate_key(AMMAG, secret)), str_of(hop, "ammag_key"));
    }
    let erring = &hops[4];
    assert_eq!(
        to_hex(&generate_key(UM, &secrets_by_vector[4])),
        str_of(erring, "um_key")
    );

    let failure_message = hex(str_of(&v["generate"], "failure_message"));
    let mut packet = build_failure_packet(&secrets_by_vector[4], &failure_message);
    // Before obfuscation the packet is the HMAC and the vector's payload.
    let mut clear = packet.clone();
    wrap_failure_packet(&secrets_by_vector[4], &mut clear);
    assert_eq!(to_hex(&clear[32..]), str_of(erring, "payload"));
    for secret in secrets_by_vector[..4].iter().rev() {
        wrap_failure_packet(secret, &mut packet);
    }
    assert_eq!(to_hex(&packet), str_of(&v, "errorpacket"));

    let decoded = decode_failure_packet(&secrets, &packet).expect("attributed");
    // Route order: the erring node is the last hop.
    assert_eq!(decoded.hop_index, 4);
    assert_eq!(decoded.failure_message, failure_message);
    assert_eq!(decoded.failure_code(), Some(errors::TEMPORARY_NODE_FAILURE));
    // A corrupted packet cannot be attributed.
    let mut corrupted = packet.clone();
    corrupted[100] ^= 1;
    assert_eq!(decode_failure_packet(&secrets, &corrupted), None);
}

/// A `key = value` line of the trace, every occurrence in order.
fn trace_values(key: &str) -> Vec<String> {
    RETURNING_ERRORS
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix(key)?.trim_start();
            let value = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))?;
            Some(String::from(value.trim()))
        })
        .collect()
}

#[test]
fn bolt4_returning_errors_trace() {
    let secp = Secp256k1::new();
    let pubkeys: Vec<PublicKey> = (0..5)
        .map(|i| {
            let value = &trace_values(&alloc::format!("pubkey[{i}]"))[0];
            PublicKey::from_slice(&hex(value.trim_start_matches("0x"))).expect("pubkey")
        })
        .collect();
    let session_key = secret(trace_values("sessionkey")[0].trim_start_matches("0x"));
    let secrets = route_shared_secrets(&secp, &session_key, &pubkeys).expect("secrets");

    // The trace's encoded message carries its padding: 320 bytes of message (code,
    // htlc_msat, height and a 300-byte TLV), then pad_len and 704 zeros, 1024 in all.
    let encoded = hex(&trace_values("encoded_failure_message")[0]);
    let (failure_message, padding) = encoded.split_at(320);
    assert_eq!(&padding[..2], &704u16.to_be_bytes());
    assert!(padding[2..].iter().all(|b| *b == 0) && padding.len() == 706);
    // The trace's shared secrets run from node 4 back to node 0 (the first entry is the
    // erring node's, repeated for its own obfuscation).
    let trace_secrets = trace_values("shared_secret");
    assert_eq!(trace_secrets[0], to_hex(&secrets[4]));
    assert_eq!(trace_values("um_key")[0], to_hex(&generate_key(UM, &secrets[4])));

    let mut packet = build_padded_failure_packet(&secrets[4], failure_message, 1024);
    let mut clear = packet.clone();
    wrap_failure_packet(&secrets[4], &mut clear);
    assert_eq!(to_hex(&clear), trace_values("raw_error_packet")[0]);

    let ammag_keys = trace_values("ammag_key");
    for node in (0..5).rev() {
        if node < 4 {
            wrap_failure_packet(&secrets[node], &mut packet);
        }
        let step = 4 - node;
        assert_eq!(trace_secrets[step + 1], to_hex(&secrets[node]), "node {node}");
        assert_eq!(
            ammag_keys[step],
            to_hex(&generate_key(AMMAG, &secrets[node])),
            "node {node}"
        );
        let expected = &trace_values(&alloc::format!("error packet for node {node}"))[0];
        assert_eq!(&to_hex(&packet), expected, "error packet for node {node}");
    }
    let decoded = decode_failure_packet(&secrets, &packet).expect("attributed");
    assert_eq!(decoded.hop_index, 4);
    assert_eq!(
        decoded.failure_code(),
        Some(errors::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS)
    );
}

#[test]
fn bolt4_payload_round_trip() {
    let (_, hops) = onion_test_route();
    // Every payload of the vector decodes (the third carries an unknown odd record).
    for hop in &hops {
        let decoded = HopPayload::decode_exact(&hop.payload);
        assert!(decoded.is_ok(), "{decoded:?}");
        assert_eq!(decoded.map(|p| p.encode_to_vec()), Ok(hop.payload.clone()));
    }
    let payload = HopPayload::receive(1000, 800_000, [7; 32], 1000);
    assert_eq!(HopPayload::decode_exact(&payload.encode_to_vec()), Ok(payload));
}

/// `payment_data` is the 32-byte secret then a truncated `total_msat`: 32 bytes (a total
/// of zero, truncated to nothing) is the shortest valid value, 31 bytes is too short.
#[test]
fn bolt4_payment_data_needs_its_32_byte_secret() {
    use crate::wire::TlvValue;
    let zero_total = PaymentData::decode_value(&[7; 32]);
    assert_eq!(
        zero_total,
        Ok(PaymentData {
            payment_secret: [7; 32],
            total_msat: 0
        })
    );
    assert!(PaymentData::decode_value(&[7; 31]).is_err());
    let mut with_total = [7u8; 34].to_vec();
    with_total[32..].copy_from_slice(&[0x01, 0x02]);
    assert_eq!(PaymentData::decode_value(&with_total).map(|d| d.total_msat), Ok(0x0102));
}

/// The vector's plain forwarding hops are what `HopPayload::forward` builds.
#[test]
fn bolt4_forward_payloads_match_the_vector() {
    let (_, hops) = onion_test_route();
    let forwards = [(0, 1, 15_000, 1_500), (2, 3, 12_500, 1_250), (3, 4, 10_000, 1_000)];
    for (hop, short_channel_id, amount_msat, cltv) in forwards {
        let payload = HopPayload::forward(ShortChannelId(short_channel_id), amount_msat, cltv);
        assert_eq!(payload.encode_to_vec(), hops[hop].payload, "hop {hop}");
    }
}

/// An onion whose sender (who knows the shared secret, so the HMAC verifies) claims a
/// payload longer than the packet can hold beside the next HMAC. `fits` is the largest
/// length that fits: 1300 bytes less the 32-byte HMAC and the 3-byte length prefix.
fn onion_claiming_payload_of(payload_len: usize) -> (OnionPacket, InMemoryNodeSigner) {
    let secp = Secp256k1::new();
    let node = InMemoryNodeSigner::new(SecretKey::from_slice(&[0x41; 32]).expect("key"));
    let session_key = SecretKey::from_slice(&[0x42; 32]).expect("key");
    let node_id = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[0x41; 32]).expect("key"));
    let shared_secret = bitcoin::secp256k1::ecdh::SharedSecret::new(&node_id, &session_key).secret_bytes();
    let mut hop_payloads = [0x5a_u8; 1300];
    let mut prefix = Vec::new();
    BigSize(payload_len as u64).encode(&mut prefix);
    hop_payloads[..prefix.len()].copy_from_slice(&prefix);
    xor_stream(&generate_key(RHO, &shared_secret), 0, &mut hop_payloads);
    let hmac = hmac_parts(&generate_key(MU, &shared_secret), &[&hop_payloads, &[7; 32]]);
    let packet = OnionPacket {
        version: 0,
        public_key: PublicKey::from_secret_key(&secp, &session_key).serialize(),
        hop_payloads,
        hmac,
    };
    (packet, node)
}

/// A payload that leaves no room for the next HMAC is refused (it used to be read into
/// the stream's extension and the next packet sliced past its end: a panic a sender
/// could trigger). The largest that fits is read.
#[test]
fn bolt4_a_payload_longer_than_the_packet_is_refused() {
    let secp = Secp256k1::new();
    let fits = 1300 - 32 - 3;
    for payload_len in [fits + 1, fits + 35, 1300, 1301, 2600] {
        let (packet, node) = onion_claiming_payload_of(payload_len);
        assert_eq!(
            peel_onion_packet(&secp, &packet, &node, &[7; 32]).map(|p| p.payload.len()),
            Err(OnionError::InvalidPayload),
            "payload of {payload_len} bytes"
        );
    }
    let (packet, node) = onion_claiming_payload_of(fits);
    let peeled = peel_onion_packet(&secp, &packet, &node, &[7; 32]).expect("fits");
    assert_eq!(peeled.payload.len(), fits);
}

/// A route whose payloads fill the 1,300 bytes exactly is built, and its payload peels;
/// one byte more is refused when building.
#[test]
fn bolt4_payloads_filling_the_packet_exactly() {
    let secp = Secp256k1::new();
    let node_secret = SecretKey::from_slice(&[0x41; 32]).expect("key");
    let node = InMemoryNodeSigner::new(node_secret);
    let session_key = SecretKey::from_slice(&[0x42; 32]).expect("key");
    let hop = |payload_len: usize| OnionHop {
        node_id: PublicKey::from_secret_key(&secp, &node_secret),
        payload: alloc::vec![0x11; payload_len],
    };
    // 3-byte length prefix + 1,265 bytes + 32-byte HMAC = 1,300.
    let (packet, _) = construct_onion_packet(&secp, &session_key, &[hop(1265)], &[7; 32]).expect("fits");
    let peeled = peel_onion_packet(&secp, &packet, &node, &[7; 32]).expect("peels");
    assert_eq!(peeled.payload.len(), 1265);
    assert_eq!(
        construct_onion_packet(&secp, &session_key, &[hop(1266)], &[7; 32]).map(|_| ()),
        Err(OnionError::PayloadsTooLong)
    );
}
