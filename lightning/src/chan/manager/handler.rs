//! The channel manager as the peer manager's channel message handler.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;

use super::resolution::OutgoingFailure;
use super::{vec_of, ChannelManager, HtlcRef, PeerFeatures};
use crate::chain::{Broadcaster, Persist};
use crate::chan::channel::establish::UpfrontShutdown;
use crate::chan::channel::{Channel, ChannelPhase};
use crate::events::Event;
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::transport::{HandlerAction, MessageHandler};
use crate::wire::{ChannelId, ErrorMessage, Feature, Features, Init, Message, NoTlvs};

/// Inbound channels a peer may leave unfunded at once: each costs us keys and memory
/// until the peer funds it or disconnects.
pub const MAX_UNFUNDED_CHANNELS_PER_PEER: usize = 4;

/// The features a channel manager needs in `init`: the assumed ones, required.
pub fn channel_manager_features() -> Features {
    let mut features = Features::empty();
    features
        .set_required(Feature::DataLossProtect)
        .set_required(Feature::VarOnionOptin)
        .set_required(Feature::StaticRemoteKey)
        .set_required(Feature::PaymentSecret)
        .set_optional(Feature::BasicMpp)
        .set_required(Feature::ChannelType)
        .set_optional(Feature::UpfrontShutdownScript)
        .set_optional(Feature::ShutdownAnySegwit);
    features
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// Every channel commits at opening to the script the wallet gave for it, so a
    /// compromised peer link cannot redirect our balance at close. What binds depends on
    /// what the peer offers (we offer both features).
    pub(crate) fn upfront_shutdown(peer: &PeerFeatures, script: &ScriptBuf) -> UpfrontShutdown {
        UpfrontShutdown {
            holder_script: Some(script.clone()),
            negotiated: peer.upfront_shutdown,
            anysegwit: peer.shutdown_anysegwit,
        }
    }

    fn reply_error(&mut self, node_id: &PublicKey, channel_id: ChannelId, why: &str) {
        let error = ErrorMessage {
            channel_id,
            data: why.as_bytes().to_vec(),
            extension: NoTlvs::default(),
        };
        self.actions.push(HandlerAction::Send {
            node_id: *node_id,
            message: Message::Error(error),
        });
    }

    fn accept_inbound_channel(&mut self, node_id: &PublicKey, open: &crate::wire::OpenChannel) {
        if self.channels.contains_key(&open.temporary_channel_id) {
            return self.reply_error(node_id, open.temporary_channel_id, "temporary_channel_id in use");
        }
        let unfunded = self
            .channels
            .values()
            .filter(|m| m.counterparty == *node_id && m.channel.phase() == ChannelPhase::AwaitingFundingCreated)
            .count();
        if unfunded >= MAX_UNFUNDED_CHANNELS_PER_PEER {
            return self.reply_error(node_id, open.temporary_channel_id, "too many unfunded channels");
        }
        let keys_id = self.keys.generate_channel_keys_id();
        let signer = self.keys.derive_channel_signer(&keys_id);
        let shutdown_script = self.keys.shutdown_script(&keys_id);
        let limits = self.config.channel_limits(open.funding_satoshis);
        let peer = self.connected_peers.get(node_id).copied().unwrap_or_default();
        let upfront_shutdown = Self::upfront_shutdown(&peer, &shutdown_script);
        let (chain_hash, minimum_depth) = (self.config.chain_hash, self.config.minimum_depth);
        match Channel::new_inbound(signer, chain_hash, limits, minimum_depth, &upfront_shutdown, open) {
            Ok((channel, accept)) => {
                self.insert_channel(channel, *node_id, keys_id, shutdown_script);
                self.send(
                    &open.temporary_channel_id,
                    Message::AcceptChannel(alloc::boxed::Box::new(accept)),
                );
                self.process_channel(&open.temporary_channel_id);
            }
            Err(e) => self.reply_error(node_id, open.temporary_channel_id, &e.to_string()),
        }
    }

    /// Dispatches one channel message from `node_id`.
    fn handle_channel_message(&mut self, node_id: &PublicKey, message: Message) {
        if let Message::OpenChannel(open) = &message {
            return self.accept_inbound_channel(node_id, open);
        }
        let Some(channel_id) = message.channel_id() else { return };
        if let Message::Error(error) = &message {
            return self.handle_error(node_id, error);
        }
        if matches!(message, Message::Warning(_)) {
            return;
        }
        let Some(managed) = self
            .channels
            .get_mut(&channel_id)
            .filter(|m| m.counterparty == *node_id)
        else {
            return self.reply_error(node_id, channel_id, "unknown channel");
        };
        let shutdown_script = &managed.shutdown_script;
        let channel = &mut managed.channel;
        let feerate_estimate_per_kw = self.config.feerate_per_kw;
        let result: Result<Vec<Message>, _> = match message {
            Message::AcceptChannel(m) => channel.accept_channel(&m).map(|()| {
                // BOLT 2: channel_ready waits for the depth the fundee asked, if more than ours.
                managed.minimum_depth = managed.minimum_depth.max(m.minimum_depth);
                let output_script = channel.funding_script_pubkey().unwrap_or_default();
                self.events.push(Event::FundingGenerationReady {
                    temporary_channel_id: channel_id,
                    counterparty_node_id: *node_id,
                    funding_satoshis: channel.funding_satoshis(),
                    output_script,
                });
                Vec::new()
            }),
            Message::FundingCreated(m) => match channel.funding_created(&m) {
                Ok(signed) => {
                    // The channel now goes by its real id.
                    let new_id = channel.channel_id();
                    let best_height = self.best_height;
                    if let Some(mut managed) = self.channels.remove(&channel_id) {
                        managed.funding_txid = Some(m.funding_txid);
                        managed.funding_wait_since = Some(best_height);
                        self.channels.insert(new_id, managed);
                    }
                    self.send(&new_id, Message::FundingSigned(signed));
                    return self.process_channel(&new_id);
                }
                Err(e) => Err(e),
            },
            Message::FundingSigned(m) => channel.funding_signed(&m).map(|()| {
                self.events.push(Event::FundingSigned { channel_id });
                Vec::new()
            }),
            Message::ChannelReady(m) => {
                // A repeat after reconnection (no update since opening) changes nothing
                // and is not news.
                let was_normal = channel.phase() == ChannelPhase::Normal;
                channel.channel_ready(&m).map(|()| {
                    if let Some(alias) = m.tlvs.short_channel_id {
                        managed.counterparty_alias = Some(alias);
                    }
                    if !was_normal && channel.phase() == ChannelPhase::Normal {
                        self.events.push(Event::ChannelReady {
                            channel_id,
                            counterparty_node_id: *node_id,
                        });
                    }
                    Vec::new()
                })
            }
            Message::UpdateAddHtlc(m) => channel.update_add_htlc(&m).map(|()| {
                self.payments
                    .inbound_onions
                    .insert((channel_id, m.id), m.onion_routing_packet.clone());
                Vec::new()
            }),
            Message::UpdateFulfillHtlc(m) => match channel.update_fulfill_htlc(&m) {
                Ok(_) => {
                    let htlc = HtlcRef {
                        channel_id,
                        htlc_id: m.id,
                    };
                    // The preimage is in this channel's monitor update; whoever offered
                    // the HTLC acts on it now, before this channel's dance goes on.
                    self.persist_updates(&channel_id);
                    self.outgoing_fulfilled(htlc, m.payment_preimage);
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            },
            Message::UpdateFailHtlc(m) => channel.update_fail_htlc(&m).map(|_| {
                let htlc = HtlcRef {
                    channel_id,
                    htlc_id: m.id,
                };
                self.outgoing_failed(htlc, OutgoingFailure::Onion(m.reason.clone()));
                Vec::new()
            }),
            Message::UpdateFailMalformedHtlc(m) => channel.update_fail_malformed_htlc(&m).map(|_| {
                let htlc = HtlcRef {
                    channel_id,
                    htlc_id: m.id,
                };
                let failure = OutgoingFailure::Malformed {
                    failure_code: m.failure_code,
                    sha256_of_onion: m.sha256_of_onion,
                };
                self.outgoing_failed(htlc, failure);
                Vec::new()
            }),
            Message::CommitmentSigned(m) => channel.commitment_signed(&m).map(|r| vec_of(Message::RevokeAndAck(r))),
            Message::RevokeAndAck(m) => channel.revoke_and_ack(&m).map(|()| Vec::new()),
            Message::UpdateFee(m) => channel.update_fee(&m).map(|()| Vec::new()),
            Message::ChannelReestablish(m) => channel.channel_reestablish(&m),
            Message::Shutdown(m) => channel
                .shutdown(&m, shutdown_script.clone())
                .map(|reply| reply.map(Message::Shutdown).into_iter().collect()),
            Message::ClosingSigned(m) => {
                let already_closed = channel.phase() == ChannelPhase::Closed;
                channel.closing_signed(&m, feerate_estimate_per_kw).map(|reply| {
                    if !already_closed && channel.phase() == ChannelPhase::Closed {
                        if let Some(tx) = &channel.close_state().closing_transaction {
                            self.broadcaster.broadcast(tx);
                        }
                        self.events.push(Event::ChannelClosed {
                            channel_id,
                            reason: "closed cooperatively".into(),
                        });
                    }
                    reply.map(Message::ClosingSigned).into_iter().collect()
                })
            }
            _ => Ok(Vec::new()),
        };
        self.after_peer_message(&channel_id, result);
        self.maybe_propose_close(&channel_id);
    }

    fn maybe_propose_close(&mut self, channel_id: &ChannelId) {
        let Some(managed) = self.channels.get_mut(channel_id) else {
            return;
        };
        if managed.channel.closing_proposal_due() {
            let result = managed
                .channel
                .propose_closing_signed(self.config.feerate_per_kw)
                .map(|m| vec_of(Message::ClosingSigned(m)));
            self.after_channel_call(channel_id, result);
        }
    }

    /// Starts a cooperative close of `channel_id` to the wallet's script for it
    /// ([`crate::sign::SignerProvider::shutdown_script`]): our `shutdown` goes out now, or
    /// once updates of ours pending on the peer's commitment are signed (BOLT 2). No HTLC
    /// may be added from here on.
    pub fn close_channel(&mut self, channel_id: &ChannelId) -> Result<(), super::ApiError> {
        let managed = self
            .channels
            .get_mut(channel_id)
            .ok_or(super::ApiError::UnknownChannel)?;
        let script = managed.shutdown_script.clone();
        let shutdown = managed
            .channel
            .request_shutdown(script)
            .map_err(super::ApiError::Channel)?;
        if let Some(shutdown) = shutdown {
            self.send(channel_id, Message::Shutdown(shutdown));
        }
        // Signs what is pending, then sends a `shutdown` that waited for it.
        self.process_channel(channel_id);
        Ok(())
    }

    /// Force-closes `channel_id`: broadcasts our current commitment signed by both,
    /// hands its monitor the close, tells the peer (`error`) and reports the channel
    /// closed. For a peer that is gone or misbehaving; [`Self::close_channel`] is cheaper
    /// and settles sooner. Refused (the channel goes on) before the peer has signed a
    /// commitment of ours.
    pub fn force_close_channel(&mut self, channel_id: &ChannelId) -> Result<(), super::ApiError> {
        let managed = self
            .channels
            .get_mut(channel_id)
            .ok_or(super::ApiError::UnknownChannel)?;
        let commitment = managed.channel.force_close().map_err(super::ApiError::Channel)?;
        self.close_failed_channel(channel_id, "force-closed by the user".into(), Some(commitment), true);
        Ok(())
    }

    fn handle_error(&mut self, node_id: &PublicKey, error: &ErrorMessage) {
        let ids: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(id, m)| m.counterparty == *node_id && (error.channel_id.is_all() || **id == error.channel_id))
            .map(|(id, _)| *id)
            .collect();
        let why = crate::wire::msgs::printable_data(&error.data)
            .unwrap_or("(unprintable)")
            .to_string();
        for id in ids {
            self.fail_channel_on_peer_error(&id, alloc::format!("peer error: {why}"));
        }
    }
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> MessageHandler
    for ChannelManager<K, P, B>
{
    fn init_features(&self) -> Features {
        channel_manager_features()
    }

    fn peer_connected(&mut self, their_node_id: &PublicKey, their_init: &Init) -> Result<(), String> {
        let offered = their_init.combined_features();
        let peer = PeerFeatures {
            upfront_shutdown: offered.offers(Feature::UpfrontShutdownScript),
            shutdown_anysegwit: offered.offers(Feature::ShutdownAnySegwit),
        };
        self.connected_peers.insert(*their_node_id, peer);
        let ids: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, m)| m.counterparty == *their_node_id)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(managed) = self.channels.get_mut(&id) else {
                continue;
            };
            let funded = !matches!(
                managed.channel.phase(),
                ChannelPhase::AwaitingAccept
                    | ChannelPhase::AwaitingFundingTransaction
                    | ChannelPhase::AwaitingFundingCreated
                    | ChannelPhase::AwaitingFundingSigned
            );
            if !funded {
                // BOLT 2: an unfunded channel is forgotten on disconnection.
                self.channels.remove(&id);
                continue;
            }
            managed.channel.set_anysegwit_negotiated(peer.shutdown_anysegwit);
            let result = managed
                .channel
                .channel_reestablish_message()
                .map(|m| vec_of(Message::ChannelReestablish(m)));
            self.after_channel_call(&id, result);
        }
        Ok(())
    }

    fn peer_disconnected(&mut self, their_node_id: &PublicKey) {
        self.connected_peers.remove(their_node_id);
        for managed in self.channels.values_mut().filter(|m| m.counterparty == *their_node_id) {
            managed.channel.peer_disconnected();
            managed.outbox.clear_messages();
        }
    }

    fn handle_message(&mut self, their_node_id: &PublicKey, message: Message) {
        let reestablish = matches!(message, Message::ChannelReestablish(_));
        self.handle_channel_message(their_node_id, message);
        // A channel back in use takes the fulfills claimed while it was away, and the
        // forwards resolved while it was.
        if reestablish && !self.payments.claiming.is_empty() {
            self.fulfill_waiting_claims();
        }
        if reestablish && !self.forwards.pairs.is_empty() {
            self.resolve_incoming_forwards();
        }
    }

    fn take_actions(&mut self) -> Vec<HandlerAction> {
        // Each channel in id order, the next found after the last: processing one may
        // fail it out of the map, and collecting the ids first allocated on every call
        // (a peer manager asks at every read and every send).
        let mut next = self.channels.keys().next().copied();
        while let Some(id) = next {
            self.process_channel(&id);
            next = self
                .channels
                .range((core::ops::Bound::Excluded(id), core::ops::Bound::Unbounded))
                .next()
                .map(|(id, _)| *id);
        }
        core::mem::take(&mut self.actions)
    }
}
