//! Our node as the interop tests drive it: the simulator's whole node (a peer manager
//! over a channel manager with a test persister), handing out one encrypted message per
//! take so the harness can cut the stream between any two messages.

use std::collections::BTreeMap;

use lightning::chain::ChannelMonitor;
use lightning::chan::manager::{ChannelManager, ChannelManagerConfig};
use lightning::events::Event;
use lightning::sign::KeysManager;
use lightning::transport::{IgnoringHandler, PeerManager, PeerManagerConfig};
use lightning::wire::ChannelId;
use sim::node::{regtest, Manager, Node, RecordingBroadcaster, TestPersister, TransportEntropy};

/// Our node, with what it needs to restart.
pub struct OurNode {
    pub node: Node,
    keys_seed: [u8; 32],
    config: ChannelManagerConfig,
    /// Starts so far: each start draws fresh session entropy.
    starts: u8,
    /// Events since the harness last took them.
    pub events: Vec<Event>,
}

/// One message per take: the harness decides where the stream is cut.
fn peer_manager_config() -> PeerManagerConfig {
    PeerManagerConfig {
        max_take_bytes: 1,
        ..PeerManagerConfig::new(regtest())
    }
}

fn session_seed(keys_seed: [u8; 32], starts: u8) -> [u8; 32] {
    let mut seed = keys_seed;
    seed[31] ^= 0x5a;
    seed[30] = starts;
    seed
}

fn wrap(manager: Manager, keys: KeysManager, session: [u8; 32]) -> Node {
    PeerManager::new(
        peer_manager_config(),
        keys,
        TransportEntropy::new(session),
        sim::lies::Lying::new(manager),
        IgnoringHandler,
    )
}

impl OurNode {
    /// A node from `keys_seed` with the library's policy `config`, at `best_height`.
    pub fn new(keys_seed: [u8; 32], config: ChannelManagerConfig, best_height: u32) -> Self {
        let session = session_seed(keys_seed, 0);
        let keys = KeysManager::new(&keys_seed, &session);
        let manager = ChannelManager::new(
            config.clone(),
            keys.clone(),
            TestPersister::default(),
            RecordingBroadcaster::default(),
            best_height,
        );
        OurNode {
            node: wrap(manager, keys, session),
            keys_seed,
            config,
            starts: 1,
            events: Vec::new(),
        }
    }

    pub fn manager(&self) -> &Manager {
        self.node.channel_handler()
    }

    pub fn manager_mut(&mut self) -> &mut Manager {
        self.node.channel_handler_mut()
    }

    /// The monitors as durably stored.
    pub fn durable_monitors(&self) -> BTreeMap<ChannelId, ChannelMonitor> {
        self.manager().persister().monitors.clone()
    }

    /// A crash and restart: the manager as last encoded (`manager_bytes`, or now) and the
    /// monitors as durably stored. Returns the channels the restart found out of step.
    pub fn restart(&mut self, manager_bytes: Option<Vec<u8>>, best_height: u32) -> Vec<ChannelId> {
        let bytes = manager_bytes.unwrap_or_else(|| self.manager().encode());
        let monitors = self.durable_monitors();
        let session = session_seed(self.keys_seed, self.starts);
        self.starts += 1;
        let keys = KeysManager::new(&self.keys_seed, &session);
        let mut persister = TestPersister::default();
        persister.monitors = monitors.clone();
        let (mut manager, mismatches) = ChannelManager::read(
            &bytes,
            self.config.clone(),
            keys.clone(),
            persister,
            RecordingBroadcaster::default(),
            &monitors,
        )
        .expect("our manager reads back");
        manager.best_block_updated(best_height);
        self.node = wrap(manager, keys, session);
        mismatches.into_iter().map(|(id, _)| id).collect()
    }
}
