//! What the library hands back to the user, pulled with `take_events`.

use alloc::string::String;

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;

use crate::wire::{ChannelId, PaymentHash, PaymentPreimage};

/// Something the user should know or act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The peer accepted our channel: the user's wallet must build a transaction paying
    /// `funding_satoshis` to `output_script`, then call `funding_transaction_generated`.
    FundingGenerationReady {
        /// The channel's temporary id.
        temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The value of the funding output.
        funding_satoshis: u64,
        /// The funding output's script.
        output_script: ScriptBuf,
    },
    /// The funding transaction may be broadcast: the peer's signature on our first
    /// commitment is verified and persisted.
    FundingSigned {
        /// The channel.
        channel_id: ChannelId,
    },
    /// The channel is open for payments.
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
    },
    /// A payment to us is irrevocably committed: claim it with its preimage.
    PaymentClaimable {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What it pays us.
        amount_msat: u64,
    },
    /// We claimed a payment: its fulfill is on the way.
    PaymentClaimed {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What it paid us.
        amount_msat: u64,
    },
    /// A payment we sent succeeded: the preimage is the proof.
    PaymentSent {
        /// Its hash.
        payment_hash: PaymentHash,
        /// The preimage.
        payment_preimage: PaymentPreimage,
    },
    /// A payment we sent failed.
    PaymentFailed {
        /// Its hash.
        payment_hash: PaymentHash,
        /// The failure code from the error onion, when a hop could be identified.
        failure_code: Option<u16>,
    },
    /// A channel closed (or failed).
    ChannelClosed {
        /// The channel.
        channel_id: ChannelId,
        /// Why.
        reason: String,
    },
}

// ---- Persistence: pending events survive a restart (delivered at least once). ----

use alloc::vec::Vec;

use crate::wire::{Decode, DecodeError, Encode, Reader};

fn encode_string(s: &str, out: &mut Vec<u8>) {
    s.as_bytes().to_vec().encode(out);
}

fn decode_string(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    String::from_utf8(Vec::<u8>::decode(r)?).map_err(|_| DecodeError::InvalidValue { field: "event text" })
}

impl Encode for Event {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Event::FundingGenerationReady {
                temporary_channel_id,
                counterparty_node_id,
                funding_satoshis,
                output_script,
            } => {
                out.push(0);
                temporary_channel_id.encode(out);
                counterparty_node_id.encode(out);
                funding_satoshis.encode(out);
                output_script.encode(out);
            }
            Event::FundingSigned { channel_id } => {
                out.push(1);
                channel_id.encode(out);
            }
            Event::ChannelReady {
                channel_id,
                counterparty_node_id,
            } => {
                out.push(2);
                channel_id.encode(out);
                counterparty_node_id.encode(out);
            }
            Event::PaymentClaimable {
                payment_hash,
                amount_msat,
            } => {
                out.push(3);
                payment_hash.encode(out);
                amount_msat.encode(out);
            }
            Event::PaymentClaimed {
                payment_hash,
                amount_msat,
            } => {
                out.push(4);
                payment_hash.encode(out);
                amount_msat.encode(out);
            }
            Event::PaymentSent {
                payment_hash,
                payment_preimage,
            } => {
                out.push(5);
                payment_hash.encode(out);
                payment_preimage.encode(out);
            }
            Event::PaymentFailed {
                payment_hash,
                failure_code,
            } => {
                out.push(6);
                payment_hash.encode(out);
                match failure_code {
                    Some(code) => {
                        out.push(1);
                        code.encode(out);
                    }
                    None => out.push(0),
                }
            }
            Event::ChannelClosed { channel_id, reason } => {
                out.push(7);
                channel_id.encode(out);
                encode_string(reason, out);
            }
        }
    }
}

impl Decode for Event {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode(r)? {
            0 => Event::FundingGenerationReady {
                temporary_channel_id: Decode::decode(r)?,
                counterparty_node_id: Decode::decode(r)?,
                funding_satoshis: Decode::decode(r)?,
                output_script: Decode::decode(r)?,
            },
            1 => Event::FundingSigned {
                channel_id: Decode::decode(r)?,
            },
            2 => Event::ChannelReady {
                channel_id: Decode::decode(r)?,
                counterparty_node_id: Decode::decode(r)?,
            },
            3 => Event::PaymentClaimable {
                payment_hash: Decode::decode(r)?,
                amount_msat: Decode::decode(r)?,
            },
            4 => Event::PaymentClaimed {
                payment_hash: Decode::decode(r)?,
                amount_msat: Decode::decode(r)?,
            },
            5 => Event::PaymentSent {
                payment_hash: Decode::decode(r)?,
                payment_preimage: Decode::decode(r)?,
            },
            6 => Event::PaymentFailed {
                payment_hash: Decode::decode(r)?,
                failure_code: match u8::decode(r)? {
                    0 => None,
                    1 => Some(u16::decode(r)?),
                    _ => {
                        return Err(DecodeError::InvalidValue {
                            field: "failure code flag",
                        })
                    }
                },
            },
            7 => Event::ChannelClosed {
                channel_id: Decode::decode(r)?,
                reason: decode_string(r)?,
            },
            _ => return Err(DecodeError::InvalidValue { field: "event type" }),
        })
    }
}
