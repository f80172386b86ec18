//! The hop payload (BOLT 4 `payload` TLV stream): what each hop forwards, or what the
//! final hop receives.

use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;

use crate::wire::bigsize::{decode_truncated, encode_truncated, Tu32, Tu64};
use crate::wire::tlv::{tlv_stream, TlvValue};
use crate::wire::{DecodeError, ShortChannelId};

/// `payment_data`: the payment secret and the total amount of the (possibly multi-part)
/// payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentData {
    /// The secret from the invoice, proving the payer knows it.
    pub payment_secret: [u8; 32],
    /// The total amount of the payment, all parts together.
    pub total_msat: u64,
}

impl TlvValue for PaymentData {
    fn value_len(&self) -> usize {
        32 + (64 - self.total_msat.leading_zeros() as usize).div_ceil(8)
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.payment_secret);
        encode_truncated(self.total_msat, out);
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < 32 {
            return Err(DecodeError::TlvBadLength { tlv_type: 8 });
        }
        let mut payment_secret = [0u8; 32];
        payment_secret.copy_from_slice(&bytes[..32]);
        Ok(PaymentData {
            payment_secret,
            total_msat: decode_truncated(&bytes[32..], 8)?,
        })
    }
}

tlv_stream! {
    /// A hop's payload.
    pub struct HopPayload {
        /// The amount to forward to the next hop (or to receive, at the final hop).
        2 => amt_to_forward: Tu64,
        /// The CLTV expiry of the outgoing HTLC (or the expected one, at the final hop).
        4 => outgoing_cltv_value: Tu32,
        /// The channel to forward over (absent at the final hop).
        6 => short_channel_id: ShortChannelId,
        /// The payment secret and total, at the final hop.
        8 => payment_data: PaymentData,
        /// Data encrypted for this hop by a blinded route's creator.
        10 => encrypted_recipient_data: Vec<u8>,
        /// The blinding point of a blinded route.
        12 => current_path_key: PublicKey,
        /// Metadata from the invoice, at the final hop.
        16 => payment_metadata: Vec<u8>,
        /// The total amount, inside a blinded route.
        18 => total_amount_msat: Tu64,
    }
}

impl HopPayload {
    /// The payload of a forwarding hop.
    pub fn forward(short_channel_id: ShortChannelId, amt_to_forward_msat: u64, outgoing_cltv_value: u32) -> Self {
        HopPayload {
            amt_to_forward: Some(Tu64(amt_to_forward_msat)),
            outgoing_cltv_value: Some(Tu32(outgoing_cltv_value)),
            short_channel_id: Some(short_channel_id),
            ..HopPayload::default()
        }
    }

    /// The payload of the final hop.
    pub fn receive(amount_msat: u64, cltv_expiry: u32, payment_secret: [u8; 32], total_msat: u64) -> Self {
        HopPayload {
            amt_to_forward: Some(Tu64(amount_msat)),
            outgoing_cltv_value: Some(Tu32(cltv_expiry)),
            payment_data: Some(PaymentData {
                payment_secret,
                total_msat,
            }),
            ..HopPayload::default()
        }
    }
}
