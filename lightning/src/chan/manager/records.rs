//! Encodings of what the manager keeps about payments and forwards across a restart:
//! forwards and their stages, payments we sent with their parts' paths, failures waiting
//! to become irrevocable, and forwarding policies. Each is a manager TLV record
//! ([`super::persist::ManagerTlvs`]).

use alloc::vec::Vec;

use super::forward::{ForwardStage, ForwardingPolicy, HtlcPair, IncomingHtlc, PendingForward};
use super::outbound::{OutboundPayment, Retry};
use super::payments::{ClaimableHtlc, IncompleteSet};
use super::resolution::OutgoingFailure;
use super::HtlcRef;
use crate::events::PaymentFailureReason;
use crate::routing::Path;
use crate::wire::codec::{decode_option, encode_option};
use crate::wire::{Decode, DecodeError, Encode, Reader, TlvValue};

/// A list of records, as one TLV value: a count, then each record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordList<T>(pub Vec<T>);

impl<T> Default for RecordList<T> {
    fn default() -> Self {
        RecordList(Vec::new())
    }
}

impl<T: Encode + Decode> RecordList<T> {
    fn encode_list(&self) -> Vec<u8> {
        let mut out = Vec::new();
        (self.0.len() as u32).encode(&mut out);
        for record in &self.0 {
            record.encode(&mut out);
        }
        out
    }

    /// `Some` list if `records` has any.
    pub fn of(records: Vec<T>) -> Option<Self> {
        (!records.is_empty()).then_some(RecordList(records))
    }
}

impl<T: Encode + Decode> TlvValue for RecordList<T> {
    fn value_len(&self) -> usize {
        self.encode_list().len()
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encode_list());
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let count = u32::decode(&mut r)?;
        // Every record is at least a byte: a count beyond what is left is corrupt.
        r.ensure_room_for(u64::from(count), 1)?;
        let mut records = Vec::new();
        for _ in 0..count {
            records.push(T::decode(&mut r)?);
        }
        if r.remaining() != 0 {
            return Err(DecodeError::InvalidValue { field: "record list" });
        }
        Ok(RecordList(records))
    }
}

fn invalid(field: &'static str) -> DecodeError {
    DecodeError::InvalidValue { field }
}

impl Encode for HtlcRef {
    fn encode(&self, out: &mut Vec<u8>) {
        self.channel_id.encode(out);
        self.htlc_id.encode(out);
    }
}

impl Decode for HtlcRef {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(HtlcRef {
            channel_id: Decode::decode(r)?,
            htlc_id: Decode::decode(r)?,
        })
    }
}

impl Encode for ForwardingPolicy {
    fn encode(&self, out: &mut Vec<u8>) {
        self.fee_base_msat.encode(out);
        self.fee_proportional_millionths.encode(out);
        self.cltv_expiry_delta.encode(out);
        self.htlc_minimum_msat.encode(out);
        self.htlc_maximum_msat.encode(out);
    }
}

impl Decode for ForwardingPolicy {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ForwardingPolicy {
            fee_base_msat: Decode::decode(r)?,
            fee_proportional_millionths: Decode::decode(r)?,
            cltv_expiry_delta: Decode::decode(r)?,
            htlc_minimum_msat: Decode::decode(r)?,
            htlc_maximum_msat: Decode::decode(r)?,
        })
    }
}

impl Encode for HtlcPair {
    fn encode(&self, out: &mut Vec<u8>) {
        let incoming = &self.incoming;
        incoming.htlc.encode(out);
        incoming.amount_msat.encode(out);
        incoming.cltv_expiry.encode(out);
        incoming.payment_hash.encode(out);
        incoming.shared_secret.encode(out);
        encode_option(&self.outgoing_short_channel_id, out);
        match self.stage() {
            ForwardStage::Pending(forward) => {
                out.push(0);
                forward.short_channel_id.encode(out);
                forward.amount_msat.encode(out);
                forward.cltv_expiry.encode(out);
                forward.onion.encode(out);
            }
            ForwardStage::Offered { outgoing, amount_msat } => {
                out.push(1);
                outgoing.encode(out);
                amount_msat.encode(out);
            }
            ForwardStage::Fulfilled {
                outgoing,
                amount_msat,
                preimage,
            } => {
                out.push(2);
                outgoing.encode(out);
                amount_msat.encode(out);
                preimage.encode(out);
            }
            ForwardStage::Failing { reason, failure_code } => {
                out.push(3);
                reason.encode(out);
                encode_option(failure_code, out);
            }
        }
    }
}

impl Decode for HtlcPair {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let incoming = IncomingHtlc {
            htlc: Decode::decode(r)?,
            amount_msat: Decode::decode(r)?,
            cltv_expiry: Decode::decode(r)?,
            payment_hash: Decode::decode(r)?,
            shared_secret: Decode::decode(r)?,
        };
        let outgoing_short_channel_id = decode_option(r)?;
        let stage = match u8::decode(r)? {
            0 => ForwardStage::Pending(PendingForward {
                short_channel_id: Decode::decode(r)?,
                amount_msat: Decode::decode(r)?,
                cltv_expiry: Decode::decode(r)?,
                onion: alloc::boxed::Box::new(Decode::decode(r)?),
            }),
            1 => ForwardStage::Offered {
                outgoing: Decode::decode(r)?,
                amount_msat: Decode::decode(r)?,
            },
            2 => ForwardStage::Fulfilled {
                outgoing: Decode::decode(r)?,
                amount_msat: Decode::decode(r)?,
                preimage: Decode::decode(r)?,
            },
            3 => ForwardStage::Failing {
                reason: Decode::decode(r)?,
                failure_code: decode_option(r)?,
            },
            _ => return Err(invalid("forward stage")),
        };
        // A forward paying out more than it took in is never written: corrupt bytes.
        HtlcPair::read(incoming, outgoing_short_channel_id, stage).ok_or(invalid("forward amounts"))
    }
}

/// A payment we sent, by its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord(pub(crate) crate::wire::PaymentHash, pub(crate) OutboundPayment);

impl Encode for PaymentRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        let PaymentRecord(hash, p) = self;
        hash.encode(out);
        p.payee.encode(out);
        p.payment_secret.encode(out);
        p.total_msat.encode(out);
        p.final_cltv_expiry_delta.encode(out);
        p.max_path_count.encode(out);
        p.max_total_cltv_expiry_delta.encode(out);
        p.retry.attempts.encode(out);
        p.retry.blocks.encode(out);
        p.attempts.encode(out);
        p.first_attempt_height.encode(out);
        p.to_retry_msat.encode(out);
        (p.avoid.len() as u16).encode(out);
        for scid in &p.avoid {
            scid.encode(out);
        }
        (p.fulfilled.len() as u16).encode(out);
        for path in &p.fulfilled {
            path.encode(out);
        }
        encode_option(&p.preimage, out);
        encode_option(&p.last_failure_code, out);
        let failed: Option<u8> = p.failed.map(|reason| match reason {
            PaymentFailureReason::RecipientRejected => 0,
            PaymentFailureReason::RetriesExhausted => 1,
            PaymentFailureReason::RouteNotFound => 2,
        });
        encode_option(&failed, out);
    }
}

impl Decode for PaymentRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let hash = Decode::decode(r)?;
        let payee = Decode::decode(r)?;
        let payment_secret = Decode::decode(r)?;
        let total_msat = Decode::decode(r)?;
        let final_cltv_expiry_delta = Decode::decode(r)?;
        let max_path_count = Decode::decode(r)?;
        let max_total_cltv_expiry_delta = Decode::decode(r)?;
        let retry = Retry {
            attempts: Decode::decode(r)?,
            blocks: Decode::decode(r)?,
        };
        let attempts = Decode::decode(r)?;
        let first_attempt_height = Decode::decode(r)?;
        let to_retry_msat = Decode::decode(r)?;
        let avoid = (0..u16::decode(r)?)
            .map(|_| Decode::decode(r))
            .collect::<Result<_, _>>()?;
        let fulfilled = (0..u16::decode(r)?)
            .map(|_| Path::decode(r))
            .collect::<Result<_, _>>()?;
        let preimage = decode_option(r)?;
        let last_failure_code = decode_option(r)?;
        let failed = match decode_option::<u8>(r)? {
            None => None,
            Some(0) => Some(PaymentFailureReason::RecipientRejected),
            Some(1) => Some(PaymentFailureReason::RetriesExhausted),
            Some(2) => Some(PaymentFailureReason::RouteNotFound),
            Some(_) => return Err(invalid("payment failure reason")),
        };
        Ok(PaymentRecord(
            hash,
            OutboundPayment {
                payee,
                payment_secret,
                total_msat,
                final_cltv_expiry_delta,
                max_path_count,
                max_total_cltv_expiry_delta,
                retry,
                attempts,
                first_attempt_height,
                to_retry_msat,
                avoid,
                fulfilled,
                preimage,
                last_failure_code,
                failed,
            },
        ))
    }
}

impl Encode for OutgoingFailure {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            OutgoingFailure::Onion(reason) => {
                out.push(0);
                reason.encode(out);
            }
            OutgoingFailure::Malformed {
                failure_code,
                sha256_of_onion,
            } => {
                out.push(1);
                failure_code.encode(out);
                sha256_of_onion.encode(out);
            }
        }
    }
}

impl Decode for OutgoingFailure {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode(r)? {
            0 => OutgoingFailure::Onion(Decode::decode(r)?),
            1 => OutgoingFailure::Malformed {
                failure_code: Decode::decode(r)?,
                sha256_of_onion: Decode::decode(r)?,
            },
            _ => return Err(invalid("outgoing failure")),
        })
    }
}

/// The parts of a multi-part payment to us that arrived so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncompleteRecord(pub(crate) crate::wire::PaymentHash, pub(crate) IncompleteSet);

impl Encode for IncompleteRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        let IncompleteRecord(hash, set) = self;
        hash.encode(out);
        set.total_msat.encode(out);
        set.first_seen_height.encode(out);
        (set.htlcs.len() as u16).encode(out);
        for htlc in &set.htlcs {
            htlc.channel_id.encode(out);
            htlc.htlc_id.encode(out);
            htlc.amount_msat.encode(out);
            htlc.cltv_expiry.encode(out);
            htlc.shared_secret.encode(out);
        }
    }
}

impl Decode for IncompleteRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let hash = Decode::decode(r)?;
        let total_msat = Decode::decode(r)?;
        let first_seen_height = Decode::decode(r)?;
        let htlcs = (0..u16::decode(r)?)
            .map(|_| {
                Ok(ClaimableHtlc {
                    channel_id: Decode::decode(r)?,
                    htlc_id: Decode::decode(r)?,
                    amount_msat: Decode::decode(r)?,
                    cltv_expiry: Decode::decode(r)?,
                    shared_secret: Decode::decode(r)?,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(IncompleteRecord(
            hash,
            IncompleteSet {
                total_msat,
                first_seen_height,
                htlcs,
            },
        ))
    }
}
