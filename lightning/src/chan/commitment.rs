//! The BOLT 3 commitment transaction (static_remotekey, no anchors): obscured commitment
//! number, fee from the expected weight, trimming of dust HTLCs, the funder paying the
//! fee, and BIP 69 + CLTV output order.
//!
//! Built from the point of view of the *broadcaster* (the side that holds it and can
//! publish it); the *countersignatory* is the side that signs it.

use alloc::vec::Vec;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Secp256k1, Verification};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use super::keys::{derive_public_key, derive_revocation_public_key, KeyDerivationError};
use super::script::{
    offered_htlc_script_with, p2wsh_script_pubkey, received_htlc_script_with, to_local_script, HtlcScriptKeys,
};
use crate::wire::PaymentHash;

/// Expected weight of a commitment transaction without HTLC outputs.
pub const COMMITMENT_BASE_WEIGHT: u64 = 724;
/// Expected weight each untrimmed HTLC output adds.
pub const COMMITMENT_WEIGHT_PER_HTLC: u64 = 172;
/// Expected weight of an HTLC-timeout transaction.
pub const HTLC_TIMEOUT_WEIGHT: u64 = 663;
/// Expected weight of an HTLC-success transaction.
pub const HTLC_SUCCESS_WEIGHT: u64 = 703;

/// `feerate_per_kw * weight / 1000`, rounded down.
pub fn fee_for_weight(feerate_per_kw: u32, weight: u64) -> u64 {
    u64::from(feerate_per_kw) * weight / 1000
}

/// The fee of an HTLC-timeout transaction.
pub fn htlc_timeout_fee(feerate_per_kw: u32) -> u64 {
    fee_for_weight(feerate_per_kw, HTLC_TIMEOUT_WEIGHT)
}

/// The fee of an HTLC-success transaction.
pub fn htlc_success_fee(feerate_per_kw: u32) -> u64 {
    fee_for_weight(feerate_per_kw, HTLC_SUCCESS_WEIGHT)
}

/// A side's basepoints and funding key (from `open_channel` / `accept_channel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelPublicKeys {
    /// The key in the 2-of-2 funding output.
    pub funding_pubkey: PublicKey,
    /// Combined with the other side's per-commitment point into revocation keys.
    pub revocation_basepoint: PublicKey,
    /// With static_remotekey, the key the other side's commitments pay this side at.
    pub payment_basepoint: PublicKey,
    /// Base of this side's delayed to-self keys.
    pub delayed_payment_basepoint: PublicKey,
    /// Base of this side's HTLC keys.
    pub htlc_basepoint: PublicKey,
}

/// The keys of one commitment transaction, derived from the broadcaster's per-commitment
/// point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitmentKeys {
    /// The broadcaster's per-commitment point for this commitment.
    pub per_commitment_point: PublicKey,
    /// Spends every broadcaster output once the commitment is revoked.
    pub revocation_key: PublicKey,
    /// The broadcaster's delayed payment key.
    pub broadcaster_delayed_payment_key: PublicKey,
    /// The two HTLC keys, derived only for a commitment with HTLCs: each costs a point
    /// multiplication that a commitment without HTLCs never uses.
    pub htlc: Option<HtlcKeys>,
}

/// Both sides' HTLC keys for one commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HtlcKeys {
    /// The broadcaster's HTLC key.
    pub broadcaster_htlc_key: PublicKey,
    /// The countersignatory's HTLC key.
    pub countersignatory_htlc_key: PublicKey,
}

impl CommitmentKeys {
    /// What the commitment's HTLC scripts share; `None` without HTLC keys.
    pub fn htlc_script_keys(&self) -> Option<HtlcScriptKeys> {
        let htlc = self.htlc.as_ref()?;
        Some(HtlcScriptKeys::new(
            &self.revocation_key,
            &htlc.broadcaster_htlc_key,
            &htlc.countersignatory_htlc_key,
        ))
    }

    /// Derives every key (the HTLC keys too) for the commitment whose broadcaster uses
    /// `per_commitment_point`.
    pub fn derive<C: Verification>(
        secp: &Secp256k1<C>,
        per_commitment_point: &PublicKey,
        broadcaster: &ChannelPublicKeys,
        countersignatory: &ChannelPublicKeys,
    ) -> Result<Self, KeyDerivationError> {
        let revocation_key =
            derive_revocation_public_key(secp, per_commitment_point, &countersignatory.revocation_basepoint)?;
        Self::derive_with_revocation_key(
            secp,
            per_commitment_point,
            revocation_key,
            broadcaster,
            countersignatory,
            true,
        )
    }

    /// [`CommitmentKeys::derive`] with the revocation key already derived (by a signer
    /// that holds one of its secrets: see [`crate::sign::ChannelSigner::revocation_key`]),
    /// and the HTLC keys only if `with_htlc_keys`.
    pub fn derive_with_revocation_key<C: Verification>(
        secp: &Secp256k1<C>,
        per_commitment_point: &PublicKey,
        revocation_key: PublicKey,
        broadcaster: &ChannelPublicKeys,
        countersignatory: &ChannelPublicKeys,
        with_htlc_keys: bool,
    ) -> Result<Self, KeyDerivationError> {
        let htlc = if with_htlc_keys {
            Some(HtlcKeys {
                broadcaster_htlc_key: derive_public_key(secp, per_commitment_point, &broadcaster.htlc_basepoint)?,
                countersignatory_htlc_key: derive_public_key(
                    secp,
                    per_commitment_point,
                    &countersignatory.htlc_basepoint,
                )?,
            })
        } else {
            None
        };
        Ok(CommitmentKeys {
            per_commitment_point: *per_commitment_point,
            revocation_key,
            broadcaster_delayed_payment_key: derive_public_key(
                secp,
                per_commitment_point,
                &broadcaster.delayed_payment_basepoint,
            )?,
            htlc,
        })
    }
}

/// The lower 48 bits of `SHA256(opener payment_basepoint || accepter payment_basepoint)`.
pub fn commitment_number_obscure_factor(
    opener_payment_basepoint: &PublicKey,
    accepter_payment_basepoint: &PublicKey,
) -> u64 {
    let mut engine = sha256::Hash::engine();
    engine.input(&opener_payment_basepoint.serialize());
    engine.input(&accepter_payment_basepoint.serialize());
    let hash = sha256::Hash::from_engine(engine).to_byte_array();
    let mut low = [0u8; 8];
    low[2..].copy_from_slice(&hash[26..]);
    u64::from_be_bytes(low)
}

/// An HTLC as a commitment transaction sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitmentHtlc {
    /// Offered by the broadcaster (an HTLC-timeout spends it), or received (HTLC-success).
    pub offered: bool,
    /// The HTLC's value.
    pub amount_msat: u64,
    /// The block height it expires at.
    pub cltv_expiry: u32,
    /// The hash it is locked to.
    pub payment_hash: PaymentHash,
}

impl CommitmentHtlc {
    /// Whether the HTLC is too small, after its second-stage fee, to get an output.
    pub fn is_trimmed(&self, dust_limit_satoshis: u64, feerate_per_kw: u32) -> bool {
        let second_stage_fee = if self.offered {
            htlc_timeout_fee(feerate_per_kw)
        } else {
            htlc_success_fee(feerate_per_kw)
        };
        self.amount_msat / 1000 < dust_limit_satoshis.saturating_add(second_stage_fee)
    }

    /// The output's witness script under `keys`; `None` if `keys` has no HTLC keys.
    pub fn witness_script(&self, keys: &CommitmentKeys) -> Option<ScriptBuf> {
        Some(self.witness_script_with(&keys.htlc_script_keys()?))
    }

    /// The output's witness script from its commitment's [`CommitmentKeys::htlc_script_keys`]
    /// (for the loops over every HTLC of one commitment).
    pub fn witness_script_with(&self, keys: &HtlcScriptKeys) -> ScriptBuf {
        if self.offered {
            offered_htlc_script_with(keys, &self.payment_hash)
        } else {
            received_htlc_script_with(keys, &self.payment_hash, self.cltv_expiry)
        }
    }
}

/// Everything a commitment transaction is built from.
#[derive(Clone, Debug)]
pub struct CommitmentParams<'a> {
    /// The funding output.
    pub funding_outpoint: OutPoint,
    /// The funding output's value.
    pub funding_satoshis: u64,
    /// The commitment number, counting up from 0 (not the secret index).
    pub commitment_number: u64,
    /// From [`commitment_number_obscure_factor`].
    pub obscure_factor: u64,
    /// Whether the broadcaster opened the channel and so pays the fee.
    pub broadcaster_is_funder: bool,
    /// The broadcaster's balance.
    pub to_broadcaster_msat: u64,
    /// The countersignatory's balance.
    pub to_countersignatory_msat: u64,
    /// The commitment feerate.
    pub feerate_per_kw: u32,
    /// The broadcaster's dust limit.
    pub dust_limit_satoshis: u64,
    /// The delay on the broadcaster's own outputs (set by the countersignatory).
    pub to_self_delay: u16,
    /// This commitment's keys.
    pub keys: &'a CommitmentKeys,
    /// Where `to_remote` pays: [`to_remote_script_pubkey`] of the countersignatory's
    /// payment basepoint (taken built: it is the same in every commitment of a channel,
    /// and a caller building many may keep it).
    ///
    /// [`to_remote_script_pubkey`]: crate::chan::script::to_remote_script_pubkey
    pub to_remote_script_pubkey: &'a ScriptBuf,
    /// The HTLCs committed to, in any order.
    pub htlcs: &'a [CommitmentHtlc],
}

/// A built, unsigned commitment transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentTransaction {
    /// The transaction, without witness.
    pub tx: Transaction,
    /// For each untrimmed HTLC, in output order (the order of `htlc_signatures`): its
    /// index in [`CommitmentParams::htlcs`] and its output index.
    pub htlc_outputs: Vec<(usize, u32)>,
    /// The `to_local` witness script, if that output exists.
    pub to_local_script: Option<ScriptBuf>,
    /// What the transaction pays in fees: funding value minus every output.
    pub fee_satoshis: u64,
}

/// Why a commitment transaction could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitmentError {
    /// Balances and HTLCs do not add up to the funding value.
    ValueNotConserved,
    /// An HTLC gets an output but the keys were derived without HTLC keys.
    MissingHtlcKeys,
}

impl CommitmentTransaction {
    /// Builds the commitment transaction (BOLT 3 "Commitment Transaction Construction").
    pub fn build(params: &CommitmentParams<'_>) -> Result<Self, CommitmentError> {
        let htlc_total_msat = params
            .htlcs
            .iter()
            .try_fold(0u64, |acc, h| acc.checked_add(h.amount_msat));
        let total_msat = htlc_total_msat
            .and_then(|h| h.checked_add(params.to_broadcaster_msat))
            .and_then(|t| t.checked_add(params.to_countersignatory_msat));
        // Both must exist: two overflows are not two equal amounts.
        match (total_msat, params.funding_satoshis.checked_mul(1000)) {
            (Some(total), Some(funding)) if total == funding => {}
            _ => return Err(CommitmentError::ValueNotConserved),
        }

        let untrimmed: Vec<usize> = (0..params.htlcs.len())
            .filter(|i| !params.htlcs[*i].is_trimmed(params.dust_limit_satoshis, params.feerate_per_kw))
            .collect();
        let weight = COMMITMENT_BASE_WEIGHT + COMMITMENT_WEIGHT_PER_HTLC * untrimmed.len() as u64;
        let base_fee = fee_for_weight(params.feerate_per_kw, weight);

        let mut to_broadcaster_sat = params.to_broadcaster_msat / 1000;
        let mut to_countersignatory_sat = params.to_countersignatory_msat / 1000;
        if params.broadcaster_is_funder {
            to_broadcaster_sat = to_broadcaster_sat.saturating_sub(base_fee);
        } else {
            to_countersignatory_sat = to_countersignatory_sat.saturating_sub(base_fee);
        }

        // (output, cltv for ordering, htlc index)
        let mut outputs: Vec<(TxOut, u32, Option<usize>)> = Vec::with_capacity(untrimmed.len() + 2);
        // Only HTLC outputs need the HTLC keys.
        if !untrimmed.is_empty() {
            let script_keys = params.keys.htlc_script_keys().ok_or(CommitmentError::MissingHtlcKeys)?;
            for &i in &untrimmed {
                let htlc = &params.htlcs[i];
                let script = htlc.witness_script_with(&script_keys);
                let txout = TxOut {
                    value: Amount::from_sat(htlc.amount_msat / 1000),
                    script_pubkey: p2wsh_script_pubkey(&script),
                };
                outputs.push((txout, htlc.cltv_expiry, Some(i)));
            }
        }
        let mut to_local = None;
        if to_broadcaster_sat >= params.dust_limit_satoshis {
            let script = to_local_script(
                &params.keys.revocation_key,
                params.to_self_delay,
                &params.keys.broadcaster_delayed_payment_key,
            );
            let txout = TxOut {
                value: Amount::from_sat(to_broadcaster_sat),
                script_pubkey: p2wsh_script_pubkey(&script),
            };
            outputs.push((txout, 0, None));
            to_local = Some(script);
        }
        if to_countersignatory_sat >= params.dust_limit_satoshis {
            let txout = TxOut {
                value: Amount::from_sat(to_countersignatory_sat),
                script_pubkey: params.to_remote_script_pubkey.clone(),
            };
            outputs.push((txout, 0, None));
        }
        // BIP 69 (value, then script) and then CLTV for HTLCs with identical outputs.
        outputs.sort_by(|a, b| {
            a.0.value
                .cmp(&b.0.value)
                .then_with(|| a.0.script_pubkey.as_bytes().cmp(b.0.script_pubkey.as_bytes()))
                .then_with(|| a.1.cmp(&b.1))
        });

        let obscured = (params.commitment_number & 0xffff_ffff_ffff) ^ params.obscure_factor;
        let lock_time = LockTime::from_consensus((0x20 << 24) | (obscured & 0xff_ffff) as u32);
        let sequence = Sequence((0x80 << 24) | ((obscured >> 24) & 0xff_ffff) as u32);
        let htlc_outputs = outputs
            .iter()
            .enumerate()
            .filter_map(|(vout, (_, _, htlc))| htlc.map(|h| (h, vout as u32)))
            .collect();
        let tx = Transaction {
            version: Version::TWO,
            lock_time,
            input: alloc::vec![TxIn {
                previous_output: params.funding_outpoint,
                script_sig: ScriptBuf::new(),
                sequence,
                witness: Witness::new(),
            }],
            output: outputs.into_iter().map(|(txout, _, _)| txout).collect(),
        };
        let outputs_sat: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        // Conservation, checked on every build: outputs never exceed the funding value.
        assert!(
            outputs_sat <= params.funding_satoshis,
            "commitment outputs exceed the funding value"
        );
        Ok(CommitmentTransaction {
            tx,
            htlc_outputs,
            to_local_script: to_local,
            fee_satoshis: params.funding_satoshis - outputs_sat,
        })
    }

    /// The transaction id.
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }
}
