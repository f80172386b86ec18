//! Routing: the network graph the user fills, the [`Router`] interface the channel
//! manager sends payments through, and [`DefaultRouter`], a pathfinder that weighs fees,
//! time locked and the chance each channel carries the amount, learning liquidity from
//! how payments fare.
//!
//! - [`graph`]: public channels and each direction's policy.
//! - [`scorer`]: liquidity bounds learned from failures and successes.
//! - [`router`]: paths, routes, the trait and the default search.

pub mod graph;
pub mod router;
pub mod scorer;

#[cfg(test)]
mod tests;

pub use graph::{GraphChannel, GraphError, NetworkGraph, RoutingPolicy};
pub use router::{
    DefaultRouter, FirstHop, Path, Route, RouteError, RouteHop, RouteParameters, RouteWeights, Router,
    DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA, MAX_PATH_HOPS,
};
pub use scorer::LiquidityScorer;
