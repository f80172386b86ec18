//! Deterministic discrete-event network simulator for the `lightning` library.
//!
//! Built so far: the virtual clock and its one event queue ([`clock`]), seeded random
//! streams ([`rng`]), link delays that keep TCP's ordering ([`latency`]), whole nodes
//! over real BOLT 8 ([`node`], shared with the functional tests) and a network of them
//! on the clock with faults, invariants and a JSON-lines trace ([`network`]), and the
//! scenario scripts that describe a run ([`scenario`]; examples in `sim/scenarios/`).
//! The `lnsim` command builds on these.

pub mod clock;
pub mod faults;
pub mod latency;
pub mod network;
pub mod node;
pub mod rng;
pub mod scenario;
pub mod shrink;
