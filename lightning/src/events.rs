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

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    fn every_variant() -> Vec<Event> {
        let node = PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[3; 32]).expect("key"));
        let hash = PaymentHash([4; 32]);
        vec![
            Event::FundingGenerationReady {
                temporary_channel_id: ChannelId([1; 32]),
                counterparty_node_id: node,
                funding_satoshis: 1_000_000,
                output_script: ScriptBuf::from_bytes(vec![0, 32, 7, 7]),
            },
            Event::FundingSigned {
                channel_id: ChannelId([2; 32]),
            },
            Event::ChannelReady {
                channel_id: ChannelId([2; 32]),
                counterparty_node_id: node,
            },
            Event::PaymentClaimable {
                payment_hash: hash,
                amount_msat: 5,
            },
            Event::PaymentClaimed {
                payment_hash: hash,
                amount_msat: 6,
            },
            Event::PaymentSent {
                payment_hash: hash,
                payment_preimage: PaymentPreimage([5; 32]),
            },
            Event::PaymentFailed {
                payment_hash: hash,
                failure_code: Some(0x400f),
            },
            Event::PaymentFailed {
                payment_hash: hash,
                failure_code: None,
            },
            Event::ChannelClosed {
                channel_id: ChannelId([2; 32]),
                reason: "peer error: gone".to_string(),
            },
        ]
    }

    /// Pending events are persisted with the manager: each comes back exactly, and
    /// distinct events never encode alike.
    #[test]
    fn every_event_survives_persistence() {
        let events = every_variant();
        let encodings: Vec<Vec<u8>> = events.iter().map(Encode::encode_to_vec).collect();
        for (event, bytes) in events.iter().zip(&encodings) {
            assert_eq!(Event::decode_exact(bytes).as_ref(), Ok(event));
        }
        for (i, a) in encodings.iter().enumerate() {
            assert!(encodings[i + 1..].iter().all(|b| a != b), "two events encode alike");
        }
    }

    #[test]
    fn unknown_tags_and_bad_text_are_refused() {
        assert_eq!(
            Event::decode_exact(&[8]),
            Err(DecodeError::InvalidValue { field: "event type" })
        );
        let mut failed = vec![6];
        failed.extend_from_slice(&[4; 32]);
        failed.push(2);
        assert_eq!(
            Event::decode_exact(&failed),
            Err(DecodeError::InvalidValue {
                field: "failure code flag"
            })
        );
        let mut closed = vec![7];
        closed.extend_from_slice(&[2; 32]);
        vec![0xffu8, 0xfe].encode(&mut closed);
        assert_eq!(
            Event::decode_exact(&closed),
            Err(DecodeError::InvalidValue { field: "event text" })
        );
    }
}
