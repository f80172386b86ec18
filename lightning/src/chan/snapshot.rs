//! A channel snapshot both ends can produce, and the mirrored comparison harnesses use to
//! diff the two parties' views of one channel.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::channel::Channel;
use super::ledger::{CommitmentView, Side};
use crate::sign::ChannelSigner;
use crate::wire::{ChannelId, PaymentHash};

/// Where an HTLC stands, from the snapshot owner's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HtlcSnapshot {
    /// Its value.
    pub amount_msat: u64,
    /// Its hash.
    pub payment_hash: PaymentHash,
    /// Its expiry.
    pub cltv_expiry: u32,
    /// In the owner's current commitment.
    pub in_holder_commitment: bool,
    /// In the latest counterparty commitment the owner signed.
    pub in_counterparty_commitment: bool,
}

/// One commitment's balances and feerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitmentSnapshot {
    /// The commitment's number.
    pub commitment_number: u64,
    /// The owner's balance in it.
    pub holder_balance_msat: u64,
    /// The counterparty's balance in it.
    pub counterparty_balance_msat: u64,
    /// Its feerate.
    pub feerate_per_kw: u32,
}

/// What one end believes about a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// The channel.
    pub channel_id: ChannelId,
    /// The owner's current commitment.
    pub holder_commitment: CommitmentSnapshot,
    /// The latest counterparty commitment the owner signed.
    pub counterparty_commitment: CommitmentSnapshot,
    /// Every HTLC in either commitment, by offerer and id.
    pub htlcs: BTreeMap<(Side, u64), HtlcSnapshot>,
}

fn commitment(number: u64, view: &CommitmentView) -> CommitmentSnapshot {
    CommitmentSnapshot {
        commitment_number: number,
        holder_balance_msat: view.holder_balance_msat,
        counterparty_balance_msat: view.counterparty_balance_msat,
        feerate_per_kw: view.feerate_per_kw,
    }
}

impl ChannelSnapshot {
    /// The snapshot of `channel` as its owner sees it.
    pub fn of<S: ChannelSigner>(channel: &Channel<S>) -> Self {
        let holder = channel.holder_view();
        let counterparty = channel.counterparty_view();
        let mut htlcs = BTreeMap::new();
        for (key, htlc) in holder.htlcs.iter().chain(counterparty.htlcs.iter()) {
            htlcs.insert(
                *key,
                HtlcSnapshot {
                    amount_msat: htlc.amount_msat,
                    payment_hash: htlc.payment_hash,
                    cltv_expiry: htlc.cltv_expiry,
                    in_holder_commitment: holder.htlcs.contains_key(key),
                    in_counterparty_commitment: counterparty.htlcs.contains_key(key),
                },
            );
        }
        ChannelSnapshot {
            channel_id: channel.channel_id(),
            holder_commitment: commitment(channel.holder_commitment_number(), &holder),
            counterparty_commitment: commitment(channel.counterparty_commitment_number(), &counterparty),
            htlcs,
        }
    }

    /// The same state as the other end would describe it.
    pub fn mirrored(&self) -> Self {
        let swap = |c: &CommitmentSnapshot| CommitmentSnapshot {
            holder_balance_msat: c.counterparty_balance_msat,
            counterparty_balance_msat: c.holder_balance_msat,
            ..*c
        };
        ChannelSnapshot {
            channel_id: self.channel_id,
            holder_commitment: swap(&self.counterparty_commitment),
            counterparty_commitment: swap(&self.holder_commitment),
            htlcs: self
                .htlcs
                .iter()
                .map(|((side, id), h)| {
                    let mirrored = HtlcSnapshot {
                        in_holder_commitment: h.in_counterparty_commitment,
                        in_counterparty_commitment: h.in_holder_commitment,
                        ..*h
                    };
                    ((side.other(), *id), mirrored)
                })
                .collect(),
        }
    }

    /// The differences between this end's snapshot and the other end's, as the other end
    /// would see them; empty when the two agree (as they must on a quiet channel).
    pub fn diff_against_peer(&self, peer: &ChannelSnapshot) -> Vec<String> {
        let mirrored = peer.mirrored();
        let mut diffs = Vec::new();
        if self.channel_id != mirrored.channel_id {
            diffs.push(alloc::format!(
                "channel id {:?} vs {:?}",
                self.channel_id,
                mirrored.channel_id
            ));
        }
        if self.holder_commitment != mirrored.holder_commitment {
            diffs.push(alloc::format!(
                "holder commitment {:?} vs {:?}",
                self.holder_commitment,
                mirrored.holder_commitment
            ));
        }
        if self.counterparty_commitment != mirrored.counterparty_commitment {
            diffs.push(alloc::format!(
                "counterparty commitment {:?} vs {:?}",
                self.counterparty_commitment,
                mirrored.counterparty_commitment
            ));
        }
        for key in self.htlcs.keys().chain(mirrored.htlcs.keys()) {
            let (ours, theirs) = (self.htlcs.get(key), mirrored.htlcs.get(key));
            if ours != theirs && !diffs.iter().any(|d| d.starts_with(&alloc::format!("htlc {key:?}"))) {
                diffs.push(alloc::format!("htlc {key:?}: {ours:?} vs {theirs:?}"));
            }
        }
        diffs
    }
}
