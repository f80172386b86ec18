//! Channel establishment v1 (BOLT 2): `open_channel`, `accept_channel`,
//! `funding_created`, `funding_signed`, `channel_ready`.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, ScriptBuf, Transaction};

use super::{
    close, signer_error, Channel, ChannelError, ChannelLimits, ChannelPhase, MAX_HTLCS_PER_SIDE,
    MIN_DUST_LIMIT_SATOSHIS,
};
use crate::chan::channel::close::is_acceptable_shutdown_script;
use crate::chan::commitment::{fee_for_weight, ChannelPublicKeys, COMMITMENT_BASE_WEIGHT};
use bitcoin::secp256k1::ecdsa::Signature;

use crate::chan::ledger::{ChannelLedger, Side};
use crate::chan::monitor_update::MonitorStep;
use crate::chan::script::funding_redeem_script;
use crate::chan::secrets::CounterpartyCommitmentSecrets;
use crate::sign::{ChannelSigner, ChannelTransactionParameters};
use crate::wire::{
    AcceptChannel, ChannelId, ChannelReady, ChannelReadyTlvs, Feature, Features, FundingCreated, FundingSigned, NoTlvs,
    OpenChannel, OpenChannelTlvs,
};

/// Channels below 2^24 satoshis need no `option_support_large_channel`.
pub const MAX_FUNDING_SATOSHIS_NO_LARGE: u64 = (1 << 24) - 1;
/// The longest `to_self_delay` we accept from a peer: two weeks of blocks. Longer would
/// lock our funds for longer than any reasonable watchtower policy needs.
pub const MAX_TO_SELF_DELAY: u16 = 2016;

/// The only channel type this node opens or accepts: `option_static_remotekey`.
pub fn static_remotekey_channel_type() -> Features {
    let mut features = Features::empty();
    features.set_required(Feature::StaticRemoteKey);
    features
}

/// What the funder chooses when opening.
#[derive(Clone, Debug)]
pub struct OpenChannelParams {
    /// The chain.
    pub chain_hash: ChainHash,
    /// A random id for the channel until funding.
    pub temporary_channel_id: ChannelId,
    /// The channel's value.
    pub funding_satoshis: u64,
    /// Given to the peer at opening.
    pub push_msat: u64,
    /// The initial commitment feerate.
    pub feerate_per_kw: u32,
    /// What we demand of the peer.
    pub limits: ChannelLimits,
    /// The close script we commit to, and whether the peer's commitment binds.
    pub upfront_shutdown: UpfrontShutdown,
}

/// `option_upfront_shutdown_script`: where each side commits, at opening, to close to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpfrontShutdown {
    /// The script we commit to close to; `None` sends an empty one (no commitment).
    pub holder_script: Option<ScriptBuf>,
    /// Both nodes advertised `option_upfront_shutdown_script`: only then does a script the
    /// peer commits to bind its `shutdown` (BOLT 2).
    pub negotiated: bool,
    /// Both nodes advertised `option_shutdown_anysegwit`: witness programs of versions 1
    /// to 16 are allowed, in the committed scripts as in `shutdown`.
    pub anysegwit: bool,
}

impl UpfrontShutdown {
    /// The `upfront_shutdown_script` record we send. Always present: BOLT 2 requires it
    /// whenever `open_channel_tlvs` or `accept_channel_tlvs` are sent, as our
    /// `channel_type` makes them.
    fn record(&self) -> Result<ScriptBuf, ChannelError> {
        match &self.holder_script {
            Some(script) if !is_acceptable_shutdown_script(script, self.anysegwit) => {
                Err(close("upfront shutdown script is not a form shutdown allows"))
            }
            Some(script) => Ok(script.clone()),
            None => Ok(ScriptBuf::new()),
        }
    }

    /// The peer's committed script, if it binds: a non-empty script, when negotiated, in a
    /// form `shutdown` allows.
    fn counterparty_commitment(&self, record: &Option<ScriptBuf>) -> Result<Option<ScriptBuf>, ChannelError> {
        match record {
            Some(script) if self.negotiated && !script.is_empty() => {
                if !is_acceptable_shutdown_script(script, self.anysegwit) {
                    return Err(close("peer's upfront shutdown script is not a form shutdown allows"));
                }
                Ok(Some(script.clone()))
            }
            _ => Ok(None),
        }
    }
}

pub(super) fn check_limits(limits: &ChannelLimits, funding_satoshis: u64) -> Result<(), ChannelError> {
    if limits.max_accepted_htlcs > MAX_HTLCS_PER_SIDE || limits.max_accepted_htlcs == 0 {
        return Err(close("max_accepted_htlcs must be 1 to 483"));
    }
    if limits.to_self_delay > MAX_TO_SELF_DELAY {
        return Err(close("to_self_delay is unreasonably large"));
    }
    if limits.dust_limit_satoshis < MIN_DUST_LIMIT_SATOSHIS {
        return Err(close("dust_limit_satoshis is below 354"));
    }
    if limits.channel_reserve_satoshis > funding_satoshis {
        return Err(close("channel_reserve_satoshis exceeds the channel"));
    }
    Ok(())
}

fn check_pubkeys_distinct(keys: &ChannelPublicKeys, ours: &ChannelPublicKeys) -> Result<(), ChannelError> {
    if keys.funding_pubkey == ours.funding_pubkey {
        return Err(close("the peer reused our funding key"));
    }
    Ok(())
}

/// The channel id of a funded channel: the funding txid XOR the output index (BOLT 2).
pub fn channel_id_from_outpoint(outpoint: &OutPoint) -> ChannelId {
    let mut id = outpoint.txid.to_byte_array();
    let index = (outpoint.vout as u16).to_be_bytes();
    id[30] ^= index[0];
    id[31] ^= index[1];
    ChannelId(id)
}

/// Checks that the funder can pay the fee of commitment 0 and that someone has more than
/// the reserve (BOLT 2's `open_channel` requirements).
fn check_initial_balances(
    funding_satoshis: u64,
    push_msat: u64,
    feerate_per_kw: u32,
    reserve_satoshis: u64,
) -> Result<(), ChannelError> {
    let funder_sat = (funding_satoshis * 1000 - push_msat) / 1000;
    let fee = fee_for_weight(feerate_per_kw, COMMITMENT_BASE_WEIGHT);
    if funder_sat < fee {
        return Err(close("the funder cannot pay the initial commitment fee"));
    }
    if funder_sat - fee <= reserve_satoshis && push_msat / 1000 <= reserve_satoshis {
        return Err(close("both initial balances are at or below the reserve"));
    }
    Ok(())
}

impl<S: ChannelSigner> Channel<S> {
    fn fresh(
        signer: S,
        holder_is_funder: bool,
        channel_id: ChannelId,
        funding_satoshis: u64,
        holder_limits: ChannelLimits,
        ledger: ChannelLedger,
        phase: ChannelPhase,
    ) -> Self {
        Channel {
            signer,
            secp: crate::secp_context::shared(),
            phase,
            holder_is_funder,
            channel_id,
            funding_satoshis,
            funding_outpoint: None,
            holder_limits,
            counterparty_limits: holder_limits,
            counterparty_pubkeys: None,
            counterparty_current_point: None,
            counterparty_next_point: None,
            holder_commitment_number: 0,
            counterparty_commitment_number: 0,
            holder_commitment_signature: None,
            ledger,
            counterparty_secrets: CounterpartyCommitmentSecrets::new(),
            awaiting_revoke: false,
            next_monitor_update_id: 1,
            monitor_updates: Vec::new(),
            connected: true,
            last_sent: None,
            pending_onions: alloc::collections::BTreeMap::new(),
            holder_point_cache: None,
            basepoint_memo: Default::default(),
            close: super::close::CloseState::default(),
            #[cfg(feature = "planted-bugs")]
            planted_bug: None,
        }
    }

    /// Opens a channel as the funder: returns the channel and its `open_channel`.
    pub fn new_outbound(signer: S, params: &OpenChannelParams) -> Result<(Self, OpenChannel), ChannelError> {
        let funding_msat = params
            .funding_satoshis
            .checked_mul(1000)
            .ok_or_else(|| close("funding too large"))?;
        if params.push_msat > funding_msat || params.funding_satoshis > MAX_FUNDING_SATOSHIS_NO_LARGE {
            return Err(close("push_msat exceeds the channel, or the channel is too large"));
        }
        check_limits(&params.limits, params.funding_satoshis)?;
        check_initial_balances(params.funding_satoshis, params.push_msat, params.feerate_per_kw, 0)?;
        let upfront_record = params.upfront_shutdown.record()?;
        let first_point = signer
            .per_commitment_point(0)
            .map_err(|e| signer_error("per-commitment point", e))?;
        let keys = *signer.pubkeys();
        let ledger = ChannelLedger::new(funding_msat - params.push_msat, params.push_msat, params.feerate_per_kw);
        let mut channel = Channel::fresh(
            signer,
            true,
            params.temporary_channel_id,
            params.funding_satoshis,
            params.limits,
            ledger,
            ChannelPhase::AwaitingAccept,
        );
        channel.close.holder_upfront_script = params.upfront_shutdown.holder_script.clone();
        channel.close.upfront_negotiated = params.upfront_shutdown.negotiated;
        channel.close.anysegwit_negotiated = params.upfront_shutdown.anysegwit;
        let open = OpenChannel {
            chain_hash: params.chain_hash,
            temporary_channel_id: params.temporary_channel_id,
            funding_satoshis: params.funding_satoshis,
            push_msat: params.push_msat,
            dust_limit_satoshis: params.limits.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: params.limits.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: params.limits.channel_reserve_satoshis,
            htlc_minimum_msat: params.limits.htlc_minimum_msat,
            feerate_per_kw: params.feerate_per_kw,
            to_self_delay: params.limits.to_self_delay,
            max_accepted_htlcs: params.limits.max_accepted_htlcs,
            funding_pubkey: keys.funding_pubkey,
            revocation_basepoint: keys.revocation_basepoint,
            payment_basepoint: keys.payment_basepoint,
            delayed_payment_basepoint: keys.delayed_payment_basepoint,
            htlc_basepoint: keys.htlc_basepoint,
            first_per_commitment_point: first_point,
            channel_flags: 0,
            tlvs: OpenChannelTlvs {
                upfront_shutdown_script: Some(upfront_record),
                channel_type: Some(static_remotekey_channel_type()),
                ..OpenChannelTlvs::default()
            },
        };
        Ok((channel, open))
    }

    /// Accepts a peer's `open_channel` as the fundee, with our `limits` and the
    /// confirmations we want: returns the channel and its `accept_channel`.
    pub fn new_inbound(
        signer: S,
        chain_hash: ChainHash,
        limits: ChannelLimits,
        minimum_depth: u32,
        upfront_shutdown: &UpfrontShutdown,
        open: &OpenChannel,
    ) -> Result<(Self, AcceptChannel), ChannelError> {
        if open.chain_hash != chain_hash {
            return Err(close("open_channel for another chain"));
        }
        let funding_msat = open
            .funding_satoshis
            .checked_mul(1000)
            .ok_or_else(|| close("funding too large"))?;
        if open.push_msat > funding_msat || open.funding_satoshis > MAX_FUNDING_SATOSHIS_NO_LARGE {
            return Err(close("push_msat exceeds the channel, or the channel is too large"));
        }
        if open.tlvs.channel_type.as_ref().map(|t| t.clone().minimized()) != Some(static_remotekey_channel_type()) {
            return Err(close("channel_type is not option_static_remotekey"));
        }
        let theirs = ChannelLimits {
            dust_limit_satoshis: open.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: open.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: open.channel_reserve_satoshis,
            htlc_minimum_msat: open.htlc_minimum_msat,
            to_self_delay: open.to_self_delay,
            max_accepted_htlcs: open.max_accepted_htlcs,
        };
        check_limits(&theirs, open.funding_satoshis)?;
        if theirs.dust_limit_satoshis > theirs.channel_reserve_satoshis {
            return Err(close("dust_limit_satoshis exceeds channel_reserve_satoshis"));
        }
        if open.feerate_per_kw < 253 {
            return Err(close("feerate_per_kw below the relay floor"));
        }
        // Our reserve demand must be at least their dust limit, and our dust limit at most
        // their reserve demand (BOLT 2 `accept_channel`).
        let mut ours = limits;
        ours.channel_reserve_satoshis = ours.channel_reserve_satoshis.max(theirs.dust_limit_satoshis);
        ours.dust_limit_satoshis = ours.dust_limit_satoshis.min(theirs.channel_reserve_satoshis);
        check_limits(&ours, open.funding_satoshis)?;
        check_initial_balances(
            open.funding_satoshis,
            open.push_msat,
            open.feerate_per_kw,
            ours.channel_reserve_satoshis,
        )?;

        let counterparty_pubkeys = ChannelPublicKeys {
            funding_pubkey: open.funding_pubkey,
            revocation_basepoint: open.revocation_basepoint,
            payment_basepoint: open.payment_basepoint,
            delayed_payment_basepoint: open.delayed_payment_basepoint,
            htlc_basepoint: open.htlc_basepoint,
        };
        check_pubkeys_distinct(&counterparty_pubkeys, signer.pubkeys())?;
        let counterparty_upfront_script =
            upfront_shutdown.counterparty_commitment(&open.tlvs.upfront_shutdown_script)?;
        let upfront_record = upfront_shutdown.record()?;
        let first_point = signer
            .per_commitment_point(0)
            .map_err(|e| signer_error("per-commitment point", e))?;
        let keys = *signer.pubkeys();
        let ledger = ChannelLedger::new(open.push_msat, funding_msat - open.push_msat, open.feerate_per_kw);
        let mut channel = Channel::fresh(
            signer,
            false,
            open.temporary_channel_id,
            open.funding_satoshis,
            ours,
            ledger,
            ChannelPhase::AwaitingFundingCreated,
        );
        channel.counterparty_limits = theirs;
        channel.counterparty_pubkeys = Some(counterparty_pubkeys);
        channel.counterparty_current_point = Some(open.first_per_commitment_point);
        channel.close.holder_upfront_script = upfront_shutdown.holder_script.clone();
        channel.close.counterparty_upfront_script = counterparty_upfront_script;
        channel.close.upfront_negotiated = upfront_shutdown.negotiated;
        channel.close.anysegwit_negotiated = upfront_shutdown.anysegwit;
        let accept = AcceptChannel {
            temporary_channel_id: open.temporary_channel_id,
            dust_limit_satoshis: ours.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: ours.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: ours.channel_reserve_satoshis,
            htlc_minimum_msat: ours.htlc_minimum_msat,
            minimum_depth,
            to_self_delay: ours.to_self_delay,
            max_accepted_htlcs: ours.max_accepted_htlcs,
            funding_pubkey: keys.funding_pubkey,
            revocation_basepoint: keys.revocation_basepoint,
            payment_basepoint: keys.payment_basepoint,
            delayed_payment_basepoint: keys.delayed_payment_basepoint,
            htlc_basepoint: keys.htlc_basepoint,
            first_per_commitment_point: first_point,
            tlvs: OpenChannelTlvs {
                upfront_shutdown_script: Some(upfront_record),
                channel_type: Some(static_remotekey_channel_type()),
                ..OpenChannelTlvs::default()
            },
        };
        Ok((channel, accept))
    }

    /// The funder receives `accept_channel`; next, the user's wallet builds the funding
    /// transaction paying [`Channel::funding_script_pubkey`].
    pub fn accept_channel(&mut self, accept: &AcceptChannel) -> Result<(), ChannelError> {
        if self.phase != ChannelPhase::AwaitingAccept || accept.temporary_channel_id != self.channel_id {
            return Err(close("unexpected accept_channel"));
        }
        if accept.tlvs.channel_type.as_ref().map(|t| t.clone().minimized()) != Some(static_remotekey_channel_type()) {
            return Err(close("channel_type does not match open_channel"));
        }
        let theirs = ChannelLimits {
            dust_limit_satoshis: accept.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: accept.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: accept.channel_reserve_satoshis,
            htlc_minimum_msat: accept.htlc_minimum_msat,
            to_self_delay: accept.to_self_delay,
            max_accepted_htlcs: accept.max_accepted_htlcs,
        };
        check_limits(&theirs, self.funding_satoshis)?;
        if accept.minimum_depth > super::MAX_MINIMUM_DEPTH {
            return Err(close("minimum_depth unreasonably large"));
        }
        if theirs.channel_reserve_satoshis < self.holder_limits.dust_limit_satoshis
            || self.holder_limits.channel_reserve_satoshis < theirs.dust_limit_satoshis
        {
            return Err(close("a reserve is below the other side's dust limit"));
        }
        let counterparty_pubkeys = ChannelPublicKeys {
            funding_pubkey: accept.funding_pubkey,
            revocation_basepoint: accept.revocation_basepoint,
            payment_basepoint: accept.payment_basepoint,
            delayed_payment_basepoint: accept.delayed_payment_basepoint,
            htlc_basepoint: accept.htlc_basepoint,
        };
        check_pubkeys_distinct(&counterparty_pubkeys, self.signer.pubkeys())?;
        let upfront = UpfrontShutdown {
            holder_script: self.close.holder_upfront_script.clone(),
            negotiated: self.close.upfront_negotiated,
            anysegwit: self.close.anysegwit_negotiated,
        };
        self.close.counterparty_upfront_script =
            upfront.counterparty_commitment(&accept.tlvs.upfront_shutdown_script)?;
        self.counterparty_limits = theirs;
        self.counterparty_pubkeys = Some(counterparty_pubkeys);
        self.counterparty_current_point = Some(accept.first_per_commitment_point);
        self.phase = ChannelPhase::AwaitingFundingTransaction;
        Ok(())
    }

    /// The funding output's script: P2WSH of the 2-of-2 of both funding keys.
    pub fn funding_script_pubkey(&self) -> Result<ScriptBuf, ChannelError> {
        let theirs = self.counterparty_pubkeys()?;
        let script = funding_redeem_script(&self.signer.pubkeys().funding_pubkey, &theirs.funding_pubkey);
        Ok(ScriptBuf::new_p2wsh(&script.wscript_hash()))
    }

    /// Checks `tx`, confirmed, against our funding outpoint before the channel is used
    /// (BOLT 2, `channel_ready`): it must be the transaction the outpoint names, and its
    /// output there must pay exactly `funding_satoshis` to [`Self::funding_script_pubkey`].
    /// Any other output holds nothing our commitments can spend.
    pub fn check_funding_output(&self, tx: &Transaction) -> Result<(), ChannelError> {
        let outpoint = self.funding_outpoint.ok_or_else(|| close("funding outpoint unknown"))?;
        if tx.compute_txid() != outpoint.txid {
            return Err(close(format!(
                "funding output {outpoint} checked against another transaction"
            )));
        }
        let output = usize::try_from(outpoint.vout)
            .ok()
            .and_then(|vout| tx.output.get(vout))
            .ok_or_else(|| {
                close(format!(
                    "funding output {outpoint} missing: the transaction has {} outputs",
                    tx.output.len()
                ))
            })?;
        if output.value.to_sat() != self.funding_satoshis {
            return Err(close(format!(
                "funding output {outpoint} pays {} sat, not the channel's {} sat",
                output.value.to_sat(),
                self.funding_satoshis
            )));
        }
        if output.script_pubkey != self.funding_script_pubkey()? {
            return Err(close(format!(
                "funding output {outpoint} pays another script than the channel's 2-of-2"
            )));
        }
        Ok(())
    }

    fn set_funding(&mut self, outpoint: OutPoint) -> Result<(), ChannelError> {
        self.funding_outpoint = Some(outpoint);
        let counterparty_pubkeys = *self.counterparty_pubkeys()?;
        self.signer.provide_channel_parameters(&ChannelTransactionParameters {
            holder_is_funder: self.holder_is_funder,
            funding_outpoint: outpoint,
            funding_satoshis: self.funding_satoshis,
            counterparty_pubkeys,
            holder_to_self_delay: self.counterparty_limits.to_self_delay,
            counterparty_to_self_delay: self.holder_limits.to_self_delay,
        });
        Ok(())
    }

    fn sign_counterparty_commitment_zero(&mut self) -> Result<(Signature, MonitorStep), ChannelError> {
        let point = self
            .counterparty_current_point
            .ok_or_else(|| close("no counterparty point"))?;
        let coverage = self.ledger.counterparty_commitment();
        let built = self.build_commitment(Side::Counterparty, 0, &point, coverage)?;
        let (signature, _) = self
            .signer
            .sign_counterparty_commitment(0, &built.transaction, &built.htlcs, &built.keys, built.feerate_per_kw)
            .map_err(|e| signer_error("counterparty commitment 0", e))?;
        Ok((signature, Self::counterparty_commitment_step(0, &point, &built)))
    }

    fn check_holder_commitment_zero(&mut self, signature: &Signature) -> Result<MonitorStep, ChannelError> {
        let point = self
            .signer
            .per_commitment_point(0)
            .map_err(|e| signer_error("per-commitment point", e))?;
        let coverage = self.ledger.holder_commitment();
        let built = self.build_commitment(Side::Holder, 0, &point, coverage)?;
        self.signer
            .validate_holder_commitment(
                0,
                &built.transaction,
                &built.htlcs,
                &built.keys,
                built.feerate_per_kw,
                signature,
                &[],
            )
            .map_err(|_| close("invalid signature on our commitment 0"))?;
        self.holder_commitment_signature = Some(*signature);
        Ok(Self::holder_commitment_step(0, &built, signature, &[]))
    }

    /// The funder's wallet built the funding transaction: returns `funding_created` with
    /// our signature on the fundee's commitment 0.
    pub fn funding_transaction_generated(&mut self, outpoint: OutPoint) -> Result<FundingCreated, ChannelError> {
        if self.phase != ChannelPhase::AwaitingFundingTransaction {
            return Err(close("not waiting for a funding transaction"));
        }
        self.set_funding(outpoint)?;
        let (signature, counterparty_step) = self.sign_counterparty_commitment_zero()?;
        let funding_step = self.funding_step()?;
        self.push_monitor_update(vec![funding_step, counterparty_step])?;
        let temporary_channel_id = self.channel_id;
        self.channel_id = channel_id_from_outpoint(&outpoint);
        self.phase = ChannelPhase::AwaitingFundingSigned;
        Ok(FundingCreated {
            temporary_channel_id,
            funding_txid: outpoint.txid,
            funding_output_index: outpoint.vout as u16,
            signature,
            extension: NoTlvs::default(),
        })
    }

    /// The fundee checks the funder's signature on its commitment 0 and answers with
    /// `funding_signed`.
    pub fn funding_created(&mut self, msg: &FundingCreated) -> Result<FundingSigned, ChannelError> {
        if self.phase != ChannelPhase::AwaitingFundingCreated || msg.temporary_channel_id != self.channel_id {
            return Err(close("unexpected funding_created"));
        }
        let outpoint = OutPoint {
            txid: msg.funding_txid,
            vout: u32::from(msg.funding_output_index),
        };
        self.set_funding(outpoint)?;
        let holder_step = self.check_holder_commitment_zero(&msg.signature)?;
        let (signature, counterparty_step) = self.sign_counterparty_commitment_zero()?;
        let funding_step = self.funding_step()?;
        // funding_signed depends on this: the fundee keeps nothing it cannot enforce.
        self.push_monitor_update(vec![funding_step, holder_step, counterparty_step])?;
        self.channel_id = channel_id_from_outpoint(&outpoint);
        self.phase = ChannelPhase::AwaitingChannelReady {
            sent: false,
            received: false,
        };
        Ok(FundingSigned {
            channel_id: self.channel_id,
            signature,
            extension: NoTlvs::default(),
        })
    }

    /// The funder checks the fundee's signature on its commitment 0; the funding
    /// transaction may now be broadcast.
    pub fn funding_signed(&mut self, msg: &FundingSigned) -> Result<(), ChannelError> {
        if self.phase != ChannelPhase::AwaitingFundingSigned || msg.channel_id != self.channel_id {
            return Err(close("unexpected funding_signed"));
        }
        let holder_step = self.check_holder_commitment_zero(&msg.signature)?;
        // The funding transaction may be broadcast once this is persisted.
        self.push_monitor_update(vec![holder_step])?;
        self.phase = ChannelPhase::AwaitingChannelReady {
            sent: false,
            received: false,
        };
        Ok(())
    }

    /// The funding transaction is deep enough: returns our `channel_ready`.
    pub fn funding_confirmed(&mut self) -> Result<ChannelReady, ChannelError> {
        let ChannelPhase::AwaitingChannelReady { sent: false, received } = self.phase else {
            return Err(close("channel_ready is not due"));
        };
        let point = self
            .signer
            .per_commitment_point(1)
            .map_err(|e| signer_error("per-commitment point", e))?;
        self.phase = if received {
            ChannelPhase::Normal
        } else {
            ChannelPhase::AwaitingChannelReady { sent: true, received }
        };
        Ok(ChannelReady {
            channel_id: self.channel_id,
            second_per_commitment_point: point,
            tlvs: ChannelReadyTlvs::default(),
        })
    }

    /// The peer's `channel_ready`: its point for commitment 1.
    pub fn channel_ready(&mut self, msg: &ChannelReady) -> Result<(), ChannelError> {
        let ChannelPhase::AwaitingChannelReady { sent, received: false } = self.phase else {
            // A repeat after reconnection is harmless if it carries the same point.
            if self.counterparty_next_point == Some(msg.second_per_commitment_point) {
                return Ok(());
            }
            return Err(close("unexpected channel_ready"));
        };
        self.counterparty_next_point = Some(msg.second_per_commitment_point);
        self.phase = if sent {
            ChannelPhase::Normal
        } else {
            ChannelPhase::AwaitingChannelReady { sent, received: true }
        };
        Ok(())
    }
}
