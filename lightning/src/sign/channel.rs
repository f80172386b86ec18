//! The per-channel signer: it holds the channel's keys and per-commitment seed, signs the
//! counterparty's commitments and HTLC transactions, validates and countersigns the
//! holder's, and releases per-commitment secrets, refusing anything that could let a
//! revoked state be broadcast.

use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{OutPoint, ScriptBuf, Transaction};

use super::SignerError;
use crate::chan::commitment::{ChannelPublicKeys, CommitmentHtlc, CommitmentKeys, CommitmentTransaction};
use crate::chan::htlc_tx::build_htlc_transaction;
use crate::chan::keys::{
    derive_private_key_from_basepoint, derive_revocation_public_key_with_secret, KnownRevocationSecret,
};
use crate::chan::script::funding_redeem_script;
use crate::chan::secrets::{CommitmentSecretGenerator, INITIAL_COMMITMENT_NUMBER};
use crate::chan::signing::{sign_p2wsh_input, verify_p2wsh_input};

/// What a channel signer must know about the channel once it is negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelTransactionParameters {
    /// Whether the holder opened the channel (and pays commitment fees).
    pub holder_is_funder: bool,
    /// The funding output.
    pub funding_outpoint: OutPoint,
    /// The funding output's value.
    pub funding_satoshis: u64,
    /// The counterparty's basepoints and funding key.
    pub counterparty_pubkeys: ChannelPublicKeys,
    /// The delay on the holder's own outputs (chosen by the counterparty).
    pub holder_to_self_delay: u16,
    /// The delay on the counterparty's own outputs (chosen by the holder).
    pub counterparty_to_self_delay: u16,
}

/// Whose commitment a key or signature is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitmentOwner {
    /// The holder's commitment with this number.
    Holder(u64),
    /// The counterparty's.
    Counterparty,
}

/// Signs for one channel. Commitment numbers count up from 0, as in the transactions'
/// obscured commitment number; the per-commitment secret index is
/// [`INITIAL_COMMITMENT_NUMBER`] minus the commitment number.
pub trait ChannelSigner {
    /// This side's basepoints and funding key.
    fn pubkeys(&self) -> &ChannelPublicKeys;

    /// Hands the signer the negotiated parameters; required before any signing.
    fn provide_channel_parameters(&mut self, parameters: &ChannelTransactionParameters);

    /// The per-commitment point of the holder's commitment `commitment_number`.
    fn per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, SignerError>;

    /// The revocation key of `owner`'s commitment, whose broadcaster's per-commitment
    /// point is `per_commitment_point` and countersignatory's revocation basepoint is
    /// `revocation_basepoint`. The signer holds the secret of one of the two (ours), which
    /// makes it cheaper than deriving from the points alone; the key is the same.
    fn revocation_key(
        &self,
        owner: CommitmentOwner,
        per_commitment_point: &PublicKey,
        revocation_basepoint: &PublicKey,
    ) -> Result<PublicKey, SignerError>;

    /// Revokes the holder's commitment `commitment_number` by releasing its secret. Only
    /// in order, and only once the next holder commitment has been validated: a node must
    /// never be left with nothing but a revoked state.
    fn release_commitment_secret(&mut self, commitment_number: u64) -> Result<[u8; 32], SignerError>;

    /// Signs the counterparty's commitment and its HTLC transactions (in output order).
    fn sign_counterparty_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
        htlcs: &[CommitmentHtlc],
        keys: &CommitmentKeys,
        feerate_per_kw: u32,
    ) -> Result<(Signature, Vec<Signature>), SignerError>;

    /// Checks the counterparty's signatures on the holder's commitment
    /// `commitment_number` and its HTLC transactions. `Refused` if any is invalid.
    #[allow(clippy::too_many_arguments)]
    fn validate_holder_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
        htlcs: &[CommitmentHtlc],
        keys: &CommitmentKeys,
        feerate_per_kw: u32,
        counterparty_signature: &Signature,
        counterparty_htlc_signatures: &[Signature],
    ) -> Result<(), SignerError>;

    /// Countersigns the holder's commitment, to broadcast it. Refused once revoked.
    fn sign_holder_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
    ) -> Result<Signature, SignerError>;

    /// Signs an HTLC transaction spending the holder's commitment. Refused once revoked.
    fn sign_holder_htlc_transaction(
        &mut self,
        commitment_number: u64,
        htlc_tx: &Transaction,
        htlc: &CommitmentHtlc,
        keys: &CommitmentKeys,
    ) -> Result<Signature, SignerError>;

    /// Signs a (mutual) closing transaction spending the funding output.
    fn sign_closing_transaction(&mut self, closing_tx: &Transaction) -> Result<Signature, SignerError>;

    /// Restores what the signer must remember across a restart, from the channel's
    /// persisted state: the parameters, the highest holder commitment validated, and how
    /// many holder commitments are revoked. A signer that keeps its own durable state
    /// (a hardware signer) may keep the stricter of its own and these.
    fn resume(&mut self, parameters: &ChannelTransactionParameters, validated_holder: u64, revoked_count: u64);
}

/// A commitment number and its per-commitment secret.
type NumberedSecret = (u64, [u8; 32]);

/// The channel's secrets, held in memory.
#[derive(Clone)]
pub struct InMemoryChannelSigner {
    funding_key: SecretKey,
    revocation_base_key: SecretKey,
    payment_key: SecretKey,
    delayed_payment_base_key: SecretKey,
    htlc_base_key: SecretKey,
    commitment_secrets: CommitmentSecretGenerator,
    pubkeys: ChannelPublicKeys,
    parameters: Option<ChannelTransactionParameters>,
    /// The funding output's witness script, built when the parameters come: every
    /// commitment signed or checked needs it.
    funding_script: Option<ScriptBuf>,
    /// The last secrets derived, by commitment number, newest first: each round of
    /// updates asks for three consecutive ones (the new commitment's revocation key, the
    /// old one's release, the next one's point), two of them again in the next round.
    recent_secrets: Cell<[Option<NumberedSecret>; 3]>,
    /// The highest holder commitment whose counterparty signatures were validated.
    validated_holder: Option<u64>,
    /// How many holder commitments have been revoked (secrets 0 to n-1 released).
    revoked_count: u64,
    secp: crate::secp_context::SharedSecp,
}

impl fmt::Debug for InMemoryChannelSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets.
        f.debug_struct("InMemoryChannelSigner")
            .field("pubkeys", &self.pubkeys)
            .field("validated_holder", &self.validated_holder)
            .field("revoked_count", &self.revoked_count)
            .finish_non_exhaustive()
    }
}

impl InMemoryChannelSigner {
    /// A signer for the given secrets.
    pub fn new(
        funding_key: SecretKey,
        revocation_base_key: SecretKey,
        payment_key: SecretKey,
        delayed_payment_base_key: SecretKey,
        htlc_base_key: SecretKey,
        commitment_seed: [u8; 32],
    ) -> Self {
        let secp = crate::secp_context::shared();
        let pk = |s: &SecretKey| PublicKey::from_secret_key(&secp, s);
        let pubkeys = ChannelPublicKeys {
            funding_pubkey: pk(&funding_key),
            revocation_basepoint: pk(&revocation_base_key),
            payment_basepoint: pk(&payment_key),
            delayed_payment_basepoint: pk(&delayed_payment_base_key),
            htlc_basepoint: pk(&htlc_base_key),
        };
        InMemoryChannelSigner {
            funding_key,
            revocation_base_key,
            payment_key,
            delayed_payment_base_key,
            htlc_base_key,
            commitment_secrets: CommitmentSecretGenerator::new(commitment_seed),
            pubkeys,
            parameters: None,
            funding_script: None,
            recent_secrets: Cell::new([None; 3]),
            validated_holder: None,
            revoked_count: 0,
            secp,
        }
    }

    /// The revocation basepoint secret, for the monitor's penalty transactions.
    pub fn revocation_base_key(&self) -> &SecretKey {
        &self.revocation_base_key
    }

    /// The payment key (static_remotekey: spends `to_remote` outputs paying us).
    pub fn payment_key(&self) -> &SecretKey {
        &self.payment_key
    }

    /// The delayed payment basepoint secret, to sweep our delayed outputs.
    pub fn delayed_payment_base_key(&self) -> &SecretKey {
        &self.delayed_payment_base_key
    }

    fn parameters(&self) -> Result<&ChannelTransactionParameters, SignerError> {
        self.parameters.as_ref().ok_or(SignerError::Refused)
    }

    fn funding_script(&self) -> Result<ScriptBuf, SignerError> {
        self.funding_script.clone().ok_or(SignerError::Refused)
    }

    fn set_parameters(&mut self, parameters: &ChannelTransactionParameters) {
        self.parameters = Some(*parameters);
        self.funding_script = Some(funding_redeem_script(
            &self.pubkeys.funding_pubkey,
            &parameters.counterparty_pubkeys.funding_pubkey,
        ));
    }

    fn commitment_secret(&self, commitment_number: u64) -> Result<[u8; 32], SignerError> {
        if commitment_number > INITIAL_COMMITMENT_NUMBER {
            return Err(SignerError::Refused);
        }
        let mut recent = self.recent_secrets.get();
        if let Some((_, secret)) = recent.iter().flatten().find(|(number, _)| *number == commitment_number) {
            return Ok(*secret);
        }
        let secret = self
            .commitment_secrets
            .secret(INITIAL_COMMITMENT_NUMBER - commitment_number);
        recent.rotate_right(1);
        recent[0] = Some((commitment_number, secret));
        self.recent_secrets.set(recent);
        Ok(secret)
    }

    /// Keeps the secrets the next `commitment_signed` asks for cheap: with holder
    /// commitment `revoked_count` current, it builds `revoked_count + 1`, revokes
    /// `revoked_count` and announces the point of `revoked_count + 2`.
    fn focus_commitment_secrets(&mut self) {
        if let Some(index) = INITIAL_COMMITMENT_NUMBER.checked_sub(self.revoked_count.saturating_add(1)) {
            self.commitment_secrets.focus(index);
        }
    }

    fn is_revoked(&self, commitment_number: u64) -> bool {
        commitment_number < self.revoked_count
    }

    /// Holder commitment `commitment_number` had valid signatures: the one before it may
    /// now be revoked.
    fn note_validated(&mut self, commitment_number: u64) -> Result<(), SignerError> {
        self.validated_holder = Some(
            self.validated_holder
                .map_or(commitment_number, |v| v.max(commitment_number)),
        );
        Ok(())
    }

    fn sign_funding_input(&self, tx: &Transaction) -> Result<Signature, SignerError> {
        let parameters = self.parameters()?;
        let script = self.funding_script()?;
        if tx.input.len() != 1 || tx.input[0].previous_output != parameters.funding_outpoint {
            return Err(SignerError::Refused);
        }
        sign_p2wsh_input(
            &self.secp,
            tx,
            0,
            &script,
            parameters.funding_satoshis,
            &self.funding_key,
        )
        .ok_or(SignerError::Refused)
    }

    fn holder_htlc_key(&self, commitment_number: u64) -> Result<SecretKey, SignerError> {
        let point = self.per_commitment_point(commitment_number)?;
        derive_private_key_from_basepoint(&point, &self.pubkeys.htlc_basepoint, &self.htlc_base_key)
            .map_err(|_| SignerError::Refused)
    }
}

impl ChannelSigner for InMemoryChannelSigner {
    fn pubkeys(&self) -> &ChannelPublicKeys {
        &self.pubkeys
    }

    fn provide_channel_parameters(&mut self, parameters: &ChannelTransactionParameters) {
        self.set_parameters(parameters);
    }

    fn per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, SignerError> {
        let secret = self.commitment_secret(commitment_number)?;
        let secret = SecretKey::from_slice(&secret).map_err(|_| SignerError::Refused)?;
        Ok(PublicKey::from_secret_key(&self.secp, &secret))
    }

    fn revocation_key(
        &self,
        owner: CommitmentOwner,
        per_commitment_point: &PublicKey,
        revocation_basepoint: &PublicKey,
    ) -> Result<PublicKey, SignerError> {
        let per_commitment_secret;
        let known = match owner {
            CommitmentOwner::Holder(commitment_number) => {
                per_commitment_secret = SecretKey::from_slice(&self.commitment_secret(commitment_number)?)
                    .map_err(|_| SignerError::Refused)?;
                KnownRevocationSecret::PerCommitment(&per_commitment_secret)
            }
            CommitmentOwner::Counterparty => KnownRevocationSecret::RevocationBasepoint(&self.revocation_base_key),
        };
        derive_revocation_public_key_with_secret(&self.secp, per_commitment_point, revocation_basepoint, known)
            .map_err(|_| SignerError::Refused)
    }

    fn release_commitment_secret(&mut self, commitment_number: u64) -> Result<[u8; 32], SignerError> {
        if commitment_number < self.revoked_count {
            // Already revoked: releasing again reveals nothing new.
            return self.commitment_secret(commitment_number);
        }
        let next_validated = self.validated_holder.is_some_and(|v| v > commitment_number);
        if commitment_number != self.revoked_count || !next_validated {
            return Err(SignerError::Refused);
        }
        let secret = self.commitment_secret(commitment_number)?;
        self.revoked_count = commitment_number + 1;
        self.focus_commitment_secrets();
        Ok(secret)
    }

    fn sign_counterparty_commitment(
        &mut self,
        _commitment_number: u64,
        commitment: &CommitmentTransaction,
        htlcs: &[CommitmentHtlc],
        keys: &CommitmentKeys,
        feerate_per_kw: u32,
    ) -> Result<(Signature, Vec<Signature>), SignerError> {
        let signature = self.sign_funding_input(&commitment.tx)?;
        let delay = self.parameters()?.counterparty_to_self_delay;
        let mut htlc_signatures = Vec::with_capacity(commitment.htlc_outputs.len());
        if commitment.htlc_outputs.is_empty() {
            return Ok((signature, htlc_signatures));
        }
        // Our HTLC key for their commitment: our basepoint with their per-commitment point.
        let htlc_key = derive_private_key_from_basepoint(
            &keys.per_commitment_point,
            &self.pubkeys.htlc_basepoint,
            &self.htlc_base_key,
        )
        .map_err(|_| SignerError::Refused)?;
        let txid = commitment.txid();
        let script_keys = keys.htlc_script_keys().ok_or(SignerError::Refused)?;
        for &(htlc_index, vout) in &commitment.htlc_outputs {
            let htlc = htlcs.get(htlc_index).ok_or(SignerError::Refused)?;
            let htlc_tx = build_htlc_transaction(&txid, vout, htlc, feerate_per_kw, delay, keys);
            let script = htlc.witness_script_with(&script_keys);
            let sig = sign_p2wsh_input(&self.secp, &htlc_tx, 0, &script, htlc.amount_msat / 1000, &htlc_key)
                .ok_or(SignerError::Refused)?;
            htlc_signatures.push(sig);
        }
        Ok((signature, htlc_signatures))
    }

    fn validate_holder_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
        htlcs: &[CommitmentHtlc],
        keys: &CommitmentKeys,
        feerate_per_kw: u32,
        counterparty_signature: &Signature,
        counterparty_htlc_signatures: &[Signature],
    ) -> Result<(), SignerError> {
        let parameters = *self.parameters()?;
        let script = self.funding_script()?;
        let funding_valid = verify_p2wsh_input(
            &self.secp,
            &commitment.tx,
            0,
            &script,
            parameters.funding_satoshis,
            counterparty_signature,
            &parameters.counterparty_pubkeys.funding_pubkey,
        );
        if !funding_valid || counterparty_htlc_signatures.len() != commitment.htlc_outputs.len() {
            return Err(SignerError::Refused);
        }
        if commitment.htlc_outputs.is_empty() {
            return self.note_validated(commitment_number);
        }
        let txid = commitment.txid();
        let script_keys = keys.htlc_script_keys().ok_or(SignerError::Refused)?;
        let countersignatory_htlc_key = keys
            .htlc
            .as_ref()
            .ok_or(SignerError::Refused)?
            .countersignatory_htlc_key;
        for (&(htlc_index, vout), sig) in commitment.htlc_outputs.iter().zip(counterparty_htlc_signatures) {
            let htlc = htlcs.get(htlc_index).ok_or(SignerError::Refused)?;
            let htlc_tx =
                build_htlc_transaction(&txid, vout, htlc, feerate_per_kw, parameters.holder_to_self_delay, keys);
            let script = htlc.witness_script_with(&script_keys);
            let value = htlc.amount_msat / 1000;
            if !verify_p2wsh_input(&self.secp, &htlc_tx, 0, &script, value, sig, &countersignatory_htlc_key) {
                return Err(SignerError::Refused);
            }
        }
        self.note_validated(commitment_number)
    }

    fn sign_holder_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
    ) -> Result<Signature, SignerError> {
        if self.is_revoked(commitment_number) {
            return Err(SignerError::Refused);
        }
        self.sign_funding_input(&commitment.tx)
    }

    fn sign_holder_htlc_transaction(
        &mut self,
        commitment_number: u64,
        htlc_tx: &Transaction,
        htlc: &CommitmentHtlc,
        keys: &CommitmentKeys,
    ) -> Result<Signature, SignerError> {
        if self.is_revoked(commitment_number) {
            return Err(SignerError::Refused);
        }
        let key = self.holder_htlc_key(commitment_number)?;
        let script = htlc.witness_script(keys).ok_or(SignerError::Refused)?;
        sign_p2wsh_input(&self.secp, htlc_tx, 0, &script, htlc.amount_msat / 1000, &key).ok_or(SignerError::Refused)
    }

    fn sign_closing_transaction(&mut self, closing_tx: &Transaction) -> Result<Signature, SignerError> {
        self.sign_funding_input(closing_tx)
    }

    fn resume(&mut self, parameters: &ChannelTransactionParameters, validated_holder: u64, revoked_count: u64) {
        self.set_parameters(parameters);
        self.validated_holder = Some(
            self.validated_holder
                .map_or(validated_holder, |v| v.max(validated_holder)),
        );
        self.revoked_count = self.revoked_count.max(revoked_count);
        self.focus_commitment_secrets();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::KeysManager;

    /// A resumed signer keeps the secret walk short for the commitments the channel asks
    /// about next, and still gives BOLT 3's secrets.
    #[test]
    fn a_resumed_signer_keeps_the_next_secrets_cheap() {
        let mut signer = KeysManager::new(&[1; 32], &[0; 32]).derive_channel_signer(&[3; 32]);
        let counterparty = *KeysManager::new(&[2; 32], &[0; 32])
            .derive_channel_signer(&[4; 32])
            .pubkeys();
        let parameters = ChannelTransactionParameters {
            holder_is_funder: true,
            funding_outpoint: OutPoint::null(),
            funding_satoshis: 1_000_000,
            counterparty_pubkeys: counterparty,
            holder_to_self_delay: 144,
            counterparty_to_self_delay: 144,
        };
        // From a signer of its own, so neither walk can answer from the other's memory.
        let before = KeysManager::new(&[1; 32], &[0; 32])
            .derive_channel_signer(&[3; 32])
            .commitment_secret(301)
            .expect("secret");
        signer.resume(&parameters, 300, 300);
        assert_eq!(
            signer.commitment_secrets.walk_from(INITIAL_COMMITMENT_NUMBER - 301).1,
            8
        );
        assert_eq!(signer.commitment_secret(301), Ok(before));
    }

    /// The secrets a signer remembers are the ones it would derive, whatever the order
    /// of the asking (repeats, steps back, jumps past what it remembers).
    #[test]
    fn remembered_secrets_are_the_derived_ones() {
        let signer = || KeysManager::new(&[5; 32], &[0; 32]).derive_channel_signer(&[6; 32]);
        let asking = signer();
        for number in [7, 8, 7, 9, 8, 10, 7, 300, 9, 10, 11, 0, 1 << 40, 11] {
            let derived = signer().commitment_secret(number);
            assert_eq!(asking.commitment_secret(number), derived, "commitment {number}");
        }
        assert_eq!(
            asking.commitment_secret(INITIAL_COMMITMENT_NUMBER + 1),
            Err(SignerError::Refused)
        );
    }
}
