//! Deterministic discrete-event network simulator for the `lightning` library.
//!
//! The virtual clock and its one event queue ([`clock`]), seeded random streams
//! ([`rng`]), link delays that keep TCP's order unless told not to ([`latency`]), whole
//! nodes over real BOLT 8 ([`node`], shared with the functional tests), what a peer
//! holds checked against the sender's durable monitor ([`durability`]), nodes that lie
//! when told to and the rule their receivers are held to ([`lies`]), the test
//! wallet's funding transactions ([`wallet`]), a network of nodes with a simulated
//! chain, faults scheduled or random ([`faults`]), each node's policy and the run's
//! fault mix drawn from the seed ([`swarm`]), invariants, a liveness phase and a
//! JSON-lines trace ([`network`]), the scenario scripts that describe a run
//! ([`scenario`]; examples in `sim/scenarios/`), shrinking a failing script
//! ([`shrink`]), and reading the trace back ([`trace`]) into a message-sequence diagram
//! ([`diagram`]), and what runs and sweeps came to for CI ([`summary`]: JSON, JUnit) and
//! for people ([`report`]: an HTML page of plots). The `lnsim` command builds on these.

pub mod clock;
pub mod diagram;
pub mod durability;
pub mod faults;
pub mod latency;
pub mod lies;
pub mod markup;
pub mod network;
pub mod node;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod shrink;
pub mod simln;
pub mod summary;
pub mod swarm;
pub mod topology;
pub mod trace;
pub mod wallet;
