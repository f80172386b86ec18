//! An LDK node through its production API, whose only I/O is bytes: its socket is a
//! queue the harness empties, its chain is the blocks the harness feeds, its clock and
//! entropy are fixed, so every run is the same run.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use bitcoin::block::Header;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Network, Transaction};

use ldk::blinded_path::payment::{BlindedPaymentPath, ReceiveTlvs};
use ldk::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use ldk::chain::chainmonitor::{ChainMonitor, Persist};
use ldk::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use ldk::chain::{BestBlock, ChannelMonitorUpdateStatus, Confirm, Filter};
use ldk::events::{Event, EventsProvider, ReplayEvent};
use ldk::ln::channel_state::ChannelDetails;
use ldk::ln::channelmanager::{ChainParameters, ChannelManager};
use ldk::ln::peer_handler::{IgnoringMessageHandler, MessageHandler, PeerManager, SocketDescriptor};
use ldk::onion_message::messenger::NullMessageRouter;
use ldk::routing::router::{InFlightHtlcs, Path, Payee, Route, RouteHop, RouteParameters, Router};
use ldk::sign::{InMemorySigner, KeysManager, NodeSigner};
use ldk::types::features::{ChannelFeatures, NodeFeatures};
use ldk::util::config::UserConfig;
use ldk::util::logger::{Level, Logger, Record};
use ldk::util::persist::MonitorName;

/// The environment variable that prints LDK's log at this level and above (`trace`,
/// `debug`, `info`, `warn` or `error`) to standard error.
pub const LOG_LEVEL_VAR: &str = "LDK_LOG";

/// LDK's view of the chain's fees, set by the test: `feerate_per_kw` for every target,
/// but half of it for the cheapest a close may be and the least a peer's commitment may
/// pay (a node's slow estimates sit below its normal one).
pub struct FeeEstimate {
    pub feerate_per_kw: Mutex<u32>,
}

impl FeeEstimator for FeeEstimate {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        let feerate_per_kw = *self.feerate_per_kw.lock().expect("not poisoned");
        match target {
            ConfirmationTarget::ChannelCloseMinimum | ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => {
                (feerate_per_kw / 2).max(253)
            }
            _ => feerate_per_kw,
        }
    }
}

/// Records what LDK broadcasts.
#[derive(Default)]
pub struct Broadcasts {
    pub transactions: Mutex<Vec<Transaction>>,
}

impl BroadcasterInterface for Broadcasts {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        let mut transactions = self.transactions.lock().expect("not poisoned");
        transactions.extend(txs.iter().map(|tx| (*tx).clone()));
    }
}

/// LDK's log: printed at [`LOG_LEVEL_VAR`]'s level and above, otherwise kept quiet.
pub struct Log {
    pub label: &'static str,
    pub level: Option<Level>,
}

impl Log {
    fn from_env(label: &'static str) -> Self {
        let level = std::env::var(LOG_LEVEL_VAR)
            .ok()
            .and_then(|v| match v.to_ascii_lowercase().as_str() {
                "gossip" => Some(Level::Gossip),
                "trace" | "1" => Some(Level::Trace),
                "debug" => Some(Level::Debug),
                "info" => Some(Level::Info),
                "warn" => Some(Level::Warn),
                "error" => Some(Level::Error),
                _ => None,
            });
        Log { label, level }
    }
}

impl Logger for Log {
    fn log(&self, record: Record) {
        if self.level.is_some_and(|level| record.level >= level) {
            eprintln!("[{} {}] {}", self.label, record.level, record.args);
        }
    }
}

/// LDK's monitors are durable at once: only our node restarts in these tests.
pub struct Durable;

impl Persist<InMemorySigner> for Durable {
    fn persist_new_channel(&self, _: MonitorName, _: &ChannelMonitor<InMemorySigner>) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }

    fn update_persisted_channel(
        &self,
        _: MonitorName,
        _: Option<&ChannelMonitorUpdate>,
        _: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }

    fn archive_persisted_channel(&self, _: MonitorName) {}
}

/// Routes only over a direct channel with the payee: the tests pay a channel peer, and
/// a router without a graph, a scorer or randomness keeps LDK deterministic.
pub struct DirectRouter;

impl Router for DirectRouter {
    fn find_route(
        &self,
        _payer: &PublicKey,
        route_params: &RouteParameters,
        first_hops: Option<&[&ChannelDetails]>,
        _inflight_htlcs: InFlightHtlcs,
    ) -> Result<Route, &'static str> {
        let Payee::Clear {
            node_id,
            final_cltv_expiry_delta,
            ..
        } = &route_params.payment_params.payee
        else {
            return Err("only clear payees");
        };
        let amount_msat = route_params.final_value_msat;
        let hop = first_hops
            .unwrap_or_default()
            .iter()
            .filter(|c| c.counterparty.node_id == *node_id && c.is_usable)
            .find(|c| c.next_outbound_htlc_limit_msat >= amount_msat)
            .ok_or("no usable channel with the payee carries the amount")?;
        let short_channel_id = hop.get_outbound_payment_scid().ok_or("the channel has no id yet")?;
        let path = Path {
            hops: vec![RouteHop {
                pubkey: *node_id,
                node_features: NodeFeatures::empty(),
                short_channel_id,
                channel_features: ChannelFeatures::empty(),
                fee_msat: amount_msat,
                cltv_expiry_delta: *final_cltv_expiry_delta,
                maybe_announced_channel: false,
            }],
            blinded_tail: None,
        };
        Ok(Route {
            paths: vec![path],
            route_params: Some(route_params.clone()),
        })
    }

    fn create_blinded_payment_paths<T: bitcoin::secp256k1::Signing + bitcoin::secp256k1::Verification>(
        &self,
        _recipient: PublicKey,
        _first_hops: Vec<ChannelDetails>,
        _tlvs: ReceiveTlvs,
        _amount_msats: Option<u64>,
        _secp_ctx: &bitcoin::secp256k1::Secp256k1<T>,
    ) -> Result<Vec<BlindedPaymentPath>, ()> {
        Err(())
    }
}

/// The socket to our node: what LDK writes, one write per message, waiting for the
/// harness to carry it; and whether LDK asked to close it.
#[derive(Clone)]
pub struct Descriptor {
    pub connection: u64,
    pub written: Arc<Mutex<VecDeque<Vec<u8>>>>,
    pub closed_by_ldk: Arc<Mutex<bool>>,
}

impl Descriptor {
    pub fn new(connection: u64) -> Self {
        Descriptor {
            connection,
            written: Arc::default(),
            closed_by_ldk: Arc::default(),
        }
    }
}

impl PartialEq for Descriptor {
    fn eq(&self, other: &Self) -> bool {
        self.connection == other.connection
    }
}

impl Eq for Descriptor {}

impl Hash for Descriptor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.connection.hash(state)
    }
}

impl SocketDescriptor for Descriptor {
    fn send_data(&mut self, data: &[u8], _continue_read: bool) -> usize {
        if *self.closed_by_ldk.lock().expect("not poisoned") {
            return 0;
        }
        self.written.lock().expect("not poisoned").push_back(data.to_vec());
        data.len()
    }

    fn disconnect_socket(&mut self) {
        *self.closed_by_ldk.lock().expect("not poisoned") = true;
    }
}

pub type LdkChainMonitor = ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<Broadcasts>,
    Arc<FeeEstimate>,
    Arc<Log>,
    Arc<Durable>,
    Arc<KeysManager>,
>;
pub type LdkChannelManager = ChannelManager<
    Arc<LdkChainMonitor>,
    Arc<Broadcasts>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<FeeEstimate>,
    Arc<DirectRouter>,
    Arc<NullMessageRouter>,
    Arc<Log>,
>;
pub type LdkPeerManager = PeerManager<
    Descriptor,
    Arc<LdkChannelManager>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<Log>,
    Arc<IgnoringMessageHandler>,
    Arc<KeysManager>,
    Arc<LdkChainMonitor>,
>;

/// A fixed time for everything LDK asks the time of (it never reads a clock here).
pub const LDK_START_TIME_SECS: u64 = 1_700_000_000;

/// The LDK node.
pub struct LdkNode {
    pub keys: Arc<KeysManager>,
    pub fees: Arc<FeeEstimate>,
    pub broadcasts: Arc<Broadcasts>,
    pub chain_monitor: Arc<LdkChainMonitor>,
    pub manager: Arc<LdkChannelManager>,
    pub peers: LdkPeerManager,
    /// Every event LDK raised, in order, as the harness handled them.
    pub events: Vec<Event>,
}

/// LDK's configuration in these tests: its defaults, so that what we meet is what LDK's
/// users run.
pub fn default_config() -> UserConfig {
    UserConfig::default()
}

impl LdkNode {
    /// A node from `seed` at `best_block`, estimating `feerate_per_kw`.
    pub fn new(seed: [u8; 32], best_block: BestBlock, feerate_per_kw: u32, config: UserConfig) -> Self {
        let keys = Arc::new(KeysManager::new(&seed, LDK_START_TIME_SECS, 0, true));
        let fees = Arc::new(FeeEstimate {
            feerate_per_kw: Mutex::new(feerate_per_kw),
        });
        let broadcasts = Arc::new(Broadcasts::default());
        let log = Arc::new(Log::from_env("ldk"));
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            Arc::clone(&broadcasts),
            Arc::clone(&log),
            Arc::clone(&fees),
            Arc::new(Durable),
            Arc::clone(&keys),
            keys.get_peer_storage_key(),
        ));
        let manager = Arc::new(ChannelManager::new(
            Arc::clone(&fees),
            Arc::clone(&chain_monitor),
            Arc::clone(&broadcasts),
            Arc::new(DirectRouter),
            Arc::new(NullMessageRouter {}),
            Arc::clone(&log),
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&keys),
            config,
            ChainParameters {
                network: Network::Regtest,
                best_block,
            },
            LDK_START_TIME_SECS as u32,
        ));
        let handlers = MessageHandler {
            chan_handler: Arc::clone(&manager),
            route_handler: Arc::new(IgnoringMessageHandler {}),
            onion_message_handler: Arc::new(IgnoringMessageHandler {}),
            custom_message_handler: Arc::new(IgnoringMessageHandler {}),
            send_only_message_handler: Arc::clone(&chain_monitor),
        };
        let peers = PeerManager::new(
            handlers,
            LDK_START_TIME_SECS as u32,
            &seed,
            Arc::clone(&log),
            Arc::clone(&keys),
        );
        LdkNode {
            keys,
            fees,
            broadcasts,
            chain_monitor,
            manager,
            peers,
            events: Vec::new(),
        }
    }

    pub fn node_id(&self) -> PublicKey {
        self.manager.get_our_node_id()
    }

    /// Moves LDK along: pending HTLCs forwarded or received, messages written to the
    /// sockets. Returns the new events, for the harness to handle.
    pub fn process(&mut self) -> Vec<Event> {
        self.manager.process_pending_htlc_forwards();
        let collected = Mutex::new(Vec::new());
        let handler = |event: Event| -> Result<(), ReplayEvent> {
            collected.lock().expect("not poisoned").push(event);
            Ok(())
        };
        self.manager.process_pending_events(&handler);
        self.chain_monitor.process_pending_events(&handler);
        self.peers.process_events();
        collected.into_inner().expect("not poisoned")
    }

    /// A block at `height` with `header`, confirming `transactions`.
    pub fn block_connected(&mut self, header: &Header, height: u32, transactions: &[Transaction]) {
        let txdata: Vec<(usize, &Transaction)> = transactions.iter().enumerate().collect();
        for listener in [&*self.manager as &dyn Confirm, &*self.chain_monitor as &dyn Confirm] {
            if !txdata.is_empty() {
                listener.transactions_confirmed(header, &txdata, height);
            }
            listener.best_block_updated(header, height);
        }
    }

    /// The fee estimate moves; LDK acts on it at its next timer tick.
    pub fn set_feerate(&self, feerate_per_kw: u32) {
        *self.fees.feerate_per_kw.lock().expect("not poisoned") = feerate_per_kw;
    }

    pub fn channels(&self) -> Vec<ChannelDetails> {
        self.manager.list_channels()
    }

    pub fn broadcast_transactions(&self) -> Vec<Transaction> {
        self.broadcasts.transactions.lock().expect("not poisoned").clone()
    }
}
