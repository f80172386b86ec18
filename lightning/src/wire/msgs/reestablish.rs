//! BOLT 2 reconnection: `channel_reestablish`.

use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Txid;

use crate::wire::codec::{Decode, DecodeError, Encode, Reader};
use crate::wire::tlv::{tlv_stream, TlvValue};
use crate::wire::types::ChannelId;
use crate::wire::wire_message;

/// A funding transaction and which of its messages to retransmit (dual funding and
/// splicing; kept so such peers' messages decode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingRetransmit {
    /// The funding transaction concerned.
    pub txid: Txid,
    /// Bit 0: retransmit `commitment_signed`.
    pub retransmit_flags: u8,
}

impl TlvValue for FundingRetransmit {
    fn value_len(&self) -> usize {
        33
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        self.txid.encode(out);
        self.retransmit_flags.encode(out);
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 33 {
            return Err(DecodeError::TlvBadLength { tlv_type: 0 });
        }
        let mut r = Reader::new(bytes);
        Ok(FundingRetransmit {
            txid: Txid::decode(&mut r)?,
            retransmit_flags: u8::decode(&mut r)?,
        })
    }
}

tlv_stream! {
    /// `channel_reestablish_tlvs`.
    pub struct ChannelReestablishTlvs {
        /// The funding transaction still being negotiated.
        1 => next_funding: FundingRetransmit,
        /// The latest funding transaction the sender has locked.
        5 => my_current_funding_locked: FundingRetransmit,
    }
}

wire_message! {
    /// `channel_reestablish` (136): after a reconnection, where each side's commitments
    /// and revocations stand, with proof of the peer's last revealed secret.
    pub struct ChannelReestablish = 136 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The commitment number the sender expects to receive next.
        pub next_commitment_number: u64,
        /// The revocation number the sender expects to receive next.
        pub next_revocation_number: u64,
        /// The last per-commitment secret received from the peer (zeros if none).
        pub your_last_per_commitment_secret: [u8; 32],
        /// The sender's current per-commitment point.
        pub my_current_per_commitment_point: PublicKey,
        /// The extension.
        pub tlvs: ChannelReestablishTlvs,
    }
}
