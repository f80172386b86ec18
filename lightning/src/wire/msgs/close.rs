//! BOLT 2 channel close: `shutdown` and the legacy `closing_signed` negotiation.

use alloc::vec::Vec;

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::ScriptBuf;

use crate::wire::codec::{Decode, DecodeError, Encode, Reader};
use crate::wire::tlv::{tlv_stream, NoTlvs, TlvValue};
use crate::wire::types::ChannelId;
use crate::wire::wire_message;

wire_message! {
    /// `shutdown` (38): the sender starts closing the channel and names its output script.
    pub struct Shutdown = 38 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Where the sender's share of the closing transaction goes.
        pub scriptpubkey: ScriptBuf,
        /// The extension.
        pub extension: NoTlvs,
    }
}

/// The fees a closing node accepts (`closing_signed`'s `fee_range`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeRange {
    /// The lowest acceptable fee.
    pub min_fee_satoshis: u64,
    /// The highest acceptable fee.
    pub max_fee_satoshis: u64,
}

impl TlvValue for FeeRange {
    fn value_len(&self) -> usize {
        16
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        self.min_fee_satoshis.encode(out);
        self.max_fee_satoshis.encode(out);
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 16 {
            return Err(DecodeError::TlvBadLength { tlv_type: 1 });
        }
        let mut r = Reader::new(bytes);
        Ok(FeeRange {
            min_fee_satoshis: u64::decode(&mut r)?,
            max_fee_satoshis: u64::decode(&mut r)?,
        })
    }
}

tlv_stream! {
    /// `closing_signed_tlvs`.
    pub struct ClosingSignedTlvs {
        /// The fee range the sender accepts.
        1 => fee_range: FeeRange,
    }
}

wire_message! {
    /// `closing_signed` (39): a fee proposal with the sender's signature on the closing
    /// transaction at that fee.
    pub struct ClosingSigned = 39 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The proposed fee.
        pub fee_satoshis: u64,
        /// The sender's signature on the closing transaction with that fee.
        pub signature: Signature,
        /// The extension.
        pub tlvs: ClosingSignedTlvs,
    }
}
