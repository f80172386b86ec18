//! Cooperative close (BOLT 2): `shutdown`, then, once no HTLC remains, the legacy
//! `closing_signed` fee negotiation with `fee_range`, ending in a closing transaction
//! signed by both.
//!
//! Two choices here are about meeting other implementations, not only ourselves:
//!
//! - The fees we fund are bounded by the user's fee estimate. A funder's `fee_range`
//!   says what it is prepared to pay (BOLT 2), and a fundee may pick the top of the
//!   overlap; a range reaching our whole balance would let it take everything as fee.
//! - The closing transaction we sign holds each output to the dust limit of the side
//!   that must accept it: the peer's output is kept down to the peer's own dust limit,
//!   ours is left out below the larger of the two. That is the transaction the peer
//!   builds itself (BOLT 3 has each signer drop outputs below its own limit, and lets a
//!   signer eliminate its own output), so a peer that checks our signature only against
//!   its own construction, with or without our output, accepts it. Signing with our
//!   larger limit instead drops a peer's output the peer keeps, and turns the close into
//!   a force close. Both outputs must still be relayable by their script's threshold.

use alloc::vec;
use alloc::vec::Vec;

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::{ScriptBuf, Transaction, WitnessVersion};

use super::operation::MIN_FEERATE_PER_KW;
use super::{close, disconnect, ignore, signer_error, Channel, ChannelError, ChannelPhase};
use crate::chan::closing::{build_closing_transaction, is_relayable, ClosingOutput, ClosingParams};
use crate::chan::commitment::fee_for_weight;
use crate::chan::monitor_update::MonitorStep;
use crate::chan::script::funding_redeem_script;
use crate::chan::signing::{funding_witness, verify_p2wsh_input};
use crate::sign::ChannelSigner;
use crate::wire::{ClosingSigned, ClosingSignedTlvs, FeeRange, NoTlvs, Shutdown};

/// Weight of a closing transaction without its outputs: version, locktime, the funding
/// input and its 2-of-2 witness with two 73-byte signatures.
const CLOSING_BASE_WEIGHT: u64 = 4 * (4 + 1 + 41 + 1 + 4) + 2 + 1 + 1 + 73 + 73 + 1 + 71;

/// Where the close stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloseState {
    /// Our `shutdown` script, once sent.
    pub holder_script: Option<ScriptBuf>,
    /// The peer's `shutdown` script, once received.
    pub counterparty_script: Option<ScriptBuf>,
    /// The fee we last proposed.
    pub last_sent_fee_satoshis: Option<u64>,
    /// The `fee_range` of this negotiation, fixed when we first need it so that every
    /// answer is judged against the range the peer saw. Not persisted: negotiation
    /// restarts on reconnection, with the estimate of that time.
    pub fee_range: Option<FeeRange>,
    /// The fee the peer last proposed without a `fee_range` (the older negotiation, where
    /// each fee must fall strictly between the last two). Not persisted: negotiation
    /// restarts on reconnection.
    pub last_received_fee_satoshis: Option<u64>,
    /// The fully signed closing transaction, once agreed.
    pub closing_transaction: Option<Transaction>,
    /// The script we committed to at opening (`option_upfront_shutdown_script`): our
    /// `shutdown` must use it.
    pub holder_upfront_script: Option<ScriptBuf>,
    /// The script the peer committed to, when it binds: its `shutdown` must use it.
    pub counterparty_upfront_script: Option<ScriptBuf>,
    /// Both nodes advertised `option_upfront_shutdown_script` (needed until the funder
    /// reads `accept_channel`).
    pub upfront_negotiated: bool,
    /// Our `shutdown`, asked for while updates of ours were pending on the peer's
    /// commitment: it goes out once they are signed (see [`Channel::request_shutdown`]).
    pub requested_script: Option<ScriptBuf>,
    /// Both nodes advertised `option_shutdown_anysegwit` on the current connection (or
    /// at opening): witness programs of versions 1 to 16 are allowed `shutdown` scripts.
    /// Not persisted: the manager sets it on every connection.
    pub anysegwit_negotiated: bool,
}

/// Whether `script` is a form BOLT 2 allows in `shutdown`: P2WPKH, P2WSH, P2PKH or
/// P2SH, and with `option_shutdown_anysegwit` negotiated (`anysegwit`) a witness program
/// of version 1 to 16 (`OP_1`..`OP_16` and one push of 2 to 40 bytes).
pub fn is_acceptable_shutdown_script(script: &ScriptBuf, anysegwit: bool) -> bool {
    let future_segwit = script.is_witness_program() && script.witness_version() != Some(WitnessVersion::V0);
    script.is_p2wpkh() || script.is_p2wsh() || script.is_p2pkh() || script.is_p2sh() || (anysegwit && future_segwit)
}

impl<S: ChannelSigner> Channel<S> {
    /// The close's progress.
    pub fn close_state(&self) -> &CloseState {
        &self.close
    }

    /// Whether both nodes advertised `option_shutdown_anysegwit` on the connection now
    /// up: the manager tells each channel when its peer connects.
    pub fn set_anysegwit_negotiated(&mut self, negotiated: bool) {
        self.close.anysegwit_negotiated = negotiated;
    }

    /// Starts a cooperative close paying our balance to `script`, now: refused while
    /// updates of ours are pending on the peer's commitment (BOLT 2), where
    /// [`Channel::request_shutdown`] waits instead. No HTLC may be added afterwards;
    /// existing ones settle first.
    pub fn send_shutdown(&mut self, script: ScriptBuf) -> Result<Shutdown, ChannelError> {
        self.check_shutdown_request(&script)?;
        if self.ledger.counterparty_commitment_outdated() {
            return Err(ignore("updates are pending on the peer's commitment"));
        }
        self.phase = ChannelPhase::ShuttingDown;
        Ok(self.sent_shutdown(script))
    }

    /// Starts a cooperative close paying our balance to `script`: our `shutdown` now if
    /// nothing of ours is pending on the peer's commitment, or `None`, and it waits for
    /// [`Channel::shutdown_due`] once our `commitment_signed` covers them. Either way no
    /// HTLC may be added from here on.
    pub fn request_shutdown(&mut self, script: ScriptBuf) -> Result<Option<Shutdown>, ChannelError> {
        self.check_shutdown_request(&script)?;
        self.phase = ChannelPhase::ShuttingDown;
        if self.ledger.counterparty_commitment_outdated() {
            self.close.requested_script = Some(script);
            return Ok(None);
        }
        Ok(Some(self.sent_shutdown(script)))
    }

    fn check_shutdown_request(&self, script: &ScriptBuf) -> Result<(), ChannelError> {
        if !matches!(
            self.phase,
            ChannelPhase::Normal | ChannelPhase::AwaitingChannelReady { .. }
        ) {
            return Err(ignore("the channel cannot be shut down now"));
        }
        if !is_acceptable_shutdown_script(script, self.close.anysegwit_negotiated) {
            return Err(ignore("unsupported shutdown script"));
        }
        if self
            .close
            .holder_upfront_script
            .as_ref()
            .is_some_and(|upfront| upfront != script)
        {
            return Err(ignore("shutdown script differs from the upfront shutdown script"));
        }
        Ok(())
    }

    /// Our `shutdown` to `script`, recorded as sent (a reconnection retransmits it).
    fn sent_shutdown(&mut self, script: ScriptBuf) -> Shutdown {
        self.close.requested_script = None;
        self.close.holder_script = Some(script.clone());
        Shutdown {
            channel_id: self.channel_id,
            scriptpubkey: script,
            extension: NoTlvs::default(),
        }
    }

    /// The peer's `shutdown`. Returns ours if we must answer with it now (`reply_script`
    /// is where our balance goes); with updates of ours still to sign into the peer's
    /// commitment, the answer waits for [`Channel::shutdown_due`].
    pub fn shutdown(&mut self, msg: &Shutdown, reply_script: ScriptBuf) -> Result<Option<Shutdown>, ChannelError> {
        // The peer retransmits its `shutdown` on every reconnection, even once we closed.
        let retransmitted = self.close.counterparty_script.as_ref() == Some(&msg.scriptpubkey);
        if retransmitted && matches!(self.phase, ChannelPhase::ShuttingDown | ChannelPhase::Closed) {
            return Ok(None);
        }
        if !matches!(
            self.phase,
            ChannelPhase::Normal | ChannelPhase::AwaitingChannelReady { .. } | ChannelPhase::ShuttingDown
        ) {
            return Err(close("shutdown before funding"));
        }
        if self.close.counterparty_script.is_some() {
            return Err(close("a second shutdown with another script"));
        }
        // BOLT 2: a warning. Refused, the `shutdown` changes nothing; the peer may send
        // one we accept.
        if !is_acceptable_shutdown_script(&msg.scriptpubkey, self.close.anysegwit_negotiated) {
            return Err(ignore("unsupported shutdown script"));
        }
        // BOLT 2: fail the connection, not the channel. Checked before anything changes,
        // so the peer may still close to the script it committed to.
        if self
            .close
            .counterparty_upfront_script
            .as_ref()
            .is_some_and(|upfront| *upfront != msg.scriptpubkey)
        {
            return Err(disconnect(
                "shutdown script differs from the peer's upfront shutdown script",
            ));
        }
        self.close.counterparty_script = Some(msg.scriptpubkey.clone());
        self.phase = ChannelPhase::ShuttingDown;
        Ok(self.shutdown_due(&reply_script))
    }

    /// Our `shutdown`, once it is due: one we asked for ([`Channel::request_shutdown`]),
    /// or our answer to the peer's (to `reply_script` unless we committed to a script at
    /// opening). BOLT 2 forbids a `shutdown` while updates are pending on the receiver's
    /// commitment, so it waits until our `commitment_signed` covers them (the manager
    /// asks after each signing). `None` when nothing is owed, or not yet. Sent once; a
    /// reconnection retransmits it.
    pub fn shutdown_due(&mut self, reply_script: &ScriptBuf) -> Option<Shutdown> {
        if self.phase != ChannelPhase::ShuttingDown
            || self.close.holder_script.is_some()
            || self.ledger.counterparty_commitment_outdated()
        {
            return None;
        }
        let script = match (&self.close.requested_script, &self.close.counterparty_script) {
            (Some(requested), _) => requested.clone(),
            (None, Some(_)) => self
                .close
                .holder_upfront_script
                .clone()
                .unwrap_or_else(|| reply_script.clone()),
            (None, None) => return None,
        };
        Some(self.sent_shutdown(script))
    }

    /// Whether both `shutdown`s are exchanged and no HTLC or update remains.
    pub fn ready_for_closing_signed(&self) -> bool {
        self.close.holder_script.is_some()
            && self.close.counterparty_script.is_some()
            && self.holder_view().htlcs.is_empty()
            && self.counterparty_view().htlcs.is_empty()
            && !self.awaiting_revoke
            && !self.ledger.counterparty_commitment_outdated()
            && self.ledger.next_holder_commitment() == self.ledger.holder_commitment()
    }

    fn closing_fee(&self, feerate_per_kw: u32) -> u64 {
        let outputs: u64 = [&self.close.holder_script, &self.close.counterparty_script]
            .iter()
            .map(|s| s.as_ref().map_or(0, |s| 8 + 1 + s.len() as u64))
            .sum();
        fee_for_weight(feerate_per_kw, CLOSING_BASE_WEIGHT + 4 * outputs)
    }

    /// The fees we accept in this negotiation, computed from `feerate_estimate_per_kw` the
    /// first time and kept until the negotiation restarts.
    fn fee_range(&mut self, feerate_estimate_per_kw: u32) -> FeeRange {
        if let Some(range) = self.close.fee_range {
            return range;
        }
        let range = self.holder_fee_range(feerate_estimate_per_kw);
        self.close.fee_range = Some(range);
        range
    }

    /// The fees we accept now. As the funder: from the relay floor's fee to the fee our
    /// estimate asks, never more than our balance; the estimate is all we are prepared to
    /// pay (a fundee may pick the top of the overlap). As the fundee: from the floor to
    /// the funder's whole balance: the fee is not ours to pay (BOLT 2 has the fundee's
    /// maximum reach the funder's).
    fn holder_fee_range(&self, feerate_estimate_per_kw: u32) -> FeeRange {
        let view = self.holder_view();
        let floor_fee_satoshis = self.closing_fee(MIN_FEERATE_PER_KW);
        if self.holder_is_funder {
            let estimate_fee_satoshis = self.closing_fee(feerate_estimate_per_kw.max(MIN_FEERATE_PER_KW));
            let max_fee_satoshis = estimate_fee_satoshis.min(view.holder_balance_msat / 1000);
            FeeRange {
                min_fee_satoshis: floor_fee_satoshis.min(max_fee_satoshis),
                max_fee_satoshis,
            }
        } else {
            FeeRange {
                min_fee_satoshis: floor_fee_satoshis,
                max_fee_satoshis: view.counterparty_balance_msat / 1000,
            }
        }
    }

    /// The closing transaction we sign at `fee_satoshis`: the peer's output left out only
    /// below the peer's dust limit, ours below the larger of both (see the module
    /// documentation), and any output the network would not relay left out too (a P2PKH
    /// or P2SH output can be above a low dust limit and below its script's relay
    /// threshold): signing it would only fail the close.
    ///
    /// At exactly a limit, implementations differ (BOLT 3 removes outputs *below* it; LDK
    /// also removes one *at* it), so where we can we sign what both readings accept: our
    /// output is kept only above the peer's limit (giving up our own is always allowed),
    /// and the peer's output at exactly its limit is left out when that is below ours
    /// (then it is below our own limit too, which a signer may always apply).
    fn build_closing(&self, fee_satoshis: u64) -> Result<Transaction, ChannelError> {
        let holder_dust_satoshis = self.holder_limits.dust_limit_satoshis;
        let their_dust_satoshis = self.counterparty_limits.dust_limit_satoshis;
        let ours_below_satoshis = holder_dust_satoshis.max(their_dust_satoshis.saturating_add(1));
        let theirs_below_satoshis = if their_dust_satoshis < holder_dust_satoshis {
            their_dust_satoshis + 1
        } else {
            their_dust_satoshis
        };
        let mut tx = self.closing_transaction(fee_satoshis, ours_below_satoshis, theirs_below_satoshis, false)?;
        tx.output.retain(is_relayable);
        Ok(tx)
    }

    /// Every closing transaction at `fee_satoshis` the peer may have signed, ours first.
    /// BOLT 3 has the signer leave out outputs below its own dust limit and lets it
    /// eliminate its own output; BOLT 2 has us take a signature valid for either variant.
    /// Implementations read "its own dust limit" differently (ours applies each side's
    /// limit to its own output's receiver, others apply the signer's to both, and some
    /// leave out an output at the limit too), so each output may have been held to either
    /// side's limit, read either way. Our output is never left out above both limits:
    /// only its owner may give up an output.
    fn closing_variants_the_peer_may_sign(&self, fee_satoshis: u64) -> Result<Vec<Transaction>, ChannelError> {
        let ours = self.build_closing(fee_satoshis)?;
        // Each limit as BOLT 3 reads it (below it, left out) and as LDK does (at it too).
        let (holder, theirs) = (
            self.holder_limits.dust_limit_satoshis,
            self.counterparty_limits.dust_limit_satoshis,
        );
        let limits = [holder, theirs, holder.saturating_add(1), theirs.saturating_add(1)];
        let mut variants = vec![ours];
        for ours_below_satoshis in limits {
            let theirs_below = limits.iter().map(|limit| (*limit, false));
            for (theirs_below_satoshis, without_theirs) in theirs_below.chain([(0, true)]) {
                let tx =
                    self.closing_transaction(fee_satoshis, ours_below_satoshis, theirs_below_satoshis, without_theirs)?;
                if !variants.contains(&tx) {
                    variants.push(tx);
                }
            }
        }
        // A transaction without outputs is invalid: signed, it would only strand the funds.
        variants.retain(|tx| !tx.output.is_empty());
        Ok(variants)
    }

    /// The closing transaction at `fee_satoshis` with our output left out below
    /// `holder_dust_satoshis`, the peer's below `counterparty_dust_satoshis` and, if
    /// `without_counterparty_output`, the peer's output eliminated.
    fn closing_transaction(
        &self,
        fee_satoshis: u64,
        holder_dust_satoshis: u64,
        counterparty_dust_satoshis: u64,
        without_counterparty_output: bool,
    ) -> Result<Transaction, ChannelError> {
        let view = self.holder_view();
        let holder_script = self
            .close
            .holder_script
            .as_ref()
            .ok_or_else(|| close("no shutdown script"))?;
        let counterparty_script = self
            .close
            .counterparty_script
            .as_ref()
            .ok_or_else(|| close("no peer script"))?;
        let (to_funder_msat, to_fundee_msat, funder_script, fundee_script) = if self.holder_is_funder {
            (
                view.holder_balance_msat,
                view.counterparty_balance_msat,
                holder_script,
                counterparty_script,
            )
        } else {
            (
                view.counterparty_balance_msat,
                view.holder_balance_msat,
                counterparty_script,
                holder_script,
            )
        };
        let (counterparty_output, funder_dust_limit_satoshis, fundee_dust_limit_satoshis) = if self.holder_is_funder {
            (ClosingOutput::Fundee, holder_dust_satoshis, counterparty_dust_satoshis)
        } else {
            (ClosingOutput::Funder, counterparty_dust_satoshis, holder_dust_satoshis)
        };
        Ok(build_closing_transaction(&ClosingParams {
            funding_outpoint: self.funding_outpoint.ok_or_else(|| close("no funding"))?,
            to_funder_msat,
            to_fundee_msat,
            funder_script,
            fundee_script,
            fee_satoshis,
            funder_dust_limit_satoshis,
            fundee_dust_limit_satoshis,
            eliminated: without_counterparty_output.then_some(counterparty_output),
        }))
    }

    fn sign_closing(&mut self, fee_satoshis: u64, fee_range: FeeRange) -> Result<ClosingSigned, ChannelError> {
        let tx = self.build_closing(fee_satoshis)?;
        self.sign_closing_transaction(fee_satoshis, &tx, fee_range)
    }

    fn sign_closing_transaction(
        &mut self,
        fee_satoshis: u64,
        tx: &Transaction,
        fee_range: FeeRange,
    ) -> Result<ClosingSigned, ChannelError> {
        // What we sign for the funder's balance is within what we said we accept.
        debug_assert!(!self.holder_is_funder || fee_satoshis <= fee_range.max_fee_satoshis);
        let signature = self
            .signer
            .sign_closing_transaction(tx)
            .map_err(|e| signer_error("closing", e))?;
        self.close.last_sent_fee_satoshis = Some(fee_satoshis);
        Ok(ClosingSigned {
            channel_id: self.channel_id,
            fee_satoshis,
            signature,
            tlvs: ClosingSignedTlvs {
                fee_range: Some(fee_range),
                ..ClosingSignedTlvs::default()
            },
        })
    }

    /// Our last `closing_signed` again, once both signed: over the transaction agreed
    /// (the variant the peer signed, which rebuilding might not give), with the agreed fee
    /// as our whole range. `None` if the close was not agreed.
    pub(super) fn resend_closing_signed(&mut self) -> Result<Option<ClosingSigned>, ChannelError> {
        let (Some(fee_satoshis), Some(agreed)) = (self.close.last_sent_fee_satoshis, &self.close.closing_transaction)
        else {
            return Ok(None);
        };
        let mut unsigned = agreed.clone();
        unsigned.input[0].witness = bitcoin::Witness::new();
        let range = FeeRange {
            min_fee_satoshis: fee_satoshis,
            max_fee_satoshis: fee_satoshis,
        };
        self.sign_closing_transaction(fee_satoshis, &unsigned, range).map(Some)
    }

    /// Whether we are the funder, the channel is [ready](Channel::ready_for_closing_signed)
    /// and we have not proposed a closing fee yet: the moment for
    /// [`Channel::propose_closing_signed`].
    pub fn closing_proposal_due(&self) -> bool {
        self.holder_is_funder && self.ready_for_closing_signed() && self.close.last_sent_fee_satoshis.is_none()
    }

    /// The funder's opening proposal, once [`Channel::closing_proposal_due`]: the fee
    /// the user's `feerate_estimate_per_kw` asks for the closing transaction (at least the
    /// relay floor's, at most our balance), with a range from the floor's fee to it.
    pub fn propose_closing_signed(&mut self, feerate_estimate_per_kw: u32) -> Result<ClosingSigned, ChannelError> {
        if !self.closing_proposal_due() {
            return Err(ignore("not the funder's turn to propose a closing fee"));
        }
        let range = self.fee_range(feerate_estimate_per_kw);
        self.sign_closing(range.max_fee_satoshis, range)
    }

    /// A force close: our current commitment with both signatures, for the user to
    /// broadcast. The channel is closed afterwards and its monitor told. Refused before
    /// the peer signed a commitment of ours, once closed, and by the signer for a revoked
    /// commitment (ours never is, unless we lost data, which the signer catches).
    pub fn force_close(&mut self) -> Result<Transaction, ChannelError> {
        if self.phase == ChannelPhase::Closed {
            return Err(ignore("the channel is closed"));
        }
        let Some(their_signature) = self.holder_commitment_signature else {
            return Err(ignore("no commitment of ours is signed yet"));
        };
        let number = self.holder_commitment_number;
        let point = self
            .signer
            .per_commitment_point(number)
            .map_err(|e| signer_error("per-commitment point", e))?;
        let coverage = self.ledger.holder_commitment();
        let built = self.build_commitment(crate::chan::ledger::Side::Holder, number, &point, coverage)?;
        let ours = self
            .signer
            .sign_holder_commitment(number, &built.transaction)
            .map_err(|e| signer_error("force close", e))?;
        let holder_key = self.signer.pubkeys().funding_pubkey;
        let counterparty_key = self.counterparty_pubkeys()?.funding_pubkey;
        let script = funding_redeem_script(&holder_key, &counterparty_key);
        let mut tx = built.transaction.tx;
        tx.input[0].witness = funding_witness(&ours, &holder_key, &their_signature, &counterparty_key, &script);
        self.push_monitor_update(vec![MonitorStep::ChannelClosed])?;
        self.phase = ChannelPhase::Closed;
        Ok(tx)
    }

    /// Both signed `tx`, the variant the peer's signature is valid for.
    fn complete_close(&mut self, mut tx: Transaction, their_signature: &Signature) -> Result<(), ChannelError> {
        let ours = self
            .signer
            .sign_closing_transaction(&tx)
            .map_err(|e| signer_error("closing", e))?;
        let holder_key = self.signer.pubkeys().funding_pubkey;
        let counterparty_key = self.counterparty_pubkeys()?.funding_pubkey;
        let script = funding_redeem_script(&holder_key, &counterparty_key);
        tx.input[0].witness = funding_witness(&ours, &holder_key, their_signature, &counterparty_key, &script);
        self.push_monitor_update(vec![MonitorStep::ChannelClosed])?;
        self.close.closing_transaction = Some(tx);
        self.phase = ChannelPhase::Closed;
        Ok(())
    }

    /// The peer's `closing_signed`. Returns our answer, if one is due; the channel is
    /// [`ChannelPhase::Closed`] once both have signed the same fee. Our fee range, if
    /// this negotiation has none yet, comes from the user's `feerate_estimate_per_kw`.
    pub fn closing_signed(
        &mut self,
        msg: &ClosingSigned,
        feerate_estimate_per_kw: u32,
    ) -> Result<Option<ClosingSigned>, ChannelError> {
        // Already closed by agreement: a proposal crossing our last one changes nothing.
        if self.phase == ChannelPhase::Closed {
            return Ok(None);
        }
        if !self.ready_for_closing_signed() {
            return Err(close("closing_signed before the channel is clear"));
        }
        let counterparty_key = self.counterparty_pubkeys()?.funding_pubkey;
        let script = funding_redeem_script(&self.signer.pubkeys().funding_pubkey, &counterparty_key);
        let signed = self
            .closing_variants_the_peer_may_sign(msg.fee_satoshis)?
            .into_iter()
            .find(|tx| {
                verify_p2wsh_input(
                    &self.secp,
                    tx,
                    0,
                    &script,
                    self.funding_satoshis,
                    &msg.signature,
                    &counterparty_key,
                )
            })
            .ok_or_else(|| close("invalid closing signature"))?;
        // BOLT 2: an output the network would not relay fails the channel. A peer whose
        // dust limit is lower than a script's relay threshold can sign one.
        if !signed.output.iter().all(is_relayable) {
            return Err(close("a closing output below the relay dust threshold of its script"));
        }
        let ours = self.fee_range(feerate_estimate_per_kw);
        let Some(theirs) = msg.tlvs.fee_range else {
            return self.closing_signed_without_range(msg, signed, ours);
        };
        let overlap = (
            ours.min_fee_satoshis.max(theirs.min_fee_satoshis),
            ours.max_fee_satoshis.min(theirs.max_fee_satoshis),
        );
        if overlap.0 > overlap.1 {
            // BOLT 2: warn, and fail only if no satisfying range comes in time (the
            // manager's closing negotiation timeout).
            return Err(ignore("no overlap between the closing fee ranges"));
        }
        let agreed = Some(msg.fee_satoshis) == self.close.last_sent_fee_satoshis;
        let in_overlap = (overlap.0..=overlap.1).contains(&msg.fee_satoshis);
        if agreed
            || (in_overlap && self.close.last_sent_fee_satoshis.is_none())
            || (in_overlap && self.holder_is_funder)
        {
            // Agreeing, we sign the variant the peer signed: both then hold one transaction.
            let reply = if agreed {
                None
            } else {
                Some(self.sign_closing_transaction(msg.fee_satoshis, &signed, ours)?)
            };
            self.complete_close(signed, &msg.signature)?;
            return Ok(reply);
        }
        if self.holder_is_funder || self.close.last_sent_fee_satoshis.is_some() {
            return Err(close("closing fee outside the agreed range"));
        }
        // The fundee counters with the closest fee it accepts.
        let fee = msg.fee_satoshis.clamp(overlap.0, overlap.1);
        Ok(Some(self.sign_closing(fee, ours)?))
    }

    /// BOLT 2's negotiation with a peer that sends no `fee_range`: each fee proposed falls
    /// strictly between the last two, until one side takes the other's. `signed` is the
    /// variant the peer's valid signature is on.
    fn closing_signed_without_range(
        &mut self,
        msg: &ClosingSigned,
        signed: Transaction,
        ours: FeeRange,
    ) -> Result<Option<ClosingSigned>, ChannelError> {
        let fee = msg.fee_satoshis;
        let previous = self.close.last_received_fee_satoshis.replace(fee);
        if Some(fee) == self.close.last_sent_fee_satoshis {
            self.complete_close(signed, &msg.signature)?;
            return Ok(None);
        }
        if let (Some(sent), Some(received)) = (self.close.last_sent_fee_satoshis, previous) {
            if fee <= sent.min(received) || fee >= sent.max(received) {
                return Err(close("closing fee not strictly between the last two proposed"));
            }
        }
        if (ours.min_fee_satoshis..=ours.max_fee_satoshis).contains(&fee) {
            let reply = self.sign_closing_transaction(fee, &signed, ours)?;
            self.complete_close(signed, &msg.signature)?;
            return Ok(Some(reply));
        }
        // Our closest acceptable fee lies between theirs and ours, unless we offered it
        // already: then their fees never reach what we accept.
        let counter = fee.clamp(ours.min_fee_satoshis, ours.max_fee_satoshis);
        if Some(counter) == self.close.last_sent_fee_satoshis {
            return Err(close("the peer's closing fees never reach our range"));
        }
        Ok(Some(self.sign_closing(counter, ours)?))
    }
}
