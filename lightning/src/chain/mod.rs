//! On-chain enforcement: the channel monitor that applies the channel's durable updates
//! and keeps what it needs to act on chain.

pub mod monitor;

pub use monitor::{ChannelMonitor, MonitorError};
