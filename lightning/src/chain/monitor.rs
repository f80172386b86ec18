//! The channel monitor: applies [`ChannelMonitorUpdate`]s in id order and keeps the latest
//! holder commitment (never a revoked one), the counterparty commitments not yet revoked,
//! the counterparty's revocation secrets and every preimage, so it can enforce the
//! channel on chain without the channel manager.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Transaction, Txid};

use crate::chan::commitment::CommitmentHtlc;
use crate::chan::monitor_update::{ChannelMonitorUpdate, FundingInfo, MonitorStep};
use crate::chan::secrets::{CounterpartyCommitmentSecrets, INITIAL_COMMITMENT_NUMBER};
use crate::wire::{Decode, DecodeError, Encode, PaymentHash, PaymentPreimage, Reader};

/// The monitor encoding version written by this library.
pub const MONITOR_VERSION: u8 = 1;

/// Why an update could not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorError {
    /// The update is older than what the monitor has (a replay).
    Stale {
        /// The monitor's latest update id.
        latest: u64,
        /// The update's id.
        given: u64,
    },
    /// An update is missing between the monitor's latest and this one.
    Gap {
        /// The id expected.
        expected: u64,
        /// The id given.
        given: u64,
    },
    /// The update contradicts the monitor (a second funding, a holder commitment going
    /// back, a secret that does not derive the earlier ones).
    Inconsistent(&'static str),
    /// The channel is closed.
    Closed,
}

impl fmt::Display for MonitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorError::Stale { latest, given } => {
                write!(f, "update {given} is stale (monitor at {latest})")
            }
            MonitorError::Gap { expected, given } => {
                write!(f, "update {given} given, {expected} expected")
            }
            MonitorError::Inconsistent(why) => write!(f, "inconsistent update: {why}"),
            MonitorError::Closed => f.write_str("the channel is closed"),
        }
    }
}

/// The holder commitment the monitor would broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCommitmentInfo {
    /// Its number.
    pub commitment_number: u64,
    /// The unsigned transaction.
    pub transaction: Transaction,
    /// The counterparty's signature.
    pub counterparty_signature: Signature,
    /// The counterparty's HTLC signatures, in output order.
    pub htlc_signatures: Vec<Signature>,
    /// The HTLCs, in output order.
    pub htlcs: Vec<CommitmentHtlc>,
}

/// A counterparty commitment not yet revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterpartyCommitmentInfo {
    /// Its txid.
    pub txid: Txid,
    /// The counterparty's per-commitment point for it.
    pub per_commitment_point: PublicKey,
    /// Its HTLCs, in output order.
    pub htlcs: Vec<CommitmentHtlc>,
}

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelMonitor {
    latest_update_id: u64,
    funding: Option<FundingInfo>,
    holder_commitment: Option<HolderCommitmentInfo>,
    counterparty_commitments: BTreeMap<u64, CounterpartyCommitmentInfo>,
    counterparty_secrets: CounterpartyCommitmentSecrets,
    preimages: BTreeMap<PaymentHash, PaymentPreimage>,
    closed: bool,
}

impl ChannelMonitor {
    /// A monitor that has applied no update.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of the last update applied (0 before any).
    pub fn latest_update_id(&self) -> u64 {
        self.latest_update_id
    }

    /// The channel's funding facts, once known.
    pub fn funding(&self) -> Option<&FundingInfo> {
        self.funding.as_ref()
    }

    /// The holder commitment to broadcast if the channel must close.
    pub fn holder_commitment(&self) -> Option<&HolderCommitmentInfo> {
        self.holder_commitment.as_ref()
    }

    /// Counterparty commitments not revoked yet, by number.
    pub fn counterparty_commitments(&self) -> &BTreeMap<u64, CounterpartyCommitmentInfo> {
        &self.counterparty_commitments
    }

    /// The preimage for `payment_hash`, if known.
    pub fn preimage(&self, payment_hash: &PaymentHash) -> Option<PaymentPreimage> {
        self.preimages.get(payment_hash).copied()
    }

    /// The counterparty's revocation secret for its commitment `commitment_number`.
    pub fn counterparty_secret(&self, commitment_number: u64) -> Option<[u8; 32]> {
        self.counterparty_secrets
            .get(INITIAL_COMMITMENT_NUMBER.checked_sub(commitment_number)?)
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Applies `update`, which must be the next one. On error nothing changes.
    pub fn update(&mut self, update: &ChannelMonitorUpdate) -> Result<(), MonitorError> {
        if update.update_id <= self.latest_update_id {
            return Err(MonitorError::Stale {
                latest: self.latest_update_id,
                given: update.update_id,
            });
        }
        // Below the given id, so below u64::MAX: a monitor at the last id finds every
        // update stale above.
        let expected = self.latest_update_id + 1;
        if update.update_id != expected {
            return Err(MonitorError::Gap {
                expected,
                given: update.update_id,
            });
        }
        if self.closed {
            return Err(MonitorError::Closed);
        }
        // Check every step before changing anything, so a refused update leaves the
        // monitor as it was, without copying the whole monitor (its preimages grow with
        // every payment) on each update.
        let mut funded = self.funding.is_some();
        let mut holder_number = self.holder_commitment.as_ref().map(|h| h.commitment_number);
        let mut secrets: Option<CounterpartyCommitmentSecrets> = None;
        for step in &update.steps {
            match step {
                MonitorStep::Funding(_) if funded => return Err(MonitorError::Inconsistent("second funding")),
                MonitorStep::Funding(_) => funded = true,
                MonitorStep::HolderCommitment { commitment_number, .. } => {
                    if holder_number.is_some_and(|n| n >= *commitment_number) {
                        return Err(MonitorError::Inconsistent("holder commitment does not move forward"));
                    }
                    holder_number = Some(*commitment_number);
                }
                MonitorStep::CommitmentSecret {
                    commitment_number,
                    secret,
                } => {
                    let index = INITIAL_COMMITMENT_NUMBER
                        .checked_sub(*commitment_number)
                        .ok_or(MonitorError::Inconsistent("commitment number out of range"))?;
                    secrets
                        .get_or_insert_with(|| self.counterparty_secrets.clone())
                        .insert(index, *secret)
                        .map_err(|_| MonitorError::Inconsistent("revocation secret"))?;
                }
                _ => {}
            }
        }
        for step in &update.steps {
            self.apply(step);
        }
        if let Some(secrets) = secrets {
            self.counterparty_secrets = secrets;
        }
        self.latest_update_id = update.update_id;
        Ok(())
    }

    /// Applies a step already checked by [`ChannelMonitor::update`] (secrets are stored
    /// there, from the checked copy).
    fn apply(&mut self, step: &MonitorStep) {
        match step {
            MonitorStep::Funding(funding) => self.funding = Some((**funding).clone()),
            MonitorStep::HolderCommitment {
                commitment_number,
                transaction,
                counterparty_signature,
                htlc_signatures,
                htlcs,
            } => {
                self.holder_commitment = Some(HolderCommitmentInfo {
                    commitment_number: *commitment_number,
                    transaction: transaction.clone(),
                    counterparty_signature: *counterparty_signature,
                    htlc_signatures: htlc_signatures.clone(),
                    htlcs: htlcs.clone(),
                });
            }
            MonitorStep::CounterpartyCommitment {
                commitment_number,
                txid,
                per_commitment_point,
                htlcs,
            } => {
                let info = CounterpartyCommitmentInfo {
                    txid: *txid,
                    per_commitment_point: *per_commitment_point,
                    htlcs: htlcs.clone(),
                };
                self.counterparty_commitments.insert(*commitment_number, info);
            }
            MonitorStep::CommitmentSecret { commitment_number, .. } => {
                // Revoked: from now on it is punished, not tracked as a live state.
                self.counterparty_commitments.remove(commitment_number);
            }
            MonitorStep::PaymentPreimage(preimage) => {
                let hash = PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array());
                self.preimages.insert(hash, *preimage);
            }
            MonitorStep::ChannelClosed => self.closed = true,
        }
    }
}

impl Encode for ChannelMonitor {
    fn encode(&self, out: &mut Vec<u8>) {
        MONITOR_VERSION.encode(out);
        self.latest_update_id.encode(out);
        u8::from(self.closed).encode(out);
        // Everything else is replayable state: write it as the steps that rebuild it.
        let mut steps = Vec::new();
        if let Some(funding) = &self.funding {
            steps.push(MonitorStep::Funding(alloc::boxed::Box::new(funding.clone())));
        }
        if let Some(h) = &self.holder_commitment {
            steps.push(MonitorStep::HolderCommitment {
                commitment_number: h.commitment_number,
                transaction: h.transaction.clone(),
                counterparty_signature: h.counterparty_signature,
                htlc_signatures: h.htlc_signatures.clone(),
                htlcs: h.htlcs.clone(),
            });
        }
        for (number, c) in &self.counterparty_commitments {
            steps.push(MonitorStep::CounterpartyCommitment {
                commitment_number: *number,
                txid: c.txid,
                per_commitment_point: c.per_commitment_point,
                htlcs: c.htlcs.clone(),
            });
        }
        // Preimages only: the hash is recomputed, so each costs 32 bytes.
        steps.extend(self.preimages.values().map(|p| MonitorStep::PaymentPreimage(*p)));
        let state = ChannelMonitorUpdate { update_id: 0, steps }.encode_to_vec();
        crate::wire::BigSize(state.len() as u64).encode(out);
        out.extend_from_slice(&state);
        self.counterparty_secrets.encode(out);
    }
}

impl Decode for ChannelMonitor {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if u8::decode(r)? != MONITOR_VERSION {
            return Err(DecodeError::InvalidValue {
                field: "monitor version",
            });
        }
        let latest_update_id = u64::decode(r)?;
        let closed = match u8::decode(r)? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::InvalidValue { field: "closed" }),
        };
        let steps_len = usize::try_from(crate::wire::BigSize::decode(r)?.0).map_err(|_| DecodeError::ShortRead)?;
        let steps = ChannelMonitorUpdate::decode_exact(r.take(steps_len)?)?;
        let counterparty_secrets = CounterpartyCommitmentSecrets::decode(r)?;
        let mut monitor = ChannelMonitor {
            counterparty_secrets,
            ..ChannelMonitor::default()
        };
        for step in &steps.steps {
            if matches!(step, MonitorStep::CommitmentSecret { .. } | MonitorStep::ChannelClosed) {
                return Err(DecodeError::InvalidValue {
                    field: "monitor state step",
                });
            }
            if matches!(step, MonitorStep::Funding(_)) && monitor.funding.is_some() {
                return Err(DecodeError::InvalidValue { field: "monitor state" });
            }
            monitor.apply(step);
        }
        monitor.latest_update_id = latest_update_id;
        monitor.closed = closed;
        Ok(monitor)
    }
}

#[cfg(test)]
pub(crate) mod tests;
