//! What a wallet shows of each channel: [`ChannelManager::list_channels`].

use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Txid;

use super::ChannelManager;
use crate::chain::{Broadcaster, Persist};
use crate::chan::channel::ChannelPhase;
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::wire::{ChannelId, ShortChannelId};

/// One channel as a wallet lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDetails {
    /// The channel's id (the temporary id until the funding is signed).
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty_node_id: PublicKey,
    /// The funding output's value.
    pub capacity_satoshis: u64,
    /// Ours on our latest commitment, HTLCs in flight not counted.
    pub balance_msat: u64,
    /// The most one payment could send now (after our reserve, the commitment fee if we
    /// fund, and every limit the peer set); 0 unless usable.
    pub outbound_capacity_msat: u64,
    /// What the peer holds above the reserve we ask of it: the most it could send us,
    /// before the commitment fee if it funds; 0 unless usable.
    pub inbound_capacity_msat: u64,
    /// Where the channel is in its life.
    pub phase: ChannelPhase,
    /// Open and its peer connected: a payment can use it now.
    pub is_usable: bool,
    /// Whether we funded it.
    pub is_outbound: bool,
    /// The funding transaction, once known.
    pub funding_txid: Option<Txid>,
    /// The block height the funding confirmed at, once it did.
    pub confirmation_height: Option<u32>,
    /// The funding's place in the chain (block, index, output), once a confirmation
    /// reported with [`ChannelManager::transaction_confirmed_in_block`] said where.
    pub short_channel_id: Option<ShortChannelId>,
    /// Our alias for the channel (`option_scid_alias`): an onion may name it by this
    /// before, or instead of, its real short id.
    pub outbound_scid_alias: ShortChannelId,
    /// The peer's alias for the channel, from its `channel_ready`: what an invoice's
    /// route hint gives payers to reach us over this channel.
    pub inbound_scid_alias: Option<ShortChannelId>,
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// Every channel not yet closed, in id order. A cooperatively closed channel (its
    /// closing transaction signed by both) leaves the list; a failed one stays until the
    /// chain resolves it.
    pub fn list_channels(&self) -> Vec<ChannelDetails> {
        self.channels
            .iter()
            .filter(|(_, m)| m.channel.phase() != ChannelPhase::Closed)
            .map(|(id, m)| {
                let channel = &m.channel;
                let view = channel.holder_view();
                let is_usable =
                    channel.phase() == ChannelPhase::Normal && self.connected_peers.contains_key(&m.counterparty);
                let their_reserve_msat = channel.holder_limits.channel_reserve_satoshis.saturating_mul(1000);
                ChannelDetails {
                    channel_id: *id,
                    counterparty_node_id: m.counterparty,
                    capacity_satoshis: channel.funding_satoshis(),
                    balance_msat: view.holder_balance_msat,
                    outbound_capacity_msat: if is_usable {
                        channel.max_sendable_msat().unwrap_or(0)
                    } else {
                        0
                    },
                    inbound_capacity_msat: if is_usable {
                        view.counterparty_balance_msat.saturating_sub(their_reserve_msat)
                    } else {
                        0
                    },
                    phase: channel.phase(),
                    is_usable,
                    is_outbound: channel.is_funder(),
                    funding_txid: m.funding_txid,
                    confirmation_height: m.confirmation_height,
                    short_channel_id: m.short_channel_id,
                    outbound_scid_alias: m.alias,
                    inbound_scid_alias: m.counterparty_alias,
                }
            })
            .collect()
    }
}
