//! # Building a node
//!
//! How the pieces fit when a wallet embeds the library: what to implement, the loop that
//! drives a node, funding, blocks, persisting so that a crash at any moment loses
//! nothing, reloading, events, and closing. `examples/tcp_node.rs` puts all of it
//! together: two nodes over real TCP with file persistence, one of which dies and
//! reloads in the middle (`cargo run -p lightning --example tcp_node`).
//!
//! ## The pieces
//!
//! - A key source: [`crate::sign::KeysManager`] derives the node key, every channel's
//!   keys and an entropy stream from a 32-byte seed and a per-start session value (it
//!   implements [`crate::sign::NodeSigner`], [`crate::sign::EntropySource`] and
//!   [`crate::sign::SignerProvider`]). Give clones of one to the peer manager and the
//!   channel manager: clones share one entropy stream, so nothing is drawn twice. A
//!   wallet that chooses its own close addresses wraps it and answers
//!   [`crate::sign::SignerProvider::shutdown_script`].
//! - A [`crate::chain::Persist`]: where channel monitor updates go. Answer
//!   [`crate::chain::PersistStatus::InProgress`] and write them in the persistence loop
//!   below; then report each with
//!   [`crate::chan::manager::ChannelManager::monitor_update_completed`].
//! - A [`crate::chain::Broadcaster`]: hands transactions (funding is the wallet's own,
//!   closes are the library's) to the network.
//! - The [`crate::chan::manager::ChannelManager`] runs the channels; it is the channel
//!   message handler of the [`crate::transport::PeerManager`], which runs the
//!   connections. Commands go to it through
//!   [`crate::transport::PeerManager::channel_handler_mut`].
//!
//! ```
//! use lightning::bitcoin::constants::ChainHash;
//! use lightning::bitcoin::{Network, Transaction};
//! use lightning::chain::{Broadcaster, Persist, PersistStatus};
//! use lightning::chan::manager::{ChannelManager, ChannelManagerConfig};
//! use lightning::chan::monitor_update::ChannelMonitorUpdate;
//! use lightning::sign::KeysManager;
//! use lightning::transport::{IgnoringHandler, PeerManager, PeerManagerConfig};
//! use lightning::wire::ChannelId;
//!
//! /// Monitor updates waiting for the persistence loop.
//! #[derive(Default)]
//! struct Queue(Vec<(ChannelId, ChannelMonitorUpdate)>);
//!
//! impl Persist for Queue {
//!     fn persist(&mut self, channel_id: &ChannelId, update: &ChannelMonitorUpdate) -> PersistStatus {
//!         self.0.push((*channel_id, update.clone()));
//!         PersistStatus::InProgress
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Mempool(Vec<Transaction>);
//!
//! impl Broadcaster for Mempool {
//!     fn broadcast(&mut self, transaction: &Transaction) {
//!         self.0.push(transaction.clone());
//!     }
//! }
//!
//! let chain = ChainHash::using_genesis_block(Network::Regtest);
//! // The seed is the wallet's secret; the session value must differ on every start (a
//! // counter saved before use, or OS randomness).
//! let keys = KeysManager::new(&[42; 32], &[1; 32]);
//! let best_height = 800_000;
//! let manager = ChannelManager::new(
//!     ChannelManagerConfig::new(chain, 253),
//!     keys.clone(),
//!     Queue::default(),
//!     Mempool::default(),
//!     best_height,
//! );
//! let mut node = PeerManager::new(PeerManagerConfig::new(chain), keys.clone(), keys, manager, IgnoringHandler);
//! assert!(node.channel_handler().list_channels().is_empty());
//! ```
//!
//! ## The loop
//!
//! The library does nothing on its own. A select loop over the sockets:
//!
//! 1. A connection opens: [`crate::transport::PeerManager::new_outbound`] (write the
//!    bytes it returns) or [`crate::transport::PeerManager::new_inbound`].
//! 2. Bytes arrive: [`crate::transport::PeerManager::read`]. A command (open, pay, close)
//!    or a block is an input too.
//! 3. After every input, the persistence loop (next section), then the events.
//! 4. Write what [`crate::transport::PeerManager::take_outbound`] gives while
//!    [`crate::transport::PeerManager::has_outbound`] says more waits (it sees commands at
//!    once).
//! 5. Every [`crate::transport::RECOMMENDED_TIMER_TICK_SECONDS`], call
//!    [`crate::transport::PeerManager::timer_tick`]; close what
//!    [`crate::transport::PeerManager::take_disconnects`] lists; report closed sockets
//!    with [`crate::transport::PeerManager::disconnected`].
//!
//! ## Persisting: the crash-safe order
//!
//! Two things are saved: the manager's bytes
//! ([`crate::chan::manager::ChannelManager::encode`]) and each channel's monitor (the
//! [`crate::chain::ChannelMonitor`] the updates build). After every input:
//!
//! 1. Monitor updates were answered "in progress" (queued).
//! 2. If [`crate::chan::manager::ChannelManager::encode_if_changed`] gives bytes (the
//!    state changed: [`crate::chan::manager::ChannelManager::needs_persistence`]), save
//!    them (somewhere a crash leaves either the old or the new file), then call
//!    [`crate::chan::manager::ChannelManager::persisted`] with them.
//! 3. Write the queued monitor updates into their monitors.
//! 4. Report each with [`crate::chan::manager::ChannelManager::monitor_update_completed`]:
//!    messages that depend on it go out only now.
//! 5. Save the manager again if it needs it.
//!
//! Whatever point a crash hits, what it leaves on disk reads back: a manager holding
//! updates its monitors lack hands them over again on reload (write them like any
//! others), and monitors never run ahead of the manager. The other order (write the
//! monitor, answer "completed", save the manager later) does not: a crash in between
//! leaves a monitor ahead of its manager, and that channel is failed at reload.
//!
//! A command, or an invoice from
//! [`crate::chan::manager::ChannelManager::create_inbound_payment`], is durable once the
//! manager is saved after it: hand an invoice out only then; a command a crash caught
//! before that was never given.
//!
//! ```
//! use lightning::chain::{Broadcaster, ChannelMonitor, Persist};
//! use lightning::chan::manager::ChannelManager;
//! use lightning::sign::KeysManager;
//!
//! /// Steps 2 to 5, for any storage: `save_manager` writes the manager's bytes,
//! /// `write_monitor_updates` writes what the persister queued and says which.
//! fn persist<P: Persist, B: Broadcaster>(
//!     manager: &mut ChannelManager<KeysManager, P, B>,
//!     mut save_manager: impl FnMut(&[u8]),
//!     write_monitor_updates: impl FnOnce(&mut P) -> Vec<(lightning::wire::ChannelId, u64)>,
//! ) {
//!     if let Some(bytes) = manager.encode_if_changed() {
//!         save_manager(&bytes);
//!         manager.persisted(&bytes);
//!     }
//!     for (channel_id, update_id) in write_monitor_updates(manager.persister_mut()) {
//!         manager.monitor_update_completed(&channel_id, update_id);
//!     }
//!     if let Some(bytes) = manager.encode_if_changed() {
//!         save_manager(&bytes);
//!         manager.persisted(&bytes);
//!     }
//! }
//! # let chain = lightning::bitcoin::constants::ChainHash::using_genesis_block(lightning::bitcoin::Network::Regtest);
//! # let keys = KeysManager::new(&[1; 32], &[2; 32]);
//! # let config = lightning::chan::manager::ChannelManagerConfig::new(chain, 253);
//! # let mut manager = ChannelManager::new(config, keys, NoStore, NoBroadcast, 0);
//! # let mut saved = Vec::new();
//! # persist(&mut manager, |bytes| saved = bytes.to_vec(), |_| Vec::new());
//! # assert!(!saved.is_empty() && !manager.needs_persistence());
//! # struct NoStore;
//! # impl Persist for NoStore {
//! #     fn persist(&mut self, _: &lightning::wire::ChannelId, _: &lightning::chan::monitor_update::ChannelMonitorUpdate) -> lightning::chain::PersistStatus { lightning::chain::PersistStatus::InProgress }
//! # }
//! # struct NoBroadcast;
//! # impl Broadcaster for NoBroadcast { fn broadcast(&mut self, _: &lightning::bitcoin::Transaction) {} }
//! # let _ = ChannelMonitor::new();
//! ```
//!
//! ## Reloading
//!
//! Start a new [`crate::sign::KeysManager`] from the same seed and a new session value,
//! read every monitor, then
//! [`crate::chan::manager::ChannelManager::read`] the manager with them. Channels that
//! do not match their monitor (storage that lost writes, a manager from before the
//! monitors) are failed, reported as mismatches and with
//! [`crate::events::Event::ChannelClosed`]; updates the monitors lack but the manager holds
//! are handed to the persister again: run the persistence loop before anything else.
//!
//! ## Events
//!
//! [`crate::chan::manager::ChannelManager::pending_events`] lists what happened, oldest
//! first; an event stays, and is saved with the manager, until
//! [`crate::chan::manager::ChannelManager::events_handled`]. Handle them, run the
//! persistence loop for what handling changed, then acknowledge them and save: a crash
//! anywhere in between delivers them again, never loses one, so handle each idempotently
//! (a claim already made is refused harmlessly). On start,
//! [`crate::chan::manager::ChannelManager::claimable_payments`] lists what can be
//! claimed now.
//!
//! ```
//! use lightning::events::Event;
//! # use lightning::chain::{Broadcaster, Persist};
//! # use lightning::chan::manager::ChannelManager;
//! # use lightning::sign::KeysManager;
//!
//! fn handle_events<P: Persist, B: Broadcaster>(manager: &mut ChannelManager<KeysManager, P, B>) {
//!     let events = manager.pending_events().to_vec();
//!     for event in &events {
//!         if let Event::PaymentClaimable { payment_hash, .. } = event {
//!             if let Some(preimage) = manager.payment_preimage(payment_hash) {
//!                 let _ = manager.claim_payment(preimage);
//!             }
//!         }
//!     }
//!     // ... the persistence loop ...
//!     manager.events_handled(events.len());
//!     // ... save the manager ...
//! }
//! ```
//!
//! ## Funding, blocks, payments, closing
//!
//! - Open with [`crate::chan::manager::ChannelManager::open_channel`]. On
//!   [`crate::events::Event::FundingGenerationReady`] the wallet builds a transaction
//!   paying the amount to the script given and calls
//!   [`crate::chan::manager::ChannelManager::funding_transaction_generated`] with its
//!   outpoint; broadcast it on [`crate::events::Event::FundingSigned`]. A crash before
//!   that makes both sides forget the opening (BOLT 2): open again.
//! - Blocks: [`crate::chan::manager::ChannelManager::transaction_confirmed_in_block`]
//!   for each transaction of ours (fundings, closes) with its height and index in the
//!   block (a funding then has its short channel id), and
//!   [`crate::chan::manager::ChannelManager::best_block_updated`] for every new tip.
//!   The channel is usable once both sides see their depth
//!   ([`crate::events::Event::ChannelReady`]).
//! - Fee estimates: [`crate::chan::manager::ChannelManager::feerate_updated`].
//! - Payments: the payee makes an invoice with
//!   [`crate::chan::manager::ChannelManager::create_inbound_payment`] (saved before it is
//!   handed out), the payer calls
//!   [`crate::chan::manager::ChannelManager::send_payment`]; the payee claims on
//!   [`crate::events::Event::PaymentClaimable`] with
//!   [`crate::chan::manager::ChannelManager::claim_payment`]; the payer hears
//!   [`crate::events::Event::PaymentSent`] or [`crate::events::Event::PaymentFailed`].
//! - [`crate::chan::manager::ChannelManager::list_channels`]: each channel's balance,
//!   what it can send and receive now, and whether it is usable.
//! - Close with [`crate::chan::manager::ChannelManager::close_channel`]: the closing
//!   transaction pays the script the key source gave for the channel
//!   ([`crate::sign::KeysManager::shutdown_secret_key`] spends the default one) and is
//!   broadcast through the [`crate::chain::Broadcaster`].
//!
//! ## Not yet
//!
//! Payments reach only a channel peer (no routing), and the library does not yet claim a
//! failed channel's outputs on chain.
