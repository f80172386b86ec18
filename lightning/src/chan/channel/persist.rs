//! Channel persistence: everything but the signer, versioned and ending in a TLV stream
//! for later fields. A channel read back is disconnected until it reestablishes, and is
//! checked against its monitor before use ([`Channel::check_against_monitor`]).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{OutPoint, ScriptBuf, Transaction};

use super::close::CloseState;
use super::{Channel, ChannelLimits, ChannelPhase, LastSent};
use crate::chan::commitment::ChannelPublicKeys;
use crate::chan::ledger::ChannelLedger;
use crate::chan::secrets::{CounterpartyCommitmentSecrets, INITIAL_COMMITMENT_NUMBER};
use crate::sign::{ChannelSigner, ChannelTransactionParameters};
use crate::wire::tlv::tlv_stream;
use crate::wire::{ChannelId, Decode, DecodeError, Encode, OnionPacket, Reader};

tlv_stream! {
    /// The channel encoding's trailing records: fields added within a version. Odd types,
    /// so a reader that predates one skips it.
    pub struct ChannelStateTlvs {
        /// [`CloseState::holder_upfront_script`].
        1 => holder_upfront_script: ScriptBuf,
        /// [`CloseState::counterparty_upfront_script`].
        3 => counterparty_upfront_script: ScriptBuf,
        /// [`CloseState::upfront_negotiated`]: 1 if set (absent if not).
        5 => upfront_negotiated: u8,
        /// The peer's signature on our current commitment (what a force close broadcasts).
        7 => holder_commitment_signature: Signature,
        /// [`CloseState::requested_script`].
        9 => requested_shutdown_script: ScriptBuf,
    }
}

/// The encoding version written by this library.
pub const CHANNEL_VERSION: u8 = 1;

fn encode_option<T>(value: &Option<T>, out: &mut Vec<u8>, each: impl FnOnce(&T, &mut Vec<u8>)) {
    match value {
        Some(v) => {
            out.push(1);
            each(v, out);
        }
        None => out.push(0),
    }
}

fn decode_option<T>(
    r: &mut Reader<'_>,
    each: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    match u8::decode(r)? {
        0 => Ok(None),
        1 => each(r).map(Some),
        _ => Err(DecodeError::InvalidValue { field: "option flag" }),
    }
}

fn decode_bool(r: &mut Reader<'_>, field: &'static str) -> Result<bool, DecodeError> {
    match u8::decode(r)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidValue { field }),
    }
}

impl Encode for ChannelLimits {
    fn encode(&self, out: &mut Vec<u8>) {
        self.dust_limit_satoshis.encode(out);
        self.max_htlc_value_in_flight_msat.encode(out);
        self.channel_reserve_satoshis.encode(out);
        self.htlc_minimum_msat.encode(out);
        self.to_self_delay.encode(out);
        self.max_accepted_htlcs.encode(out);
    }
}

impl Decode for ChannelLimits {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ChannelLimits {
            dust_limit_satoshis: Decode::decode(r)?,
            max_htlc_value_in_flight_msat: Decode::decode(r)?,
            channel_reserve_satoshis: Decode::decode(r)?,
            htlc_minimum_msat: Decode::decode(r)?,
            to_self_delay: Decode::decode(r)?,
            max_accepted_htlcs: Decode::decode(r)?,
        })
    }
}

fn encode_phase(phase: ChannelPhase, out: &mut Vec<u8>) {
    let (tag, sent, received) = match phase {
        ChannelPhase::AwaitingAccept => (0, false, false),
        ChannelPhase::AwaitingFundingTransaction => (1, false, false),
        ChannelPhase::AwaitingFundingCreated => (2, false, false),
        ChannelPhase::AwaitingFundingSigned => (3, false, false),
        ChannelPhase::AwaitingChannelReady { sent, received } => (4, sent, received),
        ChannelPhase::Normal => (5, false, false),
        ChannelPhase::ShuttingDown => (6, false, false),
        ChannelPhase::Closed => (7, false, false),
        ChannelPhase::Failed => (8, false, false),
    };
    out.extend_from_slice(&[tag, u8::from(sent), u8::from(received)]);
}

fn decode_phase(r: &mut Reader<'_>) -> Result<ChannelPhase, DecodeError> {
    let tag = u8::decode(r)?;
    let sent = decode_bool(r, "phase")?;
    let received = decode_bool(r, "phase")?;
    Ok(match tag {
        0 => ChannelPhase::AwaitingAccept,
        1 => ChannelPhase::AwaitingFundingTransaction,
        2 => ChannelPhase::AwaitingFundingCreated,
        3 => ChannelPhase::AwaitingFundingSigned,
        4 => ChannelPhase::AwaitingChannelReady { sent, received },
        5 => ChannelPhase::Normal,
        6 => ChannelPhase::ShuttingDown,
        7 => ChannelPhase::Closed,
        8 => ChannelPhase::Failed,
        _ => return Err(DecodeError::InvalidValue { field: "phase" }),
    })
}

fn encode_transaction(tx: &Transaction, out: &mut Vec<u8>) {
    serialize(tx).encode(out);
}

fn decode_transaction(r: &mut Reader<'_>) -> Result<Transaction, DecodeError> {
    deserialize(&Vec::<u8>::decode(r)?).map_err(|_| DecodeError::InvalidValue { field: "transaction" })
}

impl<S: ChannelSigner> Channel<S> {
    /// The channel's state, without the signer (which the user re-derives, for example
    /// from a [`crate::sign::KeysManager`] and the channel's keys id).
    pub fn encode_state(&self) -> Vec<u8> {
        let mut out = Vec::new();
        CHANNEL_VERSION.encode(&mut out);
        encode_phase(self.phase, &mut out);
        u8::from(self.holder_is_funder).encode(&mut out);
        self.channel_id.encode(&mut out);
        self.funding_satoshis.encode(&mut out);
        encode_option(&self.funding_outpoint, &mut out, |o, out| {
            o.txid.encode(out);
            o.vout.encode(out);
        });
        self.holder_limits.encode(&mut out);
        self.counterparty_limits.encode(&mut out);
        encode_option(&self.counterparty_pubkeys, &mut out, |k, out| k.encode(out));
        encode_option(&self.counterparty_current_point, &mut out, |p, out| p.encode(out));
        encode_option(&self.counterparty_next_point, &mut out, |p, out| p.encode(out));
        self.holder_commitment_number.encode(&mut out);
        self.counterparty_commitment_number.encode(&mut out);
        self.ledger.encode(&mut out);
        self.counterparty_secrets.encode(&mut out);
        u8::from(self.awaiting_revoke).encode(&mut out);
        self.next_monitor_update_id.encode(&mut out);
        let last_sent = match self.last_sent {
            None => 0u8,
            Some(LastSent::CommitmentSigned) => 1,
            Some(LastSent::RevokeAndAck) => 2,
        };
        last_sent.encode(&mut out);
        (self.pending_onions.len() as u32).encode(&mut out);
        for (id, onion) in &self.pending_onions {
            id.encode(&mut out);
            onion.encode(&mut out);
        }
        encode_option(&self.close.holder_script, &mut out, |s, out| s.encode(out));
        encode_option(&self.close.counterparty_script, &mut out, |s, out| s.encode(out));
        encode_option(&self.close.last_sent_fee_satoshis, &mut out, |f, out| f.encode(out));
        encode_option(&self.close.closing_transaction, &mut out, encode_transaction);
        ChannelStateTlvs {
            holder_upfront_script: self.close.holder_upfront_script.clone(),
            counterparty_upfront_script: self.close.counterparty_upfront_script.clone(),
            upfront_negotiated: self.close.upfront_negotiated.then_some(1),
            holder_commitment_signature: self.holder_commitment_signature,
            requested_shutdown_script: self.close.requested_script.clone(),
            ..ChannelStateTlvs::default()
        }
        .encode(&mut out);
        out
    }

    /// Reads a channel written by [`Channel::encode_state`], with its signer. Corrupt or
    /// truncated bytes give an error. The channel comes back disconnected.
    pub fn read(bytes: &[u8], mut signer: S) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        if u8::decode(&mut r)? != CHANNEL_VERSION {
            return Err(DecodeError::InvalidValue {
                field: "channel version",
            });
        }
        let phase = decode_phase(&mut r)?;
        let holder_is_funder = decode_bool(&mut r, "holder_is_funder")?;
        let channel_id = ChannelId::decode(&mut r)?;
        let funding_satoshis = u64::decode(&mut r)?;
        let funding_outpoint = decode_option(&mut r, |r| {
            Ok(OutPoint {
                txid: Decode::decode(r)?,
                vout: Decode::decode(r)?,
            })
        })?;
        let holder_limits = ChannelLimits::decode(&mut r)?;
        let counterparty_limits = ChannelLimits::decode(&mut r)?;
        let counterparty_pubkeys = decode_option(&mut r, ChannelPublicKeys::decode)?;
        let counterparty_current_point = decode_option(&mut r, PublicKey::decode)?;
        let counterparty_next_point = decode_option(&mut r, PublicKey::decode)?;
        let holder_commitment_number = u64::decode(&mut r)?;
        let counterparty_commitment_number = u64::decode(&mut r)?;
        let ledger = ChannelLedger::decode(&mut r)?;
        let counterparty_secrets = CounterpartyCommitmentSecrets::decode(&mut r)?;
        let awaiting_revoke = decode_bool(&mut r, "awaiting_revoke")?;
        let next_monitor_update_id = u64::decode(&mut r)?;
        let last_sent = match u8::decode(&mut r)? {
            0 => None,
            1 => Some(LastSent::CommitmentSigned),
            2 => Some(LastSent::RevokeAndAck),
            _ => return Err(DecodeError::InvalidValue { field: "last_sent" }),
        };
        let onion_count = u32::decode(&mut r)?;
        // Each pending onion is an 8-byte HTLC id and a 1,366-byte packet.
        r.ensure_room_for(u64::from(onion_count), 1_374)?;
        let mut pending_onions = BTreeMap::new();
        for _ in 0..onion_count {
            pending_onions.insert(u64::decode(&mut r)?, OnionPacket::decode(&mut r)?);
        }
        let holder_script = decode_option(&mut r, ScriptBuf::decode)?;
        let counterparty_script = decode_option(&mut r, ScriptBuf::decode)?;
        let last_sent_fee_satoshis = decode_option(&mut r, u64::decode)?;
        let closing_transaction = decode_option(&mut r, decode_transaction)?;
        let tlvs = ChannelStateTlvs::decode(&mut r)?;
        let upfront_negotiated = match tlvs.upfront_negotiated {
            None => false,
            Some(1) => true,
            Some(_) => {
                return Err(DecodeError::InvalidValue {
                    field: "upfront_negotiated",
                })
            }
        };
        let close = CloseState {
            holder_script,
            counterparty_script,
            last_sent_fee_satoshis,
            // Negotiation restarts on reconnection, which follows every restart.
            last_received_fee_satoshis: None,
            fee_range: None,
            closing_transaction,
            holder_upfront_script: tlvs.holder_upfront_script,
            counterparty_upfront_script: tlvs.counterparty_upfront_script,
            upfront_negotiated,
            requested_script: tlvs.requested_shutdown_script,
            // Set again when the peer connects.
            anysegwit_negotiated: false,
        };

        // Counters no live channel writes: update ids start at 1 (the channel checks
        // where they grow), commitment numbers are 48 bits (BOLT 3), and awaiting a
        // revocation needs a commitment to revoke.
        let counters_ok = next_monitor_update_id != 0
            && holder_commitment_number <= INITIAL_COMMITMENT_NUMBER
            && counterparty_commitment_number <= INITIAL_COMMITMENT_NUMBER
            && !(awaiting_revoke && counterparty_commitment_number == 0);
        if !counters_ok {
            return Err(DecodeError::InvalidValue {
                field: "channel counters",
            });
        }
        // Without option_support_large_channel (which we do not offer) no channel is this
        // large; a corrupt funding would overflow in millisatoshis.
        if funding_satoshis > super::establish::MAX_FUNDING_SATOSHIS_NO_LARGE {
            return Err(DecodeError::InvalidValue {
                field: "funding_satoshis",
            });
        }
        // Limits as opening accepted them (each side's, and each dust limit within the
        // other side's reserve once both sides' are known): corrupt ones would overflow
        // when an HTLC is checked against them.
        let limits_ok = [&holder_limits, &counterparty_limits]
            .into_iter()
            .all(|limits| super::establish::check_limits(limits, funding_satoshis).is_ok())
            && (counterparty_pubkeys.is_none()
                || (holder_limits.dust_limit_satoshis <= counterparty_limits.channel_reserve_satoshis
                    && counterparty_limits.dust_limit_satoshis <= holder_limits.channel_reserve_satoshis));
        if !limits_ok {
            return Err(DecodeError::InvalidValue {
                field: "channel limits",
            });
        }
        if let (Some(outpoint), Some(pubkeys)) = (funding_outpoint, counterparty_pubkeys) {
            let parameters = ChannelTransactionParameters {
                holder_is_funder,
                funding_outpoint: outpoint,
                funding_satoshis,
                counterparty_pubkeys: pubkeys,
                holder_to_self_delay: counterparty_limits.to_self_delay,
                counterparty_to_self_delay: holder_limits.to_self_delay,
            };
            // Every holder commitment before the current one has been revoked.
            signer.resume(&parameters, holder_commitment_number, holder_commitment_number);
        }
        let mut channel = Channel {
            signer,
            secp: crate::secp_context::shared(),
            phase,
            holder_is_funder,
            channel_id,
            funding_satoshis,
            funding_outpoint,
            holder_limits,
            counterparty_limits,
            counterparty_pubkeys,
            counterparty_current_point,
            counterparty_next_point,
            holder_commitment_number,
            counterparty_commitment_number,
            holder_commitment_signature: tlvs.holder_commitment_signature,
            ledger,
            counterparty_secrets,
            awaiting_revoke,
            next_monitor_update_id,
            monitor_updates: Vec::new(),
            connected: false,
            last_sent,
            pending_onions,
            holder_point_cache: None,
            basepoint_memo: Default::default(),
            close,
            #[cfg(feature = "planted-bugs")]
            planted_bug: None,
        };
        if channel.holder_view().total_msat() != funding_satoshis.saturating_mul(1000) {
            return Err(DecodeError::InvalidValue {
                field: "channel balances",
            });
        }
        // The connection is gone: the peer resends what we had not committed.
        channel.peer_disconnected();
        Ok(channel)
    }
}

/// How a reloaded channel and its monitor relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorMismatch {
    /// The monitor lacks updates the channel produced (`first_missing` on): the channel
    /// may have acted on them (a revocation sent), so the monitor's holder commitment may
    /// be revoked. Never broadcast it; ask the peer to close.
    MonitorBehind {
        /// The first update the monitor lacks.
        first_missing: u64,
    },
    /// The channel is older than its monitor: its view is stale. Stop using it and close
    /// from the monitor, whose holder commitment is the latest and never revoked.
    ChannelBehind {
        /// The monitor's latest update.
        monitor_update_id: u64,
    },
    /// The monitor watches another funding output than the channel's (storage handed
    /// over another channel's monitor): nothing it holds is this channel's. Never
    /// broadcast from it; ask the peer to close.
    OtherFunding {
        /// The funding output the monitor watches.
        monitor_funding: OutPoint,
    },
}

impl<S: ChannelSigner> Channel<S> {
    /// Compares a reloaded channel with its reloaded monitor. On a mismatch the channel
    /// is failed: it signs nothing more.
    pub fn check_against_monitor(&mut self, monitor: &crate::chain::ChannelMonitor) -> Result<(), MonitorMismatch> {
        self.check_monitor_funding(monitor)?;
        let channel_latest = self.latest_monitor_update_id();
        let monitor_latest = monitor.latest_update_id();
        let mismatch = if monitor_latest < channel_latest {
            MonitorMismatch::MonitorBehind {
                first_missing: monitor_latest + 1,
            }
        } else if monitor_latest > channel_latest {
            MonitorMismatch::ChannelBehind {
                monitor_update_id: monitor_latest,
            }
        } else {
            return Ok(());
        };
        self.phase = ChannelPhase::Failed;
        Err(mismatch)
    }

    /// Whether `monitor` watches this channel's funding output, where both know one: a
    /// monitor for another outpoint is another channel's, whatever its update id. On a
    /// mismatch the channel is failed: it signs nothing more.
    pub fn check_monitor_funding(&mut self, monitor: &crate::chain::ChannelMonitor) -> Result<(), MonitorMismatch> {
        match (self.funding_outpoint, monitor.funding()) {
            (Some(ours), Some(watched)) if watched.funding_outpoint != ours => {
                self.phase = ChannelPhase::Failed;
                Err(MonitorMismatch::OtherFunding {
                    monitor_funding: watched.funding_outpoint,
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every phase a channel can be saved in reads back as itself.
    #[test]
    fn every_phase_reads_back() {
        let phases = [
            ChannelPhase::AwaitingAccept,
            ChannelPhase::AwaitingFundingTransaction,
            ChannelPhase::AwaitingFundingCreated,
            ChannelPhase::AwaitingFundingSigned,
            ChannelPhase::AwaitingChannelReady {
                sent: true,
                received: false,
            },
            ChannelPhase::AwaitingChannelReady {
                sent: false,
                received: true,
            },
            ChannelPhase::Normal,
            ChannelPhase::ShuttingDown,
            ChannelPhase::Closed,
            ChannelPhase::Failed,
        ];
        for phase in phases {
            let mut bytes = Vec::new();
            encode_phase(phase, &mut bytes);
            assert_eq!(decode_phase(&mut Reader::new(&bytes)), Ok(phase));
        }
        assert!(decode_phase(&mut Reader::new(&[9, 0, 0])).is_err());
    }
}
