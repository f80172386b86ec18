//! Error onions (BOLT 4 "Returning Errors"): the failing hop builds an HMAC'd, padded,
//! obfuscated return packet; every hop on the way back obfuscates it again; the origin
//! peels the layers with each hop's shared secret and learns which hop failed.

use alloc::vec::Vec;

use super::crypto::{constant_time_eq, generate_key, hmac_parts, xor_stream, AMMAG, UM};
use super::packet::MAX_HOPS;

/// The failure is about the onion itself (`update_fail_malformed_htlc`).
pub const BADONION: u16 = 0x8000;
/// The failure is permanent.
pub const PERM: u16 = 0x4000;
/// The failure is about the node, not a channel.
pub const NODE: u16 = 0x2000;
/// A new `channel_update` is enclosed.
pub const UPDATE: u16 = 0x1000;

/// `temporary_node_failure`.
pub const TEMPORARY_NODE_FAILURE: u16 = NODE | 2;
/// `permanent_node_failure`.
pub const PERMANENT_NODE_FAILURE: u16 = PERM | NODE | 2;
/// `invalid_onion_version`.
pub const INVALID_ONION_VERSION: u16 = BADONION | PERM | 4;
/// `invalid_onion_hmac`.
pub const INVALID_ONION_HMAC: u16 = BADONION | PERM | 5;
/// `invalid_onion_key`.
pub const INVALID_ONION_KEY: u16 = BADONION | PERM | 6;
/// `temporary_channel_failure`.
pub const TEMPORARY_CHANNEL_FAILURE: u16 = UPDATE | 7;
/// `unknown_next_peer`.
pub const UNKNOWN_NEXT_PEER: u16 = PERM | 10;
/// `permanent_channel_failure`.
pub const PERMANENT_CHANNEL_FAILURE: u16 = PERM | 8;
/// `amount_below_minimum`.
pub const AMOUNT_BELOW_MINIMUM: u16 = UPDATE | 11;
/// `fee_insufficient`.
pub const FEE_INSUFFICIENT: u16 = UPDATE | 12;
/// `incorrect_cltv_expiry`.
pub const INCORRECT_CLTV_EXPIRY: u16 = UPDATE | 13;
/// `expiry_too_soon`.
pub const EXPIRY_TOO_SOON: u16 = UPDATE | 14;
/// `channel_disabled`.
pub const CHANNEL_DISABLED: u16 = UPDATE | 20;
/// `expiry_too_far`.
pub const EXPIRY_TOO_FAR: u16 = 21;
/// `incorrect_or_unknown_payment_details`.
pub const INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: u16 = PERM | 15;
/// `final_incorrect_cltv_expiry`.
pub const FINAL_INCORRECT_CLTV_EXPIRY: u16 = 18;
/// `final_incorrect_htlc_amount`.
pub const FINAL_INCORRECT_HTLC_AMOUNT: u16 = 19;
/// `invalid_onion_payload`.
pub const INVALID_ONION_PAYLOAD: u16 = PERM | 22;
/// `mpp_timeout`.
pub const MPP_TIMEOUT: u16 = 23;

/// Failure message plus padding: BOLT 4 asks for at least, and ideally exactly, 256.
const MIN_FAILURE_AND_PAD_LEN: usize = 256;

/// The erring hop's return packet: `hmac || failure_len || failuremsg || pad_len || pad`,
/// HMAC'd with its `um` key, then obfuscated with its `ammag` stream. Padded so message
/// and padding make 256 bytes, as BOLT 4 recommends.
pub fn build_failure_packet(shared_secret: &[u8; 32], failure_message: &[u8]) -> Vec<u8> {
    build_padded_failure_packet(shared_secret, failure_message, MIN_FAILURE_AND_PAD_LEN)
}

/// [`build_failure_packet`] with message and padding making at least
/// `failure_and_pad_len` bytes (at least 256).
pub fn build_padded_failure_packet(
    shared_secret: &[u8; 32],
    failure_message: &[u8],
    failure_and_pad_len: usize,
) -> Vec<u8> {
    assert!(
        failure_message.len() <= usize::from(u16::MAX),
        "failure message too long"
    );
    let pad_len = failure_and_pad_len
        .max(MIN_FAILURE_AND_PAD_LEN)
        .saturating_sub(failure_message.len());
    assert!(pad_len <= usize::from(u16::MAX), "padding too long");
    let mut data = Vec::with_capacity(32 + 4 + failure_message.len() + pad_len);
    data.extend_from_slice(&[0u8; 32]);
    data.extend_from_slice(&(failure_message.len() as u16).to_be_bytes());
    data.extend_from_slice(failure_message);
    data.extend_from_slice(&(pad_len as u16).to_be_bytes());
    data.resize(data.len() + pad_len, 0);
    let hmac = hmac_parts(&generate_key(UM, shared_secret), &[&data[32..]]);
    data[..32].copy_from_slice(&hmac);
    wrap_failure_packet(shared_secret, &mut data);
    data
}

/// Obfuscates a return packet with this hop's `ammag` stream (each hop on the way back).
pub fn wrap_failure_packet(shared_secret: &[u8; 32], packet: &mut [u8]) {
    xor_stream(&generate_key(AMMAG, shared_secret), 0, packet);
}

/// A failure the origin attributed to a hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedFailure {
    /// The index in the route of the hop that failed (0 is the first hop).
    pub hop_index: usize,
    /// The failure message (2-byte failure code, then its data).
    pub failure_message: Vec<u8>,
}

impl DecodedFailure {
    /// The failure code, if the message has one.
    pub fn failure_code(&self) -> Option<u16> {
        let bytes = self.failure_message.get(..2)?;
        Some(u16::from_be_bytes([bytes[0], bytes[1]]))
    }
}

/// The origin's view: peels the return packet with each hop's shared secret (first hop
/// first) until a hop's HMAC verifies. `None` if none does (the packet was corrupted on
/// the way; the payer cannot attribute it). Always does [`MAX_HOPS`] rounds, so the time
/// taken does not reveal the failing hop's position.
pub fn decode_failure_packet(route_shared_secrets: &[[u8; 32]], packet: &[u8]) -> Option<DecodedFailure> {
    let mut packet = packet.to_vec();
    let mut found = None;
    for round in 0..MAX_HOPS.max(route_shared_secrets.len()) {
        let secret = route_shared_secrets.get(round).copied().unwrap_or([0; 32]);
        wrap_failure_packet(&secret, &mut packet);
        if found.is_some() || round >= route_shared_secrets.len() || packet.len() < 32 + 4 {
            continue;
        }
        let mut hmac = [0u8; 32];
        hmac.copy_from_slice(&packet[..32]);
        let expected = hmac_parts(&generate_key(UM, &secret), &[&packet[32..]]);
        if !constant_time_eq(&hmac, &expected) {
            continue;
        }
        let failure_len = usize::from(u16::from_be_bytes([packet[32], packet[33]]));
        if let Some(failure_message) = packet.get(34..34 + failure_len) {
            found = Some(DecodedFailure {
                hop_index: round,
                failure_message: failure_message.to_vec(),
            });
        }
    }
    found
}

#[cfg(test)]
mod code_tests {
    use super::*;

    /// Failure codes are wire values: each as BOLT 4 numbers it.
    #[test]
    fn failure_codes_have_their_bolt4_values() {
        let codes = [
            (TEMPORARY_NODE_FAILURE, 0x2002),
            (PERMANENT_NODE_FAILURE, 0x6002),
            (INVALID_ONION_VERSION, 0xc004),
            (INVALID_ONION_HMAC, 0xc005),
            (INVALID_ONION_KEY, 0xc006),
            (TEMPORARY_CHANNEL_FAILURE, 0x1007),
            (UNKNOWN_NEXT_PEER, 0x400a),
            (INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, 0x400f),
            (FINAL_INCORRECT_CLTV_EXPIRY, 18),
            (FINAL_INCORRECT_HTLC_AMOUNT, 19),
            (INVALID_ONION_PAYLOAD, 0x4016),
            (MPP_TIMEOUT, 23),
        ];
        for (code, expected) in codes {
            assert_eq!(code, expected);
        }
    }

    /// The HMAC, not the length, proves where a return packet came from: one its erring
    /// hop left unpadded (BOLT 4 says it must pad, but says nothing against reading one
    /// that did not) is still attributed, however short.
    #[test]
    fn an_unpadded_packet_is_still_attributed() {
        let route = [[7u8; 32], [8; 32]];
        let failure_message = INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.to_be_bytes();
        let mut packet = alloc::vec![0u8; 32];
        packet.extend_from_slice(&(failure_message.len() as u16).to_be_bytes());
        packet.extend_from_slice(&failure_message);
        packet.extend_from_slice(&0u16.to_be_bytes());
        let hmac = hmac_parts(&generate_key(UM, &route[1]), &[&packet[32..]]);
        packet[..32].copy_from_slice(&hmac);
        wrap_failure_packet(&route[1], &mut packet);
        wrap_failure_packet(&route[0], &mut packet);
        assert_eq!(packet.len(), 38);
        let decoded = decode_failure_packet(&route, &packet).expect("attributed");
        assert_eq!(decoded.hop_index, 1);
        assert_eq!(decoded.failure_code(), Some(INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS));
    }

    /// The shortest packet that holds an HMAC, an empty failure message and a zero
    /// padding length (36 bytes) is still attributed.
    #[test]
    fn the_shortest_whole_packet_is_attributed() {
        let route = [[7u8; 32]];
        let mut packet = alloc::vec![0u8; 36];
        let hmac = hmac_parts(&generate_key(UM, &route[0]), &[&packet[32..]]);
        packet[..32].copy_from_slice(&hmac);
        wrap_failure_packet(&route[0], &mut packet);
        let decoded = decode_failure_packet(&route, &packet).expect("attributed");
        assert_eq!((decoded.hop_index, decoded.failure_code()), (0, None));
    }

    /// A return packet too short to hold an HMAC and a length attributes to no one.
    #[test]
    fn short_packets_decode_to_nothing() {
        let route = [[7u8; 32], [8; 32]];
        for len in [0, 1, 31, 32, 35] {
            assert!(
                decode_failure_packet(&route, &alloc::vec![0xab; len]).is_none(),
                "{len} bytes"
            );
        }
    }
}
