//! The per-channel state machine: BOLT 2 messages and user calls in, messages out. It is
//! pure: no I/O, no clock, every signature made and checked through the [`ChannelSigner`].
//!
//! - [`establish`]: `open_channel` to `channel_ready`.
//! - [`operation`]: HTLCs, `update_fee`, `commitment_signed`, `revoke_and_ack`.
//! - [`reestablish`]: disconnection and `channel_reestablish` with retransmission.

mod basepoint_memo;
pub mod cause;
pub mod close;
pub mod dust;
pub mod establish;
pub mod operation;
pub mod persist;
pub mod reestablish;

use alloc::vec::Vec;
use core::fmt;

use bitcoin::secp256k1::PublicKey;
use bitcoin::OutPoint;

use super::commitment::{ChannelPublicKeys, CommitmentHtlc, CommitmentKeys, CommitmentParams, CommitmentTransaction};
use super::ledger::{ChannelLedger, CommitmentView, Coverage, Htlc, Side};
use super::monitor_update::{ChannelMonitorUpdate, FundingInfo, MonitorStep};
use super::secrets::CounterpartyCommitmentSecrets;
use crate::sign::{ChannelSigner, CommitmentOwner, SignerError};
use crate::wire::ChannelId;

/// BOLT 2: no commitment may carry more than 483 HTLCs per side, so a `commitment_signed`
/// always fits one message and a penalty transaction can spend everything.
pub const MAX_HTLCS_PER_SIDE: u16 = 483;
/// BOLT 2: the smallest dust limit that keeps every output standard.
pub const MIN_DUST_LIMIT_SATOSHIS: u64 = 354;
/// A CLTV expiry at or above this is a timestamp, which HTLCs do not use.
pub const CLTV_TIMESTAMP_THRESHOLD: u32 = 500_000_000;
/// The most confirmations a funder waits for at its peer's request: two weeks of blocks,
/// after which BOLT 2 has a fundee forget a funding it never saw. More is unreasonably
/// large (BOLT 2 lets the funder fail the channel).
pub const MAX_MINIMUM_DEPTH: u32 = 2016;

/// What one side demands of the other, as sent in `open_channel` / `accept_channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Outputs below this are left out of this side's commitments.
    pub dust_limit_satoshis: u64,
    /// Cap on the value of HTLCs offered to this side.
    pub max_htlc_value_in_flight_msat: u64,
    /// The balance the *other* side must keep.
    pub channel_reserve_satoshis: u64,
    /// The smallest HTLC this side accepts.
    pub htlc_minimum_msat: u64,
    /// The delay this side imposes on the other side's own outputs.
    pub to_self_delay: u16,
    /// Cap on the number of HTLCs offered to this side.
    pub max_accepted_htlcs: u16,
}

impl ChannelLimits {
    /// Limits a careful node sets for a channel of `funding_satoshis`: dust at 546 (the
    /// P2PKH dust threshold, above every output type's), a 1% reserve (BOLT 2's usual
    /// choice, at least the dust limit), no in-flight cap below the channel value, 1 msat
    /// minimum HTLC, 144 blocks (a day) of delay, and the protocol's 483 HTLCs.
    pub fn default_for(funding_satoshis: u64) -> Self {
        ChannelLimits {
            dust_limit_satoshis: 546,
            max_htlc_value_in_flight_msat: funding_satoshis.saturating_mul(1000),
            channel_reserve_satoshis: (funding_satoshis / 100).max(546),
            htlc_minimum_msat: 1,
            to_self_delay: 144,
            max_accepted_htlcs: MAX_HTLCS_PER_SIDE,
        }
    }
}

pub use cause::Cause;

/// How the channel must answer a failure, and why ([`Cause`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// The call or message was refused; the channel goes on (a `warning` may be sent).
    Ignore(Cause),
    /// The channel is failed: send `error`, and close on chain from the latest state.
    Close(Cause),
    /// The peer proved we lost data: our latest state is revoked. Ask the peer to close
    /// (`error`), and never broadcast our own commitment.
    DataLoss(Cause),
    /// The peer broke a rule BOLT 2 answers by failing the connection, not the channel:
    /// send a `warning` and disconnect. The message changed nothing; the channel stays
    /// open and resumes on reconnection.
    Disconnect(Cause),
}

impl ChannelError {
    /// Why, whatever the consequence.
    pub fn cause(&self) -> &Cause {
        match self {
            ChannelError::Ignore(cause)
            | ChannelError::Close(cause)
            | ChannelError::DataLoss(cause)
            | ChannelError::Disconnect(cause) => cause,
        }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::Ignore(why) => write!(f, "refused: {why}"),
            ChannelError::Close(why) => write!(f, "channel failed: {why}"),
            ChannelError::DataLoss(why) => write!(f, "we lost channel data: {why}"),
            ChannelError::Disconnect(why) => write!(f, "connection failed: {why}"),
        }
    }
}

pub(crate) fn close(why: impl Into<Cause>) -> ChannelError {
    ChannelError::Close(why.into())
}

pub(crate) fn ignore(why: impl Into<Cause>) -> ChannelError {
    ChannelError::Ignore(why.into())
}

pub(crate) fn disconnect(why: impl Into<Cause>) -> ChannelError {
    ChannelError::Disconnect(why.into())
}

fn signer_error(what: &str, e: SignerError) -> ChannelError {
    match e {
        SignerError::Unavailable => ignore(alloc::format!("{what}: signer unavailable")),
        SignerError::Refused => close(alloc::format!("{what}: signer refused")),
    }
}

/// Where the channel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelPhase {
    /// Funder: `open_channel` sent.
    AwaitingAccept,
    /// Funder: accepted; the user's wallet must build the funding transaction.
    AwaitingFundingTransaction,
    /// Fundee: `accept_channel` sent.
    AwaitingFundingCreated,
    /// Funder: `funding_created` sent.
    AwaitingFundingSigned,
    /// Both commitment 0 signed; waiting for the funding to confirm and for the peer's
    /// `channel_ready`.
    AwaitingChannelReady {
        /// We sent ours.
        sent: bool,
        /// We received theirs.
        received: bool,
    },
    /// Open for HTLCs.
    Normal,
    /// A `shutdown` was sent or received: HTLCs settle, none are added.
    ShuttingDown,
    /// Closed: the cooperative closing transaction, or (force close) our commitment, is
    /// signed by both.
    Closed,
    /// Failed: nothing more is signed.
    Failed,
}

/// Which of `commitment_signed` and `revoke_and_ack` we sent last: retransmission keeps
/// their order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LastSent {
    CommitmentSigned,
    RevokeAndAck,
}

/// One channel with one peer.
#[derive(Clone)]
pub struct Channel<S: ChannelSigner> {
    pub(crate) signer: S,
    pub(crate) secp: crate::secp_context::SharedSecp,
    pub(crate) phase: ChannelPhase,
    pub(crate) holder_is_funder: bool,
    pub(crate) channel_id: ChannelId,
    pub(crate) funding_satoshis: u64,
    pub(crate) funding_outpoint: Option<OutPoint>,
    /// What we demand of the peer.
    pub(crate) holder_limits: ChannelLimits,
    /// What the peer demands of us.
    pub(crate) counterparty_limits: ChannelLimits,
    pub(crate) counterparty_pubkeys: Option<ChannelPublicKeys>,
    /// The peer's per-commitment point for its current commitment, and for its next.
    pub(crate) counterparty_current_point: Option<PublicKey>,
    pub(crate) counterparty_next_point: Option<PublicKey>,
    /// Our current commitment's number, and the peer's latest signed one.
    pub(crate) holder_commitment_number: u64,
    pub(crate) counterparty_commitment_number: u64,
    /// The peer's signature on our current commitment: with ours, what a force close
    /// broadcasts.
    pub(crate) holder_commitment_signature: Option<bitcoin::secp256k1::ecdsa::Signature>,
    pub(crate) ledger: ChannelLedger,
    pub(crate) counterparty_secrets: CounterpartyCommitmentSecrets,
    /// We signed a counterparty commitment and wait for its revocation of the previous.
    pub(crate) awaiting_revoke: bool,
    /// The id the next monitor update gets (ids start at 1).
    pub(crate) next_monitor_update_id: u64,
    /// Monitor updates not yet taken by the caller.
    pub(crate) monitor_updates: Vec<ChannelMonitorUpdate>,
    /// Whether the peer is connected and the channel reestablished.
    pub(crate) connected: bool,
    pub(crate) last_sent: Option<LastSent>,
    /// Onions of our HTLCs not yet irrevocably committed, kept for retransmission.
    pub(crate) pending_onions: alloc::collections::BTreeMap<u64, crate::wire::OnionPacket>,
    pub(crate) close: close::CloseState,
    /// Our per-commitment point last asked of the signer, by commitment number: the next
    /// point `revoke_and_ack` announces is the one the following `commitment_signed`
    /// checks against, and asking twice costs a secret derivation and a point
    /// multiplication (or a round trip to a remote signer). Not persisted.
    pub(crate) holder_point_cache: Option<(u64, PublicKey)>,
    /// Hashes of the basepoints every commitment shares. Not persisted.
    pub(crate) basepoint_memo: basepoint_memo::BasepointMemo,
    /// A deliberate bug its manager runs with. Not persisted: the manager sets it.
    #[cfg(feature = "planted-bugs")]
    pub(crate) planted_bug: Option<crate::chan::planted::PlantedBug>,
}

impl<S: ChannelSigner> fmt::Debug for Channel<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("channel_id", &self.channel_id)
            .field("phase", &self.phase)
            .field("holder_commitment_number", &self.holder_commitment_number)
            .field("counterparty_commitment_number", &self.counterparty_commitment_number)
            .finish_non_exhaustive()
    }
}

/// A commitment built for signing or checking, with what it was built from.
pub(crate) struct BuiltCommitment {
    pub transaction: CommitmentTransaction,
    pub htlcs: Vec<CommitmentHtlc>,
    pub keys: CommitmentKeys,
    pub feerate_per_kw: u32,
}

impl<S: ChannelSigner> Channel<S> {
    /// The channel id (temporary until the funding outpoint is known).
    pub fn channel_id(&self) -> ChannelId {
        self.channel_id
    }

    /// Where the channel stands.
    pub fn phase(&self) -> ChannelPhase {
        self.phase
    }

    /// Whether we opened the channel.
    pub fn is_funder(&self) -> bool {
        self.holder_is_funder
    }

    /// The channel's value.
    pub fn funding_satoshis(&self) -> u64 {
        self.funding_satoshis
    }

    /// The ledger, for inspection.
    pub fn ledger(&self) -> &ChannelLedger {
        &self.ledger
    }

    /// Our current commitment's number.
    pub fn holder_commitment_number(&self) -> u64 {
        self.holder_commitment_number
    }

    /// The number of the latest counterparty commitment we signed.
    pub fn counterparty_commitment_number(&self) -> u64 {
        self.counterparty_commitment_number
    }

    /// Whether the peer revealed the secret of its commitment `commitment_number` to us:
    /// if so, that commitment is revoked and broadcasting it would forfeit the peer's
    /// funds. Harnesses check no node's durable monitor would broadcast such a state.
    pub fn holds_counterparty_secret(&self, commitment_number: u64) -> bool {
        self.counterparty_secret(commitment_number).is_some()
    }

    /// The signer (for the test signer's controls, or persistence of its keys id).
    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// Our per-commitment point for `commitment_number`, from the cache if it was the
    /// last one asked for.
    pub(crate) fn holder_per_commitment_point(&mut self, commitment_number: u64) -> Result<PublicKey, ChannelError> {
        if let Some((number, point)) = self.holder_point_cache {
            if number == commitment_number {
                return Ok(point);
            }
        }
        let point = self
            .signer
            .per_commitment_point(commitment_number)
            .map_err(|e| signer_error("per-commitment point", e))?;
        self.holder_point_cache = Some((commitment_number, point));
        Ok(point)
    }

    pub(crate) fn counterparty_pubkeys(&self) -> Result<&ChannelPublicKeys, ChannelError> {
        self.counterparty_pubkeys
            .as_ref()
            .ok_or_else(|| close("counterparty keys unknown"))
    }

    /// Builds the commitment whose broadcaster is `broadcaster`, numbered
    /// `commitment_number`, with the broadcaster's `per_commitment_point`, covering
    /// `coverage`.
    pub(crate) fn build_commitment(
        &self,
        broadcaster: Side,
        commitment_number: u64,
        per_commitment_point: &PublicKey,
        coverage: Coverage,
    ) -> Result<BuiltCommitment, ChannelError> {
        let funding_outpoint = self.funding_outpoint.ok_or_else(|| close("funding outpoint unknown"))?;
        let holder_keys = self.signer.pubkeys();
        let counterparty_keys = self.counterparty_pubkeys()?;
        let (broadcaster_keys, countersignatory_keys) = match broadcaster {
            Side::Holder => (holder_keys, counterparty_keys),
            Side::Counterparty => (counterparty_keys, holder_keys),
        };
        let owner = match broadcaster {
            Side::Holder => CommitmentOwner::Holder(commitment_number),
            Side::Counterparty => CommitmentOwner::Counterparty,
        };
        let view = self.ledger.view(coverage);
        let htlcs: Vec<CommitmentHtlc> = view
            .htlcs
            .iter()
            .map(|((offerer, _), htlc)| CommitmentHtlc {
                offered: *offerer == broadcaster,
                amount_msat: htlc.amount_msat,
                cltv_expiry: htlc.cltv_expiry,
                payment_hash: htlc.payment_hash,
            })
            .collect();
        let revocation_key = self
            .signer
            .revocation_key(owner, per_commitment_point, &countersignatory_keys.revocation_basepoint)
            .map_err(|e| signer_error("revocation key", e))?;
        let keys = CommitmentKeys::derive_with_revocation_key(
            &self.secp,
            per_commitment_point,
            revocation_key,
            broadcaster_keys,
            countersignatory_keys,
            !htlcs.is_empty(),
        )
        .map_err(|_| close("per-commitment key derivation failed"))?;
        let (opener, accepter) = if self.holder_is_funder {
            (holder_keys, counterparty_keys)
        } else {
            (counterparty_keys, holder_keys)
        };
        let (to_broadcaster_msat, to_countersignatory_msat, limits, delay) = match broadcaster {
            // Our outputs wait the delay the peer demands; its outputs the delay we demand.
            Side::Holder => (
                view.holder_balance_msat,
                view.counterparty_balance_msat,
                &self.holder_limits,
                self.counterparty_limits.to_self_delay,
            ),
            Side::Counterparty => (
                view.counterparty_balance_msat,
                view.holder_balance_msat,
                &self.counterparty_limits,
                self.holder_limits.to_self_delay,
            ),
        };
        let to_remote_script_pubkey = self
            .basepoint_memo
            .to_remote_script_pubkey(broadcaster, &countersignatory_keys.payment_basepoint);
        let params = CommitmentParams {
            funding_outpoint,
            funding_satoshis: self.funding_satoshis,
            commitment_number,
            obscure_factor: self
                .basepoint_memo
                .obscure_factor(&opener.payment_basepoint, &accepter.payment_basepoint),
            broadcaster_is_funder: self.holder_is_funder == (broadcaster == Side::Holder),
            to_broadcaster_msat,
            to_countersignatory_msat,
            feerate_per_kw: view.feerate_per_kw,
            dust_limit_satoshis: limits.dust_limit_satoshis,
            to_self_delay: delay,
            keys: &keys,
            to_remote_script_pubkey: &to_remote_script_pubkey,
            htlcs: &htlcs,
        };
        let transaction =
            CommitmentTransaction::build(&params).map_err(|_| close("commitment does not conserve value"))?;
        Ok(BuiltCommitment {
            transaction,
            htlcs,
            keys,
            feerate_per_kw: view.feerate_per_kw,
        })
    }

    /// Records durable steps as the next monitor update. Refused (the channel must close)
    /// once the ids run out: no live channel gets there, but a channel read from corrupt
    /// bytes may start at the end of u64, and its counter must not wrap or panic.
    pub(crate) fn push_monitor_update(&mut self, steps: Vec<MonitorStep>) -> Result<(), ChannelError> {
        let update_id = self.next_monitor_update_id;
        self.next_monitor_update_id = update_id
            .checked_add(1)
            .ok_or_else(|| close("monitor update ids exhausted"))?;
        self.monitor_updates.push(ChannelMonitorUpdate { update_id, steps });
        Ok(())
    }

    /// The monitor updates produced since the last call, in id order. Every message the
    /// channel returned after an update depends on that update being persisted.
    pub fn take_monitor_updates(&mut self) -> Vec<ChannelMonitorUpdate> {
        core::mem::take(&mut self.monitor_updates)
    }

    /// The id of the latest monitor update produced (0 before any).
    pub fn latest_monitor_update_id(&self) -> u64 {
        self.next_monitor_update_id - 1
    }

    pub(crate) fn funding_step(&self) -> Result<MonitorStep, ChannelError> {
        Ok(MonitorStep::Funding(alloc::boxed::Box::new(FundingInfo {
            funding_outpoint: self.funding_outpoint.ok_or_else(|| close("funding outpoint unknown"))?,
            funding_satoshis: self.funding_satoshis,
            holder_is_funder: self.holder_is_funder,
            holder_pubkeys: *self.signer.pubkeys(),
            counterparty_pubkeys: *self.counterparty_pubkeys()?,
            holder_to_self_delay: self.counterparty_limits.to_self_delay,
            counterparty_to_self_delay: self.holder_limits.to_self_delay,
        })))
    }

    /// The HTLCs of a built commitment in output order (the order of its signatures).
    fn htlcs_in_output_order(built: &BuiltCommitment) -> Vec<CommitmentHtlc> {
        built
            .transaction
            .htlc_outputs
            .iter()
            .map(|(index, _)| built.htlcs[*index])
            .collect()
    }

    pub(crate) fn holder_commitment_step(
        number: u64,
        built: &BuiltCommitment,
        counterparty_signature: &bitcoin::secp256k1::ecdsa::Signature,
        htlc_signatures: &[bitcoin::secp256k1::ecdsa::Signature],
    ) -> MonitorStep {
        MonitorStep::HolderCommitment {
            commitment_number: number,
            transaction: built.transaction.tx.clone(),
            counterparty_signature: *counterparty_signature,
            htlc_signatures: htlc_signatures.to_vec(),
            htlcs: Self::htlcs_in_output_order(built),
        }
    }

    pub(crate) fn counterparty_commitment_step(number: u64, point: &PublicKey, built: &BuiltCommitment) -> MonitorStep {
        MonitorStep::CounterpartyCommitment {
            commitment_number: number,
            txid: built.transaction.txid(),
            per_commitment_point: *point,
            htlcs: Self::htlcs_in_output_order(built),
        }
    }

    /// The contents of our current commitment.
    pub fn holder_view(&self) -> CommitmentView {
        self.ledger.view(self.ledger.holder_commitment())
    }

    /// The contents of the latest counterparty commitment we signed.
    pub fn counterparty_view(&self) -> CommitmentView {
        self.ledger.view(self.ledger.counterparty_commitment())
    }

    /// One HTLC of our current commitment (`holder_view().htlcs[&(offerer, htlc_id)]`),
    /// without building the view.
    pub fn holder_commitment_htlc(&self, offerer: Side, htlc_id: u64) -> Option<Htlc> {
        self.ledger.htlc_in(self.ledger.holder_commitment(), offerer, htlc_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_keep_a_one_percent_reserve_above_dust() {
        let limits = ChannelLimits::default_for(1_234_500);
        assert_eq!(limits.channel_reserve_satoshis, 12_345);
        assert_eq!(limits.max_htlc_value_in_flight_msat, 1_234_500_000);
        assert_eq!(ChannelLimits::default_for(20_000).channel_reserve_satoshis, 546);
        assert_eq!(
            ChannelLimits::default_for(u64::MAX).max_htlc_value_in_flight_msat,
            u64::MAX
        );
    }
}
