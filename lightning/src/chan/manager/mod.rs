//! The channel manager: owns every channel with every peer, implements the peer
//! manager's [`MessageHandler`](crate::transport::MessageHandler), hands each channel's
//! monitor updates to the user's [`Persist`], holds back what depends on updates in
//! progress, drives the commitment dance, sends payments over routes (retrying, in parts),
//! receives them (gathering parts), and forwards others' payments.
//! A channel it fails (a protocol error, the peer's `error`, an HTLC expiring
//! unresolved, refused persistence) goes on chain through the user's [`Broadcaster`]
//! with the latest commitment the peer signed, unless our own state is known stale.
//!
//! - [`details`]: what a wallet lists of each channel.
//! - [`handler`]: peer messages in, messages and events out.
//! - [`payments`]: inbound payments: onions peeled, claims, failures back.
//! - [`outbound`]: payments we send: paths, onions, retries, multi-part.
//! - [`forward`]: forwarding: policy checks, the HTLC pair, failures wrapped back.
//! - [`resolution`]: what became of the HTLCs we offered, to whoever offered them.

pub mod details;
pub mod forward;
pub mod handler;
pub mod outbound;
pub mod payments;
pub mod persist;
pub mod records;
pub mod resolution;

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, Transaction, Txid};

use super::channel::establish::OpenChannelParams;
use super::channel::{Channel, ChannelError, ChannelLimits, ChannelPhase, MAX_HTLCS_PER_SIDE};
use super::monitor_update::ChannelMonitorUpdate;
use super::outbox::MonitorGatedOutbox;
use crate::chain::{Broadcaster, Persist, PersistStatus};
use crate::events::Event;
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::transport::HandlerAction;
use crate::wire::{ChannelId, ErrorMessage, Message, NoTlvs, Warning};

#[cfg(feature = "planted-bugs")]
pub use super::planted::PlantedBug;

/// One HTLC: the channel, and the id its offerer gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HtlcRef {
    /// The channel.
    pub channel_id: ChannelId,
    /// The offerer's id for it.
    pub htlc_id: u64,
}

impl HtlcRef {
    /// Every HTLC of `channel_id`, as a range of keys.
    pub(crate) fn all_of(channel_id: ChannelId) -> core::ops::RangeInclusive<HtlcRef> {
        HtlcRef { channel_id, htlc_id: 0 }..=HtlcRef {
            channel_id,
            htlc_id: u64::MAX,
        }
    }
}

/// What a connected peer offers in its `init` that its channels depend on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerFeatures {
    /// `option_upfront_shutdown_script`.
    pub(crate) upfront_shutdown: bool,
    /// `option_shutdown_anysegwit`.
    pub(crate) shutdown_anysegwit: bool,
}

/// Policy for new channels and payments.
#[derive(Clone, Debug)]
pub struct ChannelManagerConfig {
    /// The chain.
    pub chain_hash: ChainHash,
    /// Confirmations we ask of a funding transaction before using the channel. As the
    /// funder we wait for more if the fundee's `accept_channel` asks more.
    pub minimum_depth: u32,
    /// The user's fee estimate, in satoshis per 1,000 weight units, for a transaction to
    /// confirm in reasonable time: new channels we open commit at it, channels we fund
    /// follow it with `update_fee`, and cooperative closes we fund pay at most its fee.
    /// There is no default: a node opening at a guessed feerate is refused by peers with
    /// a realistic minimum, and its commitments may never confirm. Keep it current with
    /// [`ChannelManager::feerate_updated`].
    pub feerate_per_kw: u32,
    /// The fewest blocks between now and the expiry of a payment's final HTLC: enough for
    /// the receiver to claim on chain if it must (BOLT 11's default
    /// `min_final_cltv_expiry_delta` is 18; we add margin). A payee asking more gets what
    /// it asks (see [`ChannelManager::send_payment`]).
    pub final_cltv_expiry_delta: u32,
    /// The most HTLCs a peer may offer us at once on each new channel: 1 to 483 (BOLT 2's
    /// cap; opening a channel with anything else is refused). Fewer bounds what one
    /// commitment costs to build, sign and enforce on chain.
    pub max_accepted_htlcs: u16,
    /// Outputs below this are left out of our commitments: at least 354, BOLT 2's floor
    /// for standard outputs (opening with less is refused). A fundee lowers it to the
    /// funder's reserve if that is smaller, as BOLT 2 requires.
    pub dust_limit_satoshis: u64,
    /// The reserve we demand of the peer, in thousandths of the channel (never below our
    /// dust limit): what it loses if it broadcasts a revoked state.
    pub channel_reserve_permille: u16,
    /// The smallest HTLC we accept.
    pub htlc_minimum_msat: u64,
    /// The blocks the peer must wait to spend its own output of a commitment it
    /// broadcasts: our time to punish a revoked one. At most 2016 (opening with more is
    /// refused, as peers would).
    pub to_self_delay: u16,
    /// The most value of HTLCs the peer may have offered us at once, in percent of the
    /// channel (100 or more: no cap below the channel; never less than one HTLC minimum).
    pub max_htlc_value_in_flight_percent: u8,
    /// The most value this node lets sit in HTLCs too small for an output (trimmed) on
    /// either commitment of a channel (BOLT 2's `max_dust_htlc_exposure_msat`): they are
    /// fees if the commitment goes on chain. A dust HTLC past it is not sent, and one
    /// received is failed back.
    pub max_dust_htlc_exposure_msat: u64,
    /// What we charge and demand for forwarding, on every channel without its own
    /// ([`ChannelManager::set_forwarding_policy`]).
    pub forwarding_policy: forward::ForwardingPolicy,
    /// A deliberate bug, switched on by harnesses that must show they catch it.
    #[cfg(feature = "planted-bugs")]
    pub planted_bug: Option<PlantedBug>,
}

impl ChannelManagerConfig {
    /// The policy for `chain_hash` with the user's current fee estimate
    /// (`feerate_per_kw`, raised to the relay floor of 253 if below it), and defaults for
    /// the rest: 3 confirmations, 40 blocks of final CLTV delta, 483 HTLCs, 50,000 sat of
    /// dust exposure, and the channel limits of [`ChannelLimits::default_for`] (546 sat
    /// dust limit, 1% reserve, 1 msat HTLCs, 144 blocks of delay, no in-flight cap).
    pub fn new(chain_hash: ChainHash, feerate_per_kw: u32) -> Self {
        ChannelManagerConfig {
            chain_hash,
            minimum_depth: 3,
            feerate_per_kw: feerate_per_kw.max(super::channel::operation::MIN_FEERATE_PER_KW),
            final_cltv_expiry_delta: 40,
            max_accepted_htlcs: MAX_HTLCS_PER_SIDE,
            dust_limit_satoshis: 546,
            channel_reserve_permille: 10,
            htlc_minimum_msat: 1,
            to_self_delay: 144,
            max_htlc_value_in_flight_percent: 100,
            max_dust_htlc_exposure_msat: DEFAULT_MAX_DUST_HTLC_EXPOSURE_MSAT,
            forwarding_policy: forward::ForwardingPolicy::default(),
            #[cfg(feature = "planted-bugs")]
            planted_bug: None,
        }
    }
}

impl ChannelManagerConfig {
    /// What we demand of the peer on a new channel of `funding_satoshis` under this
    /// policy: the reserve is the share asked, but at least the dust limit (BOLT 2) and at
    /// most the channel; the in-flight cap the share asked (100% at most), but at least
    /// one HTLC minimum. The rest is as set: a dust limit below 354, a delay above 2016
    /// blocks or an HTLC cap outside 1 to 483 makes opening or accepting refuse, with the
    /// reason, rather than quietly use another value.
    pub fn channel_limits(&self, funding_satoshis: u64) -> ChannelLimits {
        let reserve_satoshis = funding_satoshis.saturating_mul(u64::from(self.channel_reserve_permille)) / 1000;
        let channel_msat = funding_satoshis.saturating_mul(1000);
        let in_flight_percent = u64::from(self.max_htlc_value_in_flight_percent.min(100));
        ChannelLimits {
            dust_limit_satoshis: self.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: (channel_msat / 100)
                .saturating_mul(in_flight_percent)
                .max(self.htlc_minimum_msat),
            channel_reserve_satoshis: reserve_satoshis.max(self.dust_limit_satoshis).min(funding_satoshis),
            htlc_minimum_msat: self.htlc_minimum_msat,
            to_self_delay: self.to_self_delay,
            max_accepted_htlcs: self.max_accepted_htlcs,
        }
    }
}

/// A user command that could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No such channel, or not with that peer.
    UnknownChannel,
    /// The peer is not connected.
    PeerNotConnected,
    /// No usable channel with the peer.
    NoUsableChannel,
    /// No claimable payment with that hash.
    UnknownPayment,
    /// A payment with that hash is already in flight.
    DuplicatePayment,
    /// No route: why.
    Route(crate::routing::RouteError),
    /// The channel refused the operation: how, and why ([`ChannelError::cause`]).
    Channel(ChannelError),
}

#[derive(Clone)]
pub(crate) struct ManagedChannel<S: crate::sign::ChannelSigner> {
    pub channel: Channel<S>,
    pub counterparty: PublicKey,
    pub keys_id: [u8; 32],
    pub outbox: MonitorGatedOutbox<Message>,
    pub funding_txid: Option<Txid>,
    pub confirmation_height: Option<u32>,
    /// The funding's place in the chain, once a confirmation said where.
    pub short_channel_id: Option<crate::wire::ShortChannelId>,
    /// Our alias for the channel (`option_scid_alias`), sent in `channel_ready`: an
    /// onion may name the channel by it, before or instead of its real short id.
    pub alias: crate::wire::ShortChannelId,
    /// The peer's alias for the channel, from its `channel_ready`: what an invoice's
    /// route hint names to reach us over it.
    pub counterparty_alias: Option<crate::wire::ShortChannelId>,
    /// Our forwarding policy over this channel, if not the manager's.
    pub forwarding_policy: Option<forward::ForwardingPolicy>,
    pub minimum_depth: u32,
    /// As the fundee, the best height when we signed the funding: a funding still
    /// unconfirmed [`FUNDING_WAIT_BLOCKS`] later is forgotten (BOLT 2).
    pub funding_wait_since: Option<u32>,
    /// The first block seen while `closing_signed` negotiation could run. Not persisted:
    /// after a restart the count starts again.
    pub closing_negotiation_since: Option<u32>,
    /// Where our balance goes on a cooperative close: the wallet's script for this
    /// channel ([`crate::sign::SignerProvider::shutdown_script`]), asked once at opening.
    pub shutdown_script: bitcoin::ScriptBuf,
    /// Updates handed to the persister after the last one that, with every one before
    /// it, is durable; oldest first. Persisted with the manager so that, after a crash
    /// that lost them, they are handed over again instead of the channel being failed.
    pub in_flight_updates: Vec<ChannelMonitorUpdate>,
}

impl<S: crate::sign::ChannelSigner> ManagedChannel<S> {
    /// The id payers and routers know the channel by: its real short id once confirmed,
    /// our alias before.
    pub(crate) fn routing_scid(&self) -> crate::wire::ShortChannelId {
        self.short_channel_id.unwrap_or(self.alias)
    }

    /// Whether an onion naming `scid` means this channel.
    pub(crate) fn goes_by(&self, scid: crate::wire::ShortChannelId) -> bool {
        self.alias == scid || self.short_channel_id == Some(scid)
    }

    /// Records the persister's answer for `update`; false if persistence failed. The
    /// update stays in flight until it and every earlier one are durable: a monitor
    /// applies updates in order, so after a crash the whole gap may have to be handed
    /// over again, including updates completed out of order.
    pub(crate) fn record_persist_status(&mut self, update: ChannelMonitorUpdate, status: PersistStatus) -> bool {
        let update_id = update.update_id;
        self.in_flight_updates.push(update);
        match status {
            PersistStatus::Completed => self.outbox.update_completed(update_id),
            PersistStatus::InProgress => {}
            PersistStatus::Failed => return false,
        }
        self.forget_durable_updates();
        true
    }

    /// Drops the in-flight updates that, with every earlier one, are durable.
    pub(crate) fn forget_durable_updates(&mut self) {
        let durable_through = self.outbox.persisted_through();
        self.in_flight_updates.retain(|u| u.update_id > durable_through);
    }
}

/// The default bound on dust exposure per commitment: 50,000 sat, a small share of a
/// typical channel, and room for hundreds of small payments in flight.
pub const DEFAULT_MAX_DUST_HTLC_EXPOSURE_MSAT: u64 = 50_000_000;

/// Blocks a fundee waits for the funding to confirm before it forgets the channel
/// (BOLT 2's timeout), counted from the block it signed the funding at.
pub const FUNDING_WAIT_BLOCKS: u32 = 2016;

/// Blocks (about an hour) the `closing_signed` negotiation may take, once it can start,
/// before the channel is failed: BOLT 2 requires failing it when no satisfying
/// `closing_signed` arrives "after a reasonable amount of time", and blocks are this
/// library's only clock.
pub const CLOSING_NEGOTIATION_TIMEOUT_BLOCKS: u32 = 6;

/// Runs a node's channels: opens them, pays and claims over them, closes them, and
/// hands every state change to the [`crate::chain::Persist`] as a monitor update. It is
/// the channel message handler of the [`crate::transport::PeerManager`] (commands go
/// through [`crate::transport::PeerManager::channel_handler_mut`]); it tells its user
/// what happened through [`ChannelManager::pending_events`], and says when it must be
/// saved ([`ChannelManager::needs_persistence`]). The crate's `guide` module shows a
/// whole node.
///
/// A clone copies every channel's signing state: it is for inspection and for harnesses
/// that restore a prepared state. Never run two copies against the same peers or chain:
/// between them they could sign two versions of one commitment.
#[derive(Clone)]
pub struct ChannelManager<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> {
    pub(crate) keys: K,
    pub(crate) persister: P,
    pub(crate) broadcaster: B,
    pub(crate) config: ChannelManagerConfig,
    pub(crate) secp: crate::secp_context::SharedSecp,
    pub(crate) channels: BTreeMap<ChannelId, ManagedChannel<K::Signer>>,
    /// Connected peers and the features of theirs a channel needs.
    pub(crate) connected_peers: BTreeMap<PublicKey, PeerFeatures>,
    pub(crate) best_height: u32,
    pub(crate) payments: payments::Payments,
    pub(crate) outbound: outbound::OutboundPayments,
    pub(crate) forwards: forward::Forwards,
    /// HTLCs we offered that the peer failed, until the failure is irrevocably
    /// committed: only then may whoever offered them act on it.
    pub(crate) failed_outgoing: BTreeMap<HtlcRef, resolution::OutgoingFailure>,
    pub(crate) events: Vec<Event>,
    pub(crate) actions: Vec<HandlerAction>,
    /// The digest of the state last reported durable (or read), if any.
    pub(crate) persisted_digest: Option<[u8; 32]>,
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// A manager with no channels.
    pub fn new(config: ChannelManagerConfig, keys: K, persister: P, broadcaster: B, best_height: u32) -> Self {
        ChannelManager {
            keys,
            persister,
            broadcaster,
            config,
            secp: crate::secp_context::shared(),
            channels: BTreeMap::new(),
            connected_peers: BTreeMap::new(),
            best_height,
            payments: payments::Payments::default(),
            outbound: outbound::OutboundPayments::default(),
            forwards: forward::Forwards::default(),
            failed_outgoing: BTreeMap::new(),
            events: Vec::new(),
            actions: Vec::new(),
            persisted_digest: None,
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> PublicKey {
        self.keys.node_id()
    }

    /// The persister, for inspection.
    pub fn persister(&self) -> &P {
        &self.persister
    }

    /// The broadcaster, for inspection.
    pub fn broadcaster(&self) -> &B {
        &self.broadcaster
    }

    /// The persister, mutably (to change how it answers).
    pub fn persister_mut(&mut self) -> &mut P {
        &mut self.persister
    }

    /// Events not yet handled, oldest first. They stay, and are saved with the manager,
    /// until [`ChannelManager::events_handled`] says the user acted on them: an event
    /// is delivered at least once, whenever the process dies.
    pub fn pending_events(&self) -> &[Event] {
        &self.events
    }

    /// The first `count` pending events were handled (acted on, and what that changed
    /// saved): they are forgotten. Save the manager after this, or they come back on
    /// reload.
    pub fn events_handled(&mut self, count: usize) {
        let count = count.min(self.events.len());
        self.events.drain(..count);
    }

    /// Every pending event, forgotten at once: for a caller that handles them before it
    /// next saves the manager (a crash between taking and handling loses them unless
    /// the manager was not saved in between; [`ChannelManager::pending_events`] with
    /// [`ChannelManager::events_handled`] never loses one).
    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }

    /// Whether the manager's state differs from the bytes last reported durable with
    /// [`ChannelManager::persisted`] (or read): save it ([`ChannelManager::encode`])
    /// before answering a monitor update's completion, and whenever this says so.
    pub fn needs_persistence(&self) -> bool {
        self.encode_if_changed().is_some()
    }

    /// The manager's bytes if they differ from those last reported durable: one encoding
    /// to both ask and save (save them, then [`ChannelManager::persisted`]).
    pub fn encode_if_changed(&self) -> Option<Vec<u8>> {
        let bytes = self.encode();
        (Some(Self::digest(&bytes)) != self.persisted_digest).then_some(bytes)
    }

    /// `bytes` (from [`ChannelManager::encode`]) are durable now: until the state
    /// changes again, [`ChannelManager::needs_persistence`] is false.
    pub fn persisted(&mut self, bytes: &[u8]) {
        self.persisted_digest = Some(Self::digest(bytes));
    }

    pub(crate) fn digest(bytes: &[u8]) -> [u8; 32] {
        use bitcoin::hashes::{sha256, Hash};
        sha256::Hash::hash(bytes).to_byte_array()
    }

    /// The channel with `channel_id`, for inspection.
    pub fn channel(&self, channel_id: &ChannelId) -> Option<&Channel<K::Signer>> {
        self.channels.get(channel_id).map(|m| &m.channel)
    }

    /// The peer a channel is with.
    pub fn counterparty_of(&self, channel_id: &ChannelId) -> Option<PublicKey> {
        self.channels.get(channel_id).map(|m| m.counterparty)
    }

    /// How many of a channel's monitor updates the manager still holds because they, or
    /// an earlier one, are not yet durable (it hands them over again after a crash).
    pub fn in_flight_monitor_updates(&self, channel_id: &ChannelId) -> usize {
        self.channels.get(channel_id).map_or(0, |m| m.in_flight_updates.len())
    }

    /// The keys id of a channel's signer (persist it: the signer is re-derived from it).
    pub fn channel_keys_id(&self, channel_id: &ChannelId) -> Option<[u8; 32]> {
        self.channels.get(channel_id).map(|m| m.keys_id)
    }

    /// Every channel id, in order.
    pub fn channel_ids(&self) -> Vec<ChannelId> {
        self.channels.keys().copied().collect()
    }

    /// Opens a channel to a connected peer: sends `open_channel`.
    pub fn open_channel(
        &mut self,
        counterparty: PublicKey,
        funding_satoshis: u64,
        push_msat: u64,
    ) -> Result<ChannelId, ApiError> {
        let Some(peer) = self.connected_peers.get(&counterparty).copied() else {
            return Err(ApiError::PeerNotConnected);
        };
        let keys_id = self.keys.generate_channel_keys_id();
        let shutdown_script = self.keys.shutdown_script(&keys_id);
        let temporary_channel_id = ChannelId(self.keys.random_bytes());
        let params = OpenChannelParams {
            chain_hash: self.config.chain_hash,
            temporary_channel_id,
            funding_satoshis,
            push_msat,
            feerate_per_kw: self.config.feerate_per_kw,
            limits: self.config.channel_limits(funding_satoshis),
            upfront_shutdown: Self::upfront_shutdown(&peer, &shutdown_script),
        };
        let signer = self.keys.derive_channel_signer(&keys_id);
        let (channel, open) = Channel::new_outbound(signer, &params).map_err(ApiError::Channel)?;
        self.insert_channel(channel, counterparty, keys_id, shutdown_script);
        self.send(
            &temporary_channel_id,
            Message::OpenChannel(alloc::boxed::Box::new(open)),
        );
        Ok(temporary_channel_id)
    }

    pub(crate) fn insert_channel(
        &mut self,
        #[allow(unused_mut)] mut channel: Channel<K::Signer>,
        counterparty: PublicKey,
        keys_id: [u8; 32],
        shutdown_script: bitcoin::ScriptBuf,
    ) {
        #[cfg(feature = "planted-bugs")]
        {
            channel.planted_bug = self.config.planted_bug;
        }
        let alias = self.alias_for(&keys_id);
        let managed = ManagedChannel {
            channel,
            counterparty,
            keys_id,
            shutdown_script,
            outbox: MonitorGatedOutbox::new(0),
            funding_txid: None,
            confirmation_height: None,
            short_channel_id: None,
            alias,
            counterparty_alias: None,
            forwarding_policy: None,
            minimum_depth: self.config.minimum_depth,
            funding_wait_since: None,
            closing_negotiation_since: None,
            in_flight_updates: Vec::new(),
        };
        self.channels.insert(managed.channel.channel_id(), managed);
    }

    /// The alias of the channel whose signer is `keys_id`: drawn from the keys id
    /// (ours, random, and never the peer's choice), with the top bit of the block height
    /// set so it names no real funding for the next 80,000 years of blocks, and unused by
    /// our other channels. Deriving it draws no entropy, so adding aliases changed no
    /// other random value a node draws.
    pub(crate) fn alias_for(&self, keys_id: &[u8; 32]) -> crate::wire::ShortChannelId {
        use bitcoin::hashes::{sha256, Hash, HashEngine};
        let mut counter = 0u32;
        loop {
            let mut engine = sha256::Hash::engine();
            engine.input(b"scid alias");
            engine.input(keys_id);
            engine.input(&counter.to_be_bytes());
            let digest = sha256::Hash::from_engine(engine).to_byte_array();
            let random = u64::from_be_bytes(digest[..8].try_into().expect("eight bytes"));
            let alias = crate::wire::ShortChannelId(random | (1 << 63));
            if !self.channels.values().any(|m| m.goes_by(alias)) {
                return alias;
            }
            counter += 1;
        }
    }

    /// The channel an onion names by `scid` (real short id or our alias).
    pub(crate) fn channel_by_scid(&self, scid: crate::wire::ShortChannelId) -> Option<ChannelId> {
        self.channels.iter().find(|(_, m)| m.goes_by(scid)).map(|(id, _)| *id)
    }

    /// The user's wallet built the funding transaction: sends `funding_created`.
    pub fn funding_transaction_generated(
        &mut self,
        temporary_channel_id: &ChannelId,
        funding_outpoint: OutPoint,
    ) -> Result<ChannelId, ApiError> {
        let mut managed = self
            .channels
            .remove(temporary_channel_id)
            .ok_or(ApiError::UnknownChannel)?;
        let created = match managed.channel.funding_transaction_generated(funding_outpoint) {
            Ok(created) => created,
            Err(e) => {
                self.channels.insert(*temporary_channel_id, managed);
                return Err(ApiError::Channel(e));
            }
        };
        managed.funding_txid = Some(funding_outpoint.txid);
        let channel_id = managed.channel.channel_id();
        self.channels.insert(channel_id, managed);
        self.send(&channel_id, Message::FundingCreated(created));
        Ok(channel_id)
    }

    /// The user's fee estimate changed (sans-IO: the estimate comes in by call). New
    /// channels open at it, and channels we fund move their commitments to it with
    /// `update_fee` when it differs from theirs by more than a fifth: small moves are not
    /// worth a commitment round.
    pub fn feerate_updated(&mut self, feerate_per_kw: u32) {
        // Below the relay floor nothing confirms, and peers refuse it.
        let feerate_per_kw = feerate_per_kw.max(super::channel::operation::MIN_FEERATE_PER_KW);
        self.config.feerate_per_kw = feerate_per_kw;
        let ids: Vec<ChannelId> = self.channels.keys().copied().collect();
        for id in ids {
            let Some(managed) = self.channels.get_mut(&id) else {
                continue;
            };
            let channel = &mut managed.channel;
            if !channel.is_funder() || channel.phase() != ChannelPhase::Normal || !channel.is_connected() {
                continue;
            }
            let current = channel.holder_view().feerate_per_kw;
            let differs = u64::from(feerate_per_kw.abs_diff(current)) * 5 > u64::from(current);
            if differs {
                let result = channel
                    .send_update_fee(feerate_per_kw)
                    .map(|m| vec_of(Message::UpdateFee(m)));
                self.after_channel_call(&id, result);
            }
        }
    }

    /// A transaction confirmed at `height`: funding transactions count their depth. A
    /// funding transaction whose output is not the channel's (BOLT 2: exactly
    /// `funding_satoshis` to the 2-of-2 script) fails the channel before it is used, with
    /// nothing to broadcast: no commitment can spend that output.
    pub fn transaction_confirmed(&mut self, tx: &Transaction, height: u32) {
        let txid = tx.compute_txid();
        let mut wrong_outputs = Vec::new();
        for (id, managed) in &mut self.channels {
            if managed.funding_txid == Some(txid) && managed.confirmation_height.is_none() {
                match managed.channel.check_funding_output(tx) {
                    Ok(()) => {
                        managed.confirmation_height = Some(height);
                        managed.funding_wait_since = None;
                    }
                    Err(why) => wrong_outputs.push((*id, why.to_string())),
                }
            }
        }
        for (id, why) in wrong_outputs {
            self.close_failed_channel(&id, why, None, true);
        }
        self.check_funding_depths();
    }

    /// As [`ChannelManager::transaction_confirmed`], with the transaction's index in its
    /// block: a funding gets its short channel id (height, index, output; BOLT 7).
    pub fn transaction_confirmed_in_block(&mut self, tx: &Transaction, height: u32, tx_index: u32) {
        self.transaction_confirmed(tx, height);
        let txid = tx.compute_txid();
        for managed in self.channels.values_mut() {
            let confirmed_here = managed.funding_txid == Some(txid) && managed.confirmation_height == Some(height);
            if let (true, None, Some(outpoint)) = (
                confirmed_here,
                managed.short_channel_id,
                managed.channel.funding_outpoint,
            ) {
                managed.short_channel_id = u16::try_from(outpoint.vout)
                    .ok()
                    .and_then(|vout| crate::wire::ShortChannelId::new(height, tx_index, vout));
            }
        }
    }

    /// The chain's tip moved to `height`: fundings deep enough make channels ready,
    /// fundings we accepted and never saw confirm for [`FUNDING_WAIT_BLOCKS`] are
    /// forgotten, HTLCs near expiry fail, and stalled closing negotiations fail.
    pub fn best_block_updated(&mut self, height: u32) {
        self.best_height = height;
        self.check_funding_depths();
        self.check_htlc_timeouts();
        self.check_closing_negotiations();
    }

    /// Fails channels whose `closing_signed` negotiation has run too long (a peer that
    /// stopped answering, or fee ranges that never met).
    fn check_closing_negotiations(&mut self) {
        let mut expired = Vec::new();
        for (id, managed) in &mut self.channels {
            let negotiating =
                managed.channel.phase() == ChannelPhase::ShuttingDown && managed.channel.ready_for_closing_signed();
            if !negotiating {
                managed.closing_negotiation_since = None;
                continue;
            }
            let since = *managed.closing_negotiation_since.get_or_insert(self.best_height);
            if self.best_height >= since.saturating_add(CLOSING_NEGOTIATION_TIMEOUT_BLOCKS) {
                expired.push(*id);
            }
        }
        for id in expired {
            let why =
                alloc::format!("closing negotiation unfinished after {CLOSING_NEGOTIATION_TIMEOUT_BLOCKS} blocks");
            self.fail_channel(&id, why, true);
        }
    }

    fn check_funding_depths(&mut self) {
        let ids: Vec<ChannelId> = self.channels.keys().copied().collect();
        for id in ids {
            let Some(managed) = self.channels.get_mut(&id) else {
                continue;
            };
            // BOLT 2: a fundee forgets a funding it has not seen confirm for two weeks of
            // blocks; nothing of its own is at stake, and remembering invites denial of
            // service. The funder waits: the funding spends its coins.
            let waited_too_long = managed.confirmation_height.is_none()
                && managed.funding_wait_since.is_some_and(|since| {
                    u64::from(self.best_height) >= u64::from(since) + u64::from(FUNDING_WAIT_BLOCKS)
                });
            if waited_too_long {
                let why = alloc::format!("funding unconfirmed after {FUNDING_WAIT_BLOCKS} blocks: forgotten");
                self.close_failed_channel(&id, why, None, true);
                continue;
            }
            // Heights are the user's (and persisted): counted in u64, the last u32 height
            // neither overflows nor wraps a shallow funding around to deep.
            let deep = managed
                .confirmation_height
                .is_some_and(|h| u64::from(self.best_height) + 1 >= u64::from(h) + u64::from(managed.minimum_depth));
            let due = matches!(
                managed.channel.phase(),
                ChannelPhase::AwaitingChannelReady { sent: false, .. }
            );
            if deep && due {
                let result = managed.channel.funding_confirmed();
                // The peer's `channel_ready` may have come first: then ours makes the
                // channel usable, and the user hears of it now.
                if result.is_ok() && managed.channel.phase() == ChannelPhase::Normal {
                    self.events.push(Event::ChannelReady {
                        channel_id: id,
                        counterparty_node_id: managed.counterparty,
                    });
                }
                self.after_channel_call(&id, result.map(|m| vec_of(Message::ChannelReady(m))));
            }
        }
    }

    /// Hands the channel's new monitor updates to the persister.
    pub(crate) fn persist_updates(&mut self, channel_id: &ChannelId) {
        let Some(managed) = self.channels.get_mut(channel_id) else {
            return;
        };
        let mut failed = false;
        for update in managed.channel.take_monitor_updates() {
            let status = self.persister.persist(channel_id, &update);
            failed |= !managed.record_persist_status(update, status);
        }
        if failed {
            self.fail_channel(channel_id, "monitor persistence failed".into(), true);
        }
    }

    /// The user reports a monitor update durable (in any order).
    pub fn monitor_update_completed(&mut self, channel_id: &ChannelId, update_id: u64) {
        if let Some(managed) = self.channels.get_mut(channel_id) {
            #[cfg(feature = "planted-bugs")]
            if self.config.planted_bug == Some(PlantedBug::CompletionIgnoresEarlierUpdates) {
                managed.outbox.update_completed_ignoring_gaps(update_id);
            }
            managed.outbox.update_completed(update_id);
            managed.forget_durable_updates();
        }
        self.process_channel(channel_id);
    }

    /// Queues a message from a channel behind its persisted updates.
    pub(crate) fn send(&mut self, channel_id: &ChannelId, mut message: Message) {
        self.persist_updates(channel_id);
        let Some(managed) = self.channels.get_mut(channel_id) else {
            return;
        };
        if let Message::ChannelReady(ready) = &mut message {
            // The peer may name the channel by our alias in invoices before it confirms.
            ready.tlvs.short_channel_id = Some(managed.alias);
        }
        #[allow(unused_mut)]
        let mut depends_on = managed.channel.latest_monitor_update_id();
        #[cfg(feature = "planted-bugs")]
        if self.config.planted_bug.is_some_and(|bug| bug.releases_early(&message)) {
            depends_on = managed.outbox.tail_dependency();
        }
        managed.outbox.push(depends_on, message);
    }

    /// Applies the result of handling the peer's message: as [`Self::after_channel_call`],
    /// and a message the channel refused (and ignored) is answered with a `warning`.
    pub(crate) fn after_peer_message(&mut self, channel_id: &ChannelId, result: Result<Vec<Message>, ChannelError>) {
        if let Err(ChannelError::Ignore(why)) = &result {
            self.warn(channel_id, why.to_string());
        }
        self.after_channel_call(channel_id, result);
    }

    /// Applies the result of a channel call: queues its messages, or handles its error.
    /// A refused call of our own (`Ignore`) leaves the channel as it was and tells the
    /// peer nothing: it did nothing wrong.
    pub(crate) fn after_channel_call(&mut self, channel_id: &ChannelId, result: Result<Vec<Message>, ChannelError>) {
        match result {
            Ok(messages) => {
                for message in messages {
                    self.send(channel_id, message);
                }
                self.persist_updates(channel_id);
            }
            Err(ChannelError::Ignore(_)) => {}
            Err(ChannelError::Close(why)) => self.fail_channel(channel_id, why.to_string(), true),
            Err(ChannelError::DataLoss(why)) => self.fail_channel(channel_id, why.to_string(), false),
            Err(ChannelError::Disconnect(why)) => self.fail_connection(channel_id, why.to_string()),
        }
        self.process_channel(channel_id);
    }

    /// Fails the connection to the channel's peer (BOLT 1): a `warning` naming the
    /// channel and why, then a disconnect. The channel stays as it was.
    fn fail_connection(&mut self, channel_id: &ChannelId, why: String) {
        let Some(managed) = self.channels.get(channel_id) else {
            return;
        };
        self.actions.push(HandlerAction::Disconnect {
            node_id: managed.counterparty,
            message: Some(warning(channel_id, why.clone())),
            reason: why,
        });
    }

    fn warn(&mut self, channel_id: &ChannelId, why: String) {
        if let Some(managed) = self.channels.get(channel_id) {
            self.actions.push(HandlerAction::Send {
                node_id: managed.counterparty,
                message: warning(channel_id, why),
            });
        }
    }

    /// Fails a channel (BOLT 5 "Failing a Channel"): broadcasts our latest commitment
    /// unless `may_broadcast` is false (our own state is known stale), tells the peer
    /// with `error` and the user with an event.
    pub(crate) fn fail_channel(&mut self, channel_id: &ChannelId, why: String, may_broadcast: bool) {
        if !may_broadcast {
            let why = alloc::format!("{why} (our state is stale: not broadcasting)");
            return self.close_failed_channel(channel_id, why, None, true);
        }
        let commitment = self.commitment_for_chain(channel_id);
        self.close_failed_channel(channel_id, why, commitment, true);
    }

    /// The peer's `error` fails the channel (BOLT 1): as [`Self::fail_channel`], without
    /// answering.
    pub(crate) fn fail_channel_on_peer_error(&mut self, channel_id: &ChannelId, why: String) {
        let commitment = self.commitment_for_chain(channel_id);
        self.close_failed_channel(channel_id, why, commitment, false);
    }

    /// Our latest commitment with both signatures, the channel closed and its monitor's
    /// close queued: what BOLT 5 has a failing channel broadcast whenever it holds
    /// anything of ours (only the manager can sign it). `None` before the peer signed a
    /// commitment of ours (nothing is at stake to claim), once closed, or if the signer
    /// refuses.
    fn commitment_for_chain(&mut self, channel_id: &ChannelId) -> Option<Transaction> {
        self.channels.get_mut(channel_id)?.channel.force_close().ok()
    }

    /// The channel leaves the manager (its monitor stays with the persister); with a
    /// `commitment` to broadcast, its monitor first gets the close; the peer is told
    /// with `error` unless `tell_peer` is false (it told us); the user gets an event.
    fn close_failed_channel(
        &mut self,
        channel_id: &ChannelId,
        why: String,
        commitment: Option<Transaction>,
        tell_peer: bool,
    ) {
        let Some(mut managed) = self.channels.remove(channel_id) else {
            return;
        };
        if let Some(commitment) = commitment {
            for update in managed.channel.take_monitor_updates() {
                // The channel is gone from here either way; a storage that refuses the
                // close still gets the commitment broadcast.
                let _ = self.persister.persist(channel_id, &update);
            }
            self.broadcaster.broadcast(&commitment);
        }
        if tell_peer {
            let error = ErrorMessage {
                channel_id: *channel_id,
                data: why.clone().into_bytes(),
                extension: NoTlvs::default(),
            };
            self.actions.push(HandlerAction::Send {
                node_id: managed.counterparty,
                message: Message::Error(error),
            });
        }
        self.events.push(Event::ChannelClosed {
            channel_id: *channel_id,
            reason: why,
        });
    }

    /// After anything that may have changed a channel: commit what is pending, process
    /// newly committed HTLCs, and release what persistence allows.
    pub(crate) fn process_channel(&mut self, channel_id: &ChannelId) {
        // Called for every channel at every event a peer manager sees, mostly with
        // nothing to do: the channel is looked up again only after something was sent.
        let Some(mut managed) = self.channels.get_mut(channel_id) else {
            return;
        };
        if managed.channel.is_connected() {
            match managed.channel.send_commitment() {
                Ok(Some(signed)) => {
                    self.send(channel_id, Message::CommitmentSigned(signed));
                    // Sending may have failed the channel (its monitor update refused).
                    let Some(again) = self.channels.get_mut(channel_id) else {
                        return;
                    };
                    managed = again;
                }
                Ok(None) => {}
                Err(e) => return self.after_channel_call(channel_id, Err(e)),
            }
            if let Some(shutdown) = managed.channel.shutdown_due(&managed.shutdown_script) {
                self.send(channel_id, Message::Shutdown(shutdown));
            }
        }
        self.process_inbound_htlcs(channel_id);
        self.process_failed_outgoing(channel_id);
        self.flush(channel_id);
    }

    fn flush(&mut self, channel_id: &ChannelId) {
        let Some(managed) = self.channels.get_mut(channel_id) else {
            return;
        };
        if managed.outbox.is_empty() || !self.connected_peers.contains_key(&managed.counterparty) {
            return;
        }
        let node_id = managed.counterparty;
        let ready = managed.outbox.drain_ready();
        self.actions
            .extend(ready.map(|message| HandlerAction::Send { node_id, message }));
    }
}

/// A `warning` about `channel_id`, saying why.
fn warning(channel_id: &ChannelId, why: String) -> Message {
    Message::Warning(Warning {
        channel_id: *channel_id,
        data: why.into_bytes(),
        extension: NoTlvs::default(),
    })
}

pub(crate) fn vec_of(message: Message) -> Vec<Message> {
    alloc::vec![message]
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::Network;

    fn config() -> ChannelManagerConfig {
        ChannelManagerConfig::new(ChainHash::using_genesis_block(Network::Regtest), 253)
    }

    #[test]
    fn default_policy_demands_the_default_limits() {
        assert_eq!(
            config().channel_limits(1_234_500),
            ChannelLimits::default_for(1_234_500)
        );
    }

    #[test]
    fn a_policy_sets_every_limit_it_names() {
        let policy = ChannelManagerConfig {
            dust_limit_satoshis: 700,
            channel_reserve_permille: 50,
            htlc_minimum_msat: 2_000,
            to_self_delay: 300,
            max_htlc_value_in_flight_percent: 20,
            max_accepted_htlcs: 7,
            ..config()
        };
        let limits = policy.channel_limits(1_000_000);
        assert_eq!(
            limits,
            ChannelLimits {
                dust_limit_satoshis: 700,
                max_htlc_value_in_flight_msat: 200_000_000,
                channel_reserve_satoshis: 50_000,
                htlc_minimum_msat: 2_000,
                to_self_delay: 300,
                max_accepted_htlcs: 7,
            }
        );
    }

    /// The shares are of the channel, bounded by it and by BOLT 2's reserve floor; the
    /// settings a peer would refuse pass through, for opening to refuse with the reason.
    #[test]
    fn shares_stay_within_the_channel_and_bad_settings_pass_through_to_be_refused() {
        let policy = ChannelManagerConfig {
            dust_limit_satoshis: 1,
            channel_reserve_permille: 0,
            to_self_delay: u16::MAX,
            max_htlc_value_in_flight_percent: 200,
            max_accepted_htlcs: 0,
            ..config()
        };
        let limits = policy.channel_limits(20_000);
        assert_eq!(limits.dust_limit_satoshis, 1);
        assert_eq!(limits.channel_reserve_satoshis, 1, "at least the dust limit");
        assert_eq!(limits.to_self_delay, u16::MAX);
        assert_eq!(
            limits.max_htlc_value_in_flight_msat, 20_000_000,
            "the whole channel at most"
        );
        assert_eq!(limits.max_accepted_htlcs, 0);
        let tiny = ChannelManagerConfig {
            dust_limit_satoshis: 5_000,
            ..config()
        };
        assert_eq!(
            tiny.channel_limits(1_000).channel_reserve_satoshis,
            1_000,
            "never above the channel"
        );
        let none_in_flight = ChannelManagerConfig {
            max_htlc_value_in_flight_percent: 0,
            htlc_minimum_msat: 3_000,
            ..config()
        };
        assert_eq!(
            none_in_flight.channel_limits(1_000).max_htlc_value_in_flight_msat,
            3_000
        );
    }
}
