//! Deterministic discrete-event network simulator for the `lightning` library.
//!
//! Built so far: the virtual clock and its one event queue ([`clock`]), seeded random
//! streams ([`rng`]) and link delays that keep TCP's ordering ([`latency`]). Nodes,
//! faults, invariants, scenario scripts and the `lnsim` command build on these.

pub mod clock;
pub mod latency;
pub mod rng;
