//! Workspace-level test support and tests.
//!
//! [`channel_pair`] is the in-process two-node channel harness: real keys and
//! signatures, monitors fed through a persister that can hold updates in progress, and
//! outboxes gated on persistence. The functional tests under `tests/` and the payment
//! throughput bench drive it by hand.

pub mod channel_pair;
pub mod node_line;
/// Whole nodes over real BOLT 8, shared with the simulator.
pub use sim::node as node_pair;
