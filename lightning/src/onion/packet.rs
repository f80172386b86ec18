//! Sphinx onion packets (BOLT 4): construction by the sender for a route of up to 27
//! hops with variable-length payloads, and peeling by each hop with the HMAC check.

use alloc::vec::Vec;
use core::fmt;

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};

use super::crypto::{constant_time_eq, generate_key, hmac_parts, xor_stream, MU, PAD, RHO};
use crate::sign::{NodeSigner, SignerError};
use crate::wire::bigsize::BigSize;
use crate::wire::types::ONION_HOP_PAYLOADS_LEN;
use crate::wire::{Decode, Encode, OnionPacket, Reader};

/// The most hops a route may have: 1300 bytes of payloads fit 27 of the smallest TLV
/// payloads a forwarding hop needs, and senders keep the legacy limit.
pub const MAX_HOPS: usize = 27;
const HMAC_LEN: usize = 32;

/// Why an onion could not be built or peeled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnionError {
    /// No hops, or more than [`MAX_HOPS`].
    BadRouteLength,
    /// The payloads do not fit in 1300 bytes, or one is shorter than 2 bytes.
    PayloadsTooLong,
    /// A key derivation hit an invalid scalar (negligible odds).
    KeyDerivation,
    /// The packet's version is not 0 (`invalid_onion_version`).
    UnknownVersion(u8),
    /// The packet's public key is invalid (`invalid_onion_key`).
    InvalidPublicKey,
    /// The packet's HMAC does not verify (`invalid_onion_hmac`).
    HmacMismatch,
    /// The decrypted payload length is malformed or overruns the packet.
    InvalidPayload,
    /// The node signer could not do ECDH.
    Signer(SignerError),
}

impl fmt::Display for OnionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnionError::BadRouteLength => write!(f, "a route has 1 to {MAX_HOPS} hops"),
            OnionError::PayloadsTooLong => f.write_str("hop payloads do not fit the onion"),
            OnionError::KeyDerivation => f.write_str("onion key derivation failed"),
            OnionError::UnknownVersion(v) => write!(f, "unknown onion version {v}"),
            OnionError::InvalidPublicKey => f.write_str("invalid onion public key"),
            OnionError::HmacMismatch => f.write_str("onion HMAC mismatch"),
            OnionError::InvalidPayload => f.write_str("malformed onion payload"),
            OnionError::Signer(e) => write!(f, "onion: {e}"),
        }
    }
}

/// One hop of a route: its node id and its payload (a TLV stream, without the length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnionHop {
    /// The hop's node id.
    pub node_id: PublicKey,
    /// The hop's payload.
    pub payload: Vec<u8>,
}

/// The blinding factor `SHA256(ephemeral_public_key || shared_secret)`.
fn blinding_factor(ephemeral_public: &PublicKey, shared_secret: &[u8; 32]) -> Result<Scalar, OnionError> {
    let mut engine = sha256::Hash::engine();
    engine.input(&ephemeral_public.serialize());
    engine.input(shared_secret);
    Scalar::from_be_bytes(sha256::Hash::from_engine(engine).to_byte_array()).map_err(|_| OnionError::KeyDerivation)
}

/// The shared secret with each hop, from the sender's side: ECDH of the hop's node id
/// with the ephemeral key, blinded hop by hop.
pub fn route_shared_secrets<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    node_ids: &[PublicKey],
) -> Result<Vec<[u8; 32]>, OnionError> {
    let mut ephemeral = *session_key;
    let mut secrets = Vec::with_capacity(node_ids.len());
    for node_id in node_ids {
        let shared = SharedSecret::new(node_id, &ephemeral).secret_bytes();
        let ephemeral_public = PublicKey::from_secret_key(secp, &ephemeral);
        let factor = blinding_factor(&ephemeral_public, &shared)?;
        ephemeral = ephemeral.mul_tweak(&factor).map_err(|_| OnionError::KeyDerivation)?;
        secrets.push(shared);
    }
    Ok(secrets)
}

fn shift_size(payload_len: usize) -> usize {
    BigSize::encoded_len(payload_len as u64) + payload_len + HMAC_LEN
}

/// The filler: what the last hop's payloads end with after every earlier hop has shifted
/// and obfuscated them, so the sender can compute each HMAC over it.
fn generate_filler(shared_secrets: &[[u8; 32]], shifts: &[usize]) -> Vec<u8> {
    let mut filler: Vec<u8> = Vec::new();
    // The last hop does not forward, so it adds no filler.
    for (secret, shift) in shared_secrets.iter().zip(shifts).take(shifts.len().saturating_sub(1)) {
        let start = (ONION_HOP_PAYLOADS_LEN - filler.len()) as u64;
        filler.resize(filler.len() + shift, 0);
        xor_stream(&generate_key(RHO, secret), start, &mut filler);
    }
    filler
}

/// Builds the onion for `hops` (first hop first) with `session_key`, committing to
/// `associated_data` (the payment hash, for payments). Returns the packet and the shared
/// secret with each hop, which the sender keeps to read errors.
pub fn construct_onion_packet<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[OnionHop],
    associated_data: &[u8],
) -> Result<(OnionPacket, Vec<[u8; 32]>), OnionError> {
    if hops.is_empty() || hops.len() > MAX_HOPS {
        return Err(OnionError::BadRouteLength);
    }
    let shifts: Vec<usize> = hops.iter().map(|h| shift_size(h.payload.len())).collect();
    if hops.iter().any(|h| h.payload.len() < 2) || shifts.iter().sum::<usize>() > ONION_HOP_PAYLOADS_LEN {
        return Err(OnionError::PayloadsTooLong);
    }
    let node_ids: Vec<PublicKey> = hops.iter().map(|h| h.node_id).collect();
    let secrets = route_shared_secrets(secp, session_key, &node_ids)?;
    let filler = generate_filler(&secrets, &shifts);

    // Start from pseudo-random bytes so the unused tail reveals nothing.
    let mut payloads = [0u8; ONION_HOP_PAYLOADS_LEN];
    xor_stream(&generate_key(PAD, &session_key.secret_bytes()), 0, &mut payloads);
    let mut hmac = [0u8; HMAC_LEN];
    let mut frame = Vec::with_capacity(ONION_HOP_PAYLOADS_LEN);
    for (i, hop) in hops.iter().enumerate().rev() {
        let shift = shifts[i];
        payloads.copy_within(..ONION_HOP_PAYLOADS_LEN - shift, shift);
        frame.clear();
        BigSize(hop.payload.len() as u64).encode(&mut frame);
        frame.extend_from_slice(&hop.payload);
        frame.extend_from_slice(&hmac);
        payloads[..shift].copy_from_slice(&frame);
        xor_stream(&generate_key(RHO, &secrets[i]), 0, &mut payloads);
        if i == hops.len() - 1 {
            payloads[ONION_HOP_PAYLOADS_LEN - filler.len()..].copy_from_slice(&filler);
        }
        hmac = hmac_parts(&generate_key(MU, &secrets[i]), &[&payloads, associated_data]);
    }
    let packet = OnionPacket {
        version: 0,
        public_key: PublicKey::from_secret_key(secp, session_key).serialize(),
        hop_payloads: payloads,
        hmac,
    };
    Ok((packet, secrets))
}

/// What a hop learns from peeling its layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeeledOnion {
    /// The secret shared with the sender (kept to wrap errors on the way back).
    pub shared_secret: [u8; 32],
    /// This hop's payload (a TLV stream).
    pub payload: Vec<u8>,
    /// The packet for the next hop, or `None` at the final hop.
    pub next_packet: Option<OnionPacket>,
}

/// Peels one layer with the node key held by `signer`, checking the HMAC over the
/// payloads and `associated_data`.
pub fn peel_onion_packet<C: Verification, S: NodeSigner + ?Sized>(
    secp: &Secp256k1<C>,
    packet: &OnionPacket,
    signer: &S,
    associated_data: &[u8],
) -> Result<PeeledOnion, OnionError> {
    if packet.version != 0 {
        return Err(OnionError::UnknownVersion(packet.version));
    }
    let public_key = PublicKey::from_slice(&packet.public_key).map_err(|_| OnionError::InvalidPublicKey)?;
    let shared_secret = signer.ecdh(&public_key).map_err(OnionError::Signer)?.secret_bytes();
    let expected = hmac_parts(
        &generate_key(MU, &shared_secret),
        &[&packet.hop_payloads, associated_data],
    );
    if !constant_time_eq(&expected, &packet.hmac) {
        return Err(OnionError::HmacMismatch);
    }
    let mut unwrapped = [0u8; 2 * ONION_HOP_PAYLOADS_LEN];
    unwrapped[..ONION_HOP_PAYLOADS_LEN].copy_from_slice(&packet.hop_payloads);
    xor_stream(&generate_key(RHO, &shared_secret), 0, &mut unwrapped);

    let mut r = Reader::new(&unwrapped);
    let payload_len = BigSize::decode(&mut r).map_err(|_| OnionError::InvalidPayload)?.0;
    // Length prefix, payload and the next HMAC must fit in the packet: what lies beyond
    // is only the stream's extension, and the next packet is cut from just after them.
    let room = ONION_HOP_PAYLOADS_LEN - HMAC_LEN - BigSize::encoded_len(payload_len);
    if payload_len < 2 || payload_len > room as u64 {
        return Err(OnionError::InvalidPayload);
    }
    let payload = r
        .take(payload_len as usize)
        .map_err(|_| OnionError::InvalidPayload)?
        .to_vec();
    let next_hmac: [u8; HMAC_LEN] = r.array().map_err(|_| OnionError::InvalidPayload)?;
    let shift = shift_size(payload.len());
    if next_hmac == [0; HMAC_LEN] {
        return Ok(PeeledOnion {
            shared_secret,
            payload,
            next_packet: None,
        });
    }
    let factor = blinding_factor(&public_key, &shared_secret)?;
    let next_public = public_key
        .mul_tweak(secp, &factor)
        .map_err(|_| OnionError::KeyDerivation)?;
    let mut hop_payloads = [0u8; ONION_HOP_PAYLOADS_LEN];
    hop_payloads.copy_from_slice(&unwrapped[shift..shift + ONION_HOP_PAYLOADS_LEN]);
    let next_packet = OnionPacket {
        version: 0,
        public_key: next_public.serialize(),
        hop_payloads,
        hmac: next_hmac,
    };
    Ok(PeeledOnion {
        shared_secret,
        payload,
        next_packet: Some(next_packet),
    })
}
