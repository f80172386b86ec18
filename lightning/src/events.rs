//! What the library hands back to the user, pulled with `take_events`.

use alloc::string::String;

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;

use crate::routing::Path;
use crate::wire::{ChannelId, PaymentHash, PaymentPreimage, ShortChannelId};

/// Why a payment we sent failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentFailureReason {
    /// The payee refused it (a permanent failure from the final node).
    RecipientRejected,
    /// Every attempt failed and no retry is left (attempts or blocks).
    RetriesExhausted,
    /// No route could carry what was left to pay.
    RouteNotFound,
}

impl PaymentFailureReason {
    fn tag(self) -> u8 {
        match self {
            PaymentFailureReason::RecipientRejected => 0,
            PaymentFailureReason::RetriesExhausted => 1,
            PaymentFailureReason::RouteNotFound => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => PaymentFailureReason::RecipientRejected,
            1 => PaymentFailureReason::RetriesExhausted,
            2 => PaymentFailureReason::RouteNotFound,
            _ => return None,
        })
    }
}

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
    /// A payment we sent succeeded: every part is fulfilled, and the preimage is the
    /// proof.
    PaymentSent {
        /// Its hash.
        payment_hash: PaymentHash,
        /// The preimage.
        payment_preimage: PaymentPreimage,
        /// What the forwarding nodes of every fulfilled part charged.
        fee_paid_msat: u64,
        /// The paths of the fulfilled parts.
        paths: Vec<Path>,
    },
    /// A payment we sent failed for good: no part is in flight and none will be retried.
    PaymentFailed {
        /// Its hash.
        payment_hash: PaymentHash,
        /// The failure code of the last failed part, when a hop could be identified.
        failure_code: Option<u16>,
        /// Why no more is tried.
        reason: PaymentFailureReason,
    },
    /// One part of a payment we sent failed; the payment goes on if a retry is left.
    PaymentPathFailed {
        /// The payment's hash.
        payment_hash: PaymentHash,
        /// The path that failed.
        path: Path,
        /// The channel out of the node that failed it, when known (the payee's failures
        /// and unreadable ones name none).
        short_channel_id: Option<ShortChannelId>,
        /// The node that failed it, when the error onion said.
        failing_node: Option<PublicKey>,
        /// The BOLT 4 failure code, when known.
        failure_code: Option<u16>,
        /// Whether the whole payment fails with it (the payee refused it).
        payment_failed_permanently: bool,
    },
    /// We forwarded a payment and the next hop fulfilled it: the incoming HTLC is claimed.
    PaymentForwarded {
        /// The payment's hash.
        payment_hash: PaymentHash,
        /// The channel it came in on.
        incoming_channel_id: ChannelId,
        /// The channel it went out on.
        outgoing_channel_id: ChannelId,
        /// What we forwarded.
        amount_forwarded_msat: u64,
        /// What we kept: the incoming amount less the forwarded one (never negative).
        fee_earned_msat: u64,
    },
    /// An HTLC we were asked to forward was failed back to its sender.
    ForwardFailed {
        /// The channel it came in on.
        incoming_channel_id: ChannelId,
        /// The channel the onion asked for.
        outgoing_short_channel_id: Option<ShortChannelId>,
        /// The BOLT 4 code we returned, or `None` for a failure from further on passed
        /// back unread.
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

use crate::wire::codec::{decode_option, encode_option};
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
                fee_paid_msat,
                paths,
            } => {
                out.push(8);
                payment_hash.encode(out);
                payment_preimage.encode(out);
                fee_paid_msat.encode(out);
                (paths.len() as u16).encode(out);
                for path in paths {
                    path.encode(out);
                }
            }
            Event::PaymentFailed {
                payment_hash,
                failure_code,
                reason,
            } => {
                out.push(9);
                payment_hash.encode(out);
                encode_option(failure_code, out);
                out.push(reason.tag());
            }
            Event::PaymentPathFailed {
                payment_hash,
                path,
                short_channel_id,
                failing_node,
                failure_code,
                payment_failed_permanently,
            } => {
                out.push(10);
                payment_hash.encode(out);
                path.encode(out);
                encode_option(short_channel_id, out);
                encode_option(failing_node, out);
                encode_option(failure_code, out);
                out.push(u8::from(*payment_failed_permanently));
            }
            Event::PaymentForwarded {
                payment_hash,
                incoming_channel_id,
                outgoing_channel_id,
                amount_forwarded_msat,
                fee_earned_msat,
            } => {
                out.push(11);
                payment_hash.encode(out);
                incoming_channel_id.encode(out);
                outgoing_channel_id.encode(out);
                amount_forwarded_msat.encode(out);
                fee_earned_msat.encode(out);
            }
            Event::ForwardFailed {
                incoming_channel_id,
                outgoing_short_channel_id,
                failure_code,
            } => {
                out.push(12);
                incoming_channel_id.encode(out);
                encode_option(outgoing_short_channel_id, out);
                encode_option(failure_code, out);
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
            // 5 and 6: the single-hop shapes of payment outcomes, written before paths
            // and reasons were recorded.
            5 => Event::PaymentSent {
                payment_hash: Decode::decode(r)?,
                payment_preimage: Decode::decode(r)?,
                fee_paid_msat: 0,
                paths: Vec::new(),
            },
            6 => Event::PaymentFailed {
                payment_hash: Decode::decode(r)?,
                failure_code: decode_option(r)?,
                reason: PaymentFailureReason::RecipientRejected,
            },
            8 => {
                let payment_hash = Decode::decode(r)?;
                let payment_preimage = Decode::decode(r)?;
                let fee_paid_msat = Decode::decode(r)?;
                let count = u16::decode(r)?;
                let paths = (0..count).map(|_| Path::decode(r)).collect::<Result<_, _>>()?;
                Event::PaymentSent {
                    payment_hash,
                    payment_preimage,
                    fee_paid_msat,
                    paths,
                }
            }
            9 => Event::PaymentFailed {
                payment_hash: Decode::decode(r)?,
                failure_code: decode_option(r)?,
                reason: PaymentFailureReason::from_tag(u8::decode(r)?).ok_or(DecodeError::InvalidValue {
                    field: "payment failure reason",
                })?,
            },
            10 => Event::PaymentPathFailed {
                payment_hash: Decode::decode(r)?,
                path: Path::decode(r)?,
                short_channel_id: decode_option(r)?,
                failing_node: decode_option(r)?,
                failure_code: decode_option(r)?,
                payment_failed_permanently: match u8::decode(r)? {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(DecodeError::InvalidValue {
                            field: "permanence flag",
                        })
                    }
                },
            },
            11 => Event::PaymentForwarded {
                payment_hash: Decode::decode(r)?,
                incoming_channel_id: Decode::decode(r)?,
                outgoing_channel_id: Decode::decode(r)?,
                amount_forwarded_msat: Decode::decode(r)?,
                fee_earned_msat: Decode::decode(r)?,
            },
            12 => Event::ForwardFailed {
                incoming_channel_id: Decode::decode(r)?,
                outgoing_short_channel_id: decode_option(r)?,
                failure_code: decode_option(r)?,
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
        let path = Path {
            hops: vec![crate::routing::RouteHop {
                node_id: node,
                short_channel_id: ShortChannelId(5),
                amount_msat: 1_000,
                expiry_beyond_final_blocks: 0,
            }],
        };
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
                fee_paid_msat: 12,
                paths: vec![path.clone(), path.clone()],
            },
            Event::PaymentFailed {
                payment_hash: hash,
                failure_code: Some(0x400f),
                reason: PaymentFailureReason::RecipientRejected,
            },
            Event::PaymentFailed {
                payment_hash: hash,
                failure_code: None,
                reason: PaymentFailureReason::RouteNotFound,
            },
            Event::PaymentPathFailed {
                payment_hash: hash,
                path: path.clone(),
                short_channel_id: Some(ShortChannelId(77)),
                failing_node: Some(node),
                failure_code: Some(0x1007),
                payment_failed_permanently: false,
            },
            Event::PaymentForwarded {
                payment_hash: hash,
                incoming_channel_id: ChannelId([2; 32]),
                outgoing_channel_id: ChannelId([3; 32]),
                amount_forwarded_msat: 1_000,
                fee_earned_msat: 1,
            },
            Event::ForwardFailed {
                incoming_channel_id: ChannelId([2; 32]),
                outgoing_short_channel_id: None,
                failure_code: Some(0x400a),
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
            Event::decode_exact(&[13]),
            Err(DecodeError::InvalidValue { field: "event type" })
        );
        let mut failed = vec![6];
        failed.extend_from_slice(&[4; 32]);
        failed.push(2);
        assert_eq!(
            Event::decode_exact(&failed),
            Err(DecodeError::InvalidValue { field: "option flag" })
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
