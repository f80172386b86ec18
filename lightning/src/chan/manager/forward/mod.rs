//! Forwarding (BOLT 2 "Forwarding HTLCs", BOLT 4): an incoming HTLC whose onion names a
//! next channel is checked against it and our policy once irrevocably committed, offered
//! on it when the user calls [`ChannelManager::process_pending_forwards`], and resolved
//! back: a fulfill at once (the preimage also to the incoming channel's monitor), a
//! failure once irrevocable, wrapped in the error onion.
//!
//! - [`pair`]: the HTLC pair's stages and the safety rule.
//! - [`policy`]: our forwarding policy and BOLT 4's checks.

pub mod pair;
pub mod policy;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

pub use pair::{ForwardStage, HtlcPair, IncomingHtlc, PendingForward, Resolution};
pub use policy::{ForwardingPolicy, MAX_INCOMING_EXPIRY_BLOCKS, MIN_OUTGOING_EXPIRY_BLOCKS};

use self::policy::{check_forward, ForwardFailure, ForwardRequest, Outgoing};
use super::resolution::OutgoingFailure;
use super::{ChannelManager, HtlcRef};
use crate::chain::{Broadcaster, Persist};
use crate::chan::channel::ChannelPhase;
use crate::chan::ledger::Side;
use crate::events::Event;
use crate::onion::errors::{
    build_failure_packet, wrap_failure_packet, INVALID_ONION_PAYLOAD, TEMPORARY_CHANNEL_FAILURE, TEMPORARY_NODE_FAILURE,
};
use crate::onion::{HopPayload, PeeledOnion};
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::wire::msgs::gossip::{CHANNEL_FLAG_DIRECTION, CHANNEL_FLAG_DISABLE, MESSAGE_FLAG_MUST_BE_ONE};
use crate::wire::{ChannelId, ChannelUpdate, Decode, Encode, Message, NoTlvs, PaymentPreimage, ShortChannelId};

/// Every forward not yet resolved on its incoming channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Forwards {
    /// By incoming HTLC.
    pub pairs: BTreeMap<HtlcRef, HtlcPair>,
    /// Outgoing HTLC to incoming, for offered ones.
    by_outgoing: BTreeMap<HtlcRef, HtlcRef>,
}

impl Forwards {
    /// Whether `htlc` is the outgoing HTLC of a forward.
    pub fn is_outgoing(&self, htlc: &HtlcRef) -> bool {
        self.by_outgoing.contains_key(htlc)
    }

    /// Adds a pair (and its outgoing HTLC's index).
    pub fn insert(&mut self, pair: HtlcPair) {
        if let Some(outgoing) = pair.outgoing() {
            self.by_outgoing.insert(outgoing, pair.incoming.htlc);
        }
        self.pairs.insert(pair.incoming.htlc, pair);
    }

    fn remove(&mut self, incoming: &HtlcRef) -> Option<HtlcPair> {
        let pair = self.pairs.remove(incoming)?;
        if let Some(outgoing) = pair.outgoing() {
            self.by_outgoing.remove(&outgoing);
        }
        Some(pair)
    }
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// The policy we forward over `channel_id` with.
    pub fn forwarding_policy(&self, channel_id: &ChannelId) -> ForwardingPolicy {
        self.channels
            .get(channel_id)
            .and_then(|m| m.forwarding_policy)
            .unwrap_or(self.config.forwarding_policy)
    }

    /// Sets the policy we forward over `channel_id` with (the manager's otherwise).
    pub fn set_forwarding_policy(
        &mut self,
        channel_id: &ChannelId,
        policy: ForwardingPolicy,
    ) -> Result<(), super::ApiError> {
        let managed = self
            .channels
            .get_mut(channel_id)
            .ok_or(super::ApiError::UnknownChannel)?;
        managed.forwarding_policy = Some(policy);
        Ok(())
    }

    /// Forwards not yet resolved on their incoming channel, by incoming HTLC.
    pub fn forwards(&self) -> impl Iterator<Item = &HtlcPair> {
        self.forwards.pairs.values()
    }

    /// Forwards accepted and waiting for [`Self::process_pending_forwards`].
    pub fn pending_forward_count(&self) -> usize {
        self.forwards
            .pairs
            .values()
            .filter(|p| matches!(p.stage(), ForwardStage::Pending(_)))
            .count()
    }

    /// An irrevocably committed incoming HTLC whose onion names a next channel: refused
    /// at once (failed back) or accepted to forward.
    pub(crate) fn accept_forward(&mut self, incoming: IncomingHtlc, peeled: &PeeledOnion, too_much_dust: bool) {
        let Some(next_onion) = peeled.next_packet.clone() else {
            return;
        };
        let payload = HopPayload::decode_exact(&peeled.payload).ok();
        let fields = payload
            .as_ref()
            .and_then(|p| Some((p.short_channel_id?, p.amt_to_forward?.0, p.outgoing_cltv_value?.0)));
        let Some((short_channel_id, outgoing_amount_msat, outgoing_cltv_expiry)) = fields else {
            // BOLT 4: a forwarding payload without its three fields; no offset narrowed.
            let mut message = INVALID_ONION_PAYLOAD.to_be_bytes().to_vec();
            crate::wire::BigSize(0).encode(&mut message);
            0u16.encode(&mut message);
            return self.refuse_forward(incoming, None, &message, INVALID_ONION_PAYLOAD);
        };
        let request = ForwardRequest {
            short_channel_id,
            incoming_amount_msat: incoming.amount_msat,
            incoming_cltv_expiry: incoming.cltv_expiry,
            outgoing_amount_msat,
            outgoing_cltv_expiry,
        };
        if too_much_dust {
            let message = TEMPORARY_NODE_FAILURE.to_be_bytes().to_vec();
            return self.refuse_forward(incoming, Some(short_channel_id), &message, TEMPORARY_NODE_FAILURE);
        }
        if let Err(failure) = self.check_forward_now(&request) {
            let message = self.failure_message(&failure, short_channel_id);
            return self.refuse_forward(incoming, Some(short_channel_id), &message, failure.code);
        }
        let forward = PendingForward {
            short_channel_id,
            amount_msat: outgoing_amount_msat,
            cltv_expiry: outgoing_cltv_expiry,
            onion: alloc::boxed::Box::new(next_onion),
        };
        if let Some(pair) = HtlcPair::pending(incoming, forward) {
            self.forwards.insert(pair);
        }
    }

    /// BOLT 4's checks against the outgoing channel as it is now.
    fn check_forward_now(&self, request: &ForwardRequest) -> Result<(), ForwardFailure> {
        let channel_id = self.channel_by_scid(request.short_channel_id);
        let managed = channel_id.and_then(|id| self.channels.get(&id));
        let outgoing = match managed {
            None => Outgoing::Unknown,
            Some(m) if m.channel.phase() != ChannelPhase::Normal => Outgoing::Disabled,
            Some(m) => Outgoing::Open {
                connected: m.channel.is_connected(),
                peer_htlc_minimum_msat: m.channel.counterparty_limits.htlc_minimum_msat,
            },
        };
        let policy = channel_id.map_or(self.config.forwarding_policy, |id| self.forwarding_policy(&id));
        check_forward(request, &policy, outgoing, self.best_height)
    }

    /// The failure message, with the outgoing channel's `channel_update` where the code
    /// carries one (named by the id the onion used, as BOLT 4 asks).
    fn failure_message(&self, failure: &ForwardFailure, short_channel_id: ShortChannelId) -> Vec<u8> {
        let update = self.channel_update_bytes(short_channel_id);
        failure.message(update.as_deref())
    }

    /// Our signed `channel_update` for the channel an onion named `short_channel_id`,
    /// with its type prefix: what a failure carries so the payer can route again.
    /// Dated by block height (the library reads no clock). `None` for no such channel or
    /// a signer that refuses.
    pub fn channel_update_bytes(&self, short_channel_id: ShortChannelId) -> Option<Vec<u8>> {
        let channel_id = self.channel_by_scid(short_channel_id)?;
        let managed = self.channels.get(&channel_id)?;
        let policy = self.forwarding_policy(&channel_id);
        let we_are_node_one = self.node_id().serialize() < managed.counterparty.serialize();
        let mut channel_flags = if we_are_node_one { 0 } else { CHANNEL_FLAG_DIRECTION };
        if managed.channel.phase() != ChannelPhase::Normal {
            channel_flags |= CHANNEL_FLAG_DISABLE;
        }
        let channel_msat = managed.channel.funding_satoshis().saturating_mul(1000);
        let mut update = ChannelUpdate {
            signature: bitcoin::secp256k1::ecdsa::Signature::from_compact(&[1; 64]).ok()?,
            chain_hash: self.config.chain_hash,
            short_channel_id,
            timestamp: self.best_height,
            message_flags: MESSAGE_FLAG_MUST_BE_ONE,
            channel_flags,
            cltv_expiry_delta: policy.cltv_expiry_delta,
            htlc_minimum_msat: policy
                .htlc_minimum_msat
                .max(managed.channel.counterparty_limits.htlc_minimum_msat),
            fee_base_msat: policy.fee_base_msat,
            fee_proportional_millionths: policy.fee_proportional_millionths,
            htlc_maximum_msat: policy.htlc_maximum_msat.min(channel_msat),
            extension: NoTlvs::default(),
        };
        // The signature covers everything after it.
        let body = update.encode_to_vec();
        update.signature = self.keys.sign_gossip(&body[64..]).ok()?;
        let mut out = Vec::new();
        crate::wire::encode_typed(&update, &mut out);
        Some(out)
    }

    /// Fails the incoming HTLC back with our `failure_message`: nothing was offered.
    fn refuse_forward(
        &mut self,
        incoming: IncomingHtlc,
        scid: Option<ShortChannelId>,
        failure_message: &[u8],
        code: u16,
    ) {
        let reason = build_failure_packet(&incoming.shared_secret, failure_message);
        self.forwards.insert(HtlcPair::refused(incoming, scid, reason, code));
        self.resolve_incoming(&incoming.htlc);
    }

    /// Offers every accepted forward on its outgoing channel (checked again as it is
    /// now), and resolves what can be resolved on incoming channels. The user calls it,
    /// as often as it likes (after handling peer messages, or batched to hide timing):
    /// forwards wait for it.
    pub fn process_pending_forwards(&mut self) {
        let pending: Vec<HtlcRef> = self
            .forwards
            .pairs
            .iter()
            .filter(|(_, p)| matches!(p.stage(), ForwardStage::Pending(_)))
            .map(|(incoming, _)| *incoming)
            .collect();
        for incoming in pending {
            self.offer_forward(&incoming);
        }
        self.resolve_incoming_forwards();
    }

    fn offer_forward(&mut self, incoming: &HtlcRef) {
        let Some(pair) = self.forwards.pairs.get(incoming) else {
            return;
        };
        let ForwardStage::Pending(forward) = pair.stage().clone() else {
            return;
        };
        let request = ForwardRequest {
            short_channel_id: forward.short_channel_id,
            incoming_amount_msat: pair.incoming.amount_msat,
            incoming_cltv_expiry: pair.incoming.cltv_expiry,
            outgoing_amount_msat: forward.amount_msat,
            outgoing_cltv_expiry: forward.cltv_expiry,
        };
        let (payment_hash, shared_secret) = (pair.incoming.payment_hash, pair.incoming.shared_secret);
        let offered = self.check_forward_now(&request).and_then(|()| {
            let channel_id = self
                .channel_by_scid(forward.short_channel_id)
                .ok_or(ForwardFailure::temporary())?;
            let managed = self.channels.get_mut(&channel_id).ok_or(ForwardFailure::temporary())?;
            let max_exposure_msat = self.config.max_dust_htlc_exposure_msat;
            if managed
                .channel
                .exceeds_dust_exposure(Side::Holder, forward.amount_msat, None, max_exposure_msat)
            {
                return Err(ForwardFailure::temporary());
            }
            let onion = (*forward.onion).clone();
            let add = managed
                .channel
                .send_htlc_with(forward.amount_msat, payment_hash, forward.cltv_expiry, || Ok(onion))
                .map_err(|_| ForwardFailure::temporary())?;
            Ok((channel_id, add))
        });
        match offered {
            Ok((channel_id, add)) => {
                let outgoing = HtlcRef {
                    channel_id,
                    htlc_id: add.id,
                };
                if let Some(mut pair) = self.forwards.remove(incoming) {
                    pair.offered(outgoing);
                    self.forwards.insert(pair);
                }
                self.send(&channel_id, Message::UpdateAddHtlc(alloc::boxed::Box::new(add)));
                self.process_channel(&channel_id);
            }
            Err(failure) => {
                let message = self.failure_message(&failure, forward.short_channel_id);
                let reason = build_failure_packet(&shared_secret, &message);
                if let Some(pair) = self.forwards.pairs.get_mut(incoming) {
                    pair.not_offered(reason, failure.code);
                }
            }
        }
    }

    /// The outgoing HTLC of a forward was fulfilled: the preimage goes to the incoming
    /// channel at once (its monitor first).
    pub(crate) fn forward_fulfilled(&mut self, outgoing: HtlcRef, preimage: PaymentPreimage) {
        let Some(incoming) = self.forwards.by_outgoing.get(&outgoing).copied() else {
            return;
        };
        if let Some(pair) = self.forwards.pairs.get_mut(&incoming) {
            pair.outgoing_fulfilled(preimage);
        }
        self.resolve_incoming(&incoming);
        if self.forwards.pairs.contains_key(&incoming) {
            // Not claimed yet (its peer is away): its monitor learns the preimage now,
            // so the chain can claim it whatever happens to us.
            if let Some(managed) = self.channels.get_mut(&incoming.channel_id) {
                let result = managed.channel.record_preimage(preimage).map(|()| Vec::new());
                self.after_channel_call(&incoming.channel_id, result);
            }
        }
    }

    /// The outgoing HTLC of a forward failed irrevocably: the failure goes back.
    pub(crate) fn forward_failed(&mut self, outgoing: HtlcRef, failure: OutgoingFailure) {
        let Some(incoming) = self.forwards.by_outgoing.get(&outgoing).copied() else {
            return;
        };
        let Some(pair) = self.forwards.pairs.get_mut(&incoming) else {
            return;
        };
        let reason = match failure {
            OutgoingFailure::Onion(mut reason) => {
                // One more layer, ours: the payer peels it with our shared secret.
                wrap_failure_packet(&pair.incoming.shared_secret, &mut reason);
                reason
            }
            OutgoingFailure::Malformed {
                failure_code,
                sha256_of_onion,
            } => {
                // BOLT 4: the next hop could not read its onion; we say so in ours.
                let mut message = failure_code.to_be_bytes().to_vec();
                message.extend_from_slice(&sha256_of_onion);
                build_failure_packet(&pair.incoming.shared_secret, &message)
            }
        };
        pair.outgoing_failed_irrevocably(reason);
        self.resolve_incoming(&incoming);
    }

    /// Resolves every forward whose incoming HTLC may be resolved: called when a
    /// channel is back, and by [`Self::process_pending_forwards`].
    pub(crate) fn resolve_incoming_forwards(&mut self) {
        let ready: Vec<HtlcRef> = self
            .forwards
            .pairs
            .iter()
            .filter(|(_, p)| p.may_resolve_incoming())
            .map(|(incoming, _)| *incoming)
            .collect();
        for incoming in ready {
            self.resolve_incoming(&incoming);
        }
    }

    /// Claims or fails the incoming HTLC as its pair's stage says, if its channel takes
    /// it now; the pair stays until it does.
    fn resolve_incoming(&mut self, incoming: &HtlcRef) {
        let Some(pair) = self.forwards.pairs.get(incoming) else {
            return;
        };
        if !pair.may_resolve_incoming() {
            return;
        }
        let Some(managed) = self.channels.get_mut(&incoming.channel_id) else {
            // The channel closed: the chain settles the incoming HTLC.
            return;
        };
        if !managed.channel.is_connected() {
            return;
        }
        let result = match pair.stage() {
            ForwardStage::Fulfilled { preimage, .. } => managed
                .channel
                .fulfill_htlc(incoming.htlc_id, *preimage)
                .map(|m| alloc::vec![Message::UpdateFulfillHtlc(m)]),
            ForwardStage::Failing { reason, .. } => managed
                .channel
                .fail_htlc(incoming.htlc_id, reason.clone())
                .map(|m| alloc::vec![Message::UpdateFailHtlc(m)]),
            _ => return,
        };
        if let Err(crate::chan::channel::ChannelError::Ignore(_)) = result {
            return; // Not now (paused, or the peer away): tried again later.
        }
        let Some(pair) = self.forwards.remove(incoming) else {
            return;
        };
        let outgoing_scid = pair.outgoing_short_channel_id;
        let payment_hash = pair.incoming.payment_hash;
        match pair.resolved() {
            Some(Resolution::Claimed {
                outgoing,
                amount_forwarded_msat,
                fee_earned_msat,
            }) => self.events.push(Event::PaymentForwarded {
                payment_hash,
                incoming_channel_id: incoming.channel_id,
                outgoing_channel_id: outgoing.channel_id,
                amount_forwarded_msat,
                fee_earned_msat,
            }),
            Some(Resolution::Failed { failure_code }) => self.events.push(Event::ForwardFailed {
                incoming_channel_id: incoming.channel_id,
                outgoing_short_channel_id: outgoing_scid,
                failure_code,
            }),
            None => {}
        }
        self.after_channel_call(&incoming.channel_id, result);
    }
}

impl ForwardFailure {
    /// The outgoing channel could not take it now.
    fn temporary() -> Self {
        ForwardFailure {
            code: TEMPORARY_CHANNEL_FAILURE,
            data: Vec::new(),
        }
    }
}
