//! On-chain enforcement: the channel monitor that applies the channel's durable updates
//! and keeps what it needs to act on chain.

pub mod monitor;

pub use monitor::{ChannelMonitor, MonitorError};

use crate::chan::monitor_update::ChannelMonitorUpdate;
use crate::wire::ChannelId;

/// How the user's persistence answered a monitor update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistStatus {
    /// The update is durable.
    Completed,
    /// The update is being written (perhaps to several watchers): the channel pauses
    /// what depends on it until the user reports completion.
    InProgress,
    /// The update cannot be persisted: the channel must be closed.
    Failed,
}

/// The user's durable storage (and watchtowers) for channel monitors.
pub trait Persist {
    /// Persists `update` for `channel_id` (the monitor applies updates in id order).
    fn persist(&mut self, channel_id: &ChannelId, update: &ChannelMonitorUpdate) -> PersistStatus;
}

/// Hands transactions to the network (the user's node, a simulated mempool).
pub trait Broadcaster {
    /// Broadcasts `transaction`.
    fn broadcast(&mut self, transaction: &bitcoin::Transaction);
}
