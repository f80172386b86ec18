//! BOLT 2 normal operation: adding and settling HTLCs, signing and revoking commitments,
//! and fee updates.

use alloc::boxed::Box;
use alloc::vec::Vec;

use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::Txid;

use crate::wire::codec::{Decode, DecodeError, Encode, Reader};
use crate::wire::tlv::{tlv_stream, NoTlvs, TlvValue};
use crate::wire::types::{ChannelId, OnionPacket, PaymentHash, PaymentPreimage};
use crate::wire::wire_message;

tlv_stream! {
    /// `update_add_htlc_tlvs`.
    pub struct UpdateAddHtlcTlvs {
        /// The blinding point when the HTLC travels a blinded route.
        0 => blinded_path: PublicKey,
    }
}

wire_message! {
    /// `update_add_htlc` (128): offer an HTLC to the peer.
    pub struct UpdateAddHtlc = 128 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id: the sender's counter, increasing by one per offer.
        pub id: u64,
        /// The HTLC's value.
        pub amount_msat: u64,
        /// The hash the HTLC is locked to.
        pub payment_hash: PaymentHash,
        /// The block height at which the HTLC times out.
        pub cltv_expiry: u32,
        /// The onion for the next hops.
        pub onion_routing_packet: OnionPacket,
        /// The extension.
        pub tlvs: UpdateAddHtlcTlvs,
    }
}

/// Hop hold times and truncated HMACs that let the payer attribute a failure or a slow
/// hop (`attribution_data` in `update_fulfill_htlc` and `update_fail_htlc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributionData {
    /// Each hop's hold time, in units of 100 milliseconds.
    pub htlc_hold_times: [u32; 20],
    /// The truncated HMACs, four bytes each.
    pub truncated_hmacs: [[u8; 4]; 210],
}

/// The encoded length of [`AttributionData`].
pub const ATTRIBUTION_DATA_LEN: usize = 20 * 4 + 210 * 4;

impl TlvValue for AttributionData {
    fn value_len(&self) -> usize {
        ATTRIBUTION_DATA_LEN
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        for t in self.htlc_hold_times {
            t.encode(out);
        }
        for h in self.truncated_hmacs {
            out.extend_from_slice(&h);
        }
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != ATTRIBUTION_DATA_LEN {
            return Err(DecodeError::TlvBadLength { tlv_type: 1 });
        }
        let mut r = Reader::new(bytes);
        let mut data = AttributionData {
            htlc_hold_times: [0; 20],
            truncated_hmacs: [[0; 4]; 210],
        };
        for t in data.htlc_hold_times.iter_mut() {
            *t = u32::decode(&mut r)?;
        }
        for h in data.truncated_hmacs.iter_mut() {
            *h = r.array()?;
        }
        Ok(data)
    }
}

tlv_stream! {
    /// `update_fulfill_htlc_tlvs` and `update_fail_htlc_tlvs`.
    pub struct SettleHtlcTlvs {
        /// Attribution data for the payer.
        1 => attribution_data: Box<AttributionData>,
    }
}

wire_message! {
    /// `update_fulfill_htlc` (130): settle an HTLC with its preimage.
    pub struct UpdateFulfillHtlc = 130 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id.
        pub id: u64,
        /// The preimage of the HTLC's payment hash.
        pub payment_preimage: PaymentPreimage,
        /// The extension.
        pub tlvs: SettleHtlcTlvs,
    }
}

wire_message! {
    /// `update_fail_htlc` (131): fail an HTLC with an encrypted reason for the payer.
    pub struct UpdateFailHtlc = 131 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id.
        pub id: u64,
        /// The error onion.
        pub reason: Vec<u8>,
        /// The extension.
        pub tlvs: SettleHtlcTlvs,
    }
}

wire_message! {
    /// `update_fail_malformed_htlc` (135): fail an HTLC whose onion could not be parsed.
    pub struct UpdateFailMalformedHtlc = 135 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id.
        pub id: u64,
        /// SHA-256 of the onion that could not be parsed.
        pub sha256_of_onion: [u8; 32],
        /// The failure code; the BADONION bit must be set.
        pub failure_code: u16,
        /// The extension.
        pub extension: NoTlvs,
    }
}

tlv_stream! {
    /// `commitment_signed_tlvs`.
    pub struct CommitmentSignedTlvs {
        /// The funding transaction this signature is for (splicing).
        1 => funding_txid: Txid,
    }
}

wire_message! {
    /// `commitment_signed` (132): the sender's signatures on the peer's next commitment
    /// transaction and its HTLC transactions.
    pub struct CommitmentSigned = 132 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The signature on the commitment transaction.
        pub signature: Signature,
        /// One signature per HTLC output, in output order.
        pub htlc_signatures: Vec<Signature>,
        /// The extension.
        pub tlvs: CommitmentSignedTlvs,
    }
}

wire_message! {
    /// `revoke_and_ack` (133): revoke the previous commitment and hand over the next point.
    pub struct RevokeAndAck = 133 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The secret of the commitment being revoked.
        pub per_commitment_secret: [u8; 32],
        /// The per-commitment point for the commitment after the next.
        pub next_per_commitment_point: PublicKey,
        /// The extension.
        pub extension: NoTlvs,
    }
}

wire_message! {
    /// `update_fee` (134): the funder changes the commitment feerate.
    pub struct UpdateFee = 134 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The new feerate, in satoshis per 1000 weight units.
        pub feerate_per_kw: u32,
        /// The extension.
        pub extension: NoTlvs,
    }
}
