//! Monitor updates: every channel state change that must be durable before the channel
//! may act on it, as a serializable blob with an increasing id.
//!
//! Encoding: a version byte, the update id, then the steps as a sequence of
//! `BigSize type, BigSize length, value` records, so a reader can skip step types it
//! does not know when they are odd (as BOLT 1 does for TLVs).

use alloc::vec::Vec;

use bitcoin::consensus::encode::deserialize;
use bitcoin::consensus::Encodable;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, Transaction, Txid};

use super::commitment::{ChannelPublicKeys, CommitmentHtlc};
use crate::wire::bigsize::BigSize;
use crate::wire::{Decode, DecodeError, Encode, PaymentHash, PaymentPreimage, Reader};

/// The encoding version written by this library.
pub const MONITOR_UPDATE_VERSION: u8 = 1;

/// The channel facts the monitor needs from the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingInfo {
    /// The funding output.
    pub funding_outpoint: OutPoint,
    /// Its value.
    pub funding_satoshis: u64,
    /// Whether the holder opened the channel.
    pub holder_is_funder: bool,
    /// The holder's basepoints.
    pub holder_pubkeys: ChannelPublicKeys,
    /// The counterparty's basepoints.
    pub counterparty_pubkeys: ChannelPublicKeys,
    /// The delay on the holder's outputs.
    pub holder_to_self_delay: u16,
    /// The delay on the counterparty's outputs.
    pub counterparty_to_self_delay: u16,
}

/// One durable fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorStep {
    /// The channel is funded (always the first step of the first update). Boxed: it is
    /// large and written once.
    Funding(alloc::boxed::Box<FundingInfo>),
    /// A new holder commitment, with the counterparty's signatures: the one to broadcast
    /// from now on.
    HolderCommitment {
        /// Its number.
        commitment_number: u64,
        /// The unsigned transaction.
        transaction: Transaction,
        /// The counterparty's signature on it.
        counterparty_signature: Signature,
        /// The counterparty's signatures on its HTLC transactions, in output order.
        htlc_signatures: Vec<Signature>,
        /// Its untrimmed HTLCs, in output order.
        htlcs: Vec<CommitmentHtlc>,
    },
    /// A counterparty commitment we signed: what to expect if it appears on chain.
    CounterpartyCommitment {
        /// Its number.
        commitment_number: u64,
        /// Its txid.
        txid: Txid,
        /// The counterparty's per-commitment point for it.
        per_commitment_point: PublicKey,
        /// Its untrimmed HTLCs, in output order.
        htlcs: Vec<CommitmentHtlc>,
    },
    /// The counterparty revoked its commitment `commitment_number`.
    CommitmentSecret {
        /// The revoked commitment's number.
        commitment_number: u64,
        /// Its per-commitment secret.
        secret: [u8; 32],
    },
    /// A preimage learned (from the peer) or revealed (to the peer).
    PaymentPreimage(PaymentPreimage),
    /// The channel is closed: no further updates.
    ChannelClosed,
}

/// A batch of steps with its id. Ids increase by one per update, from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMonitorUpdate {
    /// The update's id.
    pub update_id: u64,
    /// What changed.
    pub steps: Vec<MonitorStep>,
}

/// Writes `tx` after its length, `len` (its `total_size`, which the caller measured
/// once), straight into `out`: no intermediate copy.
fn encode_transaction(tx: &Transaction, len: usize, out: &mut Vec<u8>) {
    BigSize(len as u64).encode(out);
    let start = out.len();
    tx.consensus_encode(out).expect("writing to a vector cannot fail");
    assert_eq!(out.len() - start, len, "a transaction's size is its encoding's length");
}

fn decode_transaction(r: &mut Reader<'_>) -> Result<Transaction, DecodeError> {
    let len = BigSize::decode(r)?.0;
    let bytes = r.take(usize::try_from(len).map_err(|_| DecodeError::ShortRead)?)?;
    deserialize(bytes).map_err(|_| DecodeError::InvalidValue { field: "transaction" })
}

fn encode_list<T>(items: &[T], out: &mut Vec<u8>, each: impl Fn(&T, &mut Vec<u8>)) {
    BigSize(items.len() as u64).encode(out);
    for item in items {
        each(item, out);
    }
}

fn decode_list<T>(
    r: &mut Reader<'_>,
    min_item_len: usize,
    each: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let count = BigSize::decode(r)?.0;
    r.ensure_room_for(count, min_item_len)?;
    (0..count).map(|_| each(r)).collect()
}

impl Encode for ChannelPublicKeys {
    fn encode(&self, out: &mut Vec<u8>) {
        self.funding_pubkey.encode(out);
        self.revocation_basepoint.encode(out);
        self.payment_basepoint.encode(out);
        self.delayed_payment_basepoint.encode(out);
        self.htlc_basepoint.encode(out);
    }
}

impl Decode for ChannelPublicKeys {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChannelPublicKeys {
            funding_pubkey: Decode::decode(r)?,
            revocation_basepoint: Decode::decode(r)?,
            payment_basepoint: Decode::decode(r)?,
            delayed_payment_basepoint: Decode::decode(r)?,
            htlc_basepoint: Decode::decode(r)?,
        })
    }
}

impl Encode for CommitmentHtlc {
    fn encode(&self, out: &mut Vec<u8>) {
        u8::from(self.offered).encode(out);
        self.amount_msat.encode(out);
        self.cltv_expiry.encode(out);
        self.payment_hash.encode(out);
    }
}

impl Decode for CommitmentHtlc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offered = match u8::decode(r)? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::InvalidValue { field: "offered" }),
        };
        Ok(CommitmentHtlc {
            offered,
            amount_msat: Decode::decode(r)?,
            cltv_expiry: Decode::decode(r)?,
            payment_hash: PaymentHash::decode(r)?,
        })
    }
}

const HTLC_LEN: usize = 1 + 8 + 4 + 32;
/// An encoded [`ChannelPublicKeys`]: five compressed points.
const KEYS_LEN: usize = 5 * 33;

impl MonitorStep {
    fn step_type(&self) -> u64 {
        match self {
            MonitorStep::Funding(_) => 0,
            MonitorStep::HolderCommitment { .. } => 2,
            MonitorStep::CounterpartyCommitment { .. } => 4,
            MonitorStep::CommitmentSecret { .. } => 6,
            MonitorStep::PaymentPreimage(_) => 8,
            MonitorStep::ChannelClosed => 10,
        }
    }

    /// The length of the transaction a holder commitment carries (zero for other steps):
    /// the one part of a step's length that takes a walk over the transaction to measure,
    /// so the encoder measures it once and hands it to [`Self::value_len`] and
    /// [`Self::encode_value`].
    fn transaction_len(&self) -> usize {
        match self {
            MonitorStep::HolderCommitment { transaction, .. } => transaction.total_size(),
            _ => 0,
        }
    }

    /// How many bytes [`Self::encode_value`] writes, computed without writing them: the
    /// encoder puts the length before the value, and reserves the whole update at once.
    /// `transaction_len` is [`Self::transaction_len`].
    fn value_len(&self, transaction_len: usize) -> usize {
        let list_len = |count: usize, item_len: usize| BigSize::encoded_len(count as u64) + count * item_len;
        match self {
            // Outpoint, value, who funded, both sides' keys, both delays.
            MonitorStep::Funding(_) => 32 + 4 + 8 + 1 + 2 * KEYS_LEN + 4,
            MonitorStep::HolderCommitment {
                htlc_signatures, htlcs, ..
            } => {
                8 + BigSize::encoded_len(transaction_len as u64)
                    + transaction_len
                    + 64
                    + list_len(htlc_signatures.len(), 64)
                    + list_len(htlcs.len(), HTLC_LEN)
            }
            MonitorStep::CounterpartyCommitment { htlcs, .. } => 8 + 32 + 33 + list_len(htlcs.len(), HTLC_LEN),
            MonitorStep::CommitmentSecret { .. } => 8 + 32,
            MonitorStep::PaymentPreimage(_) => 32,
            MonitorStep::ChannelClosed => 0,
        }
    }

    /// Writes the step's value; `transaction_len` is [`Self::transaction_len`].
    fn encode_value(&self, transaction_len: usize, out: &mut Vec<u8>) {
        match self {
            MonitorStep::Funding(f) => {
                f.funding_outpoint.txid.encode(out);
                f.funding_outpoint.vout.encode(out);
                f.funding_satoshis.encode(out);
                u8::from(f.holder_is_funder).encode(out);
                f.holder_pubkeys.encode(out);
                f.counterparty_pubkeys.encode(out);
                f.holder_to_self_delay.encode(out);
                f.counterparty_to_self_delay.encode(out);
            }
            MonitorStep::HolderCommitment {
                commitment_number,
                transaction,
                counterparty_signature,
                htlc_signatures,
                htlcs,
            } => {
                commitment_number.encode(out);
                encode_transaction(transaction, transaction_len, out);
                counterparty_signature.encode(out);
                encode_list(htlc_signatures, out, |s, o| s.encode(o));
                encode_list(htlcs, out, |h, o| h.encode(o));
            }
            MonitorStep::CounterpartyCommitment {
                commitment_number,
                txid,
                per_commitment_point,
                htlcs,
            } => {
                commitment_number.encode(out);
                txid.encode(out);
                per_commitment_point.encode(out);
                encode_list(htlcs, out, |h, o| h.encode(o));
            }
            MonitorStep::CommitmentSecret {
                commitment_number,
                secret,
            } => {
                commitment_number.encode(out);
                secret.encode(out);
            }
            MonitorStep::PaymentPreimage(preimage) => preimage.encode(out),
            MonitorStep::ChannelClosed => {}
        }
    }

    fn decode_value(step_type: u64, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match step_type {
            0 => MonitorStep::Funding(alloc::boxed::Box::new(FundingInfo {
                funding_outpoint: OutPoint {
                    txid: Decode::decode(r)?,
                    vout: Decode::decode(r)?,
                },
                funding_satoshis: Decode::decode(r)?,
                holder_is_funder: match u8::decode(r)? {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(DecodeError::InvalidValue {
                            field: "holder_is_funder",
                        })
                    }
                },
                holder_pubkeys: Decode::decode(r)?,
                counterparty_pubkeys: Decode::decode(r)?,
                holder_to_self_delay: Decode::decode(r)?,
                counterparty_to_self_delay: Decode::decode(r)?,
            })),
            2 => MonitorStep::HolderCommitment {
                commitment_number: Decode::decode(r)?,
                transaction: decode_transaction(r)?,
                counterparty_signature: Decode::decode(r)?,
                htlc_signatures: decode_list(r, 64, Signature::decode)?,
                htlcs: decode_list(r, HTLC_LEN, CommitmentHtlc::decode)?,
            },
            4 => MonitorStep::CounterpartyCommitment {
                commitment_number: Decode::decode(r)?,
                txid: Decode::decode(r)?,
                per_commitment_point: Decode::decode(r)?,
                htlcs: decode_list(r, HTLC_LEN, CommitmentHtlc::decode)?,
            },
            6 => MonitorStep::CommitmentSecret {
                commitment_number: Decode::decode(r)?,
                secret: Decode::decode(r)?,
            },
            8 => MonitorStep::PaymentPreimage(PaymentPreimage::decode(r)?),
            10 => MonitorStep::ChannelClosed,
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "monitor step type",
                })
            }
        })
    }
}

impl Encode for ChannelMonitorUpdate {
    fn encode(&self, out: &mut Vec<u8>) {
        // Every length is known before anything is written: one reservation for the
        // whole update (a persister encodes every one), each value after its length.
        let steps_len: usize = self
            .steps
            .iter()
            .map(|step| {
                let value_len = step.value_len(step.transaction_len());
                BigSize::encoded_len(step.step_type()) + BigSize::encoded_len(value_len as u64) + value_len
            })
            .sum();
        out.reserve(1 + 8 + steps_len);
        MONITOR_UPDATE_VERSION.encode(out);
        self.update_id.encode(out);
        for step in &self.steps {
            let transaction_len = step.transaction_len();
            let value_len = step.value_len(transaction_len);
            BigSize(step.step_type()).encode(out);
            BigSize(value_len as u64).encode(out);
            let value_start = out.len();
            step.encode_value(transaction_len, out);
            assert_eq!(
                out.len() - value_start,
                value_len,
                "a monitor step's value is as long as its length says"
            );
        }
    }
}

impl Decode for ChannelMonitorUpdate {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = u8::decode(r)?;
        if version != MONITOR_UPDATE_VERSION {
            return Err(DecodeError::InvalidValue {
                field: "monitor update version",
            });
        }
        let update_id = u64::decode(r)?;
        let mut steps = Vec::new();
        while !r.is_empty() {
            let step_type = BigSize::decode(r)?.0;
            let len = BigSize::decode(r)?.0;
            let value = r.take(usize::try_from(len).map_err(|_| DecodeError::ShortRead)?)?;
            if step_type % 2 == 1 {
                // A step added later that readers may ignore.
                continue;
            }
            let mut value_reader = Reader::new(value);
            let step = MonitorStep::decode_value(step_type, &mut value_reader)?;
            if !value_reader.is_empty() {
                return Err(DecodeError::InvalidValue {
                    field: "monitor step length",
                });
            }
            steps.push(step);
        }
        Ok(ChannelMonitorUpdate { update_id, steps })
    }
}

#[cfg(test)]
mod codec_tests {
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, transaction, Amount, ScriptBuf, TxOut};

    use super::*;

    /// Each step is its type, its value's length and its value, for every kind of step
    /// (lengths of one, three and zero bytes among them); the update is written into one
    /// reservation of exactly its length, and reads back as it was.
    #[test]
    fn steps_are_type_length_value_in_one_exact_reservation() {
        use crate::chain::monitor::tests::{funding, point};

        let signature = Signature::from_compact(&[1; 64]).expect("below the order");
        let transaction = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: Vec::new(),
            output: (0..8)
                .map(|i| TxOut {
                    value: Amount::from_sat(1_000 + i),
                    script_pubkey: ScriptBuf::from_bytes(alloc::vec![0x51; 34]),
                })
                .collect(),
        };
        let htlc = |i: u8| CommitmentHtlc {
            offered: i % 2 == 0,
            amount_msat: 1_000_000 * u64::from(i),
            cltv_expiry: 500 + u32::from(i),
            payment_hash: PaymentHash([i; 32]),
        };
        let update = ChannelMonitorUpdate {
            update_id: 7,
            steps: alloc::vec![
                funding(),
                MonitorStep::PaymentPreimage(PaymentPreimage([9; 32])),
                MonitorStep::HolderCommitment {
                    commitment_number: 3,
                    transaction,
                    counterparty_signature: signature,
                    htlc_signatures: alloc::vec![signature; 2],
                    htlcs: (1..=2).map(htlc).collect(),
                },
                MonitorStep::CounterpartyCommitment {
                    commitment_number: 4,
                    txid: Txid::from_byte_array([5; 32]),
                    per_commitment_point: point(30),
                    htlcs: (1..=3).map(htlc).collect(),
                },
                MonitorStep::CommitmentSecret {
                    commitment_number: 2,
                    secret: [6; 32],
                },
                MonitorStep::ChannelClosed,
            ],
        };
        let bytes = update.encode_to_vec();
        let mut expected = alloc::vec![MONITOR_UPDATE_VERSION];
        7u64.encode(&mut expected);
        for step in &update.steps {
            let mut value = Vec::new();
            step.encode_value(step.transaction_len(), &mut value);
            assert_eq!(value.len(), step.value_len(step.transaction_len()), "{step:?}");
            BigSize(step.step_type()).encode(&mut expected);
            BigSize(value.len() as u64).encode(&mut expected);
            expected.extend_from_slice(&value);
        }
        assert_eq!(bytes, expected);
        assert_eq!(bytes.capacity(), bytes.len(), "reserved once, exactly");
        assert!(bytes.len() > 1 + 8 + 253, "the commitment's length takes three bytes");
        assert_eq!(ChannelMonitorUpdate::decode_exact(&bytes), Ok(update));
    }

    /// The length the decoder bounds HTLC counts with is an HTLC's encoded length.
    #[test]
    fn htlc_len_is_an_encoded_htlc() {
        let htlc = CommitmentHtlc {
            offered: true,
            amount_msat: 5_000_000,
            cltv_expiry: 500_000,
            payment_hash: PaymentHash([7; 32]),
        };
        let mut bytes = Vec::new();
        htlc.encode(&mut bytes);
        assert_eq!(bytes.len(), HTLC_LEN);
    }
}
