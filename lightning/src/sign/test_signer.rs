//! A channel signer for the testbed: it wraps any [`ChannelSigner`], independently refuses
//! (and counts) any attempt to sign a revoked holder commitment, and can be told to make
//! any operation unavailable (delayed until re-enabled) or refused.

use alloc::collections::BTreeSet;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Transaction;

use super::channel::{ChannelSigner, ChannelTransactionParameters, CommitmentOwner};
use super::SignerError;
use crate::chan::commitment::{ChannelPublicKeys, CommitmentHtlc, CommitmentKeys, CommitmentTransaction};

/// A signer operation, to disable selectively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignerOp {
    /// [`ChannelSigner::per_commitment_point`].
    PerCommitmentPoint,
    /// [`ChannelSigner::release_commitment_secret`].
    ReleaseCommitmentSecret,
    /// [`ChannelSigner::sign_counterparty_commitment`].
    SignCounterpartyCommitment,
    /// [`ChannelSigner::validate_holder_commitment`].
    ValidateHolderCommitment,
    /// [`ChannelSigner::sign_holder_commitment`].
    SignHolderCommitment,
    /// [`ChannelSigner::sign_holder_htlc_transaction`].
    SignHolderHtlcTransaction,
    /// [`ChannelSigner::sign_closing_transaction`].
    SignClosingTransaction,
}

/// The shared switchboard of a [`TestChannelSigner`]: the test keeps one handle, the
/// channel owns the signer.
#[derive(Clone, Debug, Default)]
pub struct TestSignerControl {
    /// Operations that answer `Unavailable` (as a remote signer that is slow to answer).
    pub unavailable: BTreeSet<SignerOp>,
    /// Operations that answer `Refused`.
    pub refused: BTreeSet<SignerOp>,
    /// Attempts to sign a holder commitment (or its HTLC transactions) after revoking
    /// it: each one is a bug in the caller that could have lost funds.
    pub revoked_sign_attempts: u64,
    /// The holder commitments revoked so far (secrets released for 0 to n-1).
    pub revoked_count: u64,
}

/// The testbed's channel signer. See the module documentation.
#[derive(Clone, Debug)]
pub struct TestChannelSigner<S: ChannelSigner> {
    inner: S,
    control: Rc<RefCell<TestSignerControl>>,
}

impl<S: ChannelSigner> TestChannelSigner<S> {
    /// Wraps `inner`; returns the signer and the handle that controls it.
    pub fn new(inner: S) -> (Self, Rc<RefCell<TestSignerControl>>) {
        let control = Rc::new(RefCell::new(TestSignerControl::default()));
        (
            TestChannelSigner {
                inner,
                control: control.clone(),
            },
            control,
        )
    }

    fn check(&self, op: SignerOp) -> Result<(), SignerError> {
        let control = self.control.borrow();
        if control.refused.contains(&op) {
            Err(SignerError::Refused)
        } else if control.unavailable.contains(&op) {
            Err(SignerError::Unavailable)
        } else {
            Ok(())
        }
    }

    fn check_not_revoked(&self, commitment_number: u64) -> Result<(), SignerError> {
        let mut control = self.control.borrow_mut();
        if commitment_number < control.revoked_count {
            control.revoked_sign_attempts += 1;
            return Err(SignerError::Refused);
        }
        Ok(())
    }
}

impl<S: ChannelSigner> ChannelSigner for TestChannelSigner<S> {
    fn pubkeys(&self) -> &ChannelPublicKeys {
        self.inner.pubkeys()
    }

    fn provide_channel_parameters(&mut self, parameters: &ChannelTransactionParameters) {
        self.inner.provide_channel_parameters(parameters)
    }

    fn per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, SignerError> {
        self.check(SignerOp::PerCommitmentPoint)?;
        self.inner.per_commitment_point(commitment_number)
    }

    fn revocation_key(
        &self,
        owner: CommitmentOwner,
        per_commitment_point: &PublicKey,
        revocation_basepoint: &PublicKey,
    ) -> Result<PublicKey, SignerError> {
        // Our own commitment's key comes from its per-commitment secret, as its point does.
        if matches!(owner, CommitmentOwner::Holder(_)) {
            self.check(SignerOp::PerCommitmentPoint)?;
        }
        self.inner
            .revocation_key(owner, per_commitment_point, revocation_basepoint)
    }

    fn release_commitment_secret(&mut self, commitment_number: u64) -> Result<[u8; 32], SignerError> {
        self.check(SignerOp::ReleaseCommitmentSecret)?;
        let secret = self.inner.release_commitment_secret(commitment_number)?;
        let mut control = self.control.borrow_mut();
        control.revoked_count = control.revoked_count.max(commitment_number + 1);
        Ok(secret)
    }

    fn sign_counterparty_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
        htlcs: &[CommitmentHtlc],
        keys: &CommitmentKeys,
        feerate_per_kw: u32,
    ) -> Result<(Signature, Vec<Signature>), SignerError> {
        self.check(SignerOp::SignCounterpartyCommitment)?;
        self.inner
            .sign_counterparty_commitment(commitment_number, commitment, htlcs, keys, feerate_per_kw)
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
        self.check(SignerOp::ValidateHolderCommitment)?;
        self.inner.validate_holder_commitment(
            commitment_number,
            commitment,
            htlcs,
            keys,
            feerate_per_kw,
            counterparty_signature,
            counterparty_htlc_signatures,
        )
    }

    fn sign_holder_commitment(
        &mut self,
        commitment_number: u64,
        commitment: &CommitmentTransaction,
    ) -> Result<Signature, SignerError> {
        self.check_not_revoked(commitment_number)?;
        self.check(SignerOp::SignHolderCommitment)?;
        self.inner.sign_holder_commitment(commitment_number, commitment)
    }

    fn sign_holder_htlc_transaction(
        &mut self,
        commitment_number: u64,
        htlc_tx: &Transaction,
        htlc: &CommitmentHtlc,
        keys: &CommitmentKeys,
    ) -> Result<Signature, SignerError> {
        self.check_not_revoked(commitment_number)?;
        self.check(SignerOp::SignHolderHtlcTransaction)?;
        self.inner
            .sign_holder_htlc_transaction(commitment_number, htlc_tx, htlc, keys)
    }

    fn sign_closing_transaction(&mut self, closing_tx: &Transaction) -> Result<Signature, SignerError> {
        self.check(SignerOp::SignClosingTransaction)?;
        self.inner.sign_closing_transaction(closing_tx)
    }

    fn resume(&mut self, parameters: &ChannelTransactionParameters, validated_holder: u64, revoked_count: u64) {
        self.inner.resume(parameters, validated_holder, revoked_count);
        let mut control = self.control.borrow_mut();
        control.revoked_count = control.revoked_count.max(revoked_count);
    }
}
